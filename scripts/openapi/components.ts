/**
 * The components of docs/openapi.json: the named schemas (converted from the server's zod
 * schemas by zod's own z.toJSONSchema), the shared parameters, headers and responses, and the
 * error responses built from the contract's table of codes (shared/core/error_codes.ts).
 */
import { z } from "zod";
import { ERROR_CODES_BY_STATUS, type ErrorCode } from "../../shared/core/error_codes.ts";
import {
  type ApiError,
  AuthenticationError,
  ExportExpiredError,
  ExportFailedError,
  ExportNotFoundError,
  ExportNotReadyError,
  ExportPermissionError,
  IdempotencyKeyReusedError,
  InternalError,
  MethodNotAllowedError,
  NoConversationsError,
  NotRetryableError,
  PayloadTooLargeError,
  RangeNotSatisfiableError,
  ServiceUnavailableError,
  TooManyConversationsError,
  TooManyDownloadsError,
  TooManyExportsError,
  ValidationError,
} from "../../shared/core/errors.ts";
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
} from "../../shared/domain/export_config.ts";
import {
  ExportLogSchema,
  ExportPageSchema,
  ExportStatusSchema,
  ListedExportConfigSchema,
  ListedExportLogSchema,
} from "../../shared/domain/export_log.ts";
import {
  ExportPreviewSchema,
  ExportUsageSchema,
  PreviewConversationSchema,
} from "../../shared/domain/export_preview.ts";
import {
  CORS_ALLOWED_HEADERS,
  CORS_ALLOWED_METHODS,
  IDEMPOTENCY_KEY_PATTERN,
} from "../../shared/http/headers.ts";
import { MAX_BODY_BYTES } from "../../shared/http/json_body.ts";
import { MAX_WAIT_SECONDS } from "../../shared/http/prefer_wait.ts";
import { WorkerResultSchema } from "../../shared/http/routes.ts";

export type Json = Record<string, unknown>;

/** Error codes by HTTP status; the contract's table (shared/core/error_codes.ts). */
const ERROR_CODES: Record<number, readonly ErrorCode[]> = ERROR_CODES_BY_STATUS;

/** The request schemas by component name, converted as input (what a client sends). */
export const REQUEST_SCHEMAS: Record<string, z.ZodType> = { ExportRequest: ExportRequestSchema };

/** The response schemas by component name, converted as output (what the server sends). */
export const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  ExportConfig: ExportConfigSchema,
  ExportFilters: ExportFiltersSchema,
  ExportConfigListed: ListedExportConfigSchema,
  ExportLog: ExportLogSchema,
  ExportLogListed: ListedExportLogSchema,
  ExportList: ExportPageSchema,
  ExportPreview: ExportPreviewSchema,
  PreviewConversation: PreviewConversationSchema,
  ExportUsage: ExportUsageSchema,
  WorkerResult: WorkerResultSchema,
};

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

export function jsonSchema(schema: z.ZodType, io: "input" | "output" = "output"): Json {
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
  const input = convert("input", REQUEST_SCHEMAS);
  const output = convert("output", RESPONSE_SCHEMAS);
  for (const id of Object.keys(shared)) {
    if (JSON.stringify(input[id]) !== JSON.stringify(output[id])) {
      throw new Error(`${id} differs between the request and the response schemas`);
    }
  }
  return { ...output, ExportRequest: input.ExportRequest };
}

export const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

export function jsonContent(schema: Json, examples?: Record<string, unknown>): Json {
  const content: Json = { schema };
  if (examples) {
    content.examples = Object.fromEntries(
      Object.entries(examples).map(([name, value]) => [name, { value }]),
    );
  }
  return { "application/json": content };
}

/** An error response: its codes (a subset of ERROR_CODES[status]) and when it happens. */
export function errorResponse(
  status: number,
  description: string,
  codes = ERROR_CODES[status],
): Json {
  const unknown = codes.filter((code) => !ERROR_CODES[status].includes(code));
  if (unknown.length > 0) throw new Error(`Codes ${unknown.join(", ")} are not ${status} codes`);
  const headers: Json = { "X-Request-Id": ref("headers", "X-Request-Id") };
  if (status === 429 || status === 503) headers["Retry-After"] = ref("headers", "Retry-After");
  if (status === 405) headers["Allow"] = ref("headers", "Allow");
  if (status === 416) headers["Content-Range"] = ref("headers", "Content-Range-Unsatisfied");
  const example = {
    error: {
      code: codes[0],
      message: ERROR_EXAMPLES[codes[0]].message,
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

/**
 * One example error of each code, made by the server's own error classes, so the document shows
 * the messages the server sends (the numbers in them are examples).
 */
const ERROR_EXAMPLES: Record<ErrorCode, ApiError> = {
  invalid_request: new ValidationError([]),
  unauthorized: new AuthenticationError(),
  forbidden: ExportPermissionError.needsUserToken(),
  not_found: new ExportNotFoundError(),
  method_not_allowed: new MethodNotAllowedError(["GET", "POST", "OPTIONS"]),
  not_ready: new ExportNotReadyError(),
  export_failed: new ExportFailedError(),
  conflict: new NotRetryableError("queued"),
  expired: new ExportExpiredError(),
  payload_too_large: new PayloadTooLargeError(MAX_BODY_BYTES),
  range_not_satisfiable: new RangeNotSatisfiableError(5120),
  no_conversations: new NoConversationsError(),
  too_many_conversations: new TooManyConversationsError(120000, 100000),
  idempotency_key_reused: new IdempotencyKeyReusedError(),
  too_many_exports: TooManyExportsError.active(5, 5),
  too_many_downloads: new TooManyDownloadsError(4),
  internal: new InternalError(),
  unavailable: new ServiceUnavailableError(),
};
for (const [code, error] of Object.entries(ERROR_EXAMPLES)) {
  if (error.code !== code) throw new Error(`The example of ${code} is a ${error.code}`);
}

export function withoutRequestId(response: Json): Json {
  delete (response.headers as Json)["X-Request-Id"];
  return response;
}

const EXPORT_LOG_DESCRIPTION =
  `The ExportLog: the 14 columns of export_logs plus \`progress\` and \`skipped\`.
More fields may be added later; none of these will be removed or renamed, so clients should
ignore fields they do not know.`;

/** Everything under `components`. */
export function components(): Json {
  return {
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
      "If-None-Match": {
        name: "If-None-Match",
        in: "header",
        required: false,
        description:
          "The ETag of an earlier answer: 304 with no body while nothing it shows has changed (what a page that polls sends)",
        schema: { type: "string" },
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
        description:
          "Absolute URL: of the export (<base>/functions/v1/exports/<export_id>) after a request or retry; of the object, presigned, after a download's 302",
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
        description:
          "Strong ETag: of the file (downloads), or of the answer (GET of exports; send it back in If-None-Match)",
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
  };
}

function describe(schemas: Record<string, Json>, descriptions: Record<string, string>): Json {
  for (const [id, description] of Object.entries(descriptions)) {
    schemas[id] = { ...schemas[id], description };
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
}
