-- pgTAP helpers, included by each test file right after `begin;` with `\ir ../helpers.sql`.
-- Everything here is created inside the test's transaction and rolled back with it.

create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

create schema if not exists tests;
grant usage on schema tests to anon, authenticated;

-- Creates an auth user and returns its id.
create or replace function tests.create_user(email text) returns uuid
language sql
as $$
  insert into auth.users (id, aud, role, email)
  values (gen_random_uuid(), 'authenticated', 'authenticated', email)
  returning id
$$;

-- Acts as the given user for the rest of the transaction, as PostgREST would with their JWT.
create or replace function tests.authenticate_as(user_id uuid) returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', user_id, 'role', 'authenticated', 'aud', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
end
$$;

-- Acts as an anonymous client holding only the anon key.
create or replace function tests.authenticate_as_anon() returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
  perform set_config('role', 'anon', true);
end
$$;

-- Back to the test's own (owner) role with no claims.
create or replace function tests.clear_authentication() returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', '', true);
  perform set_config('role', 'none', true);
end
$$;

grant execute on all functions in schema tests to anon, authenticated;
