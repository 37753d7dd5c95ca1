# common.sh: sourced by the private database servers' start and stop scripts (not run by itself).
# The sourcing script sets NAME (its own name, for messages) before sourcing.

log() { echo "$NAME: $*" >&2; }
die() { echo "$NAME: error: $*" >&2; exit 1; }

# install_without_starting PKG...: installs Debian packages non-interactively, never letting a
# package start the system instance (Debian's postinst starts the default instance unless
# policy-rc.d says no, exit 101). Docker images ship a policy-rc.d; where there is none, one is put
# in place for the install and removed after.
install_without_starting() {
    export DEBIAN_FRONTEND=noninteractive
    local own_policy=0 rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# temporary, from %s.sh\nexit 101\n' "$NAME" >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "$@"; } >&2 || rc=$?
    [ "$own_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || die "apt-get failed ($rc)"
}

# start_arguments "$@": the start scripts' command line, DIR PORT, as root. Sets PORT; DIR stays $1.
start_arguments() {
    [ $# -eq 2 ] || die "usage: $0 DIR PORT"
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    case "$2" in '' | *[!0-9]*) die "PORT must be a number, got '$2'" ;; esac
    PORT=$2
}

# stop_arguments "$@": the stop scripts' command line, DIR [--purge]. Sets PURGE (0|1) and DIR
# (absolute, symlinks resolved); exits 0 when DIR does not exist (nothing to stop).
stop_arguments() {
    [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 DIR [--purge]"
    PURGE=0
    [ "${2:-}" = "--purge" ] && PURGE=1
    [ $# -eq 1 ] || [ "$PURGE" -eq 1 ] || die "unknown option '$2'"
    [ -d "$1" ] || { log "no directory $1: nothing to stop"; exit 0; }
    DIR=$(cd "$1" && pwd -P)
}
