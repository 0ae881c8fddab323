#!/usr/bin/env bash
# npm test: a throwaway cluster (fresh every run, on its own port, so a running `npm start` stack
# is left alone and no test depends on leftovers), then pgTAP, then the Deno tests (the browser
# tests among them drive Debian's chromium through the web UI served from web/dist).
# Ends with one line "N passed, N failed" totalling both. DATABASE_URL is ignored on purpose.
# Arguments narrow the run (for development): `*_test.ts` files go to deno test, `*.test.sql`
# files to pg_prove; a kind with no argument of its own is skipped. No arguments: everything.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset DATABASE_URL

pgtap_files=()
deno_files=()
for arg in "$@"; do
  case "$arg" in
    *.test.sql) pgtap_files+=("$(basename "$arg")") ;;
    *) deno_files+=("$arg") ;;
  esac
done
if [ $# -eq 0 ]; then
  pgtap_files=("*.test.sql")
  deno_files=("tests/")
fi

ensure_debian_packages
ensure_node_modules
ensure_browser
ensure_web_build

test_dir="$(stack_home)/test-$$"
test_port="$(free_port $((25340 + $$ % 400)))"
logs="$(mktemp -d)"
passed=0
failed=0
cleanup() {
  stop_web_server
  stop_functions_server
  stop_s3_server
  cluster_stop "$test_dir" || true
  rm -rf "$test_dir" "$logs"
}
# A set-up step that fails still ends the run with the summary line, counting itself as failed.
on_setup_failure() {
  cleanup
  echo "$passed passed, $((failed + 1)) failed"
}
trap on_setup_failure EXIT

cluster_init "$test_dir" "$test_port"
cluster_start "$test_dir"
url="$(db_url "$test_port")"
apply_platform_bootstrap "$url"
apply_migrations "$url"

# --- pgTAP ---------------------------------------------------------------------------------
pgtap_status=0
: >"$logs/pgtap.log"
if [ ${#pgtap_files[@]} -gt 0 ]; then
  log "running pgTAP"
  set +e
  # shellcheck disable=SC2086,SC2068
  (cd "$PROJECT_ROOT/supabase/tests/database" && PGPASSWORD="$PG_PASSWORD" pg_prove --verbose \
    --host 127.0.0.1 --port "$test_port" --username postgres --dbname postgres \
    --ext .sql ${pgtap_files[@]}) >"$logs/pgtap.log" 2>&1
  pgtap_status=$?
  set -e
fi
grep -vE '^\s*ok [0-9]+' "$logs/pgtap.log" || true
pgtap_passed=$(grep -cE '^\s*ok [0-9]+' "$logs/pgtap.log" || true)
pgtap_failed=$(grep -cE '^\s*not ok [0-9]+' "$logs/pgtap.log" || true)
# A file that dies or misses its plan fails without a "not ok" line: count it once.
if [ "$pgtap_status" -ne 0 ] && [ "$pgtap_failed" -eq 0 ]; then pgtap_failed=1; fi
passed=$((passed + pgtap_passed))
failed=$((failed + pgtap_failed))
log "pgTAP: $pgtap_passed passed, $pgtap_failed failed"

# --- Deno ----------------------------------------------------------------------------------
# The end-to-end tests go through the real functions server over HTTP, with test secrets.
functions_port="$(free_port $((26340 + $$ % 400)))"
export SUPABASE_DB_URL="$url"
export SUPABASE_URL="http://127.0.0.1:$functions_port"
export TEST_CLUSTER_DIR="$test_dir"
export EXPORTS_JWT_SECRET="test-jwt-secret-$(random_hex)"
export EXPORTS_SIGNING_SECRET="v1:test-signing-secret-$(random_hex)"
export SUPABASE_JWKS
SUPABASE_JWKS="$("$DENO" run --allow-write --allow-read "$PROJECT_ROOT/tests/support/make_test_jwks.ts" "$logs/test-jwks-private.json")"
export TEST_JWKS_PRIVATE_PATH="$logs/test-jwks-private.json"
psql_url "$url" -c "update exports_internal.settings set public_base_url = '$SUPABASE_URL'" >/dev/null
# The object store's tests (and the functions' s3 mode) reach a real S3-protocol server.
start_s3_server "$(free_port $((27340 + $$ % 400)))" "$logs/s3" "$logs/s3.log"
export FUNCTIONS_LOG="$logs/functions.log"
start_functions_server "$functions_port" "$FUNCTIONS_LOG"
export FUNCTIONS_SERVER_PID
# The web UI of this run, in a real browser against this real stack (tests/browser).
export SUPABASE_ANON_KEY="test-anon-key-the-functions-do-not-check"
web_port="$(free_port $((28340 + $$ % 400)))"
start_web_server "$web_port" "$logs/web.log"
export WEB_URL="http://127.0.0.1:$web_port"

if [ ${#deno_files[@]} -gt 0 ]; then
  log "running Deno tests"
  run_deno_tests "$logs/deno.log" "${deno_files[@]}"
  passed=$((passed + DENO_PASSED))
  failed=$((failed + DENO_FAILED))
fi

# The s3 phase: the download and format tests again, and the object store's own, with the
# functions server restarted with EXPORTS_FILE_STORE=s3 (the same port and database).
s3_phase_files=(tests/download_test.ts tests/export_formats_test.ts tests/object_store_exports_test.ts)
s3_phase=()
for file in "${s3_phase_files[@]}"; do
  for arg in "${deno_files[@]}"; do
    case "$arg" in tests/ | tests | "$file" | "./$file") s3_phase+=("$file"); break ;; esac
  done
done
if [ ${#s3_phase[@]} -gt 0 ]; then
  log "running the s3 phase: ${s3_phase[*]}"
  stop_functions_server
  export EXPORTS_FILE_STORE=s3
  start_functions_server "$functions_port" "$logs/functions-s3.log"
  export FUNCTIONS_SERVER_PID
  run_deno_tests "$logs/deno-s3.log" "${s3_phase[@]}"
  passed=$((passed + DENO_PASSED))
  failed=$((failed + DENO_FAILED))
  unset EXPORTS_FILE_STORE
fi

# Clean up first, so that the summary is the last line printed.
cleanup
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
