/**
 * The browser tests' side of a real browser: Debian's chromium driven by playwright-core, on
 * the web UI that npm test serves from web/dist (WEB_URL) against this run's real API, database
 * and worker. Nothing is mocked: what the page shows came from the functions server.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import assert from "node:assert/strict";
import { userToken } from "./tokens.ts";

/** The chromium npm test installs (Debian's; playwright cannot download browsers here). */
export const CHROMIUM = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/** The web UI's base URL for this run (npm test serves web/dist there). */
export function webUrl(): string {
  const url = Deno.env.get("WEB_URL");
  if (!url) throw new Error("WEB_URL is not set: run the browser tests with `npm test`");
  return url;
}

let shared: Promise<Browser> | undefined;

/** One browser for the test module (launching one costs about a second). */
export function browser(): Promise<Browser> {
  shared ??= chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).catch((error) => {
    throw new Error(
      `Chromium did not start from ${CHROMIUM} (npm test installs Debian's chromium): ${error}`,
    );
  });
  return shared;
}

/** Closes the module's browser (the last test of a module calls it). */
export async function closeBrowser(): Promise<void> {
  if (shared) await (await shared).close();
  shared = undefined;
}

/** Viewport widths the spec names: a desktop and the narrowest phone. */
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 800 };

/** A fresh context (its own storage) at a viewport, that downloads files. */
export async function newContext(
  viewport: { width: number; height: number } = DESKTOP,
): Promise<BrowserContext> {
  // UTC: the UI's date filters are local days, and the tests compute their expectations in UTC.
  const context = await (await browser()).newContext({
    viewport,
    acceptDownloads: true,
    timezoneId: "UTC",
    locale: "en-US",
  });
  context.setDefaultTimeout(15_000);
  return context;
}

/**
 * Opens the app at `path` signed in as the user through the fragment link that npm start prints
 * (`/#access_token=<jwt>`), and waits until the app has taken the token out of the address bar.
 */
export async function openSignedIn(page: Page, userId: string, path = "/"): Promise<void> {
  const token = await userToken(userId);
  await page.goto(`${webUrl()}${path}#access_token=${token}`);
  await page.waitForFunction("!location.hash.includes('access_token')");
}

/** Serious or critical accessibility violations axe-core finds on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) =>
      `${violation.id} (${violation.impact}): ${violation.help} — ${
        violation.nodes.map((node) => node.target.join(" ")).slice(0, 3).join("; ")
      }`
    );
}

/** Fails when axe-core finds a serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  assert.deepEqual(await seriousViolations(page), [], `${what}: accessibility violations`);
}

/** Fails when the page scrolls sideways (content wider than the viewport), naming what sticks out. */
export async function assertNoHorizontalScroll(page: Page, what: string): Promise<void> {
  // A string: it runs in the page, whose DOM types these tests are not compiled with.
  const widths = await page.evaluate<{ scroll: number; client: number; wide: string[] }>(`(() => {
    const client = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((element) => element.getBoundingClientRect().right > client + 0.5)
      .slice(-5)
      .map((element) => element.tagName.toLowerCase() + "." + [...element.classList].join(".") +
        " (" + Math.round(element.getBoundingClientRect().right) + "px)");
    return { scroll: document.documentElement.scrollWidth, client, wide };
  })()`);
  assert.ok(
    widths.scroll <= widths.client,
    `${what}: ${widths.scroll}px wide in ${widths.client}px; sticking out: ${
      widths.wide.join(", ")
    }`,
  );
}

/**
 * Saves a screenshot: under docs/ui/ (which the README shows) when UPDATE_SCREENSHOTS=1, else in
 * a temporary folder, so an ordinary run leaves the checkout as it was.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = Deno.env.get("UPDATE_SCREENSHOTS") === "1"
    ? new URL("../../docs/ui", import.meta.url).pathname
    : (screenshotFolder ??= await Deno.makeTempDir({ prefix: "ui-screenshots-" }));
  await page.screenshot({ path: `${folder}/${name}.png`, fullPage: true });
}

let screenshotFolder: string | undefined;
