-- Users reach export_logs only through RLS and two narrow grants: they may read and delete
-- their own rows and nothing else. Writes belong to the service, so INSERT, UPDATE and TRUNCATE
-- are refused even on a user's own row. Also: no table in public may ship without RLS.
begin;
\ir ../helpers.sql
select plan(33);

-- ---------------------------------------------------------------------------------------------
-- Every table in public has RLS: a new table created without it makes this file fail.
-- ---------------------------------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text
      from pg_class c
     where c.relnamespace = 'public'::regnamespace
       and c.relkind in ('r', 'p')
       and not c.relrowsecurity$$,
  'every table in schema public has row level security enabled');
select ok(
  (select relrowsecurity from pg_class where oid = 'public.export_logs'::regclass),
  'export_logs has row level security enabled (the enumeration above is not vacuous)');

-- ---------------------------------------------------------------------------------------------
-- Policies: one per operation, to authenticated only, auth.uid() evaluated once per statement.
-- ---------------------------------------------------------------------------------------------
select policies_are('public', 'export_logs',
  array['export_logs_select_own', 'export_logs_delete_own'],
  'export_logs has exactly the select-own and delete-own policies');
select policy_roles_are('public', 'export_logs', 'export_logs_select_own', array['authenticated'],
  'export_logs_select_own applies to authenticated only');
select policy_cmd_is('public', 'export_logs', 'export_logs_select_own', 'select',
  'export_logs_select_own is a SELECT policy');
select policy_roles_are('public', 'export_logs', 'export_logs_delete_own', array['authenticated'],
  'export_logs_delete_own applies to authenticated only');
select policy_cmd_is('public', 'export_logs', 'export_logs_delete_own', 'delete',
  'export_logs_delete_own is a DELETE policy');
select is(
  (select qual from pg_policies
    where schemaname = 'public' and tablename = 'export_logs'
      and policyname = 'export_logs_select_own'),
  '(( SELECT auth.uid() AS uid) = user_id)',
  'export_logs_select_own matches (select auth.uid()) = user_id, evaluated once per statement');
select is(
  (select qual from pg_policies
    where schemaname = 'public' and tablename = 'export_logs'
      and policyname = 'export_logs_delete_own'),
  '(( SELECT auth.uid() AS uid) = user_id)',
  'export_logs_delete_own matches (select auth.uid()) = user_id, evaluated once per statement');

-- ---------------------------------------------------------------------------------------------
-- Privileges: the platform grants everything by default; the migration must take it back.
-- ---------------------------------------------------------------------------------------------
select table_privs_are('public', 'export_logs', 'authenticated', array['SELECT', 'DELETE'],
  'authenticated holds exactly SELECT and DELETE on export_logs');
select table_privs_are('public', 'export_logs', 'anon', array[]::text[],
  'anon holds no privilege on export_logs');
select is_empty(
  $$select r.role, p.priv
      from (values ('anon'), ('authenticated')) r(role),
           (values ('INSERT'), ('UPDATE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
     where has_table_privilege(r.role, 'public.export_logs', p.priv)
        or (p.priv in ('INSERT', 'UPDATE', 'REFERENCES')
            and has_any_column_privilege(r.role, 'public.export_logs', p.priv))$$,
  'neither anon nor authenticated may INSERT, UPDATE, TRUNCATE, REFERENCES or TRIGGER, '
    || 'not even on a single column');
select ok(has_table_privilege('authenticated', 'public.export_logs', 'SELECT'),
  'authenticated may SELECT export_logs (RLS narrows it to their own rows)');
select ok(has_table_privilege('authenticated', 'public.export_logs', 'DELETE'),
  'authenticated may DELETE from export_logs (RLS narrows it to their own rows)');

-- ---------------------------------------------------------------------------------------------
-- Behaviour. Rows are written by the owner; ids are kept in a temp table readable by the roles.
-- ---------------------------------------------------------------------------------------------
create temp table ids on commit drop as
select tests.create_user('a@example.com') as a, tests.create_user('b@example.com') as b;
grant select on ids to authenticated, anon;

insert into public.export_logs (id, user_id, format, config, conversation_count, status)
select '00000000-0000-0000-0000-00000000a001'::uuid, a, 'json', '{}'::jsonb, 1, 'queued' from ids
union all
select '00000000-0000-0000-0000-00000000a002'::uuid, a, 'csv', '{}'::jsonb, 2, 'completed' from ids
union all
select '00000000-0000-0000-0000-00000000b001'::uuid, b, 'jsonl', '{}'::jsonb, 3, 'queued' from ids;

-- as user A
select tests.authenticate_as((select a from ids));

select results_eq(
  'select id from public.export_logs order by id',
  array['00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000a002']::uuid[],
  'user A sees exactly their own two exports');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select a, 'json', '{}'::jsonb, 1 from ids$$,
  '42501', 'permission denied for table export_logs',
  'user A cannot insert an export, even one owned by themselves');
select throws_ok(
  $$update public.export_logs set status = 'processing'
     where id = '00000000-0000-0000-0000-00000000a001'$$,
  '42501', 'permission denied for table export_logs',
  'user A cannot update their own export (no forged status or result)');
select throws_ok(
  'truncate public.export_logs',
  '42501', 'permission denied for table export_logs',
  'user A cannot truncate export_logs (TRUNCATE ignores RLS)');
select lives_ok(
  $$delete from public.export_logs where id = '00000000-0000-0000-0000-00000000a002'$$,
  'user A can delete their own export');
select is_empty(
  $$select id from public.export_logs where id = '00000000-0000-0000-0000-00000000a002'$$,
  'user A no longer sees the export they deleted');

-- as user B
select tests.authenticate_as((select b from ids));

select results_eq(
  'select id from public.export_logs order by id',
  array['00000000-0000-0000-0000-00000000b001']::uuid[],
  'user B sees exactly their own export');
select is_empty(
  'select id from public.export_logs where user_id = (select a from ids)',
  'user B sees none of user A''s exports, even when asking for them by user_id');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select b, 'json', '{}'::jsonb, 1 from ids$$,
  '42501', 'permission denied for table export_logs',
  'user B cannot insert an export for themselves');
select throws_ok(
  $$update public.export_logs set file_size = 1
     where id = '00000000-0000-0000-0000-00000000b001'$$,
  '42501', 'permission denied for table export_logs',
  'user B cannot update their own export');
select throws_ok(
  'truncate public.export_logs',
  '42501', 'permission denied for table export_logs',
  'user B cannot truncate export_logs');
select lives_ok(
  $$delete from public.export_logs where id = '00000000-0000-0000-0000-00000000a001'$$,
  'user B deleting user A''s export raises no error (RLS filters it silently)');

-- as anon
select tests.authenticate_as_anon();

select throws_ok(
  'select id from public.export_logs',
  '42501', 'permission denied for table export_logs',
  'anon sees nothing: it may not even read export_logs');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select a, 'json', '{}'::jsonb, 1 from ids$$,
  '42501', 'permission denied for table export_logs',
  'anon cannot insert an export');
select throws_ok(
  $$update public.export_logs set status = 'failed'$$,
  '42501', 'permission denied for table export_logs',
  'anon cannot update exports');
select throws_ok(
  'delete from public.export_logs',
  '42501', 'permission denied for table export_logs',
  'anon cannot delete exports');
select throws_ok(
  'truncate public.export_logs',
  '42501', 'permission denied for table export_logs',
  'anon cannot truncate export_logs');

-- as the owner: what really happened
select tests.clear_authentication();

select ok(
  exists (select from public.export_logs where id = '00000000-0000-0000-0000-00000000a001'),
  'user A''s export is still there after user B tried to delete it');
select results_eq(
  'select id from public.export_logs where user_id in ((select a from ids), (select b from ids)) order by id',
  array['00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000b001']::uuid[],
  'only the export user A deleted is gone; nothing else was written or removed');

select * from finish();
rollback;
