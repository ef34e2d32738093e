//! Merchants' webhook events and deliveries: events by tenant and time, deliveries with their
//! attempts as JSON, a partial index over the pending ones by due time.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, corrupt, execute, from_micros, micros, unavailable};
use crate::domain::{TenantId, WebhookEvent};
use crate::ports::{AfterAttempt, Attempt, Delivery, DeliveryState, StoreError, WebhookEventRecord, WebhookStore};

/// `shipment_id` holds the event's subject (a tracking's id, or a return's).
const EVENT_COLUMNS: &str = "tenant_id, event_id, event, at, shipment_id, body";
const DELIVERY_COLUMNS: &str =
    "tenant_id, id, endpoint_id, event_id, event, created_at, due_at, state, attempts, replayed_after";

/// A subject's events, newest first. The subject's index is named: left to itself, SQLite
/// reads the tenant's time index backwards to skip sorting, every event of the tenant.
pub(super) fn subject_events_sql() -> String {
    format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events INDEXED BY webhook_events_by_subject
         WHERE tenant_id = ?1 AND shipment_id = ?2 ORDER BY at DESC, event_id DESC LIMIT ?3"
    )
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<Result<WebhookEventRecord, StoreError>> {
    let (tenant, event_id, event, at, shipment, body): (String, String, String, i64, String, Vec<u8>) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?);
    Ok((|| {
        Ok(WebhookEventRecord {
            tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
            event_id,
            event: WebhookEvent::parse(&event).ok_or_else(|| corrupt("event"))?,
            at: from_micros(at),
            subject: shipment,
            body,
        })
    })())
}

fn delivery_row(row: &Row<'_>) -> rusqlite::Result<Result<Delivery, StoreError>> {
    let texts: [String; 5] = [row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?];
    let (created_at, due_at, state, attempts, replayed_after): (i64, i64, String, String, i64) =
        (row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?);
    let [tenant, id, endpoint_id, event_id, event] = texts;
    Ok((|| {
        Ok(Delivery {
            id,
            tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
            endpoint_id,
            event_id,
            event: WebhookEvent::parse(&event).ok_or_else(|| corrupt("event"))?,
            created_at: from_micros(created_at),
            due_at: from_micros(due_at),
            state: DeliveryState::parse(&state).ok_or_else(|| corrupt("state"))?,
            attempts: serde_json::from_str(&attempts).map_err(|_| corrupt("attempts"))?,
            replayed_after: replayed_after as u32,
        })
    })())
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<Result<T, StoreError>>>) -> Result<Vec<T>, StoreError> {
    rows.map(|row| row.map_err(unavailable)?).collect()
}

fn attempts_json(attempts: &[Attempt]) -> String {
    serde_json::to_string(attempts).expect("attempts serialize")
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn record_event(&self, event: &WebhookEventRecord) -> Result<bool, StoreError> {
        let e = event.clone();
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO webhook_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant_id, event_id) DO NOTHING"
                ))
                .and_then(|mut statement| {
                    statement.execute(params![
                        e.tenant_id.as_str(),
                        e.event_id,
                        e.event.as_str(),
                        micros(e.at),
                        e.subject,
                        e.body,
                    ])
                })
                .map_err(unavailable)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn event(&self, tenant: &TenantId, event_id: &str) -> Result<Option<WebhookEventRecord>, StoreError> {
        let (tenant, event_id) = (tenant.clone(), event_id.to_owned());
        self.read(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE tenant_id = ?1 AND event_id = ?2"
                ))
                .and_then(|mut statement| statement.query_row(params![tenant.as_str(), event_id], event_row).optional())
                .map_err(unavailable)?
                .transpose()
        })
        .await
    }

    async fn events_between(
        &self,
        tenant: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE tenant_id = ?1 AND at >= ?2 AND at < ?3
                     ORDER BY at, event_id LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), micros(from), micros(to), limit as i64], event_row)
                .map_err(unavailable)?;
            collect(rows)
        })
        .await
    }

    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let d = delivery.clone();
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (tenant_id, id) DO NOTHING"
                ))
                .and_then(|mut statement| {
                    statement.execute(params![
                        d.tenant_id.as_str(),
                        d.id,
                        d.endpoint_id,
                        d.event_id,
                        d.event.as_str(),
                        micros(d.created_at),
                        micros(d.due_at),
                        d.state.as_str(),
                        attempts_json(&d.attempts),
                        i64::from(d.replayed_after),
                    ])
                })
                .map_err(unavailable)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn lease_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.write(move |tx| {
            let mut statement = tx
                .prepare_cached(&format!(
                    "UPDATE webhook_deliveries SET lease_until = ?1
                     WHERE rowid IN (SELECT rowid FROM webhook_deliveries
                                     WHERE state = 'pending' AND due_at <= ?2
                                       AND (lease_until IS NULL OR lease_until <= ?2)
                                     ORDER BY due_at LIMIT ?3)
                     RETURNING {DELIVERY_COLUMNS}"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(now + lease), micros(now), max as i64], delivery_row)
                .map_err(unavailable)?;
            let mut leased = collect(rows)?;
            leased.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
            Ok(leased)
        })
        .await
    }

    async fn record_attempt(
        &self,
        tenant: &TenantId,
        id: &str,
        attempt: &Attempt,
        next: AfterAttempt,
    ) -> Result<(), StoreError> {
        let (tenant, id, attempt) = (tenant.clone(), id.to_owned(), attempt.clone());
        self.write(move |tx| {
            let attempts: Option<String> = tx
                .query_row(
                    "SELECT attempts FROM webhook_deliveries WHERE tenant_id = ?1 AND id = ?2 AND state = 'pending'",
                    params![tenant.as_str(), id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let mut attempts: Vec<Attempt> =
                serde_json::from_str(&attempts.ok_or(StoreError::NotFound)?).map_err(|_| corrupt("attempts"))?;
            attempts.push(attempt);
            let (state, due_at) = match next {
                AfterAttempt::RetryAt(at) => (DeliveryState::Pending, Some(micros(at))),
                AfterAttempt::Delivered => (DeliveryState::Delivered, None),
                AfterAttempt::Dead => (DeliveryState::Dead, None),
            };
            execute(
                tx,
                "UPDATE webhook_deliveries SET attempts = ?3, state = ?4, due_at = COALESCE(?5, due_at),
                        lease_until = NULL
                 WHERE tenant_id = ?1 AND id = ?2",
                params![tenant.as_str(), id, attempts_json(&attempts), state.as_str(), due_at],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn postpone_delivery(&self, tenant: &TenantId, id: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE webhook_deliveries SET due_at = ?3, lease_until = NULL
                     WHERE tenant_id = ?1 AND id = ?2 AND state = 'pending'",
                params![tenant.as_str(), id, micros(due_at)],
            )
            .map_err(unavailable)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn replay_dead(&self, tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let changed = execute(tx,
                    "UPDATE webhook_deliveries
                     SET state = 'pending', due_at = ?3, lease_until = NULL, replayed_after = json_array_length(attempts)
                     WHERE tenant_id = ?1 AND id = ?2 AND state = 'dead'",
                    params![tenant.as_str(), id, micros(at)],
                )
                .map_err(unavailable)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn delivery(&self, tenant: &TenantId, id: &str) -> Result<Option<Delivery>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = ?1 AND id = ?2"
                ))
                .and_then(|mut statement| statement.query_row(params![tenant.as_str(), id], delivery_row).optional())
                .map_err(unavailable)?
                .transpose()
        })
        .await
    }

    async fn endpoint_deliveries(
        &self,
        tenant: &TenantId,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (tenant, endpoint) = (tenant.clone(), endpoint.to_owned());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
                     WHERE tenant_id = ?1 AND endpoint_id = ?2 AND (?3 IS NULL OR state = ?3)
                       AND (?4 IS NULL OR created_at < ?4)
                     ORDER BY created_at DESC, id DESC LIMIT ?5"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(
                    params![
                        tenant.as_str(),
                        endpoint,
                        state.map(DeliveryState::as_str),
                        before.map(micros),
                        limit as i64
                    ],
                    delivery_row,
                )
                .map_err(unavailable)?;
            collect(rows)
        })
        .await
    }

    async fn subject_events(
        &self,
        tenant: &TenantId,
        subject: &str,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError> {
        let (tenant, subject) = (tenant.clone(), subject.to_owned());
        self.read(move |connection| {
            let mut statement = connection.prepare_cached(&subject_events_sql()).map_err(unavailable)?;
            let rows =
                statement.query_map(params![tenant.as_str(), subject, limit as i64], event_row).map_err(unavailable)?;
            collect(rows)
        })
        .await
    }

    async fn replace_event_body(&self, tenant: &TenantId, event_id: &str, body: &[u8]) -> Result<(), StoreError> {
        let (tenant, event_id, body) = (tenant.clone(), event_id.to_owned(), body.to_vec());
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE webhook_events SET body = ?3 WHERE tenant_id = ?1 AND event_id = ?2",
                params![tenant.as_str(), event_id, body],
            )
            .map_err(unavailable)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn deliveries(&self, tenant: &TenantId, ids: &[String]) -> Result<Vec<Delivery>, StoreError> {
        let tenant = tenant.clone();
        let ids = serde_json::to_string(&ids[..ids.len().min(100)]).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
                     WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))"
                ))
                .map_err(unavailable)?;
            let rows = statement.query_map(params![tenant.as_str(), ids], delivery_row).map_err(unavailable)?;
            collect(rows)
        })
        .await
    }
}

impl SqliteStore {
    /// Removes up to `limit` webhook deliveries made before `before` that are no longer
    /// pending, then up to `limit` events from before it that no pending delivery needs: what
    /// the table's TTL does on AWS. How many rows went.
    pub async fn purge_webhook_history(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.write(move |tx| {
            let deliveries = execute(
                tx,
                "DELETE FROM webhook_deliveries WHERE rowid IN (
                         SELECT rowid FROM webhook_deliveries WHERE created_at < ?1 AND state != 'pending' LIMIT ?2)",
                params![micros(before), limit as i64],
            )
            .map_err(unavailable)?;
            let events = execute(
                tx,
                "DELETE FROM webhook_events WHERE rowid IN (
                         SELECT rowid FROM webhook_events e WHERE at < ?1 AND NOT EXISTS (
                             SELECT 1 FROM webhook_deliveries d
                             WHERE d.tenant_id = e.tenant_id AND d.event_id = e.event_id AND d.state = 'pending')
                         LIMIT ?2)",
                params![micros(before), limit as i64],
            )
            .map_err(unavailable)?;
            Ok(deliveries + events)
        })
        .await
    }
}
