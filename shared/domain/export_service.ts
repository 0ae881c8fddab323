/**
 * ExportService: every operation on exports, over Postgres. A service made `forUser` runs each
 * call in one transaction as `authenticated` with the caller's verified claims, so RLS decides
 * what the caller may see; the owner role is used only for the internal state users can never
 * reach (membership, jobs, limits, idempotency keys). A service made `forService` is the worker's
 * and the cron side's.
 */
import { z } from "zod";
import {
  idempotentWithReconnect,
  type Sql,
  SQLSTATE,
  type Tx,
  type UserClaims,
  withService,
  withUser,
} from "../database/db.ts";
import {
  ExportNotFoundError,
  ExportPermissionError,
  ExportStateError,
  IdempotencyKeyReusedError,
  NoConversationsError,
  NotRetryableError,
  TooManyConversationsError,
  TooManyExportsError,
  ValidationError,
} from "../core/errors.ts";
import { membershipCondition } from "./membership_query.ts";
import { isUuid } from "../core/uuid.ts";
import type { ExportConfig, ExportFormat } from "./export_config.ts";
import type { ExportLog, ListedExportLog } from "./export_log.ts";
import {
  type ExportPreview,
  type ExportUsage,
  type PreviewConversation,
  SAMPLE_MAX_BYTES,
  SAMPLE_MAX_RECORDS,
} from "./export_preview.ts";
import { DEFAULT_LIMIT, EXPORT_STATUSES, type ExportStatus, MAX_LIMIT } from "./listing.ts";

export { EXPORT_STATUSES, type ExportStatus } from "./listing.ts";

/** What a caller asks for: a format and a normalized config (see export_config.ts). */
export interface CreateExportInput {
  format: ExportFormat;
  config: ExportConfig;
}

/** Options of requestExport. */
export interface RequestExportOptions {
  /** Idempotency-Key header value, already validated. */
  idempotencyKey?: string;
  /** Canonical form of the request, compared on a repeat of the key. */
  fingerprint?: string;
  /** Where the finished file will live (the functions' EXPORTS_FILE_STORE); default postgres. */
  fileStore?: "postgres" | "s3";
}

/** The export that a request created, or the earlier one an idempotent repeat returns. */
export interface RequestedExport {
  log: ExportLog;
  replayed: boolean;
}

/** Filters of listExportLogs; dates bound `timestamp` (from inclusive, to exclusive). */
export interface ListFilters {
  format?: ExportFormat;
  status?: ExportStatus;
  dateFrom?: string;
  dateTo?: string;
}

/** Pagination of listExportLogs. */
export interface Pagination {
  page?: number;
  limit?: number;
}

const updateSchema = z.strictObject({
  status: z.enum(EXPORT_STATUSES).optional(),
  file_size: z.number().int().nonnegative().nullable().optional(),
  file_url: z.string().max(2048).nullable().optional(),
  expires_at: z.string().refine((v) => !Number.isNaN(Date.parse(v)), "Expected an ISO timestamp")
    .nullable().optional(),
  error_message: z.string().max(2000).nullable().optional(),
});

/** Lifecycle fields the service side may update. */
export type ExportLogUpdate = z.infer<typeof updateSchema>;

// Columns in the contract's order; timestamps come back as exact ISO strings (see db.ts).
const LOG_COLUMNS = `l.id, l.export_id, l.user_id, l."timestamp", l.format, l.config,
  l.conversation_count, l.file_size, l.status, l.file_url, l.expires_at, l.error_message,
  l.created_at, l.updated_at`;

// In lists, config.conversationIds (up to 10,000 ids) becomes conversationIdsCount.
const LIST_CONFIG = `case when l.config ? 'conversationIds'
    then (l.config - 'conversationIds') || jsonb_build_object(
           'conversationIdsCount', jsonb_array_length(l.config -> 'conversationIds'))
    else l.config end as config,`;

interface LogRow extends Omit<ExportLog, "progress" | "skipped"> {
  processed?: number | null;
  skipped?: number | null;
}

function toExportLog(row: LogRow): ExportLog {
  const { processed, skipped, ...columns } = row;
  const total = columns.conversation_count;
  const done = columns.status === "completed" || columns.status === "expired"
    ? total
    : Math.min(processed ?? 0, total);
  return { ...columns, progress: { processed: done, total }, skipped: skipped ?? 0 };
}

/** Reads the internal progress of the given (already authorized) export rows, as the owner. */
async function attachProgress(tx: Tx, rows: LogRow[]): Promise<ExportLog[]> {
  if (rows.length === 0) return [];
  // Sent together (pipelined): one write and one round trip instead of two.
  const [, jobs] = await Promise.all([
    tx`reset role`,
    tx<{ export_log_id: string; processed: number; skipped: number }[]>`
      select export_log_id, processed, skipped from exports_internal.export_jobs
       where export_log_id = any(${rows.map((r) => r.id)}::uuid[])`,
  ]);
  const byId = new Map(jobs.map((job) => [job.export_log_id, job]));
  return rows.map((row) => toExportLog({ ...row, ...pickProgress(byId.get(row.id)) }));
}

function pickProgress(job?: { processed: number; skipped: number }) {
  return job ? { processed: job.processed, skipped: job.skipped } : {};
}

/** The database-side settings, from exports_internal.settings. */
export interface DatabaseSettings {
  max_active_exports: number;
  max_daily_exports: number;
  max_conversations_per_export: number;
  max_stored_bytes: number;
  max_concurrent_downloads: number;
  public_base_url: string;
  retention_seconds: number;
}

async function readSettings(tx: Tx): Promise<DatabaseSettings> {
  const [settings] = await tx<DatabaseSettings[]>`
    select max_active_exports, max_daily_exports, max_conversations_per_export, max_stored_bytes,
           max_concurrent_downloads, public_base_url, extract(epoch from retention)::int as retention_seconds
      from exports_internal.settings`;
  return settings;
}

/** Every operation on exports, for one caller (a user) or for the service side. */
export class ExportService {
  private constructor(private readonly sql: Sql, private readonly claims?: UserClaims) {}

  /** A service acting as the user with these verified claims: RLS applies to every call. */
  static forUser(sql: Sql, claims: UserClaims): ExportService {
    return new ExportService(sql, claims);
  }

  /** The worker's and cron side's service, acting as the owner. */
  static forService(sql: Sql): ExportService {
    return new ExportService(sql);
  }

  private get userId(): string {
    if (!this.claims) throw new ExportPermissionError("This operation needs a user");
    return this.claims.sub;
  }

  private run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.claims ? withUser(this.sql, this.claims, work) : withService(this.sql, work);
  }

  /** Creates an export as the caller (see requestExport) and returns it. */
  async createExportLog(input: CreateExportInput): Promise<ExportLog> {
    return (await this.requestExport(input)).log;
  }

  /**
   * Creates a queued export in one transaction: an idempotent repeat returns the earlier export;
   * the per-user limits are checked under a per-user lock (so concurrent requests cannot exceed
   * them); the membership is resolved as the user (RLS decides what they may export) and stored,
   * with the row, by the owner.
   */
  requestExport(
    input: CreateExportInput,
    options: RequestExportOptions = {},
  ): Promise<RequestedExport> {
    const userId = this.userId;
    const fingerprint = options.fingerprint ?? JSON.stringify([input.format, input.config]);
    return this.run(async (tx) => {
      // One creation at a time per user: limits and idempotency keys are checked and written
      // atomically with respect to that user's other requests.
      await tx`select pg_advisory_xact_lock(hashtextextended('exports:create:' || ${userId}, 0))`;
      await tx`reset role`;

      if (options.idempotencyKey !== undefined) {
        // The key and its export in one statement (one snapshot): a DELETE that commits meanwhile
        // removes both (by cascade), so a remembered key always comes with its export, and a key
        // whose export was deleted is not found and the request creates a new export.
        const [earlier] = await tx<(LogRow & { request_fingerprint: string })[]>`
          select k.request_fingerprint, ${tx.unsafe(LOG_COLUMNS)}
            from exports_internal.idempotency_keys k
            join public.export_logs l on l.id = k.export_log_id
           where k.user_id = ${userId} and k.idempotency_key = ${options.idempotencyKey}
             and k.created_at > now() - interval '24 hours'`;
        if (earlier) {
          const { request_fingerprint, ...row } = earlier;
          if (request_fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
          const [log] = await attachProgress(tx, [row]);
          return { log, replayed: true };
        }
      }

      const settings = await readSettings(tx);
      await enforceUserLimits(tx, userId, settings);

      // Resolve the membership as the user, so RLS on conversations decides what is exportable.
      await tx`select set_config('role', 'authenticated', true)`;
      await tx`
        create temporary table new_export_members on commit drop as
        select (row_number() over (order by c.created_at, c.id))::integer as position,
               c.id as conversation_id
          from public.conversations c
         where c.user_id = (select auth.uid()) and ${membershipCondition(tx, input.config)}`;
      const [{ count }] = await tx<{ count: number }[]>`
        select count(*)::integer as count from new_export_members`;
      if (count === 0) throw new NoConversationsError();
      if (count > settings.max_conversations_per_export) {
        throw new TooManyConversationsError(count, settings.max_conversations_per_export);
      }

      // Users hold no INSERT privilege on export_logs: the owner writes the row and its state.
      await tx`reset role`;
      const [row] = await tx<LogRow[]>`
        insert into public.export_logs as l (user_id, format, config, conversation_count)
        values (${userId}, ${input.format}, ${tx.json(storedConfig(input) as never)}, ${count})
        returning ${tx.unsafe(LOG_COLUMNS)}`;
      await tx`
        insert into exports_internal.export_members (export_log_id, position, conversation_id)
        select ${row.id}, position, conversation_id from new_export_members`;
      await tx`insert into exports_internal.export_jobs (export_log_id, file_store)
                values (${row.id}, ${options.fileStore ?? "postgres"})`;
      await tx`insert into exports_internal.export_requests (user_id) values (${userId})`;
      if (options.idempotencyKey !== undefined) {
        await tx`
          insert into exports_internal.idempotency_keys
                 (user_id, idempotency_key, request_fingerprint, export_log_id)
          values (${userId}, ${options.idempotencyKey}, ${fingerprint}, ${row.id})
          on conflict (user_id, idempotency_key) do update
             set request_fingerprint = excluded.request_fingerprint,
                 export_log_id = excluded.export_log_id,
                 created_at = now()`;
      }
      await tx`select pg_notify('exports_queued', ${row.export_id})`;
      return { log: toExportLog(row), replayed: false };
    });
  }

  /** One export by its public id: null when missing or (for a user) not theirs. */
  getExportLog(exportId: string): Promise<ExportLog | null> {
    if (!isUuid(exportId)) return Promise.resolve(null);
    return this.run(async (tx) => {
      const rows = await tx<LogRow[]>`
        select ${tx.unsafe(LOG_COLUMNS)} from public.export_logs l where l.export_id = ${exportId}`;
      const [log] = await attachProgress(tx, rows);
      return log ?? null;
    });
  }

  /**
   * A page of the user's exports, newest first (then by id), with the total that match. In
   * lists, config.conversationIds is replaced by conversationIdsCount to keep a page small.
   */
  async listExportLogs(
    userId: string,
    filters: ListFilters = {},
    pagination: Pagination = {},
  ): Promise<{ logs: ListedExportLog[]; total: number }> {
    const page = pagination.page ?? 1;
    const limit = pagination.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(page) || page < 1) {
      throw new ValidationError([{ path: "page", message: "Expected an integer of at least 1" }]);
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new ValidationError([{
        path: "limit",
        message: `Expected an integer from 1 to ${MAX_LIMIT}`,
      }]);
    }
    return await this.run(async (tx) => {
      const where = listCondition(tx, userId, filters);
      // Sent together: postgres.js pipelines them in one write and one round trip.
      const [[{ total }], rows] = await Promise.all([
        tx<
          { total: number }[]
        >`select count(*)::integer as total from public.export_logs l where ${where}`,
        tx<LogRow[]>`
          select ${tx.unsafe(LOG_COLUMNS.replace("l.config,", LIST_CONFIG))}
            from public.export_logs l
           where ${where}
           order by l."timestamp" desc, l.id desc
           limit ${limit} offset ${(page - 1) * limit}`,
      ]);
      // The rows were read with LIST_CONFIG: their config is the listed form.
      const logs = await attachProgress(tx, rows) as unknown as ListedExportLog[];
      return { logs, total };
    });
  }

  /**
   * The service side's lifecycle update. Illegal transitions raise (409 conflict); a missing
   * export raises ExportNotFoundError; called for a user, the database refuses it
   * (ExportPermissionError): users hold no UPDATE privilege on export_logs.
   */
  async updateExportLog(exportId: string, updates: ExportLogUpdate): Promise<ExportLog> {
    const parsed = updateSchema.safeParse(updates);
    if (!parsed.success) {
      throw new ValidationError(parsed.error.issues.map((issue) => ({
        path: issue.path.join(".") || String((issue as { keys?: string[] }).keys ?? ""),
        message: issue.message,
      })));
    }
    const changes = Object.fromEntries(
      Object.entries(parsed.data).filter(([, value]) => value !== undefined),
    );
    if (Object.keys(changes).length === 0) {
      throw new ValidationError([{ path: "", message: "Expected at least one field to update" }]);
    }
    if (!isUuid(exportId)) throw new ExportNotFoundError();
    return await this.run(async (tx) => {
      let rows: LogRow[];
      try {
        rows = await tx<LogRow[]>`
          update public.export_logs l set ${tx(changes)} where l.export_id = ${exportId}
          returning ${tx.unsafe(LOG_COLUMNS)}`;
      } catch (error) {
        if ((error as { code?: string }).code === SQLSTATE.ILLEGAL_TRANSITION) {
          throw new ExportStateError("conflict", (error as Error).message);
        }
        throw error;
      }
      if (rows.length === 0) throw new ExportNotFoundError();
      const [log] = await attachProgress(tx, rows);
      return log;
    });
  }

  /**
   * Deletes an export: its row, membership, job and file go together (by cascade). A running
   * export's worker notices the row is gone and stops. Missing or not the caller's: not found.
   */
  deleteExportLog(exportId: string): Promise<void> {
    if (!isUuid(exportId)) return Promise.reject(new ExportNotFoundError());
    return this.run(async (tx) => {
      const rows =
        await tx`delete from public.export_logs where export_id = ${exportId} returning id`;
      if (rows.length === 0) throw new ExportNotFoundError();
    });
  }

  /**
   * Queues a failed export again (same export_id; attempts and error_message reset). Any other
   * status is a conflict. It counts toward the active limit.
   */
  retryExportLog(exportId: string): Promise<ExportLog> {
    const userId = this.userId;
    if (!isUuid(exportId)) return Promise.reject(new ExportNotFoundError());
    return this.run(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended('exports:create:' || ${userId}, 0))`;
      // Visibility is decided as the user (RLS); the row lock is taken as the owner, since
      // FOR UPDATE needs an UPDATE privilege that users do not hold.
      const [visible] = await tx<{ id: string }[]>`
        select l.id from public.export_logs l where l.export_id = ${exportId}`;
      if (!visible) throw new ExportNotFoundError();
      await tx`reset role`;
      // The export row first (the lock order, see docs/operations.md), then its job and chunks.
      // A DELETE that committed since the check above leaves no row: not found, as if it had
      // come first.
      const [locked] = await tx<{ status: ExportStatus }[]>`
        select status from public.export_logs where id = ${visible.id} for no key update`;
      if (!locked) throw new ExportNotFoundError();
      const { status } = locked;
      if (status !== "failed") {
        throw new NotRetryableError(status);
      }
      const settings = await readSettings(tx);
      await enforceUserLimits(tx, userId, settings, { countRequest: false });
      await tx`
        update exports_internal.export_jobs
           set attempts = 0, processed = 0, rendered = 0, skipped = 0, chunks_written = 0,
               content_hash = null, lease_token = null, lease_expires_at = null, worker = null,
               last_error = null, summary = null,
               -- an object or upload of the earlier attempt is queued for deletion (outbox)
               sealed_size = null, object_key = null, upload_id = null, upload_part_bytes = null,
               upload_parts = '[]', object_etag = null
         where export_log_id = ${visible.id}`;
      // A retry starts the file from scratch: nothing of an earlier attempt may be reused.
      await tx`delete from exports_internal.export_chunks where export_log_id = ${visible.id}`;
      const [row] = await tx<LogRow[]>`
        update public.export_logs l
           set status = 'queued', error_message = null, file_size = null, file_url = null,
               expires_at = null
         where l.id = ${visible.id}
        returning ${tx.unsafe(LOG_COLUMNS)}`;
      await tx`select pg_notify('exports_queued', ${row.export_id})`;
      return toExportLog(row);
    });
  }

  /**
   * What an export of `input` would contain, storing nothing and counting no limit: how many of
   * the user's conversations match now (as POST /exports would resolve them: as the user, so RLS
   * decides), one page of them in file order, and the file's first records rendered by the SQL
   * that renders files (exports_internal.preview_sample). Its cost is bounded whatever the
   * membership: one count, one page, and at most SAMPLE_MAX_RECORDS conversations rendered.
   */
  previewExport(
    input: CreateExportInput,
    pagination: { page: number; limit: number },
  ): Promise<ExportPreview> {
    const userId = this.userId;
    const { page, limit } = pagination;
    return this.run(async (tx) => {
      const members = tx`
        from public.conversations c
       where c.user_id = (select auth.uid()) and ${membershipCondition(tx, input.config)}`;
      // Sent together: postgres.js pipelines them in one write and one round trip.
      const [[{ count }], conversations, first] = await Promise.all([
        tx<{ count: number }[]>`select count(*)::integer as count ${members}`,
        tx<PreviewConversation[]>`
          select c.id, c.title, c.tier, c.status, c.quality_score::float8 as quality_score,
                 c.turn_count, c.category, c.created_at, c.updated_at
            ${members}
           order by c.created_at, c.id
           limit ${limit} offset ${(page - 1) * limit}`,
        tx<{ id: string }[]>`
          select c.id ${members} order by c.created_at, c.id limit ${SAMPLE_MAX_RECORDS}`,
      ]);
      await tx`reset role`;
      const [settings, [sample]] = await Promise.all([
        readSettings(tx),
        tx<ExportPreview["sample"][]>`
          select s.text, s.records, s.skipped
            from exports_internal.preview_sample(
              ${userId}, ${tx.json(storedConfig(input) as never)}, ${
          first.map((c) => c.id)
        }::uuid[],
              ${count}, ${SAMPLE_MAX_BYTES}) s`,
      ]);
      return {
        conversation_count: count,
        max_conversations: settings.max_conversations_per_export,
        sample,
        conversations,
        page,
        limit,
      };
    });
  }

  /** The user's limits and how much of each is used, read as POST /exports enforces them. */
  getUsage(): Promise<ExportUsage> {
    const userId = this.userId;
    return this.run(async (tx) => {
      await tx`reset role`;
      const [settings, usage] = await Promise.all([readSettings(tx), readUsage(tx, userId)]);
      const atDailyLimit = usage.daily >= settings.max_daily_exports;
      return {
        active: { used: usage.active, limit: settings.max_active_exports },
        daily: {
          used: usage.daily,
          limit: settings.max_daily_exports,
          next_slot_at: atDailyLimit ? usage.daily_slot_frees_at : null,
        },
        bytes: { used: usage.stored_bytes, limit: settings.max_stored_bytes },
        downloads: { limit: settings.max_concurrent_downloads },
        max_conversations: settings.max_conversations_per_export,
        retention_seconds: settings.retention_seconds,
      };
    });
  }

  /**
   * A fingerprint of what a list page of the user shows: it changes whenever any export the
   * filters cover, or its job's progress, changes (each write makes a new row version, with a new
   * xmin), or one is added or deleted. One statement as the owner, for the user's own rows only
   * (the claims are verified), without the transaction a read as the user takes: this is what a
   * poll that ends in 304 costs.
   */
  async exportListVersion(filters: ListFilters): Promise<string> {
    const { rows, versions } = await this.#versionOf(listCondition(this.sql, this.userId, filters));
    return `${rows}:${versions}`;
  }

  /** The same for one export; null when it is not the user's (or does not exist). */
  async exportVersion(exportId: string): Promise<string | null> {
    if (!isUuid(exportId)) return null;
    const { rows, versions } = await this.#versionOf(
      this.sql`l.user_id = ${this.userId} and l.export_id = ${exportId}` as unknown as Fragment,
    );
    return rows === 0 ? null : versions;
  }

  /** One read statement outside a transaction: retried once on a replayed termination (db.ts). */
  async #versionOf(condition: Fragment): Promise<{ rows: number; versions: string }> {
    const [version] = await idempotentWithReconnect(() =>
      this.sql<{ rows: number; versions: string }[]>`
        select count(*)::integer as rows,
               coalesce(sum(hashtextextended(
                 l.id::text || ':' || l.xmin::text || ':' || coalesce(j.xmin::text, '-'), 0
               )::numeric), 0)::text as versions
          from public.export_logs l
          left join exports_internal.export_jobs j on j.export_log_id = l.id
         where ${condition}`
    );
    return version;
  }

  /** Moves due completed exports to expired (see public.mark_expired_exports()). */
  markExpiredExports(): Promise<number> {
    return this.run(async (tx) => {
      const [{ count }] = await tx<{ count: number }[]>`
        select public.mark_expired_exports() as count`;
      return count;
    });
  }
}

/** The config as export_logs stores it (and the renderers read it): `format` included. */
function storedConfig(input: CreateExportInput): Record<string, unknown> {
  return { ...input.config, format: input.format };
}

/** A piece of SQL that goes inside another statement. */
type Fragment = ReturnType<Tx["unsafe"]>;

/** The rows of `public.export_logs l` a list shows: the user's, narrowed by the filters. */
function listCondition(sql: Sql | Tx, userId: string, filters: ListFilters): Fragment {
  return sql`
    l.user_id = ${userId}
    ${filters.format ? sql`and l.format = ${filters.format}` : sql``}
    ${filters.status ? sql`and l.status = ${filters.status}` : sql``}
    ${filters.dateFrom ? sql`and l."timestamp" >= ${filters.dateFrom}::timestamptz` : sql``}
    ${
    filters.dateTo ? sql`and l."timestamp" < ${filters.dateTo}::timestamptz` : sql``
  }` as unknown as Fragment;
}

/** The usage the per-user limits are checked against (exports_internal.user_usage). */
interface UserUsage {
  active: number;
  daily: number;
  /** When the oldest request in the 24 h window leaves it (null when there is none). */
  daily_slot_frees_at: string | null;
  stored_bytes: number;
  /** Seconds until the oldest request leaves the 24 h window (null when there is none). */
  daily_retry_after: number | null;
  /** Seconds until the first stored file expires (null when there is none). */
  bytes_retry_after: number | null;
}

async function readUsage(tx: Tx, userId: string): Promise<UserUsage> {
  const [usage] = await tx<UserUsage[]>`
    select u.active, u.daily, u.oldest_daily_request_at + interval '24 hours' as daily_slot_frees_at,
           u.stored_bytes,
           ceil(extract(epoch from u.oldest_daily_request_at + interval '24 hours' - now()))::integer
             as daily_retry_after,
           ceil(extract(epoch from u.first_expiry_at - now()))::integer as bytes_retry_after
      from exports_internal.user_usage(${userId}) u`;
  return usage;
}

/**
 * The per-user limits, checked by the owner under the per-user lock: active exports, requests in
 * the last 24 h, and bytes of stored files. Each refusal says when to try again.
 */
async function enforceUserLimits(
  tx: Tx,
  userId: string,
  settings: DatabaseSettings,
  options: { countRequest?: boolean } = {},
): Promise<void> {
  const usage = await readUsage(tx, userId);
  if (usage.active >= settings.max_active_exports) {
    throw TooManyExportsError.active(usage.active, settings.max_active_exports);
  }
  if (options.countRequest !== false && usage.daily >= settings.max_daily_exports) {
    throw new TooManyExportsError(
      `You have requested ${usage.daily} exports in the last 24 hours (the limit is ${settings.max_daily_exports})`,
      Math.max(1, usage.daily_retry_after ?? 60),
    );
  }
  if (usage.stored_bytes >= settings.max_stored_bytes) {
    throw new TooManyExportsError(
      `Your stored export files take ${usage.stored_bytes} bytes (the limit is ${settings.max_stored_bytes}); delete some or wait for them to expire`,
      Math.max(1, usage.bytes_retry_after ?? 60),
    );
  }
}
