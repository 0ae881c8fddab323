/**
 * Generates docs/openapi.json, the OpenAPI 3.1 document of the `exports` and `export-worker`
 * functions, from the route definitions the functions serve (shared/http/routes.ts) and the
 * server's zod schemas (scripts/openapi/components.ts converts them with z.toJSONSchema). What is
 * the document's alone lives beside it: the examples (scripts/openapi/examples.ts) and the prose
 * below. tests/openapi_test.ts holds the committed file to this generator and the generator to
 * the running server.
 *
 * Usage: deno task openapi (writes the file), or with --check (fails when it is stale).
 */
import packageJson from "../package.json" with { type: "json" };
import { ROUTES } from "../shared/http/routes.ts";
import { components, type Json } from "./openapi/components.ts";
import { pathsFrom } from "./openapi/paths.ts";

export { EXAMPLES } from "./openapi/examples.ts";

/** Where the generated document is committed. */
export const OPENAPI_FILE = new URL("../docs/openapi.json", import.meta.url);

/** Builds the OpenAPI document (a plain JSON value). */
export function buildOpenApiDocument(): Json {
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
    paths: pathsFrom(ROUTES),
    components: components(),
  };
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
      console.error("docs/openapi.json is out of date: run deno task openapi");
      Deno.exit(1);
    }
    console.log("docs/openapi.json is up to date");
  } else {
    await Deno.mkdir(new URL(".", OPENAPI_FILE), { recursive: true });
    await Deno.writeTextFile(OPENAPI_FILE, rendered);
    console.log(`wrote ${OPENAPI_FILE.pathname}`);
  }
}
