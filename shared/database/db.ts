/**
 * Database access on postgres.js. Every user-facing operation runs in one transaction as the
 * `authenticated` role with the verified JWT claims in `request.jwt.claims` — what PostgREST
 * does — so row level security decides what a user sees and may write. Worker and cron-side
 * operations run as the owner through SQL functions that users cannot execute.
 */
import postgres from "postgres";
import { ExportPermissionError, ServiceUnavailableError } from "../core/errors.ts";
import { logLine } from "../core/log.ts";

/** A postgres.js client or transaction. */
export type Sql = postgres.Sql<Record<string, unknown>>;
/** A postgres.js transaction handle. */
export type Tx = postgres.TransactionSql<Record<string, unknown>>;

/** SQLSTATE codes the project acts on, by name. */
export const SQLSTATE = {
  INSUFFICIENT_PRIVILEGE: "42501",
  UNIQUE_VIOLATION: "23505",
  FOREIGN_KEY_VIOLATION: "23503",
  CHECK_VIOLATION: "23514",
  /** Raised by exports_internal.enforce_export_lifecycle(). */
  ILLEGAL_TRANSITION: "EX409",
  QUERY_CANCELED: "57014",
  ADMIN_SHUTDOWN: "57P01",
  CRASH_SHUTDOWN: "57P02",
  CANNOT_CONNECT_NOW: "57P03",
  SERIALIZATION_FAILURE: "40001",
  DEADLOCK_DETECTED: "40P01",
} as const;

/** Claims of a verified JWT, as they are put into request.jwt.claims. */
export interface UserClaims {
  sub: string;
  role: string;
  aud?: string | string[];
  [claim: string]: unknown;
}

/**
 * Postgres prints timestamptz as `2026-11-28 14:03:07.1234+00`. The API promises ISO 8601 UTC
 * with microseconds, and JS Date keeps only milliseconds, so the text is converted exactly.
 */
export function timestamptzToIso(text: string): string {
  const match =
    /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}){0,2})$/
      .exec(text);
  if (!match) return text;
  const [, date, time, fraction = "", offset] = match;
  const micros = fraction.padEnd(6, "0");
  if (/^[+-]00(?::?00){0,2}$/.test(offset)) return `${date}T${time}.${micros}Z`;
  const [hours, minutes = "00", seconds = "00"] = offset.slice(1).split(":").length > 1
    ? offset.slice(1).split(":")
    : [offset.slice(1, 3), offset.slice(3, 5) || "00", offset.slice(5, 7) || "00"];
  const sign = offset.startsWith("-") ? -1 : 1;
  const shiftMs = sign * ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  const utc = new Date(Date.parse(`${date}T${time}Z`) - shiftMs).toISOString().slice(0, 19);
  return `${utc}.${micros}Z`;
}

/** Options for createSql; explicit options win over the defaults. */
export interface SqlOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
}

/**
 * Seconds a closed connection waits before reconnecting, after `retries` failures in the pool.
 * postgres.js's default grows to 20 s, so after a minute-long outage part of the pool stayed
 * away for up to 20 s once the database was back; capped at 2 s, the whole pool returns within
 * 2 s, while a database that is down still sees at most one attempt per connection per 2 s.
 */
function reconnectBackoffSeconds(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2);
}

/** Creates a client. `prepare: false` because Supabase's transaction pooler needs it. */
export function createSql(databaseUrl: string, options: SqlOptions = {}): Sql {
  return postgres(databaseUrl, {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 5,
    max_lifetime: 60 * 30,
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "lora-exports", TimeZone: "UTC" },
    types: {
      timestamptz: {
        to: 1184,
        from: [1184],
        serialize: (value: unknown) => value instanceof Date ? value.toISOString() : String(value),
        parse: timestamptzToIso,
      },
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: unknown) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  }) as unknown as Sql;
}

/** Runs `work` in one transaction as `authenticated` with the given claims: RLS applies. */
export function withUser<T>(
  sql: Sql,
  claims: UserClaims,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return runTransaction(sql, async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return await work(tx);
  });
}

/** Runs `work` in one transaction as the connecting (owner) role. */
export function withService<T>(sql: Sql, work: (tx: Tx) => Promise<T>): Promise<T> {
  return runTransaction(sql, work);
}

/**
 * Transactions a deadlock or serialization failure rolled back are run again, this many times
 * in all. By design none should occur: every path takes an export's locks in one order (see
 * docs/operations.md) and waits for no second export. This is the one place that would absorb
 * one that still did (the whole transaction was rolled back, so running it again is safe); each
 * is logged, and pg_stat_database.deadlocks still counts it for the race tests.
 */
const ROLLED_BACK_ATTEMPTS = 3;

/**
 * Runs `work` in a transaction. A replayed termination notice raised before `work` started (at
 * BEGIN) is retried once: nothing ran, so retrying is safe even for writes. postgres.js 3.4.x replays a
 * dead connection's error onto the first query after it reconnects (porsager/postgres#1223),
 * which would otherwise turn the first request after a database restart into a 503.
 */
async function runTransaction<T>(sql: Sql, work: (tx: Tx) => Promise<T>): Promise<T> {
  let rolledBack = 0;
  for (let attempt = 1;; attempt++) {
    let started = false;
    const state = { ended: false };
    try {
      return await sql.begin((tx) => {
        started = true;
        return work(guardTransaction(tx as Tx, state));
      }) as T;
    } catch (error) {
      if (!started && attempt === 1 && isReplayedTermination(error)) continue;
      if (isRolledBackByConflict(error) && ++rolledBack < ROLLED_BACK_ATTEMPTS) {
        logLine({
          level: "warn",
          message: "transaction rolled back by a lock conflict; running it again",
          code: (error as { code?: string }).code,
        });
        continue;
      }
      throw translateDatabaseError(error);
    } finally {
      state.ended = true;
    }
  }
}

function isRolledBackByConflict(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === SQLSTATE.DEADLOCK_DETECTED || code === SQLSTATE.SERIALIZATION_FAILURE;
}

/**
 * postgres.js rejects `begin` when the connection drops but lets the callback run on, and the
 * callback's next statement would go to the same connection object: once the pool reconnects
 * it, that statement would run outside the transaction, without `set local role`, as the owner.
 * So a transaction handle refuses every statement once its transaction has ended.
 */
function guardTransaction(tx: Tx, state: { ended: boolean }): Tx {
  const refuseIfEnded = () => {
    if (state.ended) {
      throw Object.assign(new Error("The transaction has ended; no further statement may run in it"), {
        code: "CONNECTION_ENDED",
      });
    }
  };
  return new Proxy(tx, {
    apply(target, thisArg, args) {
      refuseIfEnded();
      return Reflect.apply(target, thisArg, args);
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "unsafe" && typeof value === "function") {
        return (...args: unknown[]) => {
          refuseIfEnded();
          return value.apply(target, args);
        };
      }
      return value;
    },
  });
}

/**
 * Runs one idempotent statement, retrying once on a connection error (see runTransaction: a
 * pooled connection may replay a stale error after the database restarted). Only for statements
 * that are safe to run twice: reads, and writes that set the same value again.
 */
export async function idempotentWithReconnect<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (error) {
    if (!isReplayedTermination(error)) throw error;
    return await statement();
  }
}

/**
 * The server's "terminating connection" notice (57P01/57P02), which postgres.js may deliver late
 * to the next query. Refused or timed-out connections are not retried: while the database is
 * down a retry only adds to the driver's reconnect backoff.
 */
function isReplayedTermination(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === SQLSTATE.ADMIN_SHUTDOWN || code === SQLSTATE.CRASH_SHUTDOWN;
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  SQLSTATE.ADMIN_SHUTDOWN,
  SQLSTATE.CRASH_SHUTDOWN,
  SQLSTATE.CANNOT_CONNECT_NOW,
]);

/** True when the error means the database could not be reached or went away mid-request. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? "";
  return CONNECTION_ERROR_CODES.has(code) || code.startsWith("08") ||
    error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.ConnectionReset;
}

/**
 * Maps driver and server errors to the project's errors. Errors that are already the project's
 * pass through; unknown ones are returned unchanged (they become a 500 with nothing internal).
 */
export function translateDatabaseError(error: unknown): unknown {
  if (isConnectionError(error)) return new ServiceUnavailableError(error);
  const code = (error as { code?: string } | null)?.code;
  if (code === SQLSTATE.INSUFFICIENT_PRIVILEGE) return new ExportPermissionError(undefined, error);
  return error;
}
