/**
 * The README's screenshots (docs/ui/*.png when UPDATE_SCREENSHOTS=1, else a temporary folder),
 * each at 1280 and 375 px, on realistic data. Each also asserts what it shows, so a picture of a
 * broken page fails instead of being committed.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  closeBrowser,
  DESKTOP,
  newContext,
  openSignedIn,
  PHONE,
  screenshot,
} from "../support/browser.ts";
import {
  exportsInStates,
  REALISTIC_FILTER_MATCHES,
  seedRealistic,
} from "../support/browser_fixtures.ts";
import { createUser, dbTest } from "../support/database.ts";

const VIEWPORTS = [DESKTOP, PHONE];

/**
 * The Conversations page with filters applied through the filter bar (approved or pending
 * review, scenario or edge case, quality ≥ 7) and the first two matches selected.
 */
async function filteredWithSelection(page: Page, userId: string): Promise<void> {
  await openSignedIn(page, userId, "/?view=conversations");
  await page.locator("tr[data-conversation-id]").first().waitFor();
  const filters = page.getByRole("search", { name: "Filter conversations" });
  const status = filters.getByRole("group", { name: "Status" });
  await status.getByRole("checkbox", { name: "Approved" }).check();
  await status.getByRole("checkbox", { name: "Pending review" }).check();
  const tier = filters.getByRole("group", { name: "Tier" });
  await tier.getByRole("checkbox", { name: "Scenario" }).check();
  await tier.getByRole("checkbox", { name: "Edge case" }).check();
  await filters.getByLabel("Quality min").fill("7");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/qualityMin=7/);
  const query = new URL(page.url()).searchParams;
  assert.equal(query.get("statuses"), "approved,pending_review");
  assert.equal(query.get("tiers"), "scenario,edge_case");

  const count = page.locator(".list-count");
  await count.filter({ hasText: `${REALISTIC_FILTER_MATCHES} conversations match · 0 selected` })
    .waitFor();
  const rows = page.locator("tr[data-conversation-id]");
  assert.equal(await rows.count(), REALISTIC_FILTER_MATCHES);
  for (const index of [0, 1]) await rows.nth(index).getByRole("checkbox").check();
  await count.filter({ hasText: `${REALISTIC_FILTER_MATCHES} conversations match · 2 selected` })
    .waitFor();
  assert.equal(await page.locator("tr[data-conversation-id].selected").count(), 2);
  // Every row shown satisfies the filters: its quality is at least 7.
  for (const quality of await rows.locator('[data-label="Quality"]').allInnerTexts()) {
    assert.ok(Number(quality) >= 7, `quality ${quality}`);
  }
}

/**
 * Makes the viewport tall enough for the whole dialog (and the page behind it), so the picture
 * shows the choices and the preview together, with the backdrop over all of the page; then
 * checks that nothing of the dialog is scrolled out of sight.
 */
async function fitDialog(page: Page, width: number): Promise<void> {
  await page.evaluate("window.scrollTo(0, 0)");
  const dialogHeight = await page.evaluate<number>(
    'document.querySelector("dialog[open]").scrollHeight',
  );
  const pageHeight = await page.evaluate<number>("document.documentElement.scrollHeight");
  await page.setViewportSize({ width, height: Math.max(pageHeight, dialogHeight + 32) });
  const scrolled = await page.evaluate<number>(
    '(() => { const d = document.querySelector("dialog[open]"); return d.scrollHeight - d.clientHeight; })()',
  );
  assert.ok(scrolled <= 1, `the whole dialog is in the picture (${scrolled}px hidden)`);
}

dbTest(
  "screenshots: conversations-1280/-375 (filters applied, 2 selected) and export-dialog-1280/-375 (JSONL with its preview)",
  async () => {
    const userId = await createUser();
    await seedRealistic(userId);
    for (const viewport of VIEWPORTS) {
      const context = await newContext(viewport);
      try {
        const page = await context.newPage();
        await filteredWithSelection(page, userId);
        await page.mouse.move(0, 0);
        await screenshot(page, `conversations-${viewport.width}`);

        await page.getByRole("button", { name: "Export…" }).click();
        const dialog = page.getByRole("dialog", { name: "Export conversations" });
        const scope = dialog.getByRole("group", { name: "Scope" }).getByRole("radio", {
          name: /2 selected/,
        });
        assert.ok(await scope.isChecked(), "the selection is the scope");
        assert.equal(await dialog.getByLabel("Format").inputValue(), "jsonl");
        assert.equal(await dialog.getByLabel("Training layout").inputValue(), "openai");
        await dialog.getByRole("status").filter({
          hasText: "This export will hold 2 conversations.",
        })
          .waitFor();
        const sample = await dialog.getByRole("region", { name: "Sample of the file" }).innerText();
        const lines = sample.trim().split("\n").map((line) => JSON.parse(line));
        assert.equal(lines.length, 2, "the preview shows both selected conversations");
        for (const line of lines) assert.equal(line.messages[0].role, "system");
        assert.ok(await dialog.getByRole("button", { name: "Export" }).isEnabled());
        await fitDialog(page, viewport.width);
        await screenshot(page, `export-dialog-${viewport.width}`);
      } finally {
        await context.close();
      }
    }
  },
);

dbTest(
  "screenshots: history-1280/-375 (one processing at 50 % with its bar, one failed with its message, one completed)",
  async () => {
    const userId = await createUser();
    const ids = [...(await seedRealistic(userId)).values()];
    const states = await exportsInStates(userId, {
      completed: {
        format: "jsonl",
        config: { scope: "selected", conversationIds: ids.slice(0, 3) },
      },
      processing: {
        format: "json",
        config: { scope: "filtered", filters: { statuses: ["approved"], qualityMin: 8 } },
      },
      failed: {
        format: "csv",
        config: {
          scope: "filtered",
          filters: { statuses: ["approved", "pending_review"], tiers: ["edge_case"] },
        },
      },
    });
    try {
      assert.equal(states.total, 6, "6 approved conversations score 8 or more");
      for (const viewport of VIEWPORTS) {
        const context = await newContext(viewport);
        try {
          const page = await context.newPage();
          await openSignedIn(page, userId);
          const row = (id: string) => page.locator(`tr[data-export-id="${id}"]`);

          const bar = row(states.processingId).getByRole("progressbar");
          await bar.waitFor();
          assert.equal(await bar.getAttribute("aria-valuenow"), "3");
          assert.equal(await bar.getAttribute("aria-valuemax"), "6");
          assert.equal(await bar.getAttribute("aria-valuetext"), "3 / 6 conversations (50%)");
          assert.match(await row(states.processingId).innerText(), /Processing/);

          const failed = row(states.failedId);
          assert.equal(await failed.locator(".row-error").innerText(), states.errorMessage);
          assert.match(await failed.innerText(), /Failed/);
          await failed.getByRole("button", { name: "Retry" }).waitFor();

          const completed = row(states.completed.export_id);
          assert.match(await completed.innerText(), /Completed/);
          assert.match(await completed.innerText(), /3 selected/);
          assert.match(await completed.innerText(), /expires in \d+ (d|h)/);
          await completed.getByRole("button", { name: "Download" }).waitFor();
          assert.equal(await page.locator(".list-count").innerText(), "3 exports");

          await page.getByRole("region", { name: "Usage" }).getByText("Active").waitFor();
          await page.mouse.move(0, 0);
          await screenshot(page, `history-${viewport.width}`);
        } finally {
          await context.close();
        }
      }
    } finally {
      await states.restore();
      await closeBrowser();
    }
  },
);
