// AfterShip's official Node SDK (@aftership/tracking-sdk 17.0.0), pointed at a local porchlight
// server through its `domain` option. PORCHLIGHT_URL and PORCHLIGHT_API_KEY come from
// scripts/test.sh, which starts the server on loopback with a fresh database.
import { test } from "node:test";
import assert from "node:assert/strict";
import sdk from "@aftership/tracking-sdk";

const { AfterShip } = sdk;
const domain = process.env.PORCHLIGHT_URL;
const apiKey = process.env.PORCHLIGHT_API_KEY;
if (!domain || !apiKey) {
  throw new Error("PORCHLIGHT_URL and PORCHLIGHT_API_KEY must be set (run scripts/test.sh)");
}
const client = new AfterShip({ api_key: apiKey, domain, max_retry: 0 });
const unique = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

test("create, read, update, list, complete and delete a tracking", async () => {
  const number = `PL${unique}`;
  const created = await client.tracking.createTracking({
    tracking_number: number,
    slug: "yunexpress",
    title: "Ceramic mug",
    order_number: "#2001",
    destination_country_region: "USA",
    customers: [{ role: "buyer", name: "Ann", email: "ann@example.com" }],
    last_mile: { tracking_number: `9400${unique}000000`.slice(0, 22), slug: "usps" },
  });
  assert.equal(created.data.tracking_number, number);
  assert.equal(created.data.tag, "Pending");
  assert.equal(created.data.last_mile.slug, "usps");
  const id = created.data.id;

  const read = await client.tracking.getTrackingById(id);
  assert.equal(read.data.id, id);
  assert.equal(read.data.title, "Ceramic mug");
  assert.deepEqual(read.data.checkpoints, []);

  const updated = await client.tracking.updateTrackingById(id, { note: "leave at door", order_number: "#2002" });
  assert.equal(updated.data.note, "leave at door");
  assert.equal(updated.data.order_number, "#2002");

  const listed = await client.tracking.getTrackings({ tracking_numbers: number, limit: 10 });
  assert.equal(listed.data.pagination.total, 1);
  assert.equal(listed.data.trackings[0].id, id);

  const completed = await client.tracking.markTrackingCompletedById(id, { reason: "DELIVERED" });
  assert.equal(completed.data.tag, "Delivered");
  assert.equal(completed.data.active, false);

  const deleted = await client.tracking.deleteTrackingById(id);
  assert.equal(deleted.data.id, id);
  await assert.rejects(client.tracking.getTrackingById(id), (error) => {
    assert.equal(error.meta_code, 4004);
    assert.equal(error.code, "TRACKING_DOES_NOT_EXIST");
    return true;
  });
});

test("the courier is detected when the slug is omitted", async () => {
  const created = await client.tracking.createTracking({ tracking_number: "1Z999AA10123456784" }).catch((error) => {
    if (error.meta_code === 4003) return null; // created by an earlier run against the same database
    throw error;
  });
  if (created) assert.equal(created.data.slug, "ups");
});

test("errors arrive as the SDK's AftershipError with AfterShip's codes", async () => {
  const number = `DUP${unique}`;
  await client.tracking.createTracking({ tracking_number: number, slug: "yanwen" });
  await assert.rejects(client.tracking.createTracking({ tracking_number: number, slug: "yanwen" }), (error) => {
    assert.equal(error.meta_code, 4003);
    assert.equal(error.code, "TRACKING_ALREADY_EXIST");
    return true;
  });
  await assert.rejects(client.tracking.createTracking({ tracking_number: "RR123456785CN", slug: "ups" }), (error) => {
    assert.equal(error.meta_code, 4005, "a number that is not the courier's");
    return true;
  });
  await assert.rejects(client.tracking.createTracking({ slug: "dhl" }), (error) => {
    assert.equal(error.code, "TRACKING_NUMBER_REQUIRED");
    return true;
  });
  await assert.rejects(client.tracking.createTracking({ tracking_number: "X1", slug: "not-a-courier" }), (error) => {
    assert.equal(error.code, "SLUG_INVALID");
    return true;
  });
  const stranger = new AfterShip({ api_key: "plk_not_a_key", domain, max_retry: 0 });
  await assert.rejects(stranger.tracking.getTrackings(), (error) => {
    assert.equal(error.meta_code, 401);
    assert.equal(error.code, "API_KEY_INVALID");
    return true;
  });
});

test("pages follow next_cursor to the end", async () => {
  const prefix = `PG${unique}`;
  for (let i = 0; i < 5; i++) {
    await client.tracking.createTracking({ tracking_number: `${prefix}${i}`, slug: "yunexpress", shipment_tags: ["paging"] });
  }
  const seen = [];
  let cursor;
  do {
    const page = await client.tracking.getTrackings({ keyword: prefix, limit: 2, cursor });
    seen.push(...page.data.trackings.map((t) => t.tracking_number));
    cursor = page.data.pagination.has_next_page ? page.data.pagination.next_cursor : undefined;
  } while (cursor);
  assert.deepEqual(seen, [4, 3, 2, 1, 0].map((i) => `${prefix}${i}`));
});

test("couriers are listed and detected", async () => {
  const all = await client.courier.getCouriers();
  assert.ok(all.data.total > 40);
  assert.ok(all.data.couriers.some((c) => c.slug === "china-post"));
  const detected = await client.courier.detectCourier({ tracking_number: "RR123456785CN" });
  assert.equal(detected.data.couriers[0].slug, "china-post");
});
