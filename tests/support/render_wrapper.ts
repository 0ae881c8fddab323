/**
 * Test-only faults in generation: wraps exports_internal.render_batch so that batches of one
 * user's exports fail (a poison export) or take longer (to watch progress). Returns the function
 * that puts the real render_batch back; call it in `finally`.
 */
import type { Sql } from "../../shared/database/db.ts";
import { testSql } from "./database.ts";

/** What the wrapper does to the user's batches. */
export type RenderFault = { fail: true } | { delaySeconds: number };

/** Wraps render_batch for `userId`'s exports; returns the restore function. */
export async function wrapRendering(userId: string, fault: RenderFault, sql: Sql = testSql()): Promise<() => Promise<void>> {
  if (!/^[0-9a-f-]{36}$/i.test(userId)) throw new Error(`Not a user id: "${userId}"`);
  const effect = "fail" in fault
    ? "raise exception 'poisoned for the test';"
    : `perform pg_sleep(${Number(fault.delaySeconds)});`;
  await sql.begin(async (tx) => {
    await tx`alter function exports_internal.render_batch(uuid, integer, integer, integer) rename to render_batch_unwrapped`;
    await tx.unsafe(`
      create function exports_internal.render_batch(p_id uuid, p_first integer, p_last integer, p_before integer)
      returns table (body text, rendered integer, skipped integer) language plpgsql as $$
      begin
        if exists (select 1 from public.export_logs l where l.id = p_id and l.user_id = '${userId}') then
          ${effect}
        end if;
        return query select * from exports_internal.render_batch_unwrapped(p_id, p_first, p_last, p_before);
      end $$`);
  });
  return async () => {
    await sql.begin(async (tx) => {
      await tx`drop function exports_internal.render_batch(uuid, integer, integer, integer)`;
      await tx`alter function exports_internal.render_batch_unwrapped(uuid, integer, integer, integer) rename to render_batch`;
    });
  };
}
