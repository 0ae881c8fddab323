-- The jsonl file: one JSON object per conversation, each line ending in "\n", no header and no
-- footer. openai and sharegpt lay out every exported turn; alpaca keeps the last user->assistant
-- pair as instruction/output, earlier adjacent pairs as history, and skips (and counts)
-- conversations that do not end with such a pair. systemPrompt, includeFullContent and
-- includeMetadata apply to every layout; deleted members are left out.
begin;
\ir ../helpers.sql
select plan(30);

-- ------------------------------------------------------------------------------- fixtures
\ir ../render_helpers.sql

-- A normalized jsonl config: the spec's defaults, then the given fields.
create function tests.jsonl_config(p_overrides jsonb default '{}') returns jsonb
language sql
as $$
  select tests.render_config('jsonl', p_overrides)
$$;

-- Each line of a jsonl file parsed (fails if any line is not JSON), in order.
create function tests.jsonl_lines(p_file text) returns setof json
language sql
as $$
  select l::json
    from regexp_split_to_table(left(p_file, -1), E'\n') with ordinality s(l, n)
   order by n
$$;

select tests.new_conversation('c0000000-0000-0000-0000-000000000001', 'Tricky', '2026-01-01', array[
  'system', 'Be kind.',
  'user', E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/',
  'assistant', E'## x\n---\n> quoted',
  'user', '=1+1',
  'assistant', repeat('é', 199) || '😀tail']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000002', null, '2026-01-02', array[
  'user', 'Only?', 'assistant', 'Yes.']);
-- For alpaca:
select tests.new_conversation('c0000000-0000-0000-0000-000000000011', 'two pairs', '2026-02-01', array[
  'system', 'Sys A', 'user', 'u1', 'assistant', 'a1', 'user', 'u2', 'assistant', 'a2']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000012', 'ends with a user turn', '2026-02-02', array[
  'user', 'q', 'assistant', 'r', 'user', 'again?']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000013', 'unpaired turns', '2026-02-03', array[
  'user', 'q1', 'user', 'q2', 'assistant', 'r2', 'assistant', 'r2b', 'user', 'q3', 'assistant', 'r3']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000014', 'system in the middle', '2026-02-04', array[
  'user', 'x', 'system', 'mid', 'assistant', 'y']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000015', 'assistant only', '2026-02-05', array[
  'assistant', 'hello']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000016', 'no turns', '2026-02-06', array[]::text[]);
select tests.new_conversation('c0000000-0000-0000-0000-000000000017', 'two system turns', '2026-02-07', array[
  'system', 'first', 'system', 'second', 'user', 'ask "this"', 'assistant', E'line1\nline2']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000018', 'long question', '2026-02-08', array[
  'user', repeat('é', 199) || '😀tail', 'assistant', 'ok']);
select tests.new_conversation('c0000000-0000-0000-0000-000000000019', 'deleted', '2026-02-09', array[
  'user', 'gone', 'assistant', 'away']);

-- updated_at is pinned (its trigger set aside for this transaction) so lines can be spelled out.
alter table public.conversations disable trigger conversations_set_updated_at;
update public.conversations set updated_at = '2026-01-05 06:07:08.000009+00';
alter table public.conversations enable trigger conversations_set_updated_at;

select tests.make_export('e0000000-0000-0000-0000-000000000001', tests.jsonl_config('{"includeMetadata": false}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000019',
        'c0000000-0000-0000-0000-000000000002']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000002',
  tests.jsonl_config('{"includeQualityScores": false, "includeTimestamps": false}'),
  array['c0000000-0000-0000-0000-000000000002']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000003',
  tests.jsonl_config('{"template": "sharegpt", "includeMetadata": false, "systemPrompt": "Be brief."}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000019',
        'c0000000-0000-0000-0000-000000000002']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000004',
  tests.jsonl_config('{"template": "alpaca", "includeMetadata": false}'),
  array['c0000000-0000-0000-0000-000000000011', 'c0000000-0000-0000-0000-000000000012',
        'c0000000-0000-0000-0000-000000000013', 'c0000000-0000-0000-0000-000000000014',
        'c0000000-0000-0000-0000-000000000015', 'c0000000-0000-0000-0000-000000000016',
        'c0000000-0000-0000-0000-000000000017', 'c0000000-0000-0000-0000-000000000019',
        'c0000000-0000-0000-0000-000000000018']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000005',
  tests.jsonl_config(jsonb_build_object('template', 'alpaca', 'includeMetadata', false,
                                        'includeFullContent', false,
                                        'systemPrompt', repeat('Answer as a pirate. ', 15))),
  array['c0000000-0000-0000-0000-000000000011', 'c0000000-0000-0000-0000-000000000014',
        'c0000000-0000-0000-0000-000000000018']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000006',
  tests.jsonl_config('{"template": "alpaca", "includeQualityScores": false, "includeTimestamps": false}'),
  array['c0000000-0000-0000-0000-000000000014', 'c0000000-0000-0000-0000-000000000015']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000007',
  tests.jsonl_config('{"template": "sharegpt", "includeFullContent": false}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000002']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000008',
  tests.jsonl_config('{"systemPrompt": "Be brief.", "includeMetadata": false}'),
  array['c0000000-0000-0000-0000-000000000017']::uuid[]);
delete from public.conversations where id = 'c0000000-0000-0000-0000-000000000019';

-- ---------------------------------------------------------------------------- openai, sharegpt
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000001', 2, now())
    || exports_internal.render_footer('e0000000-0000-0000-0000-000000000001', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000001', 1, 100)),
  '',
  'jsonl has neither header nor footer');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000001', 3),
  $f${"messages":[{"role":"system","content":"Be kind."},$f$
  || $f${"role":"user","content":"He said \"hi\", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/"},$f$
  || $f${"role":"assistant","content":"## x\n---\n> quoted"},{"role":"user","content":"=1+1"},$f$
  || $f${"role":"assistant","content":"$f$ || repeat('é', 199) || $f$😀tail"}]}$f$ || E'\n'
  || $f${"messages":[{"role":"user","content":"Only?"},{"role":"assistant","content":"Yes."}]}$f$ || E'\n',
  'openai without metadata: exactly one messages line per conversation, strings escaped, the deleted member left out');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000002', 1),
  '{"messages":[{"role":"user","content":"Only?"},{"role":"assistant","content":"Yes."}],'
  || '"metadata":{"conversation_id":"c0000000-0000-0000-0000-000000000002","title":null,"tier":"scenario",'
  || '"status":"approved","persona":null,"emotion":null,"category":[],"turn_count":2,"total_tokens":2}}' || E'\n',
  'openai with includeMetadata carries "metadata" last on the line, nulls written as null');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000003', 1),
  $f${"conversations":[{"from":"system","value":"Be brief."},$f$
  || $f${"from":"human","value":"He said \"hi\", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/"},$f$
  || $f${"from":"gpt","value":"## x\n---\n> quoted"},{"from":"human","value":"=1+1"},$f$
  || $f${"from":"gpt","value":"$f$ || repeat('é', 199) || $f$😀tail"}]}$f$ || E'\n'
  || $f${"conversations":[{"from":"system","value":"Be brief."},{"from":"human","value":"Only?"},{"from":"gpt","value":"Yes."}]}$f$ || E'\n',
  'sharegpt: from system/human/gpt with value; systemPrompt first and the own system turn replaced');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000008', 1),
  '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"ask \"this\""},'
  || '{"role":"assistant","content":"line1\nline2"}]}' || E'\n',
  'openai with systemPrompt: the prompt replaces both of the conversation''s own system turns');

select is(
  (select array_agg(m ->> 'value')
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000007', 1)) l,
          json_array_elements(l -> 'conversations') m
    where m ->> 'from' = 'gpt'),
  array[E'## x\n---\n> quoted', repeat('é', 199) || '😀', 'Yes.'],
  'includeFullContent false cuts each turn to 200 code points in sharegpt too');

select is(
  (select array_agg(k)
     from json_object_keys((select l from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000007', 1)) l limit 1) -> 'metadata') k),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'quality_score', 'quality_metrics', 'created_at', 'updated_at'],
  'jsonl metadata follows the include flags like json (quality scores and timestamps by default)');

select is(
  (select string_agg(l ->> 'metadata', '|')
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000007', 1)) l),
  '{"conversation_id":"c0000000-0000-0000-0000-000000000001","title":"Tricky","tier":"scenario","status":"approved","persona":null,"emotion":null,"category":[],"turn_count":5,"total_tokens":5,"quality_score":null,"quality_metrics":{},"created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-05T06:07:08.000009Z"}'
  || '|{"conversation_id":"c0000000-0000-0000-0000-000000000002","title":null,"tier":"scenario","status":"approved","persona":null,"emotion":null,"category":[],"turn_count":2,"total_tokens":2,"quality_score":null,"quality_metrics":{},"created_at":"2026-01-02T00:00:00.000000Z","updated_at":"2026-01-05T06:07:08.000009Z"}',
  'each line''s metadata is exactly the conversation''s fields, a missing quality_score as null');

-- --------------------------------------------------------------------------------- validity
select is(
  (select count(*)::integer from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000007', 1)) l
    where json_typeof(l) = 'object'),
  2,
  'every sharegpt line with metadata parses as a JSON object, one per conversation');

select is(
  (select count(*)::integer from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 2)) l
    where json_typeof(l) = 'object'),
  5,
  'every alpaca line parses as a JSON object, one per conversation not skipped');

select is(
  right(tests.render_file('e0000000-0000-0000-0000-000000000004', 2), 1),
  E'\n',
  'the last line ends in a newline too');

select is(
  (select l -> 'conversations' -> 1 ->> 'value'
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)) l limit 1),
  E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/',
  'a turn with quotes, backslashes, every newline, tab and emoji reads back unchanged');

-- ------------------------------------------------------------------------------------ alpaca
select results_eq(
  $$select rendered, skipped from exports_internal.render_batch('e0000000-0000-0000-0000-000000000004', 1, 9, 0)$$,
  $$values (5, 3)$$,
  'alpaca renders the five conversations ending in a user->assistant pair and skips three; the deleted member is neither');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000004', 9),
  '{"instruction":"u2","input":"","output":"a2","system":"Sys A","history":[["u1","a1"]]}' || E'\n'
  || '{"instruction":"q3","input":"","output":"r3","system":"","history":[["q2","r2"]]}' || E'\n'
  || '{"instruction":"x","input":"","output":"y","system":"mid","history":[]}' || E'\n'
  || '{"instruction":"ask \"this\"","input":"","output":"line1\nline2","system":"first","history":[]}' || E'\n'
  || '{"instruction":"' || repeat('é', 199) || '😀tail","input":"","output":"ok","system":"","history":[]}' || E'\n',
  'alpaca lines are exactly instruction, input, output, system and history in that order');

select is(
  (select l -> 'history' from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 9)) l limit 1)::text,
  '[["u1","a1"]]',
  'history holds the earlier user->assistant pair, the last pair being instruction and output');

select is(
  (select l ->> 'history' from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 9)) l
    where l ->> 'instruction' = 'q3'),
  '[["q2","r2"]]',
  'only adjacent user->assistant pairs enter history: a user turn without an answer and an answer without a question do not');

select is(
  (select string_agg(l ->> 'system', '|')
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 9)) l),
  'Sys A||mid|first|',
  'system is the conversation''s first system turn (wherever it stands), else ""');

select is(
  (select count(*)::integer from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 9)) l
    where l ->> 'instruction' in ('again?', 'hello') or l ->> 'output' in ('r', 'hello')),
  0,
  'conversations ending with a user turn, with only an assistant turn, or with no turns are skipped');

select is(
  (select string_agg(l ->> 'system', '|')
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) l),
  repeat('Answer as a pirate. ', 15) || '|' || repeat('Answer as a pirate. ', 15) || '|'
  || repeat('Answer as a pirate. ', 15),
  'with systemPrompt, system is the prompt in every line, never cut to 200 characters');

select is(
  (select l ->> 'instruction'
     from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) l
    where l ->> 'output' = 'ok'),
  repeat('é', 199) || '😀',
  'includeFullContent false cuts alpaca''s instruction to 200 code points');

select is(
  (select array_agg(k)
     from json_object_keys((select l from tests.jsonl_lines(tests.render_file('e0000000-0000-0000-0000-000000000006', 1)) l)) k),
  array['instruction', 'input', 'output', 'system', 'history', 'metadata'],
  'alpaca with includeMetadata carries "metadata" after history');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000006', 1),
  '{"instruction":"x","input":"","output":"y","system":"mid","history":[],"metadata":{"conversation_id":"c0000000-0000-0000-0000-000000000014","title":"system in the middle","tier":"scenario","status":"approved","persona":null,"emotion":null,"category":[],"turn_count":3,"total_tokens":3}}' || E'\n',
  'an alpaca line with metadata is exact; the skipped conversation leaves no line');

select results_eq(
  $$select rendered, skipped from exports_internal.render_batch('e0000000-0000-0000-0000-000000000006', 2, 2, 1)$$,
  $$values (0, 1)$$,
  'a batch holding only a skipped conversation renders nothing and counts it as skipped');

-- ------------------------------------------------------------------- batches and boundaries
select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000004', 1, 9, 0)$$,
  $$select string_agg(b.body, '' order by n), sum(b.rendered)::integer, sum(b.skipped)::integer
      from generate_series(1, 9) n,
           lateral exports_internal.render_batch('e0000000-0000-0000-0000-000000000004', n, n, 0) b$$,
  'alpaca positions 1-9 in one batch equal nine one-position batches: same text, same counts');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 3, 0)$$,
  $$select string_agg(b.body, '' order by n), sum(b.rendered)::integer, sum(b.skipped)::integer
      from generate_series(1, 3) n,
           lateral exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', n, n, n - 1) b$$,
  'openai positions 1-3 in one batch equal 1-1, 2-2, 3-3 concatenated');

select is(
  (select count(distinct tests.render_file('e0000000-0000-0000-0000-000000000004', size))::integer
     from generate_series(1, 10) size),
  1,
  'alpaca batch sizes 1 to 10 all give the same file');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 2, 1)$$,
  $$values ('', 0, 0)$$,
  'a batch holding only a deleted member renders nothing');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 4, 10, 2)$$,
  $$values ('', 0, 0)$$,
  'a batch past the last member renders nothing');

update public.export_logs set config = config || '{"template": "chatml"}'
 where id = 'e0000000-0000-0000-0000-000000000002';
select throws_ok(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000002', 1, 1, 0)$$,
  '22023', 'export log "e0000000-0000-0000-0000-000000000002" has config.template "chatml", not one of openai, sharegpt, alpaca',
  'an unknown jsonl template is refused, naming it');

select throws_ok(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 1, null)$$,
  '22023', 'render_batch needs positions and a rendered count >= 0, got 1, 1, null',
  'a missing p_rendered_before is refused rather than guessed');

select * from finish();
rollback;
