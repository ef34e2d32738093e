//! A shipment's evidence for a carrier claim or a chargeback: what it was, the timeline with
//! each carrier event as the carrier wrote it (its code, text and place, when Porchlight
//! stored it, and whether its code was one the adapter knew), the delivery's proof, the
//! shopper's notifications and the exception cases. `GET /porchlight/v1/trackings/{id}/evidence`
//! (JSON, or the timeline as CSV).
//!
//! The carriers' raw payloads are not kept (each is parsed and its events stored); the events
//! keep every field the carrier gave them verbatim.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AppError, Deps};
use crate::domain::{Checkpoint, CheckpointSource, Shipment, ShipmentId, Tag, TenantId};
use crate::ports::{ExceptionCase, LedgerEntry};

/// The evidence file of one shipment.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// When it was put together.
    pub generated_at: DateTime<Utc>,
    /// The shipment.
    pub tracking: TrackingFacts,
    /// The delivery's proof, when it was delivered.
    pub delivery: Option<DeliveryProof>,
    /// Every event, oldest first.
    pub timeline: Vec<TimelineEvent>,
    /// The shopper's notifications about it (without their addresses), earliest first.
    pub notifications: Vec<NotificationRecord>,
    /// Exception cases its rules opened, in any state.
    pub exception_cases: Vec<CaseRecord>,
}

/// What the shipment was.
#[derive(Debug, Clone, Serialize)]
pub struct TrackingFacts {
    /// Porchlight's id.
    pub id: String,
    /// The courier.
    pub slug: String,
    /// The tracking number.
    pub tracking_number: String,
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// The merchant's order number.
    pub order_number: Option<String>,
    /// When the order was placed, as the merchant gave it.
    pub order_date: Option<String>,
    /// When Porchlight began tracking it.
    pub created_at: DateTime<Utc>,
    /// Its status now.
    pub tag: Tag,
    /// Its sub-status now.
    pub subtag: String,
    /// The sub-status's meaning.
    pub subtag_message: &'static str,
    /// The carrier's pickup.
    pub shipment_pickup_date: Option<String>,
    /// The first delivery attempt.
    pub first_attempted_at: Option<String>,
    /// Failed delivery attempts.
    pub failed_delivery_attempts: u32,
    /// Whether it went back to the sender.
    pub return_to_sender: bool,
    /// Where from (alpha-3).
    pub origin_country_region: Option<String>,
    /// Where to (alpha-3).
    pub destination_country_region: Option<String>,
    /// The destination's city.
    pub destination_city: Option<String>,
    /// The destination's postal code.
    pub destination_postal_code: Option<String>,
    /// The merchant's promise (its latest day).
    pub promised_delivery_date: Option<String>,
    /// Porchlight's latest estimate (its single date).
    pub estimated_delivery_date: Option<String>,
}

/// The delivery, as the carrier reported it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryProof {
    /// When, in the carrier's local time as it wrote it.
    pub delivered_at: String,
    /// How (`Delivered_001` to `Delivered_004`: at the door, at a pickup point, signed for,
    /// in the mailbox...).
    pub subtag: String,
    /// The sub-status's meaning.
    pub subtag_message: &'static str,
    /// Who signed.
    pub signed_by: Option<String>,
    /// The carrier's text.
    pub carrier_message: String,
    /// The carrier's event code.
    pub raw_tag: Option<String>,
    /// Where, as the carrier gave it.
    pub location: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country or region.
    pub country_region: Option<String>,
    /// The event's identity.
    pub event_id: String,
}

/// One event on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEvent {
    /// When it happened, as the carrier wrote it.
    pub checkpoint_time: String,
    /// When Porchlight first stored it.
    pub stored_at: DateTime<Utc>,
    /// The leg's courier.
    pub slug: String,
    /// The leg's tracking number.
    pub tracking_number: String,
    /// The status it meant.
    pub tag: Tag,
    /// The sub-status it meant.
    pub subtag: String,
    /// The carrier's text.
    pub message: String,
    /// The carrier's event code.
    pub raw_tag: Option<String>,
    /// Where, as the carrier gave it.
    pub location: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country or region.
    pub country_region: Option<String>,
    /// Who signed.
    pub signed_by: Option<String>,
    /// `carrier` or `user` (the merchant).
    pub source: &'static str,
    /// The carrier's code was one no adapter rule knew (the sub-status is a fallback).
    pub unmapped: bool,
    /// The event's identity (a digest of its carrier, number, time, code, place and text).
    pub event_id: String,
}

/// A notification about the shipment.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationRecord {
    /// What set it off.
    pub trigger: &'static str,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// `planned`, `sent`, `failed` or `suppressed`.
    pub state: &'static str,
    /// When it was planned.
    pub planned_at: DateTime<Utc>,
    /// When it left `planned`.
    pub finished_at: Option<DateTime<Utc>>,
}

/// An exception case about the shipment.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRecord {
    /// The case's id.
    pub id: String,
    /// The rule's name.
    pub rule_name: String,
    /// Why it opened.
    pub reason: String,
    /// How bad.
    pub severity: &'static str,
    /// Where it stands.
    pub state: crate::domain::CaseState,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

fn event_of(checkpoint: &Checkpoint) -> TimelineEvent {
    TimelineEvent {
        checkpoint_time: checkpoint.checkpoint_time.as_str().to_owned(),
        stored_at: checkpoint.created_at,
        slug: checkpoint.slug.to_string(),
        tracking_number: checkpoint.tracking_number.to_string(),
        tag: checkpoint.tag,
        subtag: checkpoint.subtag.code().to_owned(),
        message: checkpoint.message.clone(),
        raw_tag: checkpoint.raw_tag.clone(),
        location: checkpoint.location.clone(),
        city: checkpoint.city.clone(),
        state: checkpoint.state.clone(),
        postal_code: checkpoint.postal_code.clone(),
        country_region: checkpoint.country_region.map(|c| c.to_string()),
        signed_by: checkpoint.signed_by.clone(),
        source: match checkpoint.source {
            CheckpointSource::Carrier => "carrier",
            CheckpointSource::User => "user",
        },
        unmapped: checkpoint.unmapped,
        event_id: checkpoint.hash.to_string(),
    }
}

fn delivery_of(shipment: &Shipment) -> Option<DeliveryProof> {
    if shipment.tag != Tag::Delivered {
        return None;
    }
    let event = shipment.checkpoints.iter().rev().find(|c| c.tag == Tag::Delivered)?;
    Some(DeliveryProof {
        delivered_at: event.checkpoint_time.as_str().to_owned(),
        subtag: event.subtag.code().to_owned(),
        subtag_message: event.subtag.message(),
        signed_by: event.signed_by.clone().or_else(|| shipment.signed_by.clone()),
        carrier_message: event.message.clone(),
        raw_tag: event.raw_tag.clone(),
        location: event.location.clone(),
        city: event.city.clone(),
        postal_code: event.postal_code.clone(),
        country_region: event.country_region.map(|c| c.to_string()),
        event_id: event.hash.to_string(),
    })
}

fn facts_of(shipment: &Shipment) -> TrackingFacts {
    let details = &shipment.details;
    let promise = details.order_promised_delivery_date.as_ref();
    TrackingFacts {
        id: shipment.id.to_string(),
        slug: shipment.slug.to_string(),
        tracking_number: shipment.tracking_number.to_string(),
        order_id: details.order_id.clone(),
        order_number: details.order_number.clone(),
        order_date: details.order_date.clone(),
        created_at: shipment.created_at,
        tag: shipment.tag,
        subtag: shipment.subtag.code().to_owned(),
        subtag_message: shipment.subtag.message(),
        shipment_pickup_date: shipment.shipment_pickup_date.as_ref().map(|t| t.as_str().to_owned()),
        first_attempted_at: shipment.first_attempted_at.as_ref().map(|t| t.as_str().to_owned()),
        failed_delivery_attempts: shipment.failed_delivery_attempts,
        return_to_sender: shipment.return_to_sender,
        origin_country_region: details.origin_country_region.map(|c| c.to_string()),
        destination_country_region: details.destination_country_region.map(|c| c.to_string()),
        destination_city: details.destination_city.clone(),
        destination_postal_code: details.destination_postal_code.clone(),
        promised_delivery_date: promise
            .and_then(|p| p.promised_delivery_date_max.clone().or_else(|| p.promised_delivery_date.clone())),
        estimated_delivery_date: shipment.edd.as_ref().map(|edd| edd.latest.date.to_string()),
    }
}

fn notification_of(entry: &LedgerEntry) -> NotificationRecord {
    NotificationRecord {
        trigger: entry.trigger.as_str(),
        channel: entry.channel.as_str(),
        state: entry.state.as_str(),
        planned_at: entry.planned_at,
        finished_at: entry.finished_at,
    }
}

fn case_of(case: &ExceptionCase) -> CaseRecord {
    CaseRecord {
        id: case.id.clone(),
        rule_name: case.rule_name.clone(),
        reason: case.reason.clone(),
        severity: case.severity.as_str(),
        state: case.state,
        opened_at: case.opened_at,
        resolved_at: case.resolved_at,
    }
}

/// The evidence of the tenant's shipment `id` (`NotFound` for another merchant's).
pub async fn evidence(deps: &Deps, tenant: &TenantId, id: &ShipmentId) -> Result<Evidence, AppError> {
    let shipment = super::get_tracking(deps, tenant, id).await?;
    let messages = deps.ledger.shipment_messages(tenant, id).await?;
    let cases = super::exceptions::cases_of(deps, &shipment).await?;
    Ok(Evidence {
        generated_at: deps.clock.now(),
        tracking: facts_of(&shipment),
        delivery: delivery_of(&shipment),
        timeline: shipment.checkpoints.iter().map(event_of).collect(),
        notifications: messages.iter().filter(|m| !m.trigger.is_for_team()).map(notification_of).collect(),
        exception_cases: cases.iter().map(case_of).collect(),
    })
}

/// The timeline as CSV, a row per event.
pub fn timeline_csv(evidence: &Evidence) -> Result<Vec<u8>, AppError> {
    let header = [
        "checkpoint_time",
        "stored_at",
        "slug",
        "tracking_number",
        "tag",
        "subtag",
        "message",
        "raw_tag",
        "location",
        "city",
        "state",
        "postal_code",
        "country_region",
        "signed_by",
        "source",
        "unmapped",
        "event_id",
    ];
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let rows = evidence.timeline.iter().map(|event| {
        vec![
            event.checkpoint_time.clone(),
            event.stored_at.to_rfc3339(),
            event.slug.clone(),
            event.tracking_number.clone(),
            event.tag.as_str().to_owned(),
            event.subtag.clone(),
            event.message.clone(),
            text(&event.raw_tag),
            text(&event.location),
            text(&event.city),
            text(&event.state),
            text(&event.postal_code),
            text(&event.country_region),
            text(&event.signed_by),
            event.source.to_owned(),
            event.unmapped.to_string(),
            event.event_id.clone(),
        ]
    });
    super::csv_table(std::iter::once(header.map(str::to_owned).to_vec()).chain(rows))
}
