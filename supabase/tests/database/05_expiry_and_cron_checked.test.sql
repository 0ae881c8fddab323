-- Expiry runs in the database: public.mark_expired_exports() moves due completed exports to
-- expired and drops their URL, is safe to run twice, and only the service (and pg_cron, as the
-- owner) may call it. pg_cron schedules it and the history purge exactly once each.
begin;
\ir ../helpers.sql
select plan(32);

create temp table ids on commit drop as
select tests.create_user('a@example.com') as a, tests.create_user('b@example.com') as b;

insert into public.export_logs
  (id, user_id, format, config, conversation_count, status, file_url, expires_at)
select v.id::uuid, case when v.owner = 'a' then ids.a else ids.b end, 'json', '{}'::jsonb, 1,
       v.status, v.file_url, v.expires_at
  from ids, (values
    -- due: completed and expires_at <= now()
    ('00000000-0000-0000-0000-0000000000e1', 'a', 'completed', 'http://x/e1', now() - interval '1 hour'),
    ('00000000-0000-0000-0000-0000000000e2', 'a', 'completed', 'http://x/e2', now()),
    ('00000000-0000-0000-0000-0000000000e3', 'b', 'completed', 'http://x/e3', now() - interval '1 day'),
    -- not due: a future expiry, or not completed, or no expiry at all, or already expired
    ('00000000-0000-0000-0000-0000000000f1', 'a', 'completed', 'http://x/f1', now() + interval '1 hour'),
    ('00000000-0000-0000-0000-0000000000f2', 'a', 'queued', null, now() - interval '1 hour'),
    ('00000000-0000-0000-0000-0000000000f3', 'a', 'processing', null, now() - interval '1 hour'),
    ('00000000-0000-0000-0000-0000000000f4', 'a', 'failed', null, now() - interval '1 hour'),
    ('00000000-0000-0000-0000-0000000000f5', 'a', 'completed', 'http://x/f5', null),
    ('00000000-0000-0000-0000-0000000000f6', 'b', 'expired', null, now() - interval '2 days')
  ) v(id, owner, status, file_url, expires_at);

-- ---------------------------------------------------------------------------------------------
-- What it does.
-- ---------------------------------------------------------------------------------------------
select is(public.mark_expired_exports(), 3,
  'mark_expired_exports() returns 3, the number of completed exports due (expires_at <= now())');
select results_eq(
  $$select id::text, status, file_url from public.export_logs
     where id::text like '%0000000000e_' order by id$$,
  $$values ('00000000-0000-0000-0000-0000000000e1', 'expired', null::text),
           ('00000000-0000-0000-0000-0000000000e2', 'expired', null::text),
           ('00000000-0000-0000-0000-0000000000e3', 'expired', null::text)$$,
  'due completed exports of every user, the one expiring exactly now included, are expired '
    || 'and their file_url cleared');
select results_eq(
  $$select id::text, status, file_url from public.export_logs
     where id::text like '%0000000000f_' order by id$$,
  $$values ('00000000-0000-0000-0000-0000000000f1', 'completed', 'http://x/f1'),
           ('00000000-0000-0000-0000-0000000000f2', 'queued', null::text),
           ('00000000-0000-0000-0000-0000000000f3', 'processing', null::text),
           ('00000000-0000-0000-0000-0000000000f4', 'failed', null::text),
           ('00000000-0000-0000-0000-0000000000f5', 'completed', 'http://x/f5'),
           ('00000000-0000-0000-0000-0000000000f6', 'expired', null::text)$$,
  'queued, processing and failed rows, completed rows not yet due and already expired rows '
    || 'are left alone');
select is(public.mark_expired_exports(), 0,
  'a second call finds nothing due and returns 0 (a missed run is simply caught up)');

-- ---------------------------------------------------------------------------------------------
-- How it is declared and who may call it.
-- ---------------------------------------------------------------------------------------------
select has_function('public', 'mark_expired_exports', array[]::name[],
  'public.mark_expired_exports() exists');
select function_returns('public', 'mark_expired_exports', array[]::name[], 'integer',
  'mark_expired_exports() returns an integer count');
select is_definer('public', 'mark_expired_exports', array[]::name[],
  'mark_expired_exports() is security definer (it must update rows no caller may update)');
select ok(
  (select proconfig @> array['search_path=""']
     from pg_proc where oid = 'public.mark_expired_exports()'::regprocedure),
  'mark_expired_exports() runs with search_path set to empty');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'anon', array[]::text[],
  'anon may not execute mark_expired_exports()');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'authenticated',
  array[]::text[], 'authenticated may not execute mark_expired_exports()');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'service_role',
  array['EXECUTE'], 'service_role may execute mark_expired_exports()');
select ok(
  not exists (select from pg_proc p, aclexplode(p.proacl) acl
               where p.oid = 'public.mark_expired_exports()'::regprocedure and acl.grantee = 0),
  'PUBLIC may not execute mark_expired_exports()');

insert into public.export_logs
  (id, user_id, format, config, conversation_count, status, file_url, expires_at)
select '00000000-0000-0000-0000-0000000000e4', a, 'csv', '{}'::jsonb, 1, 'completed',
       'http://x/e4', now() - interval '1 minute'
  from ids;

-- as user A
select tests.authenticate_as((select a from ids));
select throws_ok(
  'select public.mark_expired_exports()',
  '42501', 'permission denied for function mark_expired_exports',
  'acting as authenticated, calling mark_expired_exports() is refused');

-- as anon
select tests.authenticate_as_anon();
select throws_ok(
  'select public.mark_expired_exports()',
  '42501', 'permission denied for function mark_expired_exports',
  'acting as anon, calling mark_expired_exports() is refused');
select tests.clear_authentication();

-- as service_role
set local role service_role;
select is(public.mark_expired_exports(), 1,
  'acting as service_role, mark_expired_exports() runs and expires the one newly due export');
reset role;

-- ---------------------------------------------------------------------------------------------
-- The cron history purge: internal, definer, and it keeps the last week.
-- ---------------------------------------------------------------------------------------------
select is_definer('exports_internal', 'purge_cron_history', array[]::name[],
  'exports_internal.purge_cron_history() is security definer');
select ok(
  (select proconfig @> array['search_path=""']
     from pg_proc where oid = 'exports_internal.purge_cron_history()'::regprocedure),
  'purge_cron_history() runs with search_path set to empty');
select function_privs_are('exports_internal', 'purge_cron_history', array[]::name[], 'anon',
  array[]::text[], 'anon may not execute purge_cron_history()');
select function_privs_are('exports_internal', 'purge_cron_history', array[]::name[],
  'authenticated', array[]::text[], 'authenticated may not execute purge_cron_history()');

-- Two fake runs (negative run ids cannot clash with real ones): one 8 days old, one 1 day old.
insert into cron.job_run_details
  (jobid, runid, database, username, command, status, start_time, end_time)
select 0, r.runid, 'postgres', 'postgres', 'select 1', 'succeeded', r.t, r.t
  from (values (-101::bigint, now() - interval '8 days'),
               (-102::bigint, now() - interval '1 day')) r(runid, t);
select cmp_ok(exports_internal.purge_cron_history(), '>=', 1,
  'purge_cron_history() reports the week-old run it deleted in its count');
select results_eq(
  'select runid from cron.job_run_details where runid in (-101, -102)',
  array[-102::bigint],
  'purge_cron_history() deletes run history older than a week and keeps the rest');
select is_empty(
  'select runid from cron.job_run_details where end_time < now() - interval ''7 days''',
  'no cron run history older than a week remains after the purge');

-- ---------------------------------------------------------------------------------------------
-- The pg_cron jobs: one of each, calling one SQL function.
-- ---------------------------------------------------------------------------------------------
select results_eq(
  $$select schedule, command from cron.job where jobname = 'expire-exports'$$,
  $$values ('*/5 * * * *'::text, 'select public.mark_expired_exports()'::text)$$,
  'expire-exports runs select public.mark_expired_exports() every five minutes');
select results_eq(
  $$select schedule, command from cron.job where jobname = 'purge-cron-history'$$,
  $$values ('17 3 * * *'::text, 'select exports_internal.purge_cron_history()'::text)$$,
  'purge-cron-history runs select exports_internal.purge_cron_history() daily at 03:17');
select results_eq(
  $$select jobname::text collate "default", active from cron.job
     where jobname in ('expire-exports', 'purge-cron-history') order by jobname$$,
  $$values ('expire-exports', true), ('purge-cron-history', true)$$,
  'both cron jobs are active');
select is((select count(*)::int from cron.job where jobname = 'expire-exports'), 1,
  'there is exactly one expire-exports job');
select is((select count(*)::int from cron.job where jobname = 'purge-cron-history'), 1,
  'there is exactly one purge-cron-history job');

create temp table jobs_before on commit drop as
select jobname, jobid from cron.job
 where jobname in ('expire-exports', 'purge-cron-history') and username = current_user;

-- Scheduling again by name, as re-running the migration would.
select is(
  cron.schedule('expire-exports', '*/5 * * * *', 'select public.mark_expired_exports()'),
  (select jobid from jobs_before where jobname = 'expire-exports'),
  'scheduling expire-exports again by name returns the existing job id');
select is(
  cron.schedule('purge-cron-history', '17 3 * * *', 'select exports_internal.purge_cron_history()'),
  (select jobid from jobs_before where jobname = 'purge-cron-history'),
  'scheduling purge-cron-history again by name returns the existing job id');

select is((select count(*)::int from cron.job where jobname = 'expire-exports'), 1,
  'scheduling expire-exports again by name does not add a second job');
select is((select count(*)::int from cron.job where jobname = 'purge-cron-history'), 1,
  'scheduling purge-cron-history again by name does not add a second job');
select results_eq(
  'select jobname::text, jobid from cron.job where jobname in (''expire-exports'', ''purge-cron-history'') order by jobname',
  'select jobname::text, jobid from jobs_before order by jobname',
  're-scheduling by name updates the existing jobs in place (same job ids)');

select * from finish();
rollback;
