/**
 * The typed client (client/exports_client.ts) against the running functions server and the real
 * database: a whole round trip with progress, and the typed errors callers catch.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import {
  type ExportProgress,
  ExportsApiError,
  ExportsAuthError,
  ExportsClient,
  ExportsConnectionError,
  ExportsNotFoundError,
  ExportsValidationError,
} from "../client/exports_client.ts";
import { ApiError } from "../shared/core/errors.ts";
import { functionsBaseUrl, supabaseAs } from "./support/api.ts";
import { download } from "./support/exports.ts";
import {
  createConversation,
  createUser,
  dbTest,
  pausedTest,
  withSettings,
} from "./support/database.ts";
import { wrapRendering } from "./support/render_wrapper.ts";

async function clientWithConversations(
  count: number,
): Promise<{ userId: string; exports: ExportsClient }> {
  const userId = await createUser();
  for (let i = 0; i < count; i++) await createConversation(userId, { title: `Conversation ${i}` });
  return { userId, exports: new ExportsClient(await supabaseAs(userId)) };
}

function clientWithToken(token: string, url = functionsBaseUrl()): ExportsClient {
  return new ExportsClient(createClient(url, "local-anon-key-not-used-by-the-functions", {
    global: { headers: { Authorization: `Bearer ${token}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  }));
}

dbTest(
  "ExportsClient: createExport → waitForExport reports rising progress → downloadExport streams file_size bytes → deleteExport",
  async () => {
    const conversations = 6;
    const { userId, exports } = await clientWithConversations(conversations);
    // One conversation per batch, each batch slowed down: progress has steps to report.
    const restoreSettings = await withSettings({ batch_size: 1 });
    const restoreRendering = await wrapRendering(userId, { delaySeconds: 0.4 });
    const seen: ExportProgress[] = [];
    let done;
    try {
      const created = await exports.createExport({
        format: "jsonl",
        config: { template: "sharegpt" },
      });
      assert.equal(created.status, "queued");
      assert.equal(created.conversation_count, conversations);
      assert.equal(created.config.format, "jsonl");
      done = await exports.waitForExport(created.export_id, {
        onProgress: (progress) => seen.push(progress),
        timeoutMs: 60_000,
      });
    } finally {
      await restoreRendering();
      await restoreSettings();
    }
    assert.equal(done.status, "completed", JSON.stringify(done));
    const processed = seen.map((progress) => progress.processed);
    assert.deepEqual(
      processed,
      [...processed].sort((a, b) => a - b),
      `progress went back: ${processed}`,
    );
    assert.ok(
      processed.some((n) => n > 0 && n < conversations),
      `progress was reported while processing, not only at the ends: ${processed}`,
    );
    assert.deepEqual(seen.at(-1), {
      processed: conversations,
      total: conversations,
      status: "completed",
    });
    assert.ok(seen.every((progress) => progress.total === conversations));

    const file = await exports.downloadExport(done);
    const bytes = new Uint8Array(await new Response(file.stream).arrayBuffer());
    assert.equal(bytes.length, done.file_size);
    assert.equal(file.size, done.file_size);
    assert.equal(file.contentType, "application/x-ndjson");
    assert.equal(file.filename, `export-${done.export_id}.jsonl`);
    assert.deepEqual(bytes, (await download(done)).bytes);
    const byId = await exports.downloadExport(done.export_id);
    assert.deepEqual(new Uint8Array(await new Response(byId.stream).arrayBuffer()), bytes);

    await exports.deleteExport(done.export_id);
    await assert.rejects(exports.getExport(done.export_id), (error) => {
      assert.ok(error instanceof ExportsNotFoundError);
      assert.equal(error.code, "not_found");
      assert.equal(error.status, 404);
      return true;
    });
  },
);

dbTest(
  "ExportsClient: a 400 is an ExportsValidationError carrying invalid_request and each offending field",
  async () => {
    const { exports } = await clientWithConversations(1);
    await assert.rejects(
      exports.createExport({
        format: "jsonl",
        config: { scope: "filtered", filters: { qualityMin: 11 } },
      }),
      (error) => {
        assert.ok(error instanceof ExportsValidationError);
        assert.ok(error instanceof ExportsApiError && error instanceof ApiError);
        assert.equal(error.status, 400);
        assert.equal(error.code, "invalid_request");
        assert.deepEqual(error.issues.map((issue) => issue.path), ["config.filters.qualityMin"]);
        assert.match(error.issues[0].message, /at most 10/);
        assert.ok(error.requestId, "the request id is kept for reports");
        return true;
      },
    );
    await assert.rejects(exports.listExports({ limit: 1000 }), (error) => {
      assert.ok(error instanceof ExportsValidationError);
      assert.deepEqual(error.issues.map((issue) => issue.path), ["limit"]);
      return true;
    });
    await assert.rejects(exports.getExport("not-a-uuid"), (error) => {
      assert.ok(error instanceof ExportsValidationError);
      assert.deepEqual(error.issues.map((issue) => issue.path), ["export_id"]);
      return true;
    });
  },
);

pausedTest(
  "ExportsClient: typed errors for not_ready, auth, no connection; waitForExport honours timeoutMs",
  async () => {
    const { exports } = await clientWithConversations(2);
    const queued = await exports.createExport({ format: "csv" }, {
      idempotencyKey: "client-test",
      wait: 0,
    });
    assert.equal(queued.status, "queued");
    const again = await exports.createExport({ format: "csv" }, { idempotencyKey: "client-test" });
    assert.equal(again.export_id, queued.export_id, "the Idempotency-Key is sent");
    for (const target of [queued, queued.export_id]) {
      await assert.rejects(exports.downloadExport(target), (error) => {
        assert.ok(error instanceof ExportsApiError);
        assert.equal(error.status, 409);
        assert.equal(error.code, "not_ready");
        return true;
      });
    }
    await assert.rejects(exports.retryExport(queued.export_id), { code: "conflict", status: 409 });

    const started = Date.now();
    await assert.rejects(exports.waitForExport(queued.export_id, { timeoutMs: 1500 }), {
      name: "TimeoutError",
    });
    assert.ok(Date.now() - started < 10_000, "the timeout stops the request in flight");

    const listed = await exports.listExports({
      status: "queued",
      from: new Date(Date.now() - 60_000),
    });
    assert.deepEqual(listed.logs.map((log) => log.export_id), [queued.export_id]);
    assert.equal(listed.total, 1);

    await assert.rejects(clientWithToken("not-a-jwt").listExports(), (error) => {
      assert.ok(error instanceof ExportsAuthError);
      assert.equal(error.status, 401);
      assert.equal(error.code, "unauthorized");
      return true;
    });
    await assert.rejects(
      clientWithToken("not-a-jwt", "http://127.0.0.1:9").listExports(),
      ExportsConnectionError,
    );
  },
);

pausedTest(
  "the typed client: previewExport, getUsage, and conditional reads that turn a 304 into notModified",
  async () => {
    const userId = await createUser();
    await createConversation(userId, { title: "One" });
    const exports = new ExportsClient(await supabaseAs(userId));
    const preview = await exports.previewExport({ format: "markdown" }, { limit: 1 });
    assert.equal(preview.conversation_count, 1);
    assert.equal(preview.conversations[0].title, "One");
    assert.match(preview.sample.text, /^# Training conversations export/);
    assert.equal((await exports.getUsage()).active.used, 0);

    const first = await exports.listExportsIfChanged({}, null);
    assert.equal(first.notModified, false);
    assert.ok(first.etag);
    const unchanged = await exports.listExportsIfChanged({}, first.etag);
    assert.deepEqual(unchanged, { notModified: true, etag: first.etag });
    const created = await exports.createExport({ format: "json" });
    const changed = await exports.listExportsIfChanged({}, first.etag);
    assert.equal(changed.notModified, false);
    if (!changed.notModified) assert.equal(changed.value.logs[0].export_id, created.export_id);

    const one = await exports.getExportIfChanged(created.export_id, null);
    assert.equal(one.notModified, false);
    assert.equal((await exports.getExportIfChanged(created.export_id, one.etag)).notModified, true);
    await assert.rejects(
      exports.getExportIfChanged(crypto.randomUUID(), one.etag),
      (error: { status?: number }) => error.status === 404,
    );
  },
);
