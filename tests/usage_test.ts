/**
 * GET /exports/usage over HTTP: the figures POST /exports enforces, read the same way. Each one
 * is driven to its limit here and checked against the 429 that POST /exports then answers.
 */
import assert from "node:assert/strict";
import { api } from "./support/api.ts";
import {
  createUser,
  pausedTest,
  seedConversations,
  testSql,
  withSettings,
} from "./support/database.ts";
import { userToken } from "./support/tokens.ts";

pausedTest("usage: zero for a new user, with the settings' limits", async () => {
  const token = await userToken(await createUser());
  const usage = await api("/usage", { token });
  assert.equal(usage.status, 200);
  const [settings] = await testSql()`
    select *, extract(epoch from retention)::int as retention_seconds from exports_internal.settings`;
  assert.deepEqual(usage.body, {
    active: { used: 0, limit: settings.max_active_exports },
    daily: { used: 0, limit: settings.max_daily_exports, next_slot_at: null },
    bytes: { used: 0, limit: Number(settings.max_stored_bytes) },
    downloads: { limit: settings.max_concurrent_downloads },
    max_conversations: settings.max_conversations_per_export,
    retention_seconds: settings.retention_seconds,
  });
  assert.equal((await api("/usage")).status, 401);
  assert.equal((await api("/usage?x=1", { token })).status, 400);
});

pausedTest(
  "usage: active and daily count requests; at a limit POST /exports answers 429 and next_slot_at says when",
  async () => {
    const sql = testSql();
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 2, { turns: 2 });
    const first = await api("", { token, body: { format: "json" } });
    assert.equal(first.status, 202);
    const second = await api("", { token, body: { format: "csv" } });
    assert.equal(second.status, 202);
    let usage = (await api("/usage", { token })).body;
    assert.equal(usage.active.used, 2);
    assert.equal(usage.daily.used, 2);
    assert.equal(usage.daily.next_slot_at, null, "below the limit");

    const restore = await withSettings({ max_daily_exports: 2, max_active_exports: 3 });
    try {
      usage = (await api("/usage", { token })).body;
      const [{ frees }] = await sql<{ frees: string }[]>`
      select min(requested_at) + interval '24 hours' as frees
        from exports_internal.export_requests where user_id = ${userId}`;
      assert.deepEqual(usage.daily, { used: 2, limit: 2, next_slot_at: frees });
      const refused = await api("", { token, body: { format: "markdown" } });
      assert.equal(refused.status, 429);
      assert.match(refused.body.error.message, /2 exports in the last 24 hours/);

      await sql`update exports_internal.settings set max_daily_exports = 50, max_active_exports = 2`;
      usage = (await api("/usage", { token })).body;
      assert.deepEqual(usage.active, { used: 2, limit: 2 });
      assert.equal((await api("", { token, body: { format: "markdown" } })).status, 429);

      await api(`/${first.body.export_id}`, { token, method: "DELETE" });
      usage = (await api("/usage", { token })).body;
      assert.equal(usage.active.used, 1, "a deleted export no longer counts as active");
      assert.equal(usage.daily.used, 2, "but its request still counts for 24 hours");
    } finally {
      await restore();
    }
  },
);

pausedTest("usage: bytes add up the user's stored files", async () => {
  const sql = testSql();
  const userId = await createUser();
  const token = await userToken(userId);
  await sql`
    insert into public.export_logs (user_id, format, config, conversation_count, status, file_size, expires_at)
    values (${userId}, 'json', '{"format":"json"}', 1, 'completed', 1500, now() + interval '1 day'),
           (${userId}, 'json', '{"format":"json"}', 1, 'completed', 500, now() + interval '2 days'),
           (${userId}, 'json', '{"format":"json"}', 1, 'expired', 9999, null)`;
  assert.deepEqual((await api("/usage", { token })).body.bytes.used, 2000);
  const restore = await withSettings({ max_stored_bytes: 2000 });
  try {
    await seedConversations(userId, 1, { turns: 2 });
    const refused = await api("", { token, body: { format: "json" } });
    assert.equal(refused.status, 429);
    assert.equal((await api("/usage", { token })).body.bytes.limit, 2000);
  } finally {
    await restore();
  }
});
