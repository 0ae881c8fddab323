/**
 * POST /exports/preview over HTTP: it counts what POST /exports would resolve, returns one page
 * of those conversations in file order, and a sample that is the opening of the very file the
 * export then produces (compared byte for byte after download). It stores nothing, counts no
 * limit, sees only the caller's conversations, and answers bad input as POST /exports does.
 */
import assert from "node:assert/strict";
import { api } from "./support/api.ts";
import {
  countExportRows,
  createConversation,
  createUser,
  dbTest,
  seedConversations,
  testSql,
} from "./support/database.ts";
import { download, exportAndWait } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";

/** Where the records start: after the json header's array opening, after markdown's 5 lines. */
function recordsOf(format: string, text: string): string {
  if (format === "json") return text.slice(text.indexOf('"conversations":[') + 17);
  if (format === "markdown") return text.split("\n").slice(5).join("\n");
  return text;
}

const LAYOUTS = [
  { format: "json" },
  { format: "jsonl", config: { template: "openai" } },
  { format: "jsonl", config: { template: "sharegpt", systemPrompt: "Be brief." } },
  { format: "jsonl", config: { template: "alpaca" } },
  { format: "csv" },
  { format: "markdown", config: { includeApprovalHistory: true } },
];

dbTest(
  "preview: the sample is the opening of the file the export then produces, in every layout",
  async () => {
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 7, { turns: 4, contentLength: 300 });
    // One conversation that alpaca skips (it ends with a user turn), among the first three.
    await createConversation(userId, {
      title: "Unanswered",
      created_at: "2000-01-01T00:00:00Z",
      turns: [{ role: "user", content: "Anyone there?" }],
    });
    for (const layout of LAYOUTS) {
      const request = { format: layout.format, config: { scope: "all", ...layout.config } };
      const preview = await api("/preview", { token, body: request });
      assert.equal(preview.status, 200, JSON.stringify(preview.body));
      assert.equal(preview.body.conversation_count, 8);
      const alpaca = layout.config?.template === "alpaca";
      assert.equal(preview.body.sample.records, alpaca ? 2 : 3, JSON.stringify(layout));
      assert.equal(preview.body.sample.skipped, alpaca ? 1 : 0);

      const log = await exportAndWait(token, request);
      assert.equal(log.conversation_count, 8);
      // The file's bytes as they are, byte-order mark included (csv has one).
      const file = new TextDecoder("utf-8", { ignoreBOM: true }).decode(
        (await download(log)).bytes,
      );
      const sample = recordsOf(layout.format, preview.body.sample.text);
      assert.ok(sample.length > 0);
      assert.equal(
        recordsOf(layout.format, file).slice(0, sample.length),
        sample,
        `${JSON.stringify(layout)}: the sample's records begin the file`,
      );
      if (layout.format === "jsonl" || layout.format === "csv") {
        assert.ok(
          file.startsWith(preview.body.sample.text),
          "no header differs: the very first bytes",
        );
      }
      await api(`/${log.export_id}`, { token, method: "DELETE" });
    }
  },
);

dbTest(
  "preview: the count and a page of members in file order, for filters and selections",
  async () => {
    const userId = await createUser();
    const token = await userToken(userId);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(
        await createConversation(userId, {
          title: i % 3 === 0 ? `Refund ${i}` : `Other ${i}`,
          tier: i % 2 === 0 ? "scenario" : "template",
          status: i < 10 ? "approved" : "draft",
          quality_score: Math.min(i, 10),
          category: [i % 2 === 0 ? "billing" : "shipping"],
          created_at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
        }),
      );
    }
    const cases: [unknown, string[]][] = [
      [{ scope: "all" }, ids.slice(0, 10)],
      [{ scope: "filtered", filters: { statuses: ["draft"] } }, ids.slice(10)],
      [{ scope: "filtered", filters: { tiers: ["scenario"], qualityMin: 4 } }, [
        ids[4],
        ids[6],
        ids[8],
      ]],
      [{ scope: "filtered", filters: { search: "refund" } }, [ids[0], ids[3], ids[6], ids[9]]],
      [{ scope: "filtered", filters: { categories: ["shipping"], qualityMax: 5 } }, [
        ids[1],
        ids[3],
        ids[5],
      ]],
      [{ scope: "selected", conversationIds: [ids[11], ids[2], ids[0]] }, [
        ids[0],
        ids[2],
        ids[11],
      ]],
    ];
    for (const [config, expected] of cases) {
      const first = await api("/preview?limit=2", { token, body: { format: "json", config } });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.conversation_count, expected.length, JSON.stringify(config));
      assert.deepEqual(
        first.body.conversations.map((c: { id: string }) => c.id),
        expected.slice(0, 2),
      );
      const second = await api("/preview?page=2&limit=2", {
        token,
        body: { format: "json", config },
      });
      assert.deepEqual(
        second.body.conversations.map((c: { id: string }) => c.id),
        expected.slice(2, 4),
      );
      assert.equal(second.body.page, 2);
      assert.equal(second.body.limit, 2);

      // What POST /exports resolves is the same count.
      const created = await api("", { token, body: { format: "json", config } });
      assert.equal(created.body.conversation_count, expected.length);
      await api(`/${created.body.export_id}`, { token, method: "DELETE" });
    }
    const [row] =
      (await api("/preview?limit=1", { token, body: { format: "csv" } })).body.conversations;
    assert.deepEqual(Object.keys(row), [
      "id",
      "title",
      "tier",
      "status",
      "quality_score",
      "turn_count",
      "category",
      "created_at",
      "updated_at",
    ]);
    assert.equal(row.quality_score, 0);
    assert.deepEqual(row.category, ["billing"]);
    assert.match(row.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  },
);

dbTest(
  "preview: nothing is stored and no limit is counted; another user's conversations are not seen",
  async () => {
    const sql = testSql();
    const owner = await createUser();
    const other = await createUser();
    const ownerToken = await userToken(owner);
    const otherToken = await userToken(other);
    await seedConversations(owner, 5, { turns: 2 });
    const ownerIds = (await sql<{ id: string }[]>`
    select id from public.conversations where user_id = ${owner}`).map((r) => r.id);
    const [before] = await sql`
    select (select count(*) from public.export_logs)::int as logs,
           (select count(*) from exports_internal.export_members)::int as members,
           (select count(*) from exports_internal.export_requests)::int as requests`;
    const usageBefore = (await api("/usage", { token: ownerToken })).body;
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await api("/preview", { token: ownerToken, body: { format: "jsonl" } })).status,
        200,
      );
    }
    const [after] = await sql`
    select (select count(*) from public.export_logs)::int as logs,
           (select count(*) from exports_internal.export_members)::int as members,
           (select count(*) from exports_internal.export_requests)::int as requests`;
    assert.deepEqual(after, before);
    assert.deepEqual((await api("/usage", { token: ownerToken })).body, usageBefore);
    assert.equal(await countExportRows(owner), 0);

    const stolen = await api("/preview", {
      token: otherToken,
      body: { format: "jsonl", config: { scope: "selected", conversationIds: ownerIds } },
    });
    assert.equal(stolen.status, 200);
    assert.equal(stolen.body.conversation_count, 0, "zero is an answer here, not a 422");
    assert.deepEqual(stolen.body.conversations, []);
    assert.deepEqual(stolen.body.sample, { text: "", records: 0, skipped: 0 });
  },
);

dbTest(
  "preview: bad input is answered as POST /exports answers it; preview and usage win over {export_id}",
  async () => {
    const userId = await createUser();
    const token = await userToken(userId);
    const noFormat = await api("/preview", { token, body: { config: {} } });
    assert.equal(noFormat.status, 400);
    assert.equal(noFormat.body.error.details[0].path, "format");
    const unknownField = await api("/preview", {
      token,
      body: { format: "json", user_id: userId },
    });
    assert.equal(unknownField.status, 400);
    for (
      const query of ["foo=1", "limit=0", "limit=101", "page=0", "format=json", "page=1&page=2"]
    ) {
      const response = await api(`/preview?${query}`, { token, body: { format: "json" } });
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.code, "invalid_request");
    }
    const tooLarge = await api("/preview", {
      token,
      rawBody: JSON.stringify({ format: "json", pad: "x".repeat(1024 * 1024) }),
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(tooLarge.status, 413);
    assert.equal((await api("/preview", { body: { format: "json" } })).status, 401);

    const getPreview = await api("/preview", { token });
    assert.equal(getPreview.status, 405);
    assert.equal(getPreview.headers.get("allow"), "POST, OPTIONS");
    const postUsage = await api("/usage", { token, body: { format: "json" } });
    assert.equal(postUsage.status, 405);
    assert.equal(postUsage.headers.get("allow"), "GET, OPTIONS");
    const deleteUsage = await api("/usage", { token, method: "DELETE" });
    assert.equal(deleteUsage.status, 405);
    const preflight = await api("/preview", {
      method: "OPTIONS",
      headers: { Origin: "http://127.0.0.1:54330", "Access-Control-Request-Method": "POST" },
    });
    assert.equal(preflight.status, 204);
  },
);
