#!/bin/sh
# Pre: flush an application's data directory to disk (fsync every file), bounded by the deadline.
# Usage in prepost.yaml:  args: ["/var/lib/myapp"]
set -eu
dir=${1:?usage: flush-files.sh DIRECTORY}
now=$(date +%s)
left=$(( ${SNAPORCH_DEADLINE:-$((now + 30))} - now ))
[ "$left" -gt 0 ] || { echo "no time left before the deadline" >&2; exit 1; }
timeout "$left" sync -f "$dir"
echo "flushed $dir"
