-- The json file: render_header || render_batch bodies (in order) || render_footer is one valid
-- document, compact, in the spec's key order, with every string escaped, whatever the batch
-- boundaries. Each include flag adds exactly its own fields; systemPrompt and includeFullContent
-- shape the turns; deleted members are left out; only the owner and service_role may render.
begin;
\ir ../helpers.sql
select plan(40);

-- ------------------------------------------------------------------------------- fixtures
\ir ../render_helpers.sql

-- A normalized json config: the spec's defaults, then the given fields.
create function tests.json_config(p_overrides jsonb default '{}') returns jsonb
language sql
as $$
  select tests.render_config('json', p_overrides)
$$;

insert into public.conversations
  (id, user_id, title, persona, emotion, tier, status, category, quality_score, quality_metrics,
   review_history, parent_id, parent_type, created_at)
values
  ('c0000000-0000-0000-0000-000000000000', current_setting('tests.user_a')::uuid, 'Parent', null,
   null, 'template', 'draft', '{}', null, '{}', '[]', null, null, '2025-12-31 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000001', current_setting('tests.user_a')::uuid,
   E'Refund "quoted", with \\ backslash', 'calm', null, 'scenario', 'approved',
   '{billing,refunds}', 8.5, '{"clarity": 9, "note": "a, b: c"}',
   '[{"action": "approved", "performed_by": "rev@example.com", "timestamp": "2026-11-01T10:00:00Z", "comment": "ok"}]',
   'c0000000-0000-0000-0000-000000000000', 'template', '2026-01-01 00:00:00.123456+00'),
  ('c0000000-0000-0000-0000-000000000002', current_setting('tests.user_a')::uuid, null, null, null,
   'edge_case', 'approved', '{}', null, '{"x": null}', '[]', null, null, '2026-01-02 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000003', current_setting('tests.user_a')::uuid, 'Empty', 'p', 'e',
   'template', 'draft', '{a}', 6.0, '{"k": null, "s": "p, q"}', '[]', null, null,
   '2026-01-03 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000004', current_setting('tests.user_a')::uuid, 'Deleted', null,
   null, 'template', 'approved', '{}', 1.0, '{}', '[]', null, null, '2026-01-04 00:00:00+00');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values
  ('c0000000-0000-0000-0000-000000000001', 1, 'system', 'Be kind.', 4),
  ('c0000000-0000-0000-0000-000000000001', 2, 'user',
   E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/', 20),
  ('c0000000-0000-0000-0000-000000000001', 3, 'assistant', E'## x\n---\n> quoted', 10),
  ('c0000000-0000-0000-0000-000000000001', 4, 'user', '=1+1', 3),
  ('c0000000-0000-0000-0000-000000000001', 5, 'assistant', repeat('é', 199) || '😀tail', 300),
  ('c0000000-0000-0000-0000-000000000002', 1, 'user', 'Only?', 3),
  ('c0000000-0000-0000-0000-000000000002', 2, 'assistant', 'Yes.', 2),
  ('c0000000-0000-0000-0000-000000000004', 1, 'user', 'gone', 1);

-- updated_at is pinned (its trigger set aside for this transaction) so files can be spelled out.
alter table public.conversations disable trigger conversations_set_updated_at;
update public.conversations set updated_at = '2026-01-05 06:07:08.000009+00';
alter table public.conversations enable trigger conversations_set_updated_at;

-- Members in export order; the fourth conversation is deleted after the export was requested.
select tests.make_export('e0000000-0000-0000-0000-000000000001',
  tests.json_config('{"includeApprovalHistory": true, "includeParentReferences": true}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000004',
        'c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000002',
  tests.json_config('{"includeMetadata": false, "includeQualityScores": false, "includeTimestamps": false}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000004',
        'c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000003',
  tests.json_config(jsonb_build_object('includeFullContent', false,
                                       'systemPrompt', repeat('Answer as a pirate. ', 15))),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000004', tests.json_config(),
  array['c0000000-0000-0000-0000-000000000002']::uuid[]);
delete from public.conversations where id = 'c0000000-0000-0000-0000-000000000004';

-- ------------------------------------------------------------------- exact small files
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000002', 3, '2026-11-28 15:03:07.123+01'),
  '{"version":"1.0","export_id":"f0000000-0000-0000-0000-000000000002","exported_at":"2026-11-28T14:03:07.123000Z","conversation_count":3,"conversations":[',
  'the json header carries version, export_id, exported_at in UTC with microseconds and Z, and the count');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000002', 4),
  $f${"version":"1.0","export_id":"f0000000-0000-0000-0000-000000000002","exported_at":"2026-11-28T14:03:07.123000Z","conversation_count":3,"conversations":[$f$
  || $f${"conversation_id":"c0000000-0000-0000-0000-000000000001","title":"Refund \"quoted\", with \\ backslash","status":"approved","tier":"scenario","turns":[$f$
  || $f${"turn_number":1,"role":"system","content":"Be kind.","token_count":4},$f$
  || $f${"turn_number":2,"role":"user","content":"He said \"hi\", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/","token_count":20},$f$
  || $f${"turn_number":3,"role":"assistant","content":"## x\n---\n> quoted","token_count":10},$f$
  || $f${"turn_number":4,"role":"user","content":"=1+1","token_count":3},$f$
  || $f${"turn_number":5,"role":"assistant","content":"$f$ || repeat('é', 199) || $f$😀tail","token_count":300}]},$f$
  || $f${"conversation_id":"c0000000-0000-0000-0000-000000000002","title":null,"status":"approved","tier":"edge_case","turns":[$f$
  || $f${"turn_number":1,"role":"user","content":"Only?","token_count":3},{"turn_number":2,"role":"assistant","content":"Yes.","token_count":2}]},$f$
  || $f${"conversation_id":"c0000000-0000-0000-0000-000000000003","title":"Empty","status":"draft","tier":"template","turns":[]}]}$f$,
  'without metadata the file is exactly the compact document: escaped strings, a null title, an empty turns array, no summary');

select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 0 -> 'metadata')::text,
  '{"conversation_id":"c0000000-0000-0000-0000-000000000001","title":"Refund \"quoted\", with \\ backslash","tier":"scenario","status":"approved","persona":"calm","emotion":null,"category":["billing","refunds"],"turn_count":5,"total_tokens":337,"quality_score":8.5,"quality_metrics":{"note":"a, b: c","clarity":9},"created_at":"2026-01-01T00:00:00.123456Z","updated_at":"2026-01-05T06:07:08.000009Z","review_history":[{"action":"approved","comment":"ok","timestamp":"2026-11-01T10:00:00Z","performed_by":"rev@example.com"}],"parent_id":"c0000000-0000-0000-0000-000000000000","parent_type":"template"}',
  'with every flag on, metadata has every field in the spec''s order, nulls as null, jsonb values compact');

select is(
  exports_internal.render_footer('e0000000-0000-0000-0000-000000000001', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000001', 1, 100)),
  '],"summary":{"total_turns":7,"total_tokens":342,"average_quality_score":7.25,"tier_distribution":{"edge_case":1,"scenario":1,"template":1},"status_distribution":{"approved":2,"draft":1}}}',
  'the footer closes the array and adds the summary over the members that still exist');

select is(
  exports_internal.render_footer('e0000000-0000-0000-0000-000000000002', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000002', 1, 100)),
  ']}',
  'without includeMetadata the footer only closes the array and the document (no summary)');

select is(
  exports_internal.render_footer('e0000000-0000-0000-0000-000000000004', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000004', 1, 100)),
  '],"summary":{"total_turns":2,"total_tokens":5,"average_quality_score":null,"tier_distribution":{"edge_case":1},"status_distribution":{"approved":1}}}',
  'average_quality_score is null when no member has a score');

-- ------------------------------------------------------------------------ validity and data
select lives_ok(
  $$select tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json$$,
  'the file with every flag on parses as one JSON document');

select is(
  (select array_agg(c ->> 'conversation_id' order by n)
     from json_array_elements(tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations')
          with ordinality e(c, n)),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000002',
        'c0000000-0000-0000-0000-000000000003'],
  'the conversations are the members in position order, the deleted member left out silently');

select is(
  (select (d ->> 'conversation_count')::integer = json_array_length(d -> 'conversations')
     from (select tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json as d) f),
  true,
  'conversation_count equals the length of conversations');

select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 0 -> 'turns' -> 1 ->> 'content'),
  E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/',
  'a turn with quotes, backslashes, CRLF, CR, LF, tab, non-ASCII and emoji reads back unchanged');

select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 0 -> 'metadata' ->> 'quality_score'),
  '8.5',
  'quality_score is the JSON number 8.5');

select is(
  (select array_agg(json_typeof(m -> k) order by k)
     from (select tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 0 -> 'metadata' as m) f,
          unnest(array['category', 'emotion', 'quality_score', 'turn_count']) k),
  array['array', 'null', 'number', 'number'],
  'category is an array, a missing emotion is null, quality_score and turn_count are numbers');

select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 1 -> 'metadata' -> 'quality_metrics')::text,
  '{"x":null}',
  'a jsonb value with a null member is written compactly without losing the null');

select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 4)::json -> 'conversations' -> 2 -> 'metadata' -> 'quality_metrics')::text,
  '{"k":null,"s":"p, q"}',
  'a jsonb value with both a null member and ", " inside a string is compact outside strings only');

select is(
  exports_internal.json_compact('[{"a, b": "c: d", "e": [1, 2.50, null, true]}, "x\", y", {}]'),
  '[{"e":[1,2.50,null,true],"a, b":"c: d"},"x\", y",{}]',
  'json_compact keeps ", " and ": " inside strings and keys, escaped quotes included');

-- ------------------------------------------------------------------- batches and boundaries
select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 4, 0)$$,
  $$select (select string_agg(b.body, '' order by b.n) from (
              select 1 as n, body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 1, 0)
              union all
              select 2, body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 2, 1)
              union all
              select 3, body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 3, 3, 1)
              union all
              select 4, body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 4, 4, 2)) b),
            3, 0$$,
  'positions 1-4 in one batch equal 1-1, 2-2, 3-3, 4-4 concatenated, each told how many came before');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 2, 1)$$,
  $$values ('', 0, 0)$$,
  'a batch holding only a deleted member renders nothing and counts nothing');

select is(
  left((select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 3, 3, 1)), 2),
  ',{',
  'a batch after earlier conversations starts with the separating comma');

select is(
  left((select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 3, 0)), 2),
  '{"',
  'a batch whose first conversation is the file''s first starts without a comma');

select is(
  (select count(distinct tests.render_file('e0000000-0000-0000-0000-000000000001', size))::integer
     from generate_series(1, 5) size),
  1,
  'batch sizes 1 to 5 (one with an empty batch) all give the same file');

select lives_ok(
  $$select tests.render_file('e0000000-0000-0000-0000-000000000001', 1)::json,
           tests.render_file('e0000000-0000-0000-0000-000000000001', 2)::json$$,
  'the file built from batches of 1 and of 2 (an empty batch in between) parses as JSON');

-- ------------------------------------------------------------------------------ include flags
select tests.make_export(('e0000000-0000-0000-0000-0000000001' || lpad(n::text, 2, '0'))::uuid,
                         tests.json_config(flags::jsonb),
                         array['c0000000-0000-0000-0000-000000000001']::uuid[])
  from (values
    (1, '{"includeQualityScores": false, "includeTimestamps": false}'),
    (2, '{"includeQualityScores": true, "includeTimestamps": false}'),
    (3, '{"includeQualityScores": false, "includeTimestamps": true}'),
    (4, '{"includeQualityScores": false, "includeTimestamps": false, "includeApprovalHistory": true}'),
    (5, '{"includeQualityScores": false, "includeTimestamps": false, "includeParentReferences": true}'),
    (6, '{"includeMetadata": false, "includeQualityScores": true, "includeTimestamps": true, "includeApprovalHistory": true, "includeParentReferences": true}')
  ) v(n, flags);

create function tests.metadata_keys(p_export_log_id uuid) returns text[]
language sql
as $$
  select array_agg(k)
    from json_object_keys(tests.render_file(p_export_log_id, 1)::json -> 'conversations' -> 0 -> 'metadata') k
$$;

select is(tests.metadata_keys('e0000000-0000-0000-0000-000000000101'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens'],
  'with every optional flag off, metadata holds exactly the nine base fields in order');
select is(tests.metadata_keys('e0000000-0000-0000-0000-000000000102'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'quality_score', 'quality_metrics'],
  'includeQualityScores adds exactly quality_score and quality_metrics');
select is(tests.metadata_keys('e0000000-0000-0000-0000-000000000103'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'created_at', 'updated_at'],
  'includeTimestamps adds exactly created_at and updated_at');
select is(tests.metadata_keys('e0000000-0000-0000-0000-000000000104'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'review_history'],
  'includeApprovalHistory adds exactly review_history');
select is(tests.metadata_keys('e0000000-0000-0000-0000-000000000105'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'parent_id', 'parent_type'],
  'includeParentReferences adds exactly parent_id and parent_type');
select is(
  (select array_agg(k) from json_object_keys(
     tests.render_file('e0000000-0000-0000-0000-000000000106', 1)::json -> 'conversations' -> 0) k),
  array['conversation_id', 'title', 'status', 'tier', 'turns'],
  'with includeMetadata off a conversation has no metadata, whatever the other flags say');
select is(
  (select array_agg(k) from json_object_keys(tests.render_file('e0000000-0000-0000-0000-000000000106', 1)::json) k),
  array['version', 'export_id', 'exported_at', 'conversation_count', 'conversations'],
  'with includeMetadata off the document has no summary');
select is(
  (select array_agg(k) from json_object_keys(tests.render_file('e0000000-0000-0000-0000-000000000101', 1)::json) k),
  array['version', 'export_id', 'exported_at', 'conversation_count', 'conversations', 'summary'],
  'with includeMetadata on the document ends with the summary');

-- ------------------------------------------------------------ systemPrompt, includeFullContent
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 0 -> 'turns' -> 0)::text,
  '{"turn_number":0,"role":"system","content":"' || repeat('Answer as a pirate. ', 15) || '","token_count":null}',
  'systemPrompt is the first turn: turn_number 0, role system, token_count null, never cut to 200 characters');
select is(
  (select array_agg((t ->> 'turn_number') || ':' || (t ->> 'role'))
     from json_array_elements(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 0 -> 'turns') t),
  array['0:system', '2:user', '3:assistant', '4:user', '5:assistant'],
  'systemPrompt replaces the conversation''s own system turn; the other turns keep their numbers');
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 1 -> 'turns')::text,
  '[{"turn_number":0,"role":"system","content":"' || repeat('Answer as a pirate. ', 15) || '","token_count":null}]',
  'a conversation without turns still gets the systemPrompt turn');
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 0 -> 'metadata' ->> 'turn_count'),
  '5',
  'the systemPrompt is not counted in turn_count, which stays the conversation''s own');
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 0 -> 'turns' -> 4 ->> 'content'),
  repeat('é', 199) || '😀',
  'includeFullContent false cuts a turn to its first 200 characters, counting code points');
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000003', 1)::json -> 'conversations' -> 0 -> 'turns' -> 1 ->> 'content'),
  E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/',
  'includeFullContent false leaves a turn of at most 200 characters whole');
select is(
  (tests.render_file('e0000000-0000-0000-0000-000000000001', 1)::json -> 'conversations' -> 0 -> 'turns' -> 4 ->> 'content'),
  repeat('é', 199) || '😀tail',
  'includeFullContent true keeps every character');

-- --------------------------------------------------------------------------- errors, access
select throws_ok(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-00000000ffff', 1, 1, 0)$$,
  'P0002', 'export log "e0000000-0000-0000-0000-00000000ffff" does not exist',
  'rendering an export that does not exist fails with no_data_found naming the id');

update public.export_logs set config = config - 'includeTimestamps'
 where id = 'e0000000-0000-0000-0000-000000000004';
select throws_ok(
  $$select exports_internal.render_footer('e0000000-0000-0000-0000-000000000004', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000004', 1, 100))$$,
  '22023', 'export log "e0000000-0000-0000-0000-000000000004" has config.includeTimestamps missing, not a boolean',
  'a config that is not normalized is refused, naming the missing field, rather than rendered with guesses');

select is_empty(
  $$select p.oid::regprocedure::text, r.role
      from pg_proc p, (values ('anon'), ('authenticated')) r(role)
     where p.pronamespace = 'exports_internal'::regnamespace
       and p.proname in ('render_header', 'render_batch', 'render_footer')
       and has_function_privilege(r.role, p.oid, 'EXECUTE')$$,
  'anon and authenticated may not execute render_header, render_batch or render_footer');

set local role service_role;
select lives_ok(
  $$select exports_internal.render_header('e0000000-0000-0000-0000-000000000001', 3, now()),
           (select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 4, 0)),
           exports_internal.render_footer('e0000000-0000-0000-0000-000000000001', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000001', 1, 100))$$,
  'acting as service_role, the worker''s role, the whole file can be rendered');
reset role;

select * from finish();
rollback;
