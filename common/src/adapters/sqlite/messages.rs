//! The message ledger: one row per message, a partial index over the planned ones by due time.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Row, params};

use super::{SqliteStore, corrupt, execute, from_micros, micros, unavailable};
use crate::domain::{Channel, Language, ShipmentId, TenantId, Trigger};
use crate::ports::{LedgerEntry, MessageLedger, MessageState, StoreError};

const COLUMNS: &str = "tenant_id, id, shipment_id, trigger, channel, recipient, language, planned_at, due_at, \
                       attempts, state, finished_at, detail, test";

/// A row of [`COLUMNS`] as an entry.
fn entry(row: &Row<'_>) -> rusqlite::Result<Result<LedgerEntry, StoreError>> {
    let texts: [String; 8] =
        [row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(10)?];
    let (planned_at, due_at, attempts): (i64, i64, i64) = (row.get(7)?, row.get(8)?, row.get(9)?);
    let (finished_at, detail, test): (Option<i64>, Option<String>, bool) = (row.get(11)?, row.get(12)?, row.get(13)?);
    let [tenant, id, shipment, trigger, channel, recipient, language, state] = texts;
    Ok((|| {
        let trigger = Trigger::parse_stored(&trigger).ok_or_else(|| corrupt("trigger"))?;
        let channel = Channel::parse(&channel).ok_or_else(|| corrupt("channel"))?;
        Ok(LedgerEntry {
            id,
            tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
            shipment_id: ShipmentId::parse(&shipment).map_err(|_| corrupt("shipment_id"))?,
            trigger,
            channel,
            recipient,
            language: Language::parse(&language).map_err(|_| corrupt("language"))?,
            planned_at: from_micros(planned_at),
            due_at: from_micros(due_at),
            attempts: attempts as u32,
            state: MessageState::parse(&state).ok_or_else(|| corrupt("state"))?,
            finished_at: finished_at.map(from_micros),
            detail,
            test,
        })
    })())
}

fn entries(
    rows: impl Iterator<Item = rusqlite::Result<Result<LedgerEntry, StoreError>>>,
) -> Result<Vec<LedgerEntry>, StoreError> {
    rows.map(|row| row.map_err(unavailable)?).collect()
}

#[async_trait]
impl MessageLedger for SqliteStore {
    async fn plan(&self, entry: &LedgerEntry) -> Result<bool, StoreError> {
        let e = entry.clone();
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT (tenant_id, id) DO NOTHING"
                ))
                .and_then(|mut statement| {
                    statement.execute(params![
                        e.tenant_id.as_str(),
                        e.id,
                        e.shipment_id.as_str(),
                        e.trigger.as_str(),
                        e.channel.as_str(),
                        e.recipient,
                        e.language.code(),
                        micros(e.planned_at),
                        micros(e.due_at),
                        e.attempts as i64,
                        e.state.as_str(),
                        e.finished_at.map(micros),
                        e.detail,
                        e.test,
                    ])
                })
                .map_err(unavailable)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn lease_due(&self, now: DateTime<Utc>, lease: Duration, max: usize) -> Result<Vec<LedgerEntry>, StoreError> {
        self.write(move |tx| {
            let mut statement = tx
                .prepare_cached(&format!(
                    "UPDATE messages SET lease_until = ?1, attempts = attempts + 1
                     WHERE rowid IN (SELECT rowid FROM messages
                                     WHERE state = 'planned' AND due_at <= ?2
                                       AND (lease_until IS NULL OR lease_until <= ?2)
                                     ORDER BY due_at LIMIT ?3)
                     RETURNING {COLUMNS}"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(now + lease), micros(now), max as i64], entry)
                .map_err(unavailable)?;
            let mut leased = entries(rows)?;
            leased.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
            Ok(leased)
        })
        .await
    }

    async fn finish(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        state: MessageState,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (tenant, shipment, id, detail) =
            (tenant.clone(), shipment.clone(), id.to_owned(), detail.map(str::to_owned));
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE messages SET state = ?4, detail = ?5, finished_at = ?6, lease_until = NULL
                     WHERE tenant_id = ?1 AND shipment_id = ?2 AND id = ?3 AND state = 'planned'",
                params![tenant.as_str(), shipment.as_str(), id, state.as_str(), detail, micros(at)],
            )
            .map_err(unavailable)?;
            if changed == 1 {
                return Ok(());
            }
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE tenant_id = ?1 AND shipment_id = ?2 AND id = ?3)",
                    params![tenant.as_str(), shipment.as_str(), id],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            if exists { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn reschedule(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        due_at: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let (tenant, shipment, id, detail) =
            (tenant.clone(), shipment.clone(), id.to_owned(), detail.map(str::to_owned));
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE messages SET due_at = ?4, detail = ?5, lease_until = NULL
                     WHERE tenant_id = ?1 AND shipment_id = ?2 AND id = ?3 AND state = 'planned'",
                params![tenant.as_str(), shipment.as_str(), id, micros(due_at), detail],
            )
            .map_err(unavailable)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn shipment_messages(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let (tenant, shipment) = (tenant.clone(), shipment.clone());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM messages WHERE tenant_id = ?1 AND shipment_id = ?2 ORDER BY planned_at, id"
                ))
                .map_err(unavailable)?;
            let rows = statement.query_map(params![tenant.as_str(), shipment.as_str()], entry).map_err(unavailable)?;
            entries(rows)
        })
        .await
    }

    async fn erase_recipient(&self, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> Result<(), StoreError> {
        let (tenant, shipment, id) = (tenant.clone(), shipment.clone(), id.to_owned());
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE messages SET recipient = '' WHERE tenant_id = ?1 AND shipment_id = ?2 AND id = ?3",
                params![tenant.as_str(), shipment.as_str(), id],
            )
            .map_err(unavailable)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }
}
