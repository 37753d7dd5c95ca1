#!/usr/bin/env bash
# postgres-standby.sh PRIMARY_DIR DIR PORT
#
# Starts a streaming-replication standby of the private cluster of postgres-start.sh PRIMARY_DIR,
# as root, laid out like a primary (so postgres-stop.sh DIR stops it):
#
#   DIR/data/          PGDATA: pg_basebackup -R of the primary (its roles, grants, pg_hba, pg_ident)
#   DIR/run/           socket directory: DIR/run/.s.PGSQL.PORT
#   DIR/log/server.log server log
#
# The primary's settings come along in snaporch.conf; port, socket directory and archiving are
# overridden in standby.conf (archive_mode off: a standby archives only with `always`). Waits until
# the standby answers and is in recovery. Prints KEY=VALUE lines: SOCKET_DIR, PORT, PGDATA, LOG_FILE.
set -euo pipefail

NAME=postgres-standby
# shellcheck source=Tests/Support/db/common.sh
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || die "usage: postgres-standby.sh PRIMARY_DIR DIR PORT"
PRIMARY=$(cd "$1" && pwd -P)
mkdir -p "$2"
DIR=$(cd "$2" && pwd -P)
PORT=$3
PDATA=$PRIMARY/data
MAJOR=$(cat "$PDATA/PG_VERSION")
BIN=/usr/lib/postgresql/$MAJOR/bin
PPORT=$(awk -F' = ' '$1 == "port" { print $2 }' "$PDATA/snaporch.conf")
PRUN=$PRIMARY/run
PGDATA=$DIR/data RUN=$DIR/run LOGD=$DIR/log
mkdir -p "$RUN" "$LOGD"
chown postgres:postgres "$DIR" "$RUN" "$LOGD"
chmod 0755 "$DIR"

runuser -u postgres -- "$BIN/pg_basebackup" -h "$PRUN" -p "$PPORT" -U postgres -D "$PGDATA" -R -X stream -c fast \
    >&2 || die "pg_basebackup failed"
cat >"$PGDATA/standby.conf" <<CONF
# Written by postgres-standby.sh
port = $PORT
unix_socket_directories = '$RUN'
listen_addresses = ''
archive_mode = off
CONF
echo "include_if_exists = 'standby.conf'    # written by postgres-standby.sh" >>"$PGDATA/postgresql.conf"
chown postgres:postgres "$PGDATA/standby.conf"
runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -l "$LOGD/server.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$LOGD/server.log" >&2 || true; die "pg_ctl start failed"; }
deadline=$(( $(date +%s) + 60 ))
until [ "$(runuser -u postgres -- "$BIN/psql" -X -A -t -h "$RUN" -p "$PORT" -U postgres -d postgres \
        -c 'SELECT pg_is_in_recovery();' 2>/dev/null)" = "t" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && die "standby not in recovery within 60 s (log: $LOGD/server.log)"
    sleep 0.2
done
echo "SOCKET_DIR=$RUN"
echo "PORT=$PORT"
echo "PGDATA=$PGDATA"
echo "LOG_FILE=$LOGD/server.log"
