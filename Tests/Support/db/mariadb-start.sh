#!/usr/bin/env bash
# mariadb-start.sh DIR PORT
#
# Starts a PRIVATE MariaDB server for the database-plugin tests (Debian 12: MariaDB 10.11), as root.
# Never touches the system instance (/var/lib/mysql, /run/mysqld, /etc/mysql): every path is under
# DIR and every server/client call starts with --no-defaults or --defaults-file.
#
#   DIR/data/               datadir (owner mysql), binary logs DIR/data/binlog.NNNNNN (GTID is on;
#                           binlog.index holds relative names, so a copy of DIR/data is self-contained)
#   DIR/run/mysqld.sock     Unix socket;  DIR/run/mysqld.pid  pid file
#   DIR/log/error.log       server error log
#   DIR/snaporch.cnf        root 0600 [client] file for the plugin user 'snaporch' (socket + TCP)
#   DIR/app.cnf             root 0600 [client] file for 'snaporch_app' (a plain application writer)
#   DIR/admin.cnf           root 0600 [client] file for MariaDB root via unix_socket auth (OS root only)
#
# The server listens on 127.0.0.1:PORT and on the socket. The plugin user gets exactly what the
# plugin needs (see Plugins-examples/db-notes.md): RELOAD (BACKUP STAGE, FTWRL, FLUSH LOCAL TABLES),
# BINLOG MONITOR (SHOW MASTER STATUS), REPLICA MONITOR (SHOW REPLICA STATUS) and
# REPLICATION SLAVE ADMIN (STOP/START REPLICA SQL_THREAD).
# Test data: database snaporch_test, tables t (InnoDB) and t_myisam (MyISAM).
#
# Idempotent: an initialised datadir is reused, a running server is reused, users and grants are
# (re)applied, passwords are kept. On success prints KEY=VALUE lines on stdout (progress goes to
# stderr):  SOCKET, DEFAULTS_FILE, APP_DEFAULTS_FILE, ADMIN_DEFAULTS_FILE, PORT, PID, DATADIR, VERSION.
# Environment: MARIADB_START_TIMEOUT (seconds, default 60), MARIADB_SERVER_ID (default 1; give a
# replica another one), MARIADB_EXTRA_ARGS (extra server options, word-split, given to
# mariadb-install-db and mariadbd alike, e.g. --innodb-log-group-home-dir=/other/fs/redo; the
# directories they name must exist and belong to mysql). Stop with mariadb-stop.sh DIR.
set -euo pipefail

NAME=mariadb-start
# shellcheck source=Tests/Support/db/common.sh
. "$(dirname "$0")/common.sh"

start_arguments "$@"
START_TIMEOUT=${MARIADB_START_TIMEOUT:-60}   # seconds to wait for the server to answer
SERVER_ID=${MARIADB_SERVER_ID:-1}            # distinct per instance when a test builds a replica
read -r -a EXTRA <<<"${MARIADB_EXTRA_ARGS:-}"  # extra server options (tests place files elsewhere)
case "$SERVER_ID" in ''|*[!0-9]*) die "MARIADB_SERVER_ID must be a number" ;; esac

# --- 1. packages (non-interactive; never let the package start the system instance) ------------------
need=()
for p in mariadb-server mariadb-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    install_without_starting "${need[@]}"
fi
for b in mariadbd mariadb mariadb-admin mariadb-install-db; do
    command -v "$b" >/dev/null || die "$b not found after install"
done

# --- 2. directories ----------------------------------------------------------------------------------
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
DATA=$DIR/data RUN=$DIR/run LOGD=$DIR/log
SOCK=$RUN/mysqld.sock PIDF=$RUN/mysqld.pid ERRLOG=$LOGD/error.log
CNF=$DIR/snaporch.cnf APPCNF=$DIR/app.cnf ADMCNF=$DIR/admin.cnf
# sun_path holds 107 bytes; a longer socket path fails with a confusing error at bind time.
[ ${#SOCK} -le 100 ] || die "socket path too long (${#SOCK} > 100 bytes): $SOCK; use a shorter DIR"
# mariadbd runs as 'mysql' and must reach DIR/...: give DIR the search bit only (no listing).
chmod a+x "$DIR"
mkdir -p "$DATA" "$RUN" "$LOGD"
chown mysql:mysql "$DATA" "$RUN" "$LOGD"
chmod 0750 "$DATA"
chmod 0755 "$RUN" "$LOGD"
runuser -u mysql -- test -x "$RUN" -a -w "$RUN" ||
    die "user mysql cannot reach $RUN (is a parent directory of $DIR closed to others?)"

# Client option file for MariaDB root through the socket (unix_socket auth; OS root only).
umask 077
cat >"$ADMCNF" <<EOF
[client]
user=root
socket=$SOCK
EOF

admin() { mariadb --defaults-file="$ADMCNF" --batch --skip-column-names "$@"; }
alive() { [ -s "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }

# --- 3. initialise the datadir once ----------------------------------------------------------------
if [ ! -d "$DATA/mysql" ]; then
    log "initialising $DATA"
    # As root with --user=mysql; the system tables get root@localhost via unix_socket (OS root only).
    mariadb-install-db --no-defaults --datadir="$DATA" --user=mysql \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        --innodb-log-file-size=16M ${EXTRA[@]+"${EXTRA[@]}"} \
        >"$LOGD/install-db.log" 2>&1 || { tail -n 30 "$LOGD/install-db.log" >&2; die "mariadb-install-db failed"; }
fi

# --- 4. start (or reuse) the server -----------------------------------------------------------------
t0=$(date +%s%N)
if alive && mariadb-admin --defaults-file="$ADMCNF" --connect-timeout=2 ping >/dev/null 2>&1; then
    log "server already running (pid $(cat "$PIDF"))"
else
    [ -e "$SOCK" ] && rm -f "$SOCK"   # stale socket from a killed server
    log "starting mariadbd on 127.0.0.1:$PORT, socket $SOCK"
    # --no-defaults must be the first option. setsid: own session, so the caller's process group
    # (or a terminal hang-up) does not take the server with it. Binary log + server id => GTIDs
    # (MariaDB always assigns GTIDs when binlogging). --log-bin is a bare name on purpose: the
    # binlogs then live in the datadir and binlog.index lists them as ./binlog.NNNNNN; with an
    # absolute --log-bin the index holds absolute paths, and a server started on a COPY of the
    # datadir reads (and marks) the original's binlog during crash recovery.
    # Small InnoDB sizes keep copies/snapshots small.
    setsid mariadbd --no-defaults \
        --user=mysql --datadir="$DATA" --socket="$SOCK" --pid-file="$PIDF" --log-error="$ERRLOG" \
        --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --log-bin=binlog --server-id="$SERVER_ID" --binlog-format=ROW --gtid-strict-mode=1 \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M ${EXTRA[@]+"${EXTRA[@]}"} \
        </dev/null >>"$LOGD/stdout.log" 2>&1 &
    server_pid=$!
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until mariadb-admin --defaults-file="$ADMCNF" --connect-timeout=2 ping >/dev/null 2>&1; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            tail -n 30 "$ERRLOG" >&2 || true
            die "mariadbd exited during start-up (log: $ERRLOG)"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 30 "$ERRLOG" >&2 || true
            die "server did not answer within ${START_TIMEOUT}s (log: $ERRLOG); it is still running, use mariadb-stop.sh"
        fi
        sleep 0.2
    done
fi
log "server answers ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"

# --- 5. users, grants, test data (re-applied every time; passwords kept) -------------------------------
gen_pw() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
read_pw() { [ -f "$1" ] && sed -n 's/^password=//p' "$1" | head -n 1 || true; }
PW=$(read_pw "$CNF");    [ -n "$PW" ] || PW=$(gen_pw)
APPPW=$(read_pw "$APPCNF"); [ -n "$APPPW" ] || APPPW=$(gen_pw)

admin <<EOF
-- Keep the provisioning out of the binary log: a replica built from two instances of this script
-- must not replay the primary's users (and passwords) over its own.
SET SESSION sql_log_bin = 0;
-- The plugin user: one account per host form (socket = localhost, TCP = 127.0.0.1).
CREATE USER IF NOT EXISTS 'snaporch'@'localhost'  IDENTIFIED BY '$PW';
CREATE USER IF NOT EXISTS 'snaporch'@'127.0.0.1'  IDENTIFIED BY '$PW';
ALTER USER 'snaporch'@'localhost' IDENTIFIED BY '$PW';
ALTER USER 'snaporch'@'127.0.0.1' IDENTIFIED BY '$PW';
-- RELOAD: BACKUP STAGE, FLUSH [LOCAL] TABLES [WITH READ LOCK], UNLOCK TABLES.
-- BINLOG MONITOR: SHOW MASTER STATUS / SHOW BINLOG STATUS.
-- REPLICA MONITOR: SHOW REPLICA STATUS.  REPLICATION SLAVE ADMIN: STOP/START REPLICA SQL_THREAD.
-- (@@gtid_binlog_pos, @@read_only, VERSION(), SET SESSION ... need nothing.)
GRANT RELOAD, BINLOG MONITOR, REPLICA MONITOR, REPLICATION SLAVE ADMIN ON *.* TO 'snaporch'@'localhost';
GRANT RELOAD, BINLOG MONITOR, REPLICA MONITOR, REPLICATION SLAVE ADMIN ON *.* TO 'snaporch'@'127.0.0.1';

-- A plain application user that writes the test data (the "concurrent INSERT" of the tests).
CREATE USER IF NOT EXISTS 'snaporch_app'@'localhost' IDENTIFIED BY '$APPPW';
CREATE USER IF NOT EXISTS 'snaporch_app'@'127.0.0.1' IDENTIFIED BY '$APPPW';
ALTER USER 'snaporch_app'@'localhost' IDENTIFIED BY '$APPPW';
ALTER USER 'snaporch_app'@'127.0.0.1' IDENTIFIED BY '$APPPW';
CREATE DATABASE IF NOT EXISTS snaporch_test;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON snaporch_test.* TO 'snaporch_app'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON snaporch_test.* TO 'snaporch_app'@'127.0.0.1';
CREATE TABLE IF NOT EXISTS snaporch_test.t (
    id INT AUTO_INCREMENT PRIMARY KEY,
    v VARCHAR(100) NOT NULL,
    created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS snaporch_test.t_myisam (
    id INT AUTO_INCREMENT PRIMARY KEY,
    v VARCHAR(100) NOT NULL
) ENGINE=MyISAM;
EOF

# Client option files: root-owned, 0600, written atomically. [client] is read by mariadb and
# mariadb-admin alike. host/port are there for TCP use; with both socket and host=localhost the
# client uses the socket (pass --protocol=TCP to use 127.0.0.1:PORT instead).
write_cnf() { # file user password
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    printf '[client]\nuser=%s\npassword=%s\nsocket=%s\nhost=localhost\nport=%s\n' "$2" "$3" "$SOCK" "$PORT" >"$tmp"
    chown root:root "$tmp"
    chmod 0600 "$tmp"
    mv -f "$tmp" "$1"
}
write_cnf "$CNF" snaporch "$PW"
write_cnf "$APPCNF" snaporch_app "$APPPW"

# Prove both files work before saying so.
mariadb --defaults-file="$CNF" --batch -e 'SELECT 1' >/dev/null || die "plugin user cannot log in via $CNF"
mariadb --defaults-file="$CNF" --protocol=TCP --batch -e 'SELECT 1' >/dev/null || die "plugin user cannot log in over TCP"
mariadb --defaults-file="$APPCNF" --batch -e 'SELECT COUNT(*) FROM snaporch_test.t' >/dev/null || die "app user cannot read snaporch_test.t"

VERSION=$(admin -e 'SELECT VERSION()')
echo "SOCKET=$SOCK"
echo "DEFAULTS_FILE=$CNF"
echo "APP_DEFAULTS_FILE=$APPCNF"
echo "ADMIN_DEFAULTS_FILE=$ADMCNF"
echo "PORT=$PORT"
echo "PID=$(cat "$PIDF")"
echo "DATADIR=$DATA"
echo "VERSION=$VERSION"
