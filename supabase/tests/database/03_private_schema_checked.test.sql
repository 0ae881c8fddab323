-- exports_internal holds state no client may see: anon and authenticated cannot even use the
-- schema, every table in it has RLS on and no policies, nothing in it is executable by them,
-- and its one settings row carries the defaults every function reads.
begin;
\ir ../helpers.sql
select plan(27);

-- ---------------------------------------------------------------------------------------------
-- The schema is unreachable for clients.
-- ---------------------------------------------------------------------------------------------
select schema_privs_are('exports_internal', 'anon', array[]::text[],
  'anon holds no privilege (no USAGE, no CREATE) on schema exports_internal');
select schema_privs_are('exports_internal', 'authenticated', array[]::text[],
  'authenticated holds no privilege (no USAGE, no CREATE) on schema exports_internal');
select ok(
  not exists (select from pg_namespace n, aclexplode(n.nspacl) acl
               where n.nspname = 'exports_internal' and acl.grantee = 0),
  'PUBLIC holds no privilege on schema exports_internal, so no future role inherits one');
select ok(has_schema_privilege('service_role', 'exports_internal', 'USAGE'),
  'service_role may use schema exports_internal');

select tests.authenticate_as(tests.create_user('a@example.com'));
select throws_ok(
  'select * from exports_internal.settings',
  '42501', 'permission denied for schema exports_internal',
  'acting as authenticated, reading exports_internal.settings is refused at the schema');
select tests.authenticate_as_anon();
select throws_ok(
  'select * from exports_internal.settings',
  '42501', 'permission denied for schema exports_internal',
  'acting as anon, reading exports_internal.settings is refused at the schema');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------------------------
-- Every table in the schema: RLS on, no policies, no client privileges. Every function: not
-- executable by clients. Enumerated, so a table or function added later is covered too.
-- ---------------------------------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text
      from pg_class c
     where c.relnamespace = 'exports_internal'::regnamespace
       and c.relkind in ('r', 'p')
       and not c.relrowsecurity$$,
  'every table in exports_internal has row level security enabled');
select is_empty(
  $$select tablename, policyname from pg_policies where schemaname = 'exports_internal'$$,
  'no table in exports_internal has a policy, so RLS lets no client row through');
select ok(
  exists (select from pg_class
           where relnamespace = 'exports_internal'::regnamespace
             and relname = 'settings' and relkind = 'r' and relrowsecurity),
  'exports_internal.settings is among the tables enumerated above (they are not vacuous)');
select is_empty(
  $$select c.oid::regclass::text, r.role, p.priv
      from pg_class c,
           (values ('anon'), ('authenticated')) r(role),
           (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'),
                   ('REFERENCES'), ('TRIGGER')) p(priv)
     where c.relnamespace = 'exports_internal'::regnamespace
       and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
       and (has_table_privilege(r.role, c.oid, p.priv)
            or (p.priv in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                and has_any_column_privilege(r.role, c.oid, p.priv)))$$,
  'anon and authenticated hold no privilege on any relation in exports_internal');
select is_empty(
  $$select p.oid::regprocedure::text, r.role
      from pg_proc p, (values ('anon'), ('authenticated')) r(role)
     where p.pronamespace = 'exports_internal'::regnamespace
       and has_function_privilege(r.role, p.oid, 'EXECUTE')$$,
  'anon and authenticated may execute no function in exports_internal');
select ok(has_table_privilege('service_role', 'exports_internal.settings', 'SELECT'),
  'service_role may read exports_internal.settings');

-- ---------------------------------------------------------------------------------------------
-- The settings row: present, with the documented defaults, and the only one there can be.
-- ---------------------------------------------------------------------------------------------
select is((select count(*)::int from exports_internal.settings), 1,
  'exports_internal.settings holds exactly one row after the migrations');
select is((select retention from exports_internal.settings), interval '24 hours',
  'files are kept 24 hours by default');
select is((select history_retention from exports_internal.settings), interval '30 days',
  'export history is kept 30 days by default');
select is((select max_active_exports from exports_internal.settings), 5,
  'a user may have 5 active exports by default');
select is((select max_daily_exports from exports_internal.settings), 50,
  'a user may request 50 exports a day by default');
select is((select max_conversations_per_export from exports_internal.settings), 100000,
  'an export may hold 100,000 conversations by default');
select is((select max_stored_bytes from exports_internal.settings), 2147483648::bigint,
  'a user may store 2 GiB (2147483648 bytes) of files by default');
select is((select max_concurrent_downloads from exports_internal.settings), 4,
  'a user may run 4 downloads at once by default');
select is((select batch_size from exports_internal.settings), 1000,
  'the worker processes 1000 conversations per batch by default');
select is((select lease_duration from exports_internal.settings), interval '60 seconds',
  'a job lease lasts 60 seconds by default');
select is((select max_attempts from exports_internal.settings), 3,
  'a job is attempted 3 times by default');
select is((select public_base_url from exports_internal.settings), 'http://127.0.0.1:54321',
  'the public base URL defaults to the local stack, http://127.0.0.1:54321');
select is((select processing_paused from exports_internal.settings), false,
  'processing is not paused by default');

select throws_ok(
  'insert into exports_internal.settings default values',
  '23505', 'duplicate key value violates unique constraint "settings_pkey"',
  'a second settings row is refused');
select throws_ok(
  'insert into exports_internal.settings (singleton) values (false)',
  '23514', 'new row for relation "settings" violates check constraint "settings_singleton_check"',
  'a second settings row cannot sneak in with singleton = false');

select * from finish();
rollback;
