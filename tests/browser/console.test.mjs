// The merchant console in headless Chromium, with JavaScript off (every action is a plain
// form): an agent signs in, filters the demo shipments by carrier and status, opens one and
// sees its timeline and notifications, tags it; a viewer signs in, is offered no edit
// control, and a post forged with its own session gets 403 and changes nothing. Every page
// is axe-checked at a phone's width and a desktop's and screenshotted.
//
// Needs CONSOLE_ADMIN, CONSOLE_AGENT, CONSOLE_VIEWER and CONSOLE_PASSWORD: members of the demo shop that
// scripts/browser-tests.sh adds with `porchlight users add`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { base, key, shots, open, axe } from "./support.mjs";

const admin = process.env.CONSOLE_ADMIN;
const agent = process.env.CONSOLE_AGENT;
const viewer = process.env.CONSOLE_VIEWER;
const password = process.env.CONSOLE_PASSWORD;
for (const [name, value] of Object.entries({ CONSOLE_ADMIN: admin, CONSOLE_AGENT: agent, CONSOLE_VIEWER: viewer, CONSOLE_PASSWORD: password })) {
  if (!value) throw new Error(`${name} is not set`);
}

/// A fresh browser context at `width`, signed in as `email` through the sign-in form.
async function signIn(email, width = 1280) {
  const { context, page, response } = await open(`${base}/console/shipments`, { width, javaScript: false });
  assert.equal(response.status(), 200);
  assert.match(page.url(), /\/console\/sign-in\?next=/, "sent to sign in first");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.match(page.url(), /\/console\/shipments$/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "pl_console");
  assert.ok(session?.httpOnly && session.secure && session.sameSite === "Lax", JSON.stringify(session));
  return { context, page };
}

/// axe on the page now showing in `context` (a second page with CSP bypassed, same cookies).
async function axeClean(context, url, label) {
  const checking = await context.browser().newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  try {
    await checking.addCookies(await context.cookies());
    const page = await checking.newPage();
    await page.goto(url);
    assert.deepEqual(await axe(page), [], label);
  } finally {
    await checking.close();
  }
}

test("the sign-in page is accessible and refuses a wrong password", async () => {
  for (const width of [360, 1280]) {
    const { context, page } = await open(`${base}/console/sign-in`, { width, javaScript: false });
    try {
      await page.screenshot({ path: `${shots}/console-sign-in-${width}.png`, fullPage: true });
      await page.fill("#email", agent);
      await page.fill("#password", "not the password at all");
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      assert.match(await page.locator(".problem").textContent(), /not right/);
    } finally {
      await context.close();
    }
  }
  const checked = await open(`${base}/console/sign-in`, { bypassCSP: true });
  try {
    assert.deepEqual(await axe(checked.page), [], "sign-in");
  } finally {
    await checked.context.close();
  }
});

test("an agent filters by carrier and status, opens a shipment, sees its timeline and notifications, tags it", async () => {
  for (const width of [360, 1280]) {
    const { context, page } = await signIn(agent, width);
    try {
      const all = await page.locator("table.list tbody tr").count();
      assert.ok(all >= 10, `the demo shipments are listed (${all})`);
      await page.screenshot({ path: `${shots}/console-shipments-${width}.png`, fullPage: true });
      await page.selectOption("#slug", "ups");
      await page.selectOption("#tag", "Delivered");
      await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
      assert.match(page.url(), /slug=ups&tag=Delivered/);
      const rows = page.locator("table.list tbody tr");
      const count = await rows.count();
      assert.ok(count >= 1 && count < all, `filtered to ${count} of ${all}`);
      for (let i = 0; i < count; i++) {
        assert.equal(await rows.nth(i).locator("td[data-label=Carrier]").textContent(), "UPS");
        assert.equal(await rows.nth(i).locator(".badge").textContent(), "Delivered");
      }
      await page.screenshot({ path: `${shots}/console-shipments-filtered-${width}.png`, fullPage: true });
      if (width === 1280) await axeClean(context, page.url(), "filtered list");

      await Promise.all([page.waitForNavigation(), rows.first().locator("a").click()]);
      assert.ok((await page.locator(".timeline li").count()) >= 5, "the delivered parcel's timeline");
      // A parcel the sandbox carrier moves on (polled every second) has notifications: the
      // demo's imported history is not news and notifies no one.
      await page.goto(`${base}/console/shipments?slug=testing-courier`);
      await Promise.all([page.waitForNavigation(), page.locator("table.list tbody tr a").first().click()]);
      assert.match(page.url(), /\/console\/shipments\/[0-9a-f]{32}$/);
      for (let i = 0; i < 30 && (await page.locator("#messages-h ~ div tbody tr").count()) === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await page.reload();
      }
      assert.ok((await page.locator(".timeline li").count()) >= 1, "the timeline's events");
      assert.ok((await page.locator("#messages-h ~ div tbody tr").count()) >= 1, "its notifications");
      await page.screenshot({ path: `${shots}/console-shipment-${width}.png`, fullPage: true });
      if (width === 1280) await axeClean(context, page.url(), "shipment");

      await page.fill("#tags", `demo, checked-${width}`);
      await Promise.all([page.waitForNavigation(), page.click("button:has-text('Save tags and note')")]);
      assert.match(await page.locator(".flash").textContent(), /saved/);
      assert.ok((await page.locator(".tags li").allTextContents()).includes(`checked-${width}`));
    } finally {
      await context.close();
    }
  }
});

test("a viewer is offered no edit control, and its forged post gets 403 and changes nothing", async () => {
  const { context, page } = await signIn(viewer, 1280);
  try {
    assert.equal(await page.locator("summary", { hasText: "Add a tracking" }).count(), 0);
    await Promise.all([page.waitForNavigation(), page.locator("table.list tbody tr a").first().click()]);
    const url = page.url();
    for (const control of ["Retrack now", "Mark completed", "Save tags and note"]) {
      assert.equal(await page.locator("button", { hasText: control }).count(), 0, control);
    }
    const tags = await page.locator(".tags li").allTextContents();
    // The viewer's own token (from its sign-out form) and cookie: a forged post, not a CSRF one.
    const csrf = await page.locator("form[action='/console/sign-out'] input[name=csrf]").getAttribute("value");
    for (const [action, form] of [["labels", { csrf, tags: "forged" }], ["retrack", { csrf }], ["complete", { csrf, reason: "lost" }]]) {
      const answer = await page.request.post(`${url}/${action}`, { form, maxRedirects: 0 });
      assert.equal(answer.status(), 403, action);
    }
    await page.reload();
    assert.deepEqual(await page.locator(".tags li").allTextContents(), tags, "unchanged");
    await page.screenshot({ path: `${shots}/console-shipment-viewer-1280.png`, fullPage: true });
  } finally {
    await context.close();
  }
});

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "as-api-key": key, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.status < 300, `${method} ${path}: ${JSON.stringify(json)}`);
  return json.data;
}

/// A delivered order of the demo shop with a submitted return: its RMA number.
async function submittedReturn() {
  const run = Date.now().toString(36);
  const store = { platform: "shopify", external_id: "porchlight-demo.myshopify.com" };
  await api("POST", "/porchlight/v1/orders", {
    external_id: `console-${run}`, order_number: `#C${run}`, placed_at: new Date(Date.now() - 5 * 86_400_000).toISOString(),
    store, customer: { email: "sam.lee@example.com" }, currency: "USD",
    items: [{ external_id: `console-${run}-1`, title: "Linen apron", quantity: 1, unit_price: { amount: "30.00", currency: "USD" } }],
  });
  const tracking = await api("POST", "/tracking/2026-07/trackings", { slug: "dhl", tracking_number: `${Date.now()}`.slice(-10), order_id: `console-${run}` });
  await api("POST", `/tracking/2026-07/trackings/${tracking.id}/mark-as-completed`, { reason: "DELIVERED" });
  const ret = await api("POST", "/returns/2026-07/returns", {
    order: { external_id: `console-${run}`, store },
    return_items: [{ external_order_item_id: `console-${run}-1`, intended_return_quantity: 1, return_reason: "changed_mind", resolution: "refund" }],
    return_method: { type: "customer_courier" },
    refund_destination: "original_payment",
  });
  return ret.rma_number;
}

test("an agent approves a submitted return from the review queue", async () => {
  const rma = await submittedReturn();
  for (const width of [360, 1280]) {
    const { context, page } = await signIn(agent, width);
    try {
      await page.goto(`${base}/console/returns`);
      await page.screenshot({ path: `${shots}/console-returns-${width}.png`, fullPage: true });
      if (width === 1280) await axeClean(context, page.url(), "returns");
      const link = page.locator("table.list a", { hasText: rma });
      if (width === 360) {
        assert.equal(await link.count(), 1, "the submitted return waits in the queue");
        continue;
      }
      await Promise.all([page.waitForNavigation(), link.click()]);
      assert.match(await page.locator("h1").textContent(), new RegExp(rma));
      assert.match(await page.locator(".items").textContent(), /Linen apron/);
      await page.screenshot({ path: `${shots}/console-return-${width}.png`, fullPage: true });
      await axeClean(context, page.url(), "return");
      await Promise.all([page.waitForNavigation(), page.click("button:has-text('Approve')")]);
      assert.match(await page.locator(".flash").textContent(), /Approved/);
      assert.equal(await page.locator(".heading .badge").textContent(), "approved");
      const stored = await api("GET", `/returns/2026-07/returns/rma/${rma}`);
      assert.equal(stored.approval_status, "approved");
    } finally {
      await context.close();
    }
  }
});

test("the analytics page draws the year's charts and tables without JavaScript", async () => {
  for (const width of [360, 1280]) {
    const { context, page } = await signIn(viewer, width);
    try {
      await page.goto(`${base}/console/analytics`);
      await Promise.all([page.waitForNavigation(), page.click("a:has-text('Last year')")]);
      assert.match(page.url(), /from=\d{4}-\d{2}-\d{2}&to=/);
      assert.ok((await page.locator("svg.chart").count()) >= 3, "charts drawn");
      const shipments = await page.locator(".figures li strong").first().textContent();
      assert.ok(Number(shipments.replace(/[^0-9]/g, "")) > 0, `the demo's shipments are counted (${shipments})`);
      assert.equal(await page.locator("button:has-text('Keep this period')").count(), 0, "a viewer keeps no report");
      await page.screenshot({ path: `${shots}/console-analytics-${width}.png`, fullPage: true });
      if (width === 1280) await axeClean(context, page.url(), "analytics");
      const csv = await page.request.get(`${base}/console/analytics/carriers.csv`);
      assert.equal(csv.status(), 200);
      assert.match(await csv.text(), /^slug,/);
    } finally {
      await context.close();
    }
  }
});

test("an admin edits a notification's wording, sees the preview change, and saves it", async () => {
  for (const width of [1280, 360]) {
    const { context, page } = await signIn(admin, width);
    try {
      await page.goto(`${base}/console/notifications`);
      const trigger = width === 1280 ? "out_for_delivery" : "delivered";
      await Promise.all([page.waitForNavigation(), page.click(`a[href='/console/notifications/${trigger}/en']`)]);
      const before = await page.locator("#preview-subject").textContent();
      await page.selectOption("#tracking_id", { index: 1 });
      await page.fill("#subject", "{{ brand }}: {{ title }} is nearly there, {{ name }}");
      await page.fill("#sms", "{{ brand }}: order {{ order }} arrives today. {{ tracking_url }}");
      await Promise.all([page.waitForNavigation(), page.click("button[value=preview]")]);
      const after = await page.locator("#preview-subject").textContent();
      assert.notEqual(after, before);
      assert.match(after, /^Porchlight Demo Shop: .+ is nearly there, /, after);
      assert.match(await page.locator("#preview-sms").textContent(), /arrives today/);
      assert.match(await page.locator("h2#preview-h").textContent(), /not saved/);
      const frame = page.frameLocator("iframe");
      assert.ok((await frame.locator("body").textContent()).length > 50, "the email is drawn in its frame");
      await page.screenshot({ path: `${shots}/console-notification-preview-${width}.png`, fullPage: true });
      await page.locator("iframe").screenshot({ path: `${shots}/console-notification-email-${width}.png` });
      if (width === 1280) await axeClean(context, page.url(), "notification designer");
      await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
      assert.match(await page.locator(".flash").textContent(), /Saved/);
      await page.goto(`${base}/console/notifications`);
      assert.match(await page.locator(`a[href='/console/notifications/${trigger}/en']`).textContent(), /Your wording/);
    } finally {
      await context.close();
    }
  }
  const { context, page } = await signIn(agent);
  try {
    await page.goto(`${base}/console/notifications/delivered/en`);
    assert.equal(await page.locator("button[value=save]").count(), 0, "agents preview, admins save");
    const csrf = await page.locator("form[action='/console/sign-out'] input[name=csrf]").getAttribute("value");
    const forged = await page.request.post(`${base}/console/notifications/delivered/en`, {
      form: { csrf, action: "reset" }, maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
  } finally {
    await context.close();
  }
});

test("an admin previews the tracking page with a colour too light for links, is warned, and saves it", async () => {
  for (const width of [1280, 360]) {
    const { context, page } = await signIn(admin, width);
    try {
      await page.goto(`${base}/console/tracking-page`);
      const frame = page.frameLocator("iframe");
      const brand = await page.inputValue("#brand_name");
      assert.ok((await frame.locator("body").textContent()).includes(brand), "the page drawn as it is");
      await page.fill("#brand_name", `${brand} Outlet`);
      await page.fill("#accent_color", "#ffee00");
      await Promise.all([page.waitForNavigation(), page.click("button[value=preview]")]);
      assert.match(await page.locator(".warnings").textContent(), /too light to read on white/);
      assert.match(await page.locator("#page-preview-h").textContent(), /not saved/);
      await page.waitForTimeout(300);
      assert.ok((await frame.locator("body").textContent()).includes(`${brand} Outlet`), "the draft drawn");
      await page.screenshot({ path: `${shots}/console-tracking-page-${width}.png`, fullPage: true });
      await page.locator("iframe").screenshot({ path: `${shots}/console-tracking-page-frame-${width}.png` });
      if (width === 1280) await axeClean(context, page.url(), "tracking page designer");
      // Saved and back as it was, so the other tests see the demo's page.
      await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
      assert.match(await page.locator(".flash").textContent(), /Saved/);
      await page.fill("#brand_name", brand);
      await Promise.all([page.waitForNavigation(), page.click("button[value=save]")]);
      assert.equal(await page.inputValue("#brand_name"), brand);
    } finally {
      await context.close();
    }
  }
});

test("with JavaScript, htmx (served by the console, integrity-checked) updates previews and filters in place", async () => {
  const { context, page } = await open(`${base}/console/sign-in`, { javaScript: true });
  const errors = [];
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(String(error)));
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  try {
    await page.fill("#email", admin);
    await page.fill("#password", password);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await page.goto(`${base}/console/notifications/in_transit/en`);
    await page.waitForFunction(() => typeof window.htmx === "object");
    const url = page.url();
    await page.fill("#subject", "Live: {{ order }} is moving");
    await page.waitForFunction(() => document.querySelector("#preview-subject")?.textContent.startsWith("Live: #"));
    assert.equal(page.url(), url, "no navigation: the preview was swapped in place");
    await page.goto(`${base}/console/shipments`);
    await page.waitForFunction(() => typeof window.htmx === "object");
    const all = await page.locator("table.list tbody tr").count();
    await page.selectOption("#slug", "ups");
    await page.waitForFunction((n) => document.querySelectorAll("table.list tbody tr").length < n, all);
    assert.match(page.url(), /slug=ups/, "the filtered view's address is kept");
    assert.deepEqual(errors, [], "no script errors, no policy violations");
    assert.deepEqual(requests.filter((r) => !r.startsWith(base)), [], "nothing loaded from elsewhere");
    await page.screenshot({ path: `${shots}/console-shipments-live-1280.png`, fullPage: true });
  } finally {
    await context.close();
  }
});

test("an agent resolves an exception from the queue; every other page passes axe and is screenshotted", async () => {
  const { context, page } = await signIn(agent, 1280);
  try {
    await page.goto(`${base}/console/exceptions`);
    const open = await page.locator(".tiles .big").allTextContents();
    assert.ok(open.length >= 1, "the demo's open cases are counted by rule");
    await page.screenshot({ path: `${shots}/console-exceptions-1280.png`, fullPage: true });
    await axeClean(context, page.url(), "exceptions");
    const first = page.locator("table.list tbody tr").first();
    const number = await first.locator("th a").textContent();
    await Promise.all([page.waitForNavigation(), first.locator("th a").click()]);
    assert.match(await page.locator("#todo-h + p").textContent(), /\w/, "the rule's what-to-do");
    await page.fill("#note", "Called the carrier; redelivery booked.");
    await Promise.all([page.waitForNavigation(), page.click("button[value=note]")]);
    assert.match(await page.locator(".notes").textContent(), /redelivery booked/);
    await page.screenshot({ path: `${shots}/console-exception-1280.png`, fullPage: true });
    await axeClean(context, page.url(), "exception");
    await Promise.all([page.waitForNavigation(), page.click("button[value=resolve]")]);
    assert.match(await page.locator(".flash").textContent(), /Resolved/);
    assert.match(await page.locator(".heading").textContent(), /resolved/);
    await page.goto(`${base}/console/exceptions`);
    const still = await page.locator("table.list tbody th a", { hasText: number }).count();
    const total = await page.locator(".tiles .big").allTextContents();
    assert.ok(total.reduce((n, t) => n + Number(t), 0) < open.reduce((n, t) => n + Number(t), 0) || still === 0, "one fewer open");
  } finally {
    await context.close();
  }
  for (const [who, pages] of [[admin, ["team", "audit", "settings", "notifications", "returns/policy"]], [viewer, ["settings", "team", "returns/policy"]]]) {
    for (const width of [360, 1280]) {
      const signed = await signIn(who, width);
      try {
        for (const name of pages) {
          await signed.page.goto(`${base}/console/${name}`);
          assert.equal(await signed.page.locator("h1").count(), 1, name);
          const role = who === admin ? "admin" : "viewer";
          const file = name.replace("/", "-");
          await signed.page.screenshot({ path: `${shots}/console-${file}-${role}-${width}.png`, fullPage: true });
          if (width === 1280) await axeClean(signed.context, signed.page.url(), `${name} as ${role}`);
        }
      } finally {
        await signed.context.close();
      }
    }
  }
});

test("an admin writes an exception rule, adds a webhook endpoint, sends a test notification, sorts and filters by channel", async () => {
  for (const width of [360, 1280]) {
    const { context, page } = await signIn(admin, width);
    try {
      await page.goto(`${base}/console/exceptions/rules/new`);
      await page.screenshot({ path: `${shots}/console-exception-rule-${width}.png`, fullPage: true });
      if (width === 1280) await axeClean(context, page.url(), "exception rule editor");
      const name = `Two misses ${width} ${Date.now()}`;
      await page.fill("#name", name);
      await page.fill("#reason", "Call the shopper to agree on a pickup");
      await page.check("input[name=condition][value=failed_attempts]");
      await page.fill("#at_least", "2");
      await page.fill("#add_tag", "call-me");
      await Promise.all([page.waitForNavigation(), page.click("button:has-text('Save the rule')")]);
      assert.match(await page.locator(".flash").textContent(), /Rule saved/);
      assert.equal(await page.locator("table.list th a", { hasText: name }).count(), 1);
    } finally {
      await context.close();
    }
  }
  const { context, page } = await signIn(admin, 1280);
  try {
    await page.goto(`${base}/console/settings`);
    await page.click("summary:has-text('Add an endpoint')");
    await page.fill("#hook-url", "https://hooks.example.com/porchlight-demo");
    await page.check("input[name=events][value=exception_case]");
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Add the endpoint')")]);
    assert.match(await page.locator(".flash").textContent(), /signing secret/);
    assert.ok((await page.locator(".flash code.secret").textContent()).length >= 32, "the secret, shown once");
    await page.screenshot({ path: `${shots}/console-settings-endpoint-1280.png`, fullPage: true });
    await page.goto(`${base}/console/settings`);
    assert.equal(await page.locator(".flash").count(), 0, "not shown again");
    assert.equal(await page.locator("a", { hasText: "hooks.example.com/porchlight-demo" }).count(), 1);

    await page.goto(`${base}/console/notifications/delivered/en`);
    await Promise.all([page.waitForNavigation(), page.click("button:has-text('Send the test')")]);
    assert.match(await page.locator(".flash").textContent(), /Test sent/);

    await page.goto(`${base}/console/shipments`);
    const newest = await page.locator("table.list tbody th a").first().textContent();
    await page.selectOption("#sort", "oldest");
    await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
    assert.match(page.url(), /sort=oldest/);
    assert.notEqual(await page.locator("table.list tbody th a").first().textContent(), newest, "the oldest come first");
    await page.click("summary:has-text('More filters')");
    await page.selectOption("#channel", "api");
    await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
    assert.ok((await page.locator("table.list tbody tr").count()) > 0, "the demo's trackings came through the API");
    await page.selectOption("#channel", "console");
    await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
    assert.equal(await page.locator("table.list tbody tr").count(), 0, "none was added by hand");
  } finally {
    await context.close();
  }
});
