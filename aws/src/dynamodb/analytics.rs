//! Analytics rollups: an item per tenant, period and lane (`T#<tenant>#AN#<period>` / the
//! lane as JSON), each counter an attribute `c:<name>` that changes only by `ADD`, so that
//! concurrent writers never overwrite each other. A change counts once: each is written in a
//! transaction with the item `T#<tenant>` / `ANV#<shipment>` holding the shipment's last
//! counted version, on the condition that the change's version is newer (the stream may
//! deliver a record twice, but keeps an item's changes in order).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use futures_util::future::join_all;
use porchlight::domain::TenantId;
use porchlight::domain::analytics::{Counters, Lane, Period};
use porchlight::ports::{AnalyticsStore, CountedChange, EVENT_GUARD_DAYS, FeedMark, RollupRow, StoreError};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, cancellation_codes, corrupt, unavailable};

/// The attribute prefix of counters.
const COUNTER: &str = "c:";

/// How many periods are read at once.
const CONCURRENCY: usize = 16;

fn period_pk(tenant: &TenantId, period: &Period) -> String {
    format!("{}#AN#{}", tenant_pk(tenant), period.key())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The update adding `counters` to the row of `period` and `lane`.
fn row_update(
    table: &str,
    tenant: &TenantId,
    period: &Period,
    lane: &Lane,
    counters: &Counters,
) -> Result<Update, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .key("PK", s(period_pk(tenant, period)))
        .key("SK", s(serde_json::to_string(lane).map_err(unavailable)?))
        .expression_attribute_values(":tenant", s(tenant.as_str()));
    let mut adds = Vec::new();
    for (i, (name, value)) in counters.iter().enumerate() {
        update = update
            .expression_attribute_names(format!("#c{i}"), format!("{COUNTER}{name}"))
            .expression_attribute_values(format!(":c{i}"), n(value));
        adds.push(format!("#c{i} :c{i}"));
    }
    update.update_expression(format!("SET tenant_id = :tenant ADD {}", adds.join(", "))).build().map_err(unavailable)
}

impl DynamoStore {
    /// Counts one change in one transaction with its shipment's counted version; `false` when
    /// it was counted before.
    async fn count_once(&self, change: &CountedChange) -> Result<bool, StoreError> {
        let mut guard = Put::builder()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(&change.tenant_id)))
            .item("SK", s(format!("ANV#{}", change.source)))
            .item("tenant_id", s(change.tenant_id.as_str()))
            .item("version", n(change.version as i64));
        if change.is_event() {
            // An event's identity is kept only as long as it could come back.
            let expires = chrono::Utc::now() + chrono::Duration::days(EVENT_GUARD_DAYS);
            guard = guard.item("expires_at", n(expires.timestamp()));
        }
        let guard = guard
            .condition_expression("attribute_not_exists(version) OR version < :version")
            .expression_attribute_values(":version", n(change.version as i64))
            .build()
            .map_err(unavailable)?;
        let mut items = vec![TransactWriteItem::builder().put(guard).build()];
        for (period, lane, counters) in &change.rows {
            let update = row_update(&self.table, &change.tenant_id, period, lane, counters)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(true),
            Err(error) => match cancellation_codes(&error) {
                Some(codes) if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") => Ok(false),
                _ => Err(unavailable(error)),
            },
        }
    }
}

fn read_row(item: &Item) -> Result<RollupRow, StoreError> {
    let period = text(item, "PK")?.rsplit_once("#AN#").and_then(|(_, key)| Period::parse(key));
    let lane: Lane = serde_json::from_str(text(item, "SK")?).map_err(|_| corrupt("rollup lane"))?;
    let counters = item
        .iter()
        .filter_map(|(name, value)| {
            let name = name.strip_prefix(COUNTER)?;
            let value = value.as_n().ok()?.parse::<i64>().ok()?;
            Some((name.to_owned(), value))
        })
        .collect();
    Ok(RollupRow { period: period.ok_or_else(|| corrupt("rollup period"))?, lane, counters })
}

#[async_trait]
impl AnalyticsStore for DynamoStore {
    async fn count_changes(&self, changes: Vec<CountedChange>, _mark: Option<FeedMark>) -> Result<usize, StoreError> {
        // One at a time: changes of one day and lane touch the same rows, and transactions on
        // one item at once cancel each other. (A conflict with another writer fails the batch,
        // whose retry counts only what was not counted.)
        let mut counted = 0;
        for change in &changes {
            counted += usize::from(self.count_once(change).await?);
        }
        Ok(counted)
    }

    async fn rollup_rows(&self, tenant: &TenantId, periods: Vec<Period>) -> Result<Vec<RollupRow>, StoreError> {
        let mut rows = Vec::new();
        for chunk in periods.chunks(CONCURRENCY) {
            let answers = join_all(chunk.iter().map(|period| self.query_partition(period_pk(tenant, period)))).await;
            for items in answers {
                for item in items? {
                    rows.push(read_row(&item)?);
                }
            }
        }
        Ok(rows)
    }
}
