#!/bin/sh
# Pre: stop nginx from writing (graceful: finish in-flight requests, keep the sockets).
# SIGWINCH makes the nginx workers exit gracefully while the master keeps listening.
set -eu
pidfile=/run/nginx.pid
[ -f "$pidfile" ] || { echo "nginx not running: nothing to quiesce"; exit 0; }
kill -WINCH "$(cat "$pidfile")"
echo "nginx workers drained for snapshot (run $SNAPORCH_RUN_ID)"
