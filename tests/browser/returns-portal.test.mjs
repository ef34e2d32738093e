// The returns portal of the demo shop in Debian's headless Chromium, without JavaScript: a
// shopper finds delivered order #1001 from its tracking page, sees the final-sale line refused
// with its reason, returns a mug with a reason that needs a photo (uploads one) and gets an
// RMA number; the merchant approves it with the Returns API, attaches a sandbox return
// shipment that moves to delivered (the return's shipping_status follows), receives and
// resolves it; every step reaches the merchant's endpoint signed in as-signature-hmac-sha256;
// a return outside the window is refused. axe-core finds no WCAG 2.1 A/AA violation on the
// portal's pages; screenshots are written for people to see.
//
// Needs what tracking-page.test.mjs needs, and a serve polling the sandbox every second with
// private webhook targets allowed (scripts/browser-tests.sh starts it so).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { axe, base, catalogs, key, open, shots, slug } from "./support.mjs";

const en = catalogs.en.ui;
const de = catalogs.de.ui;
const ORDER = { number: "#1001", postal: "80302" };
const RETURNS = "/returns/2026-07/returns";
const EVENTS = ["return.submitted", "return.approved", "return.shipment.updated", "return.receiving.created", "return.resolved", "return.rejected", "return.expired"];

/// axe on `url`'s page (a context that lets axe's script in).
async function axeOf(url, name) {
  const { context, page } = await open(url, { width: 360, bypassCSP: true });
  try {
    assert.deepEqual(await axe(page), [], name);
  } finally {
    await context.close();
  }
}

async function call(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/// A loopback endpoint recording every POST (headers and raw body).
async function receiver() {
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, received, url: `http://127.0.0.1:${server.address().port}/returns-hooks` };
}

async function eventually(what, check, seconds = 90) {
  for (let i = 0; i < seconds * 2; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function portalUrl(lang) {
  const query = `order_number=${encodeURIComponent(ORDER.number)}&postal_code=${ORDER.postal}`;
  return `${base}/t/${slug}/returns?${query}${lang ? `&lang=${lang}` : ""}`;
}

test("a shopper returns a damaged mug; the merchant approves, tracks, receives and resolves it; every step is signed", async () => {
  const hooks = await receiver();
  try {
    const registered = await call("POST", "/porchlight/v1/webhooks", { url: hooks.url, events: EVENTS });
    assert.equal(registered.status, 201, JSON.stringify(registered.json));
    const secret = registered.json.data.secret;

    // From the order's tracking page to the portal, without JavaScript.
    const order = `${base}/t/${slug}/orders?order_number=${encodeURIComponent(ORDER.number)}&postal_code=${ORDER.postal}`;
    const { context, page } = await open(order, { width: 360, javaScript: false });
    let rma;
    try {
      await Promise.all([page.waitForURL(/\/returns\?/), page.getByRole("link", { name: en.return_start }).click()]);
      const form = await page.textContent("main");
      assert.ok(form.includes(en.refusal_final_sale), "the final-sale line is refused, and why");
      assert.ok(form.includes("Ceramic travel mug"));
      await page.screenshot({ path: `${shots}/returns-form-360.png`, fullPage: true });

      // A damaged mug needs a comment and a photo: without the photo it is refused, beside its line.
      await page.selectOption("#qty-1", "1");
      await page.selectOption("#reason-1", "damaged");
      await page.fill("#comment-1", "The handle arrived cracked.");
      await Promise.all([page.waitForLoadState("load"), page.click("form[enctype] button[type=submit]")]);
      assert.ok((await page.textContent("main")).includes(en.return_error_photos.replace("{count}", "1")));
      assert.equal(await page.inputValue("#comment-1"), "The handle arrived cracked.", "the answers are kept");
      await page.screenshot({ path: `${shots}/returns-refused-360.png`, fullPage: true });

      const photo = await page.screenshot({ clip: { x: 0, y: 0, width: 64, height: 64 } });
      await page.selectOption("#qty-1", "1");
      await page.setInputFiles("#photos-1", { name: "mug.png", mimeType: "image/png", buffer: photo });
      await Promise.all([page.waitForLoadState("load"), page.click("form[enctype] button[type=submit]")]);
      const done = await page.textContent("main");
      assert.ok(done.includes(en.return_done_heading), done);
      rma = done.match(/\(RMA\) is ([2-9A-HJ-NP-Z]{8})/)?.[1];
      assert.ok(rma, done);
      await page.screenshot({ path: `${shots}/returns-done-360.png`, fullPage: true });
    } finally {
      await context.close();
    }

    // The merchant's side, through the Returns API.
    const found = await call("GET", `${RETURNS}/rma/${rma}`);
    assert.equal(found.status, 200);
    const ret = found.json.data;
    assert.equal(ret.approval_status, "submitted");
    assert.equal(ret.filed_by, "shopper");
    assert.equal(ret.return_items[0].product_title, "Ceramic travel mug");
    const photoUrl = new URL(ret.return_items[0].shopper_uploaded_image_urls[0]);
    const photo = await fetch(`${base}${photoUrl.pathname}`);
    assert.equal(photo.status, 200);
    assert.equal(photo.headers.get("content-type"), "image/png");

    const approved = await call("POST", `${RETURNS}/rma/${rma}/approve`, { notify_customer: true });
    assert.equal(approved.status, 202, JSON.stringify(approved.json));
    assert.equal(approved.json.meta.code, 20200);
    const number = `TC-DELIVERED-20SEC-RET${Date.now()}`;
    const attached = await call("POST", `${RETURNS}/${ret.id}/attach-shipments`, {
      shipments: [{ tracking_number: number, slug: "testing-courier", label: { url: "https://labels.example.com/ret.pdf" } }],
    });
    assert.equal(attached.status, 200, JSON.stringify(attached.json));
    const delivered = await eventually("the return shipment to be delivered", async () => {
      const now = await call("GET", `${RETURNS}/${ret.id}`);
      return now.json.data.shipping_status === "delivered" && now.json.data;
    });
    assert.equal(delivered.shipments[0].tracking_status, "Delivered");
    const received = await call("POST", `${RETURNS}/${ret.id}/receive-items`, {
      items: [{ external_id: ret.return_items[0].external_order_item_id, quantity: 1, gradings: [{ grade: "b", quantity: 1 }] }],
    });
    assert.equal(received.status, 200, JSON.stringify(received.json));
    assert.equal(received.json.data.shipping_status, "received");
    const resolved = await call("POST", `${RETURNS}/rma/${rma}/resolve`, {});
    assert.equal(resolved.json.data.approval_status, "done");

    // Every step reached the endpoint, signed as AfterShip Returns signs.
    const wanted = ["return.submitted", "return.approved", "return.shipment.updated", "return.receiving.created", "return.resolved"];
    const events = await eventually("every return event", () => {
      const mine = hooks.received.map((r) => ({ ...r, payload: JSON.parse(r.body) })).filter((r) => r.payload.data.id === ret.id);
      const names = new Set(mine.map((r) => r.payload.event));
      return wanted.every((e) => names.has(e)) && mine;
    });
    for (const { headers, body, payload } of events) {
      const expected = createHmac("sha256", secret).update(body).digest("base64");
      assert.equal(headers["as-signature-hmac-sha256"], expected, payload.event);
      assert.ok(payload.id && payload.created_at, "AfterShip Returns' envelope");
    }
    const updates = events.filter((e) => e.payload.event === "return.shipment.updated");
    assert.ok(updates.some((e) => e.payload.data.shipping_status === "delivered"), "the delivery reached the merchant");
  } finally {
    hooks.server.close();
  }
});

test("the portal's pages pass axe, read in German, and a return outside the window is refused", async () => {
  await axeOf(`${base}/t/${slug}/returns`, "lookup");
  await axeOf(portalUrl(), "the order's lines");
  await axeOf(`${base}/t/${slug}/returns?order_number=%231001&postal_code=99999`, "failed lookup");
  for (const width of [360, 1280]) {
    const failed = await open(`${base}/t/${slug}/returns?order_number=%231001&postal_code=99999`, { width, javaScript: false });
    try {
      assert.equal(failed.response.status(), 404);
      assert.ok((await failed.page.textContent("main")).includes(en.not_found_heading));
      await failed.page.screenshot({ path: `${shots}/returns-not-found-${width}.png`, fullPage: true });
    } finally {
      await failed.context.close();
    }
  }

  // A form whose part cannot be read (a control character in a part's name; no browser sends
  // one): the lookup form again, saying so.
  const boundary = "porchlight-browser-test";
  const part = (name, value) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const unreadable = await fetch(`${base}/t/${slug}/returns`, {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body: part("order_number", ORDER.number) + part("note\u0003", "x") + `--${boundary}--\r\n`,
  });
  assert.equal(unreadable.status, 400);
  const html = await unreadable.text();
  for (const width of [360, 1280]) {
    const shown = await open(`${base}/t/${slug}/returns`, { width, bypassCSP: true });
    try {
      await shown.page.setContent(html);
      const text = await shown.page.textContent("main");
      assert.ok(text.includes(en.return_errors_heading) && text.includes(en.return_error_unreadable), text);
      if (width === 360) assert.deepEqual(await axe(shown.page), [], "unreadable form");
      await shown.page.screenshot({ path: `${shots}/returns-unreadable-${width}.png`, fullPage: true });
    } finally {
      await shown.context.close();
    }
  }

  const wide = await open(portalUrl("de"), { width: 1280, javaScript: false });
  try {
    const text = await wide.page.textContent("main");
    assert.ok(text.includes(de.return_quantity) && text.includes(de.refusal_final_sale), "in German");
    await wide.page.screenshot({ path: `${shots}/returns-form-de-1280.png`, fullPage: true });
  } finally {
    await wide.context.close();
  }

  // The merchant shortens the window to a day: the order, delivered days ago, is past it.
  const policy = await call("PUT", "/porchlight/v1/return-policy", { window_days: 1 });
  assert.equal(policy.status, 200, JSON.stringify(policy.json));
  try {
    const late = await open(portalUrl(), { width: 360, javaScript: false });
    try {
      const text = await late.page.textContent("main");
      const closed = en.refusal_window_closed.split("{date}")[0];
      assert.ok(text.includes(closed), text);
      assert.equal(await late.page.locator("select[name^=qty_]").count(), 0, "nothing left to choose");
      await late.page.screenshot({ path: `${shots}/returns-window-closed-360.png`, fullPage: true });
    } finally {
      await late.context.close();
    }
    const refused = await call("POST", RETURNS, {
      order: { external_id: "demo-1001", store: { platform: "shopify", external_id: "porchlight-demo.myshopify.com" } },
      return_items: [{ external_order_item_id: "demo-1001-1", intended_return_quantity: 1, return_reason: "changed_mind", resolution: "refund" }],
      return_method: { type: "customer_courier" },
      refund_destination: "original_payment",
    });
    assert.equal(refused.status, 422);
    assert.ok(refused.json.meta.errors[0].info.startsWith("the return window for this item closed on"), JSON.stringify(refused.json));
  } finally {
    await call("PUT", "/porchlight/v1/return-policy", { window_days: 30 });
  }
});
