//! Shoppers' data rights: one shopper's data across a merchant's trackings, orders, returns,
//! messages and webhook events, exported or erased (`/porchlight/v1/privacy/...`, `porchlight
//! privacy`), and the retention of personal fields, shorter than the shipment facts analytics
//! keep ([`expire_personal_data`]).
//!
//! A shopper is found by email (any case) or phone number (E.164). Both walk the merchant's
//! trackings and orders: their cost grows with the merchant's size, not the shopper's.
//!
//! Erasing removes the shopper's customer entries and subscriptions from trackings, and with
//! them the street-level destination (state, city, postal code, raw location) and the
//! signer's name; keeps the country, the courier, the checkpoints and the dates (what analytics
//! count). Orders lose the contact and the street-level address; returns their contact email,
//! the shopper's comments and photos. Messages keep their ledger entry (so nothing is sent
//! twice) with the recipient blanked; webhook events keep their shape with the shopper's
//! values replaced by `null`. The suppression list is left alone: it is what keeps the
//! address from being written to again.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{AppError, Deps};
use crate::api::wire::{TrackingView, timestamp};
use crate::domain::{Contact, DomainError, Order, Return, Shipment, TenantId, e164};
use crate::ports::{ListOrder, ListQuery, MessageState, ReturnFilter, StoreError};

/// Trackings, orders and returns read from the store at once.
const PAGE: usize = 200;
/// Most webhook events looked at per tracking or return.
const EVENTS_PER_SUBJECT: usize = 100;
/// What a planned message to an erased shopper is finished with.
const ERASED: &str = "recipient erased";

/// The shopper a request is about.
#[derive(Clone, PartialEq, Eq)]
pub enum Shopper {
    /// An email address, lower-cased.
    Email(String),
    /// A phone number in E.164.
    Phone(String),
}

impl std::fmt::Debug for Shopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data: never printed.
        f.write_str(match self {
            Shopper::Email(_) => "Shopper::Email(<hidden>)",
            Shopper::Phone(_) => "Shopper::Phone(<hidden>)",
        })
    }
}

impl Shopper {
    /// From a request's `email` or `phone` (exactly one of them; an empty one is given, and
    /// refused as no address).
    pub fn parse(email: Option<&str>, phone: Option<&str>) -> Result<Shopper, DomainError> {
        match (email, phone) {
            (Some(email), None) => match Contact::email(email)? {
                contact @ Contact::Email(_) => Ok(Shopper::Email(contact.key())),
                Contact::Sms(_) => unreachable!("an email contact"),
            },
            (None, Some(phone)) => Ok(Shopper::Phone(e164("phone", phone)?)),
            (Some(_), Some(_)) => Err(DomainError::invalid("email", "give either email or phone, not both")),
            (None, None) => Err(DomainError::invalid("email", "give the shopper's email or phone")),
        }
    }

    /// Whether `email` is the shopper's.
    fn is_email(&self, email: Option<&str>) -> bool {
        matches!((self, email), (Shopper::Email(own), Some(email)) if email.trim().eq_ignore_ascii_case(own))
    }

    /// Whether `phone` (as typed) is the shopper's.
    fn is_phone(&self, phone: Option<&str>) -> bool {
        matches!((self, phone), (Shopper::Phone(own), Some(phone)) if e164("", phone).is_ok_and(|p| &p == own))
    }

    /// Whether `contact` (an email, or a number as typed) is the shopper's.
    fn is_contact(&self, contact: &str) -> bool {
        self.is_email(Some(contact)) || self.is_phone(Some(contact))
    }

    fn is_customer(&self, customer: &crate::domain::Customer) -> bool {
        self.is_email(customer.email.as_deref()) || self.is_phone(customer.phone_number.as_deref())
    }
}

/// Whether the shipment names `who` among its customers or subscriptions.
fn shipment_names(shipment: &Shipment, who: &Shopper) -> bool {
    let subscriptions = &shipment.subscriptions;
    shipment.details.customers.iter().any(|c| who.is_customer(c))
        || subscriptions
            .emails
            .iter()
            .chain(&subscriptions.smses)
            .chain(&subscriptions.unsubscribed)
            .any(|c| who.is_contact(c))
}

fn order_names(order: &Order, who: &Shopper) -> bool {
    who.is_email(order.customer.email.as_deref()) || who.is_phone(order.customer.phone.as_deref())
}

/// What is kept about one shopper, as the export answers it.
#[derive(Debug, Default)]
pub struct ShopperData {
    /// Trackings naming the shopper.
    pub trackings: Vec<Shipment>,
    /// Orders placed with the shopper's contact.
    pub orders: Vec<Order>,
    /// Returns filed with the shopper's email.
    pub returns: Vec<Return>,
    /// Messages sent or planned to the shopper.
    pub messages: Vec<crate::ports::LedgerEntry>,
    /// Webhook events about the trackings and returns above.
    pub webhook_events: Vec<crate::ports::WebhookEventRecord>,
}

impl ShopperData {
    /// The export's JSON: the trackings as the tracking API answers them, the orders and
    /// returns as theirs do, the messages and the webhook events as sent.
    pub fn to_json(&self, public_url: Option<&str>) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| {
                json!({
                    "id": m.id, "tracking_id": m.shipment_id.as_str(), "trigger": m.trigger.as_str(),
                    "channel": m.channel.as_str(), "recipient": m.recipient, "state": m.state.as_str(),
                    "planned_at": timestamp(m.planned_at), "finished_at": m.finished_at.map(timestamp),
                })
            })
            .collect();
        let events: Vec<Value> = self
            .webhook_events
            .iter()
            .map(|e| {
                json!({
                    "event_id": e.event_id, "event": e.event.as_str(), "ts": timestamp(e.at),
                    "body": serde_json::from_slice::<Value>(&e.body).unwrap_or(Value::Null),
                })
            })
            .collect();
        json!({
            "trackings": self.trackings.iter().map(TrackingView::from).collect::<Vec<_>>(),
            "orders": self.orders.iter().map(crate::api::wire::order_json).collect::<Vec<_>>(),
            "returns": self.returns.iter().map(|r| crate::api::wire::return_view(r, public_url)).collect::<Vec<_>>(),
            "notifications": messages,
            "webhook_events": events,
        })
    }
}

/// Every tracking of the tenant that `keep` takes, oldest first, read a page at a time.
async fn trackings_where(
    deps: &Deps,
    tenant: &TenantId,
    filters: ListQuery,
    keep: impl Fn(&Shipment) -> bool,
) -> Result<Vec<Shipment>, AppError> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let query = ListQuery { limit: PAGE, cursor, order: ListOrder::OldestFirst, ..filters.clone() };
        let page = deps.shipments.list(tenant, &query).await?;
        found.extend(page.shipments.into_iter().filter(|s| keep(s)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

async fn orders_of(deps: &Deps, tenant: &TenantId, who: &Shopper) -> Result<Vec<Order>, AppError> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = deps.orders.orders(tenant, after.as_deref(), PAGE).await?;
        let full = page.len() == PAGE;
        after = page.last().map(|o| o.id.clone());
        found.extend(page.into_iter().filter(|o| order_names(o, who)));
        if !full {
            return Ok(found);
        }
    }
}

async fn returns_of(deps: &Deps, tenant: &TenantId, who: &Shopper) -> Result<Vec<Return>, AppError> {
    let Shopper::Email(email) = who else { return Ok(Vec::new()) };
    let filter = ReturnFilter { customer_email: Some(email.clone()), ..ReturnFilter::default() };
    let mut found = Vec::new();
    loop {
        let (page, _) = deps.returns.returns(tenant, &filter, found.len(), PAGE).await?;
        let full = page.len() == PAGE;
        found.extend(page);
        if !full {
            return Ok(found);
        }
    }
}

/// Everything the tenant keeps about `who`.
pub async fn export(deps: &Deps, tenant: &TenantId, who: &Shopper) -> Result<ShopperData, AppError> {
    let trackings = trackings_where(deps, tenant, ListQuery::default(), |s| shipment_names(s, who)).await?;
    let orders = orders_of(deps, tenant, who).await?;
    let returns = returns_of(deps, tenant, who).await?;
    let mut messages = Vec::new();
    let mut webhook_events = Vec::new();
    for shipment in &trackings {
        let ledger = deps.ledger.shipment_messages(tenant, &shipment.id).await?;
        messages.extend(ledger.into_iter().filter(|m| who.is_contact(&m.recipient)));
    }
    let subjects = trackings.iter().map(|s| s.id.as_str().to_owned()).chain(returns.iter().map(|r| r.id.clone()));
    for subject in subjects {
        webhook_events.extend(deps.webhooks.subject_events(tenant, &subject, EVENTS_PER_SUBJECT).await?);
    }
    Ok(ShopperData { trackings, orders, returns, messages, webhook_events })
}

/// What an erasure or a retention run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    /// Trackings rewritten.
    pub trackings: usize,
    /// Orders rewritten.
    pub orders: usize,
    /// Returns rewritten.
    pub returns: usize,
    /// Messages whose recipient was blanked.
    pub notifications: usize,
    /// Webhook events whose body was redacted.
    pub webhook_events: usize,
}

/// The personal text values a record held, so that copies of them (in webhook bodies) can be
/// found: contacts, names and street-level address parts.
#[derive(Default)]
struct Redactions(BTreeSet<String>);

impl Redactions {
    /// Keeps `value` (without case; a phone number also in E.164).
    fn add(&mut self, value: Option<&str>) {
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            self.0.insert(value.to_lowercase());
            if let Ok(number) = e164("", value) {
                self.0.insert(number);
            }
        }
    }

    /// Whether `text` is one of the values kept.
    fn holds(&self, text: &str) -> bool {
        let text = text.trim();
        self.0.contains(&text.to_lowercase()) || e164("", text).is_ok_and(|number| self.0.contains(&number))
    }

    /// `body` (JSON) with every string value that is one of these replaced by `null`;
    /// `None` when nothing in it is.
    fn redact(&self, body: &[u8]) -> Option<Vec<u8>> {
        fn walk(value: &mut Value, personal: &Redactions) -> bool {
            match value {
                Value::String(text) if personal.holds(text) => {
                    *value = Value::Null;
                    true
                }
                Value::Array(items) => items.iter_mut().fold(false, |changed, v| walk(v, personal) | changed),
                Value::Object(fields) => fields.values_mut().fold(false, |changed, v| walk(v, personal) | changed),
                _ => false,
            }
        }
        let mut value: Value = serde_json::from_slice(body).ok()?;
        walk(&mut value, self).then(|| serde_json::to_vec(&value).expect("json serializes"))
    }
}

/// Strips the customers `erase` takes, the subscriptions `who` (if any) made and, when a
/// customer went, the street-level destination and signer: `true` if anything changed.
fn strip_shipment(
    shipment: &mut Shipment,
    erase: impl Fn(&crate::domain::Customer) -> bool,
    who: Option<&Shopper>,
    kept: &mut Redactions,
) -> bool {
    let details = &mut shipment.details;
    let before = details.customers.len();
    for customer in details.customers.iter().filter(|c| erase(c)) {
        kept.add(customer.name.as_deref());
        kept.add(customer.email.as_deref());
        kept.add(customer.phone_number.as_deref());
    }
    details.customers.retain(|c| !erase(c));
    let mut changed = details.customers.len() != before;
    if changed {
        for field in [
            &mut details.destination_state,
            &mut details.destination_city,
            &mut details.destination_postal_code,
            &mut details.destination_raw_location,
            &mut shipment.signed_by,
        ] {
            kept.add(field.as_deref());
            *field = None;
        }
    }
    let subscriptions = &mut shipment.subscriptions;
    for list in [&mut subscriptions.emails, &mut subscriptions.smses, &mut subscriptions.unsubscribed] {
        let (gone, staying): (Vec<String>, Vec<String>) =
            std::mem::take(list).into_iter().partition(|c| who.is_none_or(|who| who.is_contact(c)));
        for contact in &gone {
            kept.add(Some(contact));
        }
        changed |= !gone.is_empty();
        *list = staying;
    }
    changed
}

/// Rewrites the shipment with `strip` until it holds (re-reading it after a concurrent
/// write): `true` if it changed. The shipment's `updated_at` stays: this is not news about the
/// parcel, and its retention runs from its last real change.
async fn rewrite_shipment(
    deps: &Deps,
    mut shipment: Shipment,
    strip: impl Fn(&mut Shipment, &mut Redactions) -> bool,
    kept: &mut Redactions,
) -> Result<bool, AppError> {
    loop {
        if !strip(&mut shipment, kept) {
            return Ok(false);
        }
        match deps.shipments.update(&shipment).await {
            Ok(_) => return Ok(true),
            Err(StoreError::Conflict) => {}
            Err(StoreError::NotFound) => return Ok(false),
            Err(other) => return Err(other.into()),
        }
        match deps.shipments.get(&shipment.tenant_id, &shipment.id).await? {
            Some(fresh) => shipment = fresh,
            None => return Ok(false),
        }
    }
}

/// Blanks the shipment's messages to any of `contacts` (those still planned are finished
/// first, so that none goes out) and redacts its webhook events: adds to `erased`.
async fn forget_shipment_traces(
    deps: &Deps,
    shipment: &Shipment,
    is_contact: impl Fn(&str) -> bool,
    kept: &Redactions,
    erased: &mut Erased,
) -> Result<(), AppError> {
    let tenant = &shipment.tenant_id;
    for message in deps.ledger.shipment_messages(tenant, &shipment.id).await? {
        if message.recipient.is_empty() || !is_contact(&message.recipient) {
            continue;
        }
        if message.state == MessageState::Planned {
            let at = deps.clock.now();
            deps.ledger.finish(tenant, &shipment.id, &message.id, MessageState::Suppressed, Some(ERASED), at).await?;
        }
        deps.ledger.erase_recipient(tenant, &shipment.id, &message.id).await?;
        erased.notifications += 1;
    }
    erased.webhook_events += redact_events(deps, tenant, shipment.id.as_str(), kept).await?;
    Ok(())
}

async fn redact_events(deps: &Deps, tenant: &TenantId, subject: &str, kept: &Redactions) -> Result<usize, AppError> {
    let mut redacted = 0;
    for event in deps.webhooks.subject_events(tenant, subject, EVENTS_PER_SUBJECT).await? {
        if let Some(body) = kept.redact(&event.body) {
            deps.webhooks.replace_event_body(tenant, &event.event_id, &body).await?;
            redacted += 1;
        }
    }
    Ok(redacted)
}

/// Erases `who` from everything the tenant keeps (see the module's contract).
pub async fn erase(deps: &Deps, tenant: &TenantId, who: &Shopper) -> Result<Erased, AppError> {
    let mut erased = Erased::default();
    let trackings = trackings_where(deps, tenant, ListQuery::default(), |s| shipment_names(s, who)).await?;
    for shipment in trackings {
        let mut kept = Redactions::default();
        let strip =
            |s: &mut Shipment, kept: &mut Redactions| strip_shipment(s, |c| who.is_customer(c), Some(who), kept);
        if rewrite_shipment(deps, shipment.clone(), strip, &mut kept).await? {
            erased.trackings += 1;
        }
        kept.add(Some(match who {
            Shopper::Email(email) => email,
            Shopper::Phone(phone) => phone,
        }));
        forget_shipment_traces(deps, &shipment, |c| who.is_contact(c), &kept, &mut erased).await?;
    }
    for mut order in orders_of(deps, tenant, who).await? {
        strip_order(&mut order);
        order.updated_at = deps.clock.now();
        deps.orders.put_order(&order).await?;
        erased.orders += 1;
    }
    for ret in returns_of(deps, tenant, who).await? {
        let mut kept = Redactions::default();
        if let Some(ret) = rewrite_return(deps, ret, &mut kept).await? {
            erased.returns += 1;
            erased.webhook_events += redact_events(deps, tenant, &ret.id, &kept).await?;
        }
    }
    tracing::info!(
        tenant_id = %tenant,
        trackings = erased.trackings,
        orders = erased.orders,
        returns = erased.returns,
        notifications = erased.notifications,
        webhook_events = erased.webhook_events,
        "shopper erased"
    );
    Ok(erased)
}

/// An order without its contact and its street-level address (the country stays).
fn strip_order(order: &mut Order) {
    order.customer.email = None;
    order.customer.phone = None;
    let address = &mut order.shipping_address;
    address.state = None;
    address.city = None;
    address.postal_code = None;
    address.lines.clear();
}

/// The return without its contact email, the shopper's comments and photos (deleted), stored
/// until it holds: the return as stored, `None` if it is gone.
async fn rewrite_return(deps: &Deps, mut ret: Return, kept: &mut Redactions) -> Result<Option<Return>, AppError> {
    loop {
        kept.add(ret.contact_email.as_deref());
        ret.contact_email = None;
        for item in &mut ret.items {
            kept.add(item.comment.as_deref());
            item.comment = None;
            for photo in std::mem::take(&mut item.photos) {
                let name = photo.rsplit('/').next().unwrap_or_default();
                deps.blobs.delete_blob(&format!("returns/{}/{name}", ret.tenant_id)).await?;
            }
        }
        match deps.returns.put_return(&ret).await {
            Ok(version) => {
                ret.version = version;
                return Ok(Some(ret));
            }
            Err(StoreError::Conflict) => {}
            Err(other) => return Err(other.into()),
        }
        match deps.returns.return_by_id(&ret.tenant_id, &ret.id).await? {
            Some(fresh) => ret = fresh,
            None => return Ok(None),
        }
    }
}

/// The personal-data retention for every tenant: see [`expire_personal_data`].
pub async fn expire_personal_data_everywhere(deps: &Deps, cutoff: DateTime<Utc>) -> Result<Erased, AppError> {
    let mut total = Erased::default();
    for tenant in deps.tenants.list_tenants().await? {
        let erased = expire_personal_data(deps, &tenant.id, cutoff).await?;
        total.trackings += erased.trackings;
        total.notifications += erased.notifications;
        total.webhook_events += erased.webhook_events;
    }
    if total != Erased::default() {
        tracing::info!(
            trackings = total.trackings,
            notifications = total.notifications,
            webhook_events = total.webhook_events,
            "personal data expired"
        );
    }
    Ok(total)
}

/// The personal-data retention for one tenant: every finished tracking unchanged since
/// `cutoff` loses its customers, subscriptions, street-level destination and signer, and its
/// messages' recipients and webhook events follow (orders and returns keep theirs until the
/// merchant deletes them or the shopper asks). Returns what changed; trackings already
/// stripped cost a read only.
pub async fn expire_personal_data(deps: &Deps, tenant: &TenantId, cutoff: DateTime<Utc>) -> Result<Erased, AppError> {
    let mut erased = Erased::default();
    let filters = ListQuery { updated_at_max: Some(cutoff), ..ListQuery::default() };
    let due = trackings_where(deps, tenant, filters, |s| !s.active && holds_personal_data(s)).await?;
    for shipment in due {
        let mut kept = Redactions::default();
        let strip = |s: &mut Shipment, kept: &mut Redactions| {
            !s.active && s.updated_at <= cutoff && strip_shipment(s, |_| true, None, kept)
        };
        if !rewrite_shipment(deps, shipment.clone(), strip, &mut kept).await? {
            continue;
        }
        erased.trackings += 1;
        // Every message of the tracking went to one of its shoppers.
        forget_shipment_traces(deps, &shipment, |_| true, &kept, &mut erased).await?;
    }
    Ok(erased)
}

/// Whether the retention has anything to take from `shipment`.
fn holds_personal_data(shipment: &Shipment) -> bool {
    !shipment.details.customers.is_empty() || !shipment.subscriptions.is_empty()
}
