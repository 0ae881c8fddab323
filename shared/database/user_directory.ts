/**
 * Answers whether a verified token's `sub` names an existing user. Positive answers are cached
 * briefly: a deleted user's data is gone by cascade anyway, and this saves a query per request.
 */
import { idempotentWithReconnect, type Sql } from "./db.ts";

const CACHE_MILLISECONDS = 30_000;
const CACHE_ENTRIES = 10_000;

/** Looks users up in auth.users. */
export interface UserDirectory {
  exists(userId: string): Promise<boolean>;
}

/** A directory over auth.users with a small positive cache. */
export function createUserDirectory(sql: Sql): UserDirectory {
  const seen = new Map<string, number>();
  return {
    exists: async (userId) => {
      const until = seen.get(userId);
      if (until !== undefined && until > Date.now()) return true;
      const rows = await idempotentWithReconnect(() => sql`select 1 from auth.users where id = ${userId}`);
      if (rows.length === 0) {
        seen.delete(userId);
        return false;
      }
      if (seen.size >= CACHE_ENTRIES) seen.clear();
      seen.set(userId, Date.now() + CACHE_MILLISECONDS);
      return true;
    },
  };
}
