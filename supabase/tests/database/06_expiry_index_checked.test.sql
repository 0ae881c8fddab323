-- Expiry stays an index probe however large export_logs grows: a partial index holds only the
-- completed exports, and mark_expired_exports() reads due rows through it in expires_at order.
begin;
\ir ../helpers.sql
select plan(4);

select has_index('public', 'export_logs', 'idx_export_logs_completed_expires_at', array['expires_at'],
  'a partial index on expires_at serves the expiry search');
select is(
  (select pg_get_expr(indpred, indrelid) from pg_index
    where indexrelid = 'public.idx_export_logs_completed_expires_at'::regclass),
  '(status = ''completed''::text)',
  'the expiry index holds only completed exports');
select ok(
  (select 'jit=off' = any(proconfig) from pg_proc where oid = 'public.mark_expired_exports()'::regprocedure),
  'mark_expired_exports() runs without JIT, whose compilation would cost more than the statement');

-- The plan of the due-row search, as mark_expired_exports() runs it.
create function tests.due_rows_plan() returns text
language plpgsql
as $$
declare
  line text;
  plan text := '';
begin
  for line in execute $q$
    explain select id from public.export_logs
     where status = 'completed' and expires_at <= now()
     order by expires_at limit 1000
  $q$ loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end
$$;

-- With many expired rows (their past expires_at kept) and nothing due, the search for due rows
-- is answered from the partial index, not by walking every expired row.
insert into public.export_logs (user_id, format, config, conversation_count, status, expires_at)
select tests.create_user('expiry' || g || '@example.com'), 'json', '{}', 1, 'queued', null
  from generate_series(1, 2000) g;
update public.export_logs set status = 'processing' where status = 'queued';
update public.export_logs set status = 'completed', expires_at = now() - make_interval(days => 1)
 where status = 'processing';
update public.export_logs set status = 'expired' where status = 'completed';
analyze public.export_logs;
select matches(tests.due_rows_plan(), 'idx_export_logs_completed_expires_at',
  'the search for due rows uses the partial index');

select * from finish();
rollback;
