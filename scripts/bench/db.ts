/** The benchmark's own connection to the bench database, as the owner (setup and checks only). */
import { createSql, type Sql } from "../../shared/database/db.ts";
import { env } from "./config.ts";

let shared: Sql | undefined;

/** One small pool for the whole process. */
export function benchSql(): Sql {
  shared ??= createSql(env("SUPABASE_DB_URL"), { max: 4, applicationName: "bench" });
  return shared;
}

/** Closes the pool, so the process can exit. */
export async function closeBenchSql(): Promise<void> {
  await shared?.end({ timeout: 5 });
  shared = undefined;
}
