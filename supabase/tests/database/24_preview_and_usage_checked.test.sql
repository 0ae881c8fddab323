-- What POST /exports/preview and GET /exports/usage read. preview_sample renders the opening of
-- a file that does not exist with the functions that render files, stores nothing (its
-- transient export row and members are rolled back), keeps at most p_max_bytes cut at a record
-- boundary, and counts alpaca skips. user_usage gives the figures the per-user limits enforce.
begin;
\ir ../helpers.sql
select plan(16);

-- ------------------------------------------------------------------------------- fixtures
\ir ../render_helpers.sql

select tests.new_conversation('c0000000-0000-0000-0000-000000000001', 'One', '2026-01-01',
  array['user', 'Hi "there"', 'assistant', 'Hello — café']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000002', 'Ends with a user turn',
  '2026-01-02', array['user', 'q', 'assistant', 'r', 'user', 'again?']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000003', 'Three', '2026-01-03',
  array['user', 'q3', 'assistant', 'a3']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000004', 'Four', '2026-01-04',
  array['user', 'q4', 'assistant', 'a4']);
-- Three conversations of about 30 KB each: two fit in 64 KiB, three do not.
select tests.new_conversation(('c0000000-0000-0000-0000-00000000010' || n)::uuid, 'Big ' || n,
  '2026-02-01'::timestamptz + n * interval '1 day',
  array['user', repeat('x', 30000), 'assistant', 'ok'])
  from generate_series(1, 3) n;

create function tests.preview(p_config jsonb, p_members uuid[], p_max_bytes integer default 65536)
returns table (text text, records integer, skipped integer)
language sql
as $$
  select * from exports_internal.preview_sample(
    current_setting('tests.user_a')::uuid, p_config, p_members, 42, p_max_bytes)
$$;

create temp table counts_before on commit drop as
select (select count(*) from public.export_logs) as logs,
       (select count(*) from exports_internal.export_members) as members;

-- ------------------------------------------------------------------ the sample is the file's opening
select tests.make_export('e0000000-0000-0000-0000-000000000001', tests.render_config('jsonl'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003',
        'c0000000-0000-0000-0000-000000000004']::uuid[]);
select is(
  (select text from tests.preview(tests.render_config('jsonl'),
     array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003',
           'c0000000-0000-0000-0000-000000000004']::uuid[])),
  tests.render_file('e0000000-0000-0000-0000-000000000001', 1000),
  'jsonl: the sample of three members is the file of those three, byte for byte');
select is(
  (select (records, skipped)::text from tests.preview(tests.render_config('jsonl'),
     array['c0000000-0000-0000-0000-000000000001']::uuid[])),
  '(1,0)', 'records counts the conversations the text holds');

select tests.make_export('e0000000-0000-0000-0000-000000000002', tests.render_config('csv'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select is(
  (select text from tests.preview(tests.render_config('csv'),
     array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[])),
  tests.render_file('e0000000-0000-0000-0000-000000000002', 1000),
  'csv: header and rows as the file has them (the BOM included)');

select ok(
  (select text from tests.preview(tests.render_config('json'),
     array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[]))
  ~ '^\{"version":"1\.0","export_id":"[0-9a-f-]{36}","exported_at":"[^"]+Z","conversation_count":42,"conversations":\[\{"conversation_id":"c0000000-0000-0000-0000-000000000001".*\},\{"conversation_id":"c0000000-0000-0000-0000-000000000003".*\}$',
  'json: the document''s opening (header with the count given), then the first conversations, not closed');
select ok(
  (select text from tests.preview(tests.render_config('markdown'),
     array['c0000000-0000-0000-0000-000000000001']::uuid[]))
  ~ E'^# Training conversations export\n\n- Export ID: [0-9a-f-]{36}\n- Exported at: [^\n]+Z\n- Conversations: 42\n.*## One\n',
  'markdown: the header, then the first section');

-- ------------------------------------------------------------------ alpaca skips
select is(
  (select (records, skipped)::text from tests.preview(
     tests.render_config('jsonl', '{"template": "alpaca"}'),
     array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000002',
           'c0000000-0000-0000-0000-000000000003']::uuid[])),
  '(2,1)', 'alpaca: a conversation without a final user->assistant pair is counted as skipped');

-- ------------------------------------------------------------------ the byte bound
select is(
  (select records from tests.preview(tests.render_config('jsonl'),
     array['c0000000-0000-0000-0000-000000000101', 'c0000000-0000-0000-0000-000000000102',
           'c0000000-0000-0000-0000-000000000103']::uuid[])),
  2, 'three 30 KB conversations: two fit in 64 KiB, the third is left out whole');
select ok(
  (select octet_length(text) <= 65536 and right(text, 1) = E'\n'
     from tests.preview(tests.render_config('jsonl'),
       array['c0000000-0000-0000-0000-000000000101', 'c0000000-0000-0000-0000-000000000102',
             'c0000000-0000-0000-0000-000000000103']::uuid[])),
  'the text stays within the bound and ends at a record boundary');
select is(
  (select (text, records)::text from tests.preview(tests.render_config('jsonl'),
     array['c0000000-0000-0000-0000-000000000101']::uuid[], 100)),
  '("",0)', 'a first record larger than the bound: no record (never half of one)');
select is(
  (select (text, records, skipped)::text from tests.preview(tests.render_config('jsonl'), array[]::uuid[])),
  '("",0,0)', 'no members: only the header (empty for jsonl)');

-- ------------------------------------------------------------------ nothing is stored
select is(
  (select (count(*), (select count(*) from exports_internal.export_members))::text
     from public.export_logs),
  (select (logs + 2, members + 5)::text from counts_before),
  'previews leave no export row and no member behind (only the two fixtures'' exports exist)');

-- ------------------------------------------------------------------ usage
select tests.create_user('usage@example.com') as usage_user \gset
insert into public.export_logs (user_id, format, config, conversation_count, status)
values (:'usage_user', 'json', tests.render_config('json'), 1, 'queued'),
       (:'usage_user', 'json', tests.render_config('json'), 1, 'processing');
insert into public.export_logs (user_id, format, config, conversation_count, status, file_size,
                                expires_at)
values (:'usage_user', 'json', tests.render_config('json'), 1, 'completed', 1000, now() + interval '2 days'),
       (:'usage_user', 'json', tests.render_config('json'), 1, 'completed', 234, now() + interval '1 day'),
       (:'usage_user', 'json', tests.render_config('json'), 1, 'expired', 99999, null);
insert into exports_internal.export_requests (user_id, requested_at)
values (:'usage_user', now() - interval '23 hours'), (:'usage_user', now() - interval '1 hour'),
       (:'usage_user', now() - interval '25 hours');

select is((select active from exports_internal.user_usage(:'usage_user')), 2,
  'active counts queued and processing exports');
select is((select daily from exports_internal.user_usage(:'usage_user')), 2,
  'daily counts the requests of the last 24 hours only');
select is((select oldest_daily_request_at from exports_internal.user_usage(:'usage_user')),
  now() - interval '23 hours', 'the oldest request still in the window');
select is((select stored_bytes from exports_internal.user_usage(:'usage_user')), 1234::bigint,
  'stored bytes add up completed files only');
select is((select first_expiry_at from exports_internal.user_usage(:'usage_user')),
  now() + interval '1 day', 'the first stored file to expire');

select * from finish();
rollback;
