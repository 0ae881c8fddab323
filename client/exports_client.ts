/**
 * A typed client of the exports API on top of supabase-js, for Deno, Node and browsers. Requests
 * go through `supabase.functions.invoke`, so they carry the signed-in user's JWT; downloads use
 * `fetch(file_url)` and hand back a stream, since supabase-js reads whole bodies. The types come
 * from the server's own zod schemas and shared types.
 *
 * ```ts
 * const exports = new ExportsClient(supabase);
 * const created = await exports.createExport({ format: "jsonl", config: { template: "sharegpt" } });
 * const done = await exports.waitForExport(created.export_id, { onProgress: console.log });
 * const { stream, size } = await exports.downloadExport(done);
 * ```
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type {
  ExportLog,
  ExportPage,
  ListedExportConfig,
  ListedExportLog,
} from "../shared/domain/export_log.ts";
import type {
  ExportConfig,
  ExportConfigInput,
  ExportFiltersInput,
  ExportFormat,
  ExportRequest,
} from "../shared/domain/export_config.ts";
import type {
  ExportPreview,
  ExportUsage,
  PreviewConversation,
} from "../shared/domain/export_preview.ts";
import type { ExportStatus, ListQuery } from "../shared/http/list_query.ts";
import {
  errorFromResponse,
  ExportsApiError,
  exportsApiError,
  ExportsConnectionError,
} from "./errors.ts";

export * from "./errors.ts";
export type {
  ExportConfig,
  ExportConfigInput,
  ExportFiltersInput,
  ExportFormat,
  ExportLog,
  ExportPage,
  ExportPreview,
  ExportRequest,
  ExportStatus,
  ExportUsage,
  ListedExportConfig,
  ListedExportLog,
  PreviewConversation,
};

/** The `GET /exports` query: every field optional; `from` (inclusive) and `to` (exclusive) bound `timestamp`. */
export type ListExportsQuery = Partial<Omit<ListQuery, "from" | "to">> & {
  from?: string | Date;
  to?: string | Date;
};

/** How far an export has got, in conversations. */
export interface ExportProgress {
  processed: number;
  total: number;
  status: ExportStatus;
}

/** Options of createExport. */
export interface CreateExportOptions {
  /** Makes a retried request return the export the first one created (within 24 h). */
  idempotencyKey?: string;
  /** Seconds (0–30) the API may hold the answer while the export runs (`Prefer: wait`). */
  wait?: number;
  signal?: AbortSignal;
}

/** Options of getExport. */
export interface GetExportOptions {
  /** Seconds (0–30) the API may hold the answer while the export runs (`Prefer: wait`). */
  wait?: number;
  signal?: AbortSignal;
}

/** Options of previewExport: which page of the matching conversations to return. */
export interface PreviewExportOptions {
  page?: number;
  limit?: number;
  signal?: AbortSignal;
}

/**
 * A conditional read (`If-None-Match`): the value and its ETag when it changed since the ETag
 * given, else only `notModified` (the API answered 304, with no body).
 */
export type Conditional<T> =
  | { notModified: false; value: T; etag: string | null }
  | { notModified: true; etag: string };

/** Options of waitForExport. */
export interface WaitForExportOptions {
  /** Called with the progress first, then each time it (or the status) changes. */
  onProgress?: (progress: ExportProgress) => void;
  signal?: AbortSignal;
  /** Give up after this many milliseconds with a `TimeoutError` DOMException. */
  timeoutMs?: number;
  /** Longest `Prefer: wait` of one request while nothing moves (default 10 s). */
  maxWaitSeconds?: number;
}

/** A download in progress: the file as a stream, with what the response says about it. */
export interface ExportDownload {
  /** The file's bytes; read it to the end or cancel it. */
  stream: ReadableStream<Uint8Array>;
  /** Bytes the stream carries (the file's `file_size`). */
  size: number;
  /** The file's media type, e.g. `application/x-ndjson`. */
  contentType: string;
  /** The file name the API suggests, e.g. `export-<export_id>.jsonl`. */
  filename: string;
  /** The export the file belongs to. */
  export: ExportLog;
}

/** Options of the ExportsClient. */
export interface ExportsClientOptions {
  /** The edge function's name (default `exports`). */
  functionName?: string;
  /** The fetch used for downloads (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

const RUNNING: readonly ExportStatus[] = ["queued", "processing"];
const DEFAULT_MAX_WAIT_SECONDS = 10;

/** The exports API, called as the user whose JWT the given supabase-js client carries. */
export class ExportsClient {
  readonly #supabase: SupabaseClient;
  readonly #functionName: string;
  readonly #fetch: typeof fetch;

  constructor(supabase: SupabaseClient, options: ExportsClientOptions = {}) {
    this.#supabase = supabase;
    this.#functionName = options.functionName ?? "exports";
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Requests an export (`POST /exports`); it starts `queued` unless `wait` let it finish. */
  async createExport(
    request: ExportRequest,
    options: CreateExportOptions = {},
  ): Promise<ExportLog> {
    const headers: Record<string, string> = { ...preferWait(options.wait) };
    if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
    return await this.#invoke<ExportLog>("", {
      method: "POST",
      body: request,
      headers,
      signal: options.signal,
    });
  }

  /** One export (`GET /exports/{id}`), after waiting up to `wait` seconds for it to finish. */
  async getExport(exportId: string, options: GetExportOptions = {}): Promise<ExportLog> {
    return await this.#invoke<ExportLog>(`/${encodeURIComponent(exportId)}`, {
      method: "GET",
      headers: preferWait(options.wait),
      signal: options.signal,
    });
  }

  /**
   * One export, unless it is unchanged since `etag` (a 304): what a page that polls sends, so an
   * export that did not move costs a small answer.
   */
  async getExportIfChanged(
    exportId: string,
    etag: string | null,
    options: { signal?: AbortSignal } = {},
  ): Promise<Conditional<ExportLog>> {
    return await this.#invokeConditional<ExportLog>(
      `/${encodeURIComponent(exportId)}`,
      etag,
      options,
    );
  }

  /** A page of the caller's exports (`GET /exports`), newest first. */
  async listExports(
    query: ListExportsQuery = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<ExportPage> {
    return await this.#invoke<ExportPage>(searchOf(query), {
      method: "GET",
      signal: options.signal,
    });
  }

  /** A page of the caller's exports, unless it is unchanged since `etag` (a 304). */
  async listExportsIfChanged(
    query: ListExportsQuery,
    etag: string | null,
    options: { signal?: AbortSignal } = {},
  ): Promise<Conditional<ExportPage>> {
    return await this.#invokeConditional<ExportPage>(searchOf(query), etag, options);
  }

  /**
   * What an export of `request` would contain (`POST /exports/preview`), storing nothing: how
   * many conversations match now, one page of them, and the file's first records exactly as the
   * file would hold them.
   */
  async previewExport(
    request: ExportRequest,
    options: PreviewExportOptions = {},
  ): Promise<ExportPreview> {
    const search = searchOf({ page: options.page, limit: options.limit });
    return await this.#invoke<ExportPreview>(`/preview${search}`, {
      method: "POST",
      body: request,
      signal: options.signal,
    });
  }

  /** The caller's limits and how much of each is used (`GET /exports/usage`). */
  async getUsage(options: { signal?: AbortSignal } = {}): Promise<ExportUsage> {
    return await this.#invoke<ExportUsage>("/usage", { method: "GET", signal: options.signal });
  }

  /**
   * Waits until the export leaves `queued`/`processing` and returns it as it ended (`completed`,
   * `failed` or `expired`). Each request holds at the API (`Prefer: wait`) for 1 s while progress
   * moves, doubling up to `maxWaitSeconds` while it does not; the API answers at once when the
   * export finishes. Throws the signal's reason when aborted or timed out.
   */
  async waitForExport(exportId: string, options: WaitForExportOptions = {}): Promise<ExportLog> {
    const signals = [
      options.signal,
      options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
    ]
      .filter((signal): signal is AbortSignal => signal !== undefined);
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    const maxWait = Math.max(1, options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS);
    let reported: ExportProgress | undefined;
    let wait: number | undefined;
    while (true) {
      const log = await this.getExport(exportId, { wait, signal });
      const progress = { ...log.progress, status: log.status };
      const moved = reported === undefined || progress.processed !== reported.processed ||
        progress.total !== reported.total || progress.status !== reported.status;
      if (moved) {
        reported = progress;
        options.onProgress?.(progress);
      }
      if (!RUNNING.includes(log.status)) return log;
      wait = moved ? 1 : Math.min((wait ?? 1) * 2, maxWait);
    }
  }

  /**
   * Starts downloading a completed export through its signed `file_url` (no JWT needed) and
   * returns the body as a stream. Given an id, reads the export first. An export that is not
   * completed fails as the API would: 409 `not_ready` or `export_failed`, 410 `expired`.
   */
  async downloadExport(
    exportOrId: string | ExportLog,
    options: { signal?: AbortSignal } = {},
  ): Promise<ExportDownload> {
    const log = typeof exportOrId === "string"
      ? await this.getExport(exportOrId, { signal: options.signal })
      : exportOrId;
    if (log.file_url === null) throw notDownloadable(log);
    let response: Response;
    try {
      response = await this.#fetch(log.file_url, { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new ExportsConnectionError("Could not reach the exports API to download the file", {
        cause: error,
      });
    }
    if (!response.ok) throw await errorFromResponse(response);
    const length = response.headers.get("content-length");
    return {
      stream: response.body ?? new ReadableStream({ start: (controller) => controller.close() }),
      size: length === null ? log.file_size ?? 0 : Number(length),
      contentType: response.headers.get("content-type") ?? "application/octet-stream",
      filename: filenameOf(response.headers.get("content-disposition")) ??
        `export-${log.export_id}`,
      export: log,
    };
  }

  /** Deletes an export and its file (`DELETE /exports/{id}`); a running one is stopped. */
  async deleteExport(exportId: string): Promise<void> {
    await this.#invoke<unknown>(`/${encodeURIComponent(exportId)}`, { method: "DELETE" });
  }

  /** Queues a `failed` export again (`POST /exports/{id}/retry`); any other status is a 409 `conflict`. */
  async retryExport(exportId: string): Promise<ExportLog> {
    return await this.#invoke<ExportLog>(`/${encodeURIComponent(exportId)}/retry`, {
      method: "POST",
    });
  }

  /** A GET with `If-None-Match`: a 304 is an answer here, not an error. */
  async #invokeConditional<T>(
    path: string,
    etag: string | null,
    options: { signal?: AbortSignal },
  ): Promise<Conditional<T>> {
    try {
      const { data, response } = await this.#invokeWithResponse<T>(path, {
        method: "GET",
        headers: etag === null ? {} : { "If-None-Match": etag },
        signal: options.signal,
      });
      return { notModified: false, value: data, etag: response?.headers.get("etag") ?? null };
    } catch (error) {
      if (etag !== null && error instanceof NotModified) return { notModified: true, etag };
      throw error;
    }
  }

  /** Calls the function at `path` (after its name) and returns the JSON body, or throws a typed error. */
  async #invoke<T>(
    path: string,
    init: {
      method: "GET" | "POST" | "DELETE";
      body?: ExportRequest;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<T> {
    return (await this.#invokeWithResponse<T>(path, init)).data;
  }

  async #invokeWithResponse<T>(
    path: string,
    init: {
      method: "GET" | "POST" | "DELETE";
      body?: ExportRequest;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<{ data: T; response?: Response }> {
    const { data, error, response } = await this.#supabase.functions.invoke(
      `${this.#functionName}${path}`,
      { method: init.method, body: init.body, headers: init.headers, signal: init.signal },
    );
    if (error === null) return { data: data as T, response };
    if (init.signal?.aborted) throw init.signal.reason;
    if (error?.context instanceof Response && error.context.status === 304) {
      throw new NotModified();
    }
    if (error?.context instanceof Response) throw await errorFromResponse(error.context);
    throw new ExportsConnectionError("Could not reach the exports API", {
      cause: error?.context ?? error,
    });
  }
}

/** Raised inside the client for a 304, which the conditional reads turn into an answer. */
class NotModified extends Error {}

/** `?name=value&…` of the defined values (dates as ISO strings), or "" when there are none. */
function searchOf(query: Record<string, string | number | Date | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(name, value instanceof Date ? value.toISOString() : String(value));
  }
  return params.size > 0 ? `?${params}` : "";
}

function preferWait(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { Prefer: `wait=${Math.max(0, Math.round(seconds))}` };
}

/** The error the download endpoint answers for an export that has no file to give. */
function notDownloadable(log: ExportLog): ExportsApiError {
  if (log.status === "failed") {
    return exportsApiError(409, "export_failed", log.error_message ?? "The export failed");
  }
  if (RUNNING.includes(log.status)) {
    return exportsApiError(409, "not_ready", `The export is still ${log.status}`);
  }
  return exportsApiError(410, "expired", "This export has expired; request a new one");
}

function filenameOf(disposition: string | null): string | undefined {
  return disposition?.match(/filename="([^"]+)"/)?.[1];
}
