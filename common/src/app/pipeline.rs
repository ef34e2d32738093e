//! The carrier pipeline: webhook intake, the `carrier-updates` consumer, and the poller.
//!
//! Intake authenticates and enqueues the raw payload (nothing is parsed on the hot path). The
//! consumer parses, merges into every shipment with that leg, and sets unparseable payloads
//! aside in quarantine with the reason, so one bad message never blocks the queue. The poller
//! asks carriers about shipments that are due, within each carrier's rate limit, and enqueues
//! what they answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};
use tracing::Instrument;

use super::{AppError, Deps, update_tracking};
use crate::carriers::{CarrierAdapter, CarrierError, Credentials, PollTarget, TrackingUpdate};
use crate::domain::{PollOutcome, Shipment, ShipmentId, Slug, TenantId};
use crate::ports::{QueueName, StoreError};

/// How long a consumer may hold a message before another may take it.
const LEASE_SECONDS: i64 = 60;
/// Most events one carrier message (a push or a poll answer) may carry; a larger one is
/// quarantined rather than merged (a parcel's whole journey is tens of events).
pub const MAX_EVENTS_PER_MESSAGE: usize = 1000;
/// Deliveries of a message that keeps failing for a retryable reason before it is set aside.
pub const MAX_RECEIVES: u32 = 8;

/// A message on the `carrier-updates` queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CarrierMessage {
    /// A raw webhook body, as the carrier sent it.
    Webhook {
        /// The carrier.
        slug: String,
        /// When Porchlight accepted it.
        received_at: DateTime<Utc>,
        /// The body (invalid UTF-8 replaced; such a body is quarantined).
        body: String,
        /// Whether the body was valid UTF-8.
        #[serde(default = "yes")]
        utf8: bool,
    },
    /// Updates a poll parsed already.
    Updates {
        /// The carrier.
        slug: String,
        /// When the carrier answered.
        received_at: DateTime<Utc>,
        /// What it said.
        updates: Vec<TrackingUpdate>,
    },
}

fn yes() -> bool {
    true
}

/// Counters an operator watches.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Webhooks accepted.
    pub webhooks_accepted: AtomicU64,
    /// Webhooks refused for a missing or wrong signature.
    pub webhooks_unauthenticated: AtomicU64,
    /// Messages set aside in quarantine.
    pub quarantined: AtomicU64,
    /// Times a shipment that does not read back was skipped (by a carrier update or a poll),
    /// so that it stops no other shipment; each is logged with its ids.
    pub unreadable_shipments: AtomicU64,
}

/// Logs and counts a shipment that does not read back, which the pipeline then skips.
fn skip_unreadable(deps: &Deps, tenant: &TenantId, id: &ShipmentId, what: &str) {
    let total = deps.stats.unreadable_shipments.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::error!(tenant_id = %tenant, shipment_id = %id, error = what, total, "unreadable shipment skipped");
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No adapter takes pushes for this slug.
    #[error("carrier {0:?} does not push webhooks to porchlight")]
    UnknownCarrier(String),
    /// The signature is missing or wrong, or no secret is configured to check it against.
    #[error("unauthenticated webhook")]
    Unauthorized,
    /// The queue could not store it; the carrier should retry.
    #[error("queue unavailable")]
    Queue(#[source] StoreError),
}

/// Authenticates a carrier's push and stores it durably on the `carrier-updates` queue.
/// Returns the message id once it is stored; parsing happens behind the queue.
pub async fn accept_webhook(
    deps: &Deps,
    slug: &str,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<u64, IntakeError> {
    let auth = deps
        .carriers
        .get(slug)
        .and_then(|adapter| adapter.webhook_auth())
        .ok_or_else(|| IntakeError::UnknownCarrier(slug.to_owned()))?;
    let verified = deps.webhook_secrets.0.get(slug).is_some_and(|secret| auth.verify(secret, header, body));
    if !verified {
        let refused = deps.stats.webhooks_unauthenticated.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(slug, refused_total = refused, "unauthenticated carrier webhook refused");
        return Err(IntakeError::Unauthorized);
    }
    let (body, utf8) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), true),
        Err(_) => (String::from_utf8_lossy(body).into_owned(), false),
    };
    let message = CarrierMessage::Webhook { slug: slug.to_owned(), received_at: deps.clock.now(), body, utf8 };
    let encoded = serde_json::to_vec(&message).expect("carrier messages serialize");
    let ids = deps.queue.send_batch(QueueName::CarrierUpdates, &[encoded]).await.map_err(IntakeError::Queue)?;
    deps.stats.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
    Ok(ids[0])
}

/// What one round of the consumer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// Messages handled and acknowledged.
    pub handled: usize,
    /// Of those, updates about numbers no shipment has.
    pub unmatched: usize,
    /// Messages set aside in quarantine.
    pub quarantined: usize,
    /// Messages put back for a later retry.
    pub retried: usize,
}

/// What became of one delivered carrier message.
#[derive(Debug)]
pub enum MessageOutcome {
    /// Merged (or about numbers nobody tracks): acknowledge it.
    Handled {
        /// How many of its updates reached no shipment.
        unmatched: usize,
    },
    /// Will never succeed: set it aside with the reason.
    Quarantine(String),
    /// May succeed later: deliver it again after `delay`.
    Retry {
        /// Why it failed this time.
        error: AppError,
        /// When to try again.
        delay: Duration,
    },
}

/// Handles one delivered `carrier-updates` message: parses it and merges its updates. A
/// message that keeps failing is quarantined after [`MAX_RECEIVES`] deliveries. Idempotent.
/// The caller acknowledges, quarantines or releases it as the outcome says (the embedded
/// consumer through the [`crate::ports::WorkQueue`], Lambda through its batch response).
pub async fn handle_carrier_message(deps: &Deps, message: &crate::ports::Received) -> MessageOutcome {
    let span = tracing::info_span!("carrier_message", message_id = message.id);
    match handle_message(deps, &message.body).instrument(span).await {
        Ok(unmatched) => MessageOutcome::Handled { unmatched },
        Err(Failure::Quarantine(reason)) => {
            tracing::warn!(message_id = message.id, reason = %reason, "carrier message quarantined");
            deps.stats.quarantined.fetch_add(1, Ordering::Relaxed);
            MessageOutcome::Quarantine(reason)
        }
        Err(Failure::Retry(error)) if message.receive_count >= MAX_RECEIVES => {
            tracing::error!(message_id = message.id, error = %error, "carrier message failed repeatedly");
            deps.stats.quarantined.fetch_add(1, Ordering::Relaxed);
            MessageOutcome::Quarantine(format!("gave up after {} attempts: {error}", message.receive_count))
        }
        Err(Failure::Retry(error)) => {
            tracing::warn!(message_id = message.id, error = %error, "carrier message will be retried");
            MessageOutcome::Retry { error, delay: Duration::seconds(2i64.pow(message.receive_count.min(8))) }
        }
    }
}

enum Failure {
    /// Will never succeed: set aside with the reason.
    Quarantine(String),
    /// May succeed later.
    Retry(AppError),
}

/// Takes up to `max` messages off `carrier-updates`, merges them into shipments, and
/// acknowledges, retries or quarantines each. Idempotent: a message handled twice merges the
/// same checkpoints again, which changes nothing.
pub async fn process_carrier_updates(deps: &Deps, max: usize) -> Result<ProcessReport, AppError> {
    let queue = QueueName::CarrierUpdates;
    let messages = deps.queue.receive(queue, max, Duration::seconds(LEASE_SECONDS)).await?;
    let mut report = ProcessReport::default();
    for message in messages {
        match handle_carrier_message(deps, &message).await {
            MessageOutcome::Handled { unmatched } => {
                deps.queue.ack(queue, message.id).await?;
                report.handled += 1;
                report.unmatched += unmatched;
            }
            MessageOutcome::Quarantine(reason) => {
                deps.queue.dead_letter(queue, message.id, &reason).await?;
                report.quarantined += 1;
            }
            MessageOutcome::Retry { delay, .. } => {
                deps.queue.release(queue, message.id, delay).await?;
                report.retried += 1;
            }
        }
    }
    Ok(report)
}

async fn handle_message(deps: &Deps, body: &[u8]) -> Result<usize, Failure> {
    let message: CarrierMessage =
        serde_json::from_slice(body).map_err(|e| Failure::Quarantine(format!("not a carrier message: {e}")))?;
    let updates = match message {
        CarrierMessage::Updates { updates, .. } => updates,
        CarrierMessage::Webhook { utf8: false, .. } => {
            return Err(Failure::Quarantine("webhook body is not UTF-8".into()));
        }
        CarrierMessage::Webhook { slug, body, .. } => {
            let adapter = deps
                .carriers
                .get(&slug)
                .ok_or_else(|| Failure::Quarantine(format!("no adapter for carrier {slug:?}")))?;
            adapter.parse_webhook(body.as_bytes()).map_err(|e| Failure::Quarantine(e.to_string()))?
        }
    };
    let events: usize = updates.iter().map(|update| update.events.len()).sum();
    if events > MAX_EVENTS_PER_MESSAGE {
        return Err(Failure::Quarantine(format!(
            "a carrier message of {events} events; at most {MAX_EVENTS_PER_MESSAGE} are taken"
        )));
    }
    let mut unmatched = 0;
    for update in &updates {
        match apply_tracking_update(deps, update).await {
            Ok(0) => unmatched += 1,
            Ok(_) => {}
            Err(error) if error.is_retryable() => return Err(Failure::Retry(error)),
            Err(other) => return Err(Failure::Quarantine(other.to_string())),
        }
    }
    Ok(unmatched)
}

/// Merges a carrier's update into every shipment, of any tenant, with that leg; a reported
/// handover becomes the shipment's last-mile leg (polled at once). Returns how many shipments
/// it reached. Idempotent.
pub async fn apply_tracking_update(deps: &Deps, update: &TrackingUpdate) -> Result<usize, AppError> {
    let legs = deps.shipments.find_legs(&update.slug, &update.tracking_number).await?;
    let mut reached = 0;
    for (tenant, id) in legs {
        let now = deps.clock.now();
        let result = update_tracking(deps, &tenant, &id, |shipment| {
            merge_update(shipment, update, now);
            Ok(())
        })
        .await;
        match result {
            Ok(shipment) => {
                tracing::info!(tenant_id = %tenant, shipment_id = %id, tag = %shipment.tag, "carrier update merged");
                reached += 1;
            }
            // Deleted between lookup and write.
            Err(AppError::NotFound) => {}
            // One merchant's unreadable shipment must not keep the update from the others.
            Err(AppError::Corrupt(what)) => skip_unreadable(deps, &tenant, &id, &what),
            Err(other) => return Err(other),
        }
    }
    Ok(reached)
}

/// Merges `update` into `shipment`: its events, and a reported handover as the last-mile leg
/// (polled at once).
fn merge_update(shipment: &mut Shipment, update: &TrackingUpdate, now: DateTime<Utc>) {
    if let Some(leg) = &update.handover
        && shipment.last_mile.is_none()
        && !shipment.has_leg(&leg.slug, &leg.tracking_number)
    {
        shipment.last_mile = Some(leg.clone());
        shipment.next_poll_at = Some(now);
    }
    shipment.merge(update.events.iter().cloned(), now);
}

/// Whether `change` would change `shipment` as of `now` (a poll answer that repeats what is
/// known is not worth queueing; a quiet poll is not worth writing).
fn would_change(deps: &Deps, shipment: &Shipment, now: DateTime<Utc>, change: impl FnOnce(&mut Shipment)) -> bool {
    let applied = super::trackings::apply_change(deps, shipment, now, |s| {
        change(s);
        Ok(())
    });
    applied.is_ok_and(|(_, worth_writing)| worth_writing)
}

/// Pacing and concurrency per carrier, shared by every poll round of a process.
#[derive(Default)]
pub struct CarrierLimiters {
    limiters: Mutex<HashMap<&'static str, Arc<Limiter>>>,
}

struct Limiter {
    in_flight: Semaphore,
    next_start: Mutex<tokio::time::Instant>,
    spacing: std::time::Duration,
}

impl CarrierLimiters {
    async fn limiter(&self, adapter: &dyn CarrierAdapter) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().await;
        let limit = adapter.rate_limit();
        Arc::clone(limiters.entry(adapter.slug()).or_insert_with(|| {
            Arc::new(Limiter {
                in_flight: Semaphore::new(limit.concurrency.max(1)),
                next_start: Mutex::new(tokio::time::Instant::now()),
                spacing: std::time::Duration::from_secs_f64(1.0 / f64::from(limit.per_second.max(1))),
            })
        }))
    }
}

impl Limiter {
    /// Waits for a free slot and for the pacing interval since the previous start.
    async fn acquire(&self) -> tokio::sync::SemaphorePermit<'_> {
        let permit = self.in_flight.acquire().await.expect("the semaphore is never closed");
        let start = {
            let mut next = self.next_start.lock().await;
            let start = (*next).max(tokio::time::Instant::now());
            *next = start + self.spacing;
            start
        };
        tokio::time::sleep_until(start).await;
        permit
    }
}

/// The carriers this deployment follows on its own, with no merchant connection: those it
/// can poll (no credentials needed, or the operator's account covers them) and those whose
/// webhooks it can verify (a secret is set), each by slug. Merchants' own connections add to
/// the first.
pub fn carriers_tracked_live(deps: &Deps) -> (Vec<&'static str>, Vec<&'static str>) {
    let adapters = || deps.carriers.slugs().filter_map(|slug| deps.carriers.get(slug));
    let polled = adapters()
        .filter(|adapter| adapter.polls())
        .filter(|adapter| {
            let operator = deps.carrier_credentials.get(adapter.slug()).cloned().unwrap_or_default();
            operator.cover(adapter.credential_fields())
        })
        .map(|adapter| adapter.slug())
        .collect();
    let pushed = adapters()
        .filter(|adapter| adapter.webhook_auth().is_some() && deps.webhook_secrets.0.contains_key(adapter.slug()))
        .map(|adapter| adapter.slug())
        .collect();
    (polled, pushed)
}

/// What one poll round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// Shipments whose carrier was asked.
    pub shipments: usize,
    /// Requests made (batches).
    pub requests: usize,
    /// Requests that failed.
    pub failed_requests: usize,
}

struct LegToPoll {
    owner: (TenantId, ShipmentId),
    target: PollTarget,
}

/// Polls the shipments due in a run covering (`after`, now], in rounds of at most `max`: their
/// legs, grouped per carrier into batches the carrier allows, within its rate limit and
/// concurrency. Answers that bring news go on the queue. A poll is written only when it
/// changes the shipment's schedule (a first or requested poll, a failure and its back-off);
/// a quiet poll on the cadence costs no write.
pub async fn poll_due(
    deps: &Deps,
    limiters: &CarrierLimiters,
    after: DateTime<Utc>,
    max: usize,
) -> Result<PollReport, AppError> {
    let due = deps.shipments.due_for_poll(after, deps.clock.now(), &deps.poll_policy.cadences()).await?;
    let mut report = PollReport::default();
    for round in due.chunks(max.max(1)) {
        poll_round(deps, limiters, round, &mut report).await?;
    }
    Ok(report)
}

async fn poll_round(
    deps: &Deps,
    limiters: &CarrierLimiters,
    due: &[(TenantId, ShipmentId)],
    report: &mut PollReport,
) -> Result<(), AppError> {
    // Legs grouped per carrier and per account: a merchant's own connection, or the operator's.
    let mut groups: BTreeMap<(String, Option<String>), Vec<LegToPoll>> = BTreeMap::new();
    let mut accounts: BTreeMap<(String, Option<String>), Credentials> = BTreeMap::new();
    let mut shipments = 0;
    // The shipments as read, to leave out of the answers what they already know.
    let mut known: HashMap<(TenantId, ShipmentId), Shipment> = HashMap::new();
    // Each merchant's connection for a carrier is looked up once a round.
    type Lookup = (TenantId, Slug, Option<String>);
    let mut connections: HashMap<Lookup, Option<(String, Credentials)>> = HashMap::new();
    for (tenant, id) in due {
        // Eventually consistent is enough: what the poll records is written under the
        // shipment's version, after a consistent read.
        let shipment = match deps.shipments.get_eventually(tenant, id).await {
            Ok(Some(shipment)) => shipment,
            Ok(None) => continue,
            // One unreadable shipment must not stop the round for every merchant.
            Err(StoreError::Corrupt(what)) => {
                skip_unreadable(deps, tenant, id, &what);
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        shipments += 1;
        known.insert((tenant.clone(), id.clone()), shipment.clone());
        for (slug, number) in legs_to_poll(&shipment) {
            let connection = shipment.details.courier_connection_id.clone();
            let lookup = (tenant.clone(), slug.clone(), connection.clone());
            let found = match connections.get(&lookup) {
                Some(found) => found.clone(),
                None => {
                    let found = super::connections::credentials_for(deps, tenant, &slug, connection.as_deref()).await?;
                    connections.insert(lookup, found.clone());
                    found
                }
            };
            let account = match found {
                Some((connection_id, credentials)) => {
                    let key = (slug.as_str().to_owned(), Some(connection_id));
                    accounts.entry(key.clone()).or_insert(credentials);
                    key
                }
                None => {
                    let key = (slug.as_str().to_owned(), None);
                    let operator = deps.carrier_credentials.get(slug.as_str()).cloned().unwrap_or_default();
                    accounts.entry(key.clone()).or_insert(operator);
                    key
                }
            };
            groups.entry(account).or_default().push(LegToPoll {
                owner: (tenant.clone(), id.clone()),
                target: PollTarget {
                    tracking_number: number,
                    since: shipment.created_at,
                    destination_postal_code: shipment.details.destination_postal_code.clone(),
                    ship_date: shipment.details.tracking_ship_date.clone(),
                },
            });
        }
    }
    report.shipments += shipments;
    let mut outcomes: BTreeMap<(TenantId, ShipmentId), PollOutcome> = BTreeMap::new();
    let mut requests = tokio::task::JoinSet::new();
    for (account, legs) in groups {
        let slug = account.0.clone();
        let credentials = accounts.remove(&account).unwrap_or_default();
        let Some(adapter) = deps.carriers.get(&slug).cloned() else {
            // No integration for this carrier: check again in a day, in case one is added.
            for leg in legs {
                outcomes.insert(leg.owner, PollOutcome::Failed { retry_after: Some(Duration::hours(24)) });
            }
            continue;
        };
        if !credentials.cover(adapter.credential_fields()) {
            // No account to ask with (neither the merchant's nor the operator's): such
            // shipments follow by webhook only. Their poll goes on the cadence as if the
            // carrier had answered nothing new, so they are looked at again then, quietly.
            for leg in legs {
                outcomes.entry(leg.owner).or_insert(PollOutcome::Answered);
            }
            continue;
        }
        let limiter = limiters.limiter(adapter.as_ref()).await;
        for chunk in chunked(legs, adapter.max_batch().max(1)) {
            let (deps, adapter, limiter, credentials) =
                (deps.clone(), Arc::clone(&adapter), Arc::clone(&limiter), credentials.clone());
            requests.spawn(async move {
                let _permit = limiter.acquire().await;
                let targets: Vec<PollTarget> = chunk.iter().map(|leg| leg.target.clone()).collect();
                let answer = adapter.poll(deps.http.as_ref(), &credentials, &targets, deps.clock.now()).await;
                (adapter.slug(), chunk, answer)
            });
        }
    }
    while let Some(joined) = requests.join_next().await {
        let (slug, chunk, answer) = joined.map_err(|e| AppError::Internal(format!("a poll request failed: {e}")))?;
        report.requests += 1;
        let outcome = match answer {
            Ok(updates) => {
                let now = deps.clock.now();
                let updates: Vec<TrackingUpdate> = updates
                    .into_iter()
                    .filter(|update| {
                        let mut owners = chunk
                            .iter()
                            .filter(|leg| leg.target.tracking_number == update.tracking_number)
                            .filter_map(|leg| known.get(&leg.owner))
                            .peekable();
                        // An answer about a number none of them has is passed on as it is.
                        owners.peek().is_none()
                            || owners
                                .any(|shipment| would_change(deps, shipment, now, |s| merge_update(s, update, now)))
                    })
                    .collect();
                if !updates.is_empty() {
                    let message =
                        CarrierMessage::Updates { slug: slug.to_owned(), received_at: deps.clock.now(), updates };
                    let encoded = serde_json::to_vec(&message).expect("carrier messages serialize");
                    deps.queue.send_batch(QueueName::CarrierUpdates, &[encoded]).await?;
                }
                PollOutcome::Answered
            }
            Err(error) => {
                report.failed_requests += 1;
                tracing::warn!(slug, error = %error, numbers = chunk.len(), "carrier poll failed");
                let retry_after = match error {
                    CarrierError::RateLimited { retry_after_seconds } => {
                        retry_after_seconds.map(|s| Duration::seconds(s as i64))
                    }
                    _ => None,
                };
                PollOutcome::Failed { retry_after }
            }
        };
        for leg in chunk {
            // A shipment with two legs counts as failed if either poll failed.
            let entry = outcomes.entry(leg.owner).or_insert(outcome);
            if matches!(outcome, PollOutcome::Failed { .. }) {
                *entry = outcome;
            }
        }
    }
    for ((tenant, id), outcome) in outcomes {
        let now = deps.clock.now();
        let record = |shipment: &mut Shipment| deps.poll_policy.record(shipment, outcome, now);
        if known.get(&(tenant.clone(), id.clone())).is_some_and(|shipment| !would_change(deps, shipment, now, record)) {
            continue; // a quiet poll on the cadence
        }
        let result = update_tracking(deps, &tenant, &id, |shipment| {
            record(shipment);
            Ok(())
        })
        .await;
        match result {
            Ok(_) | Err(AppError::NotFound) => {}
            Err(AppError::Corrupt(what)) => skip_unreadable(deps, &tenant, &id, &what),
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// The legs worth polling: the first leg until a last-mile leg exists, then both (the first
/// mile may still report its handover and customs events).
fn legs_to_poll(shipment: &Shipment) -> Vec<(Slug, crate::domain::TrackingNumber)> {
    let mut legs = vec![(shipment.slug.clone(), shipment.tracking_number.clone())];
    if let Some(leg) = &shipment.last_mile {
        legs.push((leg.slug.clone(), leg.tracking_number.clone()));
    }
    legs
}

fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut current = Vec::with_capacity(size);
    for item in items {
        current.push(item);
        if current.len() == size {
            chunks.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests;
