/**
 * Serves route definitions (routes.ts) on a Hono app: each route's middleware comes from its
 * definition, in the contract's order of checks — authentication (401/403), the `export_id`
 * (400), the body's size and syntax (413, 400), the query (400), the body's content (400) — and
 * its handler gets the parsed inputs with the types the definition's parsers return. The apps
 * register routes only here, from a record keyed by operationId, so a handler without a
 * definition, or a definition without a handler, does not compile.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { MethodNotAllowedError } from "../core/errors.ts";
import { exportIdParam, jsonBody, noQuery, type RouteEnv } from "./middleware.ts";
import type { BodyDefinition, QueryDefinition, RouteDefinition, Security } from "./routes.ts";

/** The inputs a route's definition says it takes, parsed. */
export interface RouteInput<R extends RouteDefinition> {
  exportId: R extends { exportId: true } ? string : undefined;
  body: R["body"] extends BodyDefinition<infer T> ? T : undefined;
  query: R["query"] extends QueryDefinition<infer T> ? T : undefined;
}

/** Answers one route, given its parsed inputs. */
export type RouteHandler<R extends RouteDefinition> = (
  c: Context<RouteEnv>,
  input: RouteInput<R>,
) => Promise<Response> | Response;

/** One handler per route, keyed by operationId. */
export type RouteHandlers<Routes extends readonly RouteDefinition[]> = {
  [R in Routes[number] as R["operationId"]]: RouteHandler<R>;
};

/**
 * The middleware that checks each kind of caller. A route whose security has none here checks
 * the caller itself (the download, which takes a JWT or a signed link).
 */
export type SecurityChecks = Partial<Record<Security, MiddlewareHandler<RouteEnv>>>;

/** The Hono path of a route, under its function's base path: `/exports/{export_id}` → `/:export_id`. */
export function honoPath(route: RouteDefinition): string {
  const local = route.path.slice(`/${route.function}`.length) || "/";
  return local.replace(/\{([a-z_]+)\}/g, ":$1");
}

/**
 * Serves the routes path by path, each path's methods followed by a 405 with Allow for any other
 * method. Literal paths go first, so that a literal segment wins over a parameter
 * (`GET /exports/preview` is a 405 of the preview path, not `GET /exports/{export_id}`).
 */
export function serveRoutes<const Routes extends readonly RouteDefinition[]>(
  app: Hono<RouteEnv>,
  routes: Routes,
  handlers: RouteHandlers<Routes>,
  security: SecurityChecks,
): void {
  const byOperation = handlers as unknown as Record<string, RouteHandler<RouteDefinition>>;
  const byPath = new Map<string, RouteDefinition[]>();
  for (const route of routes) {
    byPath.set(honoPath(route), [...byPath.get(honoPath(route)) ?? [], route]);
  }
  const paths = [...byPath.keys()].sort((a, b) =>
    Number(a.includes(":")) - Number(b.includes(":"))
  );
  for (const path of paths) {
    const pathRoutes = byPath.get(path) ?? [];
    for (const route of pathRoutes) {
      serveRoute(app, route, byOperation[route.operationId], security);
    }
    // OPTIONS, when served, goes last in Allow, after the route's own methods.
    const allowed = pathRoutes.map((route) => route.method.toUpperCase());
    if (pathRoutes.some((route) => route.preflight)) allowed.push("OPTIONS");
    app.all(path, () => {
      throw new MethodNotAllowedError(allowed);
    });
  }
}

function serveRoute(
  app: Hono<RouteEnv>,
  route: RouteDefinition,
  handler: RouteHandler<RouteDefinition>,
  security: SecurityChecks,
): void {
  if (!handler) throw new Error(`No handler for ${route.operationId}`);
  const checkCaller = security[route.security];
  const middleware: MiddlewareHandler<RouteEnv>[] = [];
  if (checkCaller) {
    middleware.push(checkCaller);
    if (route.exportId) middleware.push(exportIdParam);
  }
  if (route.body) middleware.push(jsonBody(route.body.maxBytes));
  const { query, body } = route;
  const selfChecked = !checkCaller;
  app.on([route.method.toUpperCase()], [honoPath(route)], ...middleware, async (c) => {
    const input = {
      exportId: selfChecked ? undefined : c.get("exportId"),
      query: undefined as unknown,
      body: undefined as unknown,
    };
    if (query) input.query = query.parse(new URL(c.req.url).searchParams);
    else if (!selfChecked) await noQuery()(c, async () => {});
    if (body) input.body = body.parse(c.get("body"));
    return await handler(c, input as RouteInput<RouteDefinition>);
  });
}
