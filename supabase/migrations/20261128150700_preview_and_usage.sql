-- What the web UI asks before an export (api.md: POST /exports/preview, GET /exports/usage):
-- the figures the per-user limits enforce, and the first records of a file that does not exist.

-- The usage the limits of POST /exports and retry are checked against, read once here so that
-- GET /exports/usage shows exactly what they enforce: exports active now, requests in the last
-- 24 hours (and when the oldest leaves that window), bytes of stored files (and when the first
-- of them expires). Read by the owner, under the per-user lock when a limit is enforced.
create function exports_internal.user_usage(p_user_id uuid)
returns table (
  active integer,
  daily integer,
  oldest_daily_request_at timestamptz,
  stored_bytes bigint,
  first_expiry_at timestamptz
)
language sql
stable
set search_path = ''
as $$
  select
    (select count(*)::integer from public.export_logs
      where user_id = p_user_id and status in ('queued', 'processing')),
    (select count(*)::integer from exports_internal.export_requests
      where user_id = p_user_id and requested_at > now() - interval '24 hours'),
    (select min(requested_at) from exports_internal.export_requests
      where user_id = p_user_id and requested_at > now() - interval '24 hours'),
    (select coalesce(sum(file_size), 0)::bigint from public.export_logs
      where user_id = p_user_id and status = 'completed'),
    (select min(expires_at) from public.export_logs
      where user_id = p_user_id and status = 'completed')
$$;

-- The opening of the file an export of p_config would produce: its header and its first
-- members (p_member_ids, in file order, already resolved as the user), rendered by the very
-- functions that render files (render_header, render_batch), at most p_max_bytes of text, cut at
-- a record boundary. The renderers read an export's row and members, so they are written here
-- and undone before returning: the inner block raises once rendering is done, which rolls back
-- its writes (a subtransaction) while the variables keep the text. Nothing is ever stored, and
-- nothing outside this call can see the transient rows (they are never committed).
create function exports_internal.preview_sample(
  p_user_id uuid,
  p_config jsonb,
  p_member_ids uuid[],
  p_conversation_count integer,
  p_max_bytes integer
) returns table (text text, records integer, skipped integer)
language plpgsql
volatile
set search_path = ''
as $$
declare
  transient_log_id uuid;
  piece record;
  sample text := '';
  sample_records integer := 0;
  sample_skipped integer := 0;
begin
  begin
    insert into public.export_logs (user_id, format, config, conversation_count)
    values (p_user_id, p_config ->> 'format', p_config, p_conversation_count)
    returning id into transient_log_id;
    insert into exports_internal.export_members (export_log_id, position, conversation_id)
    select transient_log_id, m.position, m.conversation_id
      from unnest(p_member_ids) with ordinality as m(conversation_id, position);

    sample := exports_internal.render_header(transient_log_id, p_conversation_count, now());
    for member_position in 1 .. coalesce(cardinality(p_member_ids), 0) loop
      select * into piece from exports_internal.render_batch(
        transient_log_id, member_position, member_position, sample_records);
      exit when octet_length(sample) + octet_length(piece.body) > p_max_bytes;
      sample := sample || piece.body;
      sample_records := sample_records + piece.rendered;
      sample_skipped := sample_skipped + piece.skipped;
    end loop;
    raise exception 'preview rendered' using errcode = 'EXPRV';
  exception when sqlstate 'EXPRV' then
    null; -- the transient export row and its members are gone; the text stays
  end;
  return query select sample, sample_records, sample_skipped;
end
$$;

revoke execute on function
  exports_internal.user_usage(uuid),
  exports_internal.preview_sample(uuid, jsonb, uuid[], integer, integer)
  from public, anon, authenticated;
grant execute on function
  exports_internal.user_usage(uuid),
  exports_internal.preview_sample(uuid, jsonb, uuid[], integer, integer)
  to service_role;
