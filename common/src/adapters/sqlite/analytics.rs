//! Rollups: one row of JSON counters per tenant, period and lane (the lane as its JSON).

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{SqliteStore, corrupt, execute, unavailable};
use crate::domain::analytics::{Counters, Lane, Period, ShipmentFacts, change_rows};
use crate::domain::{Shipment, TenantId};
use crate::ports::{AnalyticsStore, CountedChange, FeedMark, RollupRow, StoreError};

type Key = (String, String, String);

fn key_of(tenant: &TenantId, period: &Period, lane: &Lane) -> Result<Key, StoreError> {
    Ok((tenant.as_str().to_owned(), period.key(), serde_json::to_string(lane).map_err(unavailable)?))
}

/// Adds `deltas` (netted per row) to the stored rows.
fn add_rows(tx: &Connection, deltas: HashMap<Key, Counters>) -> Result<(), StoreError> {
    for ((tenant, period, lane), delta) in deltas {
        if delta.is_empty() {
            continue;
        }
        let stored: Option<String> = tx
            .prepare_cached("SELECT counters FROM rollups WHERE tenant_id = ?1 AND period = ?2 AND lane = ?3")
            .map_err(unavailable)?
            .query_row(params![tenant, period, lane], |row| row.get(0))
            .optional()
            .map_err(unavailable)?;
        let mut counters = match stored {
            Some(json) => serde_json::from_str::<Counters>(&json).map_err(|_| corrupt("rollup counters"))?,
            None => Counters::default(),
        };
        counters.merge(&delta, 1);
        if counters.is_empty() {
            execute(
                tx,
                "DELETE FROM rollups WHERE tenant_id = ?1 AND period = ?2 AND lane = ?3",
                params![tenant, period, lane],
            )
            .map_err(unavailable)?;
        } else {
            let json = serde_json::to_string(&counters).map_err(unavailable)?;
            execute(
                tx,
                "INSERT INTO rollups (tenant_id, period, lane, counters) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, period, lane) DO UPDATE SET counters = excluded.counters",
                params![tenant, period, lane, json],
            )
            .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Records that `change` is counted; `false` when its shipment was counted at its version or
/// later already.
fn first_count(tx: &Connection, change: &CountedChange) -> Result<bool, StoreError> {
    let updated = execute(
        tx,
        "INSERT INTO rollup_counted (tenant_id, shipment_id, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id, shipment_id) DO UPDATE SET version = excluded.version
         WHERE excluded.version > rollup_counted.version",
        params![change.tenant_id.as_str(), change.source, change.version as i64],
    )
    .map_err(unavailable)?;
    Ok(updated > 0)
}

fn save_mark(tx: &Connection, mark: &FeedMark) -> Result<(), StoreError> {
    execute(
        tx,
        "INSERT INTO feed_positions (consumer, seq) VALUES (?1, ?2)
         ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        params![mark.consumer, mark.seq as i64],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn count_changes(&self, changes: Vec<CountedChange>, mark: Option<FeedMark>) -> Result<usize, StoreError> {
        self.write(move |tx| {
            let mut netted: HashMap<Key, Counters> = HashMap::new();
            let mut count = 0;
            for change in &changes {
                // Without a feed position to save, each shipment's last counted version guards
                // against a change delivered twice.
                if mark.is_none() && !first_count(tx, change)? {
                    continue;
                }
                count += 1;
                for (period, lane, counters) in &change.rows {
                    netted.entry(key_of(&change.tenant_id, period, lane)?).or_default().merge(counters, 1);
                }
            }
            add_rows(tx, netted)?;
            if let Some(mark) = &mark {
                save_mark(tx, mark)?;
            }
            Ok(count)
        })
        .await
    }

    async fn rollup_rows(&self, tenant: &TenantId, periods: Vec<Period>) -> Result<Vec<RollupRow>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut rows = Vec::new();
            // A statement per chunk of periods, each period a parameter.
            for chunk in periods.chunks(64) {
                let placeholders = (2..chunk.len() + 2).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT period, lane, counters FROM rollups WHERE tenant_id = ?1 AND period IN ({placeholders})"
                );
                let mut statement = connection.prepare_cached(&sql).map_err(unavailable)?;
                let values = std::iter::once(Value::Text(tenant.as_str().to_owned()))
                    .chain(chunk.iter().map(|p| Value::Text(p.key())));
                let found = statement
                    .query_map(params_from_iter(values), |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                    })
                    .map_err(unavailable)?;
                for row in found {
                    let (period, lane, counters) = row.map_err(unavailable)?;
                    rows.push(RollupRow {
                        period: Period::parse(&period).ok_or_else(|| corrupt("rollup period"))?,
                        lane: serde_json::from_str(&lane).map_err(|_| corrupt("rollup lane"))?,
                        counters: serde_json::from_str(&counters).map_err(|_| corrupt("rollup counters"))?,
                    });
                }
            }
            Ok(rows)
        })
        .await
    }
}

impl SqliteStore {
    /// Recounts every tenant's shipment rows from the shipments stored, and moves
    /// `consumer`'s feed position to the feed's end, in one transaction: the changes after it
    /// are the ones the recount did not see. Events rows (notifications, webhooks, returns,
    /// carrier events) are counted as events happen, from records that do not all last, and
    /// are kept as they are. Returns how many shipments were counted.
    pub async fn rebuild_rollups(&self, consumer: &str) -> Result<usize, StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |tx| {
            // An events lane's JSON ends with its `events` flag (the last field).
            execute(tx, "DELETE FROM rollups WHERE lane NOT LIKE '%\"events\":true}'", []).map_err(unavailable)?;
            let mut netted: HashMap<Key, Counters> = HashMap::new();
            let mut counted = 0;
            {
                let mut statement = tx.prepare("SELECT body, version FROM shipments").map_err(unavailable)?;
                let rows = statement
                    .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
                    .map_err(unavailable)?;
                for row in rows {
                    let (body, version) = row.map_err(unavailable)?;
                    let mut shipment: Shipment = serde_json::from_str(&body).map_err(|_| corrupt("shipment body"))?;
                    shipment.version = version as u64;
                    let facts = ShipmentFacts::of(&shipment);
                    for (period, lane, counters) in change_rows(None, Some(&facts)) {
                        netted.entry(key_of(&shipment.tenant_id, &period, &lane)?).or_default().merge(&counters, 1);
                    }
                    counted += 1;
                }
            }
            add_rows(tx, netted)?;
            let end: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |row| row.get(0)).map_err(unavailable)?;
            // The recount's position replaces the saved one outright (a saved mark only moves
            // forward).
            execute(
                tx,
                "INSERT INTO feed_positions (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                params![consumer, end],
            )
            .map_err(unavailable)?;
            Ok(counted)
        })
        .await
    }
}
