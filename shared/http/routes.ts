/**
 * Every route of the API, defined once: path, method, security, the parts of the request it
 * takes (with the schemas and parsers that validate them) and each response with its schema and
 * headers. The functions serve these definitions (shared/http/serve_route.ts: a route without a
 * definition cannot be served), the OpenAPI document is generated from them
 * (scripts/generate_openapi.ts), and handler, client and CLI types are inferred from them.
 *
 * What a definition leaves out, `serveRoute` and the generator both derive from the rest, so it
 * is written nowhere else: every route answers 400 invalid_request (each refuses query parameters
 * it does not take); one with an `export_id` answers 404; one with a body answers 413; a user's route answers 401, 403, 500 and
 * 503; a route with a preflight answers OPTIONS.
 */
import { z } from "zod";
import type { ErrorCode } from "../core/error_codes.ts";
import { ExportRequestSchema, parseExportRequest } from "../domain/export_config.ts";
import { ExportLogSchema, ExportPageSchema } from "../domain/export_log.ts";
import { ExportPreviewSchema, ExportUsageSchema } from "../domain/export_preview.ts";
import { MAX_BODY_BYTES } from "./json_body.ts";
import {
  ListQuerySchema,
  parseListQuery,
  parsePreviewQuery,
  PreviewQuerySchema,
} from "./list_query.ts";

/** Who may call a route. */
export type Security =
  /** A signed-in user's JWT (role authenticated). */
  | "user"
  /** A user's JWT, or the signed `token` of a file_url instead; the handler tells which. */
  | "userOrDownloadToken"
  /** The project's service-role JWT. */
  | "serviceRole";

/** Request headers the document describes once (components.parameters) and routes name. */
export type HeaderParameter = "Idempotency-Key" | "Prefer" | "Range" | "If-Range" | "If-None-Match";

/** Response headers the document describes once (components.headers) and responses name. */
export type ResponseHeader =
  | "X-Request-Id"
  | "Location"
  | "Preference-Applied"
  | "Content-Disposition"
  | "Content-Length"
  | "ETag"
  | "Accept-Ranges"
  | "Cache-Control"
  | "X-Content-Type-Options"
  | "Referrer-Policy"
  | "Content-Range";

/** Example values of the document (scripts/openapi/examples.ts), by name. */
export type ExampleName = "queued" | "completed" | "page" | "done" | "preview" | "usage";

/** A successful response: its headers and, unless empty, its JSON schema or a file. */
export interface SuccessResponse {
  description: string;
  headers: readonly ResponseHeader[];
  body?: z.ZodType | "file";
  example?: ExampleName;
}

/** An error response particular to a route: the codes it may carry (all of its status's if none). */
export interface ErrorResponse {
  description: string;
  codes?: readonly ErrorCode[];
}

/** The request body: its schema (for the document) and the parser that validates with it. */
export interface BodyDefinition<T = unknown> {
  schema: z.ZodType;
  parse: (body: unknown) => T;
  maxBytes: number;
}

/** The query: its schema (for the document) and the parser that validates with it. */
export interface QueryDefinition<T = unknown> {
  schema: z.ZodObject;
  parse: (params: URLSearchParams) => T;
}

/** One operation of the API. */
export interface RouteDefinition {
  /** The edge function that serves it. */
  function: "exports" | "export-worker";
  method: "get" | "post" | "delete";
  /** The path under /functions/v1, with `{export_id}` for the export's id. */
  path: string;
  operationId: string;
  tags: readonly string[];
  summary: string;
  description: string;
  security: Security;
  /** The path has an `export_id`: checked to be a UUID (400) and lowercased. */
  exportId?: true;
  headers?: readonly HeaderParameter[];
  query?: QueryDefinition;
  body?: BodyDefinition;
  /** The success responses and the errors particular to this route, by status. */
  responses: Readonly<Record<number, SuccessResponse | ErrorResponse>>;
  /** Browsers may call it across origins: OPTIONS answers the preflight (its operationId suffix). */
  preflight?: string;
}

/** Keeps a definition's literal types, so handlers get the types of its parsed inputs. */
function defineRoute<const R extends RouteDefinition>(route: R): R {
  return route;
}

const EXPORT_BODY = {
  schema: ExportRequestSchema,
  parse: parseExportRequest,
  maxBytes: MAX_BODY_BYTES,
};
const LIST_QUERY = { schema: ListQuerySchema, parse: parseListQuery };

/** The answer to a poll whose If-None-Match still matches: nothing changed, no body. */
const NOT_MODIFIED: SuccessResponse = {
  description:
    "Not modified: the If-None-Match ETag is still current (nothing shown here changed since)",
  headers: ["ETag", "Preference-Applied", "X-Request-Id"],
};

const listExports = defineRoute({
  function: "exports",
  method: "get",
  path: "/exports",
  operationId: "listExports",
  tags: ["exports"],
  summary: "List the caller's exports",
  description:
    "Newest first (`timestamp` desc, then `id` desc). A bad, unknown or repeated parameter is a 400. In list responses `config.conversationIds` is replaced by `config.conversationIdsCount`.",
  security: "user",
  headers: ["If-None-Match"],
  query: LIST_QUERY,
  responses: {
    200: {
      description: "A page of the caller's exports",
      headers: ["ETag", "X-Request-Id"],
      body: ExportPageSchema,
      example: "page",
    },
    304: NOT_MODIFIED,
  },
  preflight: "Exports",
});

const createExport = defineRoute({
  function: "exports",
  method: "post",
  path: "/exports",
  operationId: "createExport",
  tags: ["exports"],
  summary: "Request an export",
  description:
    `The matching conversations are resolved now and fixed as the export's membership. Body at most ${MAX_BODY_BYTES} bytes; unknown fields anywhere are a 400. Generation starts in the background; poll the export (or send \`Prefer: wait=N\`).`,
  security: "user",
  headers: ["Idempotency-Key", "Prefer"],
  body: EXPORT_BODY,
  responses: {
    202: {
      description: "Accepted: the export is queued (or, after `Prefer: wait`, further along)",
      headers: ["Location", "Preference-Applied", "X-Request-Id"],
      body: ExportLogSchema,
      example: "queued",
    },
    200: {
      description:
        "An idempotent repeat (same Idempotency-Key, same request, within 24 h): the earlier export as it is now",
      headers: ["Location", "Preference-Applied", "X-Request-Id"],
      body: ExportLogSchema,
      example: "completed",
    },
    422: {
      description:
        "No conversation matches, more than the per-export maximum match, or the Idempotency-Key was used with another request. Nothing is stored.",
    },
    429: {
      description:
        "A per-user limit is reached: active exports, exports in the last 24 h, or bytes of stored files",
      codes: ["too_many_exports"],
    },
  },
  preflight: "Exports",
});

const getExport = defineRoute({
  function: "exports",
  method: "get",
  path: "/exports/{export_id}",
  operationId: "getExport",
  tags: ["exports"],
  summary: "One export's status",
  description:
    "Not the caller's and no such export get the same 404. Without `Prefer: wait` the answer carries an ETag, and `If-None-Match` with it answers 304 while the export has not changed.",
  security: "user",
  exportId: true,
  headers: ["Prefer", "If-None-Match"],
  responses: {
    200: {
      description:
        "The export (after `Prefer: wait`, once it left queued/processing or the wait ran out)",
      headers: ["ETag", "Preference-Applied", "X-Request-Id"],
      body: ExportLogSchema,
      example: "completed",
    },
    304: NOT_MODIFIED,
  },
  preflight: "Export",
});

const deleteExport = defineRoute({
  function: "exports",
  method: "delete",
  path: "/exports/{export_id}",
  operationId: "deleteExport",
  tags: ["exports"],
  summary: "Delete an export and its file",
  description: "A running export is stopped and its partial file discarded.",
  security: "user",
  exportId: true,
  responses: { 204: { description: "Deleted", headers: ["X-Request-Id"] } },
  preflight: "Export",
});

const DOWNLOAD_HEADERS = [
  "Content-Disposition",
  "Content-Length",
  "ETag",
  "Accept-Ranges",
  "Cache-Control",
  "X-Content-Type-Options",
  "Referrer-Policy",
  "X-Request-Id",
] as const;

const downloadExport = defineRoute({
  function: "exports",
  method: "get",
  path: "/exports/{export_id}/download",
  operationId: "downloadExport",
  tags: ["exports"],
  summary: "Download the file",
  description:
    "Authorized by the Bearer JWT or by the `token` of a `file_url` (then no JWT is needed). The file is streamed chunk by chunk; with the object store (EXPORTS_FILE_STORE=s3) every check is made the same way and the answer is a 302 to a presigned URL of the object, which serves the same headers and ranges. The database decides expiry: once it says expired, every download is a 410 whatever the token says.",
  security: "userOrDownloadToken",
  exportId: true,
  headers: ["Range", "If-Range"],
  responses: {
    200: { description: "The whole file", headers: DOWNLOAD_HEADERS, body: "file" },
    206: {
      description: "One byte range (`Range: bytes=a-b`)",
      headers: [...DOWNLOAD_HEADERS, "Content-Range"],
      body: "file",
    },
    302: {
      description:
        "With the object store: a presigned GET URL of the file (valid EXPORTS_S3_URL_TTL_SECONDS, default 60), which answers as 200/206 do here",
      headers: ["Location", "Cache-Control", "Referrer-Policy", "X-Request-Id"],
    },
    409: {
      description: "Not downloadable yet (queued or processing), or failed",
      codes: ["not_ready", "export_failed"],
    },
    410: { description: "Expired, or past expires_at: the file is gone" },
    416: { description: "The range lies outside the file" },
    429: {
      description: "Too many downloads of this user in flight",
      codes: ["too_many_downloads"],
    },
  },
  preflight: "Download",
});

const retryExport = defineRoute({
  function: "exports",
  method: "post",
  path: "/exports/{export_id}/retry",
  operationId: "retryExport",
  tags: ["exports"],
  summary: "Queue a failed export again",
  description:
    "Same export_id; attempts and error_message reset. It counts toward the active-export limit.",
  security: "user",
  exportId: true,
  responses: {
    202: {
      description: "Queued again",
      headers: ["Location", "X-Request-Id"],
      body: ExportLogSchema,
      example: "queued",
    },
    409: { description: "The export is not failed", codes: ["conflict"] },
    429: { description: "The active-export limit is reached", codes: ["too_many_exports"] },
  },
  preflight: "Retry",
});

const previewExport = defineRoute({
  function: "exports",
  method: "post",
  path: "/exports/preview",
  operationId: "previewExport",
  tags: ["exports"],
  summary: "What an export would contain, before asking for it",
  description:
    "Takes exactly the body of POST /exports (same parser and answers). Nothing is stored and no limit is counted. The count is what POST /exports would resolve now (0 is an answer here, not a 422); the sample is the file's opening rendered by the same SQL as the file. Its cost is bounded at any membership size.",
  security: "user",
  query: { schema: PreviewQuerySchema, parse: parsePreviewQuery },
  body: EXPORT_BODY,
  responses: {
    200: {
      description: "The count, the sample and one page of the matching conversations",
      headers: ["X-Request-Id"],
      body: ExportPreviewSchema,
      example: "preview",
    },
  },
  preflight: "Preview",
});

const getUsage = defineRoute({
  function: "exports",
  method: "get",
  path: "/exports/usage",
  operationId: "getUsage",
  tags: ["exports"],
  summary: "The caller's limits and how much of each is used",
  description:
    "The figures POST /exports enforces, read the same way. `daily.next_slot_at` is when the oldest request leaves the 24 h window (null below the limit).",
  security: "user",
  responses: {
    200: {
      description: "The caller's usage",
      headers: ["X-Request-Id"],
      body: ExportUsageSchema,
      example: "usage",
    },
  },
  preflight: "Usage",
});

/** What one invocation of the worker did. */
export const WorkerResultSchema = z.object({
  completed: z.int().min(0).meta({ description: "Exports this invocation completed" }),
  duration_ms: z.int().min(0),
});

const runExportWorker = defineRoute({
  function: "export-worker",
  method: "post",
  path: "/export-worker",
  operationId: "runExportWorker",
  tags: ["worker"],
  summary: "Drive queued exports to completion (operators and schedulers only)",
  description:
    "Works until no export is left or its time budget (EXPORTS_WORKER_BUDGET_MS, default 50 s) is spent. Needs the service role's JWT. pg_cron's process-exports job does the same work without it.",
  security: "serviceRole",
  responses: {
    200: {
      description: "What this invocation did",
      headers: [],
      body: WorkerResultSchema,
      example: "done",
    },
    401: { description: "No valid JWT" },
    403: { description: "A valid JWT whose role is not service_role" },
    500: { description: "Unexpected failure" },
    503: { description: "The database is unreachable" },
  },
});

/** The `exports` function's routes, in the document's order. */
export const EXPORTS_ROUTES = [
  listExports,
  createExport,
  previewExport,
  getUsage,
  getExport,
  deleteExport,
  downloadExport,
  retryExport,
] as const;

/** The `export-worker` function's routes. */
export const WORKER_ROUTES = [runExportWorker] as const;

/** Every route of the API, in the document's order. */
export const ROUTES: readonly RouteDefinition[] = [...EXPORTS_ROUTES, ...WORKER_ROUTES];
