#!/bin/sh
# Post: always bring the workers back (SIGHUP re-reads the config and starts new workers).
set -eu
pidfile=/run/nginx.pid
[ -f "$pidfile" ] || exit 0
kill -HUP "$(cat "$pidfile")"
echo "nginx resumed after snapshot: outcome=$SNAPORCH_OUTCOME consistency=$SNAPORCH_CONSISTENCY"
