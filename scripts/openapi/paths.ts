/**
 * The `paths` of docs/openapi.json, generated from the route definitions the functions serve
 * (shared/http/routes.ts). The responses a definition leaves out are derived here by the same
 * rules serveRoute follows (see routes.ts): 400 for every route, 404 for one with an
 * `export_id`, 413 for one with a body, 401/403/500/503 for a user's route.
 */
import type { z } from "zod";
import { CONTENT_TYPES } from "../../shared/domain/download.ts";
import {
  type ErrorResponse,
  type RouteDefinition,
  type Security,
  type SuccessResponse,
} from "../../shared/http/routes.ts";
import {
  errorResponse,
  type Json,
  jsonContent,
  jsonSchema,
  ref,
  REQUEST_SCHEMAS,
  RESPONSE_SCHEMAS,
  withoutRequestId,
} from "./components.ts";
import { REQUEST_EXAMPLES, RESPONSE_EXAMPLES } from "./examples.ts";

const SECURITY: Record<Security, Json[]> = {
  user: [{ supabaseJwt: [] }],
  userOrDownloadToken: [{ supabaseJwt: [] }, { downloadToken: [] }],
  serviceRole: [{ serviceRoleJwt: [] }],
};

/** The request examples of each request schema, by component name. */
const REQUEST_BODY_EXAMPLES: Record<string, Record<string, unknown>> = {
  ExportRequest: REQUEST_EXAMPLES,
};

/** The paths object: each path's `export_id` parameter, its operations, then its preflight. */
export function pathsFrom(routes: readonly RouteDefinition[]): Json {
  const paths: Record<string, Json> = {};
  const preflights = new Map<string, string>();
  for (const route of routes) {
    paths[route.path] ??= route.exportId ? { parameters: [ref("parameters", "ExportId")] } : {};
    paths[route.path][route.method] = operation(route);
    if (route.preflight) preflights.set(route.path, route.preflight);
  }
  for (const [path, name] of preflights) paths[path].options = preflight(name);
  return paths;
}

function operation(route: RouteDefinition): Json {
  const parameters = [
    ...(route.headers ?? []).map((name) => ref("parameters", name)),
    ...(route.query ? queryParameters(route.query.schema) : []),
  ];
  const op: Json = {
    operationId: route.operationId,
    tags: route.tags,
    summary: route.summary,
    description: route.description,
    security: SECURITY[route.security],
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    const name = nameOf(route.body.schema, REQUEST_SCHEMAS);
    op.requestBody = {
      required: true,
      content: jsonContent(ref("schemas", name), REQUEST_BODY_EXAMPLES[name]),
    };
  }
  op.responses = responses(route);
  return op;
}

function responses(route: RouteDefinition): Json {
  const all: Record<number, Json> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    all[Number(status)] = "headers" in response
      ? success(response)
      : errorResponse(Number(status), response.description, (response as ErrorResponse).codes);
  }
  // Every route refuses query parameters it does not take.
  all[400] = route.function === "exports"
    ? ref("responses", "InvalidRequest")
    : errorResponse(400, "An unknown query parameter");
  if (route.exportId) all[404] = ref("responses", "NotFound");
  if (route.body) {
    all[413] = errorResponse(413, `The body is larger than ${route.body.maxBytes} bytes`);
  }
  if (route.security !== "serviceRole") {
    all[401] = ref("responses", "Unauthorized");
    all[403] = ref("responses", "Forbidden");
    all[500] = ref("responses", "Internal");
    all[503] = ref("responses", "Unavailable");
  }
  // Only `exports` sends X-Request-Id.
  if (route.function !== "exports") {
    for (const response of Object.values(all)) {
      if (response.headers) withoutRequestId(response);
    }
  }
  return all;
}

function success(response: SuccessResponse): Json {
  const result: Json = { description: response.description };
  if (response.headers.length > 0) {
    result.headers = Object.fromEntries(
      response.headers.map((name) => [name, ref("headers", name)]),
    );
  }
  if (response.body === "file") {
    result.content = fileContent();
  } else if (response.body) {
    const example = response.example
      ? { [response.example]: RESPONSE_EXAMPLES[response.example] }
      : undefined;
    result.content = jsonContent(ref("schemas", nameOf(response.body, RESPONSE_SCHEMAS)), example);
  }
  return result;
}

/** One query parameter per property of the query schema, as a client sends it. */
function queryParameters(schema: z.ZodObject): Json[] {
  const properties = (jsonSchema(schema, "input").properties ?? {}) as Record<string, Json>;
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: "query", required: false, description, schema: rest };
  });
}

/** A file in each format's media type. */
function fileContent(): Json {
  return Object.fromEntries(
    Object.entries(CONTENT_TYPES).map(([format, type]) => [
      type,
      { schema: { type: "string", format: "binary", description: `A ${format} export file` } },
    ]),
  );
}

function preflight(name: string): Json {
  return {
    operationId: `preflight${name}`,
    tags: ["exports"],
    summary: "CORS preflight",
    description: "Answered without authentication, before routing and auth.",
    security: [],
    responses: { 204: ref("responses", "Preflight") },
  };
}

function nameOf(schema: z.ZodType | undefined, named: Record<string, z.ZodType>): string {
  const found = Object.entries(named).find(([, candidate]) => candidate === schema);
  if (!found) throw new Error("A route's body schema is not a named component schema");
  return found[0];
}
