#!/usr/bin/env bash
# postgres-stop.sh DIR [--purge]
#
# Stops the private PostgreSQL cluster that postgres-start.sh started in DIR, and makes sure none of
# its processes is left: pg_ctl stop -m fast, then -m immediate, then SIGKILL of the postmaster and
# its children (each bounded). Only the postmaster named in DIR/data/postmaster.pid and its children
# are ever signalled. Safe to run when nothing is running. --purge also removes what
# postgres-start.sh created in DIR (data, run, log, archive, pgpass).
set -euo pipefail

NAME=postgres-stop
# shellcheck source=Tests/Support/db/common.sh
. "$(dirname "$0")/common.sh"

stop_arguments "$@"
PGDATA=$DIR/data PIDF=$DIR/data/postmaster.pid

pg_ctl_bin() {
    local v
    v=$(cat "$PGDATA/PG_VERSION" 2>/dev/null || true)
    if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
        echo "/usr/lib/postgresql/$v/bin/pg_ctl"
    else
        ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1
    fi
}
postmaster_pid() { # the pid in postmaster.pid, if that process is a postgres on this PGDATA
    local pid
    pid=$(head -n 1 "$PIDF" 2>/dev/null || true)
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
    { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF -- "$PGDATA" && echo "$pid"
    return 0
}
children_of() { # pids whose parent is $1
    local p
    for p in /proc/[0-9]*; do
        [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
    done
    return 0
}

PM=$(postmaster_pid)
if [ -z "$PM" ]; then
    log "no server running on $PGDATA"
else
    PGCTL=$(pg_ctl_bin)
    kids=$(children_of "$PM")
    if ! (cd / && timeout 40 runuser -u postgres -- "$PGCTL" -D "$PGDATA" -m fast -w -t 30 stop) >/dev/null 2>&1; then
        log "fast shutdown did not complete; trying immediate"
        if ! (cd / && timeout 20 runuser -u postgres -- "$PGCTL" -D "$PGDATA" -m immediate -w -t 10 stop) >/dev/null 2>&1; then
            log "sending SIGKILL to postmaster $PM and its children"
            # shellcheck disable=SC2046,SC2086  # word splitting of the pid lists is intended
            kill -KILL "$PM" $kids $(children_of "$PM") 2>/dev/null || true
        fi
    fi
    # Wait until the postmaster and the children it had are all gone.
    end=$(( $(date +%s) + 15 ))
    for p in $PM $kids; do
        while [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != "Z" ]; do
            [ "$(date +%s)" -ge "$end" ] && die "process $p still alive"
            sleep 0.2
        done
    done
    log "stopped"
fi

if [ "$PURGE" -eq 1 ]; then
    rm -rf -- "$PGDATA" "$DIR/run" "$DIR/log" "$DIR/archive" "$DIR/pgpass"
    rmdir -- "$DIR" 2>/dev/null || true   # only if nothing else is left in it
    log "purged"
fi
