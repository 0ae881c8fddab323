/**
 * The cross-cutting steps of a request, as Hono middleware: the request id and its log line,
 * authentication, the `export_id` parameter, the JSON body and the refusal of unknown query
 * parameters. serveRoute (serve_route.ts) puts them in front of each route's handler in the
 * contract's order of checks, as the route's definition asks.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError, ValidationError } from "../core/errors.ts";
import { logLine } from "../core/log.ts";
import { isUuid } from "../core/uuid.ts";
import type { Sql, UserClaims } from "../database/db.ts";
import { ExportService } from "../domain/export_service.ts";
import type { TokenVerifier } from "./auth.ts";
import { parseJsonBody } from "./json_body.ts";

/**
 * What the middleware hands the handlers: the request id, and once authenticated, the caller's
 * claims and service; on `{export_id}` paths the checked id; with a body, the parsed JSON.
 */
export type RouteVariables = {
  requestId: string;
  claims: UserClaims;
  service: ExportService;
  exportId: string;
  body: unknown;
};

/** The Hono environment of the functions' apps. */
export type RouteEnv = { Variables: RouteVariables };

/** Gives each request an id (X-Request-Id) and logs one line when it is answered. */
export const requestLog: MiddlewareHandler<RouteEnv> = async (c, next) => {
  const requestId = crypto.randomUUID();
  const started = performance.now();
  c.set("requestId", requestId);
  await next();
  c.header("X-Request-Id", requestId);
  logLine({
    level: c.res.status >= 500 ? "error" : "info",
    request_id: requestId,
    method: c.req.method,
    route: c.req.routePath,
    status: c.res.status,
    duration_ms: Math.round((performance.now() - started) * 10) / 10,
  });
};

/** Verifies the caller's user JWT (401/403) and gives the handler a service acting as that user. */
export function authenticatedUser(verifier: TokenVerifier, sql: Sql): MiddlewareHandler<RouteEnv> {
  return async (c, next) => {
    const claims = await verifier.verify(c.req.header("authorization"));
    c.set("claims", claims);
    c.set("service", ExportService.forUser(sql, claims));
    await next();
  };
}

/** Accepts only the service role's JWT (401/403). */
export function serviceRole(verifier: TokenVerifier): MiddlewareHandler<RouteEnv> {
  return async (c, next) => {
    await verifier.verifyServiceRole(c.req.header("authorization"));
    await next();
  };
}

/** The `export_id` path parameter, checked to be a UUID (400) and kept in lowercase. */
export const exportIdParam: MiddlewareHandler<RouteEnv> = async (c, next) => {
  const exportId = c.req.param("export_id") ?? "";
  if (!isUuid(exportId)) {
    throw new ValidationError([{
      path: "export_id",
      message: `Expected a UUID, got "${exportId.slice(0, 64)}"`,
    }]);
  }
  c.set("exportId", exportId.toLowerCase());
  await next();
};

/** The JSON body, read within `maxBytes` (413) and parsed (400). */
export function jsonBody(maxBytes: number): MiddlewareHandler<RouteEnv> {
  const withinLimit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(maxBytes);
    },
  });
  return async (c, next) => {
    await withinLimit(c, async () => {
      c.set("body", await parseJsonBody(c.req.raw));
    });
    await next();
  };
}

/** Endpoints refuse query parameters they do not know, like unknown body fields. */
export function noQuery(allowed: readonly string[] = []): MiddlewareHandler<RouteEnv> {
  return async (c, next) => {
    const names = [...new URL(c.req.url).searchParams.keys()].filter((name) =>
      !allowed.includes(name)
    );
    if (names.length > 0) {
      throw new ValidationError(
        names.map((name) => ({ path: name, message: `Unknown parameter "${name}"` })),
      );
    }
    await next();
  };
}
