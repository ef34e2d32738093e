// The demo shop's tracking page in Debian's headless Chromium: at 360 and 1280 px, with
// JavaScript on and off, in every language; status, timeline, language and carrier masking
// checked; axe-core finds no WCAG 2.1 A/AA violation; screenshots written for people to see.
//
// Needs: PORCHLIGHT_URL (a `porchlight serve --demo`), PORCHLIGHT_API_KEY (the demo key),
// PAGE_SLUG (the demo page's slug), SCREENSHOT_DIR (where the PNGs go).

import { test } from "node:test";
import assert from "node:assert/strict";
import { axe, base, catalogs, key, LANGUAGES, open, shots, slug } from "./support.mjs";

const TWO_LEGS = "YT2530512345678901"; // YunExpress then USPS, delivered
const SPLIT_ORDER = { number: "#1003", email: "jordan.reyes@example.com" };
const origin = new URL(base).origin;

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

function onlyOwnRequests(requests) {
  const foreign = requests.filter((url) => new URL(url).origin !== origin);
  assert.deepEqual(foreign, [], "the page makes no third-party requests");
}

for (const width of [360, 1280]) {
  for (const javaScript of [true, false]) {
    for (const lang of LANGUAGES) {
      const mode = javaScript ? "js" : "nojs";
      test(`a two-leg parcel at ${width} px, ${mode}, ${lang}`, async () => {
        const catalog = catalogs[lang];
        // Axe needs a script of its own on the page: with JavaScript on, the policy is set aside
        // for it; with JavaScript off, the page is seen under its real policy.
        const { context, page, response, requests } = await open(`${base}/t/${slug}/${TWO_LEGS}?lang=${lang}`, {
          width, javaScript, bypassCSP: javaScript,
        });
        try {
          assert.equal(response.status(), 200);
          assert.equal(await page.getAttribute("html", "lang"), lang);
          assert.equal((await page.textContent("h1")).trim(), catalog.status.Delivered);
          const events = page.locator(".timeline > li");
          assert.ok((await events.count()) >= 10, "the whole journey");
          assert.match(await events.first().textContent(), new RegExp(catalog.subtag.Delivered_001));
          const body = await page.textContent("body");
          assert.ok(body.includes("USPS") && body.includes("YunExpress"), "both carriers, unmasked");
          assert.ok(body.includes(catalog.ui.handover.split("{carrier}")[0].trim()), "the handover is told");
          const steps = await page.locator(".progress li").allTextContents();
          assert.ok(steps[4].includes(catalog.steps.delivered));
          const fits = await page.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth);
          assert.ok(fits, "nothing wider than the screen");
          if (!javaScript) {
            // The hashed style blocks apply under the page's own Content-Security-Policy.
            const header = await page.evaluate(() => getComputedStyle(document.querySelector(".top")).backgroundColor);
            assert.equal(header, "rgb(15, 61, 62)");
          }
          await page.screenshot({ path: `${shots}/parcel-${lang}-${width}-${mode}.png`, fullPage: true });
          if (javaScript) assert.deepEqual(await axe(page), []);
          onlyOwnRequests(requests);
        } finally {
          await context.close();
        }
      });
    }
  }
}

test("the lookup form finds a split order without JavaScript", async () => {
  for (const width of [360, 1280]) {
    const { context, page, requests } = await open(`${base}/t/${slug}`, { width, javaScript: false });
    try {
      await page.screenshot({ path: `${shots}/lookup-${width}.png`, fullPage: true });
      await page.fill("#order_number", SPLIT_ORDER.number);
      await page.fill("#email", SPLIT_ORDER.email);
      await Promise.all([page.waitForURL(/\/orders\?/), page.click("form[action$='/orders'] button")]);
      assert.equal((await page.textContent("h1")).trim(), `Order ${SPLIT_ORDER.number}`);
      assert.equal(await page.locator("section.parcel").count(), 2, "each parcel of the split order");
      const body = await page.textContent("body");
      assert.ok(body.includes("Parcel 1 of 2") && body.includes("Parcel 2 of 2"));
      assert.ok(body.includes("Return items"), "the demo shop offers returns");
      await page.screenshot({ path: `${shots}/order-${width}.png`, fullPage: true });
      onlyOwnRequests(requests);
    } finally {
      await context.close();
    }
  }
});

test("the lookup form, an order and a failed lookup pass axe", async () => {
  const email = encodeURIComponent(SPLIT_ORDER.email);
  const order = encodeURIComponent(SPLIT_ORDER.number);
  const pages = {
    lookup: `${base}/t/${slug}`,
    order: `${base}/t/${slug}/orders?order_number=${order}&email=${email}`,
    failed: `${base}/t/${slug}/orders?order_number=${order}&email=nobody%40example.com`,
  };
  for (const [name, url] of Object.entries(pages)) {
    const { context, page, response } = await open(url, { width: 360, bypassCSP: true });
    try {
      assert.equal(response.status(), name === "failed" ? 404 : 200, name);
      assert.deepEqual(await axe(page), [], name);
      if (name === "failed") await page.screenshot({ path: `${shots}/failed-lookup-360.png`, fullPage: true });
    } finally {
      await context.close();
    }
  }
});

test("carrier masking shows the shop's name and no carrier links", async () => {
  await api("PUT", "/porchlight/v1/tracking-page", { hide_carrier: true });
  try {
    // The settings cache lives 30 s; `serve --demo` in the test command runs with it, so wait
    // for this process's own write: it updates the cache at once.
    const { context, page } = await open(`${base}/t/${slug}/${TWO_LEGS}`, { width: 360, javaScript: false });
    try {
      const body = await page.textContent("body");
      for (const carrier of ["USPS", "YunExpress"]) assert.ok(!body.includes(carrier), `${carrier} is masked`);
      assert.equal(await page.locator("a[href*='usps.com'], a[href*='yuntrack']").count(), 0, "no carrier links");
      assert.ok(body.includes("Porchlight Demo Shop"));
      await page.screenshot({ path: `${shots}/masked-360.png`, fullPage: true });
    } finally {
      await context.close();
    }
  } finally {
    await api("PUT", "/porchlight/v1/tracking-page", { hide_carrier: false });
  }
});

test("a message's unsubscribe link asks first, then unsubscribes without JavaScript, and both pages pass axe", async () => {
  const list = await api("GET", `/tracking/2026-07/trackings?tracking_numbers=${TWO_LEGS}`);
  const tracking = list.data.trackings[0];
  const preview = await fetch(`${base}/porchlight/v1/notification-rules/preview`, {
    method: "POST",
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ trigger: "delivered", tracking_id: tracking.id }),
  }).then((r) => r.json());
  const link = preview.data.unsubscribe_url;
  assert.ok(link && link.includes("/unsubscribe/"), JSON.stringify(preview));
  const { context, page, response } = await open(link.replace(/^https?:\/\/[^/]+/, base), { width: 360, javaScript: false });
  try {
    assert.equal(response.status(), 200);
    assert.ok((await page.textContent("h1")).includes(catalogs.en.ui.unsubscribe_heading));
    await page.screenshot({ path: `${shots}/unsubscribe-360.png`, fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    assert.ok((await page.textContent("h1")).includes(catalogs.en.ui.unsubscribed_heading));
    await page.screenshot({ path: `${shots}/unsubscribed-360.png`, fullPage: true });
  } finally {
    await context.close();
  }
  const wide = await open(link.replace(/^https?:\/\/[^/]+/, base), { width: 1280, javaScript: false });
  try {
    await wide.page.screenshot({ path: `${shots}/unsubscribe-1280.png`, fullPage: true });
  } finally {
    await wide.context.close();
  }
  const axed = await open(link.replace(/^https?:\/\/[^/]+/, base), { width: 360, bypassCSP: true });
  try {
    assert.deepEqual(await axe(axed.page), []);
  } finally {
    await axed.context.close();
  }
  const after = await api("GET", `/tracking/2026-07/trackings/${tracking.id}`);
  assert.equal(after.data.subscribed_emails.length, tracking.subscribed_emails.length - 1, "one address fewer");
});

test("a parcel on its way offers email and SMS updates; subscribing works without JavaScript and passes axe", async () => {
  // The merchant sends SMS, so the form asks for a phone number too.
  const rule = await fetch(`${base}/porchlight/v1/notification-rules`, {
    method: "POST",
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ trigger: "out_for_delivery", channels: ["sms"] }),
  });
  assert.equal(rule.status, 201, await rule.text());
  const list = await api("GET", "/tracking/2026-07/trackings?tag=InTransit&limit=1");
  const tracking = list.data.trackings[0];
  assert.ok(tracking, "the demo has a parcel in transit");
  const url = `${base}/t/${slug}/${encodeURIComponent(tracking.tracking_number)}`;
  const { context, page } = await open(url, { width: 360, javaScript: false });
  try {
    assert.ok((await page.textContent("#subscribe")).includes(catalogs.en.ui.subscribe_heading_sms));
    await page.fill("#subscribe-email", "new.shopper@example.com");
    await page.fill("#subscribe-phone", "+44 7700 900123");
    await page.screenshot({ path: `${shots}/subscribe-form-360.png`, fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click("section[aria-labelledby=subscribe] button")]);
    assert.ok((await page.textContent("h1")).includes(catalogs.en.ui.subscribed_heading));
    await page.screenshot({ path: `${shots}/subscribed-360.png`, fullPage: true });
  } finally {
    await context.close();
  }
  const wide = await open(url, { width: 1280, javaScript: false });
  try {
    await wide.page.locator("section[aria-labelledby=subscribe]").screenshot({ path: `${shots}/subscribe-form-1280.png` });
  } finally {
    await wide.context.close();
  }
  const axed = await open(url, { width: 360, bypassCSP: true });
  try {
    assert.deepEqual(await axe(axed.page), []);
  } finally {
    await axed.context.close();
  }
  const after = await api("GET", `/tracking/2026-07/trackings/${tracking.id}`);
  assert.ok(after.data.subscribed_emails.includes("new.shopper@example.com"), JSON.stringify(after.data.subscribed_emails));
  assert.ok(after.data.subscribed_smses.includes("+447700900123"), JSON.stringify(after.data.subscribed_smses));
});
