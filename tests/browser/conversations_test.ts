/**
 * The conversations page and the export dialog in a real browser against the real stack:
 * every filter narrows the table and the count exactly as the API does, the URL carries them
 * and back/forward restore them, the selection survives paging (test 2); the dialog's preview is
 * the opening of the file that export then produces, alpaca skips are shown, Export is disabled
 * with its reason when nothing matches or a limit is reached, and a double click creates one
 * export (test 3).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { api } from "../support/api.ts";
import { closeBrowser, newContext, openSignedIn } from "../support/browser.ts";
import {
  countExportRows,
  createConversation,
  createUser,
  dbTest,
  pausedTest,
  withSettings,
} from "../support/database.ts";
import { download } from "../support/exports.ts";
import { userToken } from "../support/tokens.ts";

interface Seed {
  id?: string;
  title: string;
  tier: "template" | "scenario" | "edge_case";
  status: string;
  quality_score: number | null;
  category: string[];
  persona: string;
  emotion: string;
  created_at: string;
}

/** 24 conversations, one a day from 2026-01-01 (noon UTC), with every attribute varied. */
function seeds(): Seed[] {
  const tiers = ["template", "scenario", "edge_case"] as const;
  const statuses = ["approved", "approved", "pending_review", "draft"];
  return Array.from({ length: 24 }, (_, i) => ({
    title: `${i % 4 === 0 ? "Refund" : "Shipping"} case ${String(i).padStart(2, "0")}`,
    tier: tiers[i % 3],
    status: statuses[i % 4],
    quality_score: i % 5 === 0 ? null : (i % 10) + 0.5,
    category: i % 2 === 0 ? ["billing"] : ["logistics", "billing"].slice(i % 3 === 0 ? 0 : 1),
    persona: i % 3 === 0 ? "frustrated customer" : "calm",
    emotion: i % 4 === 1 ? "angry" : "neutral",
    created_at: new Date(Date.UTC(2026, 0, 1 + i, 12)).toISOString(),
  }));
}

async function seedUser(): Promise<{ userId: string; rows: Seed[] }> {
  const userId = await createUser();
  const rows = seeds();
  for (const row of rows) row.id = await createConversation(userId, row);
  return { userId, rows };
}

/**
 * What the page shows, once settled (the count line says `count` when given, and the table is
 * not waiting for an answer): the count line and the ids of the table's rows.
 */
async function shown(page: Page, count?: string): Promise<{ count: string; ids: string[] }> {
  if (count !== undefined) {
    await page.locator("p.list-count").filter({ hasText: new RegExp(`^${count}$`) }).waitFor();
  }
  await page.locator("table[aria-busy]").waitFor({ state: "detached" });
  return {
    count: await page.locator("p.list-count").innerText(),
    ids: await page.locator("tr[data-conversation-id]").evaluateAll(
      (rows) => rows.map((row) => row.getAttribute("data-conversation-id") ?? ""),
    ),
  };
}

/** Clears the filter form by hand, fills it, and applies it: one history entry per apply. */
async function applyFilters(page: Page, fill: () => Promise<void>): Promise<void> {
  const form = page.getByRole("search", { name: "Filter conversations" });
  for (const box of await form.locator("input[type=checkbox]").all()) await box.uncheck();
  for (const field of await form.locator("input:not([type=checkbox])").all()) await field.fill("");
  await fill();
  await page.getByRole("button", { name: "Apply filters" }).click();
}

/** Waits until the field shows `value` (the form follows the URL after back/forward). */
async function assertFieldValue(page: Page, label: string, value: string): Promise<void> {
  const field = page.getByLabel(label);
  for (let waited = 0; (await field.inputValue()) !== value && waited < 5_000; waited += 50) {
    await page.waitForTimeout(50);
  }
  assert.equal(await field.inputValue(), value, label);
}

const matchLine = (n: number, selected: number) =>
  `${n} conversation${n === 1 ? " matches" : "s match"} · ${selected} selected`;

dbTest(
  "2. each filter narrows the table and the count exactly as the API does; the URL carries the filters; back/forward restore them",
  async () => {
    const { userId, rows } = await seedUser();
    const token = await userToken(userId);
    const approved = (row: Seed) => row.status === "approved";
    // Each filter alone, with what it must show: computed here from the seeds (an oracle of its
    // own), and checked against what the API answers for the same filter.
    const cases: {
      name: string;
      fill: (page: Page) => Promise<void>;
      url: RegExp;
      filters: Record<string, unknown>;
      expected: (row: Seed) => boolean;
    }[] = [
      {
        name: "statuses",
        fill: async (page) => {
          await page.getByRole("group", { name: "Status" }).getByLabel("Pending review").check();
          await page.getByRole("group", { name: "Status" }).getByLabel("Draft").check();
        },
        url: /statuses=(pending_review%2Cdraft|draft%2Cpending_review)/,
        filters: { statuses: ["pending_review", "draft"] },
        expected: (row) => row.status === "pending_review" || row.status === "draft",
      },
      {
        name: "tiers",
        fill: (page) => page.getByRole("group", { name: "Tier" }).getByLabel("Edge case").check(),
        url: /tiers=edge_case/,
        filters: { tiers: ["edge_case"] },
        expected: (row) => approved(row) && row.tier === "edge_case",
      },
      {
        name: "quality min and max",
        fill: async (page) => {
          await page.getByLabel("Quality min").fill("3");
          await page.getByLabel("Quality max").fill("7.5");
        },
        url: /qualityMin=3&qualityMax=7\.5/,
        filters: { qualityMin: 3, qualityMax: 7.5 },
        expected: (row) =>
          approved(row) && row.quality_score !== null && row.quality_score >= 3 &&
          row.quality_score <= 7.5,
      },
      {
        name: "created from and until (days, inclusive)",
        fill: async (page) => {
          await page.getByLabel("Created from").fill("2026-01-05");
          await page.getByLabel("Created until").fill("2026-01-14");
        },
        url: /createdFrom=2026-01-05&createdTo=2026-01-14/,
        filters: { createdFrom: "2026-01-05T00:00:00Z", createdTo: "2026-01-14T23:59:59.999Z" },
        expected: (row) =>
          approved(row) && row.created_at >= "2026-01-05" && row.created_at < "2026-01-15",
      },
      {
        name: "categories",
        fill: (page) => page.getByLabel("Categories").fill("logistics"),
        url: /categories=logistics/,
        filters: { categories: ["logistics"] },
        expected: (row) => approved(row) && row.category.includes("logistics"),
      },
      {
        name: "personas",
        fill: (page) => page.getByLabel("Personas").fill("frustrated customer"),
        url: /personas=frustrated/,
        filters: { personas: ["frustrated customer"] },
        expected: (row) => approved(row) && row.persona === "frustrated customer",
      },
      {
        name: "emotions",
        fill: (page) => page.getByLabel("Emotions").fill("angry, neutral"),
        url: /emotions=angry/,
        filters: { emotions: ["angry", "neutral"] },
        expected: (row) => approved(row) && ["angry", "neutral"].includes(row.emotion),
      },
      {
        name: "search",
        fill: (page) => page.getByLabel("Title contains").fill("REFUND"),
        url: /search=REFUND/,
        filters: { search: "REFUND" },
        expected: (row) => approved(row) && row.title.toLowerCase().includes("refund"),
      },
    ];

    const context = await newContext();
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId, "/?view=conversations&limit=100");
      const all = await shown(page, matchLine(rows.filter(approved).length, 0));
      assert.equal(all.ids.length, rows.filter(approved).length, "no filter: all approved");

      const urls: string[] = [];
      for (const testCase of cases) {
        await applyFilters(page, () => testCase.fill(page));
        await page.waitForURL(testCase.url);
        const expectedIds = rows.filter(testCase.expected).map((row) => row.id);
        const fromApi = await api("/preview?limit=100", {
          token,
          body: { format: "json", config: { scope: "filtered", filters: testCase.filters } },
        });
        assert.equal(
          fromApi.body.conversation_count,
          expectedIds.length,
          `${testCase.name}: the API`,
        );
        assert.ok(expectedIds.length > 0 && expectedIds.length < rows.length, testCase.name);
        const view = await shown(page, matchLine(expectedIds.length, 0));
        assert.deepEqual(
          view.ids,
          fromApi.body.conversations.map((c: { id: string }) => c.id),
          testCase.name,
        );
        assert.deepEqual([...view.ids].sort(), [...expectedIds].sort(), testCase.name);
        urls.push(page.url());
      }

      // Back and forward walk the filters applied, form and table included.
      await page.goBack();
      await page.waitForURL(urls.at(-2)!);
      await assertFieldValue(page, "Emotions", "angry, neutral");
      await assertFieldValue(page, "Title contains", "");
      await shown(page, matchLine(rows.filter(cases.at(-2)!.expected).length, 0));
      await page.goBack();
      await page.waitForURL(urls.at(-3)!);
      await assertFieldValue(page, "Personas", "frustrated customer");
      await page.goForward();
      await page.goForward();
      await page.waitForURL(urls.at(-1)!);
      await assertFieldValue(page, "Title contains", "REFUND");
      await shown(page, matchLine(rows.filter(cases.at(-1)!.expected).length, 0));

      // A bookmarked view opens as it was (in the same tab: the token lives in sessionStorage).
      const bookmarked = page;
      await bookmarked.goto(urls[2]);
      await bookmarked.getByRole("heading", { name: "Conversations", level: 1 }).waitFor();
      await assertFieldValue(bookmarked, "Quality min", "3");
      await shown(bookmarked, matchLine(rows.filter(cases[2].expected).length, 0));
    } finally {
      await context.close();
    }
  },
);

dbTest("2. the selection survives paging and filtering", async () => {
  const { userId, rows } = await seedUser();
  const context = await newContext();
  try {
    const page = await context.newPage();
    await openSignedIn(page, userId, "/?view=conversations&limit=10");
    const firstPage = (await shown(
      page,
      matchLine(rows.filter((r) => r.status === "approved").length, 0),
    )).ids;
    await page.locator(`tr[data-conversation-id="${firstPage[0]}"] input[type=checkbox]`).check();
    await page.locator(`tr[data-conversation-id="${firstPage[3]}"] input[type=checkbox]`).check();
    await page.getByRole("navigation", { name: "Pages of conversations" })
      .getByRole("button", { name: "Next page" }).click();
    await page.waitForURL(/page=2/);
    const secondPage = (await shown(page)).ids;
    assert.notDeepEqual(secondPage, firstPage);
    await page.getByRole("button", { name: "Select page" }).click();
    assert.match((await shown(page)).count, / · 4 selected$/);

    await page.goBack();
    await page.waitForURL((url) => !url.search.includes("page=2"));
    assert.deepEqual((await shown(page)).ids, firstPage);
    for (const [index, id] of firstPage.entries()) {
      assert.equal(
        await page.locator(`tr[data-conversation-id="${id}"] input[type=checkbox]`).isChecked(),
        index === 0 || index === 3,
      );
    }
    // A filter that hides most of them keeps them selected.
    await applyFilters(page, () => page.getByLabel("Title contains").fill("refund"));
    assert.match((await shown(page)).count, / · 4 selected$/);

    await page.getByRole("button", { name: "Export…" }).click();
    const dialog = page.getByRole("dialog", { name: "Export conversations" });
    const selectedScope = dialog.getByRole("radio", { name: "The 4 selected conversations" });
    assert.ok(await selectedScope.isChecked(), "the selection is the export's scope");
    await dialog.getByRole("status").filter({ hasText: "This export will hold 4 conversations" })
      .waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("button", { name: "Clear selection" }).click();
    assert.match((await shown(page)).count, / · 0 selected$/);
    assert.ok(rows.length > 4);
  } finally {
    await context.close();
  }
});

/** Opens the export dialog from the conversations page and waits for its preview. */
async function openExportDialog(page: Page) {
  await page.getByRole("button", { name: "Export…" }).click();
  const dialog = page.getByRole("dialog", { name: "Export conversations" });
  await dialog.waitFor();
  return dialog;
}

dbTest(
  "3. the preview is the opening of the file that export then produces, byte for byte; alpaca skips are shown",
  async () => {
    const userId = await createUser();
    for (let i = 0; i < 5; i++) {
      await createConversation(userId, {
        title: `Conversation ${i} “quoted”, café`,
        created_at: new Date(Date.UTC(2026, 1, 1 + i)).toISOString(),
        turns: i === 1
          ? [{ role: "user", content: "Still there?" }] // alpaca leaves this one out
          : [
            { role: "user", content: `Question ${i}: why, "exactly"?\nSecond line\ttab` },
            { role: "assistant", content: `Answer ${i} — naïve 😀` },
          ],
      });
    }
    const token = await userToken(userId);
    const context = await newContext();
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId, "/?view=conversations");
      const dialog = await openExportDialog(page);
      await dialog.getByLabel("Format").selectOption("jsonl");
      await dialog.getByLabel("Training layout").selectOption("alpaca");
      await dialog.getByText("1 of the first 3 would be skipped").waitFor();
      await dialog.getByLabel("Training layout").selectOption("sharegpt");
      await dialog.getByLabel("System prompt (optional)").fill("You are a support agent.");
      const sample = dialog.getByRole("region", { name: "Sample of the file" }).locator("pre");
      await sample.filter({ hasText: "You are a support agent." }).waitFor();
      await dialog.getByRole("status").filter({ hasText: "This export will hold 5 conversations" })
        .waitFor();
      const previewText = await sample.textContent();
      assert.equal(previewText?.split("\n").filter(Boolean).length, 3, "the first 3 records");

      await dialog.getByRole("button", { name: "Export" }).click();
      await page.getByRole("heading", { name: "Export history", level: 1 }).waitFor();
      const row = page.locator("tr.highlighted[data-export-id]");
      await row.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
      const exportId = await row.getAttribute("data-export-id");
      const log = (await api(`/${exportId}`, { token })).body;
      assert.equal(log.config.template, "sharegpt");
      const file = (await download(log)).bytes;
      const previewBytes = new TextEncoder().encode(previewText!);
      assert.deepEqual(
        file.slice(0, previewBytes.length),
        previewBytes,
        "the file begins with the preview",
      );
    } finally {
      await context.close();
    }
  },
);

pausedTest(
  "3. Export is disabled with its reason when nothing matches or a limit is reached; a double click creates one export",
  async () => {
    const userId = await createUser();
    const token = await userToken(userId);
    await createConversation(userId, { title: "Only one" });
    const context = await newContext();
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId, "/?view=conversations&search=nothing-like-this");
      let dialog = await openExportDialog(page);
      await dialog.getByRole("status").filter({ hasText: "No conversations match this scope." })
        .waitFor();
      const exportButton = dialog.getByRole("button", { name: "Export", exact: true });
      assert.ok(await exportButton.isDisabled());
      assert.match(await dialog.locator("#export-blocked").innerText(), /nothing to export/);
      await page.keyboard.press("Escape");

      // A double click: one export.
      await page.goto(page.url().replace(/search=[^&]*/, ""));
      dialog = await openExportDialog(page);
      await dialog.getByRole("status").filter({ hasText: "This export will hold 1 conversation" })
        .waitFor();
      await dialog.getByRole("button", { name: "Export", exact: true }).dblclick();
      await page.getByRole("heading", { name: "Export history", level: 1 }).waitFor();
      await page.locator("tr[data-export-id]").first().waitFor();
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await countExportRows(userId), 1, "one export for a double click");
      assert.equal(await page.locator("tr[data-export-id]").count(), 1);

      // At the active limit (1, and that export is queued): disabled, saying which limit.
      const restore = await withSettings({ max_active_exports: 1 });
      try {
        await page.getByRole("link", { name: "Conversations", exact: true }).click();
        dialog = await openExportDialog(page);
        await dialog.getByRole("status").filter({ hasText: "This export will hold 1 conversation" })
          .waitFor();
        await dialog.locator("#export-blocked").filter({ hasText: "Limit reached" }).waitFor();
        assert.match(await dialog.locator("#export-blocked").innerText(), /queued or processing/);
        assert.ok(await dialog.getByRole("button", { name: "Export", exact: true }).isDisabled());
        const usage = page.getByRole("region", { name: "Usage" });
        assert.match(await usage.innerText(), /1 \/ 1/);
      } finally {
        await restore();
      }
      assert.equal((await api("/usage", { token })).body.active.used, 1);
    } finally {
      await context.close();
      await closeBrowser();
    }
  },
);
