#!/usr/bin/env bash
# npm start: brings the whole local stack up on a fresh machine (installing what is missing):
# Postgres with pg_cron and all migrations, the functions server on :54321, the worker loop,
# the web UI on :54330, and demo data. Writes .env.local and prints how to call the API. Safe to run again.
# EXPORTS_FILE_STORE=s3 also starts a local S3-protocol server for finished files.
# With DATABASE_URL set (a Postgres that already has the Supabase objects, e.g. the one
# `supabase start` runs), that database is used instead of the local cluster.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEV_PORT=54322
FUNCTIONS_PORT=54321
ensure_debian_packages
ensure_node_modules

home="$(stack_home)"
mkdir -p "$home"
if [ -n "${DATABASE_URL:-}" ]; then
  url="${DATABASE_URL%%\?*}"
  log "using DATABASE_URL instead of the local cluster"
else
  cluster_init "$home/dev" "$DEV_PORT"
  cluster_start "$home/dev"
  url="$(db_url "$DEV_PORT")"
fi

apply_platform_bootstrap "$url"
apply_migrations "$url"
"$DENO" run --allow-read --allow-write --allow-env "$PROJECT_ROOT/scripts/write_env_local.ts" \
  --db-url "$url" --functions-url "http://127.0.0.1:$FUNCTIONS_PORT" >/dev/null

set -a
# shellcheck disable=SC1091
source "$PROJECT_ROOT/.env.local"
set +a
psql_url "$url" -c "update exports_internal.settings set public_base_url = '$SUPABASE_URL'" >/dev/null

# EXPORTS_FILE_STORE=s3 npm start: finished files go to a local S3-protocol server (s3rver on
# :54329, its files in the stack home) instead of staying in Postgres.
if [ "${EXPORTS_FILE_STORE:-postgres}" = s3 ]; then
  S3_PORT=54329
  mkdir -p "$home/s3"
  start_daemon s3-server "$home/s3-server.log" \
    node "$PROJECT_ROOT/scripts/s3_server.mjs" --port "$S3_PORT" --directory "$home/s3"
  export EXPORTS_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" EXPORTS_S3_REGION=us-east-1 \
    EXPORTS_S3_BUCKET=exports EXPORTS_S3_ACCESS_KEY_ID=S3RVER EXPORTS_S3_SECRET_ACCESS_KEY=S3RVER
  log "finished files go to the object store at $EXPORTS_S3_ENDPOINT (bucket exports)"
fi

start_daemon functions-server "$home/functions-server.log" \
  "$DENO" run --allow-all "$PROJECT_ROOT/scripts/functions_server.ts" --port "$FUNCTIONS_PORT"
start_daemon worker "$home/worker.log" "$DENO" run --allow-all "$PROJECT_ROOT/scripts/worker.ts"
wait_for_http "http://127.0.0.1:$FUNCTIONS_PORT/functions/v1/exports" || {
  cat "$home/functions-server.log" >&2
  log "the functions server did not come up"
  exit 1
}

# The web UI, built when missing or stale, served from web/dist with a config.json naming this
# stack's API; seed_demo prints the sign-in link for the demo user.
WEB_PORT=54330
ensure_web_build
start_daemon web-server "$home/web-server.log" \
  "$DENO" run --allow-read --allow-net --allow-env "$PROJECT_ROOT/scripts/web_server.ts" --port "$WEB_PORT"
wait_for_http "http://127.0.0.1:$WEB_PORT/config.json" || {
  cat "$home/web-server.log" >&2
  log "the web server did not come up"
  exit 1
}

WEB_URL="http://127.0.0.1:$WEB_PORT" "$DENO" run --allow-all "$PROJECT_ROOT/scripts/seed_demo.ts"
