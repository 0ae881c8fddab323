-- turn_count and total_tokens always agree with a conversation's turns: the database keeps them
-- through every kind of turn change, and a direct write of the counters cannot make them
-- disagree (the owner's is replaced; a user may not write them at all). Checked as the table
-- owner and again as the owning user under RLS.
begin;
\ir ../helpers.sql
select plan(32);

do $$
begin
  perform set_config('tests.user_a', tests.create_user('a@example.com')::text, true);
end
$$;

-- ------------------------------------------------------------------------ as the table owner
insert into public.conversations (id, user_id, tier, turn_count, total_tokens)
values ('11000000-0000-0000-0000-000000000001', current_setting('tests.user_a')::uuid, 'template', 7, 70),
       ('11000000-0000-0000-0000-000000000002', current_setting('tests.user_a')::uuid, 'template', 0, 0);

select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (0, 0)$$,
  'a new conversation starts with zero turns and tokens whatever the insert says');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values ('11000000-0000-0000-0000-000000000001', 1, 'system', 'Be kind.', 10),
       ('11000000-0000-0000-0000-000000000001', 2, 'user', 'Hello', 20),
       ('11000000-0000-0000-0000-000000000001', 3, 'assistant', 'Hi', 30);
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (3, 60)$$,
  'inserting three turns in one statement counts three turns and their tokens');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values ('11000000-0000-0000-0000-000000000001', 4, 'user', 'More', 40);
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (4, 100)$$,
  'inserting one more turn adds it to both counters');

update public.conversation_turns set token_count = 25
 where conversation_id = '11000000-0000-0000-0000-000000000001' and turn_number = 2;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (4, 105)$$,
  'changing a turn''s token_count changes total_tokens');

update public.conversation_turns set content = 'Hello there'
 where conversation_id = '11000000-0000-0000-0000-000000000001' and turn_number = 2;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (4, 105)$$,
  'editing a turn''s content leaves the counters as they are');

delete from public.conversation_turns
 where conversation_id = '11000000-0000-0000-0000-000000000001' and turn_number = 3;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (3, 75)$$,
  'deleting a turn takes it out of both counters');

update public.conversation_turns set conversation_id = '11000000-0000-0000-0000-000000000002'
 where conversation_id = '11000000-0000-0000-0000-000000000001' and turn_number = 4;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (2, 35)$$,
  'moving a turn to another conversation takes it out of the one it left');
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000002'$$,
  $$values (1, 40)$$,
  'moving a turn to another conversation adds it to the one it joined');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values ('11000000-0000-0000-0000-000000000001', 5, 'user', 'x', 1),
       ('11000000-0000-0000-0000-000000000002', 5, 'user', 'y', 2);
select results_eq(
  $$select turn_count, total_tokens from public.conversations
     where id in ('11000000-0000-0000-0000-000000000001', '11000000-0000-0000-0000-000000000002') order by id$$,
  $$values (3, 36), (2, 42)$$,
  'one statement inserting turns into two conversations updates both');

update public.conversations set turn_count = 99, total_tokens = 12345
 where id = '11000000-0000-0000-0000-000000000001';
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values (3, 36)$$,
  'a direct update of the counters is replaced by what the turns say');

update public.conversations set title = 'Renamed', total_tokens = 0
 where id = '11000000-0000-0000-0000-000000000001';
select results_eq(
  $$select title, turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000001'$$,
  $$values ('Renamed', 3, 36)$$,
  'an update that sets other columns and one counter keeps the other columns and corrects the counter');

select results_eq(
  $$select c.turn_count, c.total_tokens from public.conversations c order by c.id$$,
  $$select count(t.id)::integer, coalesce(sum(t.token_count), 0)::integer
      from public.conversations c left join public.conversation_turns t on t.conversation_id = c.id
     group by c.id order by c.id$$,
  'every conversation''s counters equal a fresh count of its turns');

delete from public.conversation_turns where conversation_id = '11000000-0000-0000-0000-000000000002';
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000002'$$,
  $$values (0, 0)$$,
  'deleting all of a conversation''s turns brings its counters back to zero');

-- ---------------------------------------------- as user A, who owns the conversations (RLS)
select tests.authenticate_as(current_setting('tests.user_a')::uuid);

select throws_ok(
  $$insert into public.conversations (id, tier, turn_count, total_tokens)
    values ('11000000-0000-0000-0000-000000000003', 'scenario', 5, 500)$$,
  '42501', 'permission denied for table conversations',
  'as user A, an insert that names the counters is refused: they are the database''s to keep');
insert into public.conversations (id, tier)
values ('11000000-0000-0000-0000-000000000003', 'scenario'),
       ('11000000-0000-0000-0000-000000000004', 'scenario');
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (0, 0)$$,
  'as user A, a new conversation starts at zero turns and tokens');

insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
values ('11000000-0000-0000-0000-000000000003', 1, 'user', 'Hello', 11),
       ('11000000-0000-0000-0000-000000000003', 2, 'assistant', 'Hi', 22),
       ('11000000-0000-0000-0000-000000000003', 3, 'user', 'Bye', 33);
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (3, 66)$$,
  'as user A, inserting turns updates both counters');

update public.conversation_turns set token_count = 20
 where conversation_id = '11000000-0000-0000-0000-000000000003' and turn_number = 1;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (3, 75)$$,
  'as user A, changing a token_count updates total_tokens');

delete from public.conversation_turns
 where conversation_id = '11000000-0000-0000-0000-000000000003' and turn_number = 2;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (2, 53)$$,
  'as user A, deleting a turn updates both counters');

update public.conversation_turns set conversation_id = '11000000-0000-0000-0000-000000000004'
 where conversation_id = '11000000-0000-0000-0000-000000000003' and turn_number = 3;
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (1, 20)$$,
  'as user A, moving a turn away updates the conversation it left');
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000004'$$,
  $$values (1, 33)$$,
  'as user A, moving a turn in updates the conversation it joined');

select throws_ok(
  $$update public.conversations set turn_count = 99, total_tokens = 12345
     where id = '11000000-0000-0000-0000-000000000003'$$,
  '42501', 'permission denied for table conversations',
  'as user A, a direct update of the counters is refused');
update public.conversations set title = 'Renamed by A' where id = '11000000-0000-0000-0000-000000000003';
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (1, 20)$$,
  'as user A, the counters are what the turns say after the refused update and an update of the title');

select results_eq(
  $$select count(*)::integer from public.conversation_turns
     where conversation_id in ('11000000-0000-0000-0000-000000000003', '11000000-0000-0000-0000-000000000004')$$,
  $$values (2)$$,
  'as user A, every turn of A''s conversations is visible, so a recount under RLS misses none');

select tests.clear_authentication();

select results_eq(
  $$select turn_count, total_tokens from public.conversations
     where id in ('11000000-0000-0000-0000-000000000003', '11000000-0000-0000-0000-000000000004') order by id$$,
  $$values (1, 20), (1, 33)$$,
  'the counters the owning user''s writes left behind are the true ones, seen without RLS');

-- ------------------------------------------------------------------- moves, deletes, truncate
-- Moving every turn of one conversation into another in one statement.
update public.conversation_turns set conversation_id = '11000000-0000-0000-0000-000000000003',
                                     turn_number = turn_number + 10
 where conversation_id = '11000000-0000-0000-0000-000000000004';
select results_eq(
  $$select turn_count, total_tokens from public.conversations
     where id in ('11000000-0000-0000-0000-000000000003', '11000000-0000-0000-0000-000000000004') order by id$$,
  $$values (2, 53), (0, 0)$$,
  'moving all turns of a conversation leaves it at zero and adds them to the other');

-- A conversation's deletion cascades to its turns; its sibling is untouched.
delete from public.conversations where id = '11000000-0000-0000-0000-000000000004';
select results_eq(
  $$select turn_count, total_tokens from public.conversations where id = '11000000-0000-0000-0000-000000000003'$$,
  $$values (2, 53)$$,
  'deleting another conversation (and its turns by cascade) leaves this one''s counters alone');

-- The triggers the behaviour above rests on, by name, so a rename shows up here.
select has_trigger('public', 'conversation_turns', 'conversation_turns_touch_after_insert',
  'inserted turns touch their conversation');
select has_trigger('public', 'conversation_turns', 'conversation_turns_touch_after_update',
  'updated and moved turns touch both conversations');
select has_trigger('public', 'conversation_turns', 'conversation_turns_touch_after_delete',
  'deleted turns touch their conversation');
select has_trigger('public', 'conversation_turns', 'conversation_turns_touch_after_truncate',
  'truncated turns (no row triggers fire) touch every conversation');
select has_trigger('public', 'conversations', 'conversations_recount_turns',
  'every write of a conversation recounts its turns');

truncate public.conversation_turns;
select results_eq(
  $$select sum(turn_count)::integer, sum(total_tokens)::integer from public.conversations$$,
  $$values (0, 0)$$,
  'truncating the turns (owner only) brings every conversation''s counters to zero');

select * from finish();
rollback;
