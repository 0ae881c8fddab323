/**
 * The `export-worker` edge function: drives queued exports to completion when invoked (by
 * pg_net from pg_cron, or any scheduler) with the service role's token. It works until no export
 * is left or its time budget is spent, then hands back what it holds, and reports what it did.
 */
import { Hono } from "hono";
import { createTokenVerifier, type TokenVerifier } from "../../shared/http/auth.ts";
import { createSql, isConnectionError, type Sql } from "../../shared/database/db.ts";
import { type FunctionsEnv, loadFunctionsEnv, WORKER_BUDGETS_MS } from "../../shared/core/env.ts";
import { ApiError, InternalError, ServiceUnavailableError } from "../../shared/core/errors.ts";
import { processExports } from "../../shared/domain/export_worker.ts";
import { objectStoreOf } from "../../shared/domain/file_upload.ts";
import { errorBody, errorHeaders } from "../../shared/http/error_response.ts";
import { logLine } from "../../shared/core/log.ts";
import { type RouteEnv, serviceRole } from "../../shared/http/middleware.ts";
import { WORKER_ROUTES } from "../../shared/http/routes.ts";
import { type RouteHandlers, serveRoutes } from "../../shared/http/serve_route.ts";

/** Default time budget per invocation: under the edge runtime's wall-clock limit. */
export const DEFAULT_BUDGET_MS = WORKER_BUDGETS_MS.workerFunction;

/** What the worker app needs. */
export interface WorkerAppOptions {
  env: FunctionsEnv;
  sql: Sql;
  verifier?: TokenVerifier;
  budgetMs?: number;
}

/** Builds the worker app from the environment (index.ts). */
export function createWorkerAppFromEnv(): Hono<RouteEnv> {
  const env = loadFunctionsEnv();
  return createWorkerApp({
    env,
    sql: createSql(env.databaseUrl, { applicationName: "export-worker", max: 2 }),
    budgetMs: env.workerBudgetMs,
  });
}

/** Builds the Hono app with base path `/export-worker`: POST runs the worker (shared/http/routes.ts). */
export function createWorkerApp(options: WorkerAppOptions): Hono<RouteEnv> {
  const verifier = options.verifier ??
    createTokenVerifier(options.env, () => Promise.resolve(false));
  const app = new Hono<RouteEnv>().basePath("/export-worker");
  const store = objectStoreOf(options.env.fileStore);
  const handlers: RouteHandlers<typeof WORKER_ROUTES> = {
    async runExportWorker(c) {
      const started = performance.now();
      const completed = await processExports(options.sql, {
        store,
        workerId: `export-worker-${crypto.randomUUID().slice(0, 8)}`,
        budgetMs: options.budgetMs ?? DEFAULT_BUDGET_MS,
        signal: c.req.raw.signal,
      });
      const durationMs = Math.round(performance.now() - started);
      logLine({ level: "info", component: "export-worker", completed, duration_ms: durationMs });
      return c.json({ completed, duration_ms: durationMs });
    },
  };
  serveRoutes(app, WORKER_ROUTES, handlers, { serviceRole: serviceRole(verifier) });

  app.notFound((c) => c.json({ error: { code: "not_found", message: "No such path" } }, 404));
  app.onError((error, c) => {
    const apiError = error instanceof ApiError
      ? error
      : isConnectionError(error)
      ? new ServiceUnavailableError(error)
      : new InternalError("Something went wrong on our side");
    if (apiError.status === 500) {
      logLine({ level: "error", component: "export-worker", error: String(error) });
    }
    for (const [name, value] of Object.entries(errorHeaders(apiError))) c.header(name, value);
    return c.json(errorBody(apiError), apiError.status as 400);
  });
  return app;
}
