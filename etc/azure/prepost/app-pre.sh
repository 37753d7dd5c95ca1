#!/bin/sh
# Quiesce the application before the freeze: ask it to flush and pause writes.
# Replace the body with your application's own command; keep it fast and idempotent.
set -eu
echo "app-pre: phase=$SNAPORCH_PHASE run=$SNAPORCH_RUN_ID deadline=$SNAPORCH_DEADLINE"
if [ -S /run/myapp/control.sock ]; then
    printf 'pause\n' | timeout 10 socat - UNIX-CONNECT:/run/myapp/control.sock
fi
sync
