#!/usr/bin/env bash
# npm run bench [-- --quick]: the benchmarks of issue 6 on a throwaway cluster and functions
# server (fresh every run, on their own ports, so a running `npm start` stack is left alone):
# seeded data, then every case, then a table on stdout. A full run writes docs/benchmarks.md;
# --quick runs everything at a tenth of the size and only prints. DATABASE_URL is ignored.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset DATABASE_URL

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: npm run bench [-- --quick]" >&2; exit 2 ;;
  esac
done
started_at=$(date +%s)
export BENCH_STARTED_AT="$started_at"

ensure_debian_packages
ensure_node_modules
ensure_web_build
if [ ! -f "$PROJECT_ROOT/node_modules/autocannon/package.json" ]; then
  log "installing npm packages (npm ci): autocannon is missing"
  (cd "$PROJECT_ROOT" && npm ci --no-audit --no-fund >/dev/null)
fi

bench_dir="$(stack_home)/bench-$$"
bench_port="$(free_port $((27340 + $$ % 400)))"
functions_port="$(free_port $((28340 + $$ % 400)))"
results="$(mktemp -d)"
cleanup() {
  stop_functions_server
  stop_s3_server
  cluster_stop "$bench_dir" || true
  # BENCH_KEEP_RESULTS=<dir> keeps the raw results (JSON, and the timings) for a look at them
  # afterwards, or to rebuild the report from them with report.ts.
  if [ -n "${BENCH_KEEP_RESULTS:-}" ]; then mkdir -p "$BENCH_KEEP_RESULTS" && cp "$results"/*.json "$results"/*.jsonl "$BENCH_KEEP_RESULTS"/; fi
  rm -rf "$bench_dir" "$results"
}
trap cleanup EXIT

cluster_init "$bench_dir" "$bench_port"
# Big exports write gigabytes of WAL: without room for it, checkpoints would start in the middle
# of whichever measurement crossed max_wal_size. Each timed step starts after an explicit
# CHECKPOINT instead, so both sides of every ratio start from the same state.
as_postgres tee -a "$bench_dir/postgresql.conf" >/dev/null <<CONF
max_wal_size = 8GB
checkpoint_timeout = 30min
CONF
cluster_start "$bench_dir"
url="$(db_url "$bench_port")"
apply_platform_bootstrap "$url"
apply_migrations "$url"

export SUPABASE_DB_URL="$url"
export SUPABASE_URL="http://127.0.0.1:$functions_port"
export EXPORTS_JWT_SECRET="bench-jwt-secret-$(random_hex)"
export EXPORTS_SIGNING_SECRET="v1:bench-signing-secret-$(random_hex)"
export BENCH_RESULTS_DIR="$results"
export BENCH_QUICK="$quick"

# Only the benchmark drives exports and expiry here: pg_cron's jobs would claim an export or
# expire rows in the middle of a measurement. Limits are raised so that no run hits them.
psql_url "$url" <<SQL >/dev/null
select cron.unschedule('process-exports');
select cron.unschedule('expire-exports');
update exports_internal.settings
   set public_base_url = '$SUPABASE_URL',
       max_active_exports = 1000000000, max_daily_exports = 1000000000,
       max_stored_bytes = 1000000000000000;
SQL
psql_url "$url" -f "$PROJECT_ROOT/scripts/bench/floor_views.sql" >/dev/null
psql_url "$url" -At >"$results/database.json" <<'SQL'
select json_build_object('version', version(), 'shared_buffers', current_setting('shared_buffers'),
                         'batch_size', (select batch_size from exports_internal.settings));
SQL
start_functions_server "$functions_port" "$results/functions.log"
export BENCH_FUNCTIONS_SERVER_PID="$FUNCTIONS_SERVER_PID"

bench() {
  "$DENO" run --allow-all "$PROJECT_ROOT/scripts/bench/$1" "${@:2}"
}
# timed NAME COMMAND…: runs the command and adds its seconds to NAME in the results.
timed() {
  local name="$1" from
  shift
  from=$(date +%s%N)
  "$@"
  printf '{"%s": %s}\n' "$name" "$(( ($(date +%s%N) - from) / 1000000 ))e-3" >>"$results/timings.jsonl"
}

if [ "$quick" = 1 ]; then
  conversations=10000 log_users_small=16 log_users_large=1000
else
  conversations=100000 log_users_small=100 log_users_large=10000
fi
seed_logs() {
  psql_url "$url" "$@" -f "$PROJECT_ROOT/scripts/bench/seed_export_logs.sql" >/dev/null
}

log "seeding $conversations conversations × 8 turns"
timed seed_conversations psql_url "$url" -v conversations="$conversations" \
  -v user_id=00000000-0000-4000-8000-0000000be4c1 -f "$PROJECT_ROOT/scripts/bench/seed_conversations.sql" >/dev/null

# Cases 1-3 at both sizes, then the peers (case 6), all on the conversations.
bench files_case.ts small
bench files_case.ts large
bench peers_case.ts

# Cases 4 and 5 on export_logs: first the small table, then the same rows plus the rest.
log "seeding export_logs: $((log_users_large * 100)) rows staged, $((log_users_small * 100)) loaded"
timed seed_export_logs seed_logs -v step=stage -v users="$log_users_large"
timed seed_export_logs seed_logs -v step=load -v first_user=1 -v last_user="$log_users_small"
bench api_case.ts small
bench ui_case.ts
bench expiry_case.ts small
log "seeding export_logs: the other $(((log_users_large - log_users_small) * 100)) rows"
timed seed_export_logs seed_logs -v step=load -v first_user=$((log_users_small + 1)) -v last_user="$log_users_large"
bench api_case.ts large
bench expiry_case.ts large --due

# Case 7, the object store: s3rver on loopback, the functions server restarted in s3 mode.
start_s3_server "$(free_port $((29340 + $$ % 400)))" "$bench_dir/s3" "$results/s3.log"
stop_functions_server
export EXPORTS_FILE_STORE=s3
start_functions_server "$functions_port" "$results/functions-s3.log"
export BENCH_FUNCTIONS_SERVER_PID="$FUNCTIONS_SERVER_PID"
bench object_store_case.ts

log "benchmarks done in $(( $(date +%s) - started_at )) s"
printf '{"total": %s}\n' "$(( $(date +%s) - started_at ))" >>"$results/timings.jsonl"
if [ "$quick" = 1 ]; then
  bench report.ts
else
  bench report.ts --write "$PROJECT_ROOT/docs/benchmarks.md"
  log "written to docs/benchmarks.md"
fi
