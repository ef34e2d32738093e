//! The poller: shipments due, grouped per carrier and account into the batches each carrier
//! takes, within its rate limit; answers with news queued, a poll's outcome written only when
//! it changes the shipment.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use super::consumer::merge_update;
use super::{CarrierMessage, skip_unreadable};
use crate::app::{AppError, Deps, update_tracking};
use crate::carriers::{CarrierAdapter, CarrierError, Credentials, PollTarget, TrackingUpdate};
use crate::domain::{PollOutcome, Shipment, ShipmentId, Slug, TenantId};
use crate::ports::{QueueName, StoreError};

/// Whether `change` would change `shipment` as of `now` (a poll answer that repeats what is
/// known is not worth queueing; a quiet poll is not worth writing).
fn would_change(deps: &Deps, shipment: &Shipment, now: DateTime<Utc>, change: impl FnOnce(&mut Shipment)) -> bool {
    let applied = crate::app::trackings::apply_change(deps, shipment, now, None, |s| {
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
                    let found =
                        crate::app::connections::credentials_for(deps, tenant, &slug, connection.as_deref()).await?;
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
