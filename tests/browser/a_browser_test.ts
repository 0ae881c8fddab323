/**
 * The first browser test: which chromium the browser tests drive, and a clear failure when it
 * cannot start (npm test installs Debian's chromium; playwright-core cannot download one here).
 */
import assert from "node:assert/strict";
import { browser, CHROMIUM, closeBrowser, newContext, webUrl } from "../support/browser.ts";

Deno.test({
  name: "browser: chromium starts and the web UI is served (reports the browser's version)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = await browser();
    const version = started.version();
    console.log(`chromium ${version} (${CHROMIUM}), playwright-core driving it`);
    assert.match(version, /^\d+\.\d+\.\d+\.\d+$/);
    const context = await newContext();
    const page = await context.newPage();
    const response = await page.goto(webUrl());
    assert.equal(response?.status(), 200);
    assert.match(await page.title(), /export/i);
    await context.close();
    await closeBrowser();
  },
});
