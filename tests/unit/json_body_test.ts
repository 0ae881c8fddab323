/**
 * The jsonBody middleware (hono/body-limit, then strict parsing): a body over the limit is a 413
 * whether its size is declared or it arrives in chunks, and what is within it parses or is a 400.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ApiError } from "../../shared/core/errors.ts";
import { jsonBody, type RouteEnv } from "../../shared/http/middleware.ts";

const LIMIT = 64;

function app() {
  const app = new Hono<RouteEnv>();
  app.post("/", jsonBody(LIMIT), (c) => c.json({ body: c.get("body") }));
  app.onError((error, c) => {
    const status = error instanceof ApiError ? error.status : 500;
    return c.json({ code: error instanceof ApiError ? error.code : String(error) }, status as 400);
  });
  return app;
}

/** A request whose body arrives in chunks, without a Content-Length. */
function chunked(parts: string[]): Request {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
  return new Request("http://local/", { method: "POST", body, duplex: "half" } as RequestInit);
}

Deno.test("a declared Content-Length over the limit is a 413", async () => {
  const response = await app().request("/", { method: "POST", body: `"${"x".repeat(LIMIT)}"` });
  assert.equal(response.status, 413);
  assert.deepEqual(await response.json(), { code: "payload_too_large" });
});

Deno.test("a chunked body that grows past the limit is a 413", async () => {
  const response = await app().fetch(chunked(['{"a":"', "x".repeat(40), "y".repeat(40), '"}']));
  assert.equal(response.status, 413);
});

Deno.test("a chunked body within the limit parses", async () => {
  const response = await app().fetch(chunked(['{"a":', '"b"}']));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { body: { a: "b" } });
});

Deno.test("an empty, non-UTF-8 or malformed body is a 400", async () => {
  for (const body of ["", "   ", new Uint8Array([0x7b, 0xff, 0x7d]), "{oops"]) {
    const response = await app().request("/", { method: "POST", body });
    assert.equal(response.status, 400, `for ${String(body)}`);
  }
  assert.equal((await app().request("/", { method: "POST" })).status, 400, "no body at all");
});
