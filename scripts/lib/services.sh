# Shared by scripts/* and .ci/run: make sure PostgreSQL, Redis and the build dependencies
# are installed and running on a Debian machine. Idempotent; installs only what is missing.

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages ($*): run as root or install them with apt-get" >&2
        return 1
    fi
    if [ -z "${CALSYNC_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        CALSYNC_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_packages() {
    local missing=()
    command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
    command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    dpkg -s libpq-dev >/dev/null 2>&1 || missing+=(libpq-dev)
    command -v cc >/dev/null 2>&1 || missing+=(build-essential)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

ensure_postgres() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        echo "starting PostgreSQL"
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
    fi
    # A fresh Debian cluster only lets postgres in over the socket (peer auth). Give it the
    # password the local URLs use, so TCP logins work under either trust or scram.
    if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qAtc 'select 1' >/dev/null 2>&1; then
        su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    fi
}

ensure_redis() {
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
        for _ in $(seq 1 30); do
            redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
            sleep 0.2
        done
    fi
}

ensure_diesel_cli() {
    if ! command -v diesel >/dev/null 2>&1; then
        echo "installing diesel_cli (postgres only)"
        cargo install diesel_cli --version '~2.3' --no-default-features --features postgres --locked
    fi
}

ensure_services() {
    ensure_packages
    ensure_postgres
    ensure_redis
}
