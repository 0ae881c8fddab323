/**
 * Races (issue 11): user actions over HTTP overlapping the worker, downloads and expiry. Each pair
 * runs many trials with the two sides started together (in either order, by a small random
 * delay). Every answer must be one the contract allows for the order the actions took effect —
 * never a 500 — and the evidence a race leaves is read from the store itself: Postgres's deadlock
 * counter must not move, and the functions server must not have restarted a function.
 *
 * The worker side uses the worker's own steps (claim, generate_next_batch) so each phase — queued,
 * claimed, mid-batch, finishing — is hit on purpose; processing stays paused for every other
 * driver meanwhile (see claimWhilePaused).
 */
import assert from "node:assert/strict";
import { type Claim, runStep, type StepOutcome } from "../shared/domain/export_worker.ts";
import { api, exportsUrl } from "./support/api.ts";
import {
  createConversation,
  createUser,
  dbTest,
  seedConversations,
  testSql,
  withoutCronDriver,
  withSettings,
} from "./support/database.ts";
import { download, type ExportLogBody } from "./support/exports.ts";
import {
  claimWhilePaused,
  deadlocksDetected,
  functionRestarts,
  inBatches,
  jitter,
  leftovers,
  readBody,
  settledDeadlocks,
} from "./support/races.ts";
import { userToken } from "./support/tokens.ts";

const sql = testSql();
const TRIALS = 20;
// Room for every trial's exports: the limits are not what these tests are about.
const ROOMY_LIMITS = { max_active_exports: 10_000, max_daily_exports: 100_000, max_stored_bytes: 1e12 };

let deadlocksAtStart = 0;
let restartsAtStart: Record<string, number> = {};

/** A user with `count` conversations of 8 turns, and their token. */
async function userWithConversations(count: number, contentLength = 400): Promise<{ userId: string; token: string }> {
  const userId = await createUser();
  await seedConversations(userId, count, { contentLength });
  return { userId, token: await userToken(userId) };
}

/** Requests an export (processing is paused, so it stays queued); returns its ids. */
async function queuedExport(token: string, body: unknown = { format: "jsonl" }): Promise<ExportLogBody> {
  const created = await api("", { token, body });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return created.body;
}

/** Runs worker steps until the export completes (or leaves our hands); the last outcome. */
async function driveToEnd(claim: Claim): Promise<StepOutcome> {
  for (;;) {
    const outcome = await runStep(sql, claim);
    if (outcome !== "continue") return outcome;
  }
}

/** A completed export of the user's approved conversations, built by the test worker. */
async function completedExport(token: string, body: unknown = { format: "jsonl" }): Promise<ExportLogBody> {
  const created = await queuedExport(token, body);
  const claim = await claimWhilePaused(created.id);
  assert.ok(claim, "the test worker claimed the export");
  assert.equal(await driveToEnd(claim), "completed");
  const fetched = await api(`/${created.export_id}`, { token });
  assert.equal(fetched.body.status, "completed");
  return fetched.body;
}

/** DELETE over HTTP; the status. */
async function deleteExport(token: string, exportId: string): Promise<number> {
  const response = await fetch(exportsUrl(`/${exportId}`), {
    method: "DELETE",
    headers: { Authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.status;
}

/** A worker step that may find the export gone: its outcome. */
async function stepAfterJitter(claim: Claim): Promise<StepOutcome> {
  await jitter(15);
  return await runStep(sql, claim);
}

/** Runs `work` with processing paused for all but the test's own worker, and roomy limits. */
async function racing(work: () => Promise<void>, settings: Record<string, unknown> = {}): Promise<void> {
  await withoutCronDriver(async () => {
    const restore = await withSettings({ processing_paused: true, ...ROOMY_LIMITS, ...settings });
    try {
      await work();
    } finally {
      await restore();
    }
  });
}

dbTest("races: the counters are read before the first race", async () => {
  deadlocksAtStart = await deadlocksDetected();
  restartsAtStart = await functionRestarts();
  assert.ok("exports" in restartsAtStart, "the exports function is served");
});

// --------------------------------------------------------------------------- DELETE × worker

/** Where the worker is when the DELETE arrives. */
type Phase = "queued" | "claimed" | "mid-batch" | "finishing";

/** Brings a new export to `phase` and returns the step that races the DELETE from there. */
async function exportAt(token: string, phase: Phase): Promise<{ log: ExportLogBody; racer: () => Promise<unknown> }> {
  const log = await queuedExport(token);
  if (phase === "queued") {
    // The claim itself races the DELETE; a claim that wins then runs a step that loses.
    return {
      log,
      racer: async () => {
        await jitter(15);
        const claim = await claimWhilePaused(log.id);
        return claim ? await runStep(sql, claim) : "not claimed";
      },
    };
  }
  const claim = await claimWhilePaused(log.id);
  assert.ok(claim);
  if (phase === "mid-batch") assert.equal(await runStep(sql, claim), "continue");
  if (phase === "finishing") {
    // Every batch written: the next step writes the header and footer and completes.
    for (;;) {
      const [{ done }] = await sql<{ done: boolean }[]>`
        select j.processed >= l.conversation_count as done
          from exports_internal.export_jobs j join public.export_logs l on l.id = j.export_log_id
         where j.export_log_id = ${log.id}`;
      if (done) break;
      assert.equal(await runStep(sql, claim), "continue");
    }
  }
  return { log, racer: () => stepAfterJitter(claim) };
}

for (const phase of ["queued", "claimed", "mid-batch", "finishing"] as const) {
  dbTest(`races: DELETE of an export while the worker is ${phase} → 204 and nothing left, ${TRIALS} trials`, async () => {
    const { token } = await userWithConversations(40);
    await racing(async () => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const { log, racer } = await exportAt(token, phase);
        const [deleted, outcome] = await Promise.all([
          (async () => {
            await jitter(15);
            return await deleteExport(token, log.export_id);
          })(),
          racer(),
        ]);
        assert.equal(deleted, 204, `trial ${trial}: DELETE answered ${deleted}`);
        assert.ok(
          ["lost", "continue", "completed", "not claimed"].includes(outcome as string),
          `trial ${trial}: the worker's step ended "${outcome}"`,
        );
        assert.equal((await api(`/${log.export_id}`, { token })).status, 404);
        assert.deepEqual(await leftovers(log.id), { export_logs: 0, jobs: 0, members: 0, chunks: 0, slots: 0 });
      }
    }, { batch_size: 5 });
  });
}

dbTest("races: five concurrent DELETEs of a running export → exactly one 204 and four 404, 10 trials", async () => {
  const { token } = await userWithConversations(40);
  await racing(async () => {
    for (let trial = 0; trial < 10; trial++) {
      const { log, racer } = await exportAt(token, "mid-batch");
      const [statuses] = await Promise.all([
        Promise.all(Array.from({ length: 5 }, () => deleteExport(token, log.export_id))),
        racer(),
      ]);
      assert.deepEqual(statuses.sort(), [204, 404, 404, 404, 404], `trial ${trial}`);
      assert.deepEqual(await leftovers(log.id), { export_logs: 0, jobs: 0, members: 0, chunks: 0, slots: 0 });
    }
  }, { batch_size: 5 });
});

// ------------------------------------------------------------------------ retry and replays

/** A failed export: requested, then failed the way the worker fails one. */
async function failedExport(token: string): Promise<ExportLogBody> {
  const log = await queuedExport(token);
  await sql`update public.export_logs set status = 'processing' where id = ${log.id}`;
  await sql`select exports_internal.fail_export(${log.id}, 3)`;
  return log;
}

dbTest(`races: retry × retry × DELETE × a worker step → 202/409/404 and 204, never 500, ${TRIALS} trials`, async () => {
  const { token } = await userWithConversations(20);
  await racing(async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const log = await failedExport(token);
      const retry = async () => {
        await jitter(10);
        return (await api(`/${log.export_id}/retry`, { token, method: "POST" })).status;
      };
      const [first, second, deleted, step] = await Promise.all([
        retry(),
        retry(),
        (async () => {
          await jitter(10);
          return await deleteExport(token, log.export_id);
        })(),
        (async () => {
          // A worker that claims the retried export and runs a batch while the DELETE lands.
          await jitter(10);
          const claim = await claimWhilePaused(log.id);
          return claim ? await runStep(sql, claim) : "not claimed";
        })(),
      ]);
      const retries = [first, second];
      assert.equal(deleted, 204, `trial ${trial}`);
      for (const status of retries) assert.ok([202, 404, 409].includes(status), `trial ${trial}: retry ${status}`);
      assert.ok(retries.filter((s) => s === 202).length <= 1, `trial ${trial}: one retry at most queues it`);
      assert.ok(["lost", "continue", "completed", "not claimed"].includes(step), `trial ${trial}: step ${step}`);
      assert.deepEqual(await leftovers(log.id), { export_logs: 0, jobs: 0, members: 0, chunks: 0, slots: 0 });
    }
  }, { batch_size: 5 });
});

dbTest(`races: an Idempotency-Key replay × DELETE → 200 with the export or 202 with a new one, ${TRIALS} trials`, async () => {
  const { token } = await userWithConversations(3);
  await racing(async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const key = `race-${crypto.randomUUID()}`;
      const headers = { "Idempotency-Key": key };
      const body = { format: "csv" };
      const original = await api("", { token, body, headers });
      assert.equal(original.status, 202);
      const [replay, deleted] = await Promise.all([
        (async () => {
          await jitter(10);
          return await api("", { token, body, headers });
        })(),
        (async () => {
          await jitter(10);
          return await deleteExport(token, original.body.export_id);
        })(),
      ]);
      assert.equal(deleted, 204, `trial ${trial}`);
      if (replay.status === 200) {
        assert.equal(replay.body.export_id, original.body.export_id, `trial ${trial}: the same export`);
      } else {
        assert.equal(replay.status, 202, `trial ${trial}: ${JSON.stringify(replay.body)}`);
        assert.notEqual(replay.body.export_id, original.body.export_id, `trial ${trial}: a new export`);
        // The key now names the new export: a further repeat returns it.
        const again = await api("", { token, body, headers });
        assert.equal(again.status, 200);
        assert.equal(again.body.export_id, replay.body.export_id);
      }
    }
  });
});

// ---------------------------------------------------------------------------------- downloads

dbTest(`races: a download starting as the export is deleted → 200 or 404 before any byte, ${TRIALS} trials`, async () => {
  const { token } = await userWithConversations(5);
  await racing(async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const log = await completedExport(token);
      const [response, deleted] = await Promise.all([
        (async () => {
          await jitter(10);
          return await fetch(log.file_url);
        })(),
        (async () => {
          await jitter(10);
          return await deleteExport(token, log.export_id);
        })(),
      ]);
      const body = await readBody(response);
      assert.equal(deleted, 204);
      assert.ok([200, 404].includes(response.status), `trial ${trial}: download ${response.status}`);
      if (response.status === 404) {
        assert.equal(body.error, undefined);
      }
      assert.deepEqual(await leftovers(log.id), { export_logs: 0, jobs: 0, members: 0, chunks: 0, slots: 0 });
    }
  });
});

dbTest(`races: a download starting as expiry runs → the whole file or 410, ${TRIALS} trials`, async () => {
  const { token } = await userWithConversations(5);
  await racing(async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const log = await completedExport(token);
      await sql`update public.export_logs set expires_at = now() + interval '30 milliseconds' where id = ${log.id}`;
      const [response] = await Promise.all([
        (async () => {
          await jitter(60);
          return await fetch(log.file_url);
        })(),
        (async () => {
          await jitter(60);
          await sql`select public.mark_expired_exports()`;
        })(),
      ]);
      const body = await readBody(response);
      assert.ok([200, 410].includes(response.status), `trial ${trial}: download ${response.status}`);
      if (response.status === 200) {
        assert.equal(body.error, undefined, `trial ${trial}: the download was cut`);
        assert.equal(body.bytes, log.file_size, `trial ${trial}: every byte`);
      }
    }
  });
});

/** A user's completed export of about `megabytes` MB (conversations of 8 turns of 4,000 characters). */
async function largeExport(megabytes: number): Promise<{ token: string; log: ExportLogBody; sha256: string }> {
  const { token } = await userWithConversations(Math.ceil(megabytes * 1_000_000 / 32_000), 4_000);
  const log = await completedExport(token);
  return { token, log, sha256: await storedDigest(log.id) };
}

async function statusOf(exportLogId: string): Promise<string> {
  const [{ status }] = await sql<{ status: string }[]>`select status from public.export_logs where id = ${exportLogId}`;
  return status;
}

/** SHA-256 of the file as stored, chunk by chunk in order. */
async function storedDigest(exportLogId: string): Promise<string> {
  const [{ digest }] = await sql<{ digest: string }[]>`
    select encode(sha256(string_agg(data, ''::bytea order by chunk_number)), 'hex') as digest
      from exports_internal.export_chunks where export_log_id = ${exportLogId}`;
  return digest;
}

async function digestOf(bytes: Uint8Array): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

dbTest("races: a download streaming while its export is deleted ends that stream alone; the slot comes back", async () => {
  await racing(async () => {
    // 64 MB: more than the sockets and the functions server's proxy buffer, so the stream is
    // still reading from the database when the DELETE lands.
    const victim = await largeExport(64);
    const bystander = await largeExport(24);
    for (let trial = 0; trial < 2; trial++) {
      const log = trial === 0 ? victim.log : await completedExport(victim.token);
      const response = await fetch(log.file_url);
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      await reader.read(); // the stream is under way
      // Another user's download in flight meanwhile must complete whole.
      const other = download(bystander.log);
      assert.equal(await deleteExport(victim.token, log.export_id), 204);
      let received = 0;
      let cut = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.byteLength;
        }
      } catch {
        cut = true;
      }
      assert.ok(cut, `the stream was cut (after ${received} more bytes), never a silently short file`);
      const { response: otherResponse, bytes } = await other;
      assert.equal(otherResponse.status, 200);
      assert.equal(await digestOf(bytes), bystander.sha256, "the other user's file arrived whole");
    }
    // The victim's slots went with its exports; four downloads at once are allowed again.
    const again = await completedExport(victim.token);
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(again.file_url)));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    await Promise.all(responses.map((r) => r.body?.cancel()));
  });
});

dbTest("races: a download streaming while expiry runs finishes whole; the export expires after it", async () => {
  await racing(async () => {
    const { token, log, sha256 } = await largeExport(64);
    const response = await fetch(log.file_url);
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const parts: Uint8Array[] = [];
    parts.push((await reader.read()).value!);
    await sql`update public.export_logs set expires_at = now() - interval '1 second' where id = ${log.id}`;
    await sql`select public.mark_expired_exports()`;
    assert.equal(await statusOf(log.id), "completed", "expiry leaves an export with a download in flight");
    // A new download of it is refused already: the database says it is past its expiry.
    const late = await fetch(log.file_url);
    assert.equal(late.status, 410);
    await late.body?.cancel();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    assert.equal(await digestOf(whole), sha256, "the download that started before expiry got every byte");
    // Its slot is given back as the stream ends; the next expiry run takes the export.
    for (let tries = 0; tries < 50 && await statusOf(log.id) === "completed"; tries++) {
      await sql`select public.mark_expired_exports()`;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const expired = await api(`/${log.export_id}`, { token });
    assert.equal(expired.body.status, "expired");
    const left = await leftovers(log.id);
    assert.deepEqual([left.chunks, left.slots], [0, 0], "the bytes and the slot are gone");
  });
});

dbTest("races: two users × four concurrent 25 MB downloads, 5 trials: every byte, every time", async () => {
  await racing(async () => {
    const users = [];
    for (let u = 0; u < 2; u++) {
      const { token } = await userWithConversations(800, 4_000);
      const logs = [];
      for (let f = 0; f < 4; f++) logs.push(await completedExport(token));
      users.push(await Promise.all(logs.map(async (log) => ({ log, sha256: await storedDigest(log.id) }))));
    }
    assert.ok(users[0][0].log.file_size > 25_000_000, `files of ${users[0][0].log.file_size} bytes`);
    for (let trial = 0; trial < 5; trial++) {
      const results: { status: number; ok: boolean }[] = await Promise.all(users.flat().map(async ({ log, sha256 }) => {
        const { response, bytes } = await download(log);
        return { status: response.status, ok: bytes.byteLength === log.file_size && await digestOf(bytes) === sha256 };
      }));
      assert.deepEqual(results, results.map(() => ({ status: 200, ok: true })), `trial ${trial}`);
    }
  });
});

dbTest("races: an empty file takes no download slot; ten in a row, then four real downloads at once", async () => {
  const userId = await createUser();
  // Alpaca skips a conversation that does not end with a user → assistant pair: all of these.
  for (let i = 0; i < 3; i++) {
    await createConversation(userId, { turns: [{ role: "assistant", content: "Hello" }, { role: "user", content: "Bye" }] });
  }
  const token = await userToken(userId);
  await racing(async () => {
    const empty = await completedExport(token, { format: "jsonl", config: { template: "alpaca" } });
    assert.equal(empty.file_size, 0);
    assert.equal(empty.skipped, 3);
    for (let i = 0; i < 10; i++) {
      const response = await fetch(empty.file_url);
      assert.equal(response.status, 200, `download ${i + 1} of the empty file`);
      assert.equal((await response.arrayBuffer()).byteLength, 0);
    }
    const [{ slots }] = await sql<{ slots: number }[]>`
      select count(*)::integer as slots from exports_internal.active_downloads where user_id = ${userId}`;
    assert.equal(slots, 0, "no slot is held");
    const file = await completedExport(token, { format: "jsonl", config: { scope: "filtered", filters: { statuses: ["approved"] } } });
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(file.file_url)));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
  });
});

// ------------------------------------------------------------------------ the json summary

dbTest("races: the json summary describes the conversations in the file when members change during the run", async () => {
  const { userId, token } = await userWithConversations(60, 100);
  await sql`update public.conversations set quality_score = 5 + (random() * 5)::numeric(3, 1),
                                             tier = (array['template', 'scenario', 'edge_case'])[1 + (random() * 2)::int]
            where user_id = ${userId}`;
  await racing(async () => {
    const log = await queuedExport(token, { format: "json" });
    const claim = await claimWhilePaused(log.id);
    assert.ok(claim);
    // Between batches, members already written and members still to come change: statuses,
    // turns, scores, tiers; some are deleted.
    for (let step = 0; ; step++) {
      const outcome = await runStep(sql, claim);
      if (outcome === "completed") break;
      assert.equal(outcome, "continue");
      await sql`
        with victims as (
          select id from public.conversations where user_id = ${userId} order by random() limit 4)
        update public.conversations c set status = 'rejected', quality_score = 1, tier = 'edge_case'
          from victims v where c.id = v.id`;
      await sql`
        delete from public.conversations
         where id in (select id from public.conversations where user_id = ${userId} order by random() limit 1)`;
      await sql`
        insert into public.conversation_turns (conversation_id, turn_number, role, content, token_count)
        select id, 100 + ${step}, 'user', 'one more', 3
          from public.conversations where user_id = ${userId} order by random() limit 3`;
    }
    const completed = (await api(`/${log.export_id}`, { token })).body;
    const document = JSON.parse(new TextDecoder().decode((await download(completed)).bytes));
    const conversations = document.conversations as { status: string; tier: string; turns: unknown[]; metadata: Record<string, number> }[];
    const count = (key: "status" | "tier") =>
      Object.fromEntries(
        [...new Set(conversations.map((c) => c[key]))].sort().map((v) => [v, conversations.filter((c) => c[key] === v).length]),
      );
    // Scores have one decimal: the average to two decimals, rounded half up, in whole hundredths.
    const tenths = conversations.map((c) => c.metadata.quality_score).filter((s) => s !== null)
      .map((s) => Math.round(s * 10));
    const sumTenths = tenths.reduce((n, s) => n + s, 0);
    assert.equal(document.conversation_count, conversations.length);
    assert.deepEqual(document.summary, {
      total_turns: conversations.reduce((n, c) => n + c.metadata.turn_count, 0),
      total_tokens: conversations.reduce((n, c) => n + c.metadata.total_tokens, 0),
      average_quality_score: Math.floor((sumTenths * 20 + tenths.length) / (2 * tenths.length)) / 100,
      tier_distribution: count("tier"),
      status_distribution: count("status"),
    });
    assert.equal(
      conversations.reduce((n, c) => n + c.turns.length, 0),
      document.summary.total_turns,
      "every turn counted is in the file",
    );
  }, { batch_size: 10 });
});

// --------------------------------------------------------------------------------- a burst

dbTest("races: a burst of 200 mixed requests from one user, 20 at a time, with the real worker: no answer ≥ 500", async () => {
  const { token } = await userWithConversations(30);
  const restore = await withSettings({ ...ROOMY_LIMITS, batch_size: 10 });
  try {
    const seeds: ExportLogBody[] = [];
    for (let i = 0; i < 4; i++) seeds.push((await api("", { token, body: { format: "jsonl" }, headers: { Prefer: "wait=10" } })).body);
    const ids = () => seeds[Math.floor(Math.random() * seeds.length)].export_id as string;
    const kinds = [
      async () => {
        const created = await api("", { token, body: { format: ["json", "jsonl", "csv", "markdown"][Math.floor(Math.random() * 4)] } });
        if (created.status === 202) seeds.push(created.body);
        return created.status;
      },
      async () => (await api("", { token, body: { format: "csv" }, headers: { "Idempotency-Key": `burst-${Math.floor(Math.random() * 5)}` } })).status,
      async () => (await api("?limit=10", { token })).status,
      async () => (await api(`/${ids()}`, { token })).status,
      async () => await deleteExport(token, ids()),
      async () => (await api(`/${ids()}/retry`, { token, method: "POST" })).status,
      async () => {
        const response = await fetch(exportsUrl(`/${ids()}/download`), { headers: { Authorization: `Bearer ${token}` } });
        const body = await readBody(response);
        return body.error ? 0 : response.status;
      },
    ];
    const statuses = await inBatches(
      Array.from({ length: 200 }, (_, i) => kinds[i % kinds.length]),
      20,
    );
    const allowed = [200, 202, 204, 404, 409, 410, 429];
    const unexpected = statuses.filter((s) => !allowed.includes(s) && s !== 0);
    assert.deepEqual(unexpected, [], `answers: ${JSON.stringify(countBy(statuses))}`);
  } finally {
    await restore();
  }
});

function countBy(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

dbTest("races: after every race, Postgres detected no deadlock and no function restarted", async () => {
  assert.equal(await settledDeadlocks() - deadlocksAtStart, 0, "pg_stat_database.deadlocks moved");
  assert.deepEqual(await functionRestarts(), restartsAtStart, "a function process restarted");
});
