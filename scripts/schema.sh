#!/usr/bin/env bash
# npm run schema: writes supabase/schema.sql, the schema the migrations build, from a throwaway
# cluster migrated from scratch (a running `npm start` stack is left alone).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset DATABASE_URL

ensure_debian_packages
ensure_node_modules

schema_dir="$(stack_home)/schema-$$"
schema_port="$(free_port $((29340 + $$ % 400)))"
cleanup() {
  cluster_stop "$schema_dir" || true
  rm -rf "$schema_dir"
}
trap cleanup EXIT

cluster_init "$schema_dir" "$schema_port"
cluster_start "$schema_dir"
url="$(db_url "$schema_port")"
apply_platform_bootstrap "$url"
apply_migrations "$url"
SUPABASE_DB_URL="$url" "$DENO" run --allow-all "$PROJECT_ROOT/scripts/schema_dump.ts" --write
