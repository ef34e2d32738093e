//! The shipment (AfterShip's "tracking") and the rules that derive its state from its timeline.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Checkpoint, CheckpointInput, CheckpointSource, CountryCode, DomainError, EventTime, ShipmentId, Slug,
    Subscriptions, Subtag, Tag, TenantId, TrackingNumber, is_email,
};

/// Days without any information after which a shipment is `Expired`.
pub const EXPIRY_DAYS: i64 = 30;

/// A person on the order: the buyer, the recipient. Personal data: its `Debug` hides it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// `buyer` or `receiver` (free text in AfterShip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number, E.164 preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Preferred language (ISO 639-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The merchant's id for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customer")
            .field("role", &self.role)
            .field("has_name", &self.name.is_some())
            .field("has_phone_number", &self.phone_number.is_some())
            .field("has_email", &self.email.is_some())
            .field("language", &self.language)
            .finish()
    }
}

/// Most checkpoints a shipment keeps: the newest ones.
pub const MAX_CHECKPOINTS: usize = 500;

/// Longest customer name and id.
const MAX_CUSTOMER_TEXT: usize = 256;
/// Longest free-text field of a shipment's details.
pub const MAX_TEXT: usize = 2048;
/// Most tags on one shipment.
pub const MAX_TAGS: usize = 50;
/// Most customers on one shipment.
pub const MAX_CUSTOMERS: usize = 10;
/// Largest `custom_fields` object, serialized.
pub const MAX_CUSTOM_FIELDS_BYTES: usize = 16 * 1024;
/// Deepest nesting of `custom_fields`.
pub const MAX_CUSTOM_FIELDS_DEPTH: usize = 8;

impl Customer {
    /// Checks every field's length and the email's and phone number's shape. Messages name the
    /// field, never its value (it is a shopper's).
    pub fn validate(&self, index: usize) -> Result<(), DomainError> {
        let limits = [
            ("role", &self.role, 64),
            ("name", &self.name, MAX_CUSTOMER_TEXT),
            ("language", &self.language, 35),
            ("id", &self.id, MAX_CUSTOMER_TEXT),
        ];
        for (field, value, longest) in limits {
            if value.as_ref().is_some_and(|v| v.chars().count() > longest) {
                let reason = format!("must be at most {longest} characters");
                return Err(DomainError::invalid(format!("customers[{index}].{field}"), reason));
            }
        }
        if let Some(email) = &self.email {
            let valid = is_email(email);
            if !valid {
                return Err(DomainError::invalid(format!("customers[{index}].email"), "is not an email address"));
            }
        }
        if let Some(phone) = &self.phone_number {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            let allowed = phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !allowed || !(5..=20).contains(&digits) {
                return Err(DomainError::invalid(format!("customers[{index}].phone_number"), "is not a phone number"));
            }
        }
        Ok(())
    }
}

/// How the parcel reaches the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryType {
    /// Collected in the merchant's store.
    PickupAtStore,
    /// Delivered to the door.
    DoorToDoor,
    /// Collected at the courier's location.
    PickupAtCourier,
}

/// Whether the parcel goes to the shopper or comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentDirection {
    /// From merchant to shopper.
    #[default]
    Forward,
    /// A return, from shopper to merchant.
    Return,
}

/// Who named a last-mile leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegSource {
    /// Found in carrier data (a handover event).
    System,
    /// Given by the merchant.
    User,
}

/// One leg of a multi-carrier journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The leg's courier.
    pub slug: Slug,
    /// The leg's tracking number.
    pub tracking_number: TrackingNumber,
    /// Who named it.
    pub source: LegSource,
}

/// Why a merchant marked a tracking as completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompletionReason {
    /// The merchant knows it was delivered.
    Delivered,
    /// Lost.
    Lost,
    /// Returned to the sender.
    ReturnedToSender,
}

impl CompletionReason {
    /// The sub-status the completion sets.
    pub fn subtag(self) -> Subtag {
        let code = match self {
            CompletionReason::Delivered => "Delivered_001",
            CompletionReason::Lost => "Exception_013",
            CompletionReason::ReturnedToSender => "Exception_011",
        };
        Subtag::parse(code).expect("completion sub-statuses are published")
    }

    fn message(self) -> &'static str {
        match self {
            CompletionReason::Delivered => "Marked as delivered by the merchant",
            CompletionReason::Lost => "Marked as lost by the merchant",
            CompletionReason::ReturnedToSender => "Marked as returned to sender by the merchant",
        }
    }
}

/// How deep arrays and objects nest in `value` (a scalar is 0).
fn json_depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(fields) => 1 + fields.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// What the merchant says about a shipment: everything AfterShip lets a merchant set on a tracking
/// besides the courier and number. Field names are AfterShip's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // each field is AfterShip's field of the same name
pub struct ShipmentDetails {
    pub title: Option<String>,
    pub order_id: Option<String>,
    pub order_id_path: Option<String>,
    pub order_number: Option<String>,
    pub order_date: Option<String>,
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub language: Option<String>,
    pub note: Option<String>,
    pub pickup_location: Option<String>,
    pub pickup_note: Option<String>,
    pub delivery_type: Option<DeliveryType>,
    pub tracking_account_number: Option<String>,
    pub tracking_key: Option<String>,
    pub tracking_ship_date: Option<String>,
    pub origin_country_region: Option<CountryCode>,
    pub origin_state: Option<String>,
    pub origin_city: Option<String>,
    pub origin_postal_code: Option<String>,
    pub origin_raw_location: Option<String>,
    pub destination_country_region: Option<CountryCode>,
    pub destination_state: Option<String>,
    pub destination_city: Option<String>,
    pub destination_postal_code: Option<String>,
    pub destination_raw_location: Option<String>,
    pub shipment_type: Option<String>,
    pub shipment_tags: Vec<String>,
    pub courier_connection_id: Option<String>,
    pub location_id: Option<String>,
    pub shipping_method: Option<String>,
    pub customers: Vec<Customer>,
    pub shipment_direction: ShipmentDirection,
    pub order_promised_delivery_date: Option<PromisedDeliveryDate>,
}

impl ShipmentDetails {
    /// The invariants every way in (API, imports, connectors, portals) must keep: free text at
    /// most [`MAX_TEXT`] characters, at most [`MAX_TAGS`] tags of 1 to 100 characters, at most
    /// [`MAX_CUSTOMERS`] valid customers, `custom_fields` at most [`MAX_CUSTOM_FIELDS_BYTES`]
    /// serialized and nested at most [`MAX_CUSTOM_FIELDS_DEPTH`] deep (so that what is stored
    /// always reads back).
    pub fn validate(&self) -> Result<(), DomainError> {
        let texts = [
            ("title", &self.title),
            ("order_id", &self.order_id),
            ("order_id_path", &self.order_id_path),
            ("order_number", &self.order_number),
            ("language", &self.language),
            ("note", &self.note),
            ("pickup_location", &self.pickup_location),
            ("pickup_note", &self.pickup_note),
            ("tracking_account_number", &self.tracking_account_number),
            ("tracking_key", &self.tracking_key),
            ("origin_state", &self.origin_state),
            ("origin_city", &self.origin_city),
            ("origin_postal_code", &self.origin_postal_code),
            ("origin_raw_location", &self.origin_raw_location),
            ("destination_state", &self.destination_state),
            ("destination_city", &self.destination_city),
            ("destination_postal_code", &self.destination_postal_code),
            ("destination_raw_location", &self.destination_raw_location),
            ("shipment_type", &self.shipment_type),
            ("courier_connection_id", &self.courier_connection_id),
            ("location_id", &self.location_id),
            ("shipping_method", &self.shipping_method),
        ];
        for (field, value) in texts {
            if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
                return Err(DomainError::invalid(field, format!("must be at most {MAX_TEXT} characters")));
            }
        }
        if self.shipment_tags.len() > MAX_TAGS
            || self.shipment_tags.iter().any(|t| t.is_empty() || t.chars().count() > 100)
        {
            return Err(DomainError::invalid("shipment_tags", "must be at most 50 tags of 1 to 100 characters"));
        }
        if self.customers.len() > MAX_CUSTOMERS {
            return Err(DomainError::invalid("customers", format!("must be at most {MAX_CUSTOMERS} customers")));
        }
        for (index, customer) in self.customers.iter().enumerate() {
            customer.validate(index)?;
        }
        if let Some(fields) = &self.custom_fields {
            let size = serde_json::to_vec(fields).map_or(usize::MAX, |v| v.len());
            if size > MAX_CUSTOM_FIELDS_BYTES {
                return Err(DomainError::invalid("custom_fields", "must be at most 16 KiB"));
            }
            if fields.values().map(json_depth).max().unwrap_or(0) + 1 > MAX_CUSTOM_FIELDS_DEPTH {
                let reason = format!("must nest at most {MAX_CUSTOM_FIELDS_DEPTH} levels deep");
                return Err(DomainError::invalid("custom_fields", reason));
            }
        }
        Ok(())
    }
}

/// The delivery date promised to the shopper at checkout, in the recipient's time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PromisedDeliveryDate {
    /// The promised date (`YYYY-MM-DD`).
    pub promised_delivery_date: Option<String>,
    /// The earliest promised date.
    pub promised_delivery_date_min: Option<String>,
    /// The latest promised date.
    pub promised_delivery_date_max: Option<String>,
}

/// What merging events did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Events new to the timeline.
    pub added: usize,
    /// Events already on the timeline, or belonging to no leg of this shipment.
    pub ignored: usize,
    /// Whether the status or sub-status changed.
    pub status_changed: bool,
}

/// A shipment: one parcel's journey, possibly over two legs, owned by one tenant.
///
/// Derived fields (`tag` to `courier_destination_country_region`) are a function of the timeline,
/// the completion, `created_at` and the time of the last derivation; only [`Shipment::derive`]
/// writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// The owner.
    pub tenant_id: TenantId,
    /// The id, unique within the tenant.
    pub id: ShipmentId,
    /// The courier of the (first) leg.
    pub slug: Slug,
    /// The tracking number of the (first) leg.
    pub tracking_number: TrackingNumber,
    /// Optimistic-concurrency version: 0 before the first write, then bumped by every write.
    pub version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// The merchant's fields.
    pub details: ShipmentDetails,
    /// The last-mile leg, when a first-mile carrier hands over to another.
    pub last_mile: Option<Leg>,
    /// The merged timeline of every leg, in [`Checkpoint::timeline_order`].
    pub checkpoints: Vec<Checkpoint>,
    /// Set when the merchant marked the tracking completed.
    pub completed: Option<CompletionReason>,
    /// How often a poll of the carrier was recorded: the first, those on request (retrack,
    /// a new last-mile leg) and those that failed. Quiet polls on the regular cadence are not
    /// written, so that they cost no write.
    pub tracked_count: u32,
    /// When the carrier must be polled, at the latest: the first poll, a retrack, a new leg,
    /// a retry after failures. `None` while the shipment follows its cadence, and once tracking
    /// has stopped.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The regular poll cadence, in seconds, while no `next_poll_at` is set: the shipment is
    /// polled at the seconds `t` (since the Unix epoch) where `t % cadence` is its
    /// [`Shipment::poll_phase`]. Set by the poll policy from the status; `None` when not polled.
    #[serde(default)]
    pub poll_cadence: Option<u32>,
    /// When the merchant last asked to retrack; restarts the expiry period.
    #[serde(default)]
    pub retracked_at: Option<DateTime<Utc>>,
    /// Polls that failed in a row (carrier down, rate limited, bad credentials); drives back-off.
    #[serde(default)]
    pub poll_failures: u32,
    /// Derived: the status.
    pub tag: Tag,
    /// Derived: the sub-status.
    pub subtag: Subtag,
    /// Derived: whether tracking continues.
    pub active: bool,
    /// Derived: when the carrier first had the parcel moving.
    pub shipment_pickup_date: Option<EventTime>,
    /// Derived: when it was delivered.
    pub shipment_delivery_date: Option<EventTime>,
    /// Derived: days from pickup to delivery (or to the last derivation, while undelivered).
    pub transit_time: Option<u32>,
    /// Derived: failed delivery attempts.
    pub failed_delivery_attempts: u32,
    /// Derived: who signed on delivery.
    pub signed_by: Option<String>,
    /// Derived: whether the parcel is returning or returned to the sender.
    pub return_to_sender: bool,
    /// Derived: the carrier's first delivery attempt.
    pub first_attempted_at: Option<EventTime>,
    /// Derived: the destination country the carrier reports, from its latest located event.
    pub courier_destination_country_region: Option<CountryCode>,
    /// The shopper's own subscriptions and unsubscriptions (absent when none were made).
    #[serde(default, skip_serializing_if = "Subscriptions::is_empty")]
    pub subscriptions: Subscriptions,
    /// The version a history import last wrote: while it is the current version, the
    /// shipment's state is history (no notification, webhook or exception comes of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_version: Option<u64>,
    /// Its estimated delivery dates: the first it got and the latest (absent until estimated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edd: Option<super::edd::ShipmentEdd>,
    /// The delivery date the carrier last scheduled (its own estimate), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_edd: Option<chrono::NaiveDate>,
    /// How the tracking came (API, console, import, returns, a storefront connector); absent
    /// in the stored body when the API (so bodies stored before it was kept read the same).
    #[serde(default, skip_serializing_if = "super::TrackingSource::is_api")]
    pub source: super::TrackingSource,
}

impl Shipment {
    /// When the shipment last had news: its latest checkpoint's arrival, or its creation.
    pub fn last_news_at(&self) -> DateTime<Utc> {
        self.checkpoints.iter().map(|c| c.created_at).max().unwrap_or(self.created_at)
    }

    /// Lower-case text that a listing's `keyword` searches: numbers, title, order ids,
    /// customer names, the last-mile number; parts separated by U+001F.
    pub fn search_text(&self) -> String {
        let details = &self.details;
        let mut parts = vec![self.tracking_number.as_str().to_owned(), self.tracking_number.compact().to_owned()];
        parts.extend(details.title.iter().cloned());
        parts.extend(details.order_id.iter().cloned());
        parts.extend(details.order_number.iter().cloned());
        parts.extend(details.customers.iter().filter_map(|c| c.name.clone()));
        if let Some(leg) = &self.last_mile {
            parts.push(leg.tracking_number.compact().to_owned());
        }
        parts.join("\u{1f}").to_lowercase()
    }

    /// A new shipment with an empty timeline, due for its first poll at once.
    pub fn new(
        tenant_id: TenantId,
        slug: Slug,
        tracking_number: TrackingNumber,
        details: ShipmentDetails,
        now: DateTime<Utc>,
    ) -> Self {
        let mut shipment = Shipment {
            tenant_id,
            id: ShipmentId::random(),
            slug,
            tracking_number,
            version: 0,
            created_at: now,
            updated_at: now,
            details,
            last_mile: None,
            checkpoints: Vec::new(),
            completed: None,
            tracked_count: 0,
            next_poll_at: Some(now),
            poll_cadence: None,
            retracked_at: None,
            poll_failures: 0,
            tag: Tag::Pending,
            subtag: Tag::Pending.default_subtag(),
            active: true,
            shipment_pickup_date: None,
            shipment_delivery_date: None,
            transit_time: None,
            failed_delivery_attempts: 0,
            signed_by: None,
            return_to_sender: false,
            first_attempted_at: None,
            courier_destination_country_region: None,
            subscriptions: Subscriptions::default(),
            imported_version: None,
            edd: None,
            carrier_edd: None,
            source: super::TrackingSource::Api,
        };
        shipment.derive(now);
        shipment
    }

    /// Whether (`slug`, `tracking_number`) names one of this shipment's legs.
    pub fn has_leg(&self, slug: &Slug, tracking_number: &TrackingNumber) -> bool {
        let same = |s: &Slug, n: &TrackingNumber| s == slug && n.compact() == tracking_number.compact();
        same(&self.slug, &self.tracking_number)
            || self.last_mile.as_ref().is_some_and(|leg| same(&leg.slug, &leg.tracking_number))
    }

    /// Merges carrier events into the timeline and re-derives the state.
    ///
    /// Idempotent and order-independent: merging the same events again changes nothing, and any
    /// arrival order of a set of events gives the same timeline and state. Events of other
    /// shipments' legs are ignored.
    pub fn merge(&mut self, events: impl IntoIterator<Item = CheckpointInput>, now: DateTime<Utc>) -> MergeOutcome {
        let before = (self.tag, self.subtag);
        let mut added = 0;
        let mut ignored = 0;
        for input in events {
            if !self.has_leg(&input.slug, &input.tracking_number) {
                ignored += 1;
                continue;
            }
            let checkpoint = Checkpoint::new(input, now);
            if let Some(existing) = self.checkpoints.iter_mut().find(|c| c.hash == checkpoint.hash) {
                // The same event again: keep the earliest sighting so the result does not depend
                // on arrival order.
                existing.created_at = existing.created_at.min(checkpoint.created_at);
                ignored += 1;
                continue;
            }
            self.checkpoints.push(checkpoint);
            added += 1;
        }
        if added > 0 {
            self.checkpoints.sort_by(Checkpoint::timeline_order);
            // A bounded timeline keeps every shipment within what its store can hold; the
            // oldest events go first, the ones that decide the status stay.
            let excess = self.checkpoints.len().saturating_sub(MAX_CHECKPOINTS);
            self.checkpoints.drain(..excess);
        }
        self.derive(now);
        MergeOutcome { added, ignored, status_changed: before != (self.tag, self.subtag) }
    }

    /// Marks the tracking completed: adds a merchant checkpoint at `at` and stops tracking.
    pub fn complete(&mut self, reason: CompletionReason, at: EventTime, now: DateTime<Utc>) {
        let input = CheckpointInput::new(
            self.slug.clone(),
            self.tracking_number.clone(),
            at,
            reason.subtag(),
            reason.message(),
            CheckpointSource::User,
        );
        self.completed = Some(reason);
        self.merge([input], now);
    }

    /// Re-derives every derived field from the timeline, as of `now`.
    pub fn derive(&mut self, now: DateTime<Utc>) {
        let timeline = &self.checkpoints;
        let last_delivered = timeline.iter().rev().find(|c| c.tag == Tag::Delivered);
        let latest = timeline.last();

        // Delivered is final: later carrier noise never moves a delivered parcel back, and an
        // older event sorts before the delivery anyway. A merchant's completion overrides.
        let completion =
            self.completed.and_then(|_| timeline.iter().rev().find(|c| c.source == CheckpointSource::User));
        let (tag, subtag) = match (completion, last_delivered, latest) {
            (Some(user), _, _) => (user.tag, user.subtag),
            (None, Some(delivered), _) => (Tag::Delivered, delivered.subtag),
            (None, None, Some(latest)) => (latest.tag, latest.subtag),
            (None, None, None) => (Tag::Pending, Tag::Pending.default_subtag()),
        };
        let last_information = latest
            .map(|c| c.checkpoint_time.instant())
            .into_iter()
            .chain([self.created_at])
            .chain(self.retracked_at)
            .max()
            .unwrap_or(self.created_at);
        let terminal = tag == Tag::Delivered || is_terminal_exception(subtag);
        let expired = !terminal && self.completed.is_none() && now - last_information > Duration::days(EXPIRY_DAYS);
        (self.tag, self.subtag) = if expired { (Tag::Expired, Tag::Expired.default_subtag()) } else { (tag, subtag) };

        self.active = self.completed.is_none() && !terminal && !expired;
        if !self.active {
            self.next_poll_at = None;
            self.poll_cadence = None;
        }
        self.shipment_pickup_date = timeline
            .iter()
            .find(|c| !matches!(c.tag, Tag::Pending | Tag::InfoReceived))
            .map(|c| c.checkpoint_time.clone());
        self.shipment_delivery_date =
            if self.tag == Tag::Delivered { last_delivered.map(|c| c.checkpoint_time.clone()) } else { None };
        self.transit_time = self.shipment_pickup_date.as_ref().map(|pickup| {
            let end = self.shipment_delivery_date.as_ref().map_or(now, EventTime::instant);
            whole_days_between(pickup.instant(), end)
        });
        self.failed_delivery_attempts = timeline.iter().filter(|c| c.tag == Tag::AttemptFail).count() as u32;
        self.first_attempted_at = timeline
            .iter()
            .find(|c| matches!(c.tag, Tag::AttemptFail | Tag::Delivered) && c.source == CheckpointSource::Carrier)
            .map(|c| c.checkpoint_time.clone());
        self.signed_by = last_delivered.and_then(|c| c.signed_by.clone());
        self.return_to_sender = timeline.iter().any(|c| matches!(c.subtag.code(), "Exception_010" | "Exception_011"));
        self.courier_destination_country_region = timeline
            .iter()
            .rev()
            .find(|c| {
                matches!(c.tag, Tag::OutForDelivery | Tag::Delivered | Tag::AttemptFail | Tag::AvailableForPickup)
            })
            .and_then(|c| c.country_region);
    }

    /// Days from the first event to the last event of one leg, if the leg has events.
    pub fn leg_transit_time(&self, slug: &Slug, tracking_number: &TrackingNumber) -> Option<u32> {
        let mut leg = self.checkpoints.iter().filter(|c| c.is_on_leg(slug, tracking_number));
        let first = leg.next()?;
        let last = leg.next_back().unwrap_or(first);
        Some(whole_days_between(first.checkpoint_time.instant(), last.checkpoint_time.instant()))
    }
}

/// Sub-statuses after which the carrier has nothing more to do for the shopper.
fn is_terminal_exception(subtag: Subtag) -> bool {
    matches!(subtag.code(), "Exception_011" | "Exception_013")
}

/// Whole days from `start` to `end`, rounded up; 0 when `end` is not after `start`.
fn whole_days_between(start: DateTime<Utc>, end: DateTime<Utc>) -> u32 {
    let seconds = (end - start).num_seconds().max(0);
    u32::try_from((seconds + 86_399) / 86_400).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
