# shellcheck shell=bash
# Shared by scripts/dev, scripts/test, scripts/update-schema and .ci/run (sourced by bash).
#
# On a Debian machine, installs what the scripts use when it is missing, and makes sure the
# PostgreSQL and Redis that the URLs name are answering:
#
#   ensure_tools                        curl, ps, CA certificates, psql, redis-cli, jq
#   ensure_commands CMD:PACKAGE ...     any other command, by Debian package
#   ensure_build_deps                   C toolchain, pkg-config, libpq headers
#   ensure_postgres VAR DEFAULT_URL     e.g. ensure_postgres TEST_DATABASE_URL postgres://...
#   ensure_redis VAR DEFAULT_URL        e.g. ensure_redis TEST_REDIS_URL redis://127.0.0.1:6379
#   stop_started_services               stops what ensure_postgres/ensure_redis started
#
# A server that answers is used as it is. A server is started only when its URL points at
# this machine's loopback and nothing answers there; it is then listed in CALSYNC_STARTED.
# Nothing here changes an existing server's roles, passwords or settings: when the URL cannot
# log in on a server this script itself installed or started (a fresh Debian cluster lets
# postgres in only over the socket), it creates a role of calsync's own (calsync_local, never
# altered once it exists) and uses that. On a server that was already running, only the
# default URL may fall back to an existing calsync_local; in every other case it stops and
# says what to set. ensure_postgres and ensure_redis export VAR with the URL to use.

CALSYNC_ROOT=${CALSYNC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CALSYNC_STATE_DIR=${CALSYNC_STATE_DIR:-$CALSYNC_ROOT/.dev}
CALSYNC_LOCAL_ROLE=calsync_local
# Only ever set on a role this script creates, on a server it started, listening on loopback.
CALSYNC_LOCAL_PASSWORD=${CALSYNC_LOCAL_PASSWORD:-calsync_local}
CALSYNC_STARTED=()

calsync_say() { echo "services: $*"; }
calsync_fail() { echo "services: $*" >&2; return 1; }

# --- packages -------------------------------------------------------------------------------

calsync_can_be_root() {
    [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}

calsync_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo -n "$@"
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        calsync_fail "no apt-get here: install $* by hand" || return 1
    calsync_can_be_root ||
        calsync_fail "missing packages ($*): run as root (or with passwordless sudo), or install them with apt-get" ||
        return 1
    if [ -z "${CALSYNC_APT_UPDATED:-}" ]; then
        calsync_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        CALSYNC_APT_UPDATED=1
    fi
    calsync_say "installing: $*"
    calsync_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_commands CMD:PACKAGE...: installs the package of each command that is missing.
ensure_commands() {
    local pair missing=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        # One package may provide several of the commands.
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        apt_install "${missing[@]}"
    fi
}

# What the scripts call: curl (health checks, the demo's commands), ps (procps), the CA
# bundle (cargo and curl over HTTPS), psql/pg_isready, redis-cli and jq.
ensure_tools() {
    [ -s /etc/ssl/certs/ca-certificates.crt ] || apt_install ca-certificates
    ensure_commands curl:curl ps:procps psql:postgresql-client pg_isready:postgresql-client \
        redis-cli:redis-tools jq:jq timeout:coreutils
}

# What `cargo build` needs for diesel's libpq binding.
ensure_build_deps() {
    ensure_commands cc:build-essential make:build-essential pkg-config:pkg-config
    dpkg -s libpq-dev >/dev/null 2>&1 || apt_install libpq-dev
}

ensure_diesel_cli() {
    if ! command -v diesel >/dev/null 2>&1; then
        calsync_say "installing diesel_cli (postgres only)"
        cargo install diesel_cli --version '~2.3' --no-default-features --features postgres --locked
    fi
}

# --- URLs -----------------------------------------------------------------------------------

# calsync_parse_url URL: sets url_scheme, url_user, url_password, url_host, url_port, url_path
# and url_query (each empty when absent). User and password stay percent-encoded.
# shellcheck disable=SC2034 # the url_* variables are the output, read by callers
calsync_parse_url() {
    local rest=$1 userinfo=""
    url_scheme=${rest%%://*}
    rest=${rest#*://}
    url_query=""
    if [[ $rest == *\?* ]]; then
        url_query=${rest#*\?}
        rest=${rest%%\?*}
    fi
    url_path=""
    if [[ $rest == */* ]]; then
        url_path=${rest#*/}
        rest=${rest%%/*}
    fi
    if [[ $rest == *@* ]]; then
        userinfo=${rest%@*}
        rest=${rest##*@}
    fi
    url_user=${userinfo%%:*}
    url_password=""
    [[ $userinfo == *:* ]] && url_password=${userinfo#*:}
    url_port=""
    if [[ $rest == \[* ]]; then
        url_host=${rest%%]*}
        url_host=${url_host#[}
        rest=${rest#*]}
        [[ $rest == :* ]] && url_port=${rest#:}
    else
        url_host=${rest%%:*}
        [[ $rest == *:* ]] && url_port=${rest#*:}
    fi
    return 0
}

# The same URL with another database (query kept), like the tests' helper does.
pg_url_with_db() {
    local url=$1 db=$2 base query=""
    base=${url%%\?*}
    [[ $url == *\?* ]] && query="?${url#*\?}"
    printf '%s/%s%s\n' "${base%/*}" "$db" "$query"
}

# The database named in a URL.
pg_url_db() {
    calsync_parse_url "$1"
    printf '%s\n' "$url_path"
}

# The same URL with other credentials.
calsync_url_with_user() {
    local url=$1 user=$2 password=$3 scheme rest
    scheme=${url%%://*}
    rest=${url#*://}
    local authority=${rest%%[/?]*} tail=${rest#"${rest%%[/?]*}"}
    authority=${authority##*@}
    printf '%s://%s:%s@%s%s\n' "$scheme" "$user" "$password" "$authority" "$tail"
}

# A URL with its password hidden, for messages.
calsync_redacted() {
    calsync_parse_url "$1"
    if [ -n "$url_password" ]; then
        printf '%s\n' "${1/:"$url_password"@/:***@}"
    else
        printf '%s\n' "$1"
    fi
}

# Whether a host names this machine's loopback (empty: the local socket). Only loopback:
# servers started here listen on loopback only.
calsync_is_loopback() {
    case $1 in
        "" | localhost | 127.* | ::1 | 0:0:0:0:0:0:0:1) return 0 ;;
        *) return 1 ;;
    esac
}

# --- PostgreSQL -----------------------------------------------------------------------------

# 0 when the server answers (waiting while it is still starting), 1 when nothing does.
calsync_pg_answers() {
    local rc
    for _ in $(seq 1 60); do
        rc=0
        pg_isready -q -t 3 -d "$1" || rc=$?
        case $rc in
            0) return 0 ;;
            1) sleep 0.5 ;; # up, but not accepting connections yet
            *) return 1 ;;
        esac
    done
    return 1
}

# Whether the URL's credentials log in. A missing database still proves the login.
calsync_pg_login() {
    local out
    if out=$(PGCONNECT_TIMEOUT=5 psql "$1" -qAtX -c 'SELECT 1' 2>&1); then
        return 0
    fi
    [[ $out == *"database \""*"\" does not exist"* ]] && return 0
    calsync_pg_login_error=$out
    return 1
}

# "version name status" of the Debian cluster configured on a port, if any.
calsync_pg_cluster_on_port() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p { print $1, $2, $4; exit }'
}

calsync_pg_installed() {
    command -v pg_ctlcluster >/dev/null 2>&1 &&
        compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# Starts (installing and creating it first if needed) a local cluster for this URL's port.
calsync_start_postgres() {
    local url=$1 port=$2 cluster version name status
    if ! calsync_pg_installed; then
        apt_install postgresql || return 1
        # The package creates and may start a cluster; if it now answers, this script started it.
        if calsync_pg_answers "$url"; then
            cluster=$(calsync_pg_cluster_on_port "$port")
            [ -n "$cluster" ] && CALSYNC_STARTED+=("postgres ${cluster% *}")
            return 0
        fi
    fi
    calsync_can_be_root ||
        calsync_fail "nothing answers on port $port and starting PostgreSQL needs root" ||
        return 1
    cluster=$(calsync_pg_cluster_on_port "$port")
    if [ -z "$cluster" ]; then
        version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
        name="calsync_$port"
        calsync_say "creating PostgreSQL cluster $version/$name on port $port (loopback only)"
        calsync_as_root pg_createcluster --port "$port" --start-conf manual "$version" "$name" \
            >/dev/null || return 1
        cluster="$version $name down"
    fi
    read -r version name status <<<"$cluster"
    if [[ $status != online* ]]; then
        calsync_say "starting PostgreSQL $version/$name on port $port"
        # Its own session: a Ctrl-C in this terminal is not PostgreSQL's to receive.
        calsync_as_root setsid pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start ||
            return 1
        CALSYNC_STARTED+=("postgres $version $name")
    fi
    calsync_pg_answers "$url" ||
        calsync_fail "PostgreSQL $version/$name is up but does not answer at $(calsync_redacted "$url")"
}

# Creates calsync's own role over the socket, as the postgres OS user. Never alters a role.
calsync_create_local_role() {
    local port=$1
    calsync_say "creating role $CALSYNC_LOCAL_ROLE (LOGIN CREATEDB CREATEROLE) on the server on port $port"
    calsync_as_root su postgres -s /bin/sh -c "psql -X -q -v ON_ERROR_STOP=1 -p $port -d postgres" <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$CALSYNC_LOCAL_ROLE') THEN
        CREATE ROLE $CALSYNC_LOCAL_ROLE LOGIN CREATEDB CREATEROLE PASSWORD '$CALSYNC_LOCAL_PASSWORD';
    END IF;
END
\$\$;
SQL
}

# ensure_postgres VAR DEFAULT_URL: PostgreSQL at ${VAR:-DEFAULT_URL} answers and lets us in.
ensure_postgres() {
    local var=$1 default=$2 url given=1 started="" port own
    url=${!var:-}
    if [ -z "$url" ]; then
        url=$default
        given=""
    fi
    calsync_parse_url "$url"
    port=${url_port:-5432}
    if ! calsync_pg_answers "$url"; then
        if ! calsync_is_loopback "$url_host"; then
            calsync_fail "nothing answers at $(calsync_redacted "$url") ($var), and that is not this machine's loopback: nothing is started"
            return 1
        fi
        local before=${#CALSYNC_STARTED[@]}
        calsync_start_postgres "$url" "$port" || return 1
        [ ${#CALSYNC_STARTED[@]} -gt "$before" ] && started=1
    fi
    if calsync_pg_login "$url"; then
        export "$var=$url"
        return 0
    fi
    # A server this script just started is calsync's to set up; any other one is not.
    if [ -n "$given" ] && [ -z "$started" ]; then
        calsync_fail "$var=$(calsync_redacted "$url") cannot log in: ${calsync_pg_login_error:-}
services: fix the URL's user or password; these scripts never change a server's roles or passwords"
        return 1
    fi
    # These credentials do not work on this server. calsync's own role, if made before:
    own=$(calsync_url_with_user "$url" "$CALSYNC_LOCAL_ROLE" "$CALSYNC_LOCAL_PASSWORD")
    if ! calsync_pg_login "$own"; then
        if [ -z "$started" ]; then
            calsync_fail "the default $var ($(calsync_redacted "$url")) cannot log in to the PostgreSQL that is already running on port $port:
services:   ${calsync_pg_login_error:-}
services: set $var to a role that can log in there (it needs CREATEDB and CREATEROLE);
services: these scripts never change an existing server's credentials"
            return 1
        fi
        calsync_create_local_role "$port" || return 1
        calsync_pg_login "$own" ||
            calsync_fail "role $CALSYNC_LOCAL_ROLE cannot log in either: ${calsync_pg_login_error:-}" ||
            return 1
    fi
    calsync_say "$var: the login in the URL does not work on the server on port $port; using role $CALSYNC_LOCAL_ROLE instead"
    export "$var=$own"
}

# --- Redis ----------------------------------------------------------------------------------

calsync_redis_ping() {
    timeout 5 redis-cli --no-auth-warning -u "$1" ping 2>&1 || true
}

calsync_start_redis() {
    local url=$1 host=$2 port=$3 password=$4 dir args reply
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server || return 1
        # The package may start its own server; if it now answers, this script started it.
        if [ "$(calsync_redis_ping "$url")" = PONG ]; then
            CALSYNC_STARTED+=("redis $url")
            return 0
        fi
    fi
    dir=$CALSYNC_STATE_DIR/redis-$port
    mkdir -p "$dir"
    args=(--daemonize yes --port "$port" --dir "$dir" --pidfile "$dir/redis.pid"
        --logfile "$dir/redis.log" --save '' --appendonly no)
    case $host in
        ::1 | 0:0:0:0:0:0:0:1) args+=(--bind ::1) ;;
        localhost | "") args+=(--bind 127.0.0.1 -::1) ;;
        *) args+=(--bind "$host") ;;
    esac
    [ -n "$password" ] && args+=(--requirepass "$password")
    calsync_say "starting Redis on port $port (no persistence; log $dir/redis.log)"
    setsid redis-server "${args[@]}" || return 1
    CALSYNC_STARTED+=("redis $url")
    for _ in $(seq 1 50); do
        reply=$(calsync_redis_ping "$url")
        [ "$reply" = PONG ] && return 0
        sleep 0.1
    done
    calsync_fail "Redis started on port $port but does not answer: $reply"
}

# ensure_redis VAR DEFAULT_URL: Redis at ${VAR:-DEFAULT_URL} answers PING.
ensure_redis() {
    local var=$1 default=$2 url reply
    url=${!var:-$default}
    calsync_parse_url "$url"
    if [ "$url_scheme" != redis ]; then
        calsync_say "$var is a $url_scheme URL: not checked here"
        export "$var=$url"
        return 0
    fi
    reply=$(calsync_redis_ping "$url")
    case $reply in
        PONG)
            export "$var=$url"
            return 0
            ;;
        *NOAUTH* | *WRONGPASS* | *"invalid password"* | *"invalid username"* | *"AUTH failed"*)
            calsync_fail "$var=$(calsync_redacted "$url"): Redis answers but refuses the login: $reply
services: fix the URL's credentials; these scripts never change a server's settings"
            return 1
            ;;
        *"Could not connect"* | *"Connection refused"* | "")
            ;;
        *)
            calsync_fail "$var=$(calsync_redacted "$url"): unexpected answer to PING: $reply"
            return 1
            ;;
    esac
    if ! calsync_is_loopback "$url_host"; then
        calsync_fail "nothing answers at $(calsync_redacted "$url") ($var), and that is not this machine's loopback: nothing is started"
        return 1
    fi
    # The password may be percent-encoded in the URL; a local server gets it decoded.
    local password
    password=$(printf '%b' "${url_password//%/\\x}")
    calsync_start_redis "$url" "${url_host:-127.0.0.1}" "${url_port:-6379}" "$password" || return 1
    export "$var=$url"
}

# --- the rest -------------------------------------------------------------------------------

# Stops, newest first, the servers ensure_postgres/ensure_redis started in this shell.
stop_started_services() {
    local i entry version name
    for ((i = ${#CALSYNC_STARTED[@]} - 1; i >= 0; i--)); do
        entry=${CALSYNC_STARTED[i]}
        case $entry in
            "postgres "*)
                read -r _ version name <<<"$entry"
                calsync_say "stopping PostgreSQL $version/$name (this script started it)"
                calsync_as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" stop ||
                    calsync_say "could not stop PostgreSQL $version/$name"
                ;;
            "redis "*)
                calsync_say "stopping Redis $(calsync_redacted "${entry#redis }") (this script started it)"
                timeout 10 redis-cli --no-auth-warning -u "${entry#redis }" shutdown nosave \
                    >/dev/null 2>&1 || true
                ;;
        esac
    done
    CALSYNC_STARTED=()
}

# Calls to this machine (tests, the emulator, health checks) must never go through an
# http_proxy/https_proxy from the environment.
bypass_proxy_for_loopback() {
    local merged
    merged=$(printf '%s\n' "${NO_PROXY:-}" "${no_proxy:-}" 127.0.0.1 localhost ::1 |
        tr ',' '\n' | sed '/^[[:space:]]*$/d' | awk '!seen[$0]++' | paste -sd, -)
    export NO_PROXY="$merged" no_proxy="$merged"
}
