#!/bin/sh
# Resume the application after the snapshot. Runs whatever happened, so it must always resume.
set -eu
echo "app-post: outcome=${SNAPORCH_OUTCOME:-?} consistency=${SNAPORCH_CONSISTENCY:-?}"
if [ -S /run/myapp/control.sock ]; then
    printf 'resume\n' | timeout 10 socat - UNIX-CONNECT:/run/myapp/control.sock
fi
