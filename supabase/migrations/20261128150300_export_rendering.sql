-- Rendering export files inside Postgres (spec/export-config.md, "File formats"): the header that
-- opens a file, the body of one bounded batch of members, and the footer that closes it. The
-- worker stores header || batch bodies (in order) || footer, so each piece is exact text of the
-- final file, and the file comes out the same wherever the batch boundaries fall.
--
-- A batch is one set-based query: the members in a position range, joined to their
-- conversations (a member whose conversation was deleted drops out of the join, as the spec
-- wants), each conversation's turns read through the (conversation_id, turn_number) index.
-- batch_members is that read, written once; render_batch hands the batch to the renderer of the
-- export's layout (json, jsonl chat or alpaca, csv, markdown), each one query over it. The json
-- summary of a batch (batch_summary) reads the same members, and the footer renders the
-- summaries of all batches added up.
--
-- JSON is built by concatenating to_json(value)::text pieces rather than with json_build_object
-- (which writes " : " and ", ") or jsonb (which reorders keys): compact output in the spec's key
-- order, with every string escaped by to_json. Timestamps are UTC ISO 8601 with microseconds and Z.
--
-- The entry points (render_header, render_batch and its per-layout renderers, render_footer,
-- load_render_options, batch_summary, add_summaries) set search_path ''. The small SQL helpers
-- they call per batch, per conversation or per turn (batch_members, export_turns, the
-- formatting helpers) deliberately do not: a SET clause stops the planner from inlining a SQL
-- function, and a call that is not inlined cost 10-30 microseconds here, which per conversation
-- is a third of the time a batch takes. Inlined, a helper's body becomes part of the calling
-- query and is parsed under its search_path, which is always '' here; the bodies use only
-- built-ins and schema-qualified names.

-- What one export's stored config asks for, read and checked once per call.
create type exports_internal.render_options as (
  export_id uuid,
  format text,
  template text,
  include_metadata boolean,
  include_quality_scores boolean,
  include_timestamps boolean,
  include_approval_history boolean,
  include_parent_references boolean,
  include_full_content boolean,
  csv_formula_escape boolean,
  system_prompt text
);

-- Reads an export's normalized config. A config that is not normalized is a bug upstream, so it
-- is refused loudly rather than rendered with guessed defaults.
create function exports_internal.load_render_options(p_export_log_id uuid)
returns exports_internal.render_options
language plpgsql
stable
set search_path = ''
as $$
declare
  log_config jsonb;
  options exports_internal.render_options;
  flag text;
begin
  select l.export_id, l.config into options.export_id, log_config
    from public.export_logs l
   where l.id = p_export_log_id;
  if not found then
    raise exception 'export log "%" does not exist', p_export_log_id
      using errcode = 'no_data_found',
            hint = 'Pass the id of a public.export_logs row (its "id", not its "export_id").';
  end if;

  options.format := log_config ->> 'format';
  if options.format is null or options.format not in ('json', 'jsonl', 'csv', 'markdown') then
    raise exception 'export log "%" has config.format %, not one of json, jsonl, csv, markdown',
        p_export_log_id, coalesce((log_config -> 'format')::text, 'missing')
      using errcode = 'invalid_parameter_value',
            hint = 'export_logs.config must hold the normalized ExportConfig.';
  end if;
  foreach flag in array array['includeMetadata', 'includeQualityScores', 'includeTimestamps',
                              'includeApprovalHistory', 'includeParentReferences',
                              'includeFullContent']
                        || case when options.format = 'csv' then array['csvFormulaEscape']
                                else array[]::text[] end
  loop
    if jsonb_typeof(log_config -> flag) is distinct from 'boolean' then
      raise exception 'export log "%" has config.% %, not a boolean',
          p_export_log_id, flag, coalesce((log_config -> flag)::text, 'missing')
        using errcode = 'invalid_parameter_value',
              hint = 'export_logs.config must hold the normalized ExportConfig, every default filled in.';
    end if;
  end loop;
  if options.format = 'jsonl' then
    options.template := log_config ->> 'template';
    if options.template is null or options.template not in ('openai', 'sharegpt', 'alpaca') then
      raise exception 'export log "%" has config.template %, not one of openai, sharegpt, alpaca',
          p_export_log_id, coalesce((log_config -> 'template')::text, 'missing')
        using errcode = 'invalid_parameter_value',
              hint = 'export_logs.config must hold the normalized ExportConfig, every default filled in.';
    end if;
  end if;
  if log_config ? 'systemPrompt' and jsonb_typeof(log_config -> 'systemPrompt') <> 'string' then
    raise exception 'export log "%" has config.systemPrompt %, not a string',
        p_export_log_id, log_config -> 'systemPrompt'
      using errcode = 'invalid_parameter_value',
            hint = 'A normalized config leaves systemPrompt out when none was given.';
  end if;

  options.include_metadata := (log_config ->> 'includeMetadata')::boolean;
  options.include_quality_scores := (log_config ->> 'includeQualityScores')::boolean;
  options.include_timestamps := (log_config ->> 'includeTimestamps')::boolean;
  options.include_approval_history := (log_config ->> 'includeApprovalHistory')::boolean;
  options.include_parent_references := (log_config ->> 'includeParentReferences')::boolean;
  options.include_full_content := (log_config ->> 'includeFullContent')::boolean;
  options.csv_formula_escape := coalesce((log_config ->> 'csvFormulaEscape')::boolean, false);
  options.system_prompt := log_config ->> 'systemPrompt';
  return options;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Inlined helpers (no SET clause: see the top of this file)
-- ---------------------------------------------------------------------------------------------

-- A timestamp as files write it: UTC, microseconds, Z (2026-11-28T14:03:07.123000Z).
create function exports_internal.iso_utc(p_at timestamptz) returns text
language sql
stable
as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- A jsonb value as compact JSON text. jsonb prints ", " and ": " between items, so its text is
-- re-serialized, taking the first of three routes that is exact for the value:
-- 1. No object member is null: json_strip_nulls re-emits the text compactly and drops nothing.
-- 2. No string in it contains ", " or ": ": dropping those everywhere only touches separators,
--    which re-parsing proves (a changed string or key would compare unequal).
-- 3. Otherwise a regular expression that consumes each string literal whole, so that it drops
--    the spaces outside strings only. It is several times slower, hence last.
create function exports_internal.json_compact(p_value jsonb) returns text
language sql
immutable
as $$
  select case
    when jsonb_strip_nulls(p_value) = p_value
      then json_strip_nulls(p_value::json)::text
    when replace(replace(p_value::text, ', ', ','), ': ', ':')::jsonb = p_value
      then replace(replace(p_value::text, ', ', ','), ': ', ':')
    else regexp_replace(p_value::text, '("(?:[^"\\]|\\.)*")|([,:]) ', '\1\2', 'g')
  end
$$;

-- A conversation's "metadata" object for json and jsonl: keys in the spec's order, each flag
-- adding only its own keys, a missing value written as null.
create function exports_internal.metadata_json(
  p_conversation public.conversations,
  p_options exports_internal.render_options
) returns text
language sql
stable
as $$
  select '{"conversation_id":' || to_json((p_conversation).id)::text
    || ',"title":' || coalesce(to_json((p_conversation).title)::text, 'null')
    || ',"tier":' || to_json((p_conversation).tier)::text
    || ',"status":' || to_json((p_conversation).status)::text
    || ',"persona":' || coalesce(to_json((p_conversation).persona)::text, 'null')
    || ',"emotion":' || coalesce(to_json((p_conversation).emotion)::text, 'null')
    || ',"category":' || array_to_json((p_conversation).category)::text
    || ',"turn_count":' || (p_conversation).turn_count
    || ',"total_tokens":' || (p_conversation).total_tokens
    || case when (p_options).include_quality_scores then
         ',"quality_score":' || coalesce(to_json((p_conversation).quality_score)::text, 'null')
         || ',"quality_metrics":' || exports_internal.json_compact((p_conversation).quality_metrics)
       else '' end
    || case when (p_options).include_timestamps then
         ',"created_at":' || to_json(exports_internal.iso_utc((p_conversation).created_at))::text
         || ',"updated_at":' || to_json(exports_internal.iso_utc((p_conversation).updated_at))::text
       else '' end
    || case when (p_options).include_approval_history then
         ',"review_history":' || exports_internal.json_compact((p_conversation).review_history)
       else '' end
    || case when (p_options).include_parent_references then
         ',"parent_id":' || coalesce(to_json((p_conversation).parent_id)::text, 'null')
         || ',"parent_type":' || coalesce(to_json((p_conversation).parent_type)::text, 'null')
       else '' end
    || '}'
$$;

-- Text on one line for markdown: each line break (CRLF, CR or LF) becomes one space, so a title
-- or a metadata value can neither end its heading or bullet nor start a block of its own.
create function exports_internal.single_line(p_value text) returns text
language sql
immutable
as $$
  select replace(replace(replace(p_value, E'\r\n', ' '), E'\r', ' '), E'\n', ' ')
$$;

-- Text as a markdown blockquote: every line, split on CRLF, CR and LF, prefixed "> " (an empty
-- line too), so nothing in it (a "## " heading, a "---" rule, a fence) can end the quote.
create function exports_internal.blockquote(p_value text) returns text
language sql
immutable
as $$
  select '> ' || replace(replace(replace(p_value, E'\r\n', E'\n'), E'\r', E'\n'), E'\n', E'\n> ')
$$;

-- The same metadata as markdown bullets, one "- key: value" line each, null written as null.
create function exports_internal.metadata_markdown(
  p_conversation public.conversations,
  p_options exports_internal.render_options
) returns text
language sql
stable
as $$
  select '- conversation_id: ' || (p_conversation).id::text || E'\n'
    || '- title: ' || coalesce(exports_internal.single_line((p_conversation).title), 'null') || E'\n'
    || '- tier: ' || (p_conversation).tier || E'\n'
    || '- status: ' || (p_conversation).status || E'\n'
    || '- persona: ' || coalesce(exports_internal.single_line((p_conversation).persona), 'null') || E'\n'
    || '- emotion: ' || coalesce(exports_internal.single_line((p_conversation).emotion), 'null') || E'\n'
    || '- category: '
    || exports_internal.single_line(array_to_string((p_conversation).category, '; ')) || E'\n'
    || '- turn_count: ' || (p_conversation).turn_count || E'\n'
    || '- total_tokens: ' || (p_conversation).total_tokens || E'\n'
    || case when (p_options).include_quality_scores then
         '- quality_score: ' || coalesce((p_conversation).quality_score::text, 'null') || E'\n'
         || '- quality_metrics: ' || exports_internal.json_compact((p_conversation).quality_metrics) || E'\n'
       else '' end
    || case when (p_options).include_timestamps then
         '- created_at: ' || exports_internal.iso_utc((p_conversation).created_at) || E'\n'
         || '- updated_at: ' || exports_internal.iso_utc((p_conversation).updated_at) || E'\n'
       else '' end
    || case when (p_options).include_approval_history then
         '- review_history: ' || exports_internal.json_compact((p_conversation).review_history) || E'\n'
       else '' end
    || case when (p_options).include_parent_references then
         '- parent_id: ' || coalesce((p_conversation).parent_id::text, 'null') || E'\n'
         || '- parent_type: ' || coalesce((p_conversation).parent_type, 'null') || E'\n'
       else '' end
$$;

-- One CSV field (RFC 4180): always quoted, '"' doubled, null as an empty field. With
-- p_formula_escape, a value starting with = + - @ tab or CR gets a leading ' so that spreadsheets
-- show it as text instead of evaluating it.
create function exports_internal.csv_field(p_value text, p_formula_escape boolean) returns text
language sql
immutable
as $$
  select '"' || replace(
           case when p_formula_escape and left(p_value, 1) in ('=', '+', '-', '@', E'\t', E'\r')
                then '''' || p_value
                else coalesce(p_value, '') end,
           '"', '""') || '"'
$$;

-- A conversation's turns as every format exports them. With systemPrompt, a turn 0 carrying it
-- comes first (never cut, no token count) and the conversation's own system turns are left
-- out. Without includeFullContent, each stored turn's content is cut to its first 200
-- characters (left() counts code points).
create function exports_internal.export_turns(
  p_conversation_id uuid,
  p_options exports_internal.render_options
) returns table (turn_number integer, role text, content text, token_count integer)
language sql
stable
as $$
  select 0, 'system', (p_options).system_prompt, null::integer
   where (p_options).system_prompt is not null
  union all
  select t.turn_number, t.role,
         case when (p_options).include_full_content then t.content else left(t.content, 200) end,
         t.token_count
    from public.conversation_turns t
   where t.conversation_id = p_conversation_id
     and ((p_options).system_prompt is null or t.role <> 'system')
$$;

-- ---------------------------------------------------------------------------------------------
-- Entry points, called by the worker
-- ---------------------------------------------------------------------------------------------

-- What comes before the first batch. The worker writes it last, once the number of
-- conversations actually rendered is known, and stores it first.
create function exports_internal.render_header(
  p_export_log_id uuid,
  p_conversation_count integer,
  p_exported_at timestamptz
) returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  o exports_internal.render_options := exports_internal.load_render_options(p_export_log_id);
begin
  if p_conversation_count is null or p_conversation_count < 0 then
    raise exception 'render_header needs the number of conversations rendered (>= 0), got %',
        coalesce(p_conversation_count::text, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_exported_at is null then
    raise exception 'render_header needs the export time, got null'
      using errcode = 'invalid_parameter_value';
  end if;
  return case o.format
    when 'json' then
      '{"version":"1.0","export_id":' || to_json(o.export_id)::text
      || ',"exported_at":' || to_json(exports_internal.iso_utc(p_exported_at))::text
      || ',"conversation_count":' || p_conversation_count
      || ',"conversations":['
    when 'jsonl' then ''
    -- chr(65279) is U+FEFF, the byte-order mark. The header names the columns every row has.
    when 'csv' then
      chr(65279)
      || '"conversation_id","title","status","tier","turn_number","role","content","token_count"'
      || case when o.include_quality_scores then ',"quality_score"' else '' end
      || case when o.include_metadata then ',"persona","emotion","category"' else '' end
      || case when o.include_timestamps then ',"created_at","updated_at"' else '' end
      || case when o.include_parent_references then ',"parent_id","parent_type"' else '' end
      || E'\r\n'
    when 'markdown' then
      E'# Training conversations export\n\n'
      || '- Export ID: ' || o.export_id::text || E'\n'
      || '- Exported at: ' || exports_internal.iso_utc(p_exported_at) || E'\n'
      || '- Conversations: ' || p_conversation_count || E'\n'
  end;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Batches: the one read of a batch's members, one renderer per layout, render_batch choosing
-- ---------------------------------------------------------------------------------------------

-- The batch: members p_first_position..p_last_position with their conversations, each as a
-- whole public.conversations row (the metadata helpers take one) and its id on its own. A
-- member whose conversation was deleted drops out of the join, as the spec wants (it is neither
-- rendered nor skipped). Every layout's renderer and the json summary read a batch through this
-- one function, so they cannot disagree about which conversations it holds.
--
-- Like the helpers above it has no SET clause, so the planner inlines it into the query that
-- reads it: each batch is still one query, an index range scan of export_members joined to
-- conversations, with nothing materialized on the way, and a field read as
-- (m.conversation).title is planned as the plain column it is. Not so inside a subquery (the
-- planner simplifies only fields of the query's own rows): there the renderers use
-- conversation_id, or every row would be built whole just to hand its id to the turns' lookup.
create function exports_internal.batch_members(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer
) returns table ("position" integer, conversation_id uuid, conversation public.conversations)
language sql
stable
as $$
  select m.position, c.id, c
    from exports_internal.export_members m
    join public.conversations c on c.id = m.conversation_id
   where m.export_log_id = p_export_log_id
     and m.position between p_first_position and p_last_position
$$;

-- The renderers below, one per layout, take render_batch's arguments (checked there; only json
-- and markdown need p_rendered_before, for their separators) and the export's options, and
-- return render_batch's result for their layout. Each is one query over batch_members. They are
-- PL/pgSQL so that the query's plan is kept for the session, as it was when the layouts were
-- branches of one function (the query of a SQL function that is not inlined is planned again on
-- every call).
--
-- work_mem: string_agg(... order by position) sorts the batch's rendered text, which the result
-- holds in memory anyway; at the default 4MB a 1,000-conversation batch would spill that sort to
-- disk for nothing.

-- json: conversations are elements of the "conversations" array: "," between them, and
-- before this batch's first one when an earlier batch already wrote one.
create function exports_internal.render_batch_json(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_rendered_before integer,
  p_options exports_internal.render_options
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o alias for p_options;
begin
  return query
  select case when p_rendered_before > 0 and count(*) > 0 then ',' else '' end
         || coalesce(string_agg(
              '{"conversation_id":' || to_json(m.conversation_id)::text
              || ',"title":' || coalesce(to_json((m.conversation).title)::text, 'null')
              || ',"status":' || to_json((m.conversation).status)::text
              || ',"tier":' || to_json((m.conversation).tier)::text
              || ',"turns":['
              || coalesce((
                   select string_agg(
                            '{"turn_number":' || t.turn_number
                            || ',"role":' || to_json(t.role)::text
                            || ',"content":' || to_json(t.content)::text
                            || ',"token_count":' || coalesce(t.token_count::text, 'null') || '}',
                            ',' order by t.turn_number)
                     from exports_internal.export_turns(m.conversation_id, o) t), '')
              || ']'
              || case when o.include_metadata
                      then ',"metadata":' || exports_internal.metadata_json(m.conversation, o)
                      else '' end
              || '}',
              ',' order by m.position), ''),
         count(*)::integer,
         0
    from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m;
end
$$;

-- jsonl, openai and sharegpt: one line per conversation. The layouts differ only in names:
-- openai {"messages":[{"role","content"}]}, sharegpt {"conversations":[{"from","value"}]} with
-- user -> human and assistant -> gpt.
create function exports_internal.render_batch_jsonl_chat(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_options exports_internal.render_options
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o alias for p_options;
begin
  return query
  select coalesce(string_agg(
           case when o.template = 'openai' then '{"messages":[' else '{"conversations":[' end
           || coalesce((
                select string_agg(
                         case when o.template = 'openai'
                              then '{"role":' || to_json(t.role)::text || ',"content":'
                              else '{"from":' || to_json(case t.role when 'user' then 'human'
                                                                    when 'assistant' then 'gpt'
                                                                    else t.role end)::text
                                   || ',"value":' end
                         || to_json(t.content)::text || '}',
                         ',' order by t.turn_number)
                  from exports_internal.export_turns(m.conversation_id, o) t), '')
           || ']'
           || case when o.include_metadata
                   then ',"metadata":' || exports_internal.metadata_json(m.conversation, o)
                   else '' end
           || E'}\n',
           '' order by m.position), ''),
         count(*)::integer,
         0
    from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m;
end
$$;

-- jsonl, alpaca: it works on the dialogue, the conversation's non-system turns (system turns
-- have a field of their own). Numbered from the end, it must end with user (2) -> assistant
-- (1): that pair is instruction/output, and every earlier user turn directly followed by an
-- assistant turn is a history pair. Otherwise the conversation is skipped: its line is null.
-- system is systemPrompt, else the first system turn, else "".
create function exports_internal.render_batch_jsonl_alpaca(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_options exports_internal.render_options
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o alias for p_options;
begin
  return query
  select coalesce(string_agg(a.line, '' order by m.position), ''),
         count(a.line)::integer,
         (count(*) - count(a.line))::integer
    from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m
    cross join lateral (
      select case when bool_or(d.from_end = 2 and d.role = 'user' and d.next_role = 'assistant')
             then '{"instruction":' || to_json(min(d.content) filter (where d.from_end = 2))::text
                  || ',"input":"","output":'
                  || to_json(min(d.next_content) filter (where d.from_end = 2))::text
                  || ',"system":' || to_json(coalesce(
                       o.system_prompt,
                       (select case when o.include_full_content then s.content
                                    else left(s.content, 200) end
                          from public.conversation_turns s
                         where s.conversation_id = m.conversation_id and s.role = 'system'
                         order by s.turn_number
                         limit 1),
                       ''))::text
                  || ',"history":['
                  || coalesce(string_agg(
                       '[' || to_json(d.content)::text || ',' || to_json(d.next_content)::text || ']',
                       ',' order by d.turn_number)
                       filter (where d.from_end > 2 and d.role = 'user'
                                 and d.next_role = 'assistant'), '')
                  || ']'
                  || case when o.include_metadata
                          then ',"metadata":' || exports_internal.metadata_json(m.conversation, o)
                          else '' end
                  || E'}\n'
             end as line
        from (select s.turn_number, s.role, s.content,
                     lead(s.role) over (order by s.turn_number) as next_role,
                     lead(s.content) over (order by s.turn_number) as next_content,
                     row_number() over (order by s.turn_number desc) as from_end
                from exports_internal.export_turns(m.conversation_id, o) s
               where s.role <> 'system') d
    ) a;
end
$$;

-- csv: one record per turn, each ending in CRLF. The conversation's own fields are rendered once
-- per conversation (head before the turn fields, tail after, each flag adding only its
-- columns) and repeated on each of its records; a conversation without turns still gets one
-- record, its turn fields empty. turn_number, role and token_count are integers and fixed
-- words, in which no quote or formula character can occur, so they are quoted directly.
-- The conversations are a materialized CTE so that head and tail are computed once per
-- conversation and handed to its turns as values, not recomputed for every turn.
create function exports_internal.render_batch_csv(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_options exports_internal.render_options
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o alias for p_options;
begin
  return query
  with h as materialized (
    select m.position, m.conversation_id,
           exports_internal.csv_field(m.conversation_id::text, o.csv_formula_escape)
           || ',' || exports_internal.csv_field((m.conversation).title, o.csv_formula_escape)
           || ',' || exports_internal.csv_field((m.conversation).status, o.csv_formula_escape)
           || ',' || exports_internal.csv_field((m.conversation).tier, o.csv_formula_escape) as head,
           case when o.include_quality_scores then
             ',' || exports_internal.csv_field((m.conversation).quality_score::text, o.csv_formula_escape)
           else '' end
           || case when o.include_metadata then
             ',' || exports_internal.csv_field((m.conversation).persona, o.csv_formula_escape)
             || ',' || exports_internal.csv_field((m.conversation).emotion, o.csv_formula_escape)
             || ',' || exports_internal.csv_field(array_to_string((m.conversation).category, '; '),
                                                  o.csv_formula_escape)
           else '' end
           || case when o.include_timestamps then
             ',' || exports_internal.csv_field(exports_internal.iso_utc((m.conversation).created_at),
                                               o.csv_formula_escape)
             || ',' || exports_internal.csv_field(exports_internal.iso_utc((m.conversation).updated_at),
                                                  o.csv_formula_escape)
           else '' end
           || case when o.include_parent_references then
             ',' || exports_internal.csv_field((m.conversation).parent_id::text, o.csv_formula_escape)
             || ',' || exports_internal.csv_field((m.conversation).parent_type, o.csv_formula_escape)
           else '' end as tail
      from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m
  )
  select coalesce(string_agg(
           coalesce(
             (select string_agg(
                       h.head || ',"' || t.turn_number || '","' || t.role || '",'
                       || exports_internal.csv_field(t.content, o.csv_formula_escape)
                       || ',"' || coalesce(t.token_count::text, '') || '"' || h.tail || E'\r\n',
                       '' order by t.turn_number)
                from exports_internal.export_turns(h.conversation_id, o) t),
             h.head || ',"","","",""' || h.tail || E'\r\n'),
           '' order by h.position), ''),
         count(*)::integer,
         0
    from h;
end
$$;

-- markdown: each conversation opens with a blank line and "## title" (line breaks as
-- spaces; blank reads Untitled), then its metadata bullets, "### Dialogue" and each turn as
-- its speaker label and a blockquote. Every block ends in a newline, and "---" on a line of
-- its own, with blank lines around it, goes between conversations.
create function exports_internal.render_batch_markdown(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_rendered_before integer,
  p_options exports_internal.render_options
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o alias for p_options;
begin
  return query
  select case when p_rendered_before > 0 and count(*) > 0 then E'\n---\n' else '' end
         || coalesce(string_agg(
              E'\n## '
              || coalesce(nullif(btrim(exports_internal.single_line((m.conversation).title), E' \t'), ''),
                          'Untitled')
              || E'\n'
              || case when o.include_metadata
                      then E'\n' || exports_internal.metadata_markdown(m.conversation, o)
                      else '' end
              || E'\n### Dialogue\n'
              || coalesce((
                   select string_agg(
                            case t.role when 'system' then E'\n**System:**\n\n'
                                        when 'user' then E'\n**User:**\n\n'
                                        else E'\n**Assistant:**\n\n' end
                            || exports_internal.blockquote(t.content) || E'\n',
                            '' order by t.turn_number)
                     from exports_internal.export_turns(m.conversation_id, o) t), ''),
              E'\n---\n' order by m.position), ''),
         count(*)::integer,
         0
    from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m;
end
$$;

-- Renders members p_first_position..p_last_position in position order. rendered counts the
-- conversations written into body, skipped those the alpaca layout leaves out (a member whose
-- conversation was deleted is neither). p_rendered_before is how many earlier batches wrote, so
-- the first conversation here knows whether a separator goes before it. It reads the export's
-- options once, checks the arguments, and hands the batch to the renderer of its layout.
--
-- work_mem as in the renderers: the batch's text passes through this function's result as well,
-- which at the default 4MB would be written to a temporary file on every batch.
create function exports_internal.render_batch(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer,
  p_rendered_before integer
) returns table (body text, rendered integer, skipped integer)
language plpgsql
stable
set search_path = ''
set work_mem = '64MB'
as $$
declare
  o exports_internal.render_options := exports_internal.load_render_options(p_export_log_id);
begin
  if p_first_position is null or p_last_position is null
     or p_rendered_before is null or p_rendered_before < 0 then
    raise exception 'render_batch needs positions and a rendered count >= 0, got %, %, %',
        coalesce(p_first_position::text, 'null'), coalesce(p_last_position::text, 'null'),
        coalesce(p_rendered_before::text, 'null')
      using errcode = 'invalid_parameter_value';
  end if;

  if o.format = 'json' then
    return query select * from exports_internal.render_batch_json(
      p_export_log_id, p_first_position, p_last_position, p_rendered_before, o);
  elsif o.format = 'jsonl' and o.template in ('openai', 'sharegpt') then
    return query select * from exports_internal.render_batch_jsonl_chat(
      p_export_log_id, p_first_position, p_last_position, o);
  elsif o.format = 'jsonl' then
    return query select * from exports_internal.render_batch_jsonl_alpaca(
      p_export_log_id, p_first_position, p_last_position, o);
  elsif o.format = 'csv' then
    return query select * from exports_internal.render_batch_csv(
      p_export_log_id, p_first_position, p_last_position, o);
  else
    -- markdown, the one format left (load_render_options admits no other)
    return query select * from exports_internal.render_batch_markdown(
      p_export_log_id, p_first_position, p_last_position, p_rendered_before, o);
  end if;
end
$$;

-- The json summary of a batch, over the conversations batch_members gives, which are those its
-- text holds: turn and token totals (the conversations' own turn_count/total_tokens, as their
-- metadata shows them), the quality sum and count behind the average, and the tier and status
-- counts. Stable, so called in the same statement as render_batch it reads the same snapshot.
create function exports_internal.batch_summary(
  p_export_log_id uuid,
  p_first_position integer,
  p_last_position integer
) returns jsonb
language sql
stable
set search_path = ''
as $$
  with members as materialized (
    select (m.conversation).tier, (m.conversation).status, (m.conversation).turn_count,
           (m.conversation).total_tokens, (m.conversation).quality_score
      from exports_internal.batch_members(p_export_log_id, p_first_position, p_last_position) m
  )
  select jsonb_build_object(
           'total_turns', coalesce(sum(turn_count), 0),
           'total_tokens', coalesce(sum(total_tokens), 0),
           'quality_sum', coalesce(sum(quality_score), 0),
           'quality_count', count(quality_score),
           'tiers', coalesce((select jsonb_object_agg(tier, n)
                                from (select tier, count(*) as n from members group by tier) d),
                             '{}'::jsonb),
           'statuses', coalesce((select jsonb_object_agg(status, n)
                                   from (select status, count(*) as n from members group by status) d),
                                '{}'::jsonb))
    from members
$$;

-- Two summaries added up (null is the empty summary), key by key for the distributions.
create function exports_internal.add_summaries(p_a jsonb, p_b jsonb) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case
    when p_a is null then p_b
    when p_b is null then p_a
    else jsonb_build_object(
      'total_turns', (p_a ->> 'total_turns')::bigint + (p_b ->> 'total_turns')::bigint,
      'total_tokens', (p_a ->> 'total_tokens')::bigint + (p_b ->> 'total_tokens')::bigint,
      'quality_sum', (p_a ->> 'quality_sum')::numeric + (p_b ->> 'quality_sum')::numeric,
      'quality_count', (p_a ->> 'quality_count')::bigint + (p_b ->> 'quality_count')::bigint,
      'tiers', (select coalesce(jsonb_object_agg(key, n), '{}'::jsonb)
                  from (select key, sum(value::bigint) as n
                          from (select * from jsonb_each_text(p_a -> 'tiers')
                                union all
                                select * from jsonb_each_text(p_b -> 'tiers')) e
                         group by key) s),
      'statuses', (select coalesce(jsonb_object_agg(key, n), '{}'::jsonb)
                     from (select key, sum(value::bigint) as n
                             from (select * from jsonb_each_text(p_a -> 'statuses')
                                   union all
                                   select * from jsonb_each_text(p_b -> 'statuses')) e
                            group by key) s))
  end
$$;

-- What comes after the last batch: for json the end of the "conversations" array, the summary
-- (with includeMetadata) and the closing brace; nothing for the other formats. The summary is the
-- one generate_next_batch added up batch by batch (export_jobs.summary), so it describes the
-- conversations as the file has them; null (no batch yet) reads as an empty summary.
-- Distributions list the values present, in alphabetical order.
create function exports_internal.render_footer(p_export_log_id uuid, p_summary jsonb)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  o exports_internal.render_options := exports_internal.load_render_options(p_export_log_id);
  s jsonb := coalesce(p_summary, exports_internal.batch_summary(p_export_log_id, 1, 0));
  summary text;
begin
  if o.format <> 'json' then
    return '';
  end if;
  if o.include_metadata then
    summary := '{"total_turns":' || (s ->> 'total_turns')
      || ',"total_tokens":' || (s ->> 'total_tokens')
      || ',"average_quality_score":'
      || case when (s ->> 'quality_count')::bigint = 0 then 'null'
              else round((s ->> 'quality_sum')::numeric / (s ->> 'quality_count')::bigint, 2)::text end
      || ',"tier_distribution":{'
      || coalesce((select string_agg(to_json(key)::text || ':' || value, ',' order by key)
                     from jsonb_each_text(s -> 'tiers')), '')
      || '},"status_distribution":{'
      || coalesce((select string_agg(to_json(key)::text || ':' || value, ',' order by key)
                     from jsonb_each_text(s -> 'statuses')), '')
      || '}}';
  end if;
  return ']' || coalesce(',"summary":' || summary, '') || '}';
end
$$;

-- Only the worker renders; clients never reach any of this. The schema's default privileges
-- already keep EXECUTE from public; this says so for each function, and lets service_role
-- render as it may work the queue tables these read.
revoke execute on function
  exports_internal.load_render_options(uuid),
  exports_internal.iso_utc(timestamptz),
  exports_internal.json_compact(jsonb),
  exports_internal.metadata_json(public.conversations, exports_internal.render_options),
  exports_internal.single_line(text),
  exports_internal.blockquote(text),
  exports_internal.metadata_markdown(public.conversations, exports_internal.render_options),
  exports_internal.csv_field(text, boolean),
  exports_internal.export_turns(uuid, exports_internal.render_options),
  exports_internal.render_header(uuid, integer, timestamptz),
  exports_internal.batch_members(uuid, integer, integer),
  exports_internal.render_batch_json(uuid, integer, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_jsonl_chat(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_jsonl_alpaca(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_csv(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_markdown(uuid, integer, integer, integer, exports_internal.render_options),
  exports_internal.render_batch(uuid, integer, integer, integer),
  exports_internal.batch_summary(uuid, integer, integer),
  exports_internal.add_summaries(jsonb, jsonb),
  exports_internal.render_footer(uuid, jsonb)
  from public, anon, authenticated;
grant execute on function
  exports_internal.load_render_options(uuid),
  exports_internal.iso_utc(timestamptz),
  exports_internal.json_compact(jsonb),
  exports_internal.metadata_json(public.conversations, exports_internal.render_options),
  exports_internal.single_line(text),
  exports_internal.blockquote(text),
  exports_internal.metadata_markdown(public.conversations, exports_internal.render_options),
  exports_internal.csv_field(text, boolean),
  exports_internal.export_turns(uuid, exports_internal.render_options),
  exports_internal.render_header(uuid, integer, timestamptz),
  exports_internal.batch_members(uuid, integer, integer),
  exports_internal.render_batch_json(uuid, integer, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_jsonl_chat(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_jsonl_alpaca(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_csv(uuid, integer, integer, exports_internal.render_options),
  exports_internal.render_batch_markdown(uuid, integer, integer, integer, exports_internal.render_options),
  exports_internal.render_batch(uuid, integer, integer, integer),
  exports_internal.batch_summary(uuid, integer, integer),
  exports_internal.add_summaries(jsonb, jsonb),
  exports_internal.render_footer(uuid, jsonb)
  to service_role;
