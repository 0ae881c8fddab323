-- The physical floor of case 1: for each format, one plain SELECT that produces the same text as
-- the export file, one row per conversation in file order, with no batches, checkpoints,
-- leases, chunks or hashes. The benchmark times COPY (SELECT …) TO STDOUT and
-- INSERT INTO bench.scratch SELECT … on these, beside the real export of the same members.
--
-- Each row's body is what that conversation contributes to the file, separator included (the
-- "," before every json element but the first, the "---" between markdown conversations), so
-- the bodies of one batch's positions, concatenated, are byte for byte the chunk the worker
-- stored; the benchmark checks exactly that after every INSERT. The per-conversation
-- expressions are the rendering migration's own (its inlined helpers included), so a check that
-- fails means the rendering changed and this file must follow.
--
-- The export is chosen per session: set bench.export_log_id = '<export_logs.id>'.
set client_min_messages = warning;
create schema if not exists bench;

-- The members of the chosen export, with the export's render options. Each conversation is
-- looked up by its key as the members are read in position order (a lateral subquery that the
-- planner keeps as such, like the batches' nested loop), so file order costs no sort.
create or replace view bench.floor_members as
select m.position, cc.c, o
  from exports_internal.load_render_options(current_setting('bench.export_log_id')::uuid) o
  join exports_internal.export_members m
    on m.export_log_id = current_setting('bench.export_log_id')::uuid
  cross join lateral (select c from public.conversations c where c.id = m.conversation_id offset 0) cc;

create or replace view bench.floor_json as
select f.position,
       case when f.position > 1 then ',' else '' end
       || '{"conversation_id":' || to_json((f.c).id)::text
       || ',"title":' || coalesce(to_json((f.c).title)::text, 'null')
       || ',"status":' || to_json((f.c).status)::text
       || ',"tier":' || to_json((f.c).tier)::text
       || ',"turns":['
       || coalesce((
            select string_agg(
                     '{"turn_number":' || t.turn_number
                     || ',"role":' || to_json(t.role)::text
                     || ',"content":' || to_json(t.content)::text
                     || ',"token_count":' || coalesce(t.token_count::text, 'null') || '}',
                     ',' order by t.turn_number)
              from exports_internal.export_turns((f.c).id, f.o) t), '')
       || ']'
       || case when (f.o).include_metadata
               then ',"metadata":' || exports_internal.metadata_json(f.c, f.o)
               else '' end
       || '}' as body
  from bench.floor_members f;

create or replace view bench.floor_jsonl_chat as
select f.position,
       case when (f.o).template = 'openai' then '{"messages":[' else '{"conversations":[' end
       || coalesce((
            select string_agg(
                     case when (f.o).template = 'openai'
                          then '{"role":' || to_json(t.role)::text || ',"content":'
                          else '{"from":' || to_json(case t.role when 'user' then 'human'
                                                                when 'assistant' then 'gpt'
                                                                else t.role end)::text
                               || ',"value":' end
                     || to_json(t.content)::text || '}',
                     ',' order by t.turn_number)
              from exports_internal.export_turns((f.c).id, f.o) t), '')
       || ']'
       || case when (f.o).include_metadata
               then ',"metadata":' || exports_internal.metadata_json(f.c, f.o)
               else '' end
       || E'}\n' as body
  from bench.floor_members f;

create or replace view bench.floor_jsonl_alpaca as
select f.position, a.line as body
  from bench.floor_members f
  cross join lateral (
    select case when bool_or(d.from_end = 2 and d.role = 'user' and d.next_role = 'assistant')
           then '{"instruction":' || to_json(min(d.content) filter (where d.from_end = 2))::text
                || ',"input":"","output":'
                || to_json(min(d.next_content) filter (where d.from_end = 2))::text
                || ',"system":' || to_json(coalesce(
                     (f.o).system_prompt,
                     (select case when (f.o).include_full_content then s.content
                                  else left(s.content, 200) end
                        from public.conversation_turns s
                       where s.conversation_id = (f.c).id and s.role = 'system'
                       order by s.turn_number
                       limit 1),
                     ''))::text
                || ',"history":['
                || coalesce(string_agg(
                     '[' || to_json(d.content)::text || ',' || to_json(d.next_content)::text || ']',
                     ',' order by d.turn_number)
                     filter (where d.from_end > 2 and d.role = 'user' and d.next_role = 'assistant'), '')
                || ']'
                || case when (f.o).include_metadata
                        then ',"metadata":' || exports_internal.metadata_json(f.c, f.o)
                        else '' end
                || E'}\n'
           end as line
      from (select s.turn_number, s.role, s.content,
                   lead(s.role) over (order by s.turn_number) as next_role,
                   lead(s.content) over (order by s.turn_number) as next_content,
                   row_number() over (order by s.turn_number desc) as from_end
              from exports_internal.export_turns((f.c).id, f.o) s
             where s.role <> 'system') d
  ) a;

create or replace view bench.floor_csv as
select f.position,
       coalesce(
         (select string_agg(
                   h.head || ',"' || t.turn_number || '","' || t.role || '",'
                   || exports_internal.csv_field(t.content, (f.o).csv_formula_escape)
                   || ',"' || coalesce(t.token_count::text, '') || '"' || h.tail || E'\r\n',
                   '' order by t.turn_number)
            from exports_internal.export_turns((f.c).id, f.o) t),
         h.head || ',"","","",""' || h.tail || E'\r\n') as body
  from bench.floor_members f
  -- head and tail once per conversation (offset 0 keeps them from being inlined per turn)
  cross join lateral (
    select exports_internal.csv_field((f.c).id::text, (f.o).csv_formula_escape)
           || ',' || exports_internal.csv_field((f.c).title, (f.o).csv_formula_escape)
           || ',' || exports_internal.csv_field((f.c).status, (f.o).csv_formula_escape)
           || ',' || exports_internal.csv_field((f.c).tier, (f.o).csv_formula_escape) as head,
           case when (f.o).include_quality_scores then
             ',' || exports_internal.csv_field((f.c).quality_score::text, (f.o).csv_formula_escape)
           else '' end
           || case when (f.o).include_metadata then
             ',' || exports_internal.csv_field((f.c).persona, (f.o).csv_formula_escape)
             || ',' || exports_internal.csv_field((f.c).emotion, (f.o).csv_formula_escape)
             || ',' || exports_internal.csv_field(array_to_string((f.c).category, '; '),
                                                  (f.o).csv_formula_escape)
           else '' end
           || case when (f.o).include_timestamps then
             ',' || exports_internal.csv_field(exports_internal.iso_utc((f.c).created_at),
                                               (f.o).csv_formula_escape)
             || ',' || exports_internal.csv_field(exports_internal.iso_utc((f.c).updated_at),
                                                  (f.o).csv_formula_escape)
           else '' end
           || case when (f.o).include_parent_references then
             ',' || exports_internal.csv_field((f.c).parent_id::text, (f.o).csv_formula_escape)
             || ',' || exports_internal.csv_field((f.c).parent_type, (f.o).csv_formula_escape)
           else '' end as tail
    offset 0
  ) h;

create or replace view bench.floor_markdown as
select f.position,
       case when f.position > 1 then E'\n---\n' else '' end
       || E'\n## '
       || coalesce(nullif(btrim(exports_internal.single_line((f.c).title), E' \t'), ''), 'Untitled')
       || E'\n'
       || case when (f.o).include_metadata
               then E'\n' || exports_internal.metadata_markdown(f.c, f.o)
               else '' end
       || E'\n### Dialogue\n'
       || coalesce((
            select string_agg(
                     case t.role when 'system' then E'\n**System:**\n\n'
                                 when 'user' then E'\n**User:**\n\n'
                                 else E'\n**Assistant:**\n\n' end
                     || exports_internal.blockquote(t.content) || E'\n',
                     '' order by t.turn_number)
              from exports_internal.export_turns((f.c).id, f.o) t), '') as body
  from bench.floor_members f;

-- Where (b) stores the text: like export_chunks, bytes kept uncompressed (STORAGE EXTERNAL),
-- logged and indexed by position.
create table if not exists bench.scratch (position integer primary key, body text not null);
alter table bench.scratch alter column body set storage external;
