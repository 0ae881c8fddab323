/**
 * The export history in a real browser against the real stack, its worker included (test 4): a
 * large export's progress rises live until it completes and a toast says so; Download saves the
 * very bytes the API serves; Delete removes the row; a failed export shows its message and Retry
 * completes it; Export again reopens the dialog with the export's own settings.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { api } from "../support/api.ts";
import { closeBrowser, newContext, openSignedIn } from "../support/browser.ts";
import {
  createUser,
  dbTest,
  seedConversations,
  testSql,
  withSettings,
} from "../support/database.ts";
import { download } from "../support/exports.ts";
import { wrapRendering } from "../support/render_wrapper.ts";
import { userToken } from "../support/tokens.ts";

/** Reads the row's progress bar every 100 ms until the row says `completed`. */
async function progressUntilCompleted(page: Page, exportId: string): Promise<number[]> {
  const row = page.locator(`tr[data-export-id="${exportId}"]`);
  const seen: number[] = [];
  const deadline = Date.now() + 60_000;
  while ((await row.getAttribute("data-status")) !== "completed") {
    if (Date.now() > deadline) throw new Error(`still ${await row.getAttribute("data-status")}`);
    const value = await row.getByRole("progressbar").getAttribute("aria-valuenow", {
      timeout: 1_000,
    })
      .catch(() => null);
    if (value !== null && Number(value) !== seen.at(-1)) seen.push(Number(value));
    await page.waitForTimeout(100);
  }
  return seen;
}

dbTest(
  "4. a large export's progress rises live, then completes with a toast; Download saves the API's bytes; Delete removes the row",
  async () => {
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 120, { turns: 2, contentLength: 200 });
    // Slow batches of 10: the export takes a few seconds, long enough to watch it move.
    const restoreSettings = await withSettings({ batch_size: 10 });
    const restoreRendering = await wrapRendering(userId, { delaySeconds: 0.3 });
    const context = await newContext();
    try {
      const page = await context.newPage();
      const created = await api("", {
        token,
        body: { format: "jsonl", config: { template: "sharegpt" } },
      });
      assert.equal(created.status, 202);
      const exportId = created.body.export_id;
      await openSignedIn(page, userId);
      const progress = await progressUntilCompleted(page, exportId);
      const intermediate = progress.filter((value) => value > 0 && value < 120);
      assert.ok(intermediate.length >= 2, `progress seen: ${progress}`);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b), `rising: ${progress}`);

      const toast = page.getByRole("complementary", { name: "Notifications" }).locator("div.toast")
        .filter({ hasText: "Export completed" });
      await toast.first().waitFor();
      assert.ok(await toast.first().getByRole("button", { name: "Download" }).isVisible());
      await restoreRendering();

      const row = page.locator(`tr[data-export-id="${exportId}"]`);
      const [saved] = await Promise.all([
        page.waitForEvent("download"),
        row.getByRole("button", { name: "Download" }).click(),
      ]);
      assert.equal(saved.suggestedFilename(), `export-${exportId}.jsonl`);
      const savedBytes = await Deno.readFile(await saved.path());
      const log = (await api(`/${exportId}`, { token })).body;
      assert.deepEqual(
        savedBytes,
        (await download(log)).bytes,
        "the same bytes as the API's download",
      );
      assert.equal(savedBytes.length, log.file_size);

      await row.getByRole("button", { name: "Delete" }).click();
      const confirm = page.getByRole("alertdialog", { name: "Delete this export?" });
      await confirm.getByRole("button", { name: "Delete" }).click();
      await row.waitFor({ state: "detached" });
      assert.equal((await api(`/${exportId}`, { token })).status, 404, "deleted in the API too");
    } finally {
      await restoreRendering().catch(() => {});
      await restoreSettings();
      await context.close();
    }
  },
);

dbTest(
  "4. a failed export shows its message and Retry completes it; Export again reopens the dialog with its settings",
  async () => {
    const sql = testSql();
    const userId = await createUser();
    const token = await userToken(userId);
    await seedConversations(userId, 6, { turns: 2, contentLength: 80 });
    const config = {
      template: "alpaca",
      systemPrompt: "Answer briefly.",
      includeTimestamps: false,
      scope: "filtered",
      filters: { tiers: ["template"], statuses: ["approved"] },
    };
    // Kept queued while it is made to fail, as a worker would after its last attempt.
    const restorePaused = await withSettings({ processing_paused: true });
    let exportId: string;
    try {
      const created = await api("", { token, body: { format: "jsonl", config } });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      exportId = created.body.export_id;
      await sql`update public.export_logs set status = 'processing' where export_id = ${exportId}`;
      await sql`update public.export_logs set status = 'failed',
                error_message = 'The export failed: the database was restarted during generation.'
              where export_id = ${exportId}`;
    } finally {
      await restorePaused();
    }
    const context = await newContext();
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId);
      const row = page.locator(`tr[data-export-id="${exportId}"]`);
      await row.getByText("The export failed: the database was restarted during generation.")
        .waitFor();
      assert.equal(await row.getAttribute("data-status"), "failed");

      await row.getByRole("button", { name: "Retry" }).click();
      await row.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
      assert.equal((await api(`/${exportId}`, { token })).body.status, "completed");

      await row.getByRole("button", { name: "Export again" }).click();
      const dialog = page.getByRole("dialog", { name: "Export again" });
      await dialog.waitFor();
      assert.equal(await dialog.getByLabel("Format").inputValue(), "jsonl");
      assert.equal(await dialog.getByLabel("Training layout").inputValue(), "alpaca");
      assert.equal(
        await dialog.getByLabel("System prompt (optional)").inputValue(),
        "Answer briefly.",
      );
      const include = dialog.getByRole("group", { name: "Include" });
      assert.equal(await include.getByLabel("Timestamps").isChecked(), false);
      assert.equal(await include.getByLabel("Metadata").isChecked(), true);
      const scope = dialog.getByRole("group", { name: "Scope" }).getByRole("radio", {
        checked: true,
      });
      assert.match(await scope.locator("xpath=..").innerText(), /matching the filters/);
      await dialog.getByRole("status").filter({ hasText: "This export will hold 6 conversations" })
        .waitFor();
    } finally {
      await context.close();
      await closeBrowser();
    }
  },
);
