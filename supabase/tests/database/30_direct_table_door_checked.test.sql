-- The direct-table door: public is exposed over PostgREST, so a user may talk to the tables with
-- their own JWT. Acting as authenticated (and as anon), nobody reads, creates, changes or
-- deletes another user's export logs, conversations or turns; nobody inserts or updates
-- export_logs at all, not even their own row (no forged status, file, size or export_id); no
-- user writes turn_count/total_tokens, and no write leaves them disagreeing with the turns; and
-- parent_id cannot point at another user's conversation, nor tell an existing id of theirs from
-- an unused one. Every attempt is checked again afterwards as the table owner.
begin;
\ir ../helpers.sql
select plan(59);

do $$
begin
  perform set_config('tests.user_a', tests.create_user('a@example.com')::text, true);
  perform set_config('tests.user_b', tests.create_user('b@example.com')::text, true);
end
$$;

-- A: one conversation with two turns, a completed export and a queued one.
-- B: two conversations (one with a turn) and a queued export.
insert into public.conversations (id, user_id, tier, status, title)
values ('30000000-0000-0000-0000-0000000000a1', current_setting('tests.user_a')::uuid, 'template', 'approved', 'A''s'),
       ('30000000-0000-0000-0000-0000000000b1', current_setting('tests.user_b')::uuid, 'template', 'approved', 'B''s'),
       ('30000000-0000-0000-0000-0000000000b2', current_setting('tests.user_b')::uuid, 'scenario', 'draft', 'B''s second');
insert into public.conversation_turns (id, conversation_id, turn_number, role, content, token_count)
values ('30100000-0000-0000-0000-0000000000a1', '30000000-0000-0000-0000-0000000000a1', 1, 'user', 'A asks', 5),
       ('30100000-0000-0000-0000-0000000000a2', '30000000-0000-0000-0000-0000000000a1', 2, 'assistant', 'A answers', 7),
       ('30100000-0000-0000-0000-0000000000b1', '30000000-0000-0000-0000-0000000000b1', 1, 'user', 'B asks', 3);
insert into public.export_logs
  (id, export_id, user_id, format, config, conversation_count, status, file_url, file_size, expires_at)
values ('30200000-0000-0000-0000-0000000000a1', '30300000-0000-0000-0000-0000000000a1',
        current_setting('tests.user_a')::uuid, 'json', '{}', 1, 'completed',
        'http://127.0.0.1:54321/functions/v1/exports/30300000-0000-0000-0000-0000000000a1/download',
        100, '2026-11-29 00:00:00+00'),
       ('30200000-0000-0000-0000-0000000000a2', '30300000-0000-0000-0000-0000000000a2',
        current_setting('tests.user_a')::uuid, 'csv', '{}', 1, 'queued', null, null, null),
       ('30200000-0000-0000-0000-0000000000b1', '30300000-0000-0000-0000-0000000000b1',
        current_setting('tests.user_b')::uuid, 'jsonl', '{}', 2, 'queued', null, null, null);

-- Counters that disagree with the turns, for any conversation the current role can see.
create function pg_temp.counters_out_of_step() returns table (id uuid, turn_count integer, total_tokens integer)
language sql
as $$
  select c.id, c.turn_count, c.total_tokens
    from public.conversations c
    left join lateral (select count(*)::integer as turns, coalesce(sum(t.token_count), 0)::integer as tokens
                         from public.conversation_turns t where t.conversation_id = c.id) real on true
   where (c.turn_count, c.total_tokens) is distinct from (real.turns, real.tokens)
$$;

select has_trigger('public', 'conversations', 'conversations_check_parent_owner',
  'conversations has the trigger that keeps parent_id within one user''s conversations');

-- -------------------------------------------------------------------------------- as user B
select tests.authenticate_as(current_setting('tests.user_b')::uuid);

-- reading another user's rows
select is_empty(
  $$select 1 from public.export_logs where id = '30200000-0000-0000-0000-0000000000a1'$$,
  'B cannot read A''s export log by its id');
select is_empty(
  $$select 1 from public.export_logs where export_id = '30300000-0000-0000-0000-0000000000a1'
        or user_id = current_setting('tests.user_a')::uuid$$,
  'B cannot find A''s export logs by export_id or user_id either');
select results_eq(
  $$select id from public.export_logs$$,
  $$values ('30200000-0000-0000-0000-0000000000b1'::uuid)$$,
  'B sees exactly their own export log');
select is_empty(
  $$select 1 from public.conversations
     where id = '30000000-0000-0000-0000-0000000000a1' or user_id = current_setting('tests.user_a')::uuid$$,
  'B cannot read A''s conversation, by id or by user_id');
select is_empty(
  $$select 1 from public.conversation_turns where conversation_id = '30000000-0000-0000-0000-0000000000a1'
        or id = '30100000-0000-0000-0000-0000000000a1'$$,
  'B cannot read the turns of A''s conversation');
select results_eq(
  $$select id from public.conversation_turns$$,
  $$values ('30100000-0000-0000-0000-0000000000b1'::uuid)$$,
  'B sees exactly their own turn');

-- creating rows for another user
select throws_ok(
  $$insert into public.conversations (user_id, tier) values (current_setting('tests.user_a')::uuid, 'template')$$,
  '42501', 'permission denied for table conversations',
  'B cannot create a conversation owned by A: a user names no owner');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('30000000-0000-0000-0000-0000000000a1', 3, 'user', 'planted by B')$$,
  '42501', 'new row violates row-level security policy for table "conversation_turns"',
  'B cannot add a turn to A''s conversation');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count)
    values (current_setting('tests.user_a')::uuid, 'json', '{}', 1)$$,
  '42501', 'permission denied for table export_logs',
  'B cannot create an export log for A');

-- parent_id: a link to another user's conversation is refused, and says nothing about it
select throws_ok(
  $$insert into public.conversations (tier, parent_id)
    values ('scenario', '30000000-0000-0000-0000-0000000000a1')$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000a1" is not a conversation of the same user',
  'B cannot create a conversation derived from A''s');
select throws_ok(
  $$update public.conversations set parent_id = '30000000-0000-0000-0000-0000000000a1'
     where id = '30000000-0000-0000-0000-0000000000b1'$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000a1" is not a conversation of the same user',
  'B cannot point an existing conversation of theirs at A''s');
select throws_ok(
  $$insert into public.conversations (tier, parent_id)
    values ('scenario', '30000000-0000-0000-0000-0000000000ff')$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000ff" is not a conversation of the same user',
  'an id that names no conversation gets the same refusal, so B cannot tell A''s ids from unused ones');
select throws_ok(
  $$insert into public.conversations (user_id, tier, parent_id)
    values (current_setting('tests.user_a')::uuid, 'scenario', '30000000-0000-0000-0000-0000000000a1')$$,
  '42501', 'permission denied for table conversations',
  'naming A as the owner does not turn the check into an oracle: A''s real conversation is refused for privilege, before any lookup');
select throws_ok(
  $$insert into public.conversations (user_id, tier, parent_id)
    values (current_setting('tests.user_a')::uuid, 'scenario', '30000000-0000-0000-0000-0000000000fe')$$,
  '42501', 'permission denied for table conversations',
  'and an unused id with A named as the owner is refused the same way');
select lives_ok(
  $$update public.conversations set parent_id = '30000000-0000-0000-0000-0000000000b1', parent_type = 'conversation'
     where id = '30000000-0000-0000-0000-0000000000b2'$$,
  'B may derive a conversation from another of their own');

-- changing or deleting another user's rows
select is_empty(
  $$update public.conversations set title = 'taken by B', status = 'rejected'
     where id = '30000000-0000-0000-0000-0000000000a1' returning id$$,
  'B''s update of A''s conversation matches no row');
select is_empty(
  $$update public.conversation_turns set content = 'rewritten by B', token_count = 1000
     where conversation_id = '30000000-0000-0000-0000-0000000000a1' returning id$$,
  'B''s update of A''s turns matches no row');
select is_empty(
  $$delete from public.conversation_turns
     where conversation_id = '30000000-0000-0000-0000-0000000000a1' returning id$$,
  'B''s delete of A''s turns matches no row');
select is_empty(
  $$delete from public.conversations where id = '30000000-0000-0000-0000-0000000000a1' returning id$$,
  'B''s delete of A''s conversation matches no row');
select is_empty(
  $$delete from public.export_logs where user_id = current_setting('tests.user_a')::uuid returning id$$,
  'B''s delete of A''s export logs matches no row');
select throws_ok(
  $$update public.export_logs set status = 'expired' where id = '30200000-0000-0000-0000-0000000000a1'$$,
  '42501', 'permission denied for table export_logs',
  'B cannot update A''s export log');

-- counters that would disagree with the turns
select throws_ok(
  $$update public.conversations set turn_count = 99, total_tokens = 9999
     where id = '30000000-0000-0000-0000-0000000000b1'$$,
  '42501', 'permission denied for table conversations',
  'B''s direct update of their own counters is refused');
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '30000000-0000-0000-0000-0000000000b1'$$,
  $$values (1, 3)$$,
  'B''s counters still hold the real count of B''s one turn');
select throws_ok(
  $$insert into public.conversations (id, tier, turn_count, total_tokens)
    values ('30000000-0000-0000-0000-0000000000b3', 'edge_case', 50, 5000)$$,
  '42501', 'permission denied for table conversations',
  'B''s insert with forged counters is refused');
select lives_ok(
  $$insert into public.conversations (id, tier)
    values ('30000000-0000-0000-0000-0000000000b3', 'edge_case')$$,
  'B''s insert of the same conversation without counters is accepted');
select results_eq(
  $$select user_id, turn_count, total_tokens from public.conversations
     where id = '30000000-0000-0000-0000-0000000000b3'$$,
  $$values (current_setting('tests.user_b')::uuid, 0, 0)$$,
  'it belongs to B and starts at zero turns and tokens');
select throws_ok(
  $$update public.conversations set turn_count = turn_count + 1, total_tokens = total_tokens + 10,
                                    title = 'B''s, recounted'$$,
  '42501', 'permission denied for table conversations',
  'B''s bulk update of every visible conversation''s counters is refused');
select is_empty(
  $$select * from pg_temp.counters_out_of_step()$$,
  'none of B''s conversations has counters that disagree with its turns');

-- -------------------------------------------------------------------------------- as user A
select tests.authenticate_as(current_setting('tests.user_a')::uuid);

select results_eq(
  $$select id from public.export_logs order by id$$,
  $$values ('30200000-0000-0000-0000-0000000000a1'::uuid), ('30200000-0000-0000-0000-0000000000a2'::uuid)$$,
  'A sees exactly their own two export logs');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count, status, file_url, file_size)
    values (current_setting('tests.user_a')::uuid, 'json', '{}', 1, 'completed', 'https://evil.example/x', 1)$$,
  '42501', 'permission denied for table export_logs',
  'A cannot insert an export log of their own, let alone a completed one with a forged file');
select throws_ok(
  $$insert into public.export_logs (export_id, user_id, format, config, conversation_count)
    values ('30300000-0000-0000-0000-0000000000b1', current_setting('tests.user_a')::uuid, 'json', '{}', 1)$$,
  '42501', 'permission denied for table export_logs',
  'A inserting B''s export_id is refused for privilege, not for a duplicate key (no export_id oracle)');
select throws_ok(
  $$insert into public.export_logs (id, user_id, format, config, conversation_count)
    values ('30200000-0000-0000-0000-0000000000a2', current_setting('tests.user_a')::uuid, 'json', '{}', 1)
    on conflict (id) do update set status = 'completed'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot slip an update of their own export log through an upsert');
select throws_ok(
  $$update public.export_logs set status = 'processing' where id = '30200000-0000-0000-0000-0000000000a2'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot move their own queued export along (no forged status)');
select throws_ok(
  $$update public.export_logs set file_url = 'https://evil.example/x' where id = '30200000-0000-0000-0000-0000000000a1'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot repoint the file_url of their own export');
select throws_ok(
  $$update public.export_logs set file_size = 1 where id = '30200000-0000-0000-0000-0000000000a1'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot forge the file_size of their own export');
select throws_ok(
  $$update public.export_logs set export_id = '30300000-0000-0000-0000-0000000000b1'
     where id = '30200000-0000-0000-0000-0000000000a2'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot change their export_id, not even to probe whether B''s exists');
select throws_ok(
  $$update public.export_logs set expires_at = '2036-01-01 00:00:00+00', conversation_count = 0
     where id = '30200000-0000-0000-0000-0000000000a1'$$,
  '42501', 'permission denied for table export_logs',
  'A cannot extend their export''s retention or rewrite its count');
select lives_ok(
  $$insert into public.conversations (id, tier, parent_id, parent_type)
    values ('30000000-0000-0000-0000-0000000000a3', 'scenario',
            '30000000-0000-0000-0000-0000000000a1', 'template')$$,
  'A may create a conversation derived from their own');
select throws_ok(
  $$update public.conversations set parent_id = '30000000-0000-0000-0000-0000000000b1'
     where id = '30000000-0000-0000-0000-0000000000a3'$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000b1" is not a conversation of the same user',
  'A cannot repoint it at B''s conversation either');
select is_empty(
  $$select * from pg_temp.counters_out_of_step()$$,
  'none of A''s conversations has counters that disagree with its turns');

-- ---------------------------------------------------------------------------------- as anon
select tests.authenticate_as_anon();

select throws_ok($$select 1 from public.export_logs$$, '42501',
  'permission denied for table export_logs', 'anon cannot read export logs at all');
select throws_ok($$select 1 from public.conversations$$, '42501',
  'permission denied for table conversations', 'anon cannot read conversations at all');
select throws_ok($$select 1 from public.conversation_turns$$, '42501',
  'permission denied for table conversation_turns', 'anon cannot read turns at all');
select throws_ok(
  $$insert into public.export_logs (user_id, format, config, conversation_count, status)
    values (current_setting('tests.user_a')::uuid, 'json', '{}', 1, 'completed')$$,
  '42501', 'permission denied for table export_logs', 'anon cannot insert an export log');
select throws_ok(
  $$update public.export_logs set status = 'failed'$$,
  '42501', 'permission denied for table export_logs', 'anon cannot update export logs');
select throws_ok(
  $$insert into public.conversations (user_id, tier, parent_id)
    values (current_setting('tests.user_a')::uuid, 'scenario', '30000000-0000-0000-0000-0000000000a1')$$,
  '42501', 'permission denied for table conversations', 'anon cannot create a conversation, linked or not');
select throws_ok(
  $$update public.conversations set turn_count = 0$$,
  '42501', 'permission denied for table conversations', 'anon cannot touch the counters');

-- --------------------------------------------------------- as the owner, after every attempt
select tests.clear_authentication();

select results_eq(
  $$select user_id, export_id, status, file_url, file_size, expires_at, conversation_count
      from public.export_logs where id = '30200000-0000-0000-0000-0000000000a1'$$,
  $$values (current_setting('tests.user_a')::uuid, '30300000-0000-0000-0000-0000000000a1'::uuid,
            'completed'::text,
            'http://127.0.0.1:54321/functions/v1/exports/30300000-0000-0000-0000-0000000000a1/download'::text,
            100::bigint, '2026-11-29 00:00:00+00'::timestamptz, 1)$$,
  'A''s completed export is exactly as it was: status, file, size, export_id, expiry and count');
select results_eq(
  $$select id, user_id, export_id, status from public.export_logs order by id$$,
  $$values ('30200000-0000-0000-0000-0000000000a1'::uuid, current_setting('tests.user_a')::uuid,
            '30300000-0000-0000-0000-0000000000a1'::uuid, 'completed'::text),
           ('30200000-0000-0000-0000-0000000000a2'::uuid, current_setting('tests.user_a')::uuid,
            '30300000-0000-0000-0000-0000000000a2'::uuid, 'queued'::text),
           ('30200000-0000-0000-0000-0000000000b1'::uuid, current_setting('tests.user_b')::uuid,
            '30300000-0000-0000-0000-0000000000b1'::uuid, 'queued'::text)$$,
  'export_logs holds exactly the three rows the owner wrote: none added, removed or changed');
select results_eq(
  $$select user_id, title, status, turn_count, total_tokens, parent_id
      from public.conversations where id = '30000000-0000-0000-0000-0000000000a1'$$,
  $$values (current_setting('tests.user_a')::uuid, 'A''s'::text, 'approved'::text, 2, 12, null::uuid)$$,
  'A''s conversation is exactly as it was after B''s attempts');
select results_eq(
  $$select id, content, token_count from public.conversation_turns
     where conversation_id = '30000000-0000-0000-0000-0000000000a1' order by turn_number$$,
  $$values ('30100000-0000-0000-0000-0000000000a1'::uuid, 'A asks'::text, 5),
           ('30100000-0000-0000-0000-0000000000a2'::uuid, 'A answers'::text, 7)$$,
  'A''s turns are exactly as they were, and no turn was planted in A''s conversation');
select results_eq(
  $$select id, user_id from public.conversations order by id$$,
  $$values ('30000000-0000-0000-0000-0000000000a1'::uuid, current_setting('tests.user_a')::uuid),
           ('30000000-0000-0000-0000-0000000000a3'::uuid, current_setting('tests.user_a')::uuid),
           ('30000000-0000-0000-0000-0000000000b1'::uuid, current_setting('tests.user_b')::uuid),
           ('30000000-0000-0000-0000-0000000000b2'::uuid, current_setting('tests.user_b')::uuid),
           ('30000000-0000-0000-0000-0000000000b3'::uuid, current_setting('tests.user_b')::uuid)$$,
  'the only conversations added are the ones each user created for themselves');
select is_empty(
  $$select c.id, c.parent_id from public.conversations c
      join public.conversations p on p.id = c.parent_id
     where p.user_id <> c.user_id$$,
  'no conversation has a parent of another user, so no user''s delete can reach another''s rows');
select is_empty(
  $$select * from pg_temp.counters_out_of_step()$$,
  'after every attempt, no conversation''s counters disagree with its turns');

-- The rule binds the service too, and guards the other end of the link.
select throws_ok(
  $$insert into public.conversations (user_id, tier, parent_id)
    values (current_setting('tests.user_b')::uuid, 'scenario', '30000000-0000-0000-0000-0000000000a1')$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000a1" is not a conversation of the same user',
  'the owner cannot link a conversation of B''s to A''s either');
select throws_ok(
  $$update public.conversations set user_id = current_setting('tests.user_a')::uuid
     where id = '30000000-0000-0000-0000-0000000000b1'$$,
  '42501',
  'conversation "30000000-0000-0000-0000-0000000000b1" cannot change user while conversations of its old user derive from it',
  'the owner cannot hand B''s conversation to A while another of B''s derives from it');

-- A link made before the rule existed does not stop its row from being saved whole.
alter table public.conversations disable trigger conversations_check_parent_owner;
update public.conversations set parent_id = '30000000-0000-0000-0000-0000000000a1'
 where id = '30000000-0000-0000-0000-0000000000b3';
alter table public.conversations enable trigger conversations_check_parent_owner;

-- -------------------------------------------------------------------------------- as user B
select tests.authenticate_as(current_setting('tests.user_b')::uuid);

select lives_ok(
  $$update public.conversations
       set title = 'saved whole', parent_id = '30000000-0000-0000-0000-0000000000a1'
     where id = '30000000-0000-0000-0000-0000000000b3'$$,
  'B can save a row whose link predates the rule, sending parent_id back unchanged');
select throws_ok(
  $$update public.conversations set parent_id = '30000000-0000-0000-0000-0000000000a3'
     where id = '30000000-0000-0000-0000-0000000000b3'$$,
  '42501', 'parent_id "30000000-0000-0000-0000-0000000000a3" is not a conversation of the same user',
  'but B cannot move that link to another of A''s conversations');

select tests.clear_authentication();

select * from finish();
rollback;
