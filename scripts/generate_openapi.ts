/**
 * Generates docs/openapi.json, the OpenAPI 3.1 document of the `exports` and `export-worker`
 * functions. Request and response schemas come from zod through z.toJSONSchema: the request body
 * and the normalized config are the very schemas the server parses with (shared/domain/export_config.ts),
 * the list query and the responses are zod schemas built here from the server's own enums and
 * limits. The table of operations below is the one place routes, status codes, error codes and
 * headers are written down; tests/openapi_test.ts holds the committed file to this generator and
 * the generator to the running server.
 *
 * Usage: deno run --allow-read --allow-write scripts/generate_openapi.ts [--check]
 */
import { z } from "zod";
import {
  ConversationStatusSchema,
  ConversationTierSchema,
  ExportConfigSchema,
  ExportFiltersSchema,
  ExportFormatSchema,
  ExportRequestSchema,
  ExportScopeSchema,
  JsonlTemplateSchema,
  MAX_CONVERSATION_IDS,
  MAX_FILTER_VALUES,
  MAX_SEARCH_CHARS,
  MAX_SYSTEM_PROMPT_CHARS,
} from "../shared/domain/export_config.ts";
import { DEFAULT_LIMIT, EXPORT_STATUSES, MAX_LIMIT, MAX_PAGE } from "../shared/http/list_query.ts";
import type { ExportLog } from "../shared/domain/export_service.ts";
import { MAX_BODY_BYTES } from "../shared/http/json_body.ts";
import { MAX_WAIT_SECONDS } from "../shared/http/prefer_wait.ts";
import { CONTENT_TYPES } from "../shared/domain/download.ts";
import packageJson from "../package.json" with { type: "json" };
import { LOWERCASE_UUID_PATTERN } from "../shared/core/uuid.ts";
import { ERROR_CODES_BY_STATUS, type ErrorCode } from "../shared/core/error_codes.ts";
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, IDEMPOTENCY_KEY_PATTERN } from "../shared/http/headers.ts";

/** Where the generated document is committed. */
export const OPENAPI_FILE = new URL("../docs/openapi.json", import.meta.url);

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Schemas of what the server sends, in zod, from the server's own enums

const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** UTC ISO 8601 with exactly six fractional digits, as every timestamp of the API. */
const timestampSchema = z.string().regex(TIMESTAMP_PATTERN).meta({
  format: "date-time",
  description: "UTC, ISO 8601 with microseconds (`2026-11-28T14:03:07.123456Z`)",
});

/** The status of an export, as `export_logs.status` allows. */
export const ExportStatusSchema = z.enum(EXPORT_STATUSES);

const countSchema = z.int().min(0);
const uuidSchema = z.string().regex(LOWERCASE_UUID_PATTERN).meta({
  format: "uuid",
});

/** `config` in list responses: `conversationIds` replaced by its count, to keep a page small. */
const ListedExportConfigSchema = z.discriminatedUnion(
  "format",
  ExportConfigSchema.options.map((option) =>
    (option as unknown as z.ZodObject<Record<string, z.ZodType>>).omit({ conversationIds: true })
      .extend({
        conversationIdsCount: z.int().min(1).max(MAX_CONVERSATION_IDS).optional(),
      })
  ) as unknown as [typeof ExportConfigSchema.options[number]],
);

const exportLogFields = {
  id: uuidSchema.meta({ description: "Internal row id" }),
  export_id: uuidSchema.meta({ description: "The public id used in URLs" }),
  user_id: uuidSchema,
  timestamp: timestampSchema.meta({ description: "When the export was requested" }),
  format: ExportFormatSchema,
  conversation_count: countSchema.meta({ description: "Membership at request time" }),
  file_size: countSchema.nullable().meta({ description: "Exact bytes of the finished file" }),
  status: ExportStatusSchema,
  file_url: z.url().nullable().meta({
    description: "Downloads the file without a JWT until expires_at (carries a fresh signed token)",
  }),
  expires_at: timestampSchema.nullable(),
  error_message: z.string().nullable().meta({ description: "A sentence for the user when failed" }),
  created_at: timestampSchema,
  updated_at: timestampSchema,
  progress: z.object({ processed: countSchema, total: countSchema }).meta({
    description: "Conversations processed of the export's total",
  }),
  skipped: countSchema.meta({ description: "Conversations the alpaca layout left out" }),
};

// The ExportLog objects are loose (additionalProperties allowed): the contract lets the server
// add fields, so clients must ignore what they do not know. tests/openapi_test.ts still checks
// the server sends no field this document does not name.
/** One export, as GET /exports/{export_id} and POST return it. */
const ExportLogSchema = z.looseObject({ ...exportLogFields, config: ExportConfigSchema });
/** One export in a list page. */
const ListedExportLogSchema = z.looseObject({
  ...exportLogFields,
  config: ListedExportConfigSchema,
});

// The documented export fields are exactly the server's ExportLog fields: adding one to either
// side without the other fails `deno check` (and so every test that imports this file).
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false)
  : false;
const documentedFieldsMatchServer: SameKeys<
  { [K in keyof typeof exportLogFields | "config"]: unknown },
  ExportLog
> = true;
void documentedFieldsMatchServer;

const ExportListSchema = z.object({
  logs: z.array(ListedExportLogSchema),
  total: countSchema.meta({ description: "Every export matching the filters" }),
  page: z.int().min(1).max(MAX_PAGE),
  limit: z.int().min(1).max(MAX_LIMIT),
});

const WorkerResultSchema = z.object({
  completed: countSchema.meta({ description: "Exports this invocation completed" }),
  duration_ms: countSchema,
});

/** The GET /exports query, as shared/http/list_query.ts parses it. */
export const ListQuerySchema = z.strictObject({
  format: ExportFormatSchema.optional(),
  status: ExportStatusSchema.optional(),
  from: z.string().meta({
    format: "date-time",
    description: "Inclusive lower bound of `timestamp` (ISO 8601); must be earlier than `to`",
  }).optional(),
  to: z.string().meta({ format: "date-time", description: "Exclusive upper bound of `timestamp`" })
    .optional(),
  page: z.int().min(1).max(MAX_PAGE).default(1),
  limit: z.int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
});

// ---------------------------------------------------------------------------------------------
// Errors: every status and code the API answers with (shared/core/errors.ts)

/** Error codes by HTTP status; the contract's table (shared/core/error_codes.ts). */
const ERROR_CODES: Record<number, readonly ErrorCode[]> = ERROR_CODES_BY_STATUS;

const FieldIssueSchema = z.object({
  path: z.string().meta({
    description: "From the root of the body or query, e.g. config.filters.search",
  }),
  message: z.string(),
});

function errorSchema(codes: readonly string[]): Json {
  const details = codes.includes("invalid_request")
    ? { details: z.array(FieldIssueSchema).meta({ description: "One entry per offending field" }) }
    : {};
  return jsonSchema(z.object({
    error: z.object({
      code: z.enum(codes as [string, ...string[]]),
      message: z.string(),
      ...details,
    }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Helpers that build the document's pieces

function jsonSchema(schema: z.ZodType, io: "input" | "output" = "output"): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    override: caseInsensitivePatterns,
  }) as Json;
  return rest;
}

/**
 * JSON Schema patterns carry no flags, so a zod regex with the `i` flag (the UUID pattern of
 * shared/domain/export_config.ts) is written out with both cases; any other letter would be wrong, so
 * it throws rather than document a stricter pattern than the server's.
 */
function caseInsensitivePatterns(ctx: { zodSchema: unknown; jsonSchema: Json }): void {
  type Check = { _zod: { def: { pattern?: unknown } } };
  const checks = (ctx.zodSchema as { _zod: { def: { checks?: Check[] } } })._zod.def.checks ?? [];
  for (const check of checks) {
    const pattern = check._zod.def.pattern;
    if (!(pattern instanceof RegExp) || !pattern.flags.includes("i")) continue;
    if (ctx.jsonSchema.pattern !== pattern.source) continue;
    const written = pattern.source.replaceAll("[0-9a-f]", "[0-9a-fA-F]");
    if (/[a-zA-Z]/.test(written.replaceAll("[0-9a-fA-F]", "").replace(/\\[a-z]/g, ""))) {
      throw new Error(
        `Cannot write the case-insensitive pattern /${pattern.source}/i in JSON Schema`,
      );
    }
    ctx.jsonSchema.pattern = written;
  }
}

/**
 * The named component schemas: the server's zod schemas and the response schemas above, with
 * references between them (`#/components/schemas/<name>`). The request body is converted as
 * input (what a client sends), everything else as output (what the server stores and sends).
 */
function componentSchemas(): Record<string, Json> {
  const shared: Record<string, z.ZodType> = {
    ExportFormat: ExportFormatSchema,
    ExportStatus: ExportStatusSchema,
    ExportScope: ExportScopeSchema,
    JsonlTemplate: JsonlTemplateSchema,
    ConversationTier: ConversationTierSchema,
    ConversationStatus: ConversationStatusSchema,
  };
  const convert = (io: "input" | "output", schemas: Record<string, z.ZodType>) => {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries({ ...shared, ...schemas })) {
      registry.add(schema, { id });
    }
    const result = z.toJSONSchema(registry, {
      io,
      uri: (id) => `#/components/schemas/${id}`,
      override: caseInsensitivePatterns,
    }) as { schemas: Record<string, Json> };
    if ("__shared" in result.schemas) throw new Error("Every shared schema needs a name");
    return Object.fromEntries(
      Object.entries(result.schemas).map(([id, schema]) => {
        const { $id: _id, $schema: _dialect, ...rest } = schema;
        return [id, rest];
      }),
    );
  };
  const input = convert("input", { ExportRequest: ExportRequestSchema });
  const output = convert("output", {
    ExportConfig: ExportConfigSchema,
    ExportFilters: ExportFiltersSchema,
    ExportConfigListed: ListedExportConfigSchema,
    ExportLog: ExportLogSchema,
    ExportLogListed: ListedExportLogSchema,
    ExportList: ExportListSchema,
    WorkerResult: WorkerResultSchema,
  });
  for (const id of Object.keys(shared)) {
    if (JSON.stringify(input[id]) !== JSON.stringify(output[id])) {
      throw new Error(`${id} differs between the request and the response schemas`);
    }
  }
  return { ...output, ExportRequest: input.ExportRequest };
}

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

function jsonContent(schema: Json, examples?: Record<string, unknown>): Json {
  const content: Json = { schema };
  if (examples) {
    content.examples = Object.fromEntries(
      Object.entries(examples).map(([name, value]) => [name, { value }]),
    );
  }
  return { "application/json": content };
}

/** An error response: its codes (a subset of ERROR_CODES[status]) and when it happens. */
function errorResponse(status: number, description: string, codes = ERROR_CODES[status]): Json {
  const unknown = codes.filter((code) => !ERROR_CODES[status].includes(code));
  if (unknown.length > 0) throw new Error(`Codes ${unknown.join(", ")} are not ${status} codes`);
  const headers: Json = { "X-Request-Id": ref("headers", "X-Request-Id") };
  if (status === 429 || status === 503) headers["Retry-After"] = ref("headers", "Retry-After");
  if (status === 405) headers["Allow"] = ref("headers", "Allow");
  if (status === 416) headers["Content-Range"] = ref("headers", "Content-Range-Unsatisfied");
  const example = {
    error: {
      code: codes[0],
      message: ERROR_EXAMPLE_MESSAGES[codes[0]],
      ...(codes[0] === "invalid_request" && {
        details: [{ path: "config.filters.search", message: "Must not be empty" }],
      }),
    },
  };
  return {
    description,
    headers,
    content: jsonContent(errorSchema(codes), { [codes[0]]: example }),
  };
}

const ERROR_EXAMPLE_MESSAGES: Record<ErrorCode, string> = {
  invalid_request: "The request is invalid",
  unauthorized: "A valid bearer token is required",
  forbidden: "This endpoint needs a signed-in user's token",
  not_found: "No such export",
  method_not_allowed: "This path accepts only GET, POST, OPTIONS",
  not_ready: "The export is not ready yet; poll it until it is completed",
  export_failed: "The export failed; retry it to generate the file again",
  conflict: "Only a failed export can be retried; this one is queued",
  expired: "This export has expired; request a new one",
  payload_too_large: `The request body is larger than ${MAX_BODY_BYTES} bytes`,
  range_not_satisfiable: "The requested range is outside the file of 5120 bytes",
  no_conversations: "No conversations match the requested export",
  too_many_conversations:
    "The export would hold 120000 conversations, more than the maximum of 100000",
  idempotency_key_reused: "This Idempotency-Key was already used with a different request",
  too_many_exports: "You already have 5 exports queued or processing (the limit is 5)",
  too_many_downloads: "At most 4 downloads may run at once; wait for one to finish",
  internal: "Something went wrong on our side; the request id is in X-Request-Id",
  unavailable: "The service is temporarily unavailable; try again shortly",
};

/** The responses every authenticated operation of `exports` can give. */
function commonErrors(): Json {
  return {
    401: ref("responses", "Unauthorized"),
    403: ref("responses", "Forbidden"),
    500: ref("responses", "Internal"),
    503: ref("responses", "Unavailable"),
  };
}

function preflight(path: string): Json {
  return {
    operationId: `preflight${path}`,
    tags: ["exports"],
    summary: "CORS preflight",
    description: "Answered without authentication, before routing and auth.",
    security: [],
    responses: { 204: ref("responses", "Preflight") },
  };
}

// ---------------------------------------------------------------------------------------------
// Examples (tests/openapi_test.ts validates each against its schema and the real parser)

const EXAMPLE_EXPORT_ID = "6d1f5c2e-8a4b-4c1e-9f3a-2b7d8e9f0a1b";
const EXAMPLE_BASE = "https://abcdefghijklmnopqrst.supabase.co/functions/v1/exports";

const REQUEST_EXAMPLES = {
  minimal: { format: "jsonl" },
  filtered: {
    format: "jsonl",
    config: {
      scope: "filtered",
      filters: { statuses: ["approved"], tiers: ["scenario"], qualityMin: 8 },
      template: "sharegpt",
    },
  },
  selected: {
    format: "csv",
    config: {
      scope: "selected",
      conversationIds: [
        "0b6c1a54-2f0e-4c4c-8d0e-5f1f3b2a9c01",
        "3e9d7a10-6b3c-4a55-9e2d-7c8b1f0e4d22",
      ],
      includeApprovalHistory: true,
      csvFormulaEscape: true,
    },
  },
};

const QUEUED_EXAMPLE = {
  id: "f3a9c1d2-7b4e-4f6a-8c2d-1e0b9a8f7c6d",
  export_id: EXAMPLE_EXPORT_ID,
  user_id: "9b2e4f6a-1c3d-4e5f-8a7b-6c5d4e3f2a1b",
  timestamp: "2026-11-28T14:03:07.123456Z",
  format: "jsonl",
  config: {
    format: "jsonl",
    scope: "filtered",
    filters: { statuses: ["approved"], tiers: ["scenario"], qualityMin: 8 },
    includeMetadata: true,
    includeQualityScores: true,
    includeTimestamps: true,
    includeApprovalHistory: false,
    includeParentReferences: false,
    includeFullContent: true,
    template: "sharegpt",
  },
  conversation_count: 212,
  file_size: null,
  status: "queued",
  file_url: null,
  expires_at: null,
  error_message: null,
  created_at: "2026-11-28T14:03:07.123456Z",
  updated_at: "2026-11-28T14:03:07.123456Z",
  progress: { processed: 0, total: 212 },
  skipped: 0,
};

const COMPLETED_EXAMPLE = {
  ...QUEUED_EXAMPLE,
  file_size: 1843207,
  status: "completed",
  file_url:
    `${EXAMPLE_BASE}/${EXAMPLE_EXPORT_ID}/download?token=v1.1764425000.q2Vt0mN4l8rP3sXk9yZa1bC5dE7fG9hJ0kL2mN4oP6q`,
  expires_at: "2026-11-29T14:03:08.402118Z",
  updated_at: "2026-11-28T14:03:08.402118Z",
  progress: { processed: 212, total: 212 },
};

const LIST_EXAMPLE = {
  logs: [COMPLETED_EXAMPLE],
  total: 1,
  page: 1,
  limit: DEFAULT_LIMIT,
};

/** Examples by name: request bodies, then responses; the test checks them all. */
export const EXAMPLES = { REQUEST_EXAMPLES, QUEUED_EXAMPLE, COMPLETED_EXAMPLE, LIST_EXAMPLE };

// ---------------------------------------------------------------------------------------------
// The document

const EXPORT_LOG_DESCRIPTION =
  `The ExportLog: the 14 columns of export_logs plus \`progress\` and \`skipped\`.
More fields may be added later; none of these will be removed or renamed, so clients should
ignore fields they do not know.`;

/** Builds the OpenAPI document (a plain JSON value). */
export function buildOpenApiDocument(): Json {
  const user = [{ supabaseJwt: [] }];
  const exportIdParameter = ref("parameters", "ExportId");
  const queryParameters = Object.entries(
    (jsonSchema(ListQuerySchema, "input").properties ?? {}) as Record<string, Json>,
  ).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: "query", required: false, description, schema: rest };
  });

  const paths: Json = {
    "/exports": {
      get: {
        operationId: "listExports",
        tags: ["exports"],
        summary: "List the caller's exports",
        description:
          "Newest first (`timestamp` desc, then `id` desc). A bad, unknown or repeated parameter is a 400. In list responses `config.conversationIds` is replaced by `config.conversationIdsCount`.",
        security: user,
        parameters: queryParameters,
        responses: {
          200: {
            description: "A page of the caller's exports",
            headers: { "X-Request-Id": ref("headers", "X-Request-Id") },
            content: jsonContent(ref("schemas", "ExportList"), { page: LIST_EXAMPLE }),
          },
          400: ref("responses", "InvalidRequest"),
          ...commonErrors(),
        },
      },
      post: {
        operationId: "createExport",
        tags: ["exports"],
        summary: "Request an export",
        description:
          `The matching conversations are resolved now and fixed as the export's membership. Body at most ${MAX_BODY_BYTES} bytes; unknown fields anywhere are a 400. Generation starts in the background; poll the export (or send \`Prefer: wait=N\`).`,
        security: user,
        parameters: [ref("parameters", "Idempotency-Key"), ref("parameters", "Prefer")],
        requestBody: {
          required: true,
          content: jsonContent(ref("schemas", "ExportRequest"), REQUEST_EXAMPLES),
        },
        responses: {
          202: {
            description: "Accepted: the export is queued (or, after `Prefer: wait`, further along)",
            headers: {
              Location: ref("headers", "Location"),
              "Preference-Applied": ref("headers", "Preference-Applied"),
              "X-Request-Id": ref("headers", "X-Request-Id"),
            },
            content: jsonContent(ref("schemas", "ExportLog"), { queued: QUEUED_EXAMPLE }),
          },
          200: {
            description:
              "An idempotent repeat (same Idempotency-Key, same request, within 24 h): the earlier export as it is now",
            headers: {
              Location: ref("headers", "Location"),
              "Preference-Applied": ref("headers", "Preference-Applied"),
              "X-Request-Id": ref("headers", "X-Request-Id"),
            },
            content: jsonContent(ref("schemas", "ExportLog"), { completed: COMPLETED_EXAMPLE }),
          },
          400: ref("responses", "InvalidRequest"),
          413: errorResponse(413, `The body is larger than ${MAX_BODY_BYTES} bytes`),
          422: errorResponse(
            422,
            "No conversation matches, more than the per-export maximum match, or the Idempotency-Key was used with another request. Nothing is stored.",
          ),
          429: errorResponse(
            429,
            "A per-user limit is reached: active exports, exports in the last 24 h, or bytes of stored files",
            ["too_many_exports"],
          ),
          ...commonErrors(),
        },
      },
      options: preflight("Exports"),
    },
    "/exports/{export_id}": {
      parameters: [exportIdParameter],
      get: {
        operationId: "getExport",
        tags: ["exports"],
        summary: "One export's status",
        description: "Not the caller's and no such export get the same 404.",
        security: user,
        parameters: [ref("parameters", "Prefer")],
        responses: {
          200: {
            description:
              "The export (after `Prefer: wait`, once it left queued/processing or the wait ran out)",
            headers: {
              "Preference-Applied": ref("headers", "Preference-Applied"),
              "X-Request-Id": ref("headers", "X-Request-Id"),
            },
            content: jsonContent(ref("schemas", "ExportLog"), { completed: COMPLETED_EXAMPLE }),
          },
          400: ref("responses", "InvalidRequest"),
          404: ref("responses", "NotFound"),
          ...commonErrors(),
        },
      },
      delete: {
        operationId: "deleteExport",
        tags: ["exports"],
        summary: "Delete an export and its file",
        description: "A running export is stopped and its partial file discarded.",
        security: user,
        responses: {
          204: {
            description: "Deleted",
            headers: { "X-Request-Id": ref("headers", "X-Request-Id") },
          },
          400: ref("responses", "InvalidRequest"),
          404: ref("responses", "NotFound"),
          ...commonErrors(),
        },
      },
      options: preflight("Export"),
    },
    "/exports/{export_id}/download": {
      parameters: [exportIdParameter],
      get: {
        operationId: "downloadExport",
        tags: ["exports"],
        summary: "Download the file",
        description:
          "Authorized by the Bearer JWT or by the `token` of a `file_url` (then no JWT is needed). The file is streamed chunk by chunk. The database decides expiry: once it says expired, every download is a 410 whatever the token says.",
        security: [{ supabaseJwt: [] }, { downloadToken: [] }],
        parameters: [ref("parameters", "Range"), ref("parameters", "If-Range")],
        responses: {
          200: {
            description: "The whole file",
            headers: downloadHeaders(false),
            content: downloadContent(),
          },
          206: {
            description: "One byte range (`Range: bytes=a-b`)",
            headers: downloadHeaders(true),
            content: downloadContent(),
          },
          400: ref("responses", "InvalidRequest"),
          401: ref("responses", "Unauthorized"),
          403: ref("responses", "Forbidden"),
          404: ref("responses", "NotFound"),
          409: errorResponse(409, "Not downloadable yet (queued or processing), or failed", [
            "not_ready",
            "export_failed",
          ]),
          410: errorResponse(410, "Expired, or past expires_at: the file is gone"),
          416: errorResponse(416, "The range lies outside the file"),
          429: errorResponse(429, "Too many downloads of this user in flight", [
            "too_many_downloads",
          ]),
          500: ref("responses", "Internal"),
          503: ref("responses", "Unavailable"),
        },
      },
      options: preflight("Download"),
    },
    "/exports/{export_id}/retry": {
      parameters: [exportIdParameter],
      post: {
        operationId: "retryExport",
        tags: ["exports"],
        summary: "Queue a failed export again",
        description:
          "Same export_id; attempts and error_message reset. It counts toward the active-export limit.",
        security: user,
        responses: {
          202: {
            description: "Queued again",
            headers: {
              Location: ref("headers", "Location"),
              "X-Request-Id": ref("headers", "X-Request-Id"),
            },
            content: jsonContent(ref("schemas", "ExportLog"), { queued: QUEUED_EXAMPLE }),
          },
          400: ref("responses", "InvalidRequest"),
          404: ref("responses", "NotFound"),
          409: errorResponse(409, "The export is not failed", ["conflict"]),
          429: errorResponse(429, "The active-export limit is reached", ["too_many_exports"]),
          ...commonErrors(),
        },
      },
      options: preflight("Retry"),
    },
    "/export-worker": {
      post: {
        operationId: "runExportWorker",
        tags: ["worker"],
        summary: "Drive queued exports to completion (operators and schedulers only)",
        description:
          "Works until no export is left or its time budget (EXPORTS_WORKER_BUDGET_MS, default 50 s) is spent. Needs the service role's JWT. pg_cron's process-exports job does the same work without it.",
        security: [{ serviceRoleJwt: [] }],
        responses: {
          200: {
            description: "What this invocation did",
            content: jsonContent(ref("schemas", "WorkerResult"), {
              done: { completed: 3, duration_ms: 1840 },
            }),
          },
          401: workerError(401, "No valid JWT"),
          403: workerError(403, "A valid JWT whose role is not service_role"),
          500: workerError(500, "Unexpected failure"),
          503: workerError(503, "The database is unreachable"),
        },
      },
    },
  };

  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "LoRA training-data exports",
      version: packageJson.version,
      summary: "Request, poll and download exports of training conversations",
      description:
        `The \`exports\` edge function of a Supabase project, and the \`export-worker\` that drives
generation. Human-readable reference: docs/api.md.

Every error is \`{ "error": { "code", "message", "details"? } }\`. Any method a documented path
does not list gets 405 \`method_not_allowed\` with an \`Allow\` header; an unknown path gets 404
\`not_found\` (components.responses.MethodNotAllowed and NoSuchPath). When several errors apply,
the first in this order wins: OPTIONS, unknown path 404, wrong method 405, authentication
401/403, malformed export_id 400, body too large 413, invalid body or query 400, not the caller's
404, state 409/410/416, idempotent replay 200/422, limits 429, 422 no_conversations /
too_many_conversations.

Every response of \`exports\`, errors included, carries the CORS headers and X-Request-Id.`,
    },
    servers: [
      {
        url: "https://{project_ref}.supabase.co/functions/v1",
        description: "A deployed Supabase project",
        variables: { project_ref: { default: "abcdefghijklmnopqrst" } },
      },
      { url: "http://127.0.0.1:54321/functions/v1", description: "The local stack (npm start)" },
    ],
    tags: [
      { name: "exports", description: "The API users call" },
      { name: "worker", description: "Invoked by a scheduler with the service role" },
    ],
    paths,
    components: {
      securitySchemes: {
        supabaseJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "A Supabase user access token, verified inside the function: HS256 with the project's JWT secret, or ES256/RS256 from the JWKS by kid; exp/nbf; role authenticated (else 403); aud authenticated and sub an existing user (else 401). Never read from the query string.",
        },
        downloadToken: {
          type: "apiKey",
          in: "query",
          name: "token",
          description:
            "The signed token of a file_url (HMAC-SHA256 over export id, expiry and key version). Only for GET …/download.",
        },
        serviceRoleJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The project's service-role JWT (role service_role).",
        },
      },
      parameters: {
        ExportId: {
          name: "export_id",
          in: "path",
          required: true,
          description: "The export's public id; not a UUID → 400",
          schema: { type: "string", format: "uuid" },
        },
        Prefer: {
          name: "Prefer",
          in: "header",
          required: false,
          description:
            `\`wait=N\` (0–${MAX_WAIT_SECONDS}; larger values are clamped, malformed ones ignored): hold the response until the export leaves queued/processing or N seconds pass. The status code does not change; Preference-Applied says the wait used.`,
          schema: { type: "string", examples: ["wait=10"] },
        },
        "Idempotency-Key": {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          description:
            "1–255 printable ASCII characters (else 400). A repeat by the same user within 24 h with the same format and normalized config returns that export (200); the same key with another request is 422 idempotency_key_reused.",
          schema: {
            type: "string",
            minLength: 1,
            maxLength: 255,
            pattern: IDEMPOTENCY_KEY_PATTERN.source,
          },
        },
        Range: {
          name: "Range",
          in: "header",
          required: false,
          description:
            "One range, `bytes=a-b`, `bytes=a-` or `bytes=-n` → 206; outside the file → 416",
          schema: { type: "string", pattern: "^bytes=\\d*-\\d*$" },
        },
        "If-Range": {
          name: "If-Range",
          in: "header",
          required: false,
          description: "An ETag; when it is stale the whole file is sent (200)",
          schema: { type: "string" },
        },
      },
      headers: {
        "X-Request-Id": {
          description: "The request's id in the function's logs (every response of `exports`)",
          required: true,
          schema: { type: "string", format: "uuid" },
        },
        Location: {
          description: "Absolute URL of the export: <base>/functions/v1/exports/<export_id>",
          required: true,
          schema: { type: "string", format: "uri" },
        },
        "Preference-Applied": {
          description: "`wait=N` when Prefer: wait was honoured",
          schema: { type: "string" },
        },
        "Retry-After": {
          description: "Seconds to wait before trying again",
          required: true,
          schema: { type: "integer", minimum: 1 },
        },
        Allow: {
          description: "The methods the path accepts",
          required: true,
          schema: { type: "string" },
        },
        "Content-Range": {
          description: "`bytes a-b/size`",
          required: true,
          schema: { type: "string", pattern: "^bytes \\d+-\\d+/\\d+$" },
        },
        "Content-Range-Unsatisfied": {
          description: "`bytes */size`",
          required: true,
          schema: { type: "string", pattern: "^bytes \\*/\\d+$" },
        },
        "Content-Disposition": {
          description: 'attachment; filename="export-<export_id>.<json|jsonl|csv|md>"',
          required: true,
          schema: {
            type: "string",
            pattern: '^attachment; filename="export-[0-9a-f-]{36}\\.(json|jsonl|csv|md)"$',
          },
        },
        "Content-Length": {
          description: "Bytes sent: file_size for 200, the range's length for 206",
          required: true,
          schema: { type: "integer", minimum: 0 },
        },
        ETag: {
          description: "Strong ETag of the file",
          required: true,
          schema: { type: "string", pattern: '^"[^"]+"$' },
        },
        "Accept-Ranges": { required: true, schema: { const: "bytes" } },
        "Cache-Control": { required: true, schema: { const: "private, no-store" } },
        "X-Content-Type-Options": { required: true, schema: { const: "nosniff" } },
        "Referrer-Policy": { required: true, schema: { const: "no-referrer" } },
        "Access-Control-Allow-Origin": {
          description: "`*` or the request's Origin when it is one of EXPORTS_CORS_ORIGINS",
          required: true,
          schema: { type: "string" },
        },
        "Access-Control-Allow-Methods": {
          required: true,
          schema: { const: CORS_ALLOWED_METHODS.join(",") },
        },
        "Access-Control-Allow-Headers": {
          required: true,
          schema: {
            const: CORS_ALLOWED_HEADERS.join(","),
          },
        },
        "Access-Control-Max-Age": { schema: { type: "integer" } },
      },
      responses: {
        InvalidRequest: errorResponse(
          400,
          "Malformed export_id, invalid or unknown body field, bad or unknown query parameter, or a bad Idempotency-Key",
        ),
        Unauthorized: errorResponse(
          401,
          "No valid JWT (bad signature or algorithm, expired, wrong audience, unknown user), or a download token that is not valid for this export",
        ),
        Forbidden: errorResponse(
          403,
          "A valid JWT whose role is not `authenticated` (an anon key, say)",
        ),
        NotFound: errorResponse(404, "No such export, or not the caller's (the same answer)"),
        // Shared by both functions; only `exports` adds X-Request-Id.
        NoSuchPath: withoutRequestId(errorResponse(404, "No such path")),
        MethodNotAllowed: withoutRequestId(
          errorResponse(405, "The path does not accept this method"),
        ),
        Internal: errorResponse(500, "Unexpected failure; nothing internal is disclosed"),
        Unavailable: errorResponse(503, "The database is unreachable"),
        Preflight: {
          description: "CORS preflight answer",
          headers: {
            "X-Request-Id": ref("headers", "X-Request-Id"),
            "Access-Control-Allow-Origin": ref("headers", "Access-Control-Allow-Origin"),
            "Access-Control-Allow-Methods": ref("headers", "Access-Control-Allow-Methods"),
            "Access-Control-Allow-Headers": ref("headers", "Access-Control-Allow-Headers"),
            "Access-Control-Max-Age": ref("headers", "Access-Control-Max-Age"),
          },
        },
      },
      schemas: describe(componentSchemas(), {
        ExportRequest:
          `The POST /exports body. Rules a JSON schema cannot say: conversationIds only (and always) with scope selected; filters only (and always) with scope filtered; template only for jsonl and csvFormulaEscape only for csv; qualityMin ≤ qualityMax and createdFrom ≤ createdTo; strings non-empty, without NUL; search at most ${MAX_SEARCH_CHARS} and systemPrompt at most ${MAX_SYSTEM_PROMPT_CHARS} characters; at most ${MAX_CONVERSATION_IDS} ids and ${MAX_FILTER_VALUES} values per filter array; createdFrom/createdTo ISO 8601 timestamps.`,
        ExportConfig:
          "The normalized ExportConfig stored with the export: every default filled in, format included; template only for jsonl, csvFormulaEscape only for csv; filters.statuses always present.",
        ExportConfigListed:
          "The normalized ExportConfig in list responses: conversationIds replaced by conversationIdsCount.",
        ExportLog: EXPORT_LOG_DESCRIPTION,
        ExportLogListed: "An ExportLog in a list page (config as ExportConfigListed).",
      }),
    },
  };
}

function describe(schemas: Record<string, Json>, descriptions: Record<string, string>): Json {
  for (const [id, description] of Object.entries(descriptions)) {
    schemas[id] = { ...schemas[id], description };
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
}

function downloadHeaders(partial: boolean): Json {
  const names = [
    "Content-Disposition",
    "Content-Length",
    "ETag",
    "Accept-Ranges",
    "Cache-Control",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Request-Id",
  ];
  if (partial) names.push("Content-Range");
  return Object.fromEntries(names.map((name) => [name, ref("headers", name)]));
}

function downloadContent(): Json {
  return Object.fromEntries(
    Object.entries(CONTENT_TYPES).map(([format, type]) => [
      type,
      { schema: { type: "string", format: "binary", description: `A ${format} export file` } },
    ]),
  );
}

function workerError(status: number, description: string): Json {
  return withoutRequestId(errorResponse(status, description));
}

function withoutRequestId(response: Json): Json {
  delete (response.headers as Json)["X-Request-Id"];
  return response;
}

/** The document as committed: two-space JSON and a final newline. */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  const rendered = renderOpenApiDocument();
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(OPENAPI_FILE).catch(() => "");
    if (current !== rendered) {
      console.error(
        "docs/openapi.json is out of date: run deno run -A scripts/generate_openapi.ts",
      );
      Deno.exit(1);
    }
    console.log("docs/openapi.json is up to date");
  } else {
    await Deno.mkdir(new URL(".", OPENAPI_FILE), { recursive: true });
    await Deno.writeTextFile(OPENAPI_FILE, rendered);
    console.log(`wrote ${OPENAPI_FILE.pathname}`);
  }
}
