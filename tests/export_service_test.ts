/**
 * ExportService against the real database: the seed's eleven cases, isolation between users,
 * scope semantics, validation that writes nothing, and the active limit under concurrency.
 */
import assert from "node:assert/strict";
import { ExportService } from "../shared/domain/export_service.ts";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import {
  ExportNotFoundError,
  ExportPermissionError,
  NoConversationsError,
  TooManyConversationsError,
  TooManyExportsError,
  ValidationError,
} from "../shared/core/errors.ts";
import {
  claimsFor,
  countExportRows,
  createConversation,
  createUser,
  pausedTest as dbTest,
  testSql,
  withSettings,
} from "./support/database.ts";

const sql = testSql();
const service = ExportService.forService(sql);

function userService(userId: string): ExportService {
  return ExportService.forUser(sql, claimsFor(userId));
}

async function request(userId: string, body: unknown) {
  return await userService(userId).createExportLog(parseExportRequest(body));
}

async function memberIds(exportLogId: string): Promise<string[]> {
  const rows = await sql<{ conversation_id: string }[]>`
    select conversation_id from exports_internal.export_members
     where export_log_id = ${exportLogId} order by position`;
  return rows.map((row) => row.conversation_id);
}

async function userWithApproved(count = 1): Promise<{ userId: string; ids: string[] }> {
  const userId = await createUser();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await createConversation(userId));
  return { userId, ids };
}

// --- the seed's eleven cases ------------------------------------------------------------------

dbTest("createExportLog() stores a queued export with the 14 fields and its membership", async () => {
  const { userId, ids } = await userWithApproved(2);
  const log = await request(userId, { format: "jsonl" });
  assert.equal(log.status, "queued");
  assert.equal(log.user_id, userId);
  assert.equal(log.format, "jsonl");
  assert.equal(log.conversation_count, 2);
  assert.equal(log.file_size, null);
  assert.equal(log.file_url, null);
  assert.deepEqual(log.progress, { processed: 0, total: 2 });
  assert.equal(log.skipped, 0);
  assert.equal(log.config.format, "jsonl");
  assert.equal(log.config.template, "openai");
  for (
    const field of [
      "id", "export_id", "user_id", "timestamp", "format", "config", "conversation_count",
      "file_size", "status", "file_url", "expires_at", "error_message", "created_at", "updated_at",
    ]
  ) assert.ok(field in log, `missing ${field}`);
  assert.match(log.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  assert.deepEqual(await memberIds(log.id), ids);
});

dbTest("getExportLog() returns the export by its export_id", async () => {
  const { userId } = await userWithApproved();
  const created = await request(userId, { format: "csv" });
  const fetched = await userService(userId).getExportLog(created.export_id);
  assert.deepEqual(fetched, created);
});

dbTest("getExportLog() returns null for a missing id", async () => {
  const { userId } = await userWithApproved();
  assert.equal(await userService(userId).getExportLog(crypto.randomUUID()), null);
  assert.equal(await userService(userId).getExportLog("not-a-uuid"), null);
});

dbTest("listExportLogs() lists the user's exports newest first with the total", async () => {
  const { userId } = await userWithApproved();
  const first = await request(userId, { format: "json" });
  const second = await request(userId, { format: "csv" });
  const { logs, total } = await userService(userId).listExportLogs(userId);
  assert.equal(total, 2);
  assert.deepEqual(logs.map((l) => l.export_id), [second.export_id, first.export_id]);
});

dbTest("listExportLogs() filters by format, status and date", async () => {
  const { userId } = await userWithApproved();
  const json = await request(userId, { format: "json" });
  const csv = await request(userId, { format: "csv" });
  await service.updateExportLog(csv.export_id, { status: "processing" });
  const users = userService(userId);
  assert.deepEqual(
    (await users.listExportLogs(userId, { format: "json" })).logs.map((l) => l.export_id),
    [json.export_id],
  );
  assert.deepEqual(
    (await users.listExportLogs(userId, { status: "processing" })).logs.map((l) => l.export_id),
    [csv.export_id],
  );
  // from is inclusive and to exclusive, at microsecond precision.
  const fromCsv = await users.listExportLogs(userId, { dateFrom: csv.timestamp });
  assert.deepEqual(fromCsv.logs.map((l) => l.export_id), [csv.export_id]);
  const beforeCsv = await users.listExportLogs(userId, { dateTo: csv.timestamp });
  assert.deepEqual(beforeCsv.logs.map((l) => l.export_id), [json.export_id]);
});

dbTest("listExportLogs() paginates: page 2 of 3 with the right total", async () => {
  const { userId } = await userWithApproved();
  const restore = await withSettings({ max_active_exports: 10 });
  try {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await request(userId, { format: "jsonl" }));
    const newestFirst = created.map((l) => l.export_id).reverse();
    const page2 = await userService(userId).listExportLogs(userId, {}, { page: 2, limit: 2 });
    assert.equal(page2.total, 5);
    assert.deepEqual(page2.logs.map((l) => l.export_id), newestFirst.slice(2, 4));
    const page3 = await userService(userId).listExportLogs(userId, {}, { page: 3, limit: 2 });
    assert.deepEqual(page3.logs.map((l) => l.export_id), newestFirst.slice(4));
  } finally {
    await restore();
  }
});

dbTest("updateExportLog() moves an export to processing", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  const updated = await service.updateExportLog(log.export_id, { status: "processing" });
  assert.equal(updated.status, "processing");
  assert.ok(updated.updated_at >= log.updated_at);
});

dbTest("updateExportLog() completes an export with size, url and expiry", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await service.updateExportLog(log.export_id, { status: "processing" });
  const expiresAt = "2030-01-02T03:04:05.123456Z";
  const done = await service.updateExportLog(log.export_id, {
    status: "completed",
    file_size: 1234,
    file_url: `http://127.0.0.1:54321/functions/v1/exports/${log.export_id}/download`,
    expires_at: expiresAt,
  });
  assert.equal(done.status, "completed");
  assert.equal(done.file_size, 1234);
  assert.equal(done.expires_at, expiresAt);
  assert.deepEqual(done.progress, { processed: 1, total: 1 });
});

dbTest("updateExportLog() fails an export with a message", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await service.updateExportLog(log.export_id, { status: "processing" });
  const failed = await service.updateExportLog(log.export_id, {
    status: "failed",
    error_message: "The export could not be generated",
  });
  assert.equal(failed.status, "failed");
  assert.equal(failed.error_message, "The export could not be generated");
});

dbTest("updateExportLog() refuses an illegal transition and a missing export", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await assert.rejects(
    service.updateExportLog(log.export_id, { status: "completed" }),
    (error: Error & { status?: number }) => error.status === 409 && /queued.*completed/.test(error.message),
  );
  await assert.rejects(
    service.updateExportLog(crypto.randomUUID(), { status: "processing" }),
    ExportNotFoundError,
  );
  await assert.rejects(
    service.updateExportLog(log.export_id, { status: "bogus" } as never),
    ValidationError,
  );
});

dbTest("markExpiredExports() expires a past-due export and returns at least 1", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await service.updateExportLog(log.export_id, { status: "processing" });
  await service.updateExportLog(log.export_id, {
    status: "completed",
    file_size: 10,
    file_url: "http://127.0.0.1:54321/functions/v1/exports/x/download",
    expires_at: new Date(Date.now() - 1000).toISOString(),
  });
  assert.ok(await service.markExpiredExports() >= 1);
  const expired = await service.getExportLog(log.export_id);
  assert.equal(expired?.status, "expired");
  assert.equal(expired?.file_url, null);
});

dbTest("deleteExportLog() removes the row and its membership", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await userService(userId).deleteExportLog(log.export_id);
  assert.equal(await userService(userId).getExportLog(log.export_id), null);
  assert.deepEqual(await memberIds(log.id), []);
  await assert.rejects(userService(userId).deleteExportLog(log.export_id), ExportNotFoundError);
});

// --- isolation ------------------------------------------------------------------------------

dbTest("ExportService for user B cannot see, update or delete user A's export", async () => {
  const a = await userWithApproved();
  const b = await userWithApproved();
  const log = await request(a.userId, { format: "json" });
  await request(b.userId, { format: "json" });
  const asB = userService(b.userId);
  assert.equal(await asB.getExportLog(log.export_id), null);
  await assert.rejects(asB.deleteExportLog(log.export_id), ExportNotFoundError);
  await assert.rejects(asB.updateExportLog(log.export_id, { status: "processing" }), ExportPermissionError);
  const bList = await asB.listExportLogs(b.userId);
  assert.ok(bList.logs.every((l) => l.user_id === b.userId));
  assert.equal(bList.total, 1);
  // B asking for A's list through RLS sees nothing.
  assert.deepEqual(await asB.listExportLogs(a.userId), { logs: [], total: 0 });
  const aList = await userService(a.userId).listExportLogs(a.userId);
  assert.equal(aList.total, 1);
  assert.equal((await service.getExportLog(log.export_id))?.status, "queued");
});

dbTest("updateExportLog() called for a user fails with ExportPermissionError, even on their own", async () => {
  const { userId } = await userWithApproved();
  const log = await request(userId, { format: "json" });
  await assert.rejects(
    userService(userId).updateExportLog(log.export_id, { status: "processing" }),
    ExportPermissionError,
  );
  assert.equal((await service.getExportLog(log.export_id))?.status, "queued");
});

// --- scope semantics ------------------------------------------------------------------------

dbTest("scope all exports only approved conversations", async () => {
  const userId = await createUser();
  const approved = await createConversation(userId, { status: "approved" });
  for (const status of ["draft", "generated", "pending_review", "rejected", "needs_revision", "failed"]) {
    await createConversation(userId, { status });
  }
  const log = await request(userId, { format: "json", config: { scope: "all" } });
  assert.deepEqual(await memberIds(log.id), [approved]);
});

dbTest("scope filtered with filters {} means approved only", async () => {
  const userId = await createUser();
  const approved = await createConversation(userId, { status: "approved" });
  await createConversation(userId, { status: "draft" });
  const log = await request(userId, { format: "json", config: { scope: "filtered", filters: {} } });
  assert.deepEqual(await memberIds(log.id), [approved]);
  assert.deepEqual((log.config.filters as { statuses: string[] }).statuses, ["approved"]);
});

dbTest("scope filtered applies each filter alone and all combined", async () => {
  const userId = await createUser();
  const t0 = "2026-01-01T00:00:00.000000Z";
  const target = await createConversation(userId, {
    title: "Billing: refund request",
    tier: "scenario",
    status: "pending_review",
    category: ["billing", "refunds"],
    persona: "frustrated customer",
    emotion: "angry",
    quality_score: 8.5,
    created_at: "2026-03-01T12:00:00.000000Z",
  });
  const other = await createConversation(userId, {
    title: "Shipping question",
    tier: "template",
    status: "approved",
    category: ["shipping"],
    persona: "new customer",
    emotion: "calm",
    quality_score: 4.0,
    created_at: "2026-02-01T12:00:00.000000Z",
  });
  const unscored = await createConversation(userId, {
    title: "Billing without score",
    tier: "scenario",
    status: "pending_review",
    quality_score: null,
    created_at: t0,
  });
  const cases: [Record<string, unknown>, string[]][] = [
    [{ statuses: ["pending_review"] }, [unscored, target]],
    [{ statuses: ["approved", "pending_review"], tiers: ["template"] }, [other]],
    [{ statuses: ["approved", "pending_review"], qualityMin: 8.5 }, [target]],
    [{ statuses: ["approved", "pending_review"], qualityMax: 4 }, [other]],
    [{ statuses: ["approved", "pending_review"], createdFrom: "2026-03-01T12:00:00Z" }, [target]],
    [{ statuses: ["approved", "pending_review"], createdTo: "2026-02-01T12:00:00Z" }, [unscored, other]],
    [{ statuses: ["approved", "pending_review"], categories: ["refunds", "nothing"] }, [target]],
    [{ statuses: ["approved", "pending_review"], personas: ["new customer"] }, [other]],
    [{ statuses: ["approved", "pending_review"], emotions: ["angry"] }, [target]],
    [{ statuses: ["approved", "pending_review"], search: "BILLING" }, [unscored, target]],
    [{
      statuses: ["pending_review"],
      tiers: ["scenario"],
      qualityMin: 8,
      qualityMax: 9,
      createdFrom: "2026-02-15T00:00:00Z",
      createdTo: "2026-03-15T00:00:00Z",
      categories: ["billing"],
      personas: ["frustrated customer"],
      emotions: ["angry"],
      search: "refund",
    }, [target]],
  ];
  for (const [filters, expected] of cases) {
    const log = await request(userId, { format: "json", config: { scope: "filtered", filters } });
    assert.deepEqual(await memberIds(log.id), expected, JSON.stringify(filters));
    await service.deleteExportLog(log.export_id);
  }
});

dbTest("scope selected keeps only the caller's ids, of any status", async () => {
  const a = await createUser();
  const b = await createUser();
  const ownDraft = await createConversation(a, { status: "draft" });
  const ownApproved = await createConversation(a, { status: "approved" });
  const foreign = await createConversation(b);
  const log = await request(a, {
    format: "json",
    config: { scope: "selected", conversationIds: [foreign, ownApproved, crypto.randomUUID(), ownDraft] },
  });
  assert.equal(log.conversation_count, 2);
  assert.deepEqual(new Set(await memberIds(log.id)), new Set([ownDraft, ownApproved]));
  await assert.rejects(
    request(a, { format: "json", config: { scope: "selected", conversationIds: [foreign] } }),
    NoConversationsError,
  );
});

dbTest("search treats % and _ as literal characters", async () => {
  const userId = await createUser();
  const percent = await createConversation(userId, { title: "100% refund" });
  const underscore = await createConversation(userId, { title: "snake_case names" });
  await createConversation(userId, { title: "100 refunds" });
  await createConversation(userId, { title: "snakeXcase names" });
  const byPercent = await request(userId, { format: "json", config: { scope: "filtered", filters: { search: "0%" } } });
  assert.deepEqual(await memberIds(byPercent.id), [percent]);
  const byUnderscore = await request(userId, { format: "json", config: { scope: "filtered", filters: { search: "e_c" } } });
  assert.deepEqual(await memberIds(byUnderscore.id), [underscore]);
});

dbTest("membership is fixed at creation: a conversation approved later is not added", async () => {
  const userId = await createUser();
  const first = await createConversation(userId, { status: "approved" });
  const later = await createConversation(userId, { status: "pending_review" });
  const log = await request(userId, { format: "json" });
  await sql`update public.conversations set status = 'approved' where id = ${later}`;
  assert.deepEqual(await memberIds(log.id), [first]);
  assert.equal((await service.getExportLog(log.export_id))?.conversation_count, 1);
});

dbTest("createExportLog() with no match raises NoConversationsError and stores nothing", async () => {
  const userId = await createUser();
  await createConversation(userId, { status: "draft" });
  await assert.rejects(request(userId, { format: "json" }), NoConversationsError);
  assert.equal(await countExportRows(userId), 0);
});

dbTest("createExportLog() over the per-export maximum raises TooManyConversationsError", async () => {
  const { userId } = await userWithApproved(3);
  const restore = await withSettings({ max_conversations_per_export: 2 });
  try {
    await assert.rejects(request(userId, { format: "json" }), TooManyConversationsError);
    assert.equal(await countExportRows(userId), 0);
  } finally {
    await restore();
  }
});

// --- validation writes nothing --------------------------------------------------------------

dbTest("every validation rule rejects naming the field, before any row is written", async () => {
  const { userId, ids } = await userWithApproved();
  const invalid: [unknown, string][] = [
    [{}, "format"],
    [{ format: "xml" }, "format"],
    [{ format: "json", user_id: userId }, "user_id"],
    [{ format: "json", config: { scope: "selected" } }, "config.conversationIds"],
    [{ format: "json", config: { scope: "filtered" } }, "config.filters"],
    [{ format: "json", config: { scope: "all", conversationIds: ids } }, "config.conversationIds"],
    [{ format: "json", config: { scope: "selected", conversationIds: [] } }, "config.conversationIds"],
    [{ format: "json", config: { scope: "filtered", filters: { qualityMin: 9, qualityMax: 2 } } }, "config.filters.qualityMin"],
    [{ format: "json", config: { scope: "filtered", filters: { qualityMin: 11 } } }, "config.filters.qualityMin"],
    [{ format: "json", config: { scope: "filtered", filters: { createdFrom: "2026-02-01T00:00:00Z", createdTo: "2026-01-01T00:00:00Z" } } }, "config.filters.createdFrom"],
    [{ format: "json", config: { scope: "filtered", filters: { search: "x".repeat(201) } } }, "config.filters.search"],
    [{ format: "json", config: { scope: "filtered", filters: { search: "" } } }, "config.filters.search"],
    [{ format: "json", config: { template: "alpaca" } }, "config.template"],
    [{ format: "jsonl", config: { systemPrompt: "x".repeat(8001) } }, "config.systemPrompt"],
    [{ format: "json", config: { csvFormulaEscape: true } }, "config.csvFormulaEscape"],
  ];
  for (const [body, path] of invalid) {
    await assert.rejects(
      (async () => await request(userId, body))(),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some((issue) => issue.path === path || issue.path.startsWith(`${path}.`)),
      `expected a ValidationError naming ${path} for ${JSON.stringify(body).slice(0, 120)}`,
    );
  }
  assert.equal(await countExportRows(userId), 0);
});

// --- the active limit under concurrency -----------------------------------------------------

dbTest("twenty concurrent createExportLog() calls at a limit of 5 leave exactly 5 active", async () => {
  const { userId } = await userWithApproved();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, () => request(userId, { format: "jsonl" })),
  );
  const created = outcomes.filter((o) => o.status === "fulfilled").length;
  const refused = outcomes.filter((o) =>
    o.status === "rejected" && o.reason instanceof TooManyExportsError
  ).length;
  assert.equal(created, 5);
  assert.equal(refused, 15);
  const [{ active }] = await sql<{ active: number }[]>`
    select count(*)::integer as active from public.export_logs
     where user_id = ${userId} and status in ('queued', 'processing')`;
  assert.equal(active, 5);
});

dbTest("the daily limit counts requests, even of exports deleted since", async () => {
  const { userId } = await userWithApproved();
  const restore = await withSettings({ max_daily_exports: 2 });
  try {
    for (let i = 0; i < 2; i++) {
      const log = await request(userId, { format: "json" });
      await userService(userId).deleteExportLog(log.export_id);
    }
    await assert.rejects(
      request(userId, { format: "json" }),
      (error: unknown) => error instanceof TooManyExportsError && (error.retryAfterSeconds ?? 0) > 0,
    );
  } finally {
    await restore();
  }
});
