#!/usr/bin/env bash
# mariadb-stop.sh DIR [--purge]
#
# Stops the private MariaDB server that mariadb-start.sh started in DIR, and makes sure no mariadbd
# on DIR/data is left: clean shutdown through the socket, then SIGTERM, then SIGKILL (each bounded).
# Only processes whose command line names DIR/data are ever signalled. Safe to run when nothing is
# running. --purge also removes what mariadb-start.sh created in DIR (data, run, log, *.cnf).
set -euo pipefail

NAME=mariadb-stop
# shellcheck source=Tests/Support/db/common.sh
. "$(dirname "$0")/common.sh"

stop_arguments "$@"
DATA=$DIR/data SOCK=$DIR/run/mysqld.sock PIDF=$DIR/run/mysqld.pid ADMCNF=$DIR/admin.cnf

# Every mariadbd (or install-db bootstrap) whose argv contains --datadir=DIR/data exactly.
our_pids() {
    local p
    for p in /proc/[0-9]*; do
        # (a process may vanish between the glob and the read: ignore that)
        { tr '\0' '\n' <"$p/cmdline"; } 2>/dev/null | grep -qxF -- "--datadir=$DATA" && echo "${p#/proc/}"
    done
    return 0
}
wait_gone() { # seconds
    local end=$(( $(date +%s) + $1 ))
    while [ -n "$(our_pids)" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}

if [ -z "$(our_pids)" ]; then
    log "no server running on $DATA"
else
    # 1. Clean shutdown through the socket (flushes InnoDB); mariadb-admin waits for the server.
    clean=0
    if [ -S "$SOCK" ] && [ -f "$ADMCNF" ] &&
        timeout 40 mariadb-admin --defaults-file="$ADMCNF" --connect-timeout=5 --shutdown-timeout=30 \
            shutdown >/dev/null 2>&1; then
        clean=1
    fi
    if [ "$clean" -eq 0 ] || ! wait_gone 30; then
        # 2. SIGTERM is also a clean shutdown for mariadbd. 3. SIGKILL as the last resort.
        # (word splitting of the pid lists is intended)
        pids=$(our_pids)
        log "clean shutdown failed; sending SIGTERM to $pids"
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        if ! wait_gone 30; then
            pids=$(our_pids)
            log "sending SIGKILL to $pids"
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            wait_gone 10 || die "processes still alive: $(our_pids)"
        fi
    fi
    log "stopped"
fi
rm -f "$SOCK" "$SOCK.lock" "$PIDF"

if [ "$PURGE" -eq 1 ]; then
    rm -rf -- "$DATA" "$DIR/run" "$DIR/log" "$DIR/snaporch.cnf" "$DIR/app.cnf" "$DIR/admin.cnf"
    rmdir -- "$DIR" 2>/dev/null || true   # only if nothing else is left in it
    log "purged"
fi
