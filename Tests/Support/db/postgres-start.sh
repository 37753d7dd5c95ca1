#!/usr/bin/env bash
# postgres-start.sh DIR PORT
#
# Starts a PRIVATE PostgreSQL cluster for the database-plugin tests (Debian 12: PostgreSQL 15), as
# root. Never touches the Debian cluster (/var/lib/postgresql, /etc/postgresql, /run/postgresql):
# the cluster is made with initdb/pg_ctl directly (not pg_createcluster) and lives under DIR.
#
#   DIR/data/               PGDATA (owner postgres, 0700); settings in DIR/data/snaporch.conf
#   DIR/run/                socket directory: DIR/run/.s.PGSQL.PORT
#   DIR/log/server.log      server log (checkpoints, connections, backup warnings)
#   DIR/archive/            WAL archive (archive_mode=on, archive_command copies here)
#   DIR/pgpass              root 0600 password file (libpq format) for snaporch and snaporch_app
#
# Roles (decided by testing on 15, see Plugins-examples/db-notes.md):
#   snaporch_backup  NOLOGIN group: pg_checkpoint (CHECKPOINT), pg_read_all_settings (SHOW
#                    data_directory), EXECUTE on pg_backup_start(text,boolean) and pg_backup_stop(boolean)
#                    (granted in the databases postgres, template1 and snaporch_test: per database)
#   snaporch         LOGIN, password (scram), member of snaporch_backup: the plugin via password file
#   snaporch_peer    LOGIN, no password, member of snaporch_backup: the plugin via peer auth on the
#                    socket; OS users root and postgres may log in as it (pg_ident map "snaporch")
#   snaporch_app     LOGIN, password: a plain application writer (concurrent INSERTs in the tests)
#   postgres         superuser; OS users root and postgres may log in as it over the socket (peer)
# pg_hba: socket: snaporch/snaporch_app by password, everyone else by peer with map "snaporch"
#         (replication too: postgres-standby.sh);
#         TCP 127.0.0.1: password (scram) for all.
# Test data: database snaporch_test, table public.t (id bigserial, v text, created timestamptz).
#
# Idempotent: an existing cluster is reused, a running server is reused, roles/grants are
# (re)applied, passwords are kept. On success prints KEY=VALUE lines on stdout (progress goes to
# stderr): SOCKET_DIR, PORT, PGDATA, PGPASSFILE, ARCHIVE_DIR, LOG_FILE, BIN_DIR, VERSION, PID, DATABASE.
# Environment: PG_MAJOR (default: 15 if installed, else the highest installed), PG_START_TIMEOUT
# (seconds, default 60). Stop with postgres-stop.sh DIR.
set -euo pipefail

NAME=postgres-start
# shellcheck source=Tests/Support/db/common.sh
. "$(dirname "$0")/common.sh"

start_arguments "$@"
START_TIMEOUT=${PG_START_TIMEOUT:-60}

# --- 1. packages (non-interactive; never let the package start the Debian cluster) ---------------------
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "installing postgresql"
    install_without_starting postgresql postgresql-client
fi
if [ -n "${PG_MAJOR:-}" ]; then
    MAJOR=$PG_MAJOR
elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    MAJOR=15
else
    MAJOR=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
fi
BIN=/usr/lib/postgresql/$MAJOR/bin
[ -x "$BIN/initdb" ] && [ -x "$BIN/pg_ctl" ] || die "no PostgreSQL $MAJOR server binaries in $BIN"
PSQL=$BIN/psql
[ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"

# --- 2. directories ----------------------------------------------------------------------------------
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
case "$DIR" in *\'*|*\"*|*' '*) die "DIR must not contain quotes or spaces: $DIR" ;; esac
PGDATA=$DIR/data RUN=$DIR/run LOGD=$DIR/log ARCH=$DIR/archive
LOGF=$LOGD/server.log PASSF=$DIR/pgpass
SOCKFILE=$RUN/.s.PGSQL.$PORT
[ ${#SOCKFILE} -le 100 ] || die "socket path too long (${#SOCKFILE} > 100 bytes): $SOCKFILE; use a shorter DIR"
# The server runs as 'postgres' and must reach DIR/...: give DIR the search bit only (no listing).
chmod a+x "$DIR"
mkdir -p "$PGDATA" "$RUN" "$LOGD" "$ARCH"
chown postgres:postgres "$PGDATA" "$RUN" "$LOGD" "$ARCH"
chmod 0700 "$PGDATA" "$ARCH"
chmod 0755 "$RUN" "$LOGD"
runuser -u postgres -- test -x "$RUN" -a -w "$RUN" ||
    die "user postgres cannot reach $RUN (is a parent directory of $DIR closed to others?)"

as_pg() { (cd / && runuser -u postgres -- "$@"); }   # cwd / : DIR may not be listable for postgres
# Superuser session over the socket (peer: OS postgres -> role postgres).
su_psql() { as_pg env PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -w -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres "$@"; }

# --- 3. initialise the cluster once -------------------------------------------------------------------
if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initdb $PGDATA (PostgreSQL $MAJOR)"
    # initdb refuses to run as root. -A peer / --auth-host: safe defaults until pg_hba is written below.
    as_pg "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C -A peer --auth-host=scram-sha-256 \
        >"$LOGD/initdb.log" 2>&1 || { tail -n 30 "$LOGD/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'snaporch.conf'    # written by postgres-start.sh" >>"$PGDATA/postgresql.conf"
fi

# Settings (rewritten every time; a running server keeps its port until restarted).
cat >"$PGDATA/snaporch.conf" <<EOF
# Written by postgres-start.sh; private test cluster.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
wal_level = replica                 # the 15 default; needed by pg_backup_start
archive_mode = on                   # WAL of a low-level backup can be kept (restore drills)
archive_command = 'test ! -f $ARCH/%f && cp %p $ARCH/%f'
shared_buffers = 32MB
max_wal_size = 256MB
log_checkpoints = on
log_connections = on
log_disconnections = on
log_line_prefix = '%m [%p] %q%u@%d/%a '
EOF
cat >"$PGDATA/pg_hba.conf" <<'EOF'
# Written by postgres-start.sh. First match wins.
# TYPE  DATABASE  USER          ADDRESS        METHOD
local   all       snaporch                     scram-sha-256
local   all       snaporch_app                 scram-sha-256
local   all       all                          peer map=snaporch
local   replication postgres                   peer map=snaporch
host    all       all           127.0.0.1/32   scram-sha-256
EOF
cat >"$PGDATA/pg_ident.conf" <<'EOF'
# Written by postgres-start.sh.
# MAPNAME   SYSTEM-USERNAME  PG-USERNAME
snaporch    postgres         postgres
snaporch    postgres         snaporch_peer
snaporch    root             postgres
snaporch    root             snaporch_peer
EOF
chown postgres:postgres "$PGDATA/snaporch.conf" "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf"
chmod 0600 "$PGDATA/snaporch.conf" "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf"

# --- 4. start (or reuse) the server -----------------------------------------------------------------
t0=$(date +%s%N)
if as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "server already running; reloading configuration"
    as_pg "$BIN/pg_ctl" -D "$PGDATA" reload >/dev/null
else
    log "starting PostgreSQL $MAJOR on 127.0.0.1:$PORT, socket dir $RUN"
    # -w waits until the server accepts connections (or fails), bounded by -t.
    as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$LOGF" -w -t "$START_TIMEOUT" start >/dev/null ||
        { tail -n 30 "$LOGF" >&2 || true; die "pg_ctl start failed (log: $LOGF)"; }
fi
deadline=$(( $(date +%s) + START_TIMEOUT ))
until as_pg "$BIN/pg_isready" -q -h "$RUN" -p "$PORT"; do
    [ "$(date +%s)" -ge "$deadline" ] && die "server not ready within ${START_TIMEOUT}s (log: $LOGF)"
    sleep 0.2
done
log "server answers ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"

# --- 5. roles, grants, test data (re-applied every time; passwords kept) -------------------------------
gen_pw() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
read_pw() { [ -f "$PASSF" ] && awk -F: -v u="$1" '$4 == u { print $5; exit }' "$PASSF" || true; }
PW=$(read_pw snaporch);        [ -n "$PW" ] || PW=$(gen_pw)
APPPW=$(read_pw snaporch_app); [ -n "$APPPW" ] || APPPW=$(gen_pw)

# Role memberships are cluster-wide; EXECUTE on a function is per database (pg_proc is a
# per-database catalog), so FN_GRANTS is applied in every database the plugin may connect to.
if [ "$MAJOR" -ge 15 ]; then
    ROLE_GRANTS="GRANT pg_checkpoint, pg_read_all_settings TO snaporch_backup;"
    FN_GRANTS="GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO snaporch_backup;
GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO snaporch_backup;"
else
    # NOT TESTED here (only 15 is installed): before 15 CHECKPOINT needs a superuser, and the
    # non-exclusive backup functions have other signatures.
    ROLE_GRANTS="GRANT pg_read_all_settings TO snaporch_backup;"
    FN_GRANTS="GRANT EXECUTE ON FUNCTION pg_start_backup(text, boolean, boolean) TO snaporch_backup;
GRANT EXECUTE ON FUNCTION pg_stop_backup(boolean, boolean) TO snaporch_backup;"
fi

su_psql -d postgres -v pw="$PW" -v apppw="$APPPW" <<EOF
SELECT 'CREATE ROLE snaporch_backup NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'snaporch_backup') \gexec
SELECT 'CREATE ROLE snaporch LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'snaporch') \gexec
SELECT 'CREATE ROLE snaporch_peer LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'snaporch_peer') \gexec
SELECT 'CREATE ROLE snaporch_app LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'snaporch_app') \gexec
ALTER ROLE snaporch PASSWORD :'pw';
ALTER ROLE snaporch_app PASSWORD :'apppw';
$ROLE_GRANTS
GRANT snaporch_backup TO snaporch, snaporch_peer;
SELECT 'CREATE DATABASE snaporch_test'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'snaporch_test') \gexec
EOF
for db in postgres template1 snaporch_test; do
    su_psql -d "$db" <<<"$FN_GRANTS"
done
su_psql -d snaporch_test <<'EOF'
CREATE TABLE IF NOT EXISTS public.t (
    id bigserial PRIMARY KEY,
    v text NOT NULL,
    created timestamptz NOT NULL DEFAULT clock_timestamp()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.t TO snaporch_app;
GRANT USAGE ON SEQUENCE public.t_id_seq TO snaporch_app;
EOF

# Password file: root-owned 0600 (libpq ignores it when group/world can read it). Host field '*'
# matches both the socket directory and 127.0.0.1. Written atomically.
tmp=$(mktemp "$PASSF.XXXXXX")
printf '*:*:*:snaporch:%s\n*:*:*:snaporch_app:%s\n' "$PW" "$APPPW" >"$tmp"
chown root:root "$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$PASSF"

# Prove every access path before saying so.
PGPASSFILE=$PASSF "$PSQL" -X -q -w -A -t -h "$RUN" -p "$PORT" -U snaporch -d postgres -c 'CHECKPOINT' >/dev/null ||
    die "snaporch cannot log in on the socket with $PASSF (or CHECKPOINT is denied)"
PGPASSFILE=$PASSF "$PSQL" -X -q -w -A -t -h 127.0.0.1 -p "$PORT" -U snaporch -d postgres -c 'SELECT 1' >/dev/null ||
    die "snaporch cannot log in over TCP"
"$PSQL" -X -q -w -A -t -h "$RUN" -p "$PORT" -U snaporch_peer -d postgres -c 'SHOW data_directory' >/dev/null ||
    die "root cannot log in as snaporch_peer by peer auth"
PGPASSFILE=$PASSF "$PSQL" -X -q -w -A -t -h "$RUN" -p "$PORT" -U snaporch_app -d snaporch_test \
    -c 'SELECT count(*) FROM t' >/dev/null || die "snaporch_app cannot read snaporch_test.t"

echo "SOCKET_DIR=$RUN"
echo "PORT=$PORT"
echo "PGDATA=$PGDATA"
echo "PGPASSFILE=$PASSF"
echo "ARCHIVE_DIR=$ARCH"
echo "LOG_FILE=$LOGF"
echo "BIN_DIR=$BIN"
echo "VERSION=$(su_psql -d postgres -A -t -c 'SHOW server_version')"
echo "PID=$(head -n 1 "$PGDATA/postmaster.pid")"
echo "DATABASE=snaporch_test"
