//! The message ledger: one item per message under the tenant's partition, sorted by shipment;
//! while planned it sits in GSI2's due partitions (16, by the id's first hex digit), sorted by
//! due time, and leases are conditional updates.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use porchlight::domain::{Channel, Language, ShipmentId, TenantId, Trigger};
use porchlight::ports::{LedgerEntry, MessageLedger, MessageState, StoreError};

use super::keys::{required_time, s, tenant_id, tenant_pk, text, time, time_value};
use super::{DynamoStore, Item, corrupt, refused_as};

fn message_sk(shipment: &ShipmentId, id: &str) -> String {
    format!("MSG#{shipment}#{id}")
}

fn due_partition(id: &str) -> String {
    format!("DUE#{}", id.chars().next().unwrap_or('0'))
}

fn due_position(entry_due: DateTime<Utc>, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> String {
    format!("{:020}#{tenant}#{shipment}#{id}", entry_due.timestamp_micros().max(0))
}

fn message_item(e: &LedgerEntry) -> Item {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(tenant_pk(&e.tenant_id))),
        ("SK".to_owned(), s(message_sk(&e.shipment_id, &e.id))),
        ("tenant_id".to_owned(), s(e.tenant_id.as_str())),
        ("shipment_id".to_owned(), s(e.shipment_id.as_str())),
        ("id".to_owned(), s(&e.id)),
        ("trigger".to_owned(), s(e.trigger.as_str())),
        ("channel".to_owned(), s(e.channel.as_str())),
        ("recipient".to_owned(), s(&e.recipient)),
        ("language".to_owned(), s(e.language.code())),
        ("planned_at".to_owned(), time_value(e.planned_at)),
        ("due_at".to_owned(), time_value(e.due_at)),
        ("attempts".to_owned(), AttributeValue::N(e.attempts.to_string())),
        ("state".to_owned(), s(e.state.as_str())),
    ]);
    if e.test {
        item.insert("test".to_owned(), AttributeValue::Bool(true));
    }
    if e.state == MessageState::Planned {
        item.insert("GSI2PK".to_owned(), s(due_partition(&e.id)));
        item.insert("GSI2SK".to_owned(), s(due_position(e.due_at, &e.tenant_id, &e.shipment_id, &e.id)));
    }
    item
}

fn read_entry(item: &Item) -> Result<LedgerEntry, StoreError> {
    let trigger = text(item, "trigger")?;
    let channel = Channel::parse(text(item, "channel")?).ok_or_else(|| corrupt("channel"))?;
    Ok(LedgerEntry {
        id: text(item, "id")?.to_owned(),
        tenant_id: tenant_id(item)?,
        shipment_id: ShipmentId::parse(text(item, "shipment_id")?).map_err(|_| corrupt("shipment_id"))?,
        trigger: Trigger::parse_stored(trigger).ok_or_else(|| corrupt("trigger"))?,
        channel,
        recipient: text(item, "recipient")?.to_owned(),
        language: Language::parse(text(item, "language")?).map_err(|_| corrupt("language"))?,
        planned_at: required_time(item, "planned_at")?,
        due_at: required_time(item, "due_at")?,
        attempts: item
            .get("attempts")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("attempts"))?,
        state: MessageState::parse(text(item, "state")?).ok_or_else(|| corrupt("state"))?,
        finished_at: time(item, "finished_at")?,
        detail: item.get("detail").and_then(|v| v.as_s().ok()).cloned(),
        test: item.get("test").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
    })
}

/// The shipment and id of a GSI2 due position.
fn position_ids(position: &str) -> Result<(TenantId, ShipmentId, String), StoreError> {
    let mut parts = position.splitn(4, '#').skip(1);
    let (Some(tenant), Some(shipment), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt("GSI2SK"));
    };
    let tenant = TenantId::parse(tenant).map_err(|_| corrupt("GSI2SK"))?;
    Ok((tenant, ShipmentId::parse(shipment).map_err(|_| corrupt("GSI2SK"))?, id.to_owned()))
}

impl DynamoStore {
    /// Whether the tenant has message `id` of `shipment`, in any state.
    async fn has_message(&self, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> Result<bool, StoreError> {
        Ok(self.get(tenant_pk(tenant), &message_sk(shipment, id)).await?.is_some())
    }
}

#[async_trait]
impl MessageLedger for DynamoStore {
    async fn plan(&self, entry: &LedgerEntry) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(message_item(entry)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match refused_as(result, StoreError::Conflict) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn lease_due(&self, now: DateTime<Utc>, lease: Duration, max: usize) -> Result<Vec<LedgerEntry>, StoreError> {
        let due = self.due_positions("DUE#", now).await?;
        let mut leased = Vec::new();
        for position in due {
            if leased.len() >= max {
                break;
            }
            let (tenant, shipment, id) = position_ids(&position)?;
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(tenant_pk(&tenant)))
                .key("SK", s(message_sk(&shipment, &id)))
                .update_expression("SET lease_until = :until, attempts = attempts + :one")
                .condition_expression(
                    "#state = :planned AND due_at <= :now AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":until", time_value(now + lease))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":planned", s("planned"))
                .expression_attribute_values(":now", time_value(now))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match refused_as(result, StoreError::Conflict) {
                Ok(answer) => leased.push(read_entry(&answer.attributes.unwrap_or_default())?),
                // Leased by another dispatcher, or ended, since the index was read.
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(leased)
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
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(message_sk(shipment, id)))
            .condition_expression("#state = :planned")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":planned", s("planned"))
            .expression_attribute_values(":state", s(state.as_str()))
            .expression_attribute_values(":at", time_value(at));
        update = match detail {
            Some(detail) => update
                .update_expression(
                    "SET #state = :state, finished_at = :at, detail = :detail REMOVE lease_until, GSI2PK, GSI2SK",
                )
                .expression_attribute_values(":detail", s(detail)),
            None => {
                update.update_expression("SET #state = :state, finished_at = :at REMOVE lease_until, GSI2PK, GSI2SK")
            }
        };
        match refused_as(update.send().await, StoreError::Conflict) {
            Ok(_) => Ok(()),
            // Ended already (its first ending stays), or no such message.
            Err(StoreError::Conflict) if self.has_message(tenant, shipment, id).await? => Ok(()),
            Err(StoreError::Conflict) => Err(StoreError::NotFound),
            Err(other) => Err(other),
        }
    }

    async fn reschedule(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        due_at: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(message_sk(shipment, id)))
            .condition_expression("#state = :planned")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":planned", s("planned"))
            .expression_attribute_values(":due", time_value(due_at))
            .expression_attribute_values(":position", s(due_position(due_at, tenant, shipment, id)));
        update = match detail {
            Some(detail) => update
                .update_expression("SET due_at = :due, GSI2SK = :position, detail = :detail REMOVE lease_until")
                .expression_attribute_values(":detail", s(detail)),
            None => update.update_expression("SET due_at = :due, GSI2SK = :position REMOVE lease_until"),
        };
        match refused_as(update.send().await, StoreError::Conflict) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(StoreError::NotFound),
            Err(other) => Err(other),
        }
    }

    async fn shipment_messages(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), &format!("MSG#{shipment}#"), None, usize::MAX).await?;
        let mut entries = items.iter().map(read_entry).collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| (a.planned_at, &a.id).cmp(&(b.planned_at, &b.id)));
        Ok(entries)
    }

    async fn erase_recipient(&self, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(message_sk(shipment, id)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("SET recipient = :erased")
            .expression_attribute_values(":erased", s(""));
        match refused_as(update.send().await, StoreError::Conflict) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(StoreError::NotFound),
            Err(other) => Err(other),
        }
    }
}
