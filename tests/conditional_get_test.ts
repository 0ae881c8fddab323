/**
 * Conditional polling over HTTP: GET /exports and GET /exports/{id} send an ETag and answer a
 * matching If-None-Match with 304 and no body while nothing they show has changed; any change
 * (a new export, a deletion, progress, another query) answers 200 with a new ETag; existence
 * never leaks through it; and under concurrent writes a 304 never hides a change.
 */
import assert from "node:assert/strict";
import { api } from "./support/api.ts";
import { createUser, pausedTest, seedConversations, testSql } from "./support/database.ts";
import { userToken } from "./support/tokens.ts";

async function conditional(path: string, token: string, etag: string | null) {
  return await api(path, { token, headers: etag ? { "If-None-Match": etag } : {} });
}

pausedTest(
  "ETag and 304 on the list: unchanged → 304; a new export, a deletion, progress or another query → 200",
  async () => {
    const sql = testSql();
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 2, { turns: 2 });

    const empty = await conditional("", token, null);
    assert.equal(empty.status, 200);
    const etag = empty.headers.get("etag");
    assert.match(etag ?? "", /^"[A-Za-z0-9_-]+"$/);
    const again = await conditional("", token, etag);
    assert.equal(again.status, 304);
    assert.equal(again.body, null, "a 304 has no body");
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(again.headers.get("access-control-allow-origin"), "*");
    assert.equal((await conditional("", token, `W/${etag}`)).status, 304, "weak comparison");
    assert.equal((await conditional("", token, `"other", ${etag}`)).status, 304, "a list of tags");
    assert.equal((await conditional("", token, '"other"')).status, 200);

    const created = await api("", { token, body: { format: "json" } });
    const afterCreate = await conditional("", token, etag);
    assert.equal(afterCreate.status, 200, "a new export changes the list");
    assert.equal(afterCreate.body.total, 1);
    const etag2 = afterCreate.headers.get("etag");
    assert.notEqual(etag2, etag);
    assert.equal((await conditional("", token, etag2)).status, 304);

    assert.equal(
      (await conditional("?status=queued", token, etag2)).status,
      200,
      "another query, another tag",
    );
    assert.equal((await conditional("?limit=5", token, etag2)).status, 200);

    const [log] = await sql<
      { id: string }[]
    >`select id from public.export_logs where export_id = ${created.body.export_id}`;
    await sql`update exports_internal.export_jobs set processed = 1 where export_log_id = ${log.id}`;
    const afterProgress = await conditional("", token, etag2);
    assert.equal(afterProgress.status, 200, "progress (the job's row) changes the list");
    assert.equal(afterProgress.body.logs[0].progress.processed, 1);
    const etag3 = afterProgress.headers.get("etag");

    await api(`/${created.body.export_id}`, { token, method: "DELETE" });
    const afterDelete = await conditional("", token, etag3);
    assert.equal(afterDelete.status, 200, "a deletion changes the list");
    assert.equal(afterDelete.body.total, 0);
  },
);

pausedTest(
  "ETag and 304 on one export; not the caller's is 404 whatever If-None-Match says; with Prefer: wait as without",
  async () => {
    const owner = await createUser();
    const ownerToken = await userToken(owner);
    const otherToken = await userToken(await createUser());
    await seedConversations(owner, 1, { turns: 2 });
    const created = await api("", { token: ownerToken, body: { format: "jsonl" } });
    const path = `/${created.body.export_id}`;

    const first = await conditional(path, ownerToken, null);
    assert.equal(first.status, 200);
    const etag = first.headers.get("etag");
    assert.ok(etag);
    assert.equal((await conditional(path, ownerToken, etag)).status, 304);
    assert.equal(
      (await conditional(path, otherToken, etag)).status,
      404,
      "another user: 404, not 304",
    );
    assert.equal((await conditional(path, otherToken, "*")).status, 404);
    const listEtag = (await conditional("", ownerToken, null)).headers.get("etag");
    assert.notEqual(listEtag, etag, "the list and the export have their own tags");

    const waited = await api(path, {
      token: ownerToken,
      headers: { Prefer: "wait=0", "If-None-Match": etag! },
    });
    assert.equal(waited.status, 304, "a long poll that ends with nothing new is a 304 too");
    assert.equal(waited.headers.get("preference-applied"), "wait=0");
    const waitedFull = await api(path, { token: ownerToken, headers: { Prefer: "wait=0" } });
    assert.equal(waitedFull.headers.get("etag"), etag, "and its 200 carries the ETag");

    await api(path, { token: ownerToken, method: "DELETE" });
    assert.equal((await conditional(path, ownerToken, etag)).status, 404, "deleted: 404, not 304");
  },
);

pausedTest(
  "races: four pollers while progress commits at a random moment: a 304 never hides a change (50 trials)",
  async () => {
    const sql = testSql();
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 60, { turns: 2, contentLength: 20 });
    // 60 members: each trial's progress (trial + 1) is a new figure in the list's body.
    const created = await api("", { token, body: { format: "json" } });
    const [{ id }] = await sql<
      { id: string }[]
    >`select id from public.export_logs where export_id = ${created.body.export_id}`;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let trial = 0; trial < 50; trial++) {
      // Four pollers poll without pause, each keeping the body and ETag of its last 200, while
      // one write commits at a random moment among their reads. A poll whose ETag were taken
      // after its body could pair the old body with the new ETag; every later poll would then
      // be a 304 and the poller would keep the old body for good.
      let polling = true;
      const pollers = Array.from({ length: 4 }, async () => {
        let held: { etag: string | null; body: unknown } = { etag: null, body: null };
        while (polling) {
          const response = await conditional("", token, held.etag);
          if (response.status === 200) {
            held = { etag: response.headers.get("etag"), body: response.body };
          } else assert.equal(response.status, 304);
        }
        return held;
      });
      await sleep(Math.random() * 40);
      await sql`update exports_internal.export_jobs set processed = ${trial + 1}
                 where export_log_id = ${id}`;
      await sleep(40);
      polling = false;
      const held = await Promise.all(pollers);
      // Quiet now: whatever a poller holds, a 304 must mean it is what a fresh read shows.
      const fresh = await conditional("", token, null);
      for (const [index, { etag, body }] of held.entries()) {
        const last = await conditional("", token, etag);
        if (last.status === 304) {
          assert.deepEqual(body, fresh.body, `trial ${trial}, poller ${index}: a stale 304`);
        } else assert.deepEqual(last.body, fresh.body);
      }
    }
  },
);
