//! What the merchant (through the Returns API) and the schedule do to a return: approve,
//! reject, resolve, receive items, attach the shipment back, remove items, expire. Each reads
//! the return, moves it in the domain and writes it under its version (again on a conflict),
//! then plans its events.

use super::super::{AppError, Deps, NewTracking};
use crate::domain::{
    ApprovalStatus, DomainError, Money, ReceivedItem, Return, ReturnAction, ReturnShipment, Shipment, ShipmentDetails,
    ShipmentDirection, Slug, TenantId, TrackingNumber, TrackingSource, WebhookEvent,
};
use crate::ports::{ChangeEvent, StoreError};
use crate::secrets::random_bytes;

/// The custom field that links a return's shipment to its return.
pub const RETURN_FIELD: &str = "porchlight_return_id";
/// Attempts at a write that keeps meeting concurrent writers.
const MAX_ATTEMPTS: usize = 5;
/// Due returns one expiry round moves at most.
const EXPIRY_BATCH: usize = 500;

/// How the Returns API names a return: by id or by RMA number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnKey {
    /// `/returns/{return_id}`.
    Id(String),
    /// `/returns/rma/{rma_number}`.
    Rma(String),
}

/// The tenant's return named by `key`; `Missing("return")` (AfterShip's 40400) for none,
/// another merchant's included.
pub async fn get_return(deps: &Deps, tenant: &TenantId, key: &ReturnKey) -> Result<Return, AppError> {
    let found = match key {
        ReturnKey::Id(id) => deps.returns.return_by_id(tenant, id).await?,
        ReturnKey::Rma(rma) => deps.returns.return_by_rma(tenant, &rma.to_ascii_uppercase()).await?,
    };
    found.ok_or(AppError::Missing("return"))
}

/// Applies `change` to the return and stores it (unless it changed nothing), reading again
/// when a concurrent writer won; then plans the events `change` named. The return as stored.
async fn change_return(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    notify_shopper: bool,
    change: impl Fn(&mut Return) -> Result<Vec<WebhookEvent>, AppError>,
) -> Result<Return, AppError> {
    for _ in 0..MAX_ATTEMPTS {
        let mut ret = get_return(deps, tenant, key).await?;
        let before = ret.clone();
        let events = change(&mut ret)?;
        if ret == before {
            return Ok(ret);
        }
        match deps.returns.put_return(&ret).await {
            Ok(version) => {
                ret.version = version;
                super::events::plan(deps, &ret, &events, notify_shopper).await?;
                return Ok(ret);
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}

/// The events an approval makes: `return.approved`, and the exchange order's request when
/// lines are exchanged.
pub(super) fn approval_events(ret: &Return) -> Vec<WebhookEvent> {
    let mut events = vec![WebhookEvent::ReturnApproved];
    if ret.items.iter().any(|i| i.exchange_variant.is_some() && i.return_quantity() > 0) {
        events.push(WebhookEvent::ReturnExchangeRequested);
    }
    events
}

/// Approves a submitted return; the shopper is emailed when `notify_customer`.
pub async fn approve(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    notify_customer: bool,
) -> Result<Return, AppError> {
    let now = deps.clock.now();
    let ret = change_return(deps, tenant, key, notify_customer, |ret| {
        ret.apply(ReturnAction::Approve, now)?;
        Ok(approval_events(ret))
    })
    .await?;
    tracing::info!(tenant_id = %tenant, return_id = ret.id, "return approved");
    Ok(ret)
}

/// Rejects a submitted return for `reason` (1 to 1000 characters); the shopper is emailed
/// (with the reason) when `notify_customer`.
pub async fn reject(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    reason: &str,
    notify_customer: bool,
) -> Result<Return, AppError> {
    if reason.trim().is_empty() || reason.chars().count() > 1000 {
        return Err(DomainError::invalid("reject_reason", "must be 1 to 1000 characters").into());
    }
    let now = deps.clock.now();
    let ret = change_return(deps, tenant, key, notify_customer, |ret| {
        ret.apply(ReturnAction::Reject, now)?;
        ret.reject_reason = Some(reason.to_owned());
        Ok(vec![WebhookEvent::ReturnRejected])
    })
    .await?;
    tracing::info!(tenant_id = %tenant, return_id = ret.id, "return rejected");
    Ok(ret)
}

/// Resolves an approved return (`done`).
pub async fn resolve(deps: &Deps, tenant: &TenantId, key: &ReturnKey) -> Result<Return, AppError> {
    let now = deps.clock.now();
    let ret = change_return(deps, tenant, key, false, |ret| {
        ret.apply(ReturnAction::Resolve, now)?;
        Ok(vec![WebhookEvent::ReturnResolved])
    })
    .await?;
    tracing::info!(tenant_id = %tenant, return_id = ret.id, "return resolved");
    Ok(ret)
}

/// Counts `items` in, as one receiving, on an approved return.
pub async fn receive(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    items: Vec<ReceivedItem>,
) -> Result<Return, AppError> {
    if items.is_empty() {
        return Err(DomainError::invalid("items", "must hold at least one item").into());
    }
    for (i, item) in items.iter().enumerate() {
        for (g, grading) in item.gradings.iter().enumerate() {
            if !["a", "b", "c", "d"].contains(&grading.grade.as_str()) {
                return Err(
                    DomainError::invalid(format!("items[{i}].gradings[{g}].grade"), "must be a, b, c or d").into()
                );
            }
        }
    }
    let now = deps.clock.now();
    let ret = change_return(deps, tenant, key, false, |ret| {
        ret.apply(ReturnAction::Handle, now)?;
        ret.receive(items.clone(), random_bytes(), now)?;
        Ok(vec![WebhookEvent::ReturnReceivingCreated])
    })
    .await?;
    tracing::info!(tenant_id = %tenant, return_id = ret.id, "return items received");
    Ok(ret)
}

/// Takes units off a return not yet settled, noting `edit_reason` (at most 200 characters);
/// AfterShip's 42200 when it does not hold that many.
pub async fn remove_items(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    items: &[(String, u32)],
    edit_reason: &str,
) -> Result<Return, AppError> {
    if items.is_empty() {
        return Err(DomainError::invalid("items", "must hold at least one item").into());
    }
    if edit_reason.trim().is_empty() || edit_reason.chars().count() > 200 {
        return Err(DomainError::invalid("edit_reason", "must be 1 to 200 characters").into());
    }
    let now = deps.clock.now();
    change_return(deps, tenant, key, false, |ret| {
        ret.apply(ReturnAction::Edit, now)?;
        for (item, quantity) in items {
            if !ret.remove(item, *quantity) {
                return Err(AppError::Unprocessable("Cannot remove more items than available in the return".into()));
            }
        }
        ret.merchant_note = Some(edit_reason.to_owned());
        Ok(Vec::new())
    })
    .await
}

/// A shipment to attach: the parcel the items travel back in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentToAttach {
    /// Its number.
    pub tracking_number: String,
    /// Its courier.
    pub slug: String,
    /// The label's URL.
    pub label_url: String,
    /// What the label cost.
    pub total_charge: Option<Money>,
}

/// Attaches the return's shipment (at most one) to an approved return: it becomes a tracked
/// shipment of the tenant's (direction `return`, the order's `order_id`, linked by the
/// [`RETURN_FIELD`] custom field), whose status drives the return's `shipping_status`.
pub async fn attach_shipment(
    deps: &Deps,
    tenant: &TenantId,
    key: &ReturnKey,
    attach: ShipmentToAttach,
) -> Result<Return, AppError> {
    let ret = get_return(deps, tenant, key).await?;
    crate::domain::transition(ret.approval_status, ReturnAction::Handle)?;
    if !ret.shipments.is_empty() {
        return Err(DomainError::invalid("shipments", "shipments must contain at maximum 1 item").into());
    }
    let url = url::Url::parse(&attach.label_url).ok().filter(|u| matches!(u.scheme(), "https" | "http"));
    if url.is_none() || attach.label_url.len() > 2048 {
        return Err(DomainError::invalid("shipments[0].label.url", "must be an http or https URL").into());
    }
    if let Some(charge) = &attach.total_charge {
        charge.validate("shipments[0].label.total_charge")?;
    }
    let slug = Slug::parse(&attach.slug).map_err(|_| DomainError::invalid("shipments[0].slug", "is not a slug"))?;
    let number = TrackingNumber::parse(&attach.tracking_number)
        .map_err(|_| DomainError::invalid("shipments[0].tracking_number", "is not a tracking number"))?;
    let mut fields = serde_json::Map::new();
    fields.insert(RETURN_FIELD.to_owned(), serde_json::Value::String(ret.id.clone()));
    let details = ShipmentDetails {
        order_id: Some(ret.order_external_id.clone()),
        order_number: ret.order_number.clone(),
        title: Some(format!("Return {}", ret.rma_number)),
        custom_fields: Some(fields),
        shipment_direction: ShipmentDirection::Return,
        ..ShipmentDetails::default()
    };
    let new = NewTracking { slug: Some(slug), tracking_number: number, details, last_mile: None };
    let shipment = match super::super::create_tracking_from(deps, tenant, new, TrackingSource::Returns).await {
        Ok(shipment) => shipment,
        Err(AppError::Duplicate(id)) => super::super::get_tracking(deps, tenant, &id).await?,
        Err(other) => return Err(other),
    };
    let now = deps.clock.now();
    let attached = ReturnShipment {
        id: shipment.id.to_string(),
        tracking_number: shipment.tracking_number.as_str().to_owned(),
        slug: shipment.slug.as_str().to_owned(),
        label_url: Some(attach.label_url.clone()),
        total_charge: attach.total_charge.clone(),
        tracking_status: Some(shipment.tag),
        tracking_status_updated_at: Some(now),
        created_at: now,
    };
    let ret = change_return(deps, tenant, key, false, |ret| {
        ret.apply(ReturnAction::Handle, now)?;
        if !ret.shipments.is_empty() {
            return Err(DomainError::invalid("shipments", "shipments must contain at maximum 1 item").into());
        }
        ret.shipments.push(attached.clone());
        Ok(vec![WebhookEvent::ReturnShipmentUpdated])
    })
    .await?;
    tracing::info!(tenant_id = %tenant, return_id = ret.id, shipment_id = %shipment.id, "return shipment attached");
    Ok(ret)
}

/// The return a status change of a return shipment moves: its shipment's status and the
/// return's `shipping_status` follow, and `return.shipment.updated` is planned. Changes of
/// other shipments, and of returns already settled, do nothing.
pub async fn follow_shipment(deps: &Deps, change: &ChangeEvent) -> Result<Option<Return>, AppError> {
    let Some(new) = &change.new else { return Ok(None) };
    let Some(shipment) = deps.shipments.get(&change.tenant_id, &change.shipment_id).await? else { return Ok(None) };
    let Some(return_id) = return_of(&shipment) else { return Ok(None) };
    let key = ReturnKey::Id(return_id.to_owned());
    let now = deps.clock.now();
    let tag = new.tag;
    let moved = change_return(deps, &change.tenant_id, &key, false, |ret| {
        let Some(attached) = ret.shipments.iter_mut().find(|s| s.id == shipment.id.as_str()) else {
            return Ok(Vec::new());
        };
        if attached.tracking_status == Some(tag) {
            return Ok(Vec::new());
        }
        attached.tracking_status = Some(tag);
        attached.tracking_status_updated_at = Some(now);
        ret.updated_at = now;
        Ok(vec![WebhookEvent::ReturnShipmentUpdated])
    })
    .await;
    match moved {
        Ok(ret) => Ok(Some(ret)),
        Err(AppError::Missing(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The return a shipment carries goods of, by its [`RETURN_FIELD`].
pub fn return_of(shipment: &Shipment) -> Option<&str> {
    shipment.details.custom_fields.as_ref()?.get(RETURN_FIELD)?.as_str()
}

/// Expires the approved returns whose items never shipped within their days (at most
/// [`EXPIRY_BATCH`] a round); how many expired.
pub async fn expire_due(deps: &Deps) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let mut expired = 0;
    for due in deps.returns.due_expiries(now, EXPIRY_BATCH).await? {
        let key = ReturnKey::Id(due.id.clone());
        let moved = change_return(deps, &due.tenant_id, &key, false, |ret| {
            if ret.expires_at().is_none_or(|at| at > now) || ret.approval_status != ApprovalStatus::Approved {
                return Ok(Vec::new()); // shipped or settled since it was listed
            }
            ret.apply(ReturnAction::Expire, now)?;
            Ok(vec![WebhookEvent::ReturnExpired])
        })
        .await?;
        if moved.approval_status == ApprovalStatus::Expired && moved.expired_at == Some(now) {
            expired += 1;
            tracing::info!(tenant_id = %due.tenant_id, return_id = due.id, "return expired");
        }
    }
    Ok(expired)
}
