-- The export_logs table is the API's ExportLog object (spec/api.md): its 14 columns, their
-- types, nullability and defaults, the indexes the list and limit queries rely on, the cascade
-- from auth.users, the check constraints and the updated_at trigger.
begin;
\ir ../helpers.sql
select plan(87);

-- ---------------------------------------------------------------------------------------------
-- Columns: exactly the 14 fields of the ExportLog object, none renamed, none extra.
-- ---------------------------------------------------------------------------------------------
select columns_are('public', 'export_logs', array[
  'id', 'export_id', 'user_id', 'timestamp', 'format', 'config', 'conversation_count',
  'file_size', 'status', 'file_url', 'expires_at', 'error_message', 'created_at', 'updated_at'
], 'export_logs has exactly the 14 ExportLog columns and no others');

select has_column('public', 'export_logs', 'id', 'export_logs has an id column');
select col_type_is('public', 'export_logs', 'id', 'uuid', 'export_logs.id is a uuid');
select col_not_null('public', 'export_logs', 'id', 'export_logs.id is not null');
select col_default_is('public', 'export_logs', 'id', 'gen_random_uuid()',
  'export_logs.id defaults to gen_random_uuid()');

select has_column('public', 'export_logs', 'export_id', 'export_logs has an export_id column');
select col_type_is('public', 'export_logs', 'export_id', 'uuid', 'export_logs.export_id is a uuid');
select col_not_null('public', 'export_logs', 'export_id', 'export_logs.export_id is not null');
select col_default_is('public', 'export_logs', 'export_id', 'gen_random_uuid()',
  'export_logs.export_id defaults to gen_random_uuid()');

select has_column('public', 'export_logs', 'user_id', 'export_logs has a user_id column');
select col_type_is('public', 'export_logs', 'user_id', 'uuid', 'export_logs.user_id is a uuid');
select col_not_null('public', 'export_logs', 'user_id', 'export_logs.user_id is not null');
select col_hasnt_default('public', 'export_logs', 'user_id',
  'export_logs.user_id has no default: the writer must name the owner');

select has_column('public', 'export_logs', 'timestamp', 'export_logs has a timestamp column');
select col_type_is('public', 'export_logs', 'timestamp', 'timestamp with time zone',
  'export_logs.timestamp is a timestamptz');
select col_not_null('public', 'export_logs', 'timestamp', 'export_logs.timestamp is not null');
select col_default_is('public', 'export_logs', 'timestamp', 'now()',
  'export_logs.timestamp defaults to now()');

select has_column('public', 'export_logs', 'format', 'export_logs has a format column');
select col_type_is('public', 'export_logs', 'format', 'text', 'export_logs.format is text');
select col_not_null('public', 'export_logs', 'format', 'export_logs.format is not null');
select col_hasnt_default('public', 'export_logs', 'format',
  'export_logs.format has no default: the request must choose one');

select has_column('public', 'export_logs', 'config', 'export_logs has a config column');
select col_type_is('public', 'export_logs', 'config', 'jsonb', 'export_logs.config is jsonb');
select col_not_null('public', 'export_logs', 'config', 'export_logs.config is not null');
select col_hasnt_default('public', 'export_logs', 'config',
  'export_logs.config has no default: the writer stores the normalized config');

select has_column('public', 'export_logs', 'conversation_count',
  'export_logs has a conversation_count column');
select col_type_is('public', 'export_logs', 'conversation_count', 'integer',
  'export_logs.conversation_count is an integer');
select col_not_null('public', 'export_logs', 'conversation_count',
  'export_logs.conversation_count is not null');
select col_hasnt_default('public', 'export_logs', 'conversation_count',
  'export_logs.conversation_count has no default: membership is resolved at request time');

select has_column('public', 'export_logs', 'file_size', 'export_logs has a file_size column');
select col_type_is('public', 'export_logs', 'file_size', 'bigint', 'export_logs.file_size is a bigint');
select col_is_null('public', 'export_logs', 'file_size',
  'export_logs.file_size is nullable (null until the file is finished)');
select col_hasnt_default('public', 'export_logs', 'file_size', 'export_logs.file_size has no default');

select has_column('public', 'export_logs', 'status', 'export_logs has a status column');
select col_type_is('public', 'export_logs', 'status', 'text', 'export_logs.status is text');
select col_not_null('public', 'export_logs', 'status', 'export_logs.status is not null');
select col_default_is('public', 'export_logs', 'status', 'queued'::text,
  'export_logs.status defaults to queued');

select has_column('public', 'export_logs', 'file_url', 'export_logs has a file_url column');
select col_type_is('public', 'export_logs', 'file_url', 'text', 'export_logs.file_url is text');
select col_is_null('public', 'export_logs', 'file_url', 'export_logs.file_url is nullable');
select col_hasnt_default('public', 'export_logs', 'file_url', 'export_logs.file_url has no default');

select has_column('public', 'export_logs', 'expires_at', 'export_logs has an expires_at column');
select col_type_is('public', 'export_logs', 'expires_at', 'timestamp with time zone',
  'export_logs.expires_at is a timestamptz');
select col_is_null('public', 'export_logs', 'expires_at', 'export_logs.expires_at is nullable');
select col_hasnt_default('public', 'export_logs', 'expires_at',
  'export_logs.expires_at has no default');

select has_column('public', 'export_logs', 'error_message',
  'export_logs has an error_message column');
select col_type_is('public', 'export_logs', 'error_message', 'text',
  'export_logs.error_message is text');
select col_is_null('public', 'export_logs', 'error_message',
  'export_logs.error_message is nullable');
select col_hasnt_default('public', 'export_logs', 'error_message',
  'export_logs.error_message has no default');

select has_column('public', 'export_logs', 'created_at', 'export_logs has a created_at column');
select col_type_is('public', 'export_logs', 'created_at', 'timestamp with time zone',
  'export_logs.created_at is a timestamptz');
select col_not_null('public', 'export_logs', 'created_at', 'export_logs.created_at is not null');
select col_default_is('public', 'export_logs', 'created_at', 'now()',
  'export_logs.created_at defaults to now()');

select has_column('public', 'export_logs', 'updated_at', 'export_logs has an updated_at column');
select col_type_is('public', 'export_logs', 'updated_at', 'timestamp with time zone',
  'export_logs.updated_at is a timestamptz');
select col_not_null('public', 'export_logs', 'updated_at', 'export_logs.updated_at is not null');
select col_default_is('public', 'export_logs', 'updated_at', 'now()',
  'export_logs.updated_at defaults to now()');

-- ---------------------------------------------------------------------------------------------
-- Indexes: one per filter, the unique public id, and the composite ones the list and the
-- active-export limit use.
-- ---------------------------------------------------------------------------------------------
select has_pk('public', 'export_logs', 'export_logs has a primary key');
select col_is_pk('public', 'export_logs', 'id', 'the primary key of export_logs is id');

select has_index('public', 'export_logs', 'idx_export_logs_export_id', array['export_id'],
  'idx_export_logs_export_id indexes export_id');
select index_is_unique('public', 'export_logs', 'idx_export_logs_export_id',
  'idx_export_logs_export_id is unique, so export_id identifies one export');
select has_index('public', 'export_logs', 'idx_export_logs_user_id', array['user_id'],
  'idx_export_logs_user_id indexes user_id (read by every policy)');
select has_index('public', 'export_logs', 'idx_export_logs_timestamp', array['"timestamp"'],
  'idx_export_logs_timestamp indexes timestamp');
select has_index('public', 'export_logs', 'idx_export_logs_status', array['status'],
  'idx_export_logs_status indexes status');
select has_index('public', 'export_logs', 'idx_export_logs_format', array['format'],
  'idx_export_logs_format indexes format');
select has_index('public', 'export_logs', 'idx_export_logs_expires_at', array['expires_at'],
  'idx_export_logs_expires_at indexes expires_at');
select has_index('public', 'export_logs', 'idx_export_logs_user_timestamp',
  array['user_id', '"timestamp"', 'id'],
  'idx_export_logs_user_timestamp indexes (user_id, timestamp, id)');
select has_index('public', 'export_logs', 'idx_export_logs_user_active', array['user_id'],
  'idx_export_logs_user_active indexes user_id');

select results_eq(
  $$select indexrelid::regclass::text
      from pg_index
     where indrelid = 'public.export_logs'::regclass and indisunique
     order by 1$$,
  array['export_logs_pkey', 'idx_export_logs_export_id'],
  'the only unique indexes on export_logs are the primary key and export_id');

select is(
  (select indexdef from pg_indexes
    where schemaname = 'public' and indexname = 'idx_export_logs_timestamp'),
  'CREATE INDEX idx_export_logs_timestamp ON public.export_logs USING btree ("timestamp" DESC)',
  'idx_export_logs_timestamp is ordered by timestamp descending, newest first');
select is(
  (select indexdef from pg_indexes
    where schemaname = 'public' and indexname = 'idx_export_logs_user_timestamp'),
  'CREATE INDEX idx_export_logs_user_timestamp ON public.export_logs USING btree '
    || '(user_id, "timestamp" DESC, id DESC)',
  'idx_export_logs_user_timestamp matches the list order: user, timestamp desc, id desc');
select is(
  (select indexdef from pg_indexes
    where schemaname = 'public' and indexname = 'idx_export_logs_user_active'),
  'CREATE INDEX idx_export_logs_user_active ON public.export_logs USING btree (user_id) '
    || 'WHERE (status = ANY (ARRAY[''queued''::text, ''processing''::text]))',
  'idx_export_logs_user_active covers only queued and processing rows');

-- ---------------------------------------------------------------------------------------------
-- user_id references auth.users and cascades: deleting an account deletes its export history.
-- ---------------------------------------------------------------------------------------------
create temp table ids on commit drop as
select tests.create_user('a@example.com') as a, tests.create_user('b@example.com') as b;

select fk_ok('public', 'export_logs', 'user_id', 'auth', 'users', 'id',
  'export_logs.user_id references auth.users(id)');
select is(
  (select confdeltype::text from pg_constraint
    where conrelid = 'public.export_logs'::regclass and contype = 'f'),
  'c',
  'the foreign key from export_logs to auth.users is ON DELETE CASCADE');

insert into public.export_logs (user_id, format, config, conversation_count)
select a, 'json', '{}'::jsonb, 1 from ids
union all select a, 'csv', '{}'::jsonb, 2 from ids
union all select b, 'jsonl', '{}'::jsonb, 3 from ids;

select is((select count(*)::int from public.export_logs where user_id = (select a from ids)), 2,
  'user A starts with two exports');
delete from auth.users where id = (select a from ids);
select is((select count(*)::int from public.export_logs where user_id = (select a from ids)), 0,
  'deleting user A from auth.users deletes every one of their exports');
select is((select count(*)::int from public.export_logs where user_id = (select b from ids)), 1,
  'deleting user A leaves user B''s export in place');

-- ---------------------------------------------------------------------------------------------
-- Check constraints: the allowed values pass, anything else is refused with 23514.
-- ---------------------------------------------------------------------------------------------
select lives_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select b, f, '{}'::jsonb, 0 from ids, unnest(array['json', 'jsonl', 'csv', 'markdown']) f$$,
  'every format of the spec (json, jsonl, csv, markdown) is accepted');
select lives_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count, status)
    select b, 'json', '{}'::jsonb, 0, s
      from ids, unnest(array['queued', 'processing', 'completed', 'failed', 'expired']) s$$,
  'every status of the spec is accepted on insert by the owner');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select b, 'xml', '{}'::jsonb, 1 from ids$$,
  '23514',
  'new row for relation "export_logs" violates check constraint "export_logs_format_check"',
  'a format outside json/jsonl/csv/markdown is refused by export_logs_format_check');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count, status)
    select b, 'json', '{}'::jsonb, 1, 'done' from ids$$,
  '23514',
  'new row for relation "export_logs" violates check constraint "export_logs_status_check"',
  'a status outside the five lifecycle states is refused by export_logs_status_check');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    select b, 'json', '{}'::jsonb, -1 from ids$$,
  '23514',
  'new row for relation "export_logs" violates check constraint "export_logs_conversation_count_check"',
  'a negative conversation_count is refused');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count, file_size)
    select b, 'json', '{}'::jsonb, 1, -1 from ids$$,
  '23514',
  'new row for relation "export_logs" violates check constraint "export_logs_file_size_check"',
  'a negative file_size is refused');

-- ---------------------------------------------------------------------------------------------
-- updated_at is set by the database on every update; writers cannot forget or forge it.
-- ---------------------------------------------------------------------------------------------
select has_trigger('public', 'export_logs', 'export_logs_set_updated_at',
  'export_logs has the export_logs_set_updated_at trigger');

-- Backdated on insert: the trigger fires on update only.
insert into public.export_logs
  (id, user_id, format, config, conversation_count, created_at, updated_at)
select '00000000-0000-0000-0000-0000000000d1', b, 'json', '{}'::jsonb, 1,
       now() - interval '2 days', now() - interval '1 day'
  from ids;

update public.export_logs set error_message = 'touched'
 where id = '00000000-0000-0000-0000-0000000000d1';
select is(
  (select updated_at from public.export_logs where id = '00000000-0000-0000-0000-0000000000d1'),
  now(),
  'updating another column moves a backdated updated_at to now()');
select is(
  (select created_at from public.export_logs where id = '00000000-0000-0000-0000-0000000000d1'),
  now() - interval '2 days',
  'updating a row leaves created_at alone');

update public.export_logs set updated_at = now() - interval '1 year'
 where id = '00000000-0000-0000-0000-0000000000d1';
select is(
  (select updated_at from public.export_logs where id = '00000000-0000-0000-0000-0000000000d1'),
  now(),
  'an update that tries to set updated_at to the past still gets now()');

select * from finish();
rollback;
