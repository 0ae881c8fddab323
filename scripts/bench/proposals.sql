-- Changes the benchmark proposes, measured beside the code as it is (never used by the service).
--
-- Expiry (case 5): mark_expired_exports() as it could be, with a partial index on
-- export_logs (expires_at) where status = 'completed' (created only while measured). The due
-- rows are taken in expires_at order, 10,000 at a time: with that ORDER BY and LIMIT the planner
-- uses the partial index even though its estimate of due rows is far off (it judges
-- "expires_at <= now()" from every row, expired ones included). JIT is off, as its estimated
-- cost would otherwise start a compilation that costs more than the statement.
set client_min_messages = warning;
create schema if not exists bench;

create or replace function bench.mark_expired_exports_proposed() returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
declare
  expired_count integer := 0;
  batch_count integer;
begin
  loop
    with due as (
      select id from public.export_logs
       where status = 'completed' and expires_at <= now()
       order by expires_at
       limit 10000
    ), expired as (
      update public.export_logs l
         set status = 'expired', file_url = null
        from due
       where l.id = due.id
      returning l.id
    ), freed as (
      delete from exports_internal.export_chunks c
       using expired e
       where c.export_log_id = e.id
    )
    select count(*) into batch_count from expired;
    expired_count := expired_count + batch_count;
    exit when batch_count < 10000;
  end loop;
  return expired_count;
end
$$;
