-- The csv file (RFC 4180): a UTF-8 byte-order mark and a header record, then one record per turn,
-- every field quoted with '"' doubled, records ending in CRLF, the columns each include flag adds
-- and no others. A conversation without turns still gets a record; null is an empty field;
-- csvFormulaEscape neutralizes cells that spreadsheets would evaluate. The file parses back to
-- the stored values whatever the batch boundaries.
begin;
\ir ../helpers.sql
select plan(32);

-- ------------------------------------------------------------------------------- fixtures
\ir ../render_helpers.sql

-- A normalized csv config: the spec's defaults, then the given fields.
create function tests.csv_config(p_overrides jsonb default '{}') returns jsonb
language sql
as $$
  select tests.render_config('csv', p_overrides)
$$;

-- An RFC 4180 reader for files whose every field is quoted: each token is a quoted field ("" for
-- a quote) followed by "," or CRLF, and a CRLF ends the record. Returns the records in order with
-- their unquoted fields; the byte-order mark is expected first and skipped.
create function tests.csv_records(p_file text) returns table (record integer, fields text[])
language sql
as $$
  with tokens as (
    select t.n, replace(t.m[1], '""', '"') as field,
           1 + coalesce(sum((t.m[2] = E'\r\n')::integer)
                 over (order by t.n rows between unbounded preceding and 1 preceding), 0)::integer as record
      from regexp_matches(substr(p_file, 2), '"((?:[^"]|"")*)"(,|\r\n)', 'g') with ordinality t(m, n)
  )
  select record, array_agg(field order by n) from tokens group by record order by record
$$;

insert into public.conversations
  (id, user_id, title, persona, emotion, tier, status, category, quality_score, parent_id,
   parent_type, created_at)
values
  ('c0000000-0000-0000-0000-000000000000', current_setting('tests.user_a')::uuid, 'Parent', null,
   null, 'template', 'draft', '{}', null, null, null, '2025-12-31 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000001', current_setting('tests.user_a')::uuid,
   E'Refund "quoted", with \\ backslash\nand a newline', 'calm, "cool"', null, 'scenario',
   'approved', '{billing,refunds}', 8.5, 'c0000000-0000-0000-0000-000000000000', 'template',
   '2026-01-01 00:00:00.123456+00'),
  ('c0000000-0000-0000-0000-000000000002', current_setting('tests.user_a')::uuid, null, null, null,
   'edge_case', 'approved', '{}', null, null, null, '2026-01-02 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000003', current_setting('tests.user_a')::uuid, 'Empty', 'p', 'e',
   'template', 'draft', '{a}', 6.0, null, null, '2026-01-03 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000004', current_setting('tests.user_a')::uuid, 'Deleted', null,
   null, 'template', 'approved', '{}', null, null, null, '2026-01-04 00:00:00+00'),
  ('c0000000-0000-0000-0000-000000000005', current_setting('tests.user_a')::uuid,
   '=cmd|'' /C calc''!A0', '+x', '-y', 'scenario', 'approved', array['@z', E'\tq'], null, null,
   null, '2026-01-05 00:00:00+00');

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
insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
select 'c0000000-0000-0000-0000-000000000005', n, 'user', content, 1
  from unnest(array['=1+1', '+x', '-y', '@z', E'\tq', E'\rr', 'safe = text', ' =not']) with ordinality u(content, n);

-- updated_at is pinned (its trigger set aside for this transaction) so records can be spelled out.
alter table public.conversations disable trigger conversations_set_updated_at;
update public.conversations set updated_at = '2026-01-05 06:07:08.000009+00';
alter table public.conversations enable trigger conversations_set_updated_at;

select tests.make_export('e0000000-0000-0000-0000-000000000001',
  tests.csv_config('{"includeParentReferences": true, "includeApprovalHistory": true}'),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000004',
        'c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000002',
  tests.csv_config('{"includeMetadata": false, "includeQualityScores": false, "includeTimestamps": false, "csvFormulaEscape": false}'),
  array['c0000000-0000-0000-0000-000000000002', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000003',
  tests.csv_config('{"includeQualityScores": false, "includeTimestamps": false}'),
  array['c0000000-0000-0000-0000-000000000005']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000004',
  tests.csv_config('{"includeQualityScores": false, "includeTimestamps": false, "csvFormulaEscape": false}'),
  array['c0000000-0000-0000-0000-000000000005']::uuid[]);
select tests.make_export('e0000000-0000-0000-0000-000000000005',
  tests.csv_config(jsonb_build_object('includeMetadata', false, 'includeQualityScores', false,
                                      'includeTimestamps', false, 'includeFullContent', false,
                                      'systemPrompt', '=' || repeat('Answer as a pirate. ', 15))),
  array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000003']::uuid[]);
select tests.make_export(('e0000000-0000-0000-0000-0000000001' || lpad(n::text, 2, '0'))::uuid,
                         tests.csv_config(flags::jsonb),
                         array['c0000000-0000-0000-0000-000000000001']::uuid[])
  from (values
    (1, '{"includeMetadata": false, "includeQualityScores": true, "includeTimestamps": false}'),
    (2, '{"includeMetadata": true, "includeQualityScores": false, "includeTimestamps": false}'),
    (3, '{"includeMetadata": false, "includeQualityScores": false, "includeTimestamps": true}'),
    (4, '{"includeMetadata": false, "includeQualityScores": false, "includeTimestamps": false, "includeParentReferences": true}'),
    (5, '{"includeMetadata": false, "includeQualityScores": false, "includeTimestamps": false, "includeApprovalHistory": true}')
  ) v(n, flags);
delete from public.conversations where id = 'c0000000-0000-0000-0000-000000000004';

-- ----------------------------------------------------------------------- header and columns
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000001', 3, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count",'
  || '"quality_score","persona","emotion","category","created_at","updated_at","parent_id","parent_type"' || E'\r\n',
  'the header is the byte-order mark and every column name quoted, in the spec''s order, ending in CRLF');

select is(
  substring(convert_to(exports_internal.render_header('e0000000-0000-0000-0000-000000000002', 2, now()), 'UTF8') from 1 for 3),
  '\xefbbbf'::bytea,
  'the file starts with the UTF-8 byte-order mark EF BB BF');

select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000101', 1, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count","quality_score"' || E'\r\n',
  'includeQualityScores alone adds exactly quality_score (it does not need includeMetadata)');
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000102', 1, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count","persona","emotion","category"' || E'\r\n',
  'includeMetadata alone adds exactly persona, emotion and category');
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000103', 1, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count","created_at","updated_at"' || E'\r\n',
  'includeTimestamps alone adds exactly created_at and updated_at');
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000104', 1, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count","parent_id","parent_type"' || E'\r\n',
  'includeParentReferences alone adds exactly parent_id and parent_type');
select is(
  exports_internal.render_header('e0000000-0000-0000-0000-000000000105', 1, now()),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count"' || E'\r\n',
  'includeApprovalHistory adds no column: approval history has none in csv');

select is(
  (select count(*)::integer from generate_series(101, 105) n,
          tests.csv_records(tests.render_file(('e0000000-0000-0000-0000-000000000' || n)::uuid, 1)) r
    where cardinality(r.fields) <> cardinality((select h.fields from tests.csv_records(
            tests.render_file(('e0000000-0000-0000-0000-000000000' || n)::uuid, 1)) h where h.record = 1))),
  0,
  'under every flag combination each record has as many fields as the header');

-- ----------------------------------------------------------------------------- exact records
select is(
  tests.render_file('e0000000-0000-0000-0000-000000000002', 2),
  chr(65279) || '"conversation_id","title","status","tier","turn_number","role","content","token_count"' || E'\r\n'
  || '"c0000000-0000-0000-0000-000000000002","","approved","edge_case","1","user","Only?","3"' || E'\r\n'
  || '"c0000000-0000-0000-0000-000000000002","","approved","edge_case","2","assistant","Yes.","2"' || E'\r\n'
  || '"c0000000-0000-0000-0000-000000000003","Empty","draft","template","","","",""' || E'\r\n',
  'a small file is exact: a null title is an empty quoted field, a conversation without turns gets one record with empty turn fields');

select is(
  (select split_part(tests.render_file('e0000000-0000-0000-0000-000000000001', 4), E'\r\n"', 3)),
  E'c0000000-0000-0000-0000-000000000001","Refund ""quoted"", with \\ backslash\nand a newline","approved","scenario","2","user",'
  || E'"He said ""hi"", then left;\r\nline two\rline three\nend\ttab — café 😀 \\o/","20","8.5","calm, ""cool""","",'
  || '"billing; refunds","2026-01-01T00:00:00.123456Z","2026-01-05T06:07:08.000009Z","c0000000-0000-0000-0000-000000000000","template"',
  'a turn record with every column is exact: quotes doubled, line breaks kept inside the field, category joined with "; ", null emotion empty');

select is(
  (select string_agg(r.fields[7], '|' order by r.record)
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)) r where r.record > 1),
  E'''=1+1|''+x|''-y|''@z|''\tq|''\rr|safe = text| =not',
  'with csvFormulaEscape a quote is prefixed to content starting with =, +, -, @, tab or CR, and to nothing else');

select is(
  (select r.fields[2] || '|' || r.fields[9] || '|' || r.fields[10] || '|' || r.fields[11]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000003', 1)) r where r.record = 2),
  E'''=cmd|'' /C calc''!A0|''+x|''-y|''@z; \tq',
  'the formula escape covers every cell: title, persona, emotion and the joined category');

select is(
  (select string_agg(r.fields[7], '|' order by r.record)
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000004', 1)) r where r.record > 1),
  E'=1+1|+x|-y|@z|\tq|\rr|safe = text| =not',
  'with csvFormulaEscape false every cell is kept verbatim');

select is(
  (select r.fields[2] || '|' || r.fields[9] || '|' || r.fields[10] || '|' || r.fields[11]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000004', 1)) r where r.record = 2),
  E'=cmd|'' /C calc''!A0|+x|-y|@z; \tq',
  'with csvFormulaEscape false title, persona, emotion and category are verbatim too');

-- ------------------------------------------------------------------------ parsing back
select is(
  regexp_replace(substr(tests.render_file('e0000000-0000-0000-0000-000000000001', 1), 2),
                 '"(?:[^"]|"")*"(?:,|\r\n)', '', 'g'),
  '',
  'after the byte-order mark the file is nothing but quoted fields each followed by a comma or CRLF');

select results_eq(
  $$select r.fields from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000001', 1)) r
     where r.record > 1 order by r.record$$,
  $$select array[c.id::text, coalesce(c.title, ''), c.status, c.tier, coalesce(t.turn_number::text, ''),
                 coalesce(t.role, ''), coalesce(case when left(t.content, 1) in ('=', '+', '-', '@', E'\t', E'\r')
                                                     then '''' || t.content else t.content end, ''),
                 coalesce(t.token_count::text, ''), coalesce(c.quality_score::text, ''),
                 coalesce(c.persona, ''), coalesce(c.emotion, ''), array_to_string(c.category, '; '),
                 exports_internal.iso_utc(c.created_at), exports_internal.iso_utc(c.updated_at),
                 coalesce(c.parent_id::text, ''), coalesce(c.parent_type, '')]
      from unnest(array['c0000000-0000-0000-0000-000000000001', 'c0000000-0000-0000-0000-000000000002',
                        'c0000000-0000-0000-0000-000000000003']::uuid[]) with ordinality m(id, position)
      join public.conversations c on c.id = m.id
      left join public.conversation_turns t on t.conversation_id = c.id
     order by m.position, t.turn_number$$,
  'read back with an RFC 4180 reader, every record holds exactly the stored values, one per turn, the deleted member left out');

select results_eq(
  $$select rendered, skipped from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 4, 0)$$,
  $$values (3, 0)$$,
  'rendered counts conversations (not records): three, the deleted member not among them');

-- ------------------------------------------------------------ systemPrompt, includeFullContent
select is(
  (select r.fields[5] || '|' || r.fields[6] || '|' || r.fields[7] || '|' || r.fields[8]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) r where r.record = 2),
  '0|system|''=' || repeat('Answer as a pirate. ', 15) || '|',
  'systemPrompt is a record with turn_number 0, role system and an empty token_count, never cut (formula escape still applies)');

select is(
  (select array_agg(r.fields[5] || ':' || r.fields[6] order by r.record)
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) r
    where r.record > 1 and r.fields[1] = 'c0000000-0000-0000-0000-000000000001'),
  array['0:system', '2:user', '3:assistant', '4:user', '5:assistant'],
  'systemPrompt replaces the conversation''s own system turn');

select is(
  (select array_agg(r.fields[5] || ':' || r.fields[6] order by r.record)
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) r
    where r.fields[1] = 'c0000000-0000-0000-0000-000000000003'),
  array['0:system'],
  'a conversation without turns gets just the systemPrompt record, no empty one');

select is(
  (select r.fields[7]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000005', 1)) r
    where r.fields[1] = 'c0000000-0000-0000-0000-000000000001' and r.fields[5] = '5'),
  repeat('é', 199) || '😀',
  'includeFullContent false cuts content to its first 200 code points');

select is(
  (select r.fields[7]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000001', 1)) r
    where r.fields[1] = 'c0000000-0000-0000-0000-000000000001' and r.fields[5] = '5'),
  repeat('é', 199) || '😀tail',
  'includeFullContent true keeps the whole content');

select is(
  (select r.fields[7]
     from tests.csv_records(tests.render_file('e0000000-0000-0000-0000-000000000001', 1)) r
    where r.fields[1] = 'c0000000-0000-0000-0000-000000000001' and r.fields[5] = '1'),
  'Be kind.',
  'without systemPrompt the conversation''s own system turn is a record like the others');

-- ------------------------------------------------------------------- batches and boundaries
select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 4, 0)$$,
  $$select string_agg(b.body, '' order by n), sum(b.rendered)::integer, sum(b.skipped)::integer
      from (values (1, 0), (2, 1), (3, 1), (4, 2)) p(n, before),
           lateral exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', p.n, p.n, p.before) b$$,
  'positions 1-4 in one batch equal 1-1, 2-2, 3-3, 4-4 concatenated');

select is(
  (select count(distinct tests.render_file('e0000000-0000-0000-0000-000000000001', size))::integer
     from generate_series(1, 5) size),
  1,
  'batch sizes 1 to 5 all give the same file');

select results_eq(
  $$select * from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 2, 2, 1)$$,
  $$values ('', 0, 0)$$,
  'a batch holding only a deleted member renders nothing');

select is(
  right((select body from exports_internal.render_batch('e0000000-0000-0000-0000-000000000001', 1, 1, 0)), 2),
  E'\r\n',
  'every batch ends at a record boundary (CRLF), so batches concatenate into whole records');

select is(
  exports_internal.render_footer('e0000000-0000-0000-0000-000000000001', exports_internal.batch_summary('e0000000-0000-0000-0000-000000000001', 1, 100)),
  '',
  'csv has no footer');

-- -------------------------------------------------------------------------------- helpers
select is(
  exports_internal.csv_field(null, true) || exports_internal.csv_field('', true)
  || exports_internal.csv_field('a"b', false) || exports_internal.csv_field('-1', true),
  '""""' || '"a""b"' || '"''-1"',
  'csv_field quotes every value, null and empty alike, doubles quotes and escapes a leading minus');

select is(
  exports_internal.csv_field(E'\r\nx', true) || exports_internal.csv_field(E'\nx', true)
  || exports_internal.csv_field(' =x', true),
  E'"''\r\nx"' || E'"\nx"' || '" =x"',
  'a leading CR is escaped; a leading LF or space is not one of the spec''s formula characters');

update public.export_logs set config = config - 'csvFormulaEscape'
 where id = 'e0000000-0000-0000-0000-000000000002';
select throws_ok(
  $$select exports_internal.render_header('e0000000-0000-0000-0000-000000000002', 1, now())$$,
  '22023', 'export log "e0000000-0000-0000-0000-000000000002" has config.csvFormulaEscape missing, not a boolean',
  'a csv config without csvFormulaEscape is not normalized and is refused');

select throws_ok(
  $$select exports_internal.render_header('e0000000-0000-0000-0000-000000000003', -1, now())$$,
  '22023', 'render_header needs the number of conversations rendered (>= 0), got -1',
  'a negative conversation count is refused');

select * from finish();
rollback;
