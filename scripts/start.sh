#!/usr/bin/env bash
# npm start: brings the local stack up (installing what is missing) and prints how to connect.
# With DATABASE_URL set (a Postgres that already has the Supabase objects, e.g. the one
# `supabase start` runs), that database is used instead of the local cluster.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEV_PORT=54322
ensure_debian_packages
ensure_node_modules

if [ -n "${DATABASE_URL:-}" ]; then
  url="${DATABASE_URL%%\?*}"
  log "using DATABASE_URL instead of the local cluster"
else
  dir="$(stack_home)/dev"
  cluster_init "$dir" "$DEV_PORT"
  cluster_start "$dir"
  url="$(db_url "$DEV_PORT")"
fi

apply_platform_bootstrap "$url"
apply_migrations "$url"
"$DENO" run --allow-read --allow-write --allow-env "$PROJECT_ROOT/scripts/write_env_local.ts" \
  --db-url "$url" --functions-url "http://127.0.0.1:54321"
