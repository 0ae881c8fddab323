/**
 * The workers against the real database: multi-batch generation with flat server memory, lease
 * recovery after a real SIGKILL mid-batch, and concurrent workers completing each export once.
 */
import assert from "node:assert/strict";
import { createSql } from "../shared/database/db.ts";
import { ExportService } from "../shared/domain/export_service.ts";
import { parseExportRequest } from "../shared/domain/export_config.ts";
import { claimNextExport, driveClaim, processExports } from "../shared/domain/export_worker.ts";
import { api } from "./support/api.ts";
import {
  claimsFor,
  createConversation,
  createUser,
  dbTest,
  seedConversations,
  testSql,
  withoutCronDriver,
  withSettings,
} from "./support/database.ts";
import { download, exportAndWait } from "./support/exports.ts";
import { userToken } from "./support/tokens.ts";

const sql = testSql();

/**
 * Resident memory of the process running the `exports` function of this test run's functions
 * server (its child: other checkouts may run servers of their own), in bytes.
 */
function exportsFunctionRss(): number | null {
  return exportsFunctionProcess()?.rss ?? null;
}

/** The `exports` function's process of this test run: its PID and resident memory in bytes. */
function exportsFunctionProcess(): { pid: number; rss: number } | null {
  const server = Deno.env.get("FUNCTIONS_SERVER_PID");
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (!cmdline.includes("functions/exports/index.ts")) continue;
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      if (server && /PPid:\s+(\d+)/.exec(status)?.[1] !== server) continue;
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      if (kb) return { pid: Number(entry.name), rss: Number(kb[1]) * 1024 };
    } catch {
      // the process went away
    }
  }
  return null;
}

async function chunkNumbers(exportLogId: string): Promise<number[]> {
  const rows = await sql<{ chunk_number: number }[]>`
    select chunk_number from exports_internal.export_chunks where export_log_id = ${exportLogId} order by chunk_number`;
  return rows.map((r) => r.chunk_number);
}

async function attempts(exportLogId: string): Promise<number> {
  const [{ attempts }] = await sql<{ attempts: number }[]>`
    select attempts from exports_internal.export_jobs where export_log_id = ${exportLogId}`;
  return attempts;
}

dbTest("an export of 5,000 conversations × 8 turns (~160 MB) is built in several batches and downloads whole, with flat server memory", async () => {
  const userId = await createUser();
  await seedConversations(userId, 5_000, { turns: 8, contentLength: 4_000 });
  const token = await userToken(userId);
  const log = await exportAndWait(token, { format: "jsonl", config: { includeMetadata: false } }, 300);
  assert.equal(log.status, "completed", JSON.stringify(log));
  assert.equal(log.conversation_count, 5_000);
  const numbers = await chunkNumbers(log.id);
  assert.ok(numbers.length >= 5 + 2, `several batch chunks plus header and footer: ${numbers.length}`);

  const processBefore = exportsFunctionProcess();
  const before = exportsFunctionRss();
  const started = performance.now();
  const response = await fetch(log.file_url);
  assert.equal(response.status, 200);
  let bytes = 0;
  let lines = 0;
  let peak = before ?? 0;
  const reader = response.body!.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    for (const byte of value) if (byte === 10) lines++;
    peak = Math.max(peak, exportsFunctionRss() ?? 0);
  }
  const after = exportsFunctionRss();
  assert.equal(bytes, log.file_size);
  assert.equal(lines, 5_000);
  console.log(
    `RSS of the exports function: before ${(before! / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB, ` +
      `after ${(after! / 2 ** 20).toFixed(1)} MiB, for a file of ${(bytes / 2 ** 20).toFixed(1)} MiB ` +
      `downloaded in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.ok(before !== null && after !== null, "the exports function process was found");
  // The local functions server caps each function's heap as the edge runtime caps its memory,
  // so the collector keeps resident memory at a plateau whatever the file size; a function that
  // held the ~160 MB file would pass the edge limit, or hit its heap cap, crash, and be
  // restarted under another PID.
  assert.ok(bytes > 150 * 2 ** 20, `the file is large enough to tell: ${bytes} bytes`);
  assert.equal(exportsFunctionProcess()?.pid, processBefore?.pid, "the function process survived");
  assert.ok(peak < 256 * 2 ** 20, `peak ${peak} bytes stays under the edge runtime's 256 MB`);
});

dbTest("a worker SIGKILLed mid-batch loses nothing: another completes the export, identical and without duplicate chunks", async () => {
  const userId = await createUser();
  for (let i = 0; i < 40; i++) {
    await createConversation(userId, {
      title: `Conversation ${i}`,
      created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    });
  }
  const token = await userToken(userId);
  const restore = await withSettings({ batch_size: 5 });
  // The test's own claims must win: pg_cron would otherwise claim these exports first.
  await withoutCronDriver(async () => {
    try {
      const service = ExportService.forUser(sql, claimsFor(userId));
      const request = parseExportRequest({ format: "jsonl" });
      const undisturbed = await service.createExportLog(request);
      const claim = await claimNextExport(sql, "test-undisturbed", undisturbed.id);
      assert.ok(claim);
      assert.equal(await driveClaim(sql, claim), "completed");

      const victim = await service.createExportLog(request);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./support/crashing_worker.ts", import.meta.url).pathname, victim.id, "2"],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let output = "";
      while (!output.includes("mid-batch")) {
        const { done, value } = await reader.read();
        if (done) break;
        output += value;
      }
      assert.match(output, /batch 2/);
      child.kill("SIGKILL");
      assert.equal((await child.status).signal, "SIGKILL");
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});

      // The killed worker's uncommitted batch is rolled back once Postgres notices; its lease stands.
      const [{ status }] = await sql<{ status: string }[]>`select status from public.export_logs where id = ${victim.id}`;
      assert.equal(status, "processing");
      assert.equal(await claimNextExport(sql, "too-early", victim.id), null, "a live lease is not taken over");
      // Let the lease run out (backdated here rather than waiting a minute), then another worker resumes.
      await sql`update exports_internal.export_jobs set lease_expires_at = now() - interval '1 second'
                where export_log_id = ${victim.id}`;
      const [{ processed }] = await sql<{ processed: number }[]>`
        select processed from exports_internal.export_jobs where export_log_id = ${victim.id}`;
      assert.equal(processed, 10, "resumes from the checkpoint after the two committed batches");
      const takeover = await claimNextExport(sql, "test-takeover", victim.id);
      assert.ok(takeover, "the expired lease is taken over");
      assert.equal(await driveClaim(sql, takeover), "completed");
      assert.equal(await attempts(victim.id), 2);

      assert.deepEqual(await chunkNumbers(victim.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 2147483647]);
      const [a, b] = await Promise.all([undisturbed, victim].map(async (e) =>
        (await api(`/${e.export_id}`, { token })).body
      ));
      const [fileA, fileB] = await Promise.all([download(a), download(b)]);
      assert.equal(fileB.bytes.byteLength, fileA.bytes.byteLength);
      assert.deepEqual(fileB.bytes, fileA.bytes);
    } finally {
      await restore();
    }
  });
});

dbTest("two workers running concurrently on twenty queued exports complete each exactly once", async () => {
  const restore = await withSettings({ batch_size: 2, processing_paused: true });
  try {
    // pg_cron would be a third worker, possibly still busy when these two finish.
    await withoutCronDriver(twoWorkersOnTwentyExports);
  } finally {
    await restore();
  }
});

async function twoWorkersOnTwentyExports() {
  const created: { id: string; count: number }[] = [];
  try {
    for (let u = 0; u < 4; u++) {
      const userId = await createUser();
      for (let i = 0; i < 7; i++) await createConversation(userId, { title: `C${i}` });
      const service = ExportService.forUser(sql, claimsFor(userId));
      for (let e = 0; e < 5; e++) {
        const log = await service.createExportLog(parseExportRequest({ format: e % 2 ? "csv" : "json" }));
        created.push({ id: log.id, count: log.conversation_count });
      }
    }
  } finally {
    await sql`update exports_internal.settings set processing_paused = false`;
  }
  const workerA = createSql(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, applicationName: "worker-a" });
  const workerB = createSql(Deno.env.get("SUPABASE_DB_URL")!, { max: 1, applicationName: "worker-b" });
  const ids = new Set(created.map((c) => c.id));
  const seen = new Map<string, number>();
  const onStep = ({ exportLogId, outcome }: { exportLogId: string; outcome: string }) => {
    if (outcome === "completed" && ids.has(exportLogId)) seen.set(exportLogId, (seen.get(exportLogId) ?? 0) + 1);
  };
  await Promise.all([
    processExports(workerA, { workerId: "A", onStep }),
    processExports(workerB, { workerId: "B", onStep }),
  ]);
  await Promise.all([workerA.end(), workerB.end()]);
  for (const { id, count } of created) {
    const [row] = await sql<{ status: string }[]>`select status from public.export_logs where id = ${id}`;
    assert.equal(row.status, "completed");
    assert.equal(await attempts(id), 1, "claimed once");
    assert.equal(seen.get(id), 1, "completed once, by one of these workers");
    const batches = Math.ceil(count / 2);
    assert.deepEqual(await chunkNumbers(id), [0, ...Array.from({ length: batches }, (_, i) => i + 1), 2147483647]);
  }
}
