//! Planning notifications: a status change in, the messages its rules call for recorded in the
//! ledger, each at most once per shipment, trigger, channel and recipient.
//!
//! Planning is idempotent, so the `status-changes` queue's at-least-once delivery (and its
//! duplicates and reordering) plans every message once. [`dispatch_due`] then sends what is
//! due: it leases messages from the ledger, writes each from the shipment as it is then, hands
//! it to a [`Messenger`] (which sends idempotently by the message id) and records the outcome.

use chrono::Duration;

use super::{AppError, Deps};
use crate::domain::analytics::MessageOutcome;
use crate::domain::{Channel, Contact, Shipment, Trigger};
use crate::notify::{Envelope, MerchantTexts, MessageTexts, compose, message_language};
use crate::ports::{
    ChangeEvent, ChangeKind, LedgerEntry, MessageLedger, MessageState, Messenger, Outgoing, QueueName, SendError,
    SuppressionReason,
};

/// How long a dispatcher holds a message it leased before another may take it.
const LEASE: Duration = Duration::minutes(5);
/// Leases a message may take before it is given up on.
const MAX_ATTEMPTS: u32 = 8;

/// What planning one status change did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanReport {
    /// Messages recorded now.
    pub planned: usize,
    /// Messages recorded before (a duplicate or replayed change, or a status reached again).
    pub already_planned: usize,
}

/// The trigger a change fires, if it fires one: an update that moved the shipment into a
/// status with a trigger. Creations fire nothing (a shipment added already delivered, or
/// imported with its history, is no news to its shopper), nor do deletions and expiries.
pub fn trigger_of(change: &ChangeEvent) -> Option<Trigger> {
    if change.kind != ChangeKind::Updated {
        return None;
    }
    let (old, new) = (change.old.as_ref()?, change.new.as_ref()?);
    (old.tag != new.tag).then_some(())?;
    Trigger::for_tag(new.tag)
}

/// Records the messages `change` calls for in `ledger`, due after each rule's delay.
pub async fn plan_notifications(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    change: &ChangeEvent,
) -> Result<PlanReport, AppError> {
    let triggers: Vec<Trigger> = trigger_of(change).into_iter().chain(edd_trigger_of(change)).collect();
    if triggers.is_empty() {
        return Ok(PlanReport::default());
    }
    let Some(shipment) = deps.shipments.get(&change.tenant_id, &change.shipment_id).await? else {
        return Ok(PlanReport::default());
    };
    let (rules, _) = super::notification_rules::notification_rules(deps, &change.tenant_id).await?;
    let mut report = PlanReport::default();
    for trigger in triggers {
        let before = report.planned;
        for rule in rules.matching(trigger, &shipment) {
            let planned = plan_messages(deps, ledger, &shipment, trigger, rule).await?;
            report.planned += planned.planned;
            report.already_planned += planned.already_planned;
        }
        if report.planned > before {
            let planned = report.planned - before;
            tracing::info!(tenant_id = %shipment.tenant_id, shipment_id = %shipment.id, trigger = trigger.as_str(), planned, "notifications planned");
        }
    }
    Ok(report)
}

/// [`Trigger::EddRevised`] when `change` moved the estimated delivery date later (a date
/// moved earlier is good news the parcel brings itself); like every trigger, a shopper hears
/// it once per shipment.
pub fn edd_trigger_of(change: &ChangeEvent) -> Option<Trigger> {
    let (old, new) = (change.old.as_ref()?, change.new.as_ref()?);
    (super::fanout::is_edd_revision(change) && new.edd > old.edd).then_some(Trigger::EddRevised)
}

/// Records the `edd_missed` messages of a `shipment` whose estimated delivery range ended
/// before today with the parcel not delivered; each once per shipment.
pub async fn plan_edd_missed(deps: &Deps, ledger: &dyn MessageLedger, shipment: &Shipment) -> Result<usize, AppError> {
    let today = deps.clock.now().date_naive();
    let missed = shipment.edd.as_ref().is_some_and(|edd| edd.latest.latest < today);
    if !shipment.active || !missed || shipment.tag == crate::domain::Tag::Delivered || shipment.completed.is_some() {
        return Ok(0);
    }
    let (rules, _) = super::notification_rules::notification_rules(deps, &shipment.tenant_id).await?;
    let mut planned = 0;
    for rule in rules.matching(Trigger::EddMissed, shipment) {
        planned += plan_messages(deps, ledger, shipment, Trigger::EddMissed, rule).await?.planned;
    }
    Ok(planned)
}

/// Records the `no_update` messages of an active `shipment` whose rules' `no_update_days` have
/// passed since its last news (the scheduled scan calls it); each once per shipment.
pub async fn plan_no_update(deps: &Deps, ledger: &dyn MessageLedger, shipment: &Shipment) -> Result<usize, AppError> {
    if !shipment.active {
        return Ok(0);
    }
    let (rules, _) = super::notification_rules::notification_rules(deps, &shipment.tenant_id).await?;
    let quiet_for = deps.clock.now() - shipment.last_news_at();
    let mut planned = 0;
    for rule in rules.matching(Trigger::NoUpdate, shipment) {
        let days = rule.no_update_days.unwrap_or(7);
        if quiet_for >= Duration::days(i64::from(days)) {
            planned += plan_messages(deps, ledger, shipment, Trigger::NoUpdate, rule).await?.planned;
        }
    }
    Ok(planned)
}

/// Records the `trigger` messages `rule` sends for `shipment`, for every contact its channels
/// reach, each in its language (limited to the rule's when it names some), due after its delay
/// and, when that falls in its quiet hours, at their end in the recipient's time zone.
pub(super) async fn plan_messages(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    shipment: &Shipment,
    trigger: Trigger,
    rule: &crate::domain::NotificationRule,
) -> Result<PlanReport, AppError> {
    let page = super::pages::page_settings(deps, &shipment.tenant_id).await?;
    let now = deps.clock.now();
    let mut due = now + Duration::minutes(i64::from(rule.delay_minutes));
    if let Some(quiet) = &rule.quiet_hours {
        due = crate::domain::after_quiet_hours(quiet, crate::domain::recipient_zone(quiet, shipment), due);
    }
    let mut report = PlanReport::default();
    for channel in &rule.channels {
        for (recipient, language_tag) in recipients(shipment, *channel) {
            let mut language = message_language(&page, language_tag.as_deref(), shipment);
            if !rule.languages.is_empty() && !rule.languages.contains(&language) {
                language = rule.languages[0];
            }
            let entry = LedgerEntry::planned(
                shipment.tenant_id.clone(),
                shipment.id.clone(),
                trigger,
                *channel,
                recipient,
                language,
                now,
                due,
            );
            if ledger.plan(&entry).await? {
                report.planned += 1;
            } else {
                report.already_planned += 1;
            }
        }
    }
    Ok(report)
}

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Messages handed to their channel.
    pub sent: usize,
    /// Not sent on purpose (unsubscribed since planned, shipment deleted).
    pub suppressed: usize,
    /// Given up on.
    pub failed: usize,
    /// Put back to be tried again.
    pub retried: usize,
}

/// How many messages a dispatch round sends at once, and how many status changes a notifier
/// round plans at once: each waits mostly on the store (whose writer commits concurrent
/// writes together) and the channel, so a round runs them side by side.
const CONCURRENCY: usize = 32;

/// What became of one leased message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dispatched {
    Sent,
    Suppressed,
    Failed,
    Retried,
}

/// Sends up to `max` due messages through `messenger`, concurrently, each recorded with its
/// outcome.
pub async fn dispatch_due(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    messenger: &dyn Messenger,
    max: usize,
) -> Result<DispatchReport, AppError> {
    use futures_util::{StreamExt, TryStreamExt};
    let now = deps.clock.now();
    let leased = ledger.lease_due(now, LEASE, max).await?;
    let outcomes: Vec<Dispatched> = futures_util::stream::iter(leased)
        .map(|entry| dispatch_one(deps, ledger, messenger, entry, now))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut report = DispatchReport::default();
    for outcome in outcomes {
        match outcome {
            Dispatched::Sent => report.sent += 1,
            Dispatched::Suppressed => report.suppressed += 1,
            Dispatched::Failed => report.failed += 1,
            Dispatched::Retried => report.retried += 1,
        }
    }
    if report != DispatchReport::default() {
        tracing::info!(
            sent = report.sent,
            suppressed = report.suppressed,
            failed = report.failed,
            retried = report.retried,
            "notifications dispatched"
        );
    }
    Ok(report)
}

/// Sends one leased message and records how it ended (and counts it in notification reach,
/// unless it went to the merchant's team).
async fn dispatch_one(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    messenger: &dyn Messenger,
    entry: LedgerEntry,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Dispatched, AppError> {
    let dispatched = send_one(deps, ledger, messenger, &entry, now).await?;
    let outcome = match dispatched {
        Dispatched::Sent => MessageOutcome::Sent,
        Dispatched::Suppressed => MessageOutcome::Suppressed,
        Dispatched::Failed => MessageOutcome::Failed,
        Dispatched::Retried => return Ok(dispatched),
    };
    if !entry.trigger.is_for_team() && !entry.test {
        super::analytics::count_message(deps, &entry.tenant_id, &entry.id, entry.channel, outcome).await;
    }
    Ok(dispatched)
}

/// Sends one leased message and records how it ended in the ledger.
async fn send_one(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    messenger: &dyn Messenger,
    entry: &LedgerEntry,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Dispatched, AppError> {
    let (tenant, shipment_id, id) = (&entry.tenant_id, &entry.shipment_id, entry.id.as_str());
    let outcome = match outgoing(deps, entry).await? {
        Prepared::Fail(reason) => Err(SendError::Permanent(reason)),
        Prepared::Skip(reason) => {
            ledger.finish(tenant, shipment_id, id, MessageState::Suppressed, Some(reason), now).await?;
            return Ok(Dispatched::Suppressed);
        }
        Prepared::Send(message) => messenger.send(&message).await,
    };
    match outcome {
        Ok(provider_id) => {
            ledger
                .finish(tenant, shipment_id, id, MessageState::Sent, provider_id.as_deref(), deps.clock.now())
                .await?;
            Ok(Dispatched::Sent)
        }
        Err(SendError::Transient(reason)) if entry.attempts < MAX_ATTEMPTS => {
            // Back off: a minute, doubling with each attempt.
            let wait = Duration::minutes(1i64 << entry.attempts.min(10));
            ledger.reschedule(tenant, shipment_id, id, now + wait, Some(&reason)).await?;
            Ok(Dispatched::Retried)
        }
        Err(error) => {
            tracing::warn!(tenant_id = %tenant, message_id = id, error = %error, "notification failed");
            let refused = match &error {
                SendError::Refused(detail) => Some((SuppressionReason::Bounce, detail)),
                SendError::OptedOut(detail) => Some((SuppressionReason::OptedOut, detail)),
                _ => None,
            };
            if let Some((reason, detail)) = refused {
                let feedback = super::suppressions::Feedback {
                    contact: contact_of(entry),
                    reason,
                    detail: Some(detail.clone()),
                    shipment_id: Some(shipment_id.clone()),
                    message_id: Some(id.to_owned()),
                };
                super::suppressions::record_feedback(deps, tenant, feedback).await?;
            }
            ledger.finish(tenant, shipment_id, id, MessageState::Failed, Some(&error.to_string()), now).await?;
            Ok(Dispatched::Failed)
        }
    }
}

/// What becomes of a leased message.
enum Prepared {
    /// Send it.
    Send(Box<Outgoing>),
    /// Not any more, on purpose (the shipment is gone, the recipient unsubscribed, the
    /// address is suppressed).
    Skip(&'static str),
    /// It cannot be written.
    Fail(String),
}

/// The contact a ledger entry goes to.
fn contact_of(entry: &LedgerEntry) -> Contact {
    match entry.channel {
        Channel::Email => Contact::Email(entry.recipient.clone()),
        Channel::Sms => Contact::Sms(entry.recipient.clone()),
    }
}

/// The skip of a message to a suppressed address, if it is one.
async fn suppressed(deps: &Deps, entry: &LedgerEntry) -> Result<Option<Prepared>, AppError> {
    let Some(listed) = super::suppressions::suppressed(deps, &entry.tenant_id, &contact_of(entry)).await? else {
        return Ok(None);
    };
    Ok(Some(Prepared::Skip(match listed.reason {
        SuppressionReason::Bounce => "suppressed address: it bounced",
        SuppressionReason::Complaint => "suppressed address: its owner complained",
        SuppressionReason::Manual => "suppressed address: the merchant listed it",
        SuppressionReason::OptedOut => "suppressed number: its owner opted out of text messages",
    })))
}

/// A return's email to its shopper (the entry names the return), written from the return as
/// it is now.
async fn return_message(deps: &Deps, entry: &LedgerEntry) -> Result<Prepared, AppError> {
    let key = super::returns::ReturnKey::Id(entry.shipment_id.to_string());
    let ret = match super::returns::get_return(deps, &entry.tenant_id, &key).await {
        Ok(ret) => ret,
        Err(AppError::Missing(_)) => return Ok(Prepared::Skip("the return is gone")),
        Err(other) => return Err(other),
    };
    if let Some(skip) = suppressed(deps, entry).await? {
        return Ok(skip);
    }
    let page = super::pages::page_settings(deps, &entry.tenant_id).await?;
    let Some(address) = super::pages::page_address(deps, &entry.tenant_id).await? else {
        return Ok(Prepared::Fail(NO_ADDRESS.into()));
    };
    let portal = format!("{address}/returns");
    match crate::notify::compose_return_email(entry.trigger, &ret, &page, &portal, entry.language) {
        Ok(message) => Ok(send(entry, &page.brand_name, message, None)),
        Err(error) => Ok(Prepared::Fail(format!("the message could not be written: {error}"))),
    }
}

/// The weekly report's email to the team (the entry names the week), with the report's
/// headline figures and its sealed link.
async fn report_message(deps: &Deps, entry: &LedgerEntry) -> Result<Prepared, AppError> {
    use super::reports;
    let Some(range) = reports::range_of_ledger_id(&entry.shipment_id) else {
        return Ok(Prepared::Skip("not a report's message"));
    };
    if let Some(skip) = suppressed(deps, entry).await? {
        return Ok(skip);
    }
    let Some(base) = deps.public_url.as_deref() else {
        return Ok(Prepared::Fail("no public URL to link the report from".into()));
    };
    let link = format!("{base}{}", reports::link_path(deps, &entry.tenant_id, &reports::report_id(range)));
    let page = super::pages::page_settings(deps, &entry.tenant_id).await?;
    let overview = super::analytics::overview(deps, &entry.tenant_id, range, &Default::default()).await?;
    let (from, to) = (range.from.to_string(), range.to.to_string());
    match crate::notify::compose_report_email(&page, &from, &to, &reports::figures(&overview), &link) {
        Ok(message) => Ok(send(entry, &page.brand_name, message, None)),
        Err(error) => Ok(Prepared::Fail(format!("the message could not be written: {error}"))),
    }
}

/// A console access email (invitation, reset, lockout notice) to the member the entry's
/// recipient names, with a one-time link made now.
async fn access_message(deps: &Deps, entry: &LedgerEntry) -> Result<Prepared, AppError> {
    use crate::app::team::{Purpose, link_for};
    use crate::notify::{AccessEmail, compose_access_email};
    let member = deps.team.member_by_email(&entry.recipient).await?.filter(|m| m.tenant_id == entry.tenant_id);
    let Some(member) = member else { return Ok(Prepared::Skip("the member was removed")) };
    let (kind, purpose) = match entry.trigger {
        Trigger::MemberInvited if member.password_hash.is_some() => {
            return Ok(Prepared::Skip("the invitation was accepted"));
        }
        Trigger::MemberInvited => (AccessEmail::Invitation, Purpose::Invitation),
        Trigger::SignInLocked => (AccessEmail::Locked, Purpose::Reset),
        _ => (AccessEmail::PasswordReset, Purpose::Reset),
    };
    let Some(base) = deps.public_url.as_deref() else {
        return Ok(Prepared::Fail("no public URL to link the console from".into()));
    };
    let link = format!("{base}/console/link/{}", link_for(deps, &member, purpose).token);
    let until = member.locked_until.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let page = super::pages::page_settings(deps, &entry.tenant_id).await?;
    match compose_access_email(kind, &page, &link, purpose.lifetime_words(), &until) {
        Ok(message) => Ok(send(entry, &page.brand_name, message, None)),
        Err(error) => Ok(Prepared::Fail(format!("the message could not be written: {error}"))),
    }
}

/// The message `entry` stands for, written from the shipment (or return) as it is now.
async fn outgoing(deps: &Deps, entry: &LedgerEntry) -> Result<Prepared, AppError> {
    if entry.trigger.is_return() {
        return return_message(deps, entry).await;
    }
    if entry.trigger == Trigger::ReportReady {
        return report_message(deps, entry).await;
    }
    if entry.trigger.is_access() {
        return access_message(deps, entry).await;
    }
    let stored = match entry.test && entry.shipment_id.as_str() == SAMPLE_ID {
        true => Some(sample_shipment(&entry.tenant_id, entry.planned_at)?),
        false => deps.shipments.get(&entry.tenant_id, &entry.shipment_id).await?,
    };
    let Some(shipment) = stored else {
        return Ok(Prepared::Skip("the shipment was deleted"));
    };
    let contact = contact_of(entry);
    let team = entry.trigger == Trigger::TeamAlert;
    if !team && !entry.test && !shipment.reaches(&contact) {
        return Ok(Prepared::Skip("no longer subscribed"));
    }
    if let Some(skip) = suppressed(deps, entry).await? {
        return Ok(skip);
    }
    if team {
        return team_alert(deps, entry, &shipment).await;
    }
    let Some(Linked { page, address, tracking_url }) = linked(deps, &shipment).await? else {
        return Ok(Prepared::Fail(NO_ADDRESS.into()));
    };
    let name = shipment.customer_reached_by(&contact).and_then(|c| c.name.clone());
    // A test goes to the team, who are no subscribers to unsubscribe.
    let unsubscribe_url = (!entry.test).then(|| {
        let token = super::subscriptions::unsubscribe_token(deps, &entry.tenant_id, &entry.shipment_id, &contact);
        format!("{address}/unsubscribe/{token}")
    });
    let envelope = Envelope {
        tracking_url: &tracking_url,
        unsubscribe_url: unsubscribe_url.as_deref(),
        recipient_name: name.as_deref(),
    };
    let own = merchant_texts(deps, &entry.tenant_id).await?;
    let wording = own.find(entry.trigger, entry.language);
    let message = match compose(entry.trigger, &shipment, &page, &envelope, entry.language, deps.clock.now(), wording) {
        Ok(message) if entry.test => {
            crate::notify::Message { subject: format!("[Test] {}", message.subject), ..message }
        }
        Ok(message) => message,
        Err(error) => return Ok(Prepared::Fail(format!("the message could not be written: {error}"))),
    };
    Ok(send(entry, &page.brand_name, message, unsubscribe_url))
}

/// Sends `message` as `entry`, from the merchant `brand`.
fn send(
    entry: &LedgerEntry,
    brand: &str,
    message: crate::notify::Message,
    unsubscribe_url: Option<String>,
) -> Prepared {
    Prepared::Send(Box::new(Outgoing {
        id: entry.id.clone(),
        tenant_id: entry.tenant_id.clone(),
        shipment_id: entry.shipment_id.clone(),
        channel: entry.channel,
        to: entry.recipient.clone(),
        from_name: brand.to_owned(),
        language: message.language,
        subject: message.subject,
        html: message.html,
        text: message.text,
        sms: message.sms,
        unsubscribe_url,
    }))
}

/// Why a message cannot link the tracking page.
const NO_ADDRESS: &str = "no public URL to link the tracking page from";

/// The merchant's page settings and where a message links: its page's address and the
/// shipment's page on it.
struct Linked {
    page: std::sync::Arc<crate::domain::TrackingPage>,
    address: String,
    tracking_url: String,
}

/// What a message about `shipment` links to; `None` without a public address to link from.
async fn linked(deps: &Deps, shipment: &Shipment) -> Result<Option<Linked>, AppError> {
    let page = super::pages::page_settings(deps, &shipment.tenant_id).await?;
    let Some(address) = super::pages::page_address(deps, &shipment.tenant_id).await? else { return Ok(None) };
    let tracking_url = format!("{address}/{}", crate::web::url_component(shipment.tracking_number.as_str()));
    Ok(Some(Linked { page, address, tracking_url }))
}

/// The email to the merchant's team about the shipment's open exception cases, as they are
/// now (none left open: not sent).
async fn team_alert(deps: &Deps, entry: &LedgerEntry, shipment: &Shipment) -> Result<Prepared, AppError> {
    let cases = super::exceptions::open_cases_of(deps, shipment).await?;
    if cases.is_empty() {
        return Ok(Prepared::Skip("the exception was resolved before the alert went"));
    }
    let Some(Linked { page, tracking_url, .. }) = linked(deps, shipment).await? else {
        return Ok(Prepared::Fail(NO_ADDRESS.into()));
    };
    let message = match crate::notify::compose_team_alert(shipment, &cases, &page, &tracking_url, deps.clock.now()) {
        Ok(message) => message,
        Err(error) => return Ok(Prepared::Fail(format!("the message could not be written: {error}"))),
    };
    Ok(send(entry, &page.brand_name, message, None))
}

/// Plans everything a status change calls for: its notifications (in `ledger`), its
/// merchant's webhook deliveries, the exception cases its rules open, and, for a return's
/// shipment, the return's shipping status. Idempotent, so a change delivered again plans
/// nothing twice.
pub async fn plan_change(deps: &Deps, ledger: &dyn MessageLedger, change: &ChangeEvent) -> Result<(), AppError> {
    plan_notifications(deps, ledger, change).await?;
    super::webhooks::plan_webhooks(deps, change).await?;
    super::exceptions::evaluate_change(deps, ledger, change).await?;
    super::returns::follow_shipment(deps, change).await?;
    Ok(())
}

/// One round of the notifier: up to `max` status changes off the queue planned, concurrently
/// (their messages, and their merchants' webhook deliveries, which a
/// [`super::webhooks::dispatch`] dispatcher sends; each change acknowledged once planned; a
/// shipment's changes may be planned side by side, which planning allows as it allows them
/// reordered), then up to `max` due messages sent. Whether it found work.
pub async fn notify_round(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    messenger: &dyn Messenger,
    max: usize,
) -> Result<bool, AppError> {
    use futures_util::{StreamExt, TryStreamExt};
    let received = deps.queue.receive(QueueName::StatusChanges, max, LEASE).await?;
    let mut busy = !received.is_empty();
    futures_util::stream::iter(received)
        .map(|message| async move {
            match serde_json::from_slice::<ChangeEvent>(&message.body) {
                Ok(change) => {
                    plan_change(deps, ledger, &change).await?;
                    deps.queue.ack(QueueName::StatusChanges, message.id).await?;
                }
                Err(error) => {
                    let reason = format!("not a status change: {error}");
                    deps.queue.dead_letter(QueueName::StatusChanges, message.id, &reason).await?;
                }
            }
            Ok::<(), AppError>(())
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    let dispatched = dispatch_due(deps, ledger, messenger, max).await?;
    busy |= dispatched != DispatchReport::default();
    Ok(busy)
}

/// The merchant's own wordings of messages (none until it writes one).
pub async fn merchant_texts(deps: &Deps, tenant: &crate::domain::TenantId) -> Result<MerchantTexts, AppError> {
    let (texts, _) = super::documents::read(deps, tenant, crate::ports::SettingsKind::NotificationTexts).await?;
    Ok(texts.unwrap_or_default())
}

/// Applies `change` to the merchant's wordings and stores them; the change's result.
async fn change_texts<T>(
    deps: &Deps,
    tenant: &crate::domain::TenantId,
    change: impl Fn(&mut MerchantTexts) -> Result<T, AppError>,
) -> Result<T, AppError> {
    super::documents::change(
        deps,
        tenant,
        crate::ports::SettingsKind::NotificationTexts,
        MerchantTexts::default,
        change,
    )
    .await
}

/// Saves the merchant's wording of `texts.trigger` in `texts.language` (replacing any), once
/// every field has been checked (see [`MessageTexts::validate`]).
pub async fn save_texts(
    deps: &Deps,
    tenant: &crate::domain::TenantId,
    texts: MessageTexts,
) -> Result<MessageTexts, AppError> {
    texts.validate()?;
    change_texts(deps, tenant, |all| {
        all.texts.retain(|t| !(t.trigger == texts.trigger && t.language == texts.language));
        all.texts.push(texts.clone());
        Ok(())
    })
    .await?;
    tracing::info!(tenant_id = %tenant, trigger = texts.trigger.as_str(), language = texts.language.code(), "notification texts saved");
    Ok(texts)
}

/// Removes the merchant's wording of `trigger` in `language`: the built-in texts apply again.
/// `Missing` if it wrote none.
pub async fn delete_texts(
    deps: &Deps,
    tenant: &crate::domain::TenantId,
    trigger: Trigger,
    language: crate::domain::Language,
) -> Result<MessageTexts, AppError> {
    change_texts(deps, tenant, |all| {
        let i = all
            .texts
            .iter()
            .position(|t| t.trigger == trigger && t.language == language)
            .ok_or(AppError::Missing("notification texts"))?;
        Ok(all.texts.remove(i))
    })
    .await
}

/// The contacts `channel` reaches for `shipment`, in the ledger's form (emails lower-cased,
/// numbers in E.164), each with the language its customer asked for, if any.
fn recipients(shipment: &Shipment, channel: Channel) -> Vec<(String, Option<String>)> {
    let (contacts, contact): (Vec<String>, fn(String) -> Contact) = match channel {
        Channel::Email => (shipment.subscribed_emails(), Contact::Email),
        Channel::Sms => (shipment.subscribed_smses(), Contact::Sms),
    };
    contacts
        .into_iter()
        .map(|address| {
            let language = shipment.customer_reached_by(&contact(address.clone())).and_then(|c| c.language.clone());
            let key = if channel == Channel::Email { address.to_lowercase() } else { address };
            (key, language)
        })
        .collect()
}

mod designer;

pub use designer::SAMPLE_ID;
pub(crate) use designer::sample_shipment;
pub use designer::{PreviewRequest, TestRecipient, preview, preview_draft, send_test};

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
