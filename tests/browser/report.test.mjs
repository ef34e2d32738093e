// The merchant's report in headless Chromium: made through the API over the demo shop's last
// year, opened by its sealed link (no key) with JavaScript off, its charts drawn, axe-clean at
// a phone's width and a desktop's; screenshots written for people to see.

import { test } from "node:test";
import assert from "node:assert/strict";
import { base, key, shots, open, axe } from "./support.mjs";

async function makeReport() {
  const today = new Date();
  const day = (d) => d.toISOString().slice(0, 10);
  const from = day(new Date(today.getTime() - 364 * 86_400_000));
  const response = await fetch(`${base}/porchlight/v1/reports`, {
    method: "POST",
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ from, to: day(today) }),
  });
  assert.equal(response.status, 201);
  return (await response.json()).data;
}

test("a report opens by its link without a key or JavaScript, draws its charts and passes axe", async () => {
  const report = await makeReport();
  // Absolute when serve knows its public address (the demo does).
  const link = report.link.startsWith("http") ? report.link : `${base}${report.link}`;
  assert.ok(link.startsWith(`${base}/reports/`), link);
  for (const width of [360, 1280]) {
    const { context, page, response, requests } = await open(link, { width, javaScript: false });
    try {
      assert.equal(response.status(), 200);
      assert.equal(await page.locator("h2").count(), 11, "overview, six charts, lanes, reach, carrier health, data");
      assert.equal(await page.locator("#reach ~ div tbody th").first().textContent(), "Email");
      // A chart without data (nothing promised: no on-time rate) says so instead.
      assert.ok((await page.locator("svg.chart").count()) >= 3);
      assert.equal(await page.locator("h2").first().textContent(), "Overview");
      const shipments = await page.locator(".figures li").first().locator("strong").textContent();
      assert.ok(Number(shipments) > 0, `the demo shop's shipments are counted (${shipments})`);
      assert.deepEqual(requests.filter((url) => !url.includes("/reports/")), [], "nothing else is fetched");
      await page.screenshot({ path: `${shots}/report-${width}.png`, fullPage: true });
    } finally {
      await context.close();
    }
    const checked = await open(link, { width, bypassCSP: true });
    try {
      assert.deepEqual(await axe(checked.page), [], `${width} px`);
    } finally {
      await checked.context.close();
    }
  }
  const csv = await fetch(link.replace("report.html", "carriers.csv"));
  assert.equal(csv.status, 200);
  assert.match(await csv.text(), /^slug,origin_country_region,destination_country_region/);
});
