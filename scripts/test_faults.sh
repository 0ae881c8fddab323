#!/usr/bin/env bash
# npm run test:faults: the fault tests that take minutes of wall clock, on a cluster of their own
# (fresh every run, on its own port, so neither npm test nor a running npm start stack is touched).
#
# pg_cron after a restart: the expire-exports job is rescheduled to every minute, a completed
# export is made due (expires_at in the past), the database is restarted with `pg_ctl restart
# -m fast`, and the next scheduled run after the restart must expire it (status, link and bytes)
# within ~2.5 minutes. Ends with one line "N passed, N failed", as npm test does.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset DATABASE_URL

ensure_debian_packages
ensure_node_modules

faults_dir="$(stack_home)/faults-$$"
faults_port="$(free_port $((25760 + $$ % 200)))"
cleanup() {
  cluster_stop "$faults_dir" || true
  rm -rf "$faults_dir"
}
trap cleanup EXIT

cluster_init "$faults_dir" "$faults_port"
cluster_start "$faults_dir"
url="$(db_url "$faults_port")"
apply_platform_bootstrap "$url"
apply_migrations "$url"

passed=0
failed=0
# check DESCRIPTION COMMAND…: runs the command and counts it as one passed or failed test.
check() {
  local description="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok - $description"
  else
    failed=$((failed + 1))
    echo "not ok - $description"
  fi
}
q() { psql_url "$url" -At -c "$1"; }
equals() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'" >&2; return 1; }; }

# --- pg_cron keeps expiring after a database restart ---------------------------------------------
q "select cron.schedule('expire-exports', '* * * * *', 'select public.mark_expired_exports()')" >/dev/null
check "expire-exports is rescheduled to every minute" \
  equals "$(q "select schedule || ' ' || active from cron.job where jobname = 'expire-exports'")" "* * * * * true"

export_log_id="$(cd "$PROJECT_ROOT" && SUPABASE_DB_URL="$url" "$DENO" run -A tests/support/completed_export.ts)"
status_of() {
  q "select l.status || ' ' || (l.file_url is null) || ' ' || (select count(*) from exports_internal.export_chunks c
       where c.export_log_id = l.id) from public.export_logs l where l.id = '$export_log_id'"
}
check "a completed export with a link and stored bytes is the fixture" \
  bash -c '[[ "$1" =~ ^completed\ false\ [1-9][0-9]*$ ]] || { echo "  got $1" >&2; exit 1; }' _ "$(status_of)"

# pg_cron starts jobs on the minute. Make the export due and restart well inside a minute, so no
# run can slip in between and the expiry can only come from a run after the restart.
while second=$((10#$(date -u +%S))); [ "$second" -lt 5 ] || [ "$second" -gt 35 ]; do sleep 1; done
q "update public.export_logs set expires_at = now() - interval '1 second' where id = '$export_log_id'"
log "restarting Postgres (pg_ctl restart -m fast)"
as_postgres "$PG_BIN/pg_ctl" restart -D "$faults_dir" -m fast -w -t 60 >>"$faults_dir/server.log" 2>&1
check "the export is still completed right after the restart (no run came in between)" \
  bash -c '[[ "$1" == completed\ * ]] || { echo "  got $1" >&2; exit 1; }' _ "$(status_of)"

started=$(date +%s)
current="$(status_of)"
until [[ "$current" == expired\ * ]] || [ $(($(date +%s) - started)) -ge 150 ]; do
  log "waiting for the next scheduled expire-exports run: $(($(date +%s) - started)) s since the restart, export ${current%% *}"
  sleep 5
  current="$(status_of)"
done
log "after $(($(date +%s) - started)) s: export ${current%% *}"
check "the first scheduled run after the restart expired it: link cleared and bytes dropped, within 150 s" \
  equals "$current" "expired true 0"
check "pg_cron recorded a succeeded expire-exports run that started after the restart" \
  equals "$(q "select count(*) > 0 from cron.job_run_details d join cron.job j on j.jobid = d.jobid
                where j.jobname = 'expire-exports' and d.status = 'succeeded'
                  and d.start_time >= pg_postmaster_start_time()")" "t"

# Clean up first, so that the summary is the last line printed.
cleanup
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
