# Shared pieces of the Docker-free local stack, sourced by start.sh, stop.sh and test.sh.
# Each function is idempotent: calling it twice does no harm.

set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="/usr/lib/postgresql/15/bin"
DEBIAN_PACKAGES=(
  postgresql-15
  postgresql-15-cron
  postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl
  postgresql-15-plpgsql-check
)
# The local superuser password, as `supabase start` uses; the cluster listens on loopback only.
PG_PASSWORD="postgres"

log() { printf '\033[2m[stack]\033[0m %s\n' "$*" >&2; }

# Cluster folders live outside the checkout (a clone may sit under a folder that the postgres
# user cannot enter) and are keyed by the checkout's path, so two checkouts never share one.
stack_home() {
  local key
  key=$(printf '%s' "$PROJECT_ROOT" | sha1sum | cut -c1-12)
  printf '/var/tmp/lora-exports-%s' "$key"
}

ensure_debian_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# node_modules/.bin/deno is a Node shim that runs the real binary as a child: a PID recorded
# for it would be the shim's, and ending the shim would orphan the real process. So the scripts
# resolve the real binary once and run that.
ensure_node_modules() {
  # Installed when missing, and again when package-lock.json changed since (a pull that adds a
  # package); npm keeps its own copy of the lock it installed in node_modules.
  if [ ! -x "$PROJECT_ROOT/node_modules/.bin/deno" ] || [ ! -x "$PROJECT_ROOT/node_modules/.bin/supabase" ] ||
    [ "$PROJECT_ROOT/package-lock.json" -nt "$PROJECT_ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages (npm ci)"
    (cd "$PROJECT_ROOT" && npm ci --no-audit --no-fund >/dev/null)
  fi
  # Deno lays node_modules out again for its own use (nodeModulesDir: auto) on its first run,
  # moving its binary: let it do so now, then resolve the binary where it stays.
  (cd "$PROJECT_ROOT" && "$PROJECT_ROOT/node_modules/.bin/deno" install --quiet >/dev/null 2>&1) || true
  DENO="$(cd "$PROJECT_ROOT" && "$PROJECT_ROOT/node_modules/.bin/deno" eval --quiet 'console.log(Deno.execPath())')"
}

DENO="$PROJECT_ROOT/node_modules/.bin/deno"
SUPABASE="$PROJECT_ROOT/node_modules/.bin/supabase"

# Runs a command as the postgres OS user: initdb and pg_ctl refuse to run as root.
# It starts from / because the checkout may sit in a folder the postgres user cannot enter.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# cluster_init DIR PORT: creates a UTF-8 cluster with pg_cron preloaded, listening on loopback.
cluster_init() {
  local dir="$1" port="$2"
  if [ -f "$dir/PG_VERSION" ]; then
    return 0
  fi
  log "creating a Postgres 15 cluster in $dir (port $port)"
  mkdir -p "$(dirname "$dir")"
  chmod 755 "$(dirname "$dir")"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  chmod 700 "$dir"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "$PG_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$PG_BIN/initdb" --pgdata="$dir" --encoding=UTF8 --locale=C.UTF-8 \
    --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  as_postgres tee -a "$dir/postgresql.conf" >/dev/null <<EOF

# --- lora-exports local stack ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
fsync = on
EOF
}

cluster_is_running() {
  local dir="$1"
  [ -f "$dir/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" status -D "$dir" >/dev/null 2>&1
}

cluster_start() {
  local dir="$1"
  if cluster_is_running "$dir"; then
    return 0
  fi
  log "starting Postgres ($dir)"
  as_postgres "$PG_BIN/pg_ctl" start -D "$dir" -l "$dir/server.log" -w -t 60 >/dev/null
}

cluster_stop() {
  local dir="$1"
  if cluster_is_running "$dir"; then
    log "stopping Postgres ($dir)"
    as_postgres "$PG_BIN/pg_ctl" stop -D "$dir" -m fast -w >/dev/null
  fi
}

# Finds a free TCP port on loopback, starting at $1. Throwaway stacks start below Linux's
# ephemeral range (32768-60999): a port there may be taken between this check and the bind by
# the local end of any outgoing connection, such as a test's own database connections.
free_port() {
  local port="$1"
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  printf '%s' "$port"
}

db_url() {
  local port="$1"
  printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres' "$PG_PASSWORD" "$port"
}

psql_url() {
  local url="$1"
  shift
  PGCONNECT_TIMEOUT=10 psql "$url" -v ON_ERROR_STOP=1 -X -q "$@"
}

# The platform bootstrap mirrors Supabase's built-in objects on a vanilla Postgres. A database
# that already has the auth schema (a real Supabase one) is left alone.
apply_platform_bootstrap() {
  local url="$1" has_auth
  has_auth=$(psql_url "$url" -At -c "select count(*) from pg_namespace where nspname = 'auth'")
  if [ "$has_auth" != "0" ]; then
    log "auth schema present: platform bootstrap skipped"
    return 0
  fi
  log "applying the platform bootstrap (vanilla Postgres only)"
  psql_url "$url" -f "$PROJECT_ROOT/scripts/sql/platform_bootstrap.sql" >/dev/null
}

apply_migrations() {
  local url="$1"
  log "applying migrations"
  (cd "$PROJECT_ROOT" && "$SUPABASE" migration up --db-url "$url?sslmode=disable" >/dev/null 2>"$PROJECT_ROOT/.migration.log") || {
    cat "$PROJECT_ROOT/.migration.log" >&2
    return 1
  }
  rm -f "$PROJECT_ROOT/.migration.log"
}

random_hex() {
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

FUNCTIONS_SERVER_PID=""

# start_functions_server PORT LOGFILE: serves functions/ on PORT with this environment; waits
# until it answers.
start_functions_server() {
  local port="$1" logfile="$2"
  log "starting the functions server on http://127.0.0.1:$port/functions/v1/"
  "$DENO" run --allow-all "$PROJECT_ROOT/scripts/functions_server.ts" --port "$port" >"$logfile" 2>&1 &
  FUNCTIONS_SERVER_PID=$!
  wait_for_ready "$FUNCTIONS_SERVER_PID" "$logfile" "the functions server" 600
}

# wait_for_ready PID LOGFILE NAME TRIES: waits (0.1 s a try) until a server started in the
# background logs its "ready" line; fails with its log if it exits or takes too long.
wait_for_ready() {
  local pid="$1" logfile="$2" name="$3" limit="$4" tries=0
  until grep -q '"message":"ready"' "$logfile" 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt "$limit" ] || ! kill -0 "$pid" 2>/dev/null; then
      cat "$logfile" >&2
      log "$name did not start"
      return 1
    fi
    sleep 0.1
  done
}

stop_functions_server() {
  if [ -n "$FUNCTIONS_SERVER_PID" ] && kill -0 "$FUNCTIONS_SERVER_PID" 2>/dev/null; then
    kill "$FUNCTIONS_SERVER_PID" 2>/dev/null || true
    wait "$FUNCTIONS_SERVER_PID" 2>/dev/null || true
  fi
  FUNCTIONS_SERVER_PID=""
}

# start_daemon NAME LOGFILE COMMAND…: runs a background service with a PID file in the stack
# home, unless it is already running. Used by npm start; npm run stop ends them by PID.
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  local pidfile
  pidfile="$(stack_home)/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  nohup "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  log "$name started (pid $!, log $logfile)"
}

stop_daemon() {
  local name="$1" pidfile
  pidfile="$(stack_home)/$name.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "$name stopped"
    fi
    rm -f "$pidfile"
  fi
}

# ensure_web_build: builds the web UI into web/dist when it is missing or older than any of its
# sources (the app, the typed client and the shared modules it imports).
ensure_web_build() {
  local stamp="$PROJECT_ROOT/web/dist/.built"
  if [ -f "$stamp" ] && [ -z "$(find "$PROJECT_ROOT/web" "$PROJECT_ROOT/client" "$PROJECT_ROOT/shared" \
      -path "$PROJECT_ROOT/web/dist" -prune -o -type f -newer "$stamp" -print -quit)" ]; then
    return 0
  fi
  log "building the web UI (web/dist)"
  (cd "$PROJECT_ROOT" && node_modules/.bin/vite build --config web/vite.config.mts --logLevel warn) >&2
  touch "$stamp"
}

# ensure_browser: Debian's chromium for the browser tests (playwright-core drives it; its own
# browser downloads are not reachable here).
ensure_browser() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing Debian's chromium for the browser tests"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

WEB_SERVER_PID=""

# start_web_server PORT LOGFILE: serves web/dist on PORT (SUPABASE_URL and SUPABASE_ANON_KEY go
# into its config.json); waits until it answers.
start_web_server() {
  local port="$1" logfile="$2"
  log "serving the web UI on http://127.0.0.1:$port/"
  "$DENO" run --allow-read --allow-net --allow-env "$PROJECT_ROOT/scripts/web_server.ts" \
    --port "$port" >"$logfile" 2>&1 &
  WEB_SERVER_PID=$!
  wait_for_ready "$WEB_SERVER_PID" "$logfile" "the web server" 300
}

stop_web_server() {
  if [ -n "$WEB_SERVER_PID" ] && kill -0 "$WEB_SERVER_PID" 2>/dev/null; then
    kill "$WEB_SERVER_PID" 2>/dev/null || true
    wait "$WEB_SERVER_PID" 2>/dev/null || true
  fi
  WEB_SERVER_PID=""
}

wait_for_http() {
  local url="$1" tries=0
  until curl -s -o /dev/null "$url"; do
    tries=$((tries + 1))
    [ $tries -gt 300 ] && return 1
    sleep 0.2
  done
}

# run_deno_tests LOG ARGS…: runs `deno test` on ARGS from the project root, showing and logging
# its output, and sets DENO_PASSED and DENO_FAILED from its closing line. A run that failed
# without a failing test (a type error, a crash) counts one failure.
run_deno_tests() {
  local logfile="$1" status summary
  shift
  set +e
  (cd "$PROJECT_ROOT" && NO_COLOR=1 "$DENO" test --allow-all "$@") 2>&1 | tee "$logfile"
  status=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$logfile" | tail -n 1 || true)
  DENO_PASSED=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  DENO_FAILED=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  DENO_PASSED=${DENO_PASSED:-0}
  DENO_FAILED=${DENO_FAILED:-0}
  if [ "$status" -ne 0 ] && [ "$DENO_FAILED" -eq 0 ]; then DENO_FAILED=1; fi
}

# start_s3_server PORT DIR LOGFILE: a real S3-protocol server (s3rver) on loopback with its own
# folder and the private `exports` bucket; exports the EXPORTS_S3_* settings that reach it.
start_s3_server() {
  local port="$1" dir="$2" logfile="$3"
  mkdir -p "$dir"
  log "starting the S3-protocol server on http://127.0.0.1:$port"
  node "$PROJECT_ROOT/scripts/s3_server.mjs" --port "$port" --directory "$dir" >"$logfile" 2>&1 &
  S3_SERVER_PID=$!
  wait_for_ready "$S3_SERVER_PID" "$logfile" "the S3-protocol server" 300
  export EXPORTS_S3_ENDPOINT="http://127.0.0.1:$port"
  export EXPORTS_S3_REGION="us-east-1"
  export EXPORTS_S3_BUCKET="exports"
  export EXPORTS_S3_ACCESS_KEY_ID="S3RVER"
  export EXPORTS_S3_SECRET_ACCESS_KEY="S3RVER"
}

stop_s3_server() {
  if [ -n "${S3_SERVER_PID:-}" ] && kill -0 "$S3_SERVER_PID" 2>/dev/null; then
    kill "$S3_SERVER_PID" 2>/dev/null || true
    wait "$S3_SERVER_PID" 2>/dev/null || true
  fi
  S3_SERVER_PID=""
}
