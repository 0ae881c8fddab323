/**
 * The `exports` HTTP API end to end: real HTTP through the local functions server, real JWT
 * verification and the real database. supabase-js drives the round trip.
 */
import assert from "node:assert/strict";
import { api, exportsUrl, supabaseAs } from "./support/api.ts";
import { countExportRows, createConversation, createUser, pausedTest as dbTest, testSql, withSettings } from "./support/database.ts";
import { es256Token, unsignedToken, userToken } from "./support/tokens.ts";

const sql = testSql();
const EXPORT_LOG_FIELDS = [
  "id", "export_id", "user_id", "timestamp", "format", "config", "conversation_count", "file_size",
  "status", "file_url", "expires_at", "error_message", "created_at", "updated_at",
];

async function userWithConversations(count = 1): Promise<{ userId: string; token: string; ids: string[] }> {
  const userId = await createUser();
  const ids = [];
  for (let i = 0; i < count; i++) ids.push(await createConversation(userId));
  return { userId, token: await userToken(userId), ids };
}

async function createExport(token: string, body: unknown = { format: "jsonl" }) {
  const response = await api("", { token, body });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body;
}

// deno-lint-ignore no-explicit-any -- JSON bodies of many shapes; tests assert on them
function assertError(response: { status: number; body: any }, status: number, code: string) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body?.error?.code, code, JSON.stringify(response.body));
  assert.equal(typeof response.body.error.message, "string");
}

// --- 1. the round trip through supabase-js ------------------------------------------------------

dbTest("supabase-js functions.invoke creates, gets and lists an export", async () => {
  const { userId } = await userWithConversations(2);
  const supabase = await supabaseAs(userId);
  const created = await supabase.functions.invoke("exports", {
    body: { format: "jsonl", config: { scope: "all" } },
  });
  assert.equal(created.error, null);
  assert.equal(created.response?.status, 202);
  for (const field of EXPORT_LOG_FIELDS) assert.ok(field in created.data, `missing ${field}`);
  assert.equal(created.data.status, "queued");
  assert.equal(created.data.conversation_count, 2);
  assert.equal(
    created.response?.headers.get("location"),
    exportsUrl(`/${created.data.export_id}`),
  );

  const fetched = await supabase.functions.invoke(`exports/${created.data.export_id}`, { method: "GET" });
  assert.equal(fetched.error, null);
  assert.equal(fetched.data.export_id, created.data.export_id);
  assert.equal(fetched.data.id, created.data.id);

  const listed = await supabase.functions.invoke("exports", { method: "GET" });
  assert.equal(listed.error, null);
  assert.equal(listed.data.total, 1);
  assert.equal(listed.data.page, 1);
  assert.equal(listed.data.limit, 25);
  assert.equal(listed.data.logs[0].export_id, created.data.export_id);
});

dbTest("GET /exports replaces conversationIds by conversationIdsCount; GET one returns them whole", async () => {
  const { token, ids } = await userWithConversations(3);
  const created = await createExport(token, {
    format: "json",
    config: { scope: "selected", conversationIds: ids },
  });
  const list = await api("", { token });
  assert.equal(list.body.logs[0].config.conversationIdsCount, 3);
  assert.equal("conversationIds" in list.body.logs[0].config, false);
  const one = await api(`/${created.export_id}`, { token });
  assert.deepEqual(one.body.config.conversationIds, ids);
});

// --- 2. the auth matrix -------------------------------------------------------------------------

dbTest("auth: each bad token is refused with the contract's status; good ones are accepted", async () => {
  const { userId } = await userWithConversations();
  const cases: [string, Record<string, string>, number][] = [
    ["no header", {}, 401],
    ["malformed", { Authorization: "Bearer not-a-jwt" }, 401],
    ["not bearer", { Authorization: `Basic ${btoa("a:b")}` }, 401],
    ["expired", { Authorization: `Bearer ${await userToken(userId, { expiresIn: -120 })}` }, 401],
    ["nbf in the future", { Authorization: `Bearer ${await userToken(userId, { notBefore: 600 })}` }, 401],
    ["wrong audience", { Authorization: `Bearer ${await userToken(userId, { claims: { aud: "somebody-else" } })}` }, 401],
    ["alg none", { Authorization: `Bearer ${unsignedToken(userId)}` }, 401],
    ["HS256 with another secret", { Authorization: `Bearer ${await userToken(userId, { secret: "another-secret-another-secret-123" })}` }, 401],
    ["ES256 from a key not in the JWKS", { Authorization: `Bearer ${await es256Token(userId, { foreignKey: true })}` }, 401],
    ["anon role", { Authorization: `Bearer ${await userToken(userId, { claims: { role: "anon", aud: "authenticated" } })}` }, 403],
    ["service_role claim signed with a wrong key", { Authorization: `Bearer ${await userToken(userId, { secret: "wrong-wrong-wrong-wrong-wrong-123", claims: { role: "service_role" } })}` }, 401],
    ["sub that is no user", { Authorization: `Bearer ${await userToken(crypto.randomUUID())}` }, 401],
    ["sub that is not a uuid", { Authorization: `Bearer ${await userToken("not-a-uuid")}` }, 401],
  ];
  for (const [name, headers, status] of cases) {
    const response = await api("", { headers });
    assert.equal(response.status, status, `${name}: ${JSON.stringify(response.body)}`);
    assert.equal(response.body.error.code, status === 401 ? "unauthorized" : "forbidden", name);
  }
  // A token only in the query string is never read.
  const token = await userToken(userId);
  const viaQuery = await fetch(exportsUrl(`?access_token=${token}&token=${token}`));
  assert.equal(viaQuery.status, 401);
  await viaQuery.body?.cancel();

  const hs256 = await api("", { token });
  assert.equal(hs256.status, 200);
  const es256 = await api("", { token: await es256Token(userId) });
  assert.equal(es256.status, 200, JSON.stringify(es256.body));
});

// --- 3. isolation over HTTP -----------------------------------------------------------------------

dbTest("isolation: user B gets 404 for A's export on get, delete and retry, and never lists it", async () => {
  const a = await userWithConversations();
  const b = await userWithConversations();
  const created = await createExport(a.token);
  await createExport(b.token);
  assertError(await api(`/${created.export_id}`, { token: b.token }), 404, "not_found");
  assertError(await api(`/${created.export_id}`, { token: b.token, method: "DELETE" }), 404, "not_found");
  assertError(await api(`/${created.export_id}/retry`, { token: b.token, method: "POST" }), 404, "not_found");
  const list = await api("", { token: b.token });
  assert.equal(list.body.total, 1);
  assert.ok(list.body.logs.every((log: { user_id: string }) => log.user_id === b.userId));
  // A's export is untouched.
  assert.equal((await api(`/${created.export_id}`, { token: a.token })).body.status, "queued");
});

// --- 4. bad input -------------------------------------------------------------------------------

dbTest("bad bodies and queries get 400 with details naming the field, and write nothing", async () => {
  const { userId, token } = await userWithConversations();
  const bodies: [unknown, string][] = [
    [{ format: "xml" }, "format"],
    [{ format: "json", extra: 1 }, "extra"],
    [{ format: "json", user_id: userId }, "user_id"],
    [{ format: "json", config: { scope: "filtered", filters: { search: "" } } }, "config.filters.search"],
    [{ format: "json", config: { scope: "filtered", filters: { statuses: [] } } }, "config.filters.statuses"],
    [{ format: "json", config: { scope: "filtered", filters: { tiers: null } } }, "config.filters.tiers"],
    [{ format: "json", config: { scope: "filtered", filters: { foo: 1 } } }, "config.filters.foo"],
    [{ format: "json", config: { scope: "selected", conversationIds: ["nope"] } }, "config.conversationIds.0"],
    [{ format: "csv", config: { template: "openai" } }, "config.template"],
  ];
  for (const [body, path] of bodies) {
    const response = await api("", { token, body });
    assertError(response, 400, "invalid_request");
    assert.ok(
      response.body.error.details.some((d: { path: string }) => d.path === path),
      `${path} in ${JSON.stringify(response.body.error.details)}`,
    );
  }
  assertError(await api("", { token, rawBody: "{not json", headers: { "Content-Type": "application/json" } }), 400, "invalid_request");

  const queries: [string, string][] = [
    ["?status=unknown", "status"],
    ["?limit=0", "limit"],
    ["?limit=1000", "limit"],
    ["?page=-1", "page"],
    ["?from=yesterday", "from"],
    ["?foo=1", "foo"],
    ["?limit=5&limit=6", "limit"],
  ];
  for (const [query, path] of queries) {
    const response = await api(query, { token });
    assertError(response, 400, "invalid_request");
    assert.ok(response.body.error.details.some((d: { path: string }) => d.path === path), query);
  }
  assert.equal(await countExportRows(userId), 0);
});

dbTest("a 2 MiB body is 413 and writes nothing; 10,000 ids are accepted", async () => {
  const { userId, token, ids } = await userWithConversations();
  const huge = { format: "json", config: { scope: "selected", conversationIds: [ids[0]] }, pad: "x".repeat(2 * 1024 * 1024) };
  assertError(await api("", { token, body: huge }), 413, "payload_too_large");
  assert.equal(await countExportRows(userId), 0);
  const many = Array.from({ length: 9_999 }, () => crypto.randomUUID());
  const accepted = await api("", {
    token,
    body: { format: "json", config: { scope: "selected", conversationIds: [...many, ids[0]] } },
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body).slice(0, 300));
  assert.equal(accepted.body.conversation_count, 1);
});

dbTest("a non-UUID export id is 400 and a wrong method 405, writing nothing", async () => {
  const { userId, token } = await userWithConversations();
  const badId = await api("/not-a-uuid", { token });
  assertError(badId, 400, "invalid_request");
  assert.equal(badId.body.error.details[0].path, "export_id");
  const wrong = await api("", { token, method: "PUT", body: { format: "json" } });
  assertError(wrong, 405, "method_not_allowed");
  assert.match(wrong.headers.get("allow") ?? "", /GET, POST/);
  assertError(await api(`/${crypto.randomUUID()}`, { token, method: "POST", body: { format: "json" } }), 405, "method_not_allowed");
  assertError(await api(`/${crypto.randomUUID()}/nothing`, { token }), 404, "not_found");
  assert.equal(await countExportRows(userId), 0);
});

// --- 5. idempotency -----------------------------------------------------------------------------

dbTest("Idempotency-Key: a repeat returns the original (200), another body with the key is 422", async () => {
  const { token } = await userWithConversations();
  const headers = { "Idempotency-Key": "order-42" };
  const first = await api("", { token, body: { format: "jsonl" }, headers });
  assert.equal(first.status, 202);
  const repeat = await api("", { token, body: { format: "jsonl", config: { scope: "all" } }, headers });
  assert.equal(repeat.status, 200);
  assert.equal(repeat.body.export_id, first.body.export_id);
  assert.equal(repeat.headers.get("location"), exportsUrl(`/${first.body.export_id}`));
  assertError(await api("", { token, body: { format: "csv" }, headers }), 422, "idempotency_key_reused");
  assertError(await api("", { token, body: { format: "csv" }, headers: { "Idempotency-Key": "" } }), 400, "invalid_request");
  assertError(await api("", { token, body: { format: "csv" }, headers: { "Idempotency-Key": "x".repeat(256) } }), 400, "invalid_request");
});

dbTest("Idempotency-Key: ten concurrent requests with one key create exactly one export", async () => {
  const { userId, token } = await userWithConversations();
  const responses = await Promise.all(Array.from({ length: 10 }, () =>
    api("", { token, body: { format: "json" }, headers: { "Idempotency-Key": "concurrent-1" } })
  ));
  const statuses = responses.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
  assert.equal(new Set(responses.map((r) => r.body.export_id)).size, 1);
  assert.equal(await countExportRows(userId), 1);
});

dbTest("Idempotency-Key: a repeat after the export was deleted creates a new one", async () => {
  const { token } = await userWithConversations();
  const headers = { "Idempotency-Key": "again" };
  const first = await api("", { token, body: { format: "json" }, headers });
  assert.equal((await api(`/${first.body.export_id}`, { token, method: "DELETE" })).status, 204);
  const second = await api("", { token, body: { format: "json" }, headers });
  assert.equal(second.status, 202);
  assert.notEqual(second.body.export_id, first.body.export_id);
});

// --- 6. limits ----------------------------------------------------------------------------------

dbTest("the sixth active export is 429 too_many_exports with Retry-After", async () => {
  const { userId, token } = await userWithConversations();
  for (let i = 0; i < 5; i++) await createExport(token);
  const sixth = await api("", { token, body: { format: "jsonl" } });
  assertError(sixth, 429, "too_many_exports");
  assert.ok(Number(sixth.headers.get("retry-after")) > 0);
  assert.equal(await countExportRows(userId), 5);
});

dbTest("no matching conversation is 422 no_conversations and writes nothing", async () => {
  const userId = await createUser();
  await createConversation(userId, { status: "draft" });
  const token = await userToken(userId);
  assertError(await api("", { token, body: { format: "json" } }), 422, "no_conversations");
  assert.equal(await countExportRows(userId), 0);
});

// --- retry and delete ---------------------------------------------------------------------------

dbTest("retry queues a failed export again (202) and refuses any other status (409)", async () => {
  const { token } = await userWithConversations();
  const created = await createExport(token);
  assertError(await api(`/${created.export_id}/retry`, { token, method: "POST" }), 409, "conflict");
  await sql`update public.export_logs set status = 'processing' where export_id = ${created.export_id}`;
  await sql`update public.export_logs set status = 'failed', error_message = 'boom' where export_id = ${created.export_id}`;
  const retried = await api(`/${created.export_id}/retry`, { token, method: "POST" });
  assert.equal(retried.status, 202);
  assert.equal(retried.body.export_id, created.export_id);
  assert.equal(retried.body.status, "queued");
  assert.equal(retried.body.error_message, null);
});

dbTest("DELETE removes the export: 204, then 404", async () => {
  const { token } = await userWithConversations();
  const created = await createExport(token);
  const deleted = await fetch(exportsUrl(`/${created.export_id}`), {
    method: "DELETE",
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), "");
  assertError(await api(`/${created.export_id}`, { token }), 404, "not_found");
});

// --- 7. CORS ------------------------------------------------------------------------------------

dbTest("CORS preflight answers 204 without auth; errors carry the CORS headers too", async () => {
  const preflight = await fetch(exportsUrl(""), {
    method: "OPTIONS",
    headers: {
      Origin: "https://app.example.com",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    },
  });
  await preflight.body?.cancel();
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  const methods = preflight.headers.get("access-control-allow-methods") ?? "";
  for (const method of ["GET", "POST", "DELETE", "OPTIONS"]) assert.ok(methods.includes(method), methods);
  const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
  for (const header of ["authorization", "x-client-info", "apikey", "content-type", "idempotency-key", "prefer", "range", "if-range"]) {
    assert.ok(allowed.includes(header), `${header} in ${allowed}`);
  }
  const unauthorized = await fetch(exportsUrl(""), { headers: { Origin: "https://app.example.com" } });
  await unauthorized.body?.cancel();
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.get("access-control-allow-origin"), "*");
  const exposed = (unauthorized.headers.get("access-control-expose-headers") ?? "").toLowerCase();
  for (const header of ["content-disposition", "content-range", "location", "etag", "retry-after", "preference-applied"]) {
    assert.ok(exposed.includes(header), `${header} in ${exposed}`);
  }
});

// --- 8. error precedence -------------------------------------------------------------------------

dbTest("error precedence follows the contract, one adjacent pair at a time", async () => {
  const a = await userWithConversations();
  const b = await userWithConversations();
  const foreign = await createExport(a.token);
  const big = { format: "json", pad: "x".repeat(2 * 1024 * 1024) };
  // unknown path (404) before wrong method (405)
  assertError(await api(`/${crypto.randomUUID()}/nothing`, { method: "PUT" }), 404, "not_found");
  // wrong method (405) before authentication (401)
  assertError(await api("", { method: "PUT" }), 405, "method_not_allowed");
  // authentication (401) before a malformed id (400)
  assertError(await api("/not-a-uuid"), 401, "unauthorized");
  // a malformed id (400) before a body too large (413)
  assertError(await api("/not-a-uuid/retry", { token: b.token, body: big }), 400, "invalid_request");
  // a body too large (413) before an invalid body (400)
  assertError(await api("", { token: b.token, body: { ...big, format: "xml" } }), 413, "payload_too_large");
  // an invalid query (400) before not the caller's (404)
  assertError(await api(`/${foreign.export_id}?foo=1`, { token: b.token }), 400, "invalid_request");
  // not the caller's (404) before state (409)
  assertError(await api(`/${foreign.export_id}/retry`, { token: b.token, method: "POST" }), 404, "not_found");
  // idempotent replay (200) before limits (429)
  await createExport(b.token);
  const restore = await withSettings({ max_active_exports: 1 });
  try {
    const first = await api("", { token: b.token, body: { format: "csv" }, headers: { "Idempotency-Key": "k1" } });
    assert.equal(first.status, 429); // b already has one active export
    await sql`delete from public.export_logs where user_id = ${b.userId}`;
    const created = await api("", { token: b.token, body: { format: "csv" }, headers: { "Idempotency-Key": "k1" } });
    assert.equal(created.status, 202);
    const replay = await api("", { token: b.token, body: { format: "csv" }, headers: { "Idempotency-Key": "k1" } });
    assert.equal(replay.status, 200);
    // limits (429) before no_conversations (422)
    const empty = await api("", {
      token: b.token,
      body: { format: "csv", config: { scope: "selected", conversationIds: [crypto.randomUUID()] } },
    });
    assertError(empty, 429, "too_many_exports");
  } finally {
    await restore();
  }
});

dbTest("responses never leak internals: a 500 says only 'internal' with a request id", async () => {
  const { token } = await userWithConversations();
  const response = await api(`/${crypto.randomUUID()}`, { token });
  assert.ok(response.headers.get("x-request-id"));
  assert.doesNotMatch(JSON.stringify(response.body), /postgres|select |stack|\.ts:/i);
});
