//! Merchants' webhook events and deliveries under the tenant's partition.
//!
//! - an event is `WEV#<event id>` with its body deflated, listed by time in GSI3 partition
//!   `T#<tenant>#WEV` (`<at µs>#<event id>`);
//! - a delivery is `WDL#<id>` with its attempts as JSON, listed per endpoint in GSI3 partition
//!   `T#<tenant>#WDL#<endpoint>` (`<created µs>#<id>`), and while pending in GSI2's due
//!   partitions `WDUE#<id's first hex digit>` (`<due µs>#<tenant>#<id>`); leases and attempts
//!   are conditional updates.
//!
//! Both carry `expires_at`: the table's TTL removes events and deliveries
//! [`HISTORY_DAYS`] after they were made, which bounds how far back a replay reaches.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use porchlight::domain::{TenantId, WebhookEvent};
use porchlight::ports::{AfterAttempt, Attempt, Delivery, DeliveryState, StoreError, WebhookEventRecord, WebhookStore};

use super::keys::{required_time, s, tenant_id, tenant_pk, text, time_value};
use super::{DynamoStore, Item, corrupt, refused_as, unavailable};

/// Days events and deliveries are kept.
pub const HISTORY_DAYS: i64 = 30;
/// Largest inflated event body read back.
const MAX_BODY: usize = 1 << 20;

fn event_sk(event_id: &str) -> String {
    format!("WEV#{event_id}")
}

fn delivery_sk(id: &str) -> String {
    format!("WDL#{id}")
}

fn subject_partition(tenant: &TenantId, subject: &str) -> String {
    format!("T#{tenant}#WEVS#{subject}")
}

fn micros_key(at: DateTime<Utc>) -> String {
    format!("{:020}", at.timestamp_micros().max(0))
}

fn due_position(due: DateTime<Utc>, tenant: &TenantId, id: &str) -> String {
    format!("{}#{tenant}#{id}", micros_key(due))
}

fn due_partition(id: &str) -> String {
    format!("WDUE#{}", id.chars().next().unwrap_or('0'))
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn expires(at: DateTime<Utc>) -> AttributeValue {
    number((at + Duration::days(HISTORY_DAYS)).timestamp())
}

fn attempts_json(attempts: &[Attempt]) -> AttributeValue {
    s(serde_json::to_string(attempts).expect("attempts serialize"))
}

fn event_item(e: &WebhookEventRecord) -> Item {
    let body = miniz_oxide::deflate::compress_to_vec(&e.body, 6);
    HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&e.tenant_id))),
        ("SK".to_owned(), s(event_sk(&e.event_id))),
        ("tenant_id".to_owned(), s(e.tenant_id.as_str())),
        ("event_id".to_owned(), s(&e.event_id)),
        ("event".to_owned(), s(e.event.as_str())),
        ("at".to_owned(), time_value(e.at)),
        ("subject".to_owned(), s(&e.subject)),
        ("body".to_owned(), AttributeValue::B(Blob::new(body))),
        ("GSI3PK".to_owned(), s(format!("T#{}#WEV", e.tenant_id))),
        ("GSI3SK".to_owned(), s(format!("{}#{}", micros_key(e.at), e.event_id))),
        // What a tracking's or return's page lists (keys only, then read).
        ("GSI2PK".to_owned(), s(subject_partition(&e.tenant_id, &e.subject))),
        ("GSI2SK".to_owned(), s(format!("{}#{}", micros_key(e.at), e.event_id))),
        ("expires_at".to_owned(), expires(e.at)),
    ])
}

fn read_event(item: &Item) -> Result<WebhookEventRecord, StoreError> {
    let deflated = item.get("body").and_then(|v| v.as_b().ok()).ok_or_else(|| corrupt("body"))?;
    let body =
        miniz_oxide::inflate::decompress_to_vec_with_limit(deflated.as_ref(), MAX_BODY).map_err(|_| corrupt("body"))?;
    Ok(WebhookEventRecord {
        tenant_id: tenant_id(item)?,
        event_id: text(item, "event_id")?.to_owned(),
        event: WebhookEvent::parse(text(item, "event")?).ok_or_else(|| corrupt("event"))?,
        at: required_time(item, "at")?,
        // Events kept before returns named their subject `shipment_id`.
        subject: text(item, "subject").or_else(|_| text(item, "shipment_id"))?.to_owned(),
        body,
    })
}

fn delivery_item(d: &Delivery) -> Item {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&d.tenant_id))),
        ("SK".to_owned(), s(delivery_sk(&d.id))),
        ("tenant_id".to_owned(), s(d.tenant_id.as_str())),
        ("id".to_owned(), s(&d.id)),
        ("endpoint_id".to_owned(), s(&d.endpoint_id)),
        ("event_id".to_owned(), s(&d.event_id)),
        ("event".to_owned(), s(d.event.as_str())),
        ("created_at".to_owned(), time_value(d.created_at)),
        ("due_at".to_owned(), time_value(d.due_at)),
        ("state".to_owned(), s(d.state.as_str())),
        ("attempts".to_owned(), attempts_json(&d.attempts)),
        ("replayed_after".to_owned(), number(d.replayed_after)),
        ("GSI3PK".to_owned(), s(format!("T#{}#WDL#{}", d.tenant_id, d.endpoint_id))),
        ("GSI3SK".to_owned(), s(format!("{}#{}", micros_key(d.created_at), d.id))),
        ("expires_at".to_owned(), expires(d.created_at)),
    ]);
    if d.state == DeliveryState::Pending {
        item.insert("GSI2PK".to_owned(), s(due_partition(&d.id)));
        item.insert("GSI2SK".to_owned(), s(due_position(d.due_at, &d.tenant_id, &d.id)));
    }
    item
}

fn read_delivery(item: &Item) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: text(item, "id")?.to_owned(),
        tenant_id: tenant_id(item)?,
        endpoint_id: text(item, "endpoint_id")?.to_owned(),
        event_id: text(item, "event_id")?.to_owned(),
        event: WebhookEvent::parse(text(item, "event")?).ok_or_else(|| corrupt("event"))?,
        created_at: required_time(item, "created_at")?,
        due_at: required_time(item, "due_at")?,
        state: DeliveryState::parse(text(item, "state")?).ok_or_else(|| corrupt("state"))?,
        attempts: serde_json::from_str(text(item, "attempts")?).map_err(|_| corrupt("attempts"))?,
        replayed_after: item
            .get("replayed_after")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("replayed_after"))?,
    })
}

/// The tenant and delivery id of a GSI2 due position.
fn due_ids(position: &str) -> Result<(TenantId, String), StoreError> {
    let mut parts = position.splitn(3, '#').skip(1);
    let (Some(tenant), Some(id)) = (parts.next(), parts.next()) else { return Err(corrupt("GSI2SK")) };
    Ok((TenantId::parse(tenant).map_err(|_| corrupt("GSI2SK"))?, id.to_owned()))
}

impl DynamoStore {
    /// Puts `item` unless its key exists: `true` if it was put now.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match refused_as(result, StoreError::Conflict) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// One page of the sort keys of GSI3 partition `partition` between `low` and `high`
    /// (inclusive), in order (newest first when `backwards`), after `start`; and where the
    /// next page starts.
    async fn gsi3_page(
        &self,
        partition: &str,
        (low, high): (&str, &str),
        backwards: bool,
        start: Option<Item>,
        size: usize,
    ) -> Result<(Vec<String>, Option<Item>), StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI3")
            .key_condition_expression("GSI3PK = :partition AND GSI3SK BETWEEN :low AND :high")
            .expression_attribute_values(":partition", s(partition))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .scan_index_forward(!backwards)
            .limit(i32::try_from(size).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let positions = answer
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| text(item, "GSI3SK").map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((positions, answer.last_evaluated_key))
    }

    async fn pending_delivery(&self, tenant: &TenantId, id: &str) -> Result<Delivery, StoreError> {
        let item = self.get(tenant_pk(tenant), &delivery_sk(id)).await?.ok_or(StoreError::NotFound)?;
        let delivery = read_delivery(&item)?;
        if delivery.state == DeliveryState::Pending { Ok(delivery) } else { Err(StoreError::NotFound) }
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn record_event(&self, event: &WebhookEventRecord) -> Result<bool, StoreError> {
        self.put_new(event_item(event)).await
    }

    async fn event(&self, tenant: &TenantId, event_id: &str) -> Result<Option<WebhookEventRecord>, StoreError> {
        self.get(tenant_pk(tenant), &event_sk(event_id)).await?.as_ref().map(read_event).transpose()
    }

    async fn events_between(
        &self,
        tenant: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        // `#` sorts before every event id character: [from, to) in keys.
        let range = (format!("{}#", micros_key(from)), format!("{}#", micros_key(to)));
        let partition = format!("T#{tenant}#WEV");
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let size = (limit - events.len()).min(1000);
            let (page, next) = self.gsi3_page(&partition, (&range.0, &range.1), false, start, size).await?;
            let sks: Vec<String> = page.iter().filter_map(|p| p.split_once('#')).map(|(_, id)| event_sk(id)).collect();
            for item in self.get_many(tenant, &sks, false).await? {
                events.push(read_event(&item)?);
            }
            match next {
                Some(next) if events.len() < limit => start = Some(next),
                _ => break,
            }
        }
        events.truncate(limit);
        Ok(events)
    }

    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.put_new(delivery_item(delivery)).await
    }

    async fn lease_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let due = self.due_positions("WDUE#", now).await?;
        let mut leased = Vec::new();
        for position in due {
            if leased.len() >= max {
                break;
            }
            let (tenant, id) = due_ids(&position)?;
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(tenant_pk(&tenant)))
                .key("SK", s(delivery_sk(&id)))
                .update_expression("SET lease_until = :until")
                .condition_expression(
                    "#state = :pending AND due_at <= :now AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":until", time_value(now + lease))
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":now", time_value(now))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match refused_as(result, StoreError::Conflict) {
                Ok(answer) => leased.push(read_delivery(&answer.attributes.unwrap_or_default())?),
                // Leased by another dispatcher, or moved on, since the index was read.
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(leased)
    }

    async fn record_attempt(
        &self,
        tenant: &TenantId,
        id: &str,
        attempt: &Attempt,
        next: AfterAttempt,
    ) -> Result<(), StoreError> {
        let delivery = self.pending_delivery(tenant, id).await?;
        let mut attempts = delivery.attempts.clone();
        attempts.push(attempt.clone());
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(delivery_sk(id)))
            // The attempts read are still those stored: no other attempt was recorded between.
            .condition_expression("#state = :pending AND attempts = :read")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":read", attempts_json(&delivery.attempts))
            .expression_attribute_values(":attempts", attempts_json(&attempts));
        let update = match next {
            AfterAttempt::RetryAt(at) => update
                .update_expression("SET attempts = :attempts, due_at = :due, GSI2SK = :position REMOVE lease_until")
                .expression_attribute_values(":due", time_value(at))
                .expression_attribute_values(":position", s(due_position(at, tenant, id))),
            AfterAttempt::Delivered | AfterAttempt::Dead => {
                let state =
                    if next == AfterAttempt::Delivered { DeliveryState::Delivered } else { DeliveryState::Dead };
                update
                    .update_expression("SET attempts = :attempts, #state = :state REMOVE lease_until, GSI2PK, GSI2SK")
                    .expression_attribute_values(":state", s(state.as_str()))
            }
        };
        match refused_as(update.send().await, StoreError::Conflict) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(StoreError::NotFound),
            Err(other) => Err(other),
        }
    }

    async fn postpone_delivery(&self, tenant: &TenantId, id: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(delivery_sk(id)))
            .update_expression("SET due_at = :due, GSI2SK = :position REMOVE lease_until")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":due", time_value(due_at))
            .expression_attribute_values(":position", s(due_position(due_at, tenant, id)))
            .send()
            .await;
        refused_as(result, StoreError::NotFound).map(|_| ())
    }

    async fn replay_dead(&self, tenant: &TenantId, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let item = self.get(tenant_pk(tenant), &delivery_sk(id)).await?.ok_or(StoreError::NotFound)?;
        let delivery = read_delivery(&item)?;
        if delivery.state != DeliveryState::Dead {
            return Err(StoreError::NotFound);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(delivery_sk(id)))
            .update_expression(
                "SET #state = :pending, due_at = :due, replayed_after = :after, GSI2PK = :partition, \
                 GSI2SK = :position, expires_at = :expires REMOVE lease_until",
            )
            .condition_expression("#state = :dead")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":dead", s("dead"))
            .expression_attribute_values(":due", time_value(at))
            .expression_attribute_values(":after", number(delivery.attempts.len()))
            .expression_attribute_values(":partition", s(due_partition(id)))
            .expression_attribute_values(":position", s(due_position(at, tenant, id)))
            .expression_attribute_values(":expires", expires(at))
            .send()
            .await;
        refused_as(result, StoreError::NotFound).map(|_| ())
    }

    async fn delivery(&self, tenant: &TenantId, id: &str) -> Result<Option<Delivery>, StoreError> {
        self.get(tenant_pk(tenant), &delivery_sk(id)).await?.as_ref().map(read_delivery).transpose()
    }

    async fn endpoint_deliveries(
        &self,
        tenant: &TenantId,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let high = before.map_or_else(|| "~".to_owned(), micros_key);
        let partition = format!("T#{tenant}#WDL#{endpoint}");
        // Filtering by state happens after reading: pages are read until enough match.
        let mut deliveries = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.gsi3_page(&partition, ("0", &high), true, start, 100).await?;
            let sks: Vec<String> =
                page.iter().filter_map(|p| p.split_once('#')).map(|(_, id)| delivery_sk(id)).collect();
            for item in self.get_many(tenant, &sks, false).await? {
                let delivery = read_delivery(&item)?;
                if state.is_none_or(|wanted| delivery.state == wanted) {
                    deliveries.push(delivery);
                }
            }
            match next {
                Some(next) if deliveries.len() < limit => start = Some(next),
                _ => break,
            }
        }
        deliveries.truncate(limit);
        Ok(deliveries)
    }

    async fn replace_event_body(&self, tenant: &TenantId, event_id: &str, body: &[u8]) -> Result<(), StoreError> {
        let deflated = miniz_oxide::deflate::compress_to_vec(body, 6);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(event_sk(event_id)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("SET body = :body")
            .expression_attribute_values(":body", AttributeValue::B(Blob::new(deflated)));
        match refused_as(update.send().await, StoreError::Conflict) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(StoreError::NotFound),
            Err(other) => Err(other),
        }
    }

    async fn subject_events(
        &self,
        tenant: &TenantId,
        subject: &str,
        limit: usize,
    ) -> Result<Vec<WebhookEventRecord>, StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :partition")
            .expression_attribute_values(":partition", s(subject_partition(tenant, subject)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.clamp(1, 100)).unwrap_or(100))
            .send()
            .await
            .map_err(unavailable)?;
        let sks = answer
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| text(item, "GSI2SK").map(|p| p.split_once('#').map_or(p, |(_, id)| id)).map(event_sk))
            .collect::<Result<Vec<_>, _>>()?;
        self.get_many(tenant, &sks, false).await?.iter().map(read_event).collect()
    }

    async fn deliveries(&self, tenant: &TenantId, ids: &[String]) -> Result<Vec<Delivery>, StoreError> {
        let sks: Vec<String> = ids.iter().take(100).map(|id| delivery_sk(id)).collect();
        self.get_many(tenant, &sks, false).await?.iter().map(read_delivery).collect()
    }
}
