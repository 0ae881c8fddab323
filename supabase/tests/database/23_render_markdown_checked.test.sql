-- The markdown file, for people reviewing data: a title block (export id, date, count), then per
-- conversation "## title", metadata bullets (with includeMetadata), "### Dialogue" and each turn
-- as a speaker label and a blockquote, "---" between conversations. No content can break that
-- structure: every line of a turn is quoted, and line breaks in titles and metadata become
-- spaces. The file is the same whatever the batch boundaries.
begin;
\ir ../helpers.sql
select plan(29);

-- ------------------------------------------------------------------------------- fixtures
\ir ../render_helpers.sql

-- A normalized markdown config: the spec's defaults, then the given fields.
create function tests.markdown_config(p_overrides jsonb default '{}') returns jsonb
language sql
as $$
  select tests.render_config('markdown', p_overrides)
$$;

-- The lines of a file, in order (split on LF only, as a markdown reader splits after CR/LF
-- have been normalized; the renderer writes no CR of its own).
create function tests.lines(p_file text) returns table (n bigint, line text)
language sql
as $$
  select s.n, s.line from regexp_split_to_table(p_file, E'\n') with ordinality s(line, n) order by s.n
$$;

insert into public.conversations
  (id, user_id, title, persona, emotion, tier, status, category, quality_score, quality_metrics,
   review_history, parent_id, parent_type, created_at)
values
  ('c0000000-0000-0000-0000-000000000000', current_setting('tests.user_a')::uuid, 'Parent', null,
   null, 'template', 'draft', '{}', null, '{}', '[]', null, null, '2025-12-31 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000001', current_setting('tests.user_a')::uuid,
   E'Refund "quoted",\r\nwith \\ backslash\rand a\nnewline', E'calm\r\ncool', null, 'scenario',
   'approved', array['billing', E're\nfunds'], 8.5, '{"clarity": 9, "note": "a, b: c"}',
   '[{"action": "approved", "performed_by": "rev@example.com", "timestamp": "2026-11-01T10:00:00Z", "comment": "ok"}]',
   'c0000000-0000-0000-0000-000000000000', 'template', '2026-01-01 00:00:00.123456+00'),
  ('c0000000-0000-0000-0000-000000000002', current_setting('tests.user_a')::uuid, null, null, null,
   'edge_case', 'approved', '{}', null, '{}', '[]', null, null, '2026-01-02 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000003', current_setting('tests.user_a')::uuid, 'Empty', 'p', 'e',
   'template', 'draft', '{a}', 6.0, '{}', '[]', null, null, '2026-01-03 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000004', current_setting('tests.user_a')::uuid, 'Deleted', null,
   null, 'template', 'approved', '{}', null, '{}', '[]', null, null, '2026-01-04 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000005', current_setting('tests.user_a')::uuid, E' \r\n\t', null,
   null, 'template', 'approved', '{}', null, '{}', '[]', null, null, '2026-01-05 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000006', current_setting('tests.user_a')::uuid, '', null,
   null, 'template', 'approved', '{}', null, '{}', '[]', null, null, '2026-01-06 00:00:00+00');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values
  ('c0000000-0000-0000-0000-000000000001', 1, 'system', 'Be kind.', 4),
  ('c0000000-0000-0000-0000-000000000001', 2, 'user',
   E'He said "hi", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/', 20),
  ('c0000000-0000-0000-0000-000000000001', 3, 'assistant', E'## x\n---\n> quoted\n\n# top\n', 10),
  ('c0000000-0000-0000-0000-000000000001', 4, 'user', E'```\nunclosed fence', 3),
  ('c0000000-0000-0000-0000-000000000001', 5, 'assistant', repeat('é', 199) || '😀tail', 300),
  ('c0000000-0000-0000-0000-000000000002', 1, 'user', 'Only?', 3),
  ('c0000000-0000-0000-0000-000000000002', 2, 'assistant', 'Yes.', 2),
  ('c0000000-0000-0000-0000-000000000004', 1, 'user', 'gone', 1),
  ('c0000000-0000-0000-0000-000000000005', 1, 'user', '', 0);

-- updated_at is pinned (its trigger set aside for this transaction) so the file can be spelled out.
alter table public.conversations disable trigger conversations_set_updated_at;
update public.conversations set updated_at = '2026-01-05 06:07:08.000009+00';
alter table public.conversations enable trigger conversations_set_updated_at;

select tests.make_export('e0000000-0000-0000-0000-000000000001',
  tests.markdown_config('{"includeApprovalHistory": true, "includeParentReferences": true}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000004',
        'c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000002', tests.markdown_config('{"includeMetadata": false}'),
  array['c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000003',
  tests.markdown_config(jsonb_build_object('includeMetadata', false, 'includeFullContent', false,
                                           'systemPrompt', E'Answer as a pirate.\n## Rules\n' || repeat('Arr. ', 60))),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000004', tests.markdown_config('{"includeMetadata": false}'),
  array['c0000000-0000-0000-0000-000000000005', 'c0000000-0000-0000-0000-000000000006']::uuid[]);
select tests.make_export(('e0000000-0000-0000-0000-0000000001' || lpad(n::text, 2, '0'))::uuid,
                         tests.markdown_config(flags::jsonb),
                         array['c0000000-0000-0000-0000-000000000002']::uuid[])
  from (values
    (1, '{"includeQualityScores": false, "includeTimestamps": false}'),
    (2, '{"includeQualityScores": true, "includeTimestamps": false}'),
    (3, '{"includeQualityScores": false, "includeTimestamps": true}'),
    (4, '{"includeQualityScores": false, "includeTimestamps": false, "includeApprovalHistory": true}'),
    (5, '{"includeQualityScores": false, "includeTimestamps": false, "includeParentReferences": true}')
  ) v(n, flags);
delete from public.conversations where id = 'c0000000-0000-0000-0000-000000000004';

-- ----------------------------------------------------------------------------- exact files
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000001', 3, '2026-11-28 15:03:07.123+01'),
  E'# Training conversations export\n\n- Export ID: f0000000-0000-0000-0000-000000000001\n'
  || E'- Exported at: 2026-11-28T14:03:07.123000Z\n- Conversations: 3\n',
  'the header is the title, then export id, date (UTC ISO 8601) and count as bullets');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000002', 1),
  E'# Training conversations export\n\n- Export ID: f0000000-0000-0000-0000-000000000002\n'
  || E'- Exported at: 2026-11-28T14:03:07.123000Z\n- Conversations: 2\n'
  || E'\n## Untitled\n\n### Dialogue\n\n**User:**\n\n> Only?\n\n**Assistant:**\n\n> Yes.\n'
  || E'\n---\n'
  || E'\n## Empty\n\n### Dialogue\n',
  'a small file is exact: Untitled for a null title, blank lines around every block, one "---" between conversations');

select is(
  tests.render_file('e0000000-0000-0000-0000-000000000001', 4),
  E'# Training conversations export\n\n- Export ID: f0000000-0000-0000-0000-000000000001\n'
  || E'- Exported at: 2026-11-28T14:03:07.123000Z\n- Conversations: 3\n'
  || E'\n## Refund "quoted", with \\ backslash and a newline\n'
  || E'\n- conversation_id: c0000000-0000-0000-0000-000000000001'
  || E'\n- title: Refund "quoted", with \\ backslash and a newline'
  || E'\n- tier: scenario\n- status: approved\n- persona: calm cool\n- emotion: null'
  || E'\n- category: billing; re funds\n- turn_count: 5\n- total_tokens: 337\n- quality_score: 8.5'
  || E'\n- quality_metrics: {"note":"a, b: c","clarity":9}'
  || E'\n- created_at: 2026-01-01T00:00:00.123456Z\n- updated_at: 2026-01-05T06:07:08.000009Z'
  || E'\n- review_history: [{"action":"approved","comment":"ok","timestamp":"2026-11-01T10:00:00Z","performed_by":"rev@example.com"}]'
  || E'\n- parent_id: c0000000-0000-0000-0000-000000000000\n- parent_type: template\n'
  || E'\n### Dialogue\n'
  || E'\n**System:**\n\n> Be kind.\n'
  || E'\n**User:**\n\n> He said "hi", then left;\n> line two\n> line three\n> end\ttab — café 😀 \\o/\n'
  || E'\n**Assistant:**\n\n> ## x\n> ---\n> > quoted\n> \n> # top\n> \n'
  || E'\n**User:**\n\n> ```\n> unclosed fence\n'
  || E'\n**Assistant:**\n\n> ' || repeat('é', 199) || E'😀tail\n'
  || E'\n---\n'
  || E'\n## Untitled\n'
  || E'\n- conversation_id: c0000000-0000-0000-0000-000000000002\n- title: null\n- tier: edge_case'
  || E'\n- status: approved\n- persona: null\n- emotion: null\n- category: \n- turn_count: 2\n- total_tokens: 5'
  || E'\n- quality_score: null\n- quality_metrics: {}\n- created_at: 2026-01-02T00:00:00.000000Z'
  || E'\n- updated_at: 2026-01-05T06:07:08.000009Z\n- review_history: []\n- parent_id: null\n- parent_type: null\n'
  || E'\n### Dialogue\n\n**User:**\n\n> Only?\n\n**Assistant:**\n\n> Yes.\n'
  || E'\n---\n'
  || E'\n## Empty\n'
  || E'\n- conversation_id: c0000000-0000-0000-0000-000000000003\n- title: Empty\n- tier: template'
  || E'\n- status: draft\n- persona: p\n- emotion: e\n- category: a\n- turn_count: 0\n- total_tokens: 0'
  || E'\n- quality_score: 6.0\n- quality_metrics: {}\n- created_at: 2026-01-03T00:00:00.000000Z'
  || E'\n- updated_at: 2026-01-05T06:07:08.000009Z\n- review_history: []\n- parent_id: null\n- parent_type: null\n'
  || E'\n### Dialogue\n',
  'the file with every flag is exact: metadata bullets, every content line quoted, line breaks in title and values as spaces');

-- ------------------------------------------------------------------------ structure safety
select is(
  (select array_agg(line order by n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000001', 1))
    where line like '#%'),
  array['# Training conversations export', '## Refund "quoted", with \ backslash and a newline',
        '### Dialogue', '## Untitled', '### Dialogue', '## Empty', '### Dialogue'],
  'the only headings are the file title, one "## " per conversation and its "### Dialogue": "## x" and "# top" in a turn made none');

select is(
  (select count(*)::integer from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000001', 1))
    where line = '---'),
  2,
  'the only "---" lines are the two separators between three conversations, not the one inside a turn');

select is_empty(
  $$select line from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000001', 1))
     where not (line = '' or line = '---' or line like '#%' or line like '- %'
                or line in ('**System:**', '**User:**', '**Assistant:**') or line like '> %')$$,
  'every line is blank, a heading, a separator, a bullet, a speaker label or quoted content');

select is(
  (select count(*)::integer from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000001', 1))
    where line like '> %'),
  (select sum(1 + length(normalized) - length(replace(normalized, E'\n', '')))::integer
     from (select replace(replace(content, E'\r\n', E'\n'), E'\r', E'\n') as normalized
             from public.conversation_turns
            where conversation_id in ('c0000000-0000-0000-0000-000000000001',
                                      'c0000000-0000-0000-0000-000000000002')) t),
  'every line of every turn (split on CRLF, CR and LF) is its own quoted line');

select is(
  (select count(*)::integer from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000001', 1))
    where line like '- %'),
  3 + 3 * 16,
  'the only bullets are the three of the title block and sixteen metadata bullets per conversation: none came from content');

select is(
  (select array_agg(line order by n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 1))
    where line like '## %'),
  array['## Untitled', '## Untitled'],
  'a title that is blank or only line breaks and whitespace reads Untitled');

select is(
  (select string_agg(line, '|' order by n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000004', 1))
    where n between 7 and 13),
  '## Untitled||### Dialogue||**User:**||> ',
  'an empty turn is still a quoted line, "> "');

-- ------------------------------------------------------------------------------ include flags
create function tests.bullet_keys(p_export_log_id uuid) returns text[]
language sql
as $$
  select array_agg(split_part(substr(line, 3), ':', 1) order by n)
    from tests.lines(tests.render_file(p_export_log_id, 1))
   where line like '- %' and n > 5
$$;

select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000101'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens'],
  'with every optional flag off, the bullets are exactly the nine base fields');
select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000102'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'quality_score', 'quality_metrics'],
  'includeQualityScores adds exactly quality_score and quality_metrics bullets');
select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000103'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'created_at', 'updated_at'],
  'includeTimestamps adds exactly created_at and updated_at bullets');
select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000104'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'review_history'],
  'includeApprovalHistory adds exactly a review_history bullet');
select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000105'),
  array['conversation_id', 'title', 'tier', 'status', 'persona', 'emotion', 'category', 'turn_count', 'total_tokens',
        'parent_id', 'parent_type'],
  'includeParentReferences adds exactly parent_id and parent_type bullets');
select is(tests.bullet_keys('e0000000-0000-0000-0000-000000000002'),
  null::text[],
  'without includeMetadata there are no metadata bullets');

-- ------------------------------------------------------------ systemPrompt, includeFullContent
select is(
  (select string_agg(line, E'\n' order by n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1))
    where n between 9 and 14),
  E'### Dialogue\n\n**System:**\n\n> Answer as a pirate.\n> ## Rules',
  'systemPrompt is the first turn, a **System:** block, its lines quoted like any turn');
select is(
  (select line from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)) where n = 15),
  '> ' || repeat('Arr. ', 60),
  'systemPrompt is never cut to 200 characters');
select is(
  (select count(*)::integer from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1))
    where line = '**System:**'),
  2,
  'each conversation has one **System:** block, the prompt, and the own system turn ("Be kind.") is gone');
select is(
  (select count(*)::integer from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1))
    where line = '> Be kind.'),
  0,
  'the conversation''s own system turn is not exported when a systemPrompt is given');
select is(
  (select line from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1))
    where line like '> é%'),
  '> ' || repeat('é', 199) || '😀',
  'includeFullContent false cuts a turn to its first 200 code points');
select is(
  (select string_agg(line, E'\n' order by n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1))
    where n > (select max(n) from tests.lines(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)) where line = '## Empty')),
  E'\n### Dialogue\n\n**System:**\n\n> Answer as a pirate.\n> ## Rules\n> ' || repeat('Arr. ', 60) || E'\n',
  'a conversation without turns still shows the systemPrompt');

-- ------------------------------------------------------------------- batches and boundaries
select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 4, 0)$$,
  $$select string_agg(b.body, '' order by n), sum(b.rendered)::integer, sum(b.skipped)::integer
      from (values (1, 0), (2, 1), (3, 1), (4, 2)) p(n, before),
           lateral exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', p.n, p.n, p.before) b$$,
  'positions 1-4 in one batch equal 1-1, 2-2, 3-3, 4-4 concatenated, with the right counts');

select is(
  left((select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 3, 4, 1)), 14),
  E'\n---\n\n## Untit',
  'a batch after earlier conversations starts with the separator');

select is(
  left((select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 3, 0)), 12),
  E'\n## Untitled',
  'a batch holding the file''s first conversation starts with its heading, no separator');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 2, 1)$$,
  $$values ('', 0, 0)$$,
  'a batch holding only a deleted member renders nothing');

select is(
  (select count(distinct tests.render_file('e0000000-0000-0000-0000-000000000001', size))::integer
     from generate_series(1, 5) size),
  1,
  'batch sizes 1 to 5 (one with an empty batch) all give the same file');

select is(
  exports_internal.render_footer('e0000000-0000-0000-0000-000000000001', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000001', 1, 100)),
  '',
  'markdown has no footer');

select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000002', 0, '2026-11-28 14:03:07.123+00')
    || (select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000002', 1, 0, 0)),
  E'# Training conversations export\n\n- Export ID: f0000000-0000-0000-0000-000000000002\n'
  || E'- Exported at: 2026-11-28T14:03:07.123000Z\n- Conversations: 0\n',
  'with nothing rendered the file is just the title block, count 0');

select * from finish();
rollback;
