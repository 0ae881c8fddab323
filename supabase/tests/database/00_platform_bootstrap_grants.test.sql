-- The platform bootstrap really mirrors Supabase's permissive default grants, so the RLS tests
-- elsewhere mean what they mean on Supabase (RLS, not a missing grant, protects the data).
begin;
\ir ../helpers.sql
select plan(6);

create table public.bootstrap_probe (id integer primary key);

select ok(has_table_privilege('authenticated', 'public.bootstrap_probe', 'SELECT, INSERT, UPDATE, DELETE'),
  'authenticated gets read and write privileges on a new table in public by default');
select ok(has_table_privilege('anon', 'public.bootstrap_probe', 'SELECT, INSERT, UPDATE, DELETE'),
  'anon gets read and write privileges on a new table in public by default');
select ok(has_schema_privilege('authenticated', 'public', 'USAGE'),
  'authenticated may use the public schema');

select tests.authenticate_as(tests.create_user('probe@example.com'));
insert into public.bootstrap_probe values (1);
select results_eq('select id from public.bootstrap_probe', array[1],
  'acting as authenticated, a table without RLS is fully writable and readable');
select is(auth.role(), 'authenticated', 'auth.role() reads the role from request.jwt.claims');
select tests.clear_authentication();
select is(current_user::text, 'postgres', 'clear_authentication returns to the owner role');

select * from finish();
rollback;
