//! The change feed: the `changes` table, appended in the transaction of every shipment write.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, from_micros, micros, unavailable};
use crate::domain::{ShipmentId, TenantId};
use crate::ports::{ChangeEvent, ChangeFeed, ChangeKind, FeedEntry, StatusSnapshot, StoreError};

fn snapshot_json(snapshot: Option<&StatusSnapshot>) -> Result<Option<String>, StoreError> {
    snapshot.map(|s| serde_json::to_string(s).map_err(unavailable)).transpose()
}

pub(super) fn record_change(
    tx: &Connection,
    tenant: &TenantId,
    id: &ShipmentId,
    kind: ChangeKind,
    old: Option<&StatusSnapshot>,
    new: Option<&StatusSnapshot>,
) -> Result<(), StoreError> {
    let kind = match kind {
        ChangeKind::Created => "created",
        ChangeKind::Updated => "updated",
        ChangeKind::Deleted => "deleted",
        ChangeKind::Expired => "expired",
    };
    execute(
        tx,
        "INSERT INTO changes (tenant_id, shipment_id, kind, at, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![tenant.as_str(), id.as_str(), kind, micros(Utc::now()), snapshot_json(old)?, snapshot_json(new)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT seq, tenant_id, shipment_id, kind, at, old, new FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![after as i64, limit as i64], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (seq, tenant, shipment, kind, at, old, new) = row.map_err(unavailable)?;
                let snapshot = |json: Option<String>| -> Result<Option<StatusSnapshot>, StoreError> {
                    json.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("status snapshot"))).transpose()
                };
                let change = ChangeEvent {
                    tenant_id: TenantId::parse(&tenant).map_err(|_| corrupt("tenant_id"))?,
                    shipment_id: ShipmentId::parse(&shipment).map_err(|_| corrupt("shipment_id"))?,
                    kind: match kind.as_str() {
                        "created" => ChangeKind::Created,
                        "updated" => ChangeKind::Updated,
                        "expired" => ChangeKind::Expired,
                        _ => ChangeKind::Deleted,
                    },
                    at: from_micros(at),
                    old: snapshot(old)?,
                    new: snapshot(new)?,
                };
                Ok(FeedEntry { seq: seq as u64, change })
            })
            .collect()
        })
        .await
    }

    async fn position(&self, consumer: &str) -> Result<u64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |connection| {
            let seq: Option<i64> = connection
                .query_row("SELECT seq FROM feed_positions WHERE consumer = ?1", params![consumer], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            Ok(seq.map_or(0, |seq| seq as u64))
        })
        .await
    }

    async fn save_position(&self, consumer: &str, seq: u64) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO feed_positions (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                params![consumer, seq as i64],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
