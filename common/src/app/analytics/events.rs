//! Events in the rollups, counted on the day they happen (UTC), each once by its identity:
//! the merchant's own (notifications and how they ended, webhook delivery attempts, returns
//! and their reasons) in the merchant's events row, and carriers' events with how many codes
//! no adapter rule knew in each carrier's events row (from the change feed, see
//! [`super::counted`]). And the answers read from those rows: notification reach, return
//! reasons and carrier health.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::report::{Rate, rate};
use super::{DayRange, totals};
use crate::app::{AppError, Deps};
use crate::domain::analytics::{Counters, Lane, MessageOutcome, Period, counter, day_rows};
use crate::domain::{Channel, Slug, TenantId};
use crate::ports::CountedChange;

/// Counts `counters` in the merchant's events row today, once for `kind` and `id`. A store
/// failure is logged and the event left uncounted: what it counts (a message sent, a return
/// stored) has happened and is kept either way.
async fn count_event(deps: &Deps, tenant: &TenantId, kind: &str, id: &str, counters: Counters) {
    let rows = day_rows(deps.clock.now().date_naive(), &Lane::merchant_events(), &counters);
    let change = CountedChange::event(tenant.clone(), kind, id, rows);
    if let Err(error) = deps.analytics.count_changes(vec![change], None).await {
        tracing::warn!(tenant_id = %tenant, kind, error = %error, "event not counted");
    }
}

/// Counts how ledger message `message_id` on `channel` ended (or what became of it after it
/// was sent: a bounce, a complaint).
pub async fn count_message(
    deps: &Deps,
    tenant: &TenantId,
    message_id: &str,
    channel: Channel,
    outcome: MessageOutcome,
) {
    let mut counters = Counters::default();
    counters.add(&counter::message(channel, outcome), 1);
    count_event(deps, tenant, "message", &format!("{message_id}.{}", outcome.as_str()), counters).await;
}

/// Counts attempt `attempt` (1 for the first) of webhook delivery `delivery_id`, and whether
/// it ended the delivery: `Some(true)` delivered, `Some(false)` given up on.
pub async fn count_webhook_attempt(
    deps: &Deps,
    tenant: &TenantId,
    delivery_id: &str,
    attempt: usize,
    ended: Option<bool>,
) {
    let mut counters = Counters::default();
    counters.add(counter::WEBHOOK_ATTEMPTS, 1);
    match ended {
        Some(true) => counters.add(counter::WEBHOOK_DELIVERED, 1),
        Some(false) => counters.add(counter::WEBHOOK_FAILED, 1),
        None => {}
    }
    count_event(deps, tenant, "webhook", &format!("{delivery_id}.{attempt}"), counters).await;
}

/// Counts a return asked for: its items, by the reason given for each line (`reason` ids
/// and quantities).
pub async fn count_return<'a>(
    deps: &Deps,
    tenant: &TenantId,
    return_id: &str,
    lines: impl IntoIterator<Item = (&'a str, u32)>,
) {
    let mut counters = Counters::default();
    counters.add(counter::RETURNS, 1);
    for (reason, quantity) in lines {
        counters.add(counter::RETURN_ITEMS, i64::from(quantity));
        counters.add(&format!("{}{reason}", counter::RETURN_REASON), i64::from(quantity));
    }
    count_event(deps, tenant, "return", return_id, counters).await;
}

/// How one channel's notifications ended over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelReach {
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Handed to the channel.
    pub sent: i64,
    /// Sent and not reported back as undeliverable.
    pub delivered: i64,
    /// Reported undeliverable after sending (permanent bounces; refused SMS).
    pub bounced: i64,
    /// Marked as spam by the recipient.
    pub complained: i64,
    /// Given up on before they left.
    pub failed: i64,
    /// Not sent on purpose (unsubscribed, suppressed address, stale).
    pub suppressed: i64,
    /// `delivered` out of `sent`.
    pub delivery_rate: Option<Rate>,
    /// `bounced` out of `sent`.
    pub bounce_rate: Option<Rate>,
    /// `complained` out of `sent`.
    pub complaint_rate: Option<Rate>,
}

/// Webhook deliveries over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookReach {
    /// Attempts made.
    pub attempts: i64,
    /// Deliveries answered with a 2xx.
    pub delivered: i64,
    /// Deliveries given up on.
    pub failed: i64,
    /// `delivered` out of the deliveries that ended.
    pub success_rate: Option<Rate>,
}

/// Notification reach: `GET /porchlight/v1/analytics/notifications`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationReach {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Per channel.
    pub channels: Vec<ChannelReach>,
    /// Merchants' webhooks.
    pub webhooks: WebhookReach,
}

/// The merchant's events row summed over `range`.
async fn merchant_events(deps: &Deps, tenant: &TenantId, range: DayRange) -> Result<Counters, AppError> {
    let rows = totals(deps, tenant, range, Lane::is_merchant_events).await?;
    Ok(rows.into_values().next().unwrap_or_default())
}

/// Notification reach over `range`: outcomes by the day they happened.
pub async fn notification_reach(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
) -> Result<NotificationReach, AppError> {
    let counters = merchant_events(deps, tenant, range).await?;
    let channels = [Channel::Email, Channel::Sms]
        .into_iter()
        .map(|channel| {
            let count = |outcome| counters.get(&counter::message(channel, outcome));
            let sent = count(MessageOutcome::Sent);
            let bounced = count(MessageOutcome::Bounced);
            let complained = count(MessageOutcome::Complained);
            let delivered = (sent - bounced).max(0);
            ChannelReach {
                channel: channel.as_str(),
                sent,
                delivered,
                bounced,
                complained,
                failed: count(MessageOutcome::Failed),
                suppressed: count(MessageOutcome::Suppressed),
                delivery_rate: rate(delivered, sent),
                bounce_rate: rate(bounced.min(sent), sent),
                complaint_rate: rate(complained.min(sent), sent),
            }
        })
        .collect();
    let (delivered, failed) = (counters.get(counter::WEBHOOK_DELIVERED), counters.get(counter::WEBHOOK_FAILED));
    Ok(NotificationReach {
        from: range.from.to_string(),
        to: range.to.to_string(),
        channels,
        webhooks: WebhookReach {
            attempts: counters.get(counter::WEBHOOK_ATTEMPTS),
            delivered,
            failed,
            success_rate: rate(delivered, delivered + failed),
        },
    })
}

/// Items returned for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    /// The policy's reason id.
    pub reason: String,
    /// Items asked to be returned for it.
    pub items: i64,
    /// Its share of all items.
    pub share: Option<Rate>,
}

/// Return reasons: `GET /porchlight/v1/analytics/returns`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnReasons {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Returns asked for.
    pub returns: i64,
    /// Items in them.
    pub items: i64,
    /// By reason, most items first.
    pub reasons: Vec<ReasonCount>,
}

/// Returns asked for over `range` (by the day they were asked for), by reason.
pub async fn return_reasons(deps: &Deps, tenant: &TenantId, range: DayRange) -> Result<ReturnReasons, AppError> {
    let counters = merchant_events(deps, tenant, range).await?;
    let items = counters.get(counter::RETURN_ITEMS);
    let mut reasons: Vec<ReasonCount> = counters
        .with_prefix(counter::RETURN_REASON)
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, items: count, share: rate(count, items) })
        .collect();
    reasons.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.reason.cmp(&b.reason)));
    Ok(ReturnReasons {
        from: range.from.to_string(),
        to: range.to.to_string(),
        returns: counters.get(counter::RETURNS),
        items,
        reasons,
    })
}

/// One carrier's events on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthDay {
    /// The day (UTC) the events were stored.
    pub date: String,
    /// Events stored.
    pub events: i64,
    /// Of those, events whose code no adapter rule knew.
    pub unmapped: i64,
}

/// One carrier's health over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarrierHealthCard {
    /// The courier.
    pub slug: String,
    /// Events stored.
    pub events: i64,
    /// Of those, unmapped.
    pub unmapped: i64,
    /// `unmapped` out of `events`.
    pub unmapped_rate: Option<Rate>,
    /// Day by day, oldest first (days with events only).
    pub days: Vec<HealthDay>,
}

/// Carrier health: `GET /porchlight/v1/analytics/carrier-health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarrierHealth {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Per carrier, by slug.
    pub carriers: Vec<CarrierHealthCard>,
}

/// Each carrier's events per day over `range` (at most `slugs`, when not empty), read from
/// day rows.
pub async fn carrier_days(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    slugs: &[Slug],
) -> Result<BTreeMap<Slug, BTreeMap<NaiveDate, (i64, i64)>>, AppError> {
    let days: Vec<Period> = range.from.iter_days().take_while(|day| *day <= range.to).map(Period::Day).collect();
    let mut by_carrier: BTreeMap<Slug, BTreeMap<NaiveDate, (i64, i64)>> = BTreeMap::new();
    for row in deps.analytics.rollup_rows(tenant, days).await? {
        let admitted = row.lane.events && !row.lane.is_merchant_events();
        let Period::Day(day) = row.period else { continue };
        if !admitted || !(slugs.is_empty() || slugs.contains(&row.lane.slug)) {
            continue;
        }
        let entry = by_carrier.entry(row.lane.slug).or_default().entry(day).or_default();
        entry.0 += row.counters.get(counter::CARRIER_EVENTS);
        entry.1 += row.counters.get(counter::UNMAPPED_EVENTS);
    }
    Ok(by_carrier)
}

/// Carrier health over `range`: each carrier's events, unmapped ones and their share, per day.
pub async fn carrier_health(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    slugs: &[Slug],
) -> Result<CarrierHealth, AppError> {
    let carriers = carrier_days(deps, tenant, range, slugs)
        .await?
        .into_iter()
        .map(|(slug, days)| {
            let events: i64 = days.values().map(|(events, _)| events).sum();
            let unmapped: i64 = days.values().map(|(_, unmapped)| unmapped).sum();
            CarrierHealthCard {
                slug: slug.to_string(),
                events,
                unmapped,
                unmapped_rate: rate(unmapped.min(events), events),
                days: days
                    .into_iter()
                    .map(|(day, (events, unmapped))| HealthDay { date: day.to_string(), events, unmapped })
                    .collect(),
            }
        })
        .collect();
    Ok(CarrierHealth { from: range.from.to_string(), to: range.to.to_string(), carriers })
}
