/**
 * Spec "Works from 375 px wide (one column, the table becomes cards)" and "Updates poll the API
 * (about every 1–2 s while anything is active, backing off when nothing changes, paused while
 * the tab is hidden)". The polling tests run the page on Playwright's clock, so minutes of page
 * time pass in seconds while the real API answers every request.
 */
import assert from "node:assert/strict";
import {
  assertNoHorizontalScroll,
  closeBrowser,
  DESKTOP,
  newContext,
  openSignedIn,
  PHONE,
} from "../support/browser.ts";
import {
  assertCards,
  assertTable,
  exportsInStates,
  LONG_ERROR,
  LONG_TITLE,
  seedRealistic,
} from "../support/browser_fixtures.ts";
import {
  createConversation,
  createUser,
  dbTest,
  pausedTest,
  seedConversations,
  testSql,
} from "../support/database.ts";
import { api } from "../support/api.ts";
import { exportAndWait } from "../support/exports.ts";
import { userToken } from "../support/tokens.ts";

dbTest(
  "8. Mobile width 375 px: history and conversations with 200-character unbroken values scroll no sideways and show cards",
  async () => {
    const userId = await createUser();
    await seedRealistic(userId);
    await createConversation(userId, {
      title: LONG_TITLE,
      tier: "edge_case",
      quality_score: 7.5,
      category: ["x".repeat(150)],
      persona: "p".repeat(150),
    });
    // The completed export's scope line quotes a 180-character search; the failed one's message
    // is 200 characters without a space.
    const states = await exportsInStates(userId, {
      completed: {
        format: "markdown",
        config: { scope: "filtered", filters: { search: LONG_TITLE.slice(0, 180) } },
      },
      processing: { format: "jsonl", config: { scope: "all", template: "sharegpt" } },
      failed: {
        format: "csv",
        config: { scope: "filtered", filters: { categories: ["x".repeat(150)] } },
      },
      errorMessage: LONG_ERROR,
    });
    try {
      for (const viewport of [PHONE, DESKTOP]) {
        const context = await newContext(viewport);
        try {
          const page = await context.newPage();
          const width = `${viewport.width} px`;
          await openSignedIn(page, userId);
          const error = page.locator(`tr[data-export-id="${states.failedId}"] .row-error`);
          assert.equal(await error.innerText(), LONG_ERROR);
          await page.locator("tr[data-export-id][data-status=completed]").getByText(
            /title contains/,
          ).waitFor();
          await assertNoHorizontalScroll(page, `history at ${width}`);
          if (viewport === PHONE) await assertCards(page, ".history-table", `history at ${width}`);
          else await assertTable(page, ".history-table", `history at ${width}`);

          await openSignedIn(page, userId, "/?view=conversations&tiers=edge_case");
          await page.getByRole("rowheader", { name: LONG_TITLE }).waitFor();
          await assertNoHorizontalScroll(page, `conversations at ${width}`);
          if (viewport === PHONE) {
            await assertCards(page, ".conversations-table", `conversations at ${width}`);
          } else await assertTable(page, ".conversations-table", `conversations at ${width}`);
        } finally {
          await context.close();
        }
      }
    } finally {
      await states.restore();
    }
  },
);

// --- 9. Polling ----------------------------------------------------------------------------------

/** Records each fetch with the page's (fake) clock, so request times are page times. */
const FETCH_RECORDER = `(() => {
  const original = window.fetch;
  window.__fetches = [];
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = ((init && init.method) || (input instanceof Request ? input.method : "GET")).toUpperCase();
    window.__fetches.push({ url, method, at: Date.now() });
    return original.apply(this, arguments);
  };
})()`;

/** One request for the export list: when (page time), what it sent and what came back. */
interface ListPoll {
  at: number;
  ifNoneMatch: string | undefined;
  status: number | undefined;
}

const isList = (url: string) =>
  new URL(url, "http://relative.invalid").pathname.endsWith("/functions/v1/exports");

/**
 * A page on a fake clock whose list polls are recorded twice: by the page (its clock's time) and
 * on the network (headers and status); the two are the same requests in the same order.
 */
async function pollingPage(userId: string) {
  const context = await newContext();
  const page = await context.newPage();
  await page.clock.install();
  await page.addInitScript(FETCH_RECORDER);
  const network: { ifNoneMatch: string | undefined; status: number | undefined }[] = [];
  let inFlight = 0;
  page.on("request", (request) => {
    if (!request.url().includes("/functions/v1/")) return;
    inFlight += 1;
    if (request.method() !== "GET" || !isList(request.url())) return;
    const entry = {
      ifNoneMatch: request.headers()["if-none-match"],
      status: undefined as number | undefined,
    };
    network.push(entry);
    request.response().then((response) => {
      entry.status = response?.status();
    });
  });
  const done = (request: { url(): string }) => {
    if (request.url().includes("/functions/v1/")) inFlight -= 1;
  };
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  await openSignedIn(page, userId);

  /** Advances the page's clock by `ms` in `step`s, letting each answer arrive before going on. */
  async function advance(ms: number, step = 1000, each?: () => Promise<void>): Promise<void> {
    for (let passed = 0; passed < ms; passed += step) {
      await each?.();
      await page.clock.runFor(step);
      for (let waited = 0; inFlight > 0 && waited < 5000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  }

  async function polls(): Promise<ListPoll[]> {
    const fetches = await page.evaluate<{ url: string; method: string; at: number }[]>(
      "window.__fetches",
    );
    const lists = fetches.filter((fetch) => fetch.method === "GET" && isList(fetch.url));
    assert.equal(
      lists.length,
      network.length,
      "the page's list fetches are the network's list requests",
    );
    return lists.map((fetch, index) => ({ at: fetch.at, ...network[index] }));
  }

  async function setHidden(hidden: boolean): Promise<void> {
    await page.evaluate(`(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "${
      hidden ? "hidden" : "visible"
    }" });
      document.dispatchEvent(new Event("visibilitychange"));
    })()`);
  }

  const now = () => page.evaluate<number>("Date.now()");
  return { context, page, advance, polls, setHidden, now };
}

const gaps = (polls: ListPoll[]) => polls.slice(1).map((poll, index) => poll.at - polls[index].at);

dbTest(
  "9. Polling settles: with nothing active it stops (no request in 3 minutes); showing the tab again asks once, with If-None-Match, answered 304",
  async () => {
    const userId = await createUser();
    await createConversation(userId, { title: "Refund for a double-charged annual subscription" });
    const done = await exportAndWait(await userToken(userId), { format: "jsonl" }, 60);
    assert.equal(done.status, "completed");
    const { context, page, advance, polls, setHidden, now } = await pollingPage(userId);
    try {
      await page.locator(`tr[data-export-id="${done.export_id}"][data-status=completed]`).waitFor();
      await advance(180_000, 2000);
      const idle = await polls();
      const report = JSON.stringify(idle.map((poll) => [poll.at - idle[0].at, poll.status]));
      assert.equal(idle.length, 1, `one read, then nothing while nothing is active: ${report}`);
      assert.equal(idle[0].status, 200, "the first read has a body");

      // The user comes back to the tab: one conditional request, and nothing changed.
      await setHidden(true);
      await advance(10_000, 2000);
      const shownAt = await now();
      await setHidden(false);
      await advance(60_000, 2000);
      const back = (await polls()).filter((poll) => poll.at >= shownAt);
      assert.equal(back.length, 1, `one request when the tab shows again: ${JSON.stringify(back)}`);
      assert.match(back[0].ifNoneMatch ?? "", /^"[^"]+"$/, "it sends the ETag it holds");
      assert.equal(back[0].status, 304, "answered 304: nothing changed");
    } finally {
      await context.close();
    }
  },
);

pausedTest(
  "9. Polling: while an export runs and its progress moves, polls are about 1.5 s apart (≤ 2.5 s); hidden, the tab sends none; shown, it asks at once; not moving, it backs off to 5 s",
  async () => {
    const sql = testSql();
    const userId = await createUser();
    await seedConversations(userId, 40, { turns: 2, contentLength: 40 });
    const created = await api("", { token: await userToken(userId), body: { format: "jsonl" } });
    assert.equal(created.status, 202);
    const { export_id: exportId, id } = created.body;
    const { context, page, advance, polls, setHidden, now } = await pollingPage(userId);
    try {
      const bar = page.locator(`tr[data-export-id="${exportId}"]`).getByRole("progressbar");
      await bar.waitFor();
      // The worker is paused: SQL moves the progress, one conversation a second of page time.
      let processed = 0;
      const start = await now();
      await advance(15_000, 500, async () => {
        if ((await now()) - start >= (processed + 1) * 1000) {
          processed += 1;
          await sql`update exports_internal.export_jobs set processed = ${processed} where export_log_id = ${id}`;
        }
      });
      const active = (await polls()).filter((poll) => poll.at >= start);
      const report = JSON.stringify(active.map((poll) => [poll.at - start, poll.status]));
      assert.ok(active.length >= 7, `polls while the export runs: ${report}`);
      for (const gap of gaps(active)) {
        assert.ok(gap <= 2500, `polls ${gap} ms apart while running: ${report}`);
      }
      // The bar followed: it shows a count SQL wrote in the last few seconds.
      const shown = Number(await bar.getAttribute("aria-valuenow"));
      assert.ok(shown >= processed - 3 && shown <= processed, `progress ${shown} of ${processed}`);
      assert.equal(await bar.getAttribute("aria-valuemax"), "40");

      // Hidden: a minute of page time passes, progress moves, and nothing is asked.
      await setHidden(true);
      const hiddenAt = await now();
      await sql`update exports_internal.export_jobs set processed = 30 where export_log_id = ${id}`;
      await advance(60_000, 2000);
      const whileHidden = (await polls()).filter((poll) => poll.at > hiddenAt);
      assert.deepEqual(whileHidden, [], "no poll while the tab is hidden");

      // Shown again: it asks at once and shows what changed meanwhile.
      const shownAt = await now();
      await setHidden(false);
      await advance(500, 100);
      const afterShow = (await polls()).filter((poll) => poll.at >= shownAt);
      assert.ok(
        afterShow.length >= 1 && afterShow[0].at - shownAt < 500,
        "a poll as soon as the tab shows",
      );
      await page.waitForFunction(
        `document.querySelector('tr[data-export-id="${exportId}"] [role=progressbar]')?.getAttribute("aria-valuenow") === "30"`,
      );

      // Still running but not moving (waiting in the queue, say): it backs off, to 5 s at most,
      // so the export's next move shows within seconds.
      const stillAt = await now();
      await advance(40_000, 250);
      const still = (await polls()).filter((poll) => poll.at >= stillAt);
      const stillReport = JSON.stringify(still.map((poll) => [poll.at - stillAt, poll.status]));
      assert.ok(still.length >= 8, `polls while nothing moves: ${stillReport}`);
      for (const gap of gaps(still)) assert.ok(gap <= 5_500, `${gap} ms apart: ${stillReport}`);
      assert.ok(gaps(still).some((gap) => gap > 2_000), `it backs off: ${stillReport}`);
    } finally {
      await context.close();
      await closeBrowser();
    }
  },
);
