-- Each user reads and writes only their own conversations and turns; anon gets nothing; and no
-- client can TRUNCATE past RLS. Users write column by column: never the owner (auth.uid() fills
-- it), the counters, the timestamps, or an id once it is set. Data of user A is checked from A's
-- side, B's side, anon's side, and again as the owner after B's attempts.
begin;
\ir ../helpers.sql
select plan(67);

do $$
begin
  perform set_config('tests.user_a', tests.create_user('a@example.com')::text, true);
  perform set_config('tests.user_b', tests.create_user('b@example.com')::text, true);
end
$$;

insert into public.conversations (id, user_id, tier, status, title)
values ('12000000-0000-0000-0000-00000000000a', current_setting('tests.user_a')::uuid, 'template', 'approved', 'A''s'),
       ('12000000-0000-0000-0000-00000000000b', current_setting('tests.user_b')::uuid, 'template', 'approved', 'B''s');
insert into public.conversation_turns (id, conversation_id, turn_number, role, content, token_count)
values ('12100000-0000-0000-0000-00000000000a', '12000000-0000-0000-0000-00000000000a', 1, 'user', 'A asks', 5),
       ('12100000-0000-0000-0000-00000000000b', '12000000-0000-0000-0000-00000000000b', 1, 'user', 'B asks', 7);

-- ------------------------------------------------------------------------- the declarations
select ok((select relrowsecurity from pg_class where oid = 'public.conversations'::regclass),
  'conversations has row level security enabled');
select ok((select relrowsecurity from pg_class where oid = 'public.conversation_turns'::regclass),
  'conversation_turns has row level security enabled');
select policies_are('public', 'conversations', array[
  'conversations_select_own', 'conversations_insert_own', 'conversations_update_own', 'conversations_delete_own'],
  'conversations has exactly one own-rows policy per operation');
select policies_are('public', 'conversation_turns', array[
  'conversation_turns_select_own', 'conversation_turns_insert_own', 'conversation_turns_update_own',
  'conversation_turns_delete_own'],
  'conversation_turns has exactly one own-rows policy per operation');
select policy_roles_are('public', 'conversations', 'conversations_select_own', array['authenticated'],
  'the conversations policies apply to authenticated only');
select policy_roles_are('public', 'conversation_turns', 'conversation_turns_select_own', array['authenticated'],
  'the conversation_turns policies apply to authenticated only');
select table_privs_are('public', 'conversations', 'authenticated', array['SELECT', 'DELETE'],
  'authenticated may read and delete whole conversations, through RLS, but not truncate, reference or trigger; it writes column by column');
select table_privs_are('public', 'conversation_turns', 'authenticated', array['SELECT', 'DELETE'],
  'authenticated may read and delete whole turns, through RLS, but not truncate, reference or trigger; it writes column by column');

-- The columns authenticated may write, by enumeration of each table's columns, so a column added
-- later shows up here with whatever privilege it got.
create function pg_temp.columns_with(p_table regclass, p_privilege text) returns text[]
language sql
as $$
  select coalesce(array_agg(a.attname::text order by a.attnum), '{}')
    from pg_attribute a
   where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped
     and has_column_privilege('authenticated', p_table, a.attnum, p_privilege)
$$;
select is(pg_temp.columns_with('public.conversations', 'INSERT'),
  array['id', 'title', 'persona', 'emotion', 'tier', 'status', 'category', 'quality_score',
        'quality_metrics', 'parent_id', 'parent_type', 'parameters', 'review_history'],
  'authenticated may insert exactly these conversation columns: not user_id (its default is auth.uid()), turn_count, total_tokens, created_at or updated_at');
select is(pg_temp.columns_with('public.conversations', 'UPDATE'),
  array['title', 'persona', 'emotion', 'tier', 'status', 'category', 'quality_score',
        'quality_metrics', 'parent_id', 'parent_type', 'parameters', 'review_history'],
  'authenticated may update exactly these conversation columns: the inserted ones but id');
select is(pg_temp.columns_with('public.conversation_turns', 'INSERT'),
  array['id', 'conversation_id', 'turn_number', 'role', 'content', 'token_count'],
  'authenticated may insert exactly these turn columns: not created_at');
select is(pg_temp.columns_with('public.conversation_turns', 'UPDATE'),
  array['conversation_id', 'turn_number', 'role', 'content', 'token_count'],
  'authenticated may update exactly these turn columns: not id or created_at (conversation_id, to move a turn)');
select is(pg_temp.columns_with('public.conversations', 'SELECT'),
  array['id', 'user_id', 'title', 'persona', 'emotion', 'tier', 'status', 'category', 'quality_score',
        'quality_metrics', 'turn_count', 'total_tokens', 'parent_id', 'parent_type', 'parameters',
        'review_history', 'created_at', 'updated_at'],
  'authenticated may read every conversation column (of its own rows, through RLS)');
select col_default_is('public', 'conversations', 'user_id', 'auth.uid()',
  'a conversation a user inserts belongs to the caller: user_id defaults to auth.uid()');
select table_privs_are('public', 'conversations', 'anon', array[]::text[],
  'anon holds no privilege on conversations');
select table_privs_are('public', 'conversation_turns', 'anon', array[]::text[],
  'anon holds no privilege on conversation_turns');

-- -------------------------------------------------------------------------------- as user B
select tests.authenticate_as(current_setting('tests.user_b')::uuid);

select is_empty(
  $$select 1 from public.conversations where id = '12000000-0000-0000-0000-00000000000a'$$,
  'B cannot see A''s conversation');
select results_eq(
  $$select id from public.conversations$$,
  $$values ('12000000-0000-0000-0000-00000000000b'::uuid)$$,
  'B sees exactly their own conversation');
select is_empty(
  $$select 1 from public.conversation_turns where conversation_id = '12000000-0000-0000-0000-00000000000a'$$,
  'B cannot see the turns of A''s conversation');
select results_eq(
  $$select id from public.conversation_turns$$,
  $$values ('12100000-0000-0000-0000-00000000000b'::uuid)$$,
  'B sees exactly their own turns');

select throws_ok(
  $$insert into public.conversations (user_id, tier) values (current_setting('tests.user_a')::uuid, 'template')$$,
  '42501', 'permission denied for table conversations',
  'B cannot create a conversation owned by A: naming an owner at all is refused');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('12000000-0000-0000-0000-00000000000a', 2, 'assistant', 'planted by B')$$,
  '42501', 'new row violates row-level security policy for table "conversation_turns"',
  'B cannot add a turn to A''s conversation');
select throws_ok(
  $$update public.conversations set user_id = current_setting('tests.user_a')::uuid
     where id = '12000000-0000-0000-0000-00000000000b'$$,
  '42501', 'permission denied for table conversations',
  'B cannot hand their conversation over to A: user_id is not theirs to update');
select throws_ok(
  $$update public.conversation_turns set conversation_id = '12000000-0000-0000-0000-00000000000a',
                                         turn_number = 2
     where id = '12100000-0000-0000-0000-00000000000b'$$,
  '42501', 'new row violates row-level security policy for table "conversation_turns"',
  'B cannot move their turn into A''s conversation');

select is_empty(
  $$update public.conversations set title = 'taken by B', status = 'rejected'
     where id = '12000000-0000-0000-0000-00000000000a' returning id$$,
  'B''s update of A''s conversation matches no row');
select is_empty(
  $$update public.conversation_turns set content = 'rewritten by B'
     where conversation_id = '12000000-0000-0000-0000-00000000000a' returning id$$,
  'B''s update of A''s turns matches no row');
select is_empty(
  $$update public.conversation_turns set conversation_id = '12000000-0000-0000-0000-00000000000b', turn_number = 2
     where id = '12100000-0000-0000-0000-00000000000a' returning id$$,
  'B cannot pull A''s turn into their own conversation');
select is_empty(
  $$delete from public.conversation_turns
     where conversation_id = '12000000-0000-0000-0000-00000000000a' returning id$$,
  'B''s delete of A''s turns matches no row');
select is_empty(
  $$delete from public.conversations where id = '12000000-0000-0000-0000-00000000000a' returning id$$,
  'B''s delete of A''s conversation matches no row');

select throws_ok($$truncate public.conversations cascade$$, '42501',
  'permission denied for table conversations',
  'B cannot truncate conversations, which would bypass RLS');
select throws_ok($$truncate public.conversation_turns$$, '42501',
  'permission denied for table conversation_turns',
  'B cannot truncate conversation_turns, which would bypass RLS');

select tests.clear_authentication();

-- ------------------------------------------------------- as the owner, after B's attempts
select results_eq(
  $$select user_id, title, status, turn_count, total_tokens from public.conversations
     where id = '12000000-0000-0000-0000-00000000000a'$$,
  $$values (current_setting('tests.user_a')::uuid, 'A''s'::text, 'approved'::text, 1, 5)$$,
  'A''s conversation is exactly as before B''s attempts');
select results_eq(
  $$select id, conversation_id, content from public.conversation_turns
     where conversation_id = '12000000-0000-0000-0000-00000000000a'$$,
  $$values ('12100000-0000-0000-0000-00000000000a'::uuid, '12000000-0000-0000-0000-00000000000a'::uuid,
            'A asks'::text)$$,
  'A''s turns are exactly as before B''s attempts');
select results_eq(
  $$select user_id, turn_count from public.conversations where id = '12000000-0000-0000-0000-00000000000b'$$,
  $$values (current_setting('tests.user_b')::uuid, 1)$$,
  'B''s own conversation kept its owner and its one turn through the refused writes');

-- -------------------------------------------------------------------------------- as user A
select tests.authenticate_as(current_setting('tests.user_a')::uuid);

select results_eq(
  $$select id from public.conversations$$,
  $$values ('12000000-0000-0000-0000-00000000000a'::uuid)$$,
  'A sees exactly their own conversation');
select results_eq(
  $$select id from public.conversation_turns$$,
  $$values ('12100000-0000-0000-0000-00000000000a'::uuid)$$,
  'A sees exactly their own turns');
select is_empty(
  $$select 1 from public.conversations where user_id = current_setting('tests.user_b')::uuid$$,
  'A cannot see B''s conversation either');

select lives_ok(
  $$insert into public.conversations (id, tier, title)
    values ('12000000-0000-0000-0000-0000000000a2', 'scenario', 'A''s second')$$,
  'A can create a conversation of their own, choosing its id and leaving the owner to the database');
select results_eq(
  $$select user_id from public.conversations where id = '12000000-0000-0000-0000-0000000000a2'$$,
  $$values ((select auth.uid()))$$,
  'the conversation A created belongs to A');
select lives_ok(
  $$insert into public.conversation_turns (id, conversation_id, turn_number, role, content, token_count)
    values ('12100000-0000-0000-0000-0000000000a2', '12000000-0000-0000-0000-0000000000a2', 1, 'user', 'Hi', 3),
           ('12100000-0000-0000-0000-0000000000a3', '12000000-0000-0000-0000-00000000000a', 2, 'assistant', 'Hello', 4)$$,
  'A can add turns to their own conversations');
select results_eq(
  $$select turn_count, total_tokens from public.conversations order by id$$,
  $$values (2, 9), (1, 3)$$,
  'A''s own turn writes keep A''s counters right');
select throws_ok(
  $$insert into public.conversations (user_id, tier) values ((select auth.uid()), 'template')$$,
  '42501', 'permission denied for table conversations',
  'A cannot name the owner of a new conversation, not even themselves');
select throws_ok(
  $$insert into public.conversations (tier, turn_count, created_at)
    values ('template', 5, '2020-01-01 00:00:00+00')$$,
  '42501', 'permission denied for table conversations',
  'A cannot insert counters or a creation time');
select throws_ok(
  $$update public.conversations set user_id = (select auth.uid())
     where id = '12000000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversations',
  'A cannot update user_id, not even to the value it has');
select throws_ok(
  $$update public.conversations set turn_count = 0 where id = '12000000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversations',
  'A cannot update turn_count of their own conversation');
select throws_ok(
  $$update public.conversations set total_tokens = 0, updated_at = now()
     where id = '12000000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversations',
  'A cannot update total_tokens or updated_at');
select throws_ok(
  $$update public.conversations set id = gen_random_uuid() where id = '12000000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversations',
  'A cannot change the id of their conversation');
select throws_ok(
  $$update public.conversation_turns set created_at = now() where id = '12100000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversation_turns',
  'A cannot update the creation time of their turn');
select throws_ok(
  $$update public.conversation_turns set id = gen_random_uuid() where id = '12100000-0000-0000-0000-00000000000a'$$,
  '42501', 'permission denied for table conversation_turns',
  'A cannot change the id of their turn');
select lives_ok(
  $$update public.conversations set title = 'Renamed by A', status = 'pending_review'
     where id = '12000000-0000-0000-0000-00000000000a'$$,
  'A can update their own conversation');
select results_eq(
  $$select title, status from public.conversations where id = '12000000-0000-0000-0000-00000000000a'$$,
  $$values ('Renamed by A'::text, 'pending_review'::text)$$,
  'A''s update of their own conversation took effect');
select lives_ok(
  $$update public.conversation_turns set content = 'A asks again'
     where id = '12100000-0000-0000-0000-00000000000a'$$,
  'A can update their own turn');
select results_eq(
  $$select content from public.conversation_turns where id = '12100000-0000-0000-0000-00000000000a'$$,
  $$values ('A asks again'::text)$$,
  'A''s update of their own turn took effect');
select lives_ok(
  $$update public.conversation_turns set conversation_id = '12000000-0000-0000-0000-0000000000a2', turn_number = 2
     where id = '12100000-0000-0000-0000-0000000000a3'$$,
  'A can move a turn between two of their own conversations');
select results_eq(
  $$select conversation_id from public.conversation_turns where id = '12100000-0000-0000-0000-0000000000a3'$$,
  $$values ('12000000-0000-0000-0000-0000000000a2'::uuid)$$,
  'A''s turn now sits in the conversation it was moved to');
select lives_ok(
  $$delete from public.conversation_turns where id = '12100000-0000-0000-0000-0000000000a2'$$,
  'A can delete their own turn');
select is_empty(
  $$select 1 from public.conversation_turns where id = '12100000-0000-0000-0000-0000000000a2'$$,
  'A''s deleted turn is gone');
select lives_ok(
  $$delete from public.conversations where id = '12000000-0000-0000-0000-0000000000a2'$$,
  'A can delete their own conversation');
select is_empty(
  $$select 1 from public.conversation_turns where id = '12100000-0000-0000-0000-0000000000a3'$$,
  'deleting A''s conversation as A also removed its turns');
select throws_ok($$truncate public.conversation_turns$$, '42501',
  'permission denied for table conversation_turns',
  'A cannot truncate turns either, not even to clear their own');

select tests.clear_authentication();

-- ---------------------------------------------------------------------------------- as anon
select tests.authenticate_as_anon();

select throws_ok($$select 1 from public.conversations$$, '42501',
  'permission denied for table conversations',
  'anon cannot read conversations at all');
select throws_ok($$select 1 from public.conversation_turns$$, '42501',
  'permission denied for table conversation_turns',
  'anon cannot read conversation turns at all');
select throws_ok(
  $$insert into public.conversations (user_id, tier) values (current_setting('tests.user_a')::uuid, 'template')$$,
  '42501', 'permission denied for table conversations',
  'anon cannot create a conversation');
select throws_ok(
  $$insert into public.conversation_turns (conversation_id, turn_number, role, content)
    values ('12000000-0000-0000-0000-00000000000a', 9, 'user', 'anon')$$,
  '42501', 'permission denied for table conversation_turns',
  'anon cannot add a turn');
select throws_ok(
  $$delete from public.conversations$$, '42501', 'permission denied for table conversations',
  'anon cannot delete conversations');
select throws_ok($$truncate public.conversations cascade$$, '42501',
  'permission denied for table conversations',
  'anon cannot truncate conversations');

select tests.clear_authentication();

select results_eq(
  $$select count(*)::integer from public.conversations$$,
  $$values (2)$$,
  'after everything, exactly A''s and B''s first conversations remain');

select * from finish();
rollback;
