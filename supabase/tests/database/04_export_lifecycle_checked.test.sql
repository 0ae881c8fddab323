-- The lifecycle trigger lets a status move only along queued -> processing -> completed | failed,
-- processing -> queued, failed -> queued and completed -> expired. Any other move is a writer's
-- bug and is refused with SQLSTATE EX409 naming both states; an update that keeps the status is
-- not a transition at all.
begin;
\ir ../helpers.sql
select plan(22);

select has_trigger('public', 'export_logs', 'export_logs_enforce_lifecycle',
  'export_logs has the export_logs_enforce_lifecycle trigger');

create temp table ids on commit drop as select tests.create_user('a@example.com') as a;

-- One row per case, inserted by the owner straight into its starting state.
insert into public.export_logs (id, user_id, format, config, conversation_count, status)
select v.id::uuid, ids.a, 'json', '{}'::jsonb, 1, v.status
  from ids, (values
    -- allowed
    ('00000000-0000-0000-0000-000000000101', 'queued'),
    ('00000000-0000-0000-0000-000000000102', 'processing'),
    ('00000000-0000-0000-0000-000000000103', 'processing'),
    ('00000000-0000-0000-0000-000000000104', 'processing'),
    ('00000000-0000-0000-0000-000000000105', 'failed'),
    ('00000000-0000-0000-0000-000000000106', 'completed'),
    -- forbidden
    ('00000000-0000-0000-0000-000000000201', 'queued'),
    ('00000000-0000-0000-0000-000000000202', 'queued'),
    ('00000000-0000-0000-0000-000000000203', 'queued'),
    ('00000000-0000-0000-0000-000000000204', 'completed'),
    ('00000000-0000-0000-0000-000000000205', 'completed'),
    ('00000000-0000-0000-0000-000000000206', 'expired'),
    ('00000000-0000-0000-0000-000000000207', 'failed'),
    ('00000000-0000-0000-0000-000000000208', 'expired'),
    ('00000000-0000-0000-0000-000000000209', 'queued'),
    -- not a transition
    ('00000000-0000-0000-0000-000000000301', 'completed'),
    ('00000000-0000-0000-0000-000000000302', 'completed')
  ) v(id, status);

-- ---------------------------------------------------------------------------------------------
-- Every allowed transition succeeds.
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  $$update public.export_logs set status = 'processing' where id = '00000000-0000-0000-0000-000000000101'$$,
  'queued -> processing is allowed (a worker claims the job)');
select lives_ok(
  $$update public.export_logs set status = 'completed' where id = '00000000-0000-0000-0000-000000000102'$$,
  'processing -> completed is allowed (the file is finished)');
select lives_ok(
  $$update public.export_logs set status = 'failed' where id = '00000000-0000-0000-0000-000000000103'$$,
  'processing -> failed is allowed (the job gave up)');
select lives_ok(
  $$update public.export_logs set status = 'queued' where id = '00000000-0000-0000-0000-000000000104'$$,
  'processing -> queued is allowed (a released or recovered job)');
select lives_ok(
  $$update public.export_logs set status = 'queued' where id = '00000000-0000-0000-0000-000000000105'$$,
  'failed -> queued is allowed (a retry)');
select lives_ok(
  $$update public.export_logs set status = 'expired' where id = '00000000-0000-0000-0000-000000000106'$$,
  'completed -> expired is allowed (the file is past its expiry)');

select results_eq(
  $$select status from public.export_logs
     where id between '00000000-0000-0000-0000-000000000101' and '00000000-0000-0000-0000-000000000106'
     order by id$$,
  array['processing', 'completed', 'failed', 'queued', 'queued', 'expired'],
  'each allowed transition really changed the row''s status');

-- ---------------------------------------------------------------------------------------------
-- Forbidden transitions are refused with EX409, naming the state left and the state wanted.
-- ---------------------------------------------------------------------------------------------
select throws_ok(
  $$update public.export_logs set status = 'completed' where id = '00000000-0000-0000-0000-000000000201'$$,
  'EX409', 'illegal export status transition from "queued" to "completed"',
  'queued -> completed is refused (no file without processing)');
select throws_ok(
  $$update public.export_logs set status = 'failed' where id = '00000000-0000-0000-0000-000000000202'$$,
  'EX409', 'illegal export status transition from "queued" to "failed"',
  'queued -> failed is refused');
select throws_ok(
  $$update public.export_logs set status = 'expired' where id = '00000000-0000-0000-0000-000000000203'$$,
  'EX409', 'illegal export status transition from "queued" to "expired"',
  'queued -> expired is refused');
select throws_ok(
  $$update public.export_logs set status = 'queued' where id = '00000000-0000-0000-0000-000000000204'$$,
  'EX409', 'illegal export status transition from "completed" to "queued"',
  'completed -> queued is refused (a finished export is not redone)');
select throws_ok(
  $$update public.export_logs set status = 'processing' where id = '00000000-0000-0000-0000-000000000205'$$,
  'EX409', 'illegal export status transition from "completed" to "processing"',
  'completed -> processing is refused');
select throws_ok(
  $$update public.export_logs set status = 'completed' where id = '00000000-0000-0000-0000-000000000206'$$,
  'EX409', 'illegal export status transition from "expired" to "completed"',
  'expired -> completed is refused (an expired file never comes back)');
select throws_ok(
  $$update public.export_logs set status = 'completed' where id = '00000000-0000-0000-0000-000000000207'$$,
  'EX409', 'illegal export status transition from "failed" to "completed"',
  'failed -> completed is refused (a retry must go through queued)');
select throws_ok(
  $$update public.export_logs set status = 'queued' where id = '00000000-0000-0000-0000-000000000208'$$,
  'EX409', 'illegal export status transition from "expired" to "queued"',
  'expired -> queued is refused');

-- The rule binds the service too, not only the test's owner role.
set local role service_role;
select throws_ok(
  $$update public.export_logs set status = 'completed' where id = '00000000-0000-0000-0000-000000000209'$$,
  'EX409', 'illegal export status transition from "queued" to "completed"',
  'acting as service_role, queued -> completed is refused as well');
reset role;

select results_eq(
  $$select status from public.export_logs
     where id between '00000000-0000-0000-0000-000000000201' and '00000000-0000-0000-0000-000000000209'
     order by id$$,
  array['queued', 'queued', 'queued', 'completed', 'completed', 'expired', 'failed', 'expired',
        'queued'],
  'every refused transition left its row in the state it started in');

-- ---------------------------------------------------------------------------------------------
-- Keeping the status is not a transition.
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  $$update public.export_logs set error_message = 'note'
     where id = '00000000-0000-0000-0000-000000000301'$$,
  'changing error_message on a completed export succeeds');
select is(
  (select error_message from public.export_logs where id = '00000000-0000-0000-0000-000000000301'),
  'note',
  'the error_message change on the completed export was stored');
select lives_ok(
  $$update public.export_logs set status = 'completed', file_size = 10
     where id = '00000000-0000-0000-0000-000000000302'$$,
  'setting status to the value it already has (completed -> completed) succeeds');
select results_eq(
  $$select status, file_size from public.export_logs
     where id = '00000000-0000-0000-0000-000000000302'$$,
  $$values ('completed'::text, 10::bigint)$$,
  'the completed export kept its status and took the new file_size');

select * from finish();
rollback;
