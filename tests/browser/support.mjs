// What the browser tests share: the server they test (from the environment), the catalogs,
// one Chromium per test file, pages in fresh contexts, and axe-core.
//
// Needs: PORCHLIGHT_URL (a `porchlight serve --demo`), PORCHLIGHT_API_KEY (the demo key),
// PAGE_SLUG (the demo page's slug), SCREENSHOT_DIR (where the PNGs go).

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const base = process.env.PORCHLIGHT_URL;
export const key = process.env.PORCHLIGHT_API_KEY;
export const slug = process.env.PAGE_SLUG;
export const shots = process.env.SCREENSHOT_DIR;
for (const [name, value] of Object.entries({ PORCHLIGHT_URL: base, PORCHLIGHT_API_KEY: key, PAGE_SLUG: slug, SCREENSHOT_DIR: shots })) {
  if (!value) throw new Error(`${name} is not set`);
}
mkdirSync(shots, { recursive: true });

export const LANGUAGES = ["en", "zh-CN", "es", "de", "fr", "ja"];
export const catalogs = Object.fromEntries(
  LANGUAGES.map((l) => [l, JSON.parse(readFileSync(new URL(`../../common/src/web/i18n/${l}.json`, import.meta.url), "utf8"))]),
);

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
});
after(async () => browser?.close());

/// A page in a fresh context; every request it makes is recorded.
export async function open(url, { width = 1280, javaScript = true, bypassCSP = false, locale = "en-US" } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled: javaScript, bypassCSP, locale });
  const page = await context.newPage();
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  const response = await page.goto(url);
  return { context, page, response, requests };
}

/// axe-core's WCAG 2.1 A and AA rules on the page (injected: the page itself runs no script).
export async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  assert.ok(result.passes.length > 10, "axe ran its rules");
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}
