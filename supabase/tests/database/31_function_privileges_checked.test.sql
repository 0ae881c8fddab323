-- No client reaches the internal schema: anon and authenticated cannot use exports_internal, so
-- every relation in it (queue, membership, file chunks, settings) is refused to them, found by
-- enumeration. And who may execute what is written down here, function by function: the test
-- enumerates every function and procedure in public and exports_internal (trigger functions
-- included) and compares each one's EXECUTE for anon, authenticated and service_role with the
-- list below. A function added without being listed, or with other privileges than listed
-- (a missing revoke, say), fails this file; add it to the list with the privileges it needs.
begin;
\ir ../helpers.sql
select plan(30);

-- ---------------------------------------------------------------------------------------------
-- The expected list. kind: function, procedure, or trigger (a function returning trigger).
-- Signatures are schema-qualified, so they resolve whatever the search_path.
-- ---------------------------------------------------------------------------------------------
create temp table expected_execute (
  signature text primary key,
  kind text not null,
  anon boolean not null,
  authenticated boolean not null,
  service_role boolean not null
) on commit drop;

insert into expected_execute (signature, kind, anon, authenticated, service_role) values
  -- the pg_cron expiry job's one entry point; service_role may run it too
  ('public.mark_expired_exports()', 'function', false, false, true),
  -- trigger functions: fired by their triggers, never called (firing checks no EXECUTE)
  ('exports_internal.set_updated_at()', 'trigger', false, false, false),
  ('exports_internal.enforce_export_lifecycle()', 'trigger', false, false, false),
  ('exports_internal.recount_conversation_turns()', 'trigger', false, false, false),
  ('exports_internal.touch_conversations_of_turns()', 'trigger', false, false, false),
  ('exports_internal.check_conversation_parent_owner()', 'trigger', false, false, false),
  -- cron jobs and the worker's steps: run as the owner only
  ('exports_internal.purge_cron_history()', 'function', false, false, false),
  ('exports_internal.purge_export_history()', 'function', false, false, false),
  ('exports_internal.failure_message(integer)', 'function', false, false, false),
  ('exports_internal.fail_export(uuid, integer)', 'function', false, false, false),
  ('exports_internal.claim_next_export(text, uuid, boolean)', 'function', false, false, false),
  ('exports_internal.seal_file(uuid)', 'function', false, false, false),
  ('exports_internal.complete_export(uuid, bigint)', 'function', false, false, false),
  ('exports_internal.generate_next_batch(uuid, uuid)', 'function', false, false, false),
  ('exports_internal.release_export(uuid, uuid)', 'function', false, false, false),
  ('exports_internal.process_exports(interval)', 'procedure', false, false, false),
  -- the upload to the object store and the deletion outbox: the worker's steps, owner only
  ('exports_internal.lock_upload(uuid, uuid)', 'function', false, false, false),
  ('exports_internal.upload_state(uuid, uuid)', 'function', false, false, false),
  ('exports_internal.begin_upload(uuid, uuid, text, text, integer)', 'function', false, false, false),
  ('exports_internal.record_upload_part(uuid, uuid, integer, text)', 'function', false, false, false),
  ('exports_internal.complete_upload(uuid, uuid, text)', 'function', false, false, false),
  ('exports_internal.upload_failed(uuid, uuid, text)', 'function', false, false, false),
  ('exports_internal.queue_object_deletion()', 'trigger', false, false, false),
  ('exports_internal.claim_object_deletions(integer)', 'function', false, false, false),
  ('exports_internal.object_deleted(bigint)', 'function', false, false, false),
  ('exports_internal.object_deletion_failed(bigint, text)', 'function', false, false, false),
  -- rendering: granted to service_role by its migration, as it may read the queue tables
  ('exports_internal.load_render_options(uuid)', 'function', false, false, true),
  ('exports_internal.iso_utc(timestamptz)', 'function', false, false, true),
  ('exports_internal.json_compact(jsonb)', 'function', false, false, true),
  ('exports_internal.metadata_json(public.conversations, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.single_line(text)', 'function', false, false, true),
  ('exports_internal.blockquote(text)', 'function', false, false, true),
  ('exports_internal.metadata_markdown(public.conversations, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.csv_field(text, boolean)', 'function', false, false, true),
  ('exports_internal.export_turns(uuid, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_header(uuid, integer, timestamptz)', 'function', false, false, true),
  ('exports_internal.batch_members(uuid, integer, integer)', 'function', false, false, true),
  ('exports_internal.render_batch_json(uuid, integer, integer, integer, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_batch_jsonl_chat(uuid, integer, integer, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_batch_jsonl_alpaca(uuid, integer, integer, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_batch_csv(uuid, integer, integer, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_batch_markdown(uuid, integer, integer, integer, exports_internal.render_options)', 'function', false, false, true),
  ('exports_internal.render_batch(uuid, integer, integer, integer)', 'function', false, false, true),
  ('exports_internal.render_footer(uuid, jsonb)', 'function', false, false, true),
  ('exports_internal.batch_summary(uuid, integer, integer)', 'function', false, false, true),
  ('exports_internal.add_summaries(jsonb, jsonb)', 'function', false, false, true),
  -- what the UI asks before an export: read by the service (as the owner), never by clients
  ('exports_internal.user_usage(uuid)', 'function', false, false, true),
  ('exports_internal.preview_sample(uuid, jsonb, uuid[], integer, integer)', 'function', false, false, true);

-- What the catalog says, for the same two schemas.
create temp view actual_execute as
select p.oid,
       format('%s.%s(%s)', p.pronamespace::regnamespace, p.proname,
              pg_get_function_identity_arguments(p.oid)) as signature,
       case when p.prokind = 'p' then 'procedure'
            when p.prorettype = 'trigger'::regtype then 'trigger'
            else 'function' end as kind,
       p.prosecdef,
       has_function_privilege('anon', p.oid, 'EXECUTE') as anon,
       has_function_privilege('authenticated', p.oid, 'EXECUTE') as authenticated,
       has_function_privilege('service_role', p.oid, 'EXECUTE') as service_role
  from pg_proc p
 where p.pronamespace in ('public'::regnamespace, 'exports_internal'::regnamespace)
   and p.prokind in ('f', 'p');

-- ------------------------------------------------------------------ as the owner: the catalog
select is_empty(
  $$select a.signature from actual_execute a
     where a.oid not in (select to_regprocedure(e.signature) from expected_execute e
                          where to_regprocedure(e.signature) is not null)$$,
  'every function and procedure in public and exports_internal is in the expected list');
select is_empty(
  $$select e.signature from expected_execute e where to_regprocedure(e.signature) is null$$,
  'every function in the expected list exists (a removed or re-typed one must leave the list)');
select is(
  (select count(*)::integer from actual_execute a
     join expected_execute e on to_regprocedure(e.signature) = a.oid),
  (select count(*)::integer from expected_execute),
  'the list and the catalog pair up one to one');
select is_empty(
  $$select e.signature, e.kind as expected, a.kind as actual
      from expected_execute e join actual_execute a on a.oid = to_regprocedure(e.signature)
     where a.kind <> e.kind$$,
  'each listed function is of the kind listed (function, procedure or trigger)');
select is_empty(
  $$select e.signature, r.role, r.expected, r.actual
      from expected_execute e
      join actual_execute a on a.oid = to_regprocedure(e.signature)
      cross join lateral (values ('anon', e.anon, a.anon),
                                 ('authenticated', e.authenticated, a.authenticated),
                                 ('service_role', e.service_role, a.service_role)) r(role, expected, actual)
     where r.expected <> r.actual$$,
  'each function is executable by exactly the roles listed, among anon, authenticated and service_role');

select is_empty(
  $$select a.signature from actual_execute a
     where a.oid in (select p.oid from pg_proc p where p.proacl is null)
        or exists (select from pg_proc p, aclexplode(p.proacl) acl
                    where p.oid = a.oid and acl.grantee = 0 and acl.privilege_type = 'EXECUTE')$$,
  'no function grants EXECUTE to PUBLIC (explicitly or by a default ACL), so no role created later inherits one');
select is_empty(
  $$select a.signature from actual_execute a where a.anon or a.authenticated$$,
  'anon and authenticated may execute no function or procedure in public or exports_internal');
select is_empty(
  $$select a.signature from actual_execute a where a.prosecdef and (a.anon or a.authenticated)$$,
  'in particular, no security definer function is executable by anon or authenticated');
select is_empty(
  $$select a.signature from actual_execute a
     where a.kind = 'trigger' and (a.anon or a.authenticated or a.service_role)$$,
  'no trigger function is executable by anon, authenticated or service_role');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'service_role', array['EXECUTE'],
  'service_role may execute public.mark_expired_exports()');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'authenticated', array[]::text[],
  'authenticated may not execute public.mark_expired_exports()');
select function_privs_are('public', 'mark_expired_exports', array[]::name[], 'anon', array[]::text[],
  'anon may not execute public.mark_expired_exports()');

select schema_privs_are('exports_internal', 'anon', array[]::text[],
  'anon holds no privilege on schema exports_internal: no USAGE, no CREATE');
select schema_privs_are('exports_internal', 'authenticated', array[]::text[],
  'authenticated holds no privilege on schema exports_internal: no USAGE, no CREATE');
select ok(not has_schema_privilege('public', 'exports_internal', 'USAGE'),
  'PUBLIC holds no USAGE on exports_internal, so no role created later inherits one');

-- Tries every kind of access to every relation in exports_internal as the current role and
-- reports the outcome of each: the refusal's SQLSTATE and message, or 'allowed'.
create function pg_temp.try_internal_relations()
returns table (relation text, operation text, outcome text)
language plpgsql
as $$
declare
  rel record;
  op text;
begin
  for rel in
    select c.oid::regclass::text as name,
           (select quote_ident(a.attname) from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attnum = 1) as first_column
      from pg_catalog.pg_class c
     where c.relnamespace = 'exports_internal'::regnamespace
       and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
     order by 1
  loop
    foreach op in array array['select', 'insert', 'update', 'delete', 'truncate'] loop
      relation := rel.name;
      operation := op;
      begin
        execute case op
          when 'select' then format('select 1 from %s limit 1', rel.name)
          when 'insert' then format('insert into %s default values', rel.name)
          when 'update' then format('update %s set %s = %2$s where false', rel.name, rel.first_column)
          when 'delete' then format('delete from %s', rel.name)
          when 'truncate' then format('truncate %s cascade', rel.name)
        end;
        outcome := 'allowed';
      exception when others then
        outcome := sqlstate || ' ' || sqlerrm;
      end;
      return next;
    end loop;
  end loop;
end
$$;

-- -------------------------------------------------------------------------------- as user A
select tests.authenticate_as(tests.create_user('a@example.com'));

select cmp_ok(
  (select count(distinct relation)::integer from pg_temp.try_internal_relations()), '>=', 7,
  'as user A, the enumeration reaches every table of exports_internal (at least the 7 the migrations create)');
select is_empty(
  $$select * from pg_temp.try_internal_relations()
     where outcome <> '42501 permission denied for schema exports_internal'$$,
  'as user A, select, insert, update, delete and truncate on every relation in exports_internal are refused at the schema');
select throws_ok(
  $$select * from exports_internal.claim_next_export('user-a')$$,
  '42501', 'permission denied for schema exports_internal',
  'user A cannot claim an export for themselves');
select throws_ok(
  $$call exports_internal.process_exports()$$,
  '42501', 'permission denied for schema exports_internal',
  'user A cannot run the pg_cron driver');
select throws_ok(
  $$select exports_internal.render_footer('00000000-0000-0000-0000-000000000000', null)$$,
  '42501', 'permission denied for schema exports_internal',
  'user A cannot call a render function');
select throws_ok(
  $$select exports_internal.purge_export_history()$$,
  '42501', 'permission denied for schema exports_internal',
  'user A cannot call a security definer function of the internal schema');
select throws_ok(
  $$select public.mark_expired_exports()$$,
  '42501', 'permission denied for function mark_expired_exports',
  'user A cannot run the expiry, a security definer function in public');

-- ---------------------------------------------------------------------------------- as anon
select tests.authenticate_as_anon();

select cmp_ok(
  (select count(distinct relation)::integer from pg_temp.try_internal_relations()), '>=', 7,
  'as anon, the enumeration reaches every table of exports_internal too');
select is_empty(
  $$select * from pg_temp.try_internal_relations()
     where outcome <> '42501 permission denied for schema exports_internal'$$,
  'as anon, every access to every relation in exports_internal is refused at the schema');
select throws_ok(
  $$select * from exports_internal.claim_next_export('anon')$$,
  '42501', 'permission denied for schema exports_internal',
  'anon cannot claim an export');
select throws_ok(
  $$call exports_internal.process_exports()$$,
  '42501', 'permission denied for schema exports_internal',
  'anon cannot run the pg_cron driver');
select throws_ok(
  $$select exports_internal.purge_cron_history()$$,
  '42501', 'permission denied for schema exports_internal',
  'anon cannot call a security definer function of the internal schema');
select throws_ok(
  $$select public.mark_expired_exports()$$,
  '42501', 'permission denied for function mark_expired_exports',
  'anon cannot run the expiry');

-- ------------------------------------------------------------------------- as service_role
-- What the list grants service_role it can really use (it has USAGE on the schema).
select tests.clear_authentication();
set local role service_role;

select lives_ok($$select public.mark_expired_exports()$$,
  'service_role can run the expiry, as the list says');
select throws_ok(
  $$select * from exports_internal.claim_next_export('service')$$,
  '42501', 'permission denied for function claim_next_export',
  'service_role cannot claim exports: the worker''s steps run as the owner');

reset role;

select * from finish();
rollback;
