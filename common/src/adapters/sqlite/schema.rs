//! The schema: migrations applied in order at open.

use rusqlite::Connection;

use super::unavailable;
use crate::ports::StoreError;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
    digest BLOB PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
CREATE TABLE shipments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    slug TEXT NOT NULL,
    number_compact TEXT NOT NULL,
    last_mile_slug TEXT,
    last_mile_compact TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    tag TEXT NOT NULL,
    subtag TEXT NOT NULL,
    active INTEGER NOT NULL,
    checkpoint_count INTEGER NOT NULL,
    origin TEXT,
    destination TEXT,
    courier_destination TEXT,
    order_id TEXT,
    order_number TEXT,
    return_to_sender INTEGER NOT NULL,
    transit_time INTEGER,
    shipment_tags TEXT NOT NULL,
    search_text TEXT NOT NULL,
    next_poll_at INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX shipments_by_number ON shipments (tenant_id, slug, number_compact);
CREATE INDEX shipments_by_leg ON shipments (slug, number_compact);
CREATE INDEX shipments_by_last_mile ON shipments (last_mile_slug, last_mile_compact)
    WHERE last_mile_slug IS NOT NULL;
CREATE INDEX shipments_by_created ON shipments (tenant_id, created_at DESC, id DESC);
CREATE INDEX shipments_by_next_poll ON shipments (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    old TEXT,
    new TEXT
);
"#,
    r#"
CREATE TABLE queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    enqueued_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    dead_at INTEGER,
    dead_reason TEXT
);
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at, id) WHERE dead_at IS NULL;
CREATE INDEX queue_messages_dead ON queue_messages (queue, id) WHERE dead_at IS NOT NULL;
"#,
    r#"
CREATE TABLE courier_connections (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    courier_slug TEXT NOT NULL,
    sealed_credentials BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX courier_connections_by_slug ON courier_connections (tenant_id, courier_slug, id);
"#,
    // Poll cadences: a shipment on its cadence is due at the seconds t with
    // t % poll_cadence = poll_phase. Existing shipments keep their explicit next_poll_at
    // until their next poll sets a cadence.
    r#"
ALTER TABLE shipments ADD COLUMN poll_cadence INTEGER;
ALTER TABLE shipments ADD COLUMN poll_phase INTEGER;
"#,
    // Change feed consumers' positions. The status fan-out of a database made before it
    // starts at the feed's end: the changes of the past were never news to anyone.
    r#"
CREATE TABLE feed_positions (
    consumer TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
INSERT INTO feed_positions (consumer, seq) SELECT 'status-fanout', COALESCE(MAX(seq), 0) FROM changes;
"#,
    // Tracking pages: one per tenant, slugs unique across tenants; shoppers' lookups by
    // number (either leg, any courier) and by order number.
    r#"
CREATE TABLE tracking_pages (
    tenant_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE INDEX shipments_by_tenant_number ON shipments (tenant_id, number_compact);
CREATE INDEX shipments_by_tenant_last_mile ON shipments (tenant_id, last_mile_compact)
    WHERE last_mile_compact IS NOT NULL;
CREATE INDEX shipments_by_order_number ON shipments (tenant_id, order_number) WHERE order_number IS NOT NULL;
"#,
    // Merchants' settings documents (notification rules, ...), versioned.
    r#"
CREATE TABLE tenant_settings (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);
"#,
    // The message ledger: one row per notification, planned until sent, failed or suppressed.
    r#"
CREATE TABLE messages (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    planned_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    attempts INTEGER NOT NULL,
    state TEXT NOT NULL,
    finished_at INTEGER,
    detail TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX messages_due ON messages (due_at) WHERE state = 'planned';
CREATE INDEX messages_by_shipment ON messages (tenant_id, shipment_id, planned_at);
"#,
    // Merchants' webhooks: every event with its exact body (for replays), and one delivery per
    // endpoint and event with its attempts.
    r#"
CREATE TABLE webhook_events (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at INTEGER NOT NULL,
    shipment_id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX webhook_events_by_time ON webhook_events (tenant_id, at, event_id);
CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    state TEXT NOT NULL,
    attempts TEXT NOT NULL,
    replayed_after INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at);
"#,
    // Exception cases: one per shipment and rule, the case as JSON beside the columns the
    // queue filters on.
    r#"
CREATE TABLE exception_cases (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX exception_cases_by_opening ON exception_cases (tenant_id, opened_at);
"#,
    // Merchants' suppression lists: the entry as JSON under its id (a digest of the address).
    r#"
CREATE TABLE suppressions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
"#,
    // Webhook history by age, for the purge of what is past 30 days (the TTL on AWS).
    r#"
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);
CREATE INDEX webhook_events_by_age ON webhook_events (at);
"#,
    // Orders and their lines, as JSON, with the number shoppers look them up by.
    r#"
CREATE TABLE orders (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    order_number TEXT,
    updated_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX orders_by_number ON orders (tenant_id, order_number);
"#,
    // Returns, as JSON, beside the columns their lookups, listings and expiry read.
    r#"
CREATE TABLE returns (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    rma_number TEXT NOT NULL,
    order_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX returns_by_rma ON returns (tenant_id, rma_number);
CREATE INDEX returns_by_order ON returns (tenant_id, order_id, created_at);
CREATE INDEX returns_by_creation ON returns (tenant_id, created_at);
CREATE INDEX returns_due ON returns (expires_at) WHERE expires_at IS NOT NULL;
"#,
    // Analytics: each shipment's status snapshot (with its facts) beside its body, so that a
    // change records the old one without reading the body; counters per period and lane; the
    // jobs of history imports.
    r#"
ALTER TABLE shipments ADD COLUMN snapshot TEXT;
CREATE TABLE rollups (
    tenant_id TEXT NOT NULL,
    period TEXT NOT NULL,
    lane TEXT NOT NULL,
    counters TEXT NOT NULL,
    PRIMARY KEY (tenant_id, period, lane)
);
CREATE TABLE rollup_counted (
    tenant_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, shipment_id)
);
CREATE TABLE imports (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX imports_waiting ON imports (state, created_at);
"#,
    // Analytics count transit days (for estimated delivery dates): snapshots are made afresh
    // from the bodies and the rollups recounted (serve recounts a feed never counted).
    r#"
UPDATE shipments SET snapshot = NULL;
DELETE FROM rollups;
DELETE FROM rollup_counted;
DELETE FROM feed_positions WHERE consumer = 'analytics';
"#,
    // Storefront connectors: ids unique across tenants (webhooks name them); deliveries
    // handled (a week); the newest change applied per store resource (orders, fulfilments).
    r#"
CREATE TABLE connectors (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    sealed_secrets BLOB NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE connector_deliveries (
    tenant_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    handled_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, delivery_id)
);
CREATE INDEX connector_deliveries_by_age ON connector_deliveries (handled_at);
CREATE TABLE connector_resources (
    tenant_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, resource)
);
"#,
    // The console: team members (an email signs in to one merchant), sessions by the digest
    // of their cookie's secret, the audit log.
    r#"
CREATE TABLE members (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE console_sessions (
    digest BLOB PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
"#,
    r#"
CREATE INDEX shipments_by_updated ON shipments (tenant_id, updated_at DESC, id DESC);
CREATE INDEX webhook_events_by_subject ON webhook_events (tenant_id, shipment_id, at);
ALTER TABLE messages ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
-- How each tracking came; those stored before it was kept came through the API.
ALTER TABLE shipments ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
-- The column comes after the body: filters read it from the index, not past the body's pages.
CREATE INDEX shipments_by_source ON shipments (tenant_id, source, created_at DESC, id DESC);
CREATE INDEX shipments_by_source_updated ON shipments (tenant_id, source, updated_at DESC, id DESC);
"#,
    r#"
-- The poller's cadence part, by cadence and phase, covering: a run reads these index entries,
-- not every active shipment's row and body (what made a 20,000-tracking import slow serve).
CREATE INDEX shipments_on_cadence ON shipments (poll_cadence, poll_phase, tenant_id, id)
    WHERE active = 1 AND next_poll_at IS NULL AND poll_cadence IS NOT NULL;
CREATE INDEX shipments_polled_at ON shipments (next_poll_at, tenant_id, id) WHERE active = 1 AND next_poll_at IS NOT NULL;
"#,
    r#"
-- Each tenant's number of shipments, kept by the two triggers in the writer's transaction: an
-- unfiltered list answers its `total` from here instead of counting the tenant's index entries
-- (what made each list cost a read of every entry, 4 ms at 30,000 shipments).
CREATE TABLE shipment_totals (
    tenant_id TEXT PRIMARY KEY,
    shipments INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO shipment_totals (tenant_id, shipments) SELECT tenant_id, COUNT(*) FROM shipments GROUP BY tenant_id;
CREATE TRIGGER shipments_counted AFTER INSERT ON shipments BEGIN
    INSERT INTO shipment_totals (tenant_id, shipments) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET shipments = shipments + 1;
END;
CREATE TRIGGER shipments_uncounted AFTER DELETE ON shipments BEGIN
    UPDATE shipment_totals SET shipments = shipments - 1 WHERE tenant_id = OLD.tenant_id;
END;
"#,
];

/// The schema version this build migrates to.
pub(super) fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

pub(super) fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(unavailable)?;
    let applied = usize::try_from(applied).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        connection
            .execute_batch(&format!("BEGIN; {migration}; PRAGMA user_version = {}; COMMIT;", index + 1))
            .map_err(unavailable)?;
        tracing::info!(version = index + 1, "database migrated");
    }
    Ok(())
}
