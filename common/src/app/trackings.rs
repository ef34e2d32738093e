//! Tracking use cases: create, read, change, list, delete, retrack, complete, and merging carrier
//! events into every shipment that has the leg.

use crate::couriers;
use crate::domain::{
    CheckpointInput, CompletionReason, DomainError, EventTime, Leg, Shipment, ShipmentDetails, ShipmentId, Slug,
    TenantId, TrackingNumber, TrackingSource,
};
use crate::ports::{ListPage, ListQuery, StoreError};

use super::{AppError, Deps};

/// How often a read-modify-write is retried when another writer wins.
const MAX_ATTEMPTS: usize = 8;

/// A tracking to create.
#[derive(Debug, Clone)]
pub struct NewTracking {
    /// The courier; detected from the number when absent.
    pub slug: Option<Slug>,
    /// The number.
    pub tracking_number: TrackingNumber,
    /// The merchant's fields.
    pub details: ShipmentDetails,
    /// A last-mile leg the merchant already knows.
    pub last_mile: Option<Leg>,
}

/// Checks that Porchlight knows `slug`.
pub(crate) fn known_courier(slug: &Slug) -> Result<(), AppError> {
    couriers::find(slug.as_str()).map(|_| ()).ok_or_else(|| AppError::UnknownCourier(slug.to_string()))
}

/// `Invalid` (naming the field) when `number` fits none of `slug`'s known formats.
fn fits(slug: &Slug, number: &TrackingNumber) -> Result<(), AppError> {
    if couriers::fits(slug.as_str(), number.as_str()) {
        return Ok(());
    }
    let name = couriers::find(slug.as_str()).map_or(slug.as_str(), |courier| courier.name);
    Err(DomainError::invalid("tracking_number", format!("must be a {name} tracking number")).into())
}

fn validate_details(details: &ShipmentDetails) -> Result<(), AppError> {
    Ok(details.validate()?)
}

/// Creates a tracking. `Duplicate` if the tenant already tracks the courier and number.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn create_tracking(deps: &Deps, tenant: &TenantId, new: NewTracking) -> Result<Shipment, AppError> {
    create_tracking_from(deps, tenant, new, TrackingSource::Api).await
}

/// [`create_tracking`] for a tracking that came through `source` rather than the API.
pub async fn create_tracking_from(
    deps: &Deps,
    tenant: &TenantId,
    new: NewTracking,
    source: TrackingSource,
) -> Result<Shipment, AppError> {
    let model = super::edd::model_for_trackings(deps, tenant).await;
    let now = deps.clock.now();
    let mut shipment = new_shipment(deps, tenant, new, now, Vec::new())?;
    shipment.source = source;
    if let Some(model) = &model {
        crate::domain::edd::revise(&mut shipment, model, now.date_naive());
    }
    insert_new(deps, shipment).await
}

/// Creates a tracking that began at `created_at` with `events` already known: what history
/// imports and the demo shop do. The same checks as [`create_tracking`]; the events are merged
/// before it is stored, and it is polled as any new tracking is. `Duplicate` if the tenant
/// already tracks the courier and number.
pub async fn import_tracking(
    deps: &Deps,
    tenant: &TenantId,
    new: NewTracking,
    created_at: chrono::DateTime<chrono::Utc>,
    events: Vec<CheckpointInput>,
) -> Result<Shipment, AppError> {
    insert_new(deps, new_shipment(deps, tenant, new, created_at, events)?).await
}

/// Stores a new tracking made by [`new_shipment`], with the version the store gave it.
async fn insert_new(deps: &Deps, mut shipment: Shipment) -> Result<Shipment, AppError> {
    shipment.version = deps.shipments.insert(&shipment).await?;
    tracing::debug!(shipment_id = %shipment.id, slug = %shipment.slug, "tracking created");
    Ok(shipment)
}

/// The courier of a new tracking: `slug` when Porchlight knows it, else the best candidate
/// detected from the number whose check digit (if any) holds (a number that only fits with a
/// wrong check digit is more likely a typo than a parcel).
pub fn courier_of(slug: Option<Slug>, number: &TrackingNumber) -> Result<Slug, AppError> {
    match slug {
        Some(slug) => {
            known_courier(&slug)?;
            Ok(slug)
        }
        None => {
            let detected = couriers::detect(number.as_str());
            let best = detected
                .iter()
                .find(|d| d.checksum != couriers::Checksum::Invalid)
                .ok_or(AppError::CourierNotDetected)?;
            Ok(Slug::parse(best.courier.slug)?)
        }
    }
}

/// The shipment [`import_tracking`] stores, checked, merged and scheduled, not yet stored.
pub(crate) fn new_shipment(
    deps: &Deps,
    tenant: &TenantId,
    new: NewTracking,
    created_at: chrono::DateTime<chrono::Utc>,
    events: Vec<CheckpointInput>,
) -> Result<Shipment, AppError> {
    let slug = courier_of(new.slug, &new.tracking_number)?;
    if let Some(leg) = &new.last_mile {
        known_courier(&leg.slug)?;
    }
    validate_details(&new.details)?;
    fits(&slug, &new.tracking_number)?;
    if let Some(leg) = &new.last_mile {
        fits(&leg.slug, &leg.tracking_number)?;
    }
    let now = deps.clock.now();
    let mut shipment = Shipment::new(tenant.clone(), slug, new.tracking_number, new.details, created_at.min(now));
    shipment.last_mile = new.last_mile;
    if !events.is_empty() {
        shipment.merge(events, now);
        let last_event = shipment.checkpoints.last().map(|c| c.checkpoint_time.instant());
        shipment.updated_at = last_event.map_or(shipment.created_at, |at| at.clamp(shipment.created_at, now));
    }
    deps.poll_policy.schedule(&mut shipment);
    Ok(shipment)
}

/// Reads one of the tenant's trackings, its time-dependent state (expiry, transit time) derived
/// as of now. The stored copy catches up when a write or a poll finds its status moved (expiry).
pub async fn get_tracking(deps: &Deps, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, AppError> {
    let mut shipment = deps.shipments.get(tenant, id).await?.ok_or(AppError::NotFound)?;
    shipment.derive(deps.clock.now());
    Ok(shipment)
}

/// Applies `change` to a tracking, revises its estimated delivery dates, and stores it,
/// re-reading and re-applying when a concurrent writer got there first; a change that changes
/// nothing is not written. `change` must be repeatable: it may run more than once.
pub async fn update_tracking(
    deps: &Deps,
    tenant: &TenantId,
    id: &ShipmentId,
    change: impl Fn(&mut Shipment) -> Result<(), AppError> + Send + Sync,
) -> Result<Shipment, AppError> {
    let model = super::edd::model_for_trackings(deps, tenant).await;
    for _ in 0..MAX_ATTEMPTS {
        let stored = deps.shipments.get(tenant, id).await?.ok_or(AppError::NotFound)?;
        let now = deps.clock.now();
        let (mut shipment, worth_writing) = apply_change(deps, &stored, now, model.as_deref(), |shipment| {
            change(shipment)?;
            known_courier(&shipment.slug)?;
            if shipment.slug != stored.slug {
                // A corrected courier must be one the number can belong to.
                fits(&shipment.slug, &shipment.tracking_number)?;
            }
            validate_details(&shipment.details)
        })?;
        if !worth_writing {
            return Ok(shipment); // nothing changed (a repeated carrier update): nothing to write
        }
        shipment.updated_at = now;
        match deps.shipments.update(&shipment).await {
            Ok(version) => {
                shipment.version = version;
                return Ok(shipment);
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}

/// `stored` (as read) with `change` applied, derived and scheduled as of `now` (and its
/// estimated delivery dates revised by `edd`, when given), and whether it is worth writing: it
/// differs from `stored` derived as of `now`, or time alone moved the stored status (an
/// expiry), which the store's indexes must see.
pub(crate) fn apply_change(
    deps: &Deps,
    stored: &Shipment,
    now: chrono::DateTime<chrono::Utc>,
    edd: Option<&crate::domain::edd::EddModel>,
    change: impl FnOnce(&mut Shipment) -> Result<(), AppError>,
) -> Result<(Shipment, bool), AppError> {
    let mut before = stored.clone();
    before.derive(now);
    let mut after = before.clone();
    change(&mut after)?;
    after.derive(now);
    if let Some(model) = edd {
        crate::domain::edd::revise(&mut after, model, now.date_naive());
    }
    deps.poll_policy.schedule(&mut after);
    let status = |s: &Shipment| (s.tag, s.subtag, s.active);
    let worth_writing = before != after || status(stored) != status(&after);
    Ok((after, worth_writing))
}

/// Deletes a tracking and returns it as it was.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, shipment_id = %id))]
pub async fn delete_tracking(deps: &Deps, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, AppError> {
    let shipment = deps.shipments.delete(tenant, id).await?;
    tracing::info!("tracking deleted");
    Ok(shipment)
}

/// Forces a poll as soon as possible; an expired tracking resumes for another expiry period.
/// `RetrackNotAllowed` for a delivered or completed tracking.
pub async fn retrack(deps: &Deps, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment, AppError> {
    let now = deps.clock.now();
    update_tracking(deps, tenant, id, |shipment| {
        if shipment.completed.is_some() || shipment.tag == crate::domain::Tag::Delivered {
            return Err(AppError::RetrackNotAllowed);
        }
        shipment.retracked_at = Some(now);
        shipment.next_poll_at = Some(now);
        Ok(())
    })
    .await
    .map(|mut shipment| {
        // Derivation clears the poll time of inactive shipments; a resumed one is due now.
        shipment.next_poll_at = shipment.next_poll_at.or(Some(now));
        shipment
    })
}

/// Marks a tracking completed for `reason` at `at` (now when absent). Repeating the same
/// completion changes nothing.
pub async fn mark_completed(
    deps: &Deps,
    tenant: &TenantId,
    id: &ShipmentId,
    reason: CompletionReason,
    at: Option<EventTime>,
) -> Result<Shipment, AppError> {
    let now = deps.clock.now();
    let at = at.unwrap_or_else(|| EventTime::from_utc(now));
    let current = get_tracking(deps, tenant, id).await?;
    if current.completed == Some(reason) {
        return Ok(current);
    }
    update_tracking(deps, tenant, id, |shipment| {
        shipment.complete(reason, at.clone(), now);
        Ok(())
    })
    .await
}

/// One page of the tenant's trackings, each derived as of now (see [`get_tracking`]). Filters
/// apply to the stored state.
pub async fn list_trackings(deps: &Deps, tenant: &TenantId, query: &ListQuery) -> Result<ListPage, AppError> {
    let mut page = deps.shipments.list(tenant, query).await?;
    let now = deps.clock.now();
    for shipment in &mut page.shipments {
        shipment.derive(now);
    }
    Ok(page)
}
