/**
 * docs/openapi.json stays in step with the code and with the running server:
 * - the committed file is exactly what scripts/generate_openapi.ts produces from the zod schemas;
 * - the routes the Hono apps register are exactly the documented operations;
 * - every (status, error code) the code can answer with is documented, and nothing more;
 * - over real HTTP, every documented operation is served, every documented status is produced
 *   by a real request (500 and 503 aside: they need a broken server or database), and every
 *   response's headers and body validate against the document, with objects closed: a field
 *   the server sends that the document does not name fails.
 */
import assert from "node:assert/strict";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import formatsPlugin from "ajv-formats";
import { createExportsApp } from "../functions/exports/app.ts";
import { createWorkerApp } from "../functions/export-worker/app.ts";
import { loadFunctionsEnv } from "../shared/core/env.ts";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import { parseListQuery } from "../shared/http/list_query.ts";
import { ValidationError } from "../shared/core/errors.ts";
import {
  buildOpenApiDocument,
  EXAMPLES,
  OPENAPI_FILE,
  renderOpenApiDocument,
} from "../scripts/generate_openapi.ts";
import { exportsUrl, functionsBaseUrl } from "./support/api.ts";
import {
  createConversation,
  createUser,
  dbTest,
  testSql,
  withSettings,
} from "./support/database.ts";
import { waitForExport } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const committed: Json = JSON.parse(await Deno.readTextFile(OPENAPI_FILE));
const METHODS = ["get", "post", "put", "patch", "delete"] as const;
/** Statuses no real request can produce against a healthy server and database. */
const NOT_PRODUCIBLE = new Set(["500", "503"]);
/**
 * Answers of the object store (EXPORTS_FILE_STORE=s3), which this suite's server (the database
 * store) never gives; tests/object_store_exports_test.ts checks them against this document in
 * npm test's s3 phase.
 */
const OBJECT_STORE_ONLY = new Set(["downloadExport 302"]);

// ---------------------------------------------------------------------------------------------
// JSON Schema (2020-12) checks with Ajv, strict: a keyword it does not know is an error, not a
// pass, so a schema it cannot read never counts as checked. Objects are closed: an object schema
// that names its properties accepts no other property, whatever additionalProperties says, so a
// field the server sends that the document does not name fails.

const SCHEMAS_ID = "openapi.json";
const ajv = new Ajv2020({
  allErrors: true,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
});
// A CommonJS module whose exports object is also its default: the plugin is at .default.
formatsPlugin.default(ajv);
// OpenAPI's format for a file body: any bytes; the body is not validated as JSON at all.
ajv.addFormat("binary", true);

/** A copy of a schema, closed, with its references pointing into the registered components. */
function closedSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(closedSchema);
  if (node === null || typeof node !== "object") return node;
  const copy: Json = {};
  for (const [key, value] of Object.entries(node)) {
    copy[key] = key === "$ref" && typeof value === "string"
      ? value.replace("#/components/schemas/", `${SCHEMAS_ID}#/$defs/`)
      : key === "properties" || key === "$defs"
      ? Object.fromEntries(
        Object.entries(value as Json).map(([name, schema]) => [name, closedSchema(schema)]),
      )
      : closedSchema(value);
  }
  if (copy.properties) copy.additionalProperties = false;
  return copy;
}

ajv.addSchema({ $id: SCHEMAS_ID, $defs: closedSchema(committed.components.schemas) });
const compiled = new Map<Json, ReturnType<typeof ajv.compile>>();

function resolvePointer(doc: Json, pointer: string): Json {
  assert.ok(pointer.startsWith("#/"), `Only local references are used, got ${pointer}`);
  let node = doc;
  for (const part of pointer.slice(2).split("/")) {
    node = node?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
    assert.ok(node !== undefined, `Unresolved reference ${pointer}`);
  }
  return node;
}

function deref(doc: Json, node: Json): Json {
  while (node && typeof node === "object" && "$ref" in node) node = resolvePointer(doc, node.$ref);
  return node;
}

/** Errors of `value` against `schema`, one line each (empty when valid). */
function schemaErrors(schema: Json, value: unknown): string[] {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = ajv.compile(closedSchema(schema));
    } catch (error) {
      return [`the schema cannot be checked: ${(error as Error).message}`];
    }
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) =>
    `$${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`
  );
}

function assertValid(schema: Json, value: unknown, what: string): void {
  const errors = schemaErrors(schema, value);
  assert.deepEqual(errors, [], `${what}: ${JSON.stringify(value).slice(0, 2000)}`);
}

// ---------------------------------------------------------------------------------------------
// The document's operations

interface Operation {
  path: string;
  method: string;
  spec: Json;
}

function operations(doc: Json = committed): Operation[] {
  const found: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of [...METHODS, "options"]) {
      if (item[method]) found.push({ path, method, spec: item[method] });
    }
  }
  return found;
}

/** `/exports/{export_id}` and Hono's `/exports/:exportId` both become `/exports/{}`. */
function normalizePath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "{}").replace(/:[A-Za-z_]+/g, "{}");
}

function operationFor(path: string, method: string): Operation {
  const found = operations().find((op) => op.path === path && op.method === method);
  assert.ok(found, `${method.toUpperCase()} ${path} is not in the document`);
  return found;
}

/** Every documented response of every operation, by status, with its error codes. */
function documentedErrorCodes(doc: Json = committed): Map<string, Set<string>> {
  const codes = new Map<string, Set<string>>();
  const responses = [
    ...operations(doc).flatMap((op) => Object.entries<Json>(op.spec.responses)),
    ["404", doc.components.responses.NoSuchPath],
    ["405", doc.components.responses.MethodNotAllowed],
  ] as [string, Json][];
  for (const [status, response] of responses) {
    const schema = deref(doc, deref(doc, response).content?.["application/json"]?.schema);
    const codeSchema = schema?.properties?.error?.properties?.code;
    if (!codeSchema) continue;
    const set = codes.get(status) ?? new Set<string>();
    for (const code of codeSchema.enum ?? []) set.add(code);
    codes.set(status, set);
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Checking one real response against the document

const observed = new Set<string>();

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: "manual", ...init });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function headerValue(schema: Json, raw: string): unknown {
  return schema?.type === "integer" && /^\d+$/.test(raw) ? Number(raw) : raw;
}

/**
 * Checks a response of a documented operation: its status is documented for it (or is the
 * document's 405/unknown-path answer), its documented headers are there and valid, and its body
 * is exactly what the document says (JSON validated with closed objects; none when none).
 */
function checkAnswer(op: Operation, answer: Answer, expected: number, what: string): Json {
  const label = `${op.method.toUpperCase()} ${op.path} → ${answer.status} (${what})`;
  assert.equal(
    answer.status,
    expected,
    `${label}: expected ${expected}; body ${answer.text.slice(0, 500)}`,
  );
  const response = deref(committed, op.spec.responses[String(answer.status)]);
  assert.ok(response, `${label}: status ${answer.status} is not documented for this operation`);
  observed.add(`${op.spec.operationId} ${answer.status}`);
  return checkResponseObject(response, answer, label, op.path !== "/export-worker");
}

function checkResponseObject(
  response: Json,
  answer: Answer,
  label: string,
  exportsFunction: boolean,
): Json {
  for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
    const spec = deref(committed, header);
    const raw = answer.headers.get(name);
    if (raw === null) {
      assert.ok(!spec.required, `${label}: required header ${name} is missing`);
      continue;
    }
    assertValid(spec.schema, headerValue(spec.schema, raw), `${label}: header ${name}`);
  }
  if (exportsFunction) {
    assert.ok(answer.headers.get("access-control-allow-origin"), `${label}: no CORS headers`);
    assert.ok(answer.headers.get("x-request-id"), `${label}: no X-Request-Id`);
  }
  const content = response.content;
  if (!content) {
    assert.equal(answer.text, "", `${label}: the document says no body`);
    return null;
  }
  const type = answer.headers.get("content-type") ?? "";
  assert.ok(
    type in content,
    `${label}: Content-Type ${type} is not documented (${Object.keys(content)})`,
  );
  const schema = content[type].schema;
  if (schema.format === "binary") return answer.text;
  const body = JSON.parse(answer.text);
  assertValid(schema, body, `${label}: body`);
  return body;
}

// ---------------------------------------------------------------------------------------------
// (a) the committed document is the generator's output

Deno.test("docs/openapi.json is exactly what scripts/generate_openapi.ts generates from the zod schemas", async () => {
  const current = await Deno.readTextFile(OPENAPI_FILE);
  assert.ok(
    current === renderOpenApiDocument(),
    "docs/openapi.json is out of date: run `deno task openapi` and commit it",
  );
});

Deno.test("the document is well formed: references resolve, ids are unique, path parameters are declared", () => {
  const doc = buildOpenApiDocument() as Json;
  assert.equal(doc.openapi, "3.1.0");
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    if (typeof node.$ref === "string") resolvePointer(doc, node.$ref);
    Object.values(node).forEach(visit);
  };
  visit(doc);
  const ids = operations(doc).map((op) => op.spec.operationId);
  assert.equal(new Set(ids).size, ids.length, `duplicate operationId in ${ids}`);
  for (const op of operations(doc)) {
    const declared = [...(doc.paths[op.path].parameters ?? []), ...(op.spec.parameters ?? [])]
      .map((parameter: Json) => deref(doc, parameter))
      .filter((parameter: Json) => parameter.in === "path")
      .map((parameter: Json) => parameter.name);
    const inPath = [...op.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
    assert.deepEqual(declared.sort(), inPath.sort(), `${op.method} ${op.path}`);
    assert.ok(Object.keys(op.spec.responses).length > 0, `${op.spec.operationId} has no responses`);
  }
});

Deno.test("the document's examples are valid: request examples parse with the server's own parser", () => {
  const requestSchema = committed.components.schemas.ExportRequest;
  for (const [name, body] of Object.entries(EXAMPLES.REQUEST_EXAMPLES)) {
    assertValid(requestSchema, body, `request example ${name}`);
    parseExportRequest(body);
  }
  assertValid(committed.components.schemas.ExportLog, EXAMPLES.QUEUED_EXAMPLE, "queued example");
  assertValid(
    committed.components.schemas.ExportLog,
    EXAMPLES.COMPLETED_EXAMPLE,
    "completed example",
  );
  assertValid(committed.components.schemas.ExportList, EXAMPLES.LIST_EXAMPLE, "list example");
  // Every example embedded in a response is valid for that response.
  for (const op of operations()) {
    for (const [status, response] of Object.entries<Json>(op.spec.responses)) {
      const resolved = deref(committed, response);
      for (const media of Object.values<Json>(resolved.content ?? {})) {
        for (const [name, example] of Object.entries<Json>(media.examples ?? {})) {
          assertValid(
            media.schema,
            example.value,
            `${op.spec.operationId} ${status} example ${name}`,
          );
        }
      }
    }
  }
  // The stored config of the examples is what the parser makes of the filtered request.
  const parsed = parseExportRequest(EXAMPLES.REQUEST_EXAMPLES.filtered);
  assert.deepEqual(EXAMPLES.QUEUED_EXAMPLE.config, parsed.config);
});

Deno.test("the schema check refuses what it should (so a pass means something)", () => {
  const schema = committed.components.schemas.ExportLog;
  const good = EXAMPLES.COMPLETED_EXAMPLE;
  assert.equal(schemaErrors(schema, good).length, 0);
  assert.ok(schemaErrors(schema, { ...good, attempts: 1 }).length > 0, "an extra field");
  const { skipped: _skipped, ...missing } = good;
  assert.ok(schemaErrors(schema, missing).length > 0, "a missing field");
  assert.ok(
    schemaErrors(schema, { ...good, status: "paused" }).length > 0,
    "an unknown status",
  );
  assert.ok(
    schemaErrors(schema, { ...good, timestamp: "2026-11-28T14:03:07.123Z" }).length > 0,
    "milliseconds",
  );
  assert.ok(
    schemaErrors(schema, { ...good, config: { ...good.config, template: "csv" } })
      .length > 0,
  );
  assert.ok(
    schemaErrors({ type: "string", frobnicate: 1 }, "x").length > 0,
    "an unknown keyword",
  );
});

// ---------------------------------------------------------------------------------------------
// Routes, error codes and the list query against the code

Deno.test("the routes the Hono apps register are exactly the documented operations", () => {
  const env = loadFunctionsEnv();
  const sql = testSql();
  const served = new Set<string>();
  const servedPaths = new Set<string>();
  for (
    const app of [
      createExportsApp({ env, sql, processInBackground: false }),
      createWorkerApp({ env, sql }),
    ]
  ) {
    for (const route of app.routes) {
      if (route.path.endsWith("*")) continue; // middleware
      servedPaths.add(normalizePath(route.path));
      if (route.method !== "ALL") served.add(`${route.method} ${normalizePath(route.path)}`);
    }
  }
  const documented = new Set(
    operations().filter((op) => op.method !== "options").map((op) =>
      `${op.method.toUpperCase()} ${normalizePath(op.path)}`
    ),
  );
  assert.deepEqual(
    [...served].sort(),
    [...documented].sort(),
    "served routes vs documented operations",
  );
  assert.deepEqual([...servedPaths].sort(), Object.keys(committed.paths).map(normalizePath).sort());
});

Deno.test("every (status, code) the code can answer with is documented, and every documented one exists", async () => {
  const sources: string[] = [];
  for (
    const folder of [
      "shared/core",
      "shared/database",
      "shared/domain",
      "shared/http",
      "functions/exports",
      "functions/export-worker",
    ]
  ) {
    for (const entry of Deno.readDirSync(new URL(`../${folder}/`, import.meta.url))) {
      if (entry.isFile && entry.name.endsWith(".ts")) {
        sources.push(
          await Deno.readTextFile(new URL(`../${folder}/${entry.name}`, import.meta.url)),
        );
      }
    }
  }
  const text = sources.join("\n");
  const inCode = new Set<string>();
  for (const match of text.matchAll(/(?:super|new ApiError)\(\s*(\d{3}),\s*"([a-z_]+)"/g)) {
    inCode.add(`${match[1]} ${match[2]}`);
  }
  // Errors whose code is a constructor parameter: `constructor(code: "a" | "b", …) { super(409, code`.
  for (
    const match of text.matchAll(
      /constructor\(code: ([^,)]+)[^)]*\)\s*\{\s*super\(\s*(\d{3}),\s*code/g,
    )
  ) {
    for (const code of match[1].matchAll(/"([a-z_]+)"/g)) inCode.add(`${match[2]} ${code[1]}`);
  }
  // The functions' own not-found answers are object literals.
  for (const match of text.matchAll(/code: "([a-z_]+)", message: "[^"]*" \} \}, (\d{3})\)/g)) {
    inCode.add(`${match[2]} ${match[1]}`);
  }
  const documented = new Set<string>();
  for (const [status, codes] of documentedErrorCodes()) {
    for (const code of codes) documented.add(`${status} ${code}`);
  }
  assert.ok(inCode.size >= 15, `found only ${[...inCode]} in the code`);
  assert.deepEqual(
    [...inCode].sort(),
    [...documented].sort(),
    "(status, code) in the code vs in the document",
  );
});

Deno.test("the documented list parameters are exactly what parseListQuery accepts, with its defaults and bounds", () => {
  const parameters: Json[] = operationFor("/exports", "get").spec.parameters.map((p: Json) =>
    deref(committed, p)
  ).filter((parameter: Json) => parameter.in === "query");
  const valid: Record<string, string[]> = {};
  const invalid: Record<string, string[]> = {};
  for (const parameter of parameters) {
    const schema = deref(committed, parameter.schema);
    if (schema.enum) {
      valid[parameter.name] = schema.enum;
      invalid[parameter.name] = ["nope", ""];
    } else if (schema.type === "integer") {
      valid[parameter.name] = [String(schema.minimum), String(schema.maximum)];
      invalid[parameter.name] = [
        String(schema.minimum - 1),
        String(schema.maximum + 1),
        "1.5",
        "x",
      ];
      assert.equal(
        parseListQuery(new URLSearchParams())[parameter.name as "page"],
        schema.default,
        parameter.name,
      );
    } else if (schema.format === "date-time") {
      valid[parameter.name] = ["2026-01-01T00:00:00Z"];
      invalid[parameter.name] = ["yesterday", ""];
    } else {
      assert.fail(`No sample values for parameter ${parameter.name}`);
    }
  }
  for (const [name, values] of Object.entries(valid)) {
    for (const value of values) parseListQuery(new URLSearchParams({ [name]: value }));
  }
  for (const [name, values] of Object.entries(invalid)) {
    for (const value of values) {
      assert.throws(
        () => parseListQuery(new URLSearchParams({ [name]: value })),
        (error: unknown) => {
          return error instanceof ValidationError &&
            error.issues.some((issue) => issue.path === name);
        },
        `${name}=${value}`,
      );
    }
  }
  // A parameter the document does not list is refused.
  assert.throws(() => parseListQuery(new URLSearchParams({ user_id: "x" })), ValidationError);
});

// ---------------------------------------------------------------------------------------------
// (b) the running server

dbTest(
  "every documented operation and status is served as documented by the running server",
  async () => {
    const sql = testSql();
    const url = (path: string) => `${functionsBaseUrl()}/functions/v1${path}`;
    const owner = await createUser();
    for (let i = 0; i < 3; i++) {
      await createConversation(owner, {
        tier: "scenario",
        quality_score: 9,
        title: `Scenario ${i}`,
      });
    }
    const token = await userToken(owner);
    const auth = { Authorization: `Bearer ${token}` };
    const anon = {
      Authorization: `Bearer ${await userToken(owner, { claims: { role: "anon" } })}`,
    };
    const json = { "Content-Type": "application/json" };
    const missing = crypto.randomUUID();

    const restorePaused = await withSettings({ processing_paused: true });
    const restoreLimits: (() => Promise<void>)[] = [];
    try {
      // --- POST /exports ---------------------------------------------------------------------
      const create = operationFor("/exports", "post");
      const post = (body: unknown, headers: Record<string, string> = auth) =>
        call(exportsUrl(""), {
          method: "POST",
          headers: { ...json, ...headers },
          body: JSON.stringify(body),
        });
      const queued = checkAnswer(
        create,
        await post(EXAMPLES.REQUEST_EXAMPLES.minimal),
        202,
        "minimal example",
      );
      assert.equal(queued.status, "queued");
      const waited = await post(EXAMPLES.REQUEST_EXAMPLES.filtered, { ...auth, Prefer: "wait=0" });
      checkAnswer(create, waited, 202, "filtered example, Prefer: wait=0");
      assert.equal(waited.headers.get("preference-applied"), "wait=0");
      const keyed = { ...auth, "Idempotency-Key": `openapi-${crypto.randomUUID()}` };
      const first = checkAnswer(
        create,
        await post({ format: "markdown" }, keyed),
        202,
        "with Idempotency-Key",
      );
      const replay = checkAnswer(
        create,
        await post({ format: "markdown" }, keyed),
        200,
        "idempotent repeat",
      );
      assert.equal(replay.export_id, first.export_id);
      checkAnswer(
        create,
        await post({ format: "json" }, keyed),
        422,
        "key reused with another body",
      );
      checkAnswer(
        create,
        await post(EXAMPLES.REQUEST_EXAMPLES.selected),
        422,
        "selected example: ids not the caller's",
      );
      checkAnswer(create, await post({ format: "xml" }), 400, "unknown format");
      checkAnswer(
        create,
        await post({ format: "json" }, { ...auth, "Idempotency-Key": "é" }),
        400,
        "bad key",
      );
      checkAnswer(create, await post({ format: "json" }, {}), 401, "no token");
      checkAnswer(create, await post({ format: "json" }, anon), 403, "anon role");
      const huge = await call(exportsUrl(""), {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ format: "json", padding: "x".repeat(2 * 1024 * 1024) }),
      });
      checkAnswer(create, huge, 413, "2 MiB body");
      restoreLimits.push(await withSettings({ max_active_exports: 3 }));
      checkAnswer(create, await post({ format: "csv" }), 429, "active limit reached");

      // --- GET /exports ------------------------------------------------------------------------
      const list = operationFor("/exports", "get");
      const listed = checkAnswer(
        list,
        await call(
          exportsUrl(
            "?format=jsonl&status=queued&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&page=1&limit=100",
          ),
          { headers: auth },
        ),
        200,
        "every documented parameter",
      );
      assert.equal(listed.total, 2);
      checkAnswer(list, await call(exportsUrl(""), { headers: auth }), 200, "no parameters");
      checkAnswer(list, await call(exportsUrl("?limit=0"), { headers: auth }), 400, "limit=0");
      checkAnswer(
        list,
        await call(exportsUrl("?user_id=x"), { headers: auth }),
        400,
        "undocumented parameter",
      );
      checkAnswer(list, await call(exportsUrl(""), {}), 401, "no token");
      checkAnswer(list, await call(exportsUrl(""), { headers: anon }), 403, "anon role");
      const listTag = (await call(exportsUrl(""), { headers: auth })).headers.get("etag") ?? "";
      checkAnswer(
        list,
        await call(exportsUrl(""), { headers: { ...auth, "If-None-Match": listTag } }),
        304,
        "If-None-Match, nothing changed",
      );

      // --- POST /exports/preview ---------------------------------------------------------------
      const preview = operationFor("/exports/preview", "post");
      const postPreview = (body: unknown, headers: Record<string, string> = auth, query = "") =>
        call(exportsUrl(`/preview${query}`), {
          method: "POST",
          headers: { ...json, ...headers },
          body: JSON.stringify(body),
        });
      const previewed = checkAnswer(
        preview,
        await postPreview(EXAMPLES.REQUEST_EXAMPLES.filtered, auth, "?page=1&limit=2"),
        200,
        "filtered example, every documented parameter",
      );
      assert.equal(previewed.conversations.length, 2);
      checkAnswer(preview, await postPreview({ format: "xml" }), 400, "unknown format");
      checkAnswer(
        preview,
        await postPreview({ format: "json" }, auth, "?foo=1"),
        400,
        "undocumented parameter",
      );
      checkAnswer(preview, await postPreview({ format: "json" }, {}), 401, "no token");
      checkAnswer(preview, await postPreview({ format: "json" }, anon), 403, "anon role");
      checkAnswer(
        preview,
        await postPreview({ format: "json", padding: "x".repeat(2 * 1024 * 1024) }),
        413,
        "2 MiB body",
      );

      // --- GET /exports/usage ------------------------------------------------------------------
      const usage = operationFor("/exports/usage", "get");
      const used = checkAnswer(
        usage,
        await call(exportsUrl("/usage"), { headers: auth }),
        200,
        "the caller's usage",
      );
      assert.ok(used.active.used >= 1, "the exports queued above are active");
      checkAnswer(
        usage,
        await call(exportsUrl("/usage?x=1"), { headers: auth }),
        400,
        "undocumented parameter",
      );
      checkAnswer(usage, await call(exportsUrl("/usage"), {}), 401, "no token");
      checkAnswer(usage, await call(exportsUrl("/usage"), { headers: anon }), 403, "anon role");

      // --- GET /exports/{export_id} ------------------------------------------------------------
      const get = operationFor("/exports/{export_id}", "get");
      const one = await call(exportsUrl(`/${queued.export_id}`), {
        headers: { ...auth, Prefer: "wait=1" },
      });
      checkAnswer(get, one, 200, "Prefer: wait=1");
      assert.equal(one.headers.get("preference-applied"), "wait=1");
      checkAnswer(
        get,
        await call(exportsUrl(`/${missing}`), { headers: auth }),
        404,
        "no such export",
      );
      checkAnswer(
        get,
        await call(exportsUrl("/not-a-uuid"), { headers: auth }),
        400,
        "malformed id",
      );
      const oneTag = (await call(exportsUrl(`/${queued.export_id}`), { headers: auth })).headers
        .get("etag") ?? "";
      checkAnswer(
        get,
        await call(exportsUrl(`/${queued.export_id}`), {
          headers: { ...auth, "If-None-Match": oneTag },
        }),
        304,
        "If-None-Match, nothing changed",
      );
      checkAnswer(get, await call(exportsUrl(`/${queued.export_id}`)), 401, "no token");
      checkAnswer(
        get,
        await call(exportsUrl(`/${queued.export_id}`), { headers: anon }),
        403,
        "anon role",
      );

      // --- POST /exports/{export_id}/retry ------------------------------------------------------
      const retry = operationFor("/exports/{export_id}/retry", "post");
      const retryCall = (id: string, headers: Record<string, string> = auth) =>
        call(exportsUrl(`/${id}/retry`), { method: "POST", headers });
      const fail = async (exportId: string) => {
        await sql`update public.export_logs set status = 'processing' where export_id = ${exportId}`;
        await sql`update public.export_logs set status = 'failed', error_message = 'Generation failed' where export_id = ${exportId}`;
      };
      await restoreLimits.pop()!();
      await fail(first.export_id);
      checkAnswer(retry, await retryCall(queued.export_id), 409, "not failed");
      restoreLimits.push(await withSettings({ max_active_exports: 2 }));
      checkAnswer(retry, await retryCall(first.export_id), 429, "active limit reached");
      await restoreLimits.pop()!();
      const retried = checkAnswer(retry, await retryCall(first.export_id), 202, "failed export");
      assert.equal(retried.status, "queued");
      checkAnswer(retry, await retryCall(missing), 404, "no such export");
      checkAnswer(retry, await retryCall("not-a-uuid"), 400, "malformed id");
      checkAnswer(retry, await retryCall(first.export_id, {}), 401, "no token");
      checkAnswer(retry, await retryCall(first.export_id, anon), 403, "anon role");

      // --- GET /exports/{export_id}/download while not ready or failed ---------------------------
      const download = operationFor("/exports/{export_id}/download", "get");
      const fetchFile = (id: string, headers: Record<string, string> = auth) =>
        call(exportsUrl(`/${id}/download`), { headers });
      checkAnswer(download, await fetchFile(queued.export_id), 409, "queued");
      await fail(first.export_id);
      checkAnswer(download, await fetchFile(first.export_id), 409, "failed");
      checkAnswer(download, await fetchFile(missing), 404, "no such export");
      checkAnswer(download, await fetchFile("not-a-uuid"), 400, "malformed id");
      checkAnswer(download, await fetchFile(queued.export_id, {}), 401, "no token");
      checkAnswer(download, await fetchFile(queued.export_id, anon), 403, "anon role");

      // --- DELETE /exports/{export_id} -----------------------------------------------------------
      const remove = operationFor("/exports/{export_id}", "delete");
      const deleteCall = (id: string, headers: Record<string, string> = auth) =>
        call(exportsUrl(`/${id}`), { method: "DELETE", headers });
      checkAnswer(remove, await deleteCall(first.export_id, {}), 401, "no token");
      checkAnswer(remove, await deleteCall(first.export_id, anon), 403, "anon role");
      checkAnswer(remove, await deleteCall("not-a-uuid"), 400, "malformed id");
      checkAnswer(remove, await deleteCall(first.export_id), 204, "the caller's export");
      checkAnswer(remove, await deleteCall(first.export_id), 404, "already deleted");

      // --- export-worker -------------------------------------------------------------------------
      const worker = operationFor("/export-worker", "post");
      const serviceToken = await userToken(crypto.randomUUID(), {
        claims: { role: "service_role" },
      });
      const runWorker = (headers: Record<string, string>) =>
        call(url("/export-worker"), { method: "POST", headers });
      const ran = checkAnswer(
        worker,
        await runWorker({ Authorization: `Bearer ${serviceToken}` }),
        200,
        "service role",
      );
      assert.equal(ran.completed, 0, "processing is paused");
      checkAnswer(worker, await runWorker({}), 401, "no token");
      const workerWithQuery = await call(url("/export-worker?x=1"), {
        method: "POST",
        headers: { Authorization: `Bearer ${serviceToken}` },
      });
      checkAnswer(worker, workerWithQuery, 400, "undocumented parameter");
      checkAnswer(worker, await runWorker(auth), 403, "a user's token");
    } finally {
      for (const restore of restoreLimits.reverse()) await restore();
      await restorePaused();
    }

    // --- downloads of completed exports (processing running again) -------------------------------
    const download = operationFor("/exports/{export_id}/download", "get");
    const serviceToken = await userToken(crypto.randomUUID(), { claims: { role: "service_role" } });
    const worked = await call(url("/export-worker"), {
      method: "POST",
      headers: { Authorization: `Bearer ${serviceToken}` },
    });
    checkAnswer(
      operationFor("/export-worker", "post"),
      worked,
      200,
      "service role, two exports queued",
    );
    const owned = await call(exportsUrl("?status=queued"), { headers: auth });
    for (const log of JSON.parse(owned.text).logs) await waitForExport(token, log.export_id);
    const done = await call(exportsUrl("?status=completed&format=jsonl"), { headers: auth });
    const [completedA, completedB] = JSON.parse(done.text).logs;
    assert.ok(completedA && completedB, `two completed jsonl exports expected: ${done.text}`);
    const whole = await call(exportsUrl(`/${completedA.export_id}/download`), { headers: auth });
    checkAnswer(download, whole, 200, "with the JWT");
    assert.equal(Number(whole.headers.get("content-length")), completedA.file_size);
    const full = await call(exportsUrl(`/${completedA.export_id}`), { headers: auth });
    checkAnswer(operationFor("/exports/{export_id}", "get"), full, 200, "completed");
    const fileUrl = JSON.parse(full.text).file_url;
    checkAnswer(download, await call(fileUrl), 200, "with the signed file_url, no JWT");
    const part = await call(fileUrl, { headers: { Range: "bytes=0-9" } });
    checkAnswer(download, part, 206, "Range bytes=0-9");
    assert.equal(part.headers.get("content-range"), `bytes 0-9/${completedA.file_size}`);
    const stale = await call(fileUrl, { headers: { Range: "bytes=0-9", "If-Range": '"stale"' } });
    checkAnswer(download, stale, 200, "If-Range with a stale ETag");
    checkAnswer(
      download,
      await call(fileUrl, { headers: { Range: "bytes=99999999-" } }),
      416,
      "range outside",
    );
    const tampered = new URL(fileUrl);
    tampered.searchParams.set("token", `${tampered.searchParams.get("token")}x`);
    checkAnswer(download, await call(tampered.toString()), 401, "tampered token");
    const restoreDownloads = await withSettings({ max_concurrent_downloads: 1 });
    try {
      await sql`insert into exports_internal.active_downloads (user_id, export_log_id, lease_expires_at)
              values (${owner}, ${completedA.id}, now() + interval '1 minute')`;
      checkAnswer(download, await call(fileUrl), 429, "concurrent-download limit");
    } finally {
      await sql`delete from exports_internal.active_downloads where user_id = ${owner}`;
      await restoreDownloads();
    }
    await sql`update public.export_logs set expires_at = now() - interval '1 second'
             where export_id = ${completedA.export_id}`;
    checkAnswer(download, await call(fileUrl), 410, "past expires_at, signed link");
    checkAnswer(
      download,
      await call(exportsUrl(`/${completedA.export_id}/download`), { headers: auth }),
      410,
      "past expires_at, JWT",
    );
    const linkB =
      JSON.parse((await call(exportsUrl(`/${completedB.export_id}`), { headers: auth })).text)
        .file_url;
    await call(exportsUrl(`/${completedB.export_id}`), { method: "DELETE", headers: auth });
    checkAnswer(download, await call(linkB), 404, "signed link of a deleted export");

    // --- CORS preflight on every path; 405 for every undocumented method; unknown paths ----------
    for (const [path, item] of Object.entries<Json>(committed.paths)) {
      const concrete = url(path.replace("{export_id}", completedA.export_id));
      if (item.options) {
        const preflight = await call(concrete, {
          method: "OPTIONS",
          headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "GET" },
        });
        checkAnswer({ path, method: "options", spec: item.options }, preflight, 204, "preflight");
      }
      const allowed = [...METHODS, "options"].filter((method) => item[method]).map((m) =>
        m.toUpperCase()
      );
      for (const method of METHODS.filter((m) => !item[m])) {
        const answer = await call(concrete, { method: method.toUpperCase(), headers: auth });
        assert.equal(answer.status, 405, `${method} ${path}: ${answer.text}`);
        checkResponseObject(
          committed.components.responses.MethodNotAllowed,
          answer,
          `${method} ${path}`,
          path !== "/export-worker",
        );
        assert.deepEqual(
          answer.headers.get("allow")?.split(", ").sort(),
          allowed.sort(),
          `Allow of ${path}`,
        );
        observed.add("405");
      }
    }
    const nowhere = await call(exportsUrl(`/${completedA.export_id}/preview`), { headers: auth });
    assert.equal(nowhere.status, 404);
    checkResponseObject(committed.components.responses.NoSuchPath, nowhere, "unknown path", true);

    // --- every documented status was produced ---------------------------------------------------
    const notProduced: string[] = [];
    for (const op of operations()) {
      for (const status of Object.keys(op.spec.responses)) {
        const answer = `${op.spec.operationId} ${status}`;
        if (
          !NOT_PRODUCIBLE.has(status) && !OBJECT_STORE_ONLY.has(answer) && !observed.has(answer)
        ) {
          notProduced.push(answer);
        }
      }
    }
    assert.deepEqual(notProduced, [], "documented statuses that no request produced");
    assert.ok(observed.has("405"));
  },
);
