/**
 * The `exports` edge function: the handlers of its routes (shared/http/routes.ts) over the
 * shared ExportService, and the mapping of errors to responses. Paths start with `/exports`, as
 * on the edge runtime. Checks run in the contract's order: OPTIONS, unknown path 404, wrong
 * method 405, then those serveRoute puts in front of each handler (auth 401/403, malformed id
 * 400, body too large 413, invalid body or query 400), then the service's answers.
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { type FunctionsEnv, loadFunctionsEnv, WORKER_BUDGETS_MS } from "../../shared/core/env.ts";
import {
  ApiError,
  AuthenticationError,
  ExportExpiredError,
  ExportNotFoundError,
  InternalError,
  RangeNotSatisfiableError,
  ServiceUnavailableError,
  ValidationError,
} from "../../shared/core/errors.ts";
import { logLine } from "../../shared/core/log.ts";
import { isUuid } from "../../shared/core/uuid.ts";
import { createSql, isConnectionError, type Sql } from "../../shared/database/db.ts";
import { createUserDirectory } from "../../shared/database/user_directory.ts";
import {
  assertDownloadable,
  CONTENT_TYPES,
  FILE_EXTENSIONS,
  findFileForLink,
  findFileForUser,
  openDownload,
  parseRange,
  type StoredFile,
  streamFile,
} from "../../shared/domain/download.ts";
import { canonicalConfigKey } from "../../shared/domain/export_config.ts";
import type { ExportLog, ListedExportLog } from "../../shared/domain/export_log.ts";
import { ExportService } from "../../shared/domain/export_service.ts";
import { processExports } from "../../shared/domain/export_worker.ts";
import { objectStoreOf } from "../../shared/domain/file_upload.ts";
import type { ObjectStore } from "../../shared/storage/object_store.ts";
import { createTokenVerifier, type TokenVerifier } from "../../shared/http/auth.ts";
import { signedFileUrl, verifyDownloadToken } from "../../shared/http/download_token.ts";
import { etagOf, ifNoneMatchMatches } from "../../shared/http/conditional.ts";
import { errorBody, errorHeaders } from "../../shared/http/error_response.ts";
import {
  CORS_ALLOWED_HEADERS,
  CORS_ALLOWED_METHODS,
  CORS_EXPOSED_HEADERS,
  IDEMPOTENCY_KEY_PATTERN,
} from "../../shared/http/headers.ts";
import {
  authenticatedUser,
  exportIdParam,
  noQuery,
  requestLog,
  type RouteEnv,
} from "../../shared/http/middleware.ts";
import { parseWaitPreference, waitWhileRunning } from "../../shared/http/prefer_wait.ts";
import { EXPORTS_ROUTES } from "../../shared/http/routes.ts";
import { type RouteHandlers, serveRoutes } from "../../shared/http/serve_route.ts";

/** What the app needs; tests pass their own, index.ts builds them from the environment. */
export interface ExportsAppOptions {
  env: FunctionsEnv;
  sql: Sql;
  verifier?: TokenVerifier;
  /** Start generation in the background right after a POST (default true). */
  processInBackground?: boolean;
}

/** Builds the app from the environment (index.ts). */
export function createExportsAppFromEnv(): Hono<RouteEnv> {
  const env = loadFunctionsEnv();
  return createExportsApp({
    env,
    sql: createSql(env.databaseUrl, { applicationName: "exports-api" }),
  });
}

/** Builds the Hono app with base path `/exports`. */
export function createExportsApp(options: ExportsAppOptions): Hono<RouteEnv> {
  const { env, sql } = options;
  const users = createUserDirectory(sql);
  const verifier = options.verifier ?? createTokenVerifier(env, users.exists);
  const app = new Hono<RouteEnv>().basePath("/exports");
  const authenticated = authenticatedUser(verifier, sql);

  app.use("*", requestLog);
  app.use(
    "*",
    cors({
      origin: env.corsOrigins.includes("*") ? "*" : env.corsOrigins,
      allowMethods: [...CORS_ALLOWED_METHODS],
      allowHeaders: [...CORS_ALLOWED_HEADERS],
      exposeHeaders: [...CORS_EXPOSED_HEADERS],
      maxAge: 600,
    }),
  );

  function locationOf(exportId: string): string {
    return `${env.publicBaseUrl}/functions/v1/exports/${exportId}`;
  }

  /** Adds a fresh signed token to file_url: the stored column never holds one. */
  function present<L extends ExportLog | ListedExportLog>(log: L): L {
    if (log.status !== "completed" || !log.file_url || !log.expires_at) return log;
    return {
      ...log,
      file_url: signedFileUrl(log.file_url, log.export_id, log.expires_at, env.signingKeys[0]),
    };
  }

  /** The ETag of a read: its rows' version, the request, and what present() adds to rows. */
  function conditionalEtag(version: string, request: string): string {
    return etagOf([version, request, env.publicBaseUrl, env.signingKeys[0].version]);
  }

  function notModified(c: Context<RouteEnv>, etag: string): Response {
    return c.body(null, 304, { ETag: etag });
  }

  const store = objectStoreOf(env.fileStore);
  const background = backgroundProcessor(sql, store, options.processInBackground ?? true);

  /** Answers with the export as it is now, after waiting if the client asked (Prefer: wait=N). */
  async function respondWithExport(
    c: Context<RouteEnv>,
    service: ExportService,
    log: ExportLog,
    status: 200 | 202,
  ): Promise<Response> {
    const wait = parseWaitPreference(c.req.header("prefer"));
    if (wait !== null) {
      c.header("Preference-Applied", `wait=${wait}`);
      log = await waitWhileRunning(log, wait, (id) => service.getExportLog(id), c.req.raw.signal);
    }
    return c.json(present(log), status);
  }

  const handlers: RouteHandlers<typeof EXPORTS_ROUTES> = {
    async createExport(c, { body: request }) {
      const service = c.get("service");
      const idempotencyKey = c.req.header("idempotency-key");
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
        throw new ValidationError([{
          path: "Idempotency-Key",
          message: "Expected 1 to 255 printable ASCII characters",
        }]);
      }
      const { log, replayed } = await service.requestExport(request, {
        idempotencyKey,
        fingerprint: canonicalConfigKey(request.format, request.config),
        fileStore: env.fileStore.kind,
      });
      c.header("Location", locationOf(log.export_id));
      if (!replayed) background.kick(log.id);
      return await respondWithExport(c, service, log, replayed ? 200 : 202);
    },

    async listExports(c, { query }) {
      const service = c.get("service");
      const filters = {
        format: query.format,
        status: query.status,
        dateFrom: query.from,
        dateTo: query.to,
      };
      // The ETag is taken before the page is read (see conditional.ts).
      const etag = conditionalEtag(
        await service.exportListVersion(filters),
        `list?${JSON.stringify(query)}`,
      );
      if (ifNoneMatchMatches(c.req.header("if-none-match"), etag)) return notModified(c, etag);
      const { logs, total } = await service.listExportLogs(c.get("claims").sub, filters, {
        page: query.page,
        limit: query.limit,
      });
      c.header("ETag", etag);
      return c.json({ logs: logs.map(present), total, page: query.page, limit: query.limit });
    },

    async getExport(c, { exportId }) {
      const service = c.get("service");
      const wait = parseWaitPreference(c.req.header("prefer"));
      if (wait !== null) {
        const log = await service.getExportLog(exportId);
        if (!log) throw new ExportNotFoundError();
        c.header("Preference-Applied", `wait=${wait}`);
        await waitWhileRunning(log, wait, (id) => service.getExportLog(id), c.req.raw.signal);
      }
      // The ETag is taken before the export is read (see conditional.ts).
      const version = await service.exportVersion(exportId);
      if (version === null) throw new ExportNotFoundError();
      const etag = conditionalEtag(version, `export/${exportId}`);
      if (ifNoneMatchMatches(c.req.header("if-none-match"), etag)) return notModified(c, etag);
      const log = await service.getExportLog(exportId);
      if (!log) throw new ExportNotFoundError();
      c.header("ETag", etag);
      return c.json(present(log), 200);
    },

    async previewExport(c, { body: request, query }) {
      return c.json(await c.get("service").previewExport(request, query));
    },

    async getUsage(c) {
      return c.json(await c.get("service").getUsage());
    },

    async deleteExport(c, { exportId }) {
      await c.get("service").deleteExportLog(exportId);
      return c.body(null, 204);
    },

    async retryExport(c, { exportId }) {
      const log = await c.get("service").retryExportLog(exportId);
      c.header("Location", locationOf(log.export_id));
      background.kick(log.id);
      return c.json(present(log), 202);
    },

    // The download checks its caller itself: a signed link's token authorizes instead of a JWT
    // and is verified first; with a JWT the checks are those of every route, in the same order.
    async downloadExport(c) {
      const params = new URL(c.req.url).searchParams;
      const token = params.get("token");
      let file: StoredFile | null;
      if (token !== null) {
        const exportId = (c.req.param("export_id") ?? "").toLowerCase();
        const verified = isUuid(exportId)
          ? verifyDownloadToken(exportId, token, env.signingKeys)
          : null;
        if (!verified) throw new AuthenticationError("The download link is not valid");
        await noQuery(["token"])(c, async () => {});
        file = await findFileForLink(sql, exportId);
        if (!file) throw new ExportNotFoundError();
        if (verified.expiresUnix * 1000 <= Date.now()) throw new ExportExpiredError();
      } else {
        await authenticated(c, async () => {});
        await exportIdParam(c, async () => {});
        await noQuery()(c, async () => {});
        file = await findFileForUser(sql, c.get("claims"), c.get("exportId"));
        if (!file) throw new ExportNotFoundError();
      }
      return await sendFile(c, file);
    },
  };

  /** The file, whole or one range, with the contract's headers; or a redirect to the object. */
  async function sendFile(c: Context<RouteEnv>, file: StoredFile): Promise<Response> {
    assertDownloadable(file);
    if (file.fileStore === "s3") return await redirectToObject(c, file);
    const ifRange = c.req.header("if-range");
    const range = ifRange !== undefined && ifRange !== file.etag
      ? null
      : parseRange(c.req.header("range") ?? null, file.fileSize);
    const whole = { start: 0, end: file.fileSize - 1 };
    const served = range ?? whole;
    const headers: Record<string, string> = {
      "Content-Type": CONTENT_TYPES[file.format],
      "Content-Disposition": `attachment; filename="export-${file.exportId}.${
        FILE_EXTENSIONS[file.format]
      }"`,
      "Content-Length": String(served.end - served.start + 1),
      "ETag": file.etag,
      "Accept-Ranges": "bytes",
      "Cache-Control": "private, no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    };
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${file.fileSize}`;
    // An empty file has nothing to stream: it takes no download slot (it would hold it for
    // nothing, and a slot taken without a stream to give it back was never given back).
    if (file.fileSize === 0) return c.body(null, 200, headers);
    const download = await openDownload(sql, file);
    return c.body(streamFile(sql, download, served), range ? 206 : 200, headers);
  }

  /**
   * A file in the object store: every check above is made, then 302 to a short-lived presigned
   * URL that carries the contract's Content-Type and Content-Disposition; the store serves the
   * bytes, ranges included, so none pass through this function.
   */
  async function redirectToObject(c: Context<RouteEnv>, file: StoredFile): Promise<Response> {
    if (!store || !file.objectKey) {
      throw new ServiceUnavailableError(new Error("No object store for an s3 file"));
    }
    const url = await store.presignGet(file.objectKey, {
      contentType: CONTENT_TYPES[file.format],
      contentDisposition: `attachment; filename="export-${file.exportId}.${
        FILE_EXTENSIONS[file.format]
      }"`,
    });
    return c.body(null, 302, {
      "Location": url,
      "Cache-Control": "private, no-store",
      "Referrer-Policy": "no-referrer",
    });
  }

  serveRoutes(app, EXPORTS_ROUTES, handlers, { user: authenticated });

  app.notFound((c) => c.json(errorBody(new ExportNotFoundError("No such path")), 404));

  app.onError((error, c) => {
    const apiError = toApiError(error, c.get("requestId"));
    for (const [name, value] of Object.entries(errorHeaders(apiError))) c.header(name, value);
    if (apiError instanceof RangeNotSatisfiableError) {
      c.header("Content-Range", `bytes */${apiError.fileSize}`);
    }
    return c.json(errorBody(apiError), apiError.status as 400);
  });

  return app;
}

/**
 * Generation right after a request, in the background (EdgeRuntime.waitUntil where the runtime
 * has it), so small exports finish within a second. One loop per instance; a kick during a run
 * makes it look again before it stops.
 */
function backgroundProcessor(
  sql: Sql,
  store: ObjectStore | null,
  enabled: boolean,
): { kick(exportLogId?: string): void } {
  let running = false;
  let kickedWhileRunning = false;
  async function run(firstExportLogId?: string): Promise<void> {
    running = true;
    try {
      do {
        kickedWhileRunning = false;
        await processExports(sql, {
          workerId: "exports-api",
          budgetMs: WORKER_BUDGETS_MS.apiBackground,
          store,
          firstExportLogId,
        });
        firstExportLogId = undefined;
      } while (kickedWhileRunning);
    } catch (error) {
      logLine({ level: "error", message: "background processing failed", error: String(error) });
    } finally {
      running = false;
    }
  }
  return {
    kick(exportLogId) {
      if (!enabled) return;
      if (running) {
        kickedWhileRunning = true;
        return;
      }
      const task = run(exportLogId);
      const edgeRuntime =
        (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } })
          .EdgeRuntime;
      edgeRuntime?.waitUntil?.(task);
    },
  };
}

/** Anything that is not already an ApiError becomes a 503 (database down) or a bare 500. */
function toApiError(error: unknown, requestId: string | undefined): ApiError {
  if (error instanceof ApiError) return error;
  if (isConnectionError(error)) return new ServiceUnavailableError(error);
  logLine({
    level: "error",
    request_id: requestId,
    message: "unexpected error",
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new InternalError();
}
