//! Merchants' webhooks: endpoints (at most ten, their signing secrets sealed in one settings
//! document), events planned from status changes, test events, replays and the delivery log.
//! [`dispatch`] sends what is due.
//!
//! An event is planned once per status change: its id is derived from the change (shipment
//! and version), so the `status-changes` queue's duplicates and redeliveries plan nothing
//! twice, and its body is written once and kept, so every endpoint and every replay gets the
//! same bytes. Tenants that never registered an endpoint keep no events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AppError, Deps};
use crate::domain::{DomainError, MAX_ENDPOINTS, Shipment, TenantId, WebhookEvent, validate_target};
use crate::ports::{
    ChangeEvent, ChangeKind, Delivery, DeliveryState, ExceptionCase, MAX_REPLAY_EVENTS, SettingsKind, StoreError,
    WebhookEventRecord,
};
use crate::secrets::random_bytes;

pub mod dispatch;

/// How long one delivery attempt may take, connection included.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An endpoint as stored: the secret sealed under the deployment's key, base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEndpoint {
    id: String,
    url: String,
    events: Vec<WebhookEvent>,
    sealed_secret: String,
    created_at: DateTime<Utc>,
    #[serde(default = "default_pending_hours")]
    pending_hours: u32,
}

fn default_pending_hours() -> u32 {
    DEFAULT_PENDING_HOURS
}

/// Hours without news after which an endpoint taking `tracking_pending_time` hears of a
/// tracking, unless it says otherwise.
pub const DEFAULT_PENDING_HOURS: u32 = 72;

/// The tenant's endpoints document. Kept (maybe empty) once a first endpoint was registered:
/// its presence is what makes a tenant's events worth keeping.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredEndpoints {
    endpoints: Vec<StoredEndpoint>,
}

/// An endpoint as merchants see it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `wh_` and 16 hex digits.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The events it takes.
    pub events: Vec<WebhookEvent>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Hours without news before `tracking_pending_time` (1 to 720).
    pub pending_hours: u32,
}

/// An endpoint with its secret opened, for signing. `Debug` hides the secret.
#[derive(Clone)]
pub struct SigningEndpoint {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The signing secret.
    pub secret: String,
}

impl std::fmt::Debug for SigningEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningEndpoint").field("id", &self.endpoint.id).finish_non_exhaustive()
    }
}

impl StoredEndpoint {
    fn view(&self) -> Endpoint {
        Endpoint {
            id: self.id.clone(),
            url: self.url.clone(),
            events: self.events.clone(),
            created_at: self.created_at,
            pending_hours: self.pending_hours,
        }
    }
}

/// A registration: `url` and the `events` it takes (absent: `tracking_update`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointWrite {
    /// Where events are posted.
    pub url: Option<String>,
    /// The events it takes.
    pub events: Option<Vec<WebhookEvent>>,
    /// Hours without news before `tracking_pending_time` (default 72).
    pub pending_hours: Option<u32>,
}

async fn stored(deps: &Deps, tenant: &TenantId) -> Result<(Option<StoredEndpoints>, u64), AppError> {
    super::documents::read(deps, tenant, SettingsKind::WebhookEndpoints).await
}

/// Applies `change` to the tenant's endpoints and stores them; the change's result.
async fn change_endpoints<T>(
    deps: &Deps,
    tenant: &TenantId,
    change: impl Fn(&mut StoredEndpoints) -> Result<T, AppError>,
) -> Result<T, AppError> {
    super::documents::change(deps, tenant, SettingsKind::WebhookEndpoints, StoredEndpoints::default, change).await
}

/// A new signing secret: 32 random bytes, hex.
fn new_secret() -> String {
    hex::encode(random_bytes::<32>())
}

fn seal(deps: &Deps, secret: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(deps.secrets.seal(secret.as_bytes()))
}

/// Seals the tenant's endpoints' signing secrets again under the current key (see
/// [`super::rotation`]), in one versioned write of the endpoints, or none when no secret needs
/// it.
pub(crate) async fn reseal(
    deps: &Deps,
    tenant: &TenantId,
    tally: &mut super::rotation::ResealTally,
) -> Result<(), AppError> {
    use super::rotation::{ResealTally, Resealed, reseal};
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let outcome = |endpoint: &StoredEndpoint| match engine.decode(&endpoint.sealed_secret) {
        Ok(sealed) => reseal(deps, &sealed),
        Err(_) => Resealed::Unreadable,
    };
    let (Some(endpoints), _) = stored(deps, tenant).await? else { return Ok(()) };
    if endpoints.endpoints.iter().all(|e| !matches!(outcome(e), Resealed::Again(_))) {
        for endpoint in &endpoints.endpoints {
            tally.count(outcome(endpoint));
        }
        return Ok(());
    }
    let counted = change_endpoints(deps, tenant, |stored| {
        let mut counted = ResealTally::default();
        for endpoint in &mut stored.endpoints {
            if let Some(sealed) = counted.count(outcome(endpoint)) {
                endpoint.sealed_secret = engine.encode(sealed);
            }
        }
        Ok(counted)
    })
    .await?;
    tally.resealed += counted.resealed;
    tally.current += counted.current;
    tally.unreadable += counted.unreadable;
    Ok(())
}

fn open(deps: &Deps, endpoint: &StoredEndpoint) -> Result<String, AppError> {
    use base64::Engine;
    let corrupt = || AppError::Corrupt(format!("webhook endpoint {} secret", endpoint.id));
    let sealed = base64::engine::general_purpose::STANDARD.decode(&endpoint.sealed_secret).map_err(|_| corrupt())?;
    let plain = deps.secrets.open(&sealed).map_err(|_| corrupt())?;
    String::from_utf8(plain).map_err(|_| corrupt())
}

/// Registers an endpoint: its target checked (see [`validate_target`]), its events deduplicated.
/// Answers it with its signing secret, which is shown this once.
pub async fn create_endpoint(
    deps: &Deps,
    tenant: &TenantId,
    write: EndpointWrite,
) -> Result<(Endpoint, String), AppError> {
    let url = write.url.ok_or(AppError::Required("url"))?;
    validate_target(&url, deps.webhook_targets)?;
    let mut events = write.events.unwrap_or_else(|| vec![WebhookEvent::TrackingUpdate]);
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(DomainError::invalid("events", "must name at least one event").into());
    }
    let pending_hours = write.pending_hours.unwrap_or(DEFAULT_PENDING_HOURS);
    if !(1..=720).contains(&pending_hours) {
        return Err(DomainError::invalid("pending_hours", "must be from 1 to 720").into());
    }
    let secret = new_secret();
    let endpoint = StoredEndpoint {
        pending_hours,
        id: format!("wh_{}", hex::encode(random_bytes::<8>())),
        url,
        events,
        sealed_secret: seal(deps, &secret),
        created_at: deps.clock.now(),
    };
    change_endpoints(deps, tenant, |stored| {
        if stored.endpoints.len() >= MAX_ENDPOINTS {
            return Err(DomainError::invalid(
                "url",
                format!("a merchant may register at most {MAX_ENDPOINTS} endpoints"),
            )
            .into());
        }
        if stored.endpoints.iter().any(|e| e.url == endpoint.url) {
            return Err(DomainError::invalid("url", "is registered already").into());
        }
        stored.endpoints.push(endpoint.clone());
        Ok(())
    })
    .await?;
    tracing::info!(tenant_id = %tenant, endpoint_id = endpoint.id, "webhook endpoint registered");
    Ok((endpoint.view(), secret))
}

/// The tenant's endpoints, oldest first.
pub async fn list_endpoints(deps: &Deps, tenant: &TenantId) -> Result<Vec<Endpoint>, AppError> {
    let (stored, _) = stored(deps, tenant).await?;
    Ok(stored.unwrap_or_default().endpoints.iter().map(StoredEndpoint::view).collect())
}

/// The tenant's endpoints with their secrets opened, for the dispatcher.
pub async fn signing_endpoints(deps: &Deps, tenant: &TenantId) -> Result<Vec<SigningEndpoint>, AppError> {
    let (stored, _) = stored(deps, tenant).await?;
    stored
        .unwrap_or_default()
        .endpoints
        .iter()
        .map(|e| Ok(SigningEndpoint { endpoint: e.view(), secret: open(deps, e)? }))
        .collect()
}

const NO_ENDPOINT: AppError = AppError::Missing("webhook endpoint");

/// Removes an endpoint. Its pending deliveries become dead letters when next due.
pub async fn delete_endpoint(deps: &Deps, tenant: &TenantId, id: &str) -> Result<(), AppError> {
    change_endpoints(deps, tenant, |stored| {
        let before = stored.endpoints.len();
        stored.endpoints.retain(|e| e.id != id);
        if stored.endpoints.len() == before { Err(NO_ENDPOINT) } else { Ok(()) }
    })
    .await?;
    tracing::info!(tenant_id = %tenant, endpoint_id = id, "webhook endpoint deleted");
    Ok(())
}

/// Gives an endpoint a new signing secret, answered this once; deliveries are signed with it
/// from the dispatcher's next look at the endpoints (within seconds).
pub async fn rotate_secret(deps: &Deps, tenant: &TenantId, id: &str) -> Result<(Endpoint, String), AppError> {
    let secret = new_secret();
    let sealed = seal(deps, &secret);
    let endpoint = change_endpoints(deps, tenant, |stored| {
        let endpoint = stored.endpoints.iter_mut().find(|e| e.id == id).ok_or(NO_ENDPOINT)?;
        endpoint.sealed_secret = sealed.clone();
        Ok(endpoint.view())
    })
    .await?;
    tracing::info!(tenant_id = %tenant, endpoint_id = id, "webhook secret rotated");
    Ok((endpoint, secret))
}

/// The tenant's endpoint `id`, with its secret.
pub async fn signing_endpoint(deps: &Deps, tenant: &TenantId, id: &str) -> Result<SigningEndpoint, AppError> {
    signing_endpoints(deps, tenant).await?.into_iter().find(|e| e.endpoint.id == id).ok_or(NO_ENDPOINT)
}

/// An event id in UUID v4 form derived from what identifies the event, so the same event
/// always gets the same id.
fn event_uuid(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Records the events a change makes, and plans their delivery to every endpoint that takes
/// them; how many deliveries were planned now. An update that moved the status or sub-status
/// is a `tracking_update` (creations, deletions and expiries are not); one that moved the
/// latest estimated delivery date is an `edd_revise`. A tenant without endpoints keeps
/// nothing.
pub async fn plan_webhooks(deps: &Deps, change: &ChangeEvent) -> Result<usize, AppError> {
    let status = change.kind == ChangeKind::Updated && super::fanout::is_status_change(change);
    let revised = super::fanout::is_edd_revision(change);
    if !status && !revised {
        return Ok(0);
    }
    let (Some(old), Some(new)) = (&change.old, &change.new) else { return Ok(0) };
    let tenant = &change.tenant_id;
    let (Some(stored), _) = stored(deps, tenant).await? else { return Ok(0) };
    let Some(shipment) = deps.shipments.get(tenant, &change.shipment_id).await? else { return Ok(0) };
    let mut planned = 0;
    let events =
        [(WebhookEvent::TrackingUpdate, status, old.tag != new.tag), (WebhookEvent::EddRevise, revised, false)];
    for (event, happened, first_tag) in events {
        let takers: Vec<&StoredEndpoint> = stored.endpoints.iter().filter(|e| e.events.contains(&event)).collect();
        if !happened || (event == WebhookEvent::EddRevise && takers.is_empty()) {
            continue;
        }
        let event_id =
            event_uuid(&[tenant.as_str(), change.shipment_id.as_str(), event.as_str(), &new.version.to_string()]);
        let new_event = NewEvent { event, event_id, at: change.at, first_tag, exception: None };
        planned += record_and_plan(deps, &shipment, new_event, &takers).await?;
    }
    Ok(planned)
}

/// Records the `tracking_pending_time` event of an active `shipment` for the endpoints whose
/// `pending_hours` have passed since its last news, and plans their deliveries (the scheduled
/// scan calls it). One event per quiet spell: new news starts another.
pub async fn plan_pending_time(deps: &Deps, shipment: &Shipment) -> Result<usize, AppError> {
    if !shipment.active {
        return Ok(0);
    }
    let tenant = &shipment.tenant_id;
    let (Some(stored), _) = stored(deps, tenant).await? else { return Ok(0) };
    let event = WebhookEvent::TrackingPendingTime;
    let quiet_for = deps.clock.now() - shipment.last_news_at();
    let takers: Vec<&StoredEndpoint> = stored
        .endpoints
        .iter()
        .filter(|e| e.events.contains(&event) && quiet_for >= chrono::Duration::hours(i64::from(e.pending_hours)))
        .collect();
    if takers.is_empty() {
        return Ok(0);
    }
    let spell = shipment.last_news_at().timestamp_micros().to_string();
    let event_id = event_uuid(&[tenant.as_str(), shipment.id.as_str(), event.as_str(), &spell]);
    let new = NewEvent { event, event_id, at: deps.clock.now(), first_tag: false, exception: None };
    record_and_plan(deps, shipment, new, &takers).await
}

/// Records the `exception_case` event of a case just opened (or reopened) for `shipment`, and
/// plans its delivery to the endpoints that take it (the merchant's team); how many were
/// planned now. One event per opening: a reopened case is another event.
pub async fn plan_exception_case(deps: &Deps, shipment: &Shipment, case: &ExceptionCase) -> Result<usize, AppError> {
    let tenant = &shipment.tenant_id;
    let (Some(stored), _) = stored(deps, tenant).await? else { return Ok(0) };
    let event = WebhookEvent::ExceptionCase;
    let takers: Vec<&StoredEndpoint> = stored.endpoints.iter().filter(|e| e.events.contains(&event)).collect();
    if takers.is_empty() {
        return Ok(0);
    }
    let opening = case.reopened.to_string();
    let event_id = event_uuid(&[tenant.as_str(), shipment.id.as_str(), event.as_str(), &case.id, &opening]);
    let new = NewEvent { event, event_id, at: case.updated_at, first_tag: false, exception: Some(case) };
    record_and_plan(deps, shipment, new, &takers).await
}

/// Records `event` of return `ret` (as written at its version) and plans its delivery to every
/// endpoint that takes it, with AfterShip Returns' body `{id, created_at, event, data}`
/// (`data` from `view`, the return as the Returns API shows it); how many were planned now.
/// Once per return version and event: a redelivered change plans nothing twice.
pub async fn plan_return_event(
    deps: &Deps,
    ret: &crate::domain::Return,
    event: WebhookEvent,
    view: impl FnOnce() -> serde_json::Value,
) -> Result<usize, AppError> {
    let tenant = &ret.tenant_id;
    let (Some(stored), _) = stored(deps, tenant).await? else { return Ok(0) };
    let takers: Vec<&StoredEndpoint> = stored.endpoints.iter().filter(|e| e.events.contains(&event)).collect();
    if takers.is_empty() {
        return Ok(0);
    }
    let event_id = event_uuid(&[tenant.as_str(), &ret.id, event.as_str(), &ret.version.to_string()]);
    let record = match deps.webhooks.event(tenant, &event_id).await? {
        Some(kept) => kept,
        None => {
            let at = ret.updated_at;
            let body = serde_json::json!({
                "id": event_id.replace('-', ""),
                "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "event": event.as_str(),
                "data": view(),
            });
            let body = serde_json::to_vec(&body).map_err(|e| AppError::Internal(e.to_string()))?;
            let record =
                WebhookEventRecord { tenant_id: tenant.clone(), event_id, event, at, subject: ret.id.clone(), body };
            deps.webhooks.record_event(&record).await?;
            record
        }
    };
    plan_deliveries(deps, &record, &takers).await
}

/// An event about to be kept: what it is, its id, when, and what its body says beyond the
/// tracking.
struct NewEvent<'a> {
    event: WebhookEvent,
    event_id: String,
    at: DateTime<Utc>,
    first_tag: bool,
    exception: Option<&'a ExceptionCase>,
}

/// Keeps the event (once; a kept one keeps its body) and plans its delivery to each of
/// `endpoints`; how many were planned now.
async fn record_and_plan(
    deps: &Deps,
    shipment: &Shipment,
    new: NewEvent<'_>,
    endpoints: &[&StoredEndpoint],
) -> Result<usize, AppError> {
    let tenant = &shipment.tenant_id;
    let record = match deps.webhooks.event(tenant, &new.event_id).await? {
        Some(kept) => kept,
        None => {
            let page = super::pages::page_address(deps, tenant).await?;
            let body = crate::api::wire::webhook_body(
                shipment,
                page.as_deref(),
                new.event,
                &new.event_id,
                new.at,
                new.first_tag,
                new.exception,
            );
            let record = WebhookEventRecord {
                tenant_id: tenant.clone(),
                event_id: new.event_id,
                event: new.event,
                at: new.at,
                subject: shipment.id.to_string(),
                body,
            };
            deps.webhooks.record_event(&record).await?;
            record
        }
    };
    plan_deliveries(deps, &record, endpoints).await
}

/// Plans the delivery of a kept event to each of `endpoints`; how many were planned now.
async fn plan_deliveries(
    deps: &Deps,
    record: &WebhookEventRecord,
    endpoints: &[&StoredEndpoint],
) -> Result<usize, AppError> {
    let now = deps.clock.now();
    let mut planned = 0;
    for endpoint in endpoints {
        if deps.webhooks.plan_delivery(&Delivery::new(record, &endpoint.id, "", now)).await? {
            planned += 1;
        }
    }
    Ok(planned)
}

/// Plans, for `endpoint`, another delivery of every event of the tenant's between `from`
/// (inclusive) and `to` that it takes: an endpoint that was down, or deleted and registered
/// again, catches up. How many were planned; at most [`MAX_REPLAY_EVENTS`] events per replay.
pub async fn replay_range(
    deps: &Deps,
    tenant: &TenantId,
    endpoint: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize, AppError> {
    if from >= to {
        return Err(DomainError::invalid("from", "must be before to").into());
    }
    let endpoint = signing_endpoint(deps, tenant, endpoint).await?.endpoint;
    let events = deps.webhooks.events_between(tenant, from, to, MAX_REPLAY_EVENTS + 1).await?;
    if events.len() > MAX_REPLAY_EVENTS {
        return Err(DomainError::invalid(
            "to",
            format!("the range holds more than {MAX_REPLAY_EVENTS} events; replay a shorter one"),
        )
        .into());
    }
    let replay = format!("replay-{}", uuid::Uuid::new_v4());
    let now = deps.clock.now();
    let mut planned = 0;
    for event in events.iter().filter(|e| endpoint.events.contains(&e.event)) {
        if deps.webhooks.plan_delivery(&Delivery::new(event, &endpoint.id, &replay, now)).await? {
            planned += 1;
        }
    }
    tracing::info!(tenant_id = %tenant, endpoint_id = endpoint.id, planned, "webhook events replayed");
    Ok(planned)
}

/// Sends a dead delivery again, its retries counted afresh.
pub async fn replay_dead(deps: &Deps, tenant: &TenantId, delivery: &str) -> Result<Delivery, AppError> {
    match deps.webhooks.replay_dead(tenant, delivery, deps.clock.now()).await {
        Ok(()) => deps.webhooks.delivery(tenant, delivery).await?.ok_or(AppError::Missing("dead delivery")),
        Err(StoreError::NotFound) => Err(AppError::Missing("dead delivery")),
        Err(other) => Err(other.into()),
    }
}

/// An endpoint's deliveries, newest first (see [`crate::ports::WebhookStore::endpoint_deliveries`]).
pub async fn endpoint_deliveries(
    deps: &Deps,
    tenant: &TenantId,
    endpoint: &str,
    state: Option<DeliveryState>,
    before: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<Delivery>, AppError> {
    signing_endpoint(deps, tenant, endpoint).await?;
    Ok(deps.webhooks.endpoint_deliveries(tenant, endpoint, state, before, limit).await?)
}

/// Posts a test event to an endpoint now, signed as any other (a `tracking_update` of a sample
/// parcel, with a fresh `event_id`); the attempt's outcome. Not kept or retried.
pub async fn send_test(deps: &Deps, tenant: &TenantId, endpoint: &str) -> Result<crate::ports::Attempt, AppError> {
    let endpoint = signing_endpoint(deps, tenant, endpoint).await?;
    let now = deps.clock.now();
    let sample = super::notifications::sample_shipment(tenant, now)?;
    let page = super::pages::page_address(deps, tenant).await?;
    let event_id = uuid::Uuid::new_v4().to_string();
    let body = crate::api::wire::webhook_body(
        &sample,
        page.as_deref(),
        WebhookEvent::TrackingUpdate,
        &event_id,
        now,
        true,
        None,
    );
    let attempt = dispatch::post(deps, &endpoint, WebhookEvent::TrackingUpdate, body, now).await;
    tracing::info!(tenant_id = %tenant, endpoint_id = endpoint.endpoint.id, status = attempt.status, "webhook test sent");
    Ok(attempt)
}

#[cfg(test)]
mod tests;
