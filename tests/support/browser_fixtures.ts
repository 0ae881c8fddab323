/**
 * Data and page helpers shared by the browser tests (accessibility, responsive and polling,
 * screenshots): realistic conversations, exports held in every state the history shows, and the
 * in-page checks that must be written as strings (the tests are compiled without DOM types).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { api } from "./api.ts";
import { PHONE } from "./browser.ts";
import { type ConversationSeed, createConversation, testSql, withSettings } from "./database.ts";
import { exportAndWait, type ExportLogBody } from "./exports.ts";
import { userToken } from "./tokens.ts";

function turnsAbout(title: string, persona: string) {
  return [
    { role: "system" as const, content: "You are a calm, precise support agent.", token_count: 9 },
    {
      role: "user" as const,
      content: `Hi, I'm a ${persona}. ${title}: can you help?`,
      token_count: 20,
    },
    {
      role: "assistant" as const,
      content: "Of course. Let me look at your account and walk you through it step by step.",
      token_count: 18,
    },
    { role: "user" as const, content: "Thanks, that would be great.", token_count: 7 },
    {
      role: "assistant" as const,
      content: "Done: I've made the change and sent you a confirmation email.",
      token_count: 15,
    },
  ];
}

type Seed = [string, ConversationSeed["tier"], string, number | null, string[], string, string];

/** Conversations as curators see them: a mix of tiers, statuses, scores and categories. */
// deno-fmt-ignore -- one conversation a line reads as the table it is
const REALISTIC: Seed[] = [
  ["Refund for a double-charged annual subscription", "scenario", "approved", 8.7, ["billing", "refunds"], "frustrated customer", "frustrated"],
  ["Resetting two-factor authentication after losing a phone", "template", "approved", 9.1, ["account-security"], "remote worker", "anxious"],
  ["Explaining a delayed international shipment", "scenario", "approved", 7.8, ["shipping"], "small business owner", "impatient"],
  ["Cancelling a plan mid-cycle without losing data", "edge_case", "approved", 8.2, ["billing", "retention"], "long-time customer", "disappointed"],
  ["Recovering a deleted shared workspace", "edge_case", "pending_review", 6.9, ["data-recovery"], "team admin", "panicked"],
  ["Setting up SSO with an outdated identity provider", "scenario", "needs_revision", 5.4, ["integrations"], "IT manager", "skeptical"],
  ["Disputing an overdraft fee on a joint account", "scenario", "approved", 9.4, ["banking", "fees"], "retiree", "confused"],
  ["Onboarding a new user to the mobile app", "template", "generated", null, ["onboarding"], "first-time user", "curious"],
  ["Accessibility complaint about the checkout flow", "edge_case", "rejected", 4.2, ["accessibility"], "screen reader user", "annoyed"],
  ["Changing the billing currency after moving abroad", "template", "approved", 8.0, ["billing"], "expat", "neutral"],
  ["Troubleshooting a failed weekend bank transfer", "scenario", "draft", null, ["banking"], "freelancer", "worried"],
  ["Requesting a copy of personal data under GDPR", "template", "approved", 8.9, ["privacy"], "privacy-minded user", "calm"],
];

/**
 * Filters that match 4 of the realistic conversations (approved or pending review, tier scenario
 * or edge case, quality ≥ 7), as the Conversations page writes them in its URL.
 */
export const REALISTIC_FILTER_QUERY =
  "view=conversations&statuses=approved,pending_review&tiers=scenario,edge_case&qualityMin=7";
export const REALISTIC_FILTER_MATCHES = 4;

/** Inserts the realistic conversations (newest last); returns their ids by title. */
export async function seedRealistic(userId: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (
    const [index, [title, tier, status, quality, category, persona, emotion]] of REALISTIC.entries()
  ) {
    const created_at = new Date(Date.now() - (REALISTIC.length - index) * 3_600_000).toISOString();
    const seed: ConversationSeed = {
      title,
      tier,
      status,
      quality_score: quality,
      category,
      persona,
      emotion,
      created_at,
      turns: turnsAbout(title, persona),
    };
    ids.set(title, await createConversation(userId, seed));
  }
  return ids;
}

/** A title of 200 characters without a space: nothing can wrap it at a word boundary. */
export const LONG_TITLE = `Escalation_${"VeryLongUnbrokenIdentifier_".repeat(8)}`.slice(0, 200);

/** A failed export's message of 200 characters without a space. */
export const LONG_ERROR = `Generation_failed_${"storage_backend_timeout_".repeat(9)}`.slice(0, 200);

/** Exports in the states the History page shows, held still while processing is paused. */
export interface HistoryStates {
  completed: ExportLogBody;
  processingId: string;
  failedId: string;
  /** conversations processed / total of the processing export */
  processed: number;
  total: number;
  errorMessage: string;
  /** Resumes processing (call it in finally). */
  restore(): Promise<void>;
}

/**
 * Requests one export and waits for it to complete, then pauses processing and requests two more
 * that SQL moves as the worker would (export_logs only allows queued → processing → failed): one
 * processing at `processed` of its total, one failed with `errorMessage`. Paused, nothing claims
 * them, so the page shows the same states for as long as the test looks.
 */
export async function exportsInStates(
  userId: string,
  options: {
    completed: unknown;
    processing: unknown;
    failed: unknown;
    processed?: (total: number) => number;
    errorMessage?: string;
  },
): Promise<HistoryStates> {
  const sql = testSql();
  const token = await userToken(userId);
  const completed = await exportAndWait(token, options.completed, 60);
  if (completed.status !== "completed") throw new Error(`export ended ${completed.status}`);
  const restore = await withSettings({ processing_paused: true });
  try {
    const request = async (body: unknown) => {
      const created = await api("", { token, body });
      if (created.status !== 202) throw new Error(JSON.stringify(created.body));
      return created.body as ExportLogBody;
    };
    const processing = await request(options.processing);
    const failed = await request(options.failed);
    const total = processing.conversation_count as number;
    const processed = options.processed?.(total) ?? Math.floor(total / 2);
    const errorMessage = options.errorMessage ??
      "The export could not be generated after 3 attempts. Retry it; if it fails again, contact support.";
    await sql`update public.export_logs set status = 'processing' where export_id = ${processing.export_id}`;
    await sql`update exports_internal.export_jobs set processed = ${processed}, attempts = 1
               where export_log_id = ${processing.id}`;
    await sql`update public.export_logs set status = 'processing' where export_id = ${failed.export_id}`;
    await sql`update exports_internal.export_jobs set attempts = 3 where export_log_id = ${failed.id}`;
    await sql`update public.export_logs set status = 'failed', error_message = ${errorMessage}
               where export_id = ${failed.export_id}`;
    return {
      completed,
      processingId: processing.export_id,
      failedId: failed.export_id,
      processed,
      total,
      errorMessage,
      restore,
    };
  } catch (error) {
    await restore();
    throw error;
  }
}

/** What the focused element is and whether a keyboard user can see it (run in the page). */
export interface FocusedElement {
  tag: string;
  name: string;
  type: string;
  width: number;
  height: number;
  inViewport: boolean;
  outline: string;
  boxShadow: string;
  focusVisible: boolean;
  /** The export id of the history row holding it, if any. */
  rowId: string | null;
}

const FOCUSED = `(() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  const labelled = element.labels && element.labels[0] ? element.labels[0].textContent : "";
  return {
    tag: element.tagName.toLowerCase(),
    name: (element.getAttribute("aria-label") || labelled || element.textContent || "").trim().slice(0, 80),
    type: element.getAttribute("type") || "",
    width: box.width,
    height: box.height,
    inViewport: box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth,
    outline: style.outlineStyle + " " + style.outlineWidth + " " + style.outlineColor,
    boxShadow: style.boxShadow,
    focusVisible: element.matches(":focus-visible"),
    rowId: element.closest("tr[data-export-id]")?.getAttribute("data-export-id") ?? null,
  };
})()`;

/** The focused element, or null when focus is on the body. */
export async function focused(page: Page): Promise<FocusedElement | null> {
  return await page.evaluate<FocusedElement | null>(FOCUSED);
}

/**
 * Fails unless the focused element can be seen: a non-empty box inside the viewport and a focus
 * indicator (a non-zero outline that is not `none`, or a box shadow).
 */
export function visibleFocusProblem(element: FocusedElement | null): string | null {
  if (element === null) return "focus is on the page body";
  const what = `${element.tag}${element.type ? `[${element.type}]` : ""} "${element.name}"`;
  if (element.width <= 0 || element.height <= 0) return `${what} has an empty box`;
  if (!element.inViewport) return `${what} is outside the viewport`;
  // Tab's last stop in a date input is its calendar button, inside the browser's closed shadow
  // root: the input then is not :focus-visible and the button wears the browser's own ring,
  // which the page can neither read nor replace.
  if (element.type === "date" && !element.focusVisible) return null;
  const [style, width] = element.outline.split(" ");
  const outlined = style !== "none" && parseFloat(width) > 0;
  if (!outlined && element.boxShadow === "none") {
    return `${what} shows no focus indicator (outline ${element.outline}, focus-visible ${element.focusVisible})`;
  }
  return null;
}

// --- Tables as cards -----------------------------------------------------------------------

/** How a list lays out: whether its header row shows, and each body row's cells' boxes. */
interface Layout {
  headerShown: boolean;
  rows: {
    display: string;
    cells: { display: string; top: number; bottom: number; left: number; right: number }[];
  }[];
}

function layoutOf(table: string): string {
  return `(() => {
    const table = document.querySelector(${JSON.stringify(table)});
    const head = table.querySelector("thead").getBoundingClientRect();
    return {
      headerShown: getComputedStyle(table.querySelector("thead")).display !== "none" && head.width > 1 && head.height > 1,
      rows: [...table.querySelectorAll("tbody tr")].map((row) => ({
        display: getComputedStyle(row).display,
        cells: [...row.children].map((cell) => {
          const box = cell.getBoundingClientRect();
          return { display: getComputedStyle(cell).display, top: box.top, bottom: box.bottom, left: box.left, right: box.right };
        }),
      })),
    };
  })()`;
}

/** Fails unless the table shows as cards: no header row, each row a block, its cells stacked. */
export async function assertCards(page: Page, table: string, what: string): Promise<void> {
  const layout = await page.evaluate<Layout>(layoutOf(table));
  assert.equal(layout.headerShown, false, `${what}: the header row is hidden`);
  assert.ok(layout.rows.length > 0, `${what}: rows are shown`);
  for (const [index, row] of layout.rows.entries()) {
    assert.equal(row.display, "block", `${what}: row ${index} is a card`);
    for (const [column, cell] of row.cells.entries()) {
      assert.ok(cell.right <= PHONE.width, `${what}: row ${index} cell ${column} fits the screen`);
      if (column === 0) continue;
      const above = row.cells[column - 1];
      assert.ok(
        cell.top >= above.bottom - 1,
        `${what}: row ${index} cell ${column} is below the one before`,
      );
      assert.ok(
        Math.abs(cell.left - above.left) < 1,
        `${what}: row ${index} cells share one column`,
      );
    }
  }
}

/** Fails unless the table is still a table (so the card check above measures something). */
export async function assertTable(page: Page, table: string, what: string): Promise<void> {
  const layout = await page.evaluate<Layout>(layoutOf(table));
  assert.equal(layout.headerShown, true, `${what}: the header row shows`);
  assert.equal(layout.rows[0].display, "table-row", `${what}: rows are table rows`);
  const [first, second] = layout.rows[0].cells;
  assert.ok(second.left >= first.right - 1, `${what}: cells sit side by side`);
}
