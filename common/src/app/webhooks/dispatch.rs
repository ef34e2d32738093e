//! Sending due webhook deliveries: signed, concurrently, each endpoint apart from the others.
//!
//! A [`Dispatcher`] leases due deliveries as it has room (at most [`MAX_IN_FLIGHT`] at once)
//! and sends each in its own task, so a slow endpoint holds only its own deliveries. An
//! endpoint takes at most [`PER_ENDPOINT`] at once; one that failed [`TRIP_AFTER`] times in a
//! row rests (30 s, doubling to 10 minutes) and its deliveries wait without spending attempts,
//! so a dead endpoint costs one probe per rest, not a timeout per event. Any 2xx delivers;
//! anything else is retried on AfterShip's schedule (see [`retry_delay`]) and after the last
//! attempt is a dead letter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Semaphore;

use super::{SigningEndpoint, signing_endpoints};
use crate::app::{AppError, Deps};
use crate::domain::{TenantId, VERSION_HEADER, WebhookEvent, retry_delay, sign_webhook, with_jitter};
use crate::ports::{AfterAttempt, Attempt, Delivery, HttpRequest};

/// Deliveries being sent at once, all endpoints together.
pub const MAX_IN_FLIGHT: usize = 256;
/// Deliveries being sent at once to one endpoint.
pub const PER_ENDPOINT: usize = 32;
/// Deliveries that may wait in a healthy endpoint's line (one whose last attempt did not
/// fail); a failing endpoint's line holds [`PER_ENDPOINT`]. Either way half the room or more
/// stays for the other endpoints.
const HEALTHY_LINE: usize = MAX_IN_FLIGHT / 2 - PER_ENDPOINT;
/// Failures in a row after which an endpoint rests.
pub const TRIP_AFTER: u32 = 5;
/// How long a leased delivery is held: longer than an attempt can take.
const LEASE: Duration = Duration::minutes(2);
/// How long endpoints (and their secrets) are cached.
const ENDPOINTS_FRESH: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest rest.
const MAX_REST: Duration = Duration::minutes(10);

/// What happened to one delivery's attempt (for tests and the caller's counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx came back.
    Delivered,
    /// It failed and will be tried again.
    Retrying,
    /// It failed for the last time, or its endpoint or event is gone.
    Dead,
    /// Not tried: its endpoint rests or is busy.
    Postponed,
}

#[derive(Debug)]
struct Health {
    /// [`PER_ENDPOINT`] places.
    places: Arc<Semaphore>,
    /// Deliveries waiting for a place.
    waiting: usize,
    failures: u32,
    rest_until: Option<DateTime<Utc>>,
    /// When an attempt last finished (or, before any did, the first was let in).
    progress_at: Option<DateTime<Utc>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            places: Arc::new(Semaphore::new(PER_ENDPOINT)),
            waiting: 0,
            failures: 0,
            rest_until: None,
            progress_at: None,
        }
    }
}

type EndpointKey = (TenantId, String);
/// A tenant's endpoints and when they were read.
type CachedEndpoints = (Instant, Arc<Vec<SigningEndpoint>>);

/// Sends due webhook deliveries. Share one per process (`Arc`); it is `Send + Sync`.
pub struct Dispatcher {
    deps: Deps,
    permits: Arc<Semaphore>,
    endpoints: Mutex<HashMap<TenantId, CachedEndpoints>>,
    health: Mutex<HashMap<EndpointKey, Health>>,
}

impl Dispatcher {
    /// A dispatcher over `deps` (its webhook store, `webhook_http` and clock).
    pub fn new(deps: Deps) -> Arc<Self> {
        Arc::new(Dispatcher {
            deps,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            endpoints: Mutex::default(),
            health: Mutex::default(),
        })
    }

    /// Deliveries being sent now.
    pub fn in_flight(&self) -> usize {
        MAX_IN_FLIGHT - self.permits.available_permits()
    }

    /// Leases as many due deliveries as there is room for and starts sending each; how many
    /// were started. Returns without waiting for them.
    pub async fn start_due(self: &Arc<Self>) -> Result<usize, AppError> {
        let room = self.permits.available_permits();
        if room == 0 {
            return Ok(0);
        }
        let leased = self.deps.webhooks.lease_due_deliveries(self.deps.clock.now(), LEASE, room).await?;
        let started = leased.len();
        for delivery in leased {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                break; // the rest wait for their lease to run out
            };
            let this = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(error) = this.deliver(&delivery).await {
                    tracing::error!(tenant_id = %delivery.tenant_id, delivery_id = delivery.id, error = %error, "webhook delivery not recorded");
                }
            });
        }
        Ok(started)
    }

    /// Waits until every started delivery has finished.
    pub async fn wait_idle(&self) {
        if let Ok(all) = self.permits.acquire_many(MAX_IN_FLIGHT as u32).await {
            drop(all);
        }
    }

    /// Starts due deliveries until none are due and none are being sent, or `budget` has
    /// passed; then waits for those started. How many were started. (The AWS function's run.)
    pub async fn run_for(self: &Arc<Self>, budget: std::time::Duration) -> Result<usize, AppError> {
        let started_at = Instant::now();
        let mut started = 0;
        while started_at.elapsed() < budget {
            let now_started = self.start_due().await?;
            started += now_started;
            if now_started == 0 {
                if self.in_flight() == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        self.wait_idle().await;
        Ok(started)
    }

    async fn endpoint(&self, tenant: &TenantId, id: &str) -> Result<Option<SigningEndpoint>, AppError> {
        let cached = self.endpoints.lock().expect("not poisoned").get(tenant).cloned();
        let endpoints = match cached {
            Some((read_at, endpoints)) if read_at.elapsed() < ENDPOINTS_FRESH => endpoints,
            _ => {
                let endpoints = Arc::new(signing_endpoints(&self.deps, tenant).await?);
                self.endpoints
                    .lock()
                    .expect("not poisoned")
                    .insert(tenant.clone(), (Instant::now(), endpoints.clone()));
                endpoints
            }
        };
        if let Some(found) = endpoints.iter().find(|e| e.endpoint.id == id) {
            return Ok(Some(found.clone()));
        }
        // Registered since the endpoints were cached, or deleted: the store decides.
        let endpoints = Arc::new(signing_endpoints(&self.deps, tenant).await?);
        self.endpoints.lock().expect("not poisoned").insert(tenant.clone(), (Instant::now(), endpoints.clone()));
        Ok(endpoints.iter().find(|e| e.endpoint.id == id).cloned())
    }

    /// Makes one attempt at `delivery` and records it.
    pub async fn deliver(&self, delivery: &Delivery) -> Result<Outcome, AppError> {
        let store = &self.deps.webhooks;
        let (tenant, id) = (&delivery.tenant_id, delivery.id.as_str());
        let now = self.deps.clock.now();
        let gone = |error: &str| Attempt { at: now, status: None, latency_ms: 0, error: Some(error.to_owned()) };
        let Some(endpoint) = self.endpoint(tenant, &delivery.endpoint_id).await? else {
            store.record_attempt(tenant, id, &gone("the endpoint was deleted"), AfterAttempt::Dead).await?;
            return Ok(Outcome::Dead);
        };
        let key = (tenant.clone(), delivery.endpoint_id.clone());
        let places = match self.admit(&key, now) {
            Ok(places) => places,
            Err(until) => {
                store.postpone_delivery(tenant, id, until).await?;
                return Ok(Outcome::Postponed);
            }
        };
        let _place = places.acquire_owned().await.expect("places are never closed");
        let rest = {
            let mut health = self.health.lock().expect("not poisoned");
            let state = health.entry(key.clone()).or_default();
            state.waiting = state.waiting.saturating_sub(1);
            state.rest_until.filter(|until| *until > self.deps.clock.now())
        };
        if let Some(until) = rest {
            // The endpoint failed its way into a rest while this one waited.
            store.postpone_delivery(tenant, id, until).await?;
            return Ok(Outcome::Postponed);
        }
        let now = self.deps.clock.now();
        let result = self.attempt(&endpoint, delivery, now).await;
        let (attempt, delivered) = match result {
            Ok(attempt) => {
                let delivered = attempt.status.is_some_and(|s| (200..300).contains(&s));
                (attempt, delivered)
            }
            Err(error) => {
                self.release(&key, false);
                return Err(error);
            }
        };
        self.release(&key, delivered);
        let next = if delivered {
            AfterAttempt::Delivered
        } else {
            match retry_delay(delivery.attempts_this_round() + 1) {
                Some(delay) => AfterAttempt::RetryAt(now + with_jitter(delay, unit_random())),
                None => AfterAttempt::Dead,
            }
        };
        store.record_attempt(tenant, id, &attempt, next).await?;
        let ended = match next {
            AfterAttempt::Delivered => Some(true),
            AfterAttempt::Dead => Some(false),
            AfterAttempt::RetryAt(_) => None,
        };
        crate::app::analytics::count_webhook_attempt(&self.deps, tenant, id, delivery.attempts.len() + 1, ended).await;
        Ok(match next {
            AfterAttempt::Delivered => Outcome::Delivered,
            AfterAttempt::RetryAt(_) => Outcome::Retrying,
            AfterAttempt::Dead => {
                tracing::warn!(tenant_id = %tenant, endpoint_id = delivery.endpoint_id, delivery_id = id, "webhook delivery dead");
                Outcome::Dead
            }
        })
    }

    /// Sends the event once. `Err` only when the store fails; a missing event is a failed
    /// attempt that ends the delivery.
    async fn attempt(
        &self,
        endpoint: &SigningEndpoint,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<Attempt, AppError> {
        let Some(event) = self.deps.webhooks.event(&delivery.tenant_id, &delivery.event_id).await? else {
            return Ok(Attempt {
                at: now,
                status: None,
                latency_ms: 0,
                error: Some("the event is no longer kept".into()),
            });
        };
        Ok(post(&self.deps, endpoint, event.event, event.body, now).await)
    }

    /// Joins the endpoint's line (the places to wait for), or answers until when its delivery
    /// must wait in the store: the endpoint rests, or its line is full.
    fn admit(&self, key: &EndpointKey, now: DateTime<Utc>) -> Result<Arc<Semaphore>, DateTime<Utc>> {
        let mut health = self.health.lock().expect("not poisoned");
        let state = health.entry(key.clone()).or_default();
        if let Some(until) = state.rest_until.filter(|until| *until > now) {
            return Err(until + Duration::milliseconds((unit_random() * 1000.0) as i64));
        }
        let line = if state.failures == 0 { HEALTHY_LINE } else { PER_ENDPOINT };
        if state.waiting >= line {
            // Back soon to an endpoint that keeps up, later to one that has answered nothing
            // for a while.
            let stalled = now - state.progress_at.unwrap_or(now);
            return Err(now + stalled.clamp(Duration::milliseconds(20), Duration::seconds(5)));
        }
        state.progress_at.get_or_insert(now);
        state.waiting += 1;
        Ok(state.places.clone())
    }

    /// Gives the place back, counting the attempt's outcome.
    fn release(&self, key: &EndpointKey, delivered: bool) {
        let now = self.deps.clock.now();
        let mut health = self.health.lock().expect("not poisoned");
        let state = health.entry(key.clone()).or_default();
        state.progress_at = Some(now);
        if delivered {
            state.failures = 0;
            state.rest_until = None;
        } else {
            state.failures += 1;
            if state.failures >= TRIP_AFTER {
                let rests = state.failures - TRIP_AFTER;
                let rest = (Duration::seconds(30) * (1 << rests.min(5))).min(MAX_REST);
                state.rest_until = Some(now + rest);
                if rests == 0 {
                    tracing::warn!(tenant_id = %key.0, endpoint_id = key.1, "webhook endpoint failing; resting it");
                }
            }
        }
    }
}

/// Posts `body` of `event` to `endpoint`, signed in the event's header; the attempt, started
/// `now`.
pub(super) async fn post(
    deps: &Deps,
    endpoint: &SigningEndpoint,
    event: WebhookEvent,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> Attempt {
    let signature = sign_webhook(&endpoint.secret, &body);
    let request = HttpRequest::post(endpoint.endpoint.url.clone(), body)
        .header("content-type", "application/json")
        .header(event.signature_header(), signature)
        .header(VERSION_HEADER.0, VERSION_HEADER.1);
    let started = Instant::now();
    let answer = deps.webhook_http.send(request).await;
    let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    match answer {
        Ok(response) => Attempt { at: now, status: Some(response.status), latency_ms, error: None },
        Err(error) => Attempt { at: now, status: None, latency_ms, error: Some(error.to_string()) },
    }
}

/// A number in `[0, 1)` from the OS random generator (jitter only).
fn unit_random() -> f64 {
    let bytes = crate::secrets::random_bytes::<4>();
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}
