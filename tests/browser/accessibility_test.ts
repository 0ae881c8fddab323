/**
 * Spec "Behaviour everywhere" (7. Accessibility): axe-core finds no serious or critical violation
 * on any screen the user meets (sign-in, history with exports in every state, conversations with
 * filters and a selection, the export dialog with its preview, the delete confirmation, and both
 * pages at 375 px), and a whole export can be made with the keyboard alone, every focused
 * control visible, the dialog keeping focus inside and closing on Escape.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { api } from "../support/api.ts";
import {
  assertAccessible,
  closeBrowser,
  newContext,
  openSignedIn,
  PHONE,
  webUrl,
} from "../support/browser.ts";
import {
  exportsInStates,
  focused,
  type FocusedElement,
  REALISTIC_FILTER_QUERY,
  seedRealistic,
  visibleFocusProblem,
} from "../support/browser_fixtures.ts";
import { createUser, dbTest } from "../support/database.ts";
import { userToken } from "../support/tokens.ts";

dbTest("7. Accessibility: the sign-in screen (no token) has no serious axe violation", async () => {
  const context = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(webUrl());
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await page.getByLabel("Access token").waitFor();
    await assertAccessible(page, "sign-in screen");
  } finally {
    await context.close();
  }
});

dbTest(
  "7. Accessibility: the history page (completed, processing, failed) at 1280 and 375 px, and its delete confirmation",
  async () => {
    const userId = await createUser();
    await seedRealistic(userId);
    const states = await exportsInStates(userId, {
      completed: { format: "jsonl", config: { scope: "all" } },
      processing: { format: "json", config: { scope: "filtered", filters: { qualityMin: 8 } } },
      failed: { format: "csv", config: { scope: "filtered", filters: { tiers: ["edge_case"] } } },
    });
    const context = await newContext();
    const phone = await newContext(PHONE);
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId);
      await historyShowsEveryState(page, states.failedId);
      await assertAccessible(page, "history page at 1280 px");

      // The confirmation is an alertdialog with Cancel focused first, so Enter cannot delete.
      await page.locator(`tr[data-export-id="${states.failedId}"]`)
        .getByRole("button", { name: "Delete" }).click();
      const confirm = page.getByRole("alertdialog", { name: "Delete this export?" });
      await confirm.waitFor();
      assert.equal((await focused(page))?.name, "Cancel");
      await assertAccessible(page, "delete confirmation dialog");
      await page.keyboard.press("Escape");
      await confirm.waitFor({ state: "hidden" });
      assert.equal(await page.locator("tr[data-export-id]").count(), 3, "Escape deleted nothing");
      const back = await focused(page);
      assert.deepEqual(
        [back?.name, back?.rowId],
        ["Delete", states.failedId],
        "focus returns to Delete",
      );

      const small = await phone.newPage();
      await openSignedIn(small, userId);
      await historyShowsEveryState(small, states.failedId);
      await assertAccessible(small, "history page at 375 px");
    } finally {
      await context.close();
      await phone.close();
      await states.restore();
    }
  },
);

async function historyShowsEveryState(page: Page, failedId: string): Promise<void> {
  await page.getByRole("heading", { level: 1, name: "Export history" }).waitFor();
  for (const status of ["completed", "processing", "failed"]) {
    await page.locator(`tr[data-export-id][data-status="${status}"]`).waitFor();
  }
  await page.getByRole("progressbar").waitFor();
  await page.locator(`tr[data-export-id="${failedId}"] .row-error`).waitFor();
}

dbTest(
  "7. Accessibility: conversations with filters and a selection, and the export dialog with its preview, at 1280 and 375 px",
  async () => {
    const userId = await createUser();
    await seedRealistic(userId);
    for (const viewport of [undefined, PHONE]) {
      const context = await newContext(viewport);
      try {
        const page = await context.newPage();
        const width = viewport ? "375 px" : "1280 px";
        await openSignedIn(page, userId, `/?${REALISTIC_FILTER_QUERY}`);
        const rows = page.locator("tr[data-conversation-id]");
        await rows.first().waitFor();
        for (const row of [rows.nth(0), rows.nth(1)]) await row.getByRole("checkbox").check();
        await page.getByRole("status").filter({ hasText: "4 conversations match · 2 selected" })
          .waitFor();
        await assertAccessible(page, `conversations page (filters, selection) at ${width}`);

        await page.getByRole("button", { name: "Export…" }).click();
        const dialog = page.getByRole("dialog", { name: "Export conversations" });
        await dialog.getByRole("status").filter({
          hasText: "This export will hold 2 conversations.",
        })
          .waitFor();
        const sample = dialog.getByRole("region", { name: "Sample of the file" }).locator("pre");
        assert.match(await sample.innerText(), /"messages"/, "the JSONL preview is shown");
        await assertAccessible(page, `export dialog with a preview at ${width}`);
      } finally {
        await context.close();
      }
    }
  },
);

/** Presses `key` until the focused element satisfies `wanted`; every element passed must show its focus. */
async function pressUntil(
  page: Page,
  key: string,
  wanted: (element: FocusedElement) => boolean,
  what: string,
  max = 80,
): Promise<FocusedElement> {
  const seen: string[] = [];
  for (let presses = 0; presses < max; presses++) {
    await page.keyboard.press(key);
    const element = await focused(page);
    assert.equal(visibleFocusProblem(element), null, `after ${key} × ${presses + 1} (${what})`);
    if (wanted(element!)) return element!;
    seen.push(`${element!.tag}:${element!.name}`);
  }
  throw new Error(`${what}: not reached with ${key}; focus went through ${seen.join(" → ")}`);
}

const isButton = (name: string) => (element: FocusedElement) =>
  element.tag === "button" && element.name === name;

dbTest(
  "7. Accessibility: a whole export by keyboard only (select, Export…, JSONL, Export, Download), the dialog traps focus and Escape returns it",
  async () => {
    const userId = await createUser();
    const titles = await seedRealistic(userId);
    const context = await newContext();
    try {
      const page = await context.newPage();
      await openSignedIn(page, userId, "/?view=conversations");
      await page.locator("tr[data-conversation-id]").first().waitFor();

      // Tab from the top of the page to the first row's checkbox, and tick it with Space.
      const box = await pressUntil(
        page,
        "Tab",
        (element) => element.type === "checkbox" && element.name.startsWith("Select "),
        "a row's checkbox",
      );
      const title = box.name.slice("Select ".length);
      assert.ok(titles.has(title), `"${title}" is one of the user's conversations`);
      await page.keyboard.press("Space");
      await page.getByRole("status").filter({ hasText: "· 1 selected" }).waitFor();

      // Back to Export… (just before the table) and open the dialog with Enter.
      await pressUntil(page, "Shift+Tab", isButton("Export…"), "Export…", 3);
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog", { name: "Export conversations" });
      await dialog.waitFor();
      const first = await focused(page);
      assert.equal(first?.type, "radio", "focus moves into the dialog, on the chosen scope");
      await dialog.getByRole("status").filter({ hasText: "This export will hold 1 conversation." })
        .waitFor();

      // The trap: Tab from the last control (Export) comes back to the first, Shift+Tab goes back.
      await pressUntil(page, "Tab", isButton("Export"), "the dialog's Export button", 30);
      await page.keyboard.press("Tab");
      const wrapped = await focused(page);
      assert.equal(visibleFocusProblem(wrapped), null, "the first control, wrapped to");
      assert.deepEqual(
        [wrapped?.type, wrapped?.name],
        [first?.type, first?.name],
        "Tab from the last control goes to the first",
      );
      await page.keyboard.press("Shift+Tab");
      assert.equal(
        (await focused(page))?.name,
        "Export",
        "Shift+Tab from the first goes to the last",
      );

      // Escape closes it and gives focus back to the button that opened it.
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      assert.equal((await focused(page))?.name, "Export…", "Escape returns focus to Export…");

      // Again, now for real: the format is chosen with the arrow keys (JSON, then back to JSONL).
      await page.keyboard.press("Enter");
      await dialog.waitFor();
      const format = dialog.getByLabel("Format");
      await pressUntil(page, "Tab", (element) => element.tag === "select", "Format", 5);
      await page.keyboard.press("ArrowUp");
      assert.equal(await format.inputValue(), "json");
      await dialog.getByLabel("Training layout").waitFor({ state: "detached" });
      await page.keyboard.press("ArrowDown");
      assert.equal(await format.inputValue(), "jsonl");
      await dialog.getByLabel("Training layout").waitFor();
      await dialog.getByRole("status").filter({ hasText: "This export will hold 1 conversation." })
        .waitFor();
      await pressUntil(page, "Tab", isButton("Export"), "the dialog's Export button", 30);
      await page.keyboard.press("Enter");

      // The history, with the new export highlighted; once complete, Tab reaches its Download.
      await page.waitForURL(/highlight=/);
      const exportId = new URL(page.url()).searchParams.get("highlight")!;
      await page.locator(`tr[data-export-id="${exportId}"][data-status="completed"]`)
        .waitFor({ timeout: 60_000 });
      await pressUntil(
        page,
        "Tab",
        (element) => element.rowId === exportId && element.name === "Download",
        "the new export's Download",
      );
      const downloading = page.waitForEvent("download");
      await page.keyboard.press("Enter");
      const download = await downloading;
      assert.equal(download.suggestedFilename(), `export-${exportId}.jsonl`);
      const saved = await Deno.readFile((await download.path())!);

      const token = await userToken(userId);
      const log = await api(`/${exportId}`, { token });
      assert.equal(log.body.conversation_count, 1);
      assert.equal(log.body.config.conversationIds[0], titles.get(title));
      const direct = new Uint8Array(await (await fetch(log.body.file_url)).arrayBuffer());
      assert.ok(saved.length > 0);
      assert.deepEqual(saved, direct, "the saved file is the API's file, byte for byte");
      assert.match(new TextDecoder().decode(saved), /^\{"messages":\[/);
    } finally {
      await context.close();
      await closeBrowser();
    }
  },
);
