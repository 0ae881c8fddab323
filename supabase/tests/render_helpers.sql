-- Fixtures shared by the render tests (20-23), included after helpers.sql with
-- `\ir ../render_helpers.sql`: a user A, normalized configs, export rows with their members,
-- and the whole file assembled as the worker assembles it.

do $$
begin
  perform set_config('tests.user_a', tests.create_user('a@example.com')::text, true);
end
$$;

-- A normalized config of a format: the spec's defaults (template only for jsonl,
-- csvFormulaEscape only for csv), then the given fields.
create function tests.render_config(p_format text, p_overrides jsonb default '{}') returns jsonb
language sql
as $$
  select jsonb_build_object(
           'format', p_format, 'scope', 'all', 'includeMetadata', true,
           'includeQualityScores', true, 'includeTimestamps', true,
           'includeApprovalHistory', false, 'includeParentReferences', false,
           'includeFullContent', true)
         || case p_format when 'jsonl' then '{"template": "openai"}'::jsonb
                          when 'csv' then '{"csvFormulaEscape": true}'::jsonb
                          else '{}'::jsonb end
         || p_overrides
$$;

-- An export row (export_id derived from its id) and its members in the given order.
create function tests.make_export(p_id uuid, p_config jsonb, p_members uuid[]) returns uuid
language plpgsql
as $$
begin
  insert into public.export_logs (id, export_id, user_id, format, config, conversation_count, status)
  values (p_id, ('f' || substr(p_id::text, 2))::uuid, current_setting('tests.user_a')::uuid,
          p_config ->> 'format', p_config, cardinality(p_members), 'queued');
  insert into exports_internal.export_members (export_log_id, position, conversation_id)
  select p_id, u.position, u.conversation_id
    from unnest(p_members) with ordinality u(conversation_id, position);
  return p_id;
end
$$;

-- The whole file as the worker builds it: batches of p_batch_size positions, each told how many
-- conversations came before it and adding its part of the summary, then the header (with the
-- rendered count) and the footer (with the summary).
create function tests.render_file(p_export_log_id uuid, p_batch_size integer) returns text
language plpgsql
as $$
declare
  total integer;
  written integer := 0;
  bodies text := '';
  first_position integer := 1;
  batch record;
  summary jsonb;
begin
  select conversation_count into total from public.export_logs where id = p_export_log_id;
  while first_position <= total loop
    select * into batch
      from exports_internal.render_batch(p_export_log_id, first_position,
                                         least(first_position + p_batch_size - 1, total), written);
    bodies := bodies || batch.body;
    summary := exports_internal.add_summaries(summary, exports_internal.batch_summary(
      p_export_log_id, first_position, least(first_position + p_batch_size - 1, total)));
    written := written + batch.rendered;
    first_position := first_position + p_batch_size;
  end loop;
  return exports_internal.render_header(p_export_log_id, written, '2026-11-28 14:03:07.123+00')
         || bodies || exports_internal.render_footer(p_export_log_id, summary);
end
$$;

-- An approved scenario conversation of user A with turns given as role, content, role, content…
create function tests.new_conversation(p_id uuid, p_title text, p_created timestamptz,
                                       p_turns text[]) returns void
language plpgsql
as $$
begin
  insert into public.conversations (id, user_id, title, tier, status, created_at)
  values (p_id, current_setting('tests.user_a')::uuid, p_title, 'scenario', 'approved', p_created);
  -- p_turns alternates role, content
  insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
  select p_id, i, p_turns[2 * i - 1], p_turns[2 * i], 1
    from generate_series(1, coalesce(array_length(p_turns, 1), 0) / 2) i;
end
$$;
