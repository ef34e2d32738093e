//! Planning notifications: a status change in, the messages its rules call for recorded in the
//! ledger, each at most once per shipment, trigger, channel and recipient.
//!
//! Planning is idempotent, so the `status-changes` queue's at-least-once delivery (and its
//! duplicates and reordering) plans every message once. Sending what is planned and due is
//! the dispatcher's work (next in issue 10); quiet hours are kept with each rule but not yet
//! applied to due times.

use chrono::Duration;

use super::{AppError, Deps};
use crate::domain::{Channel, Shipment, Trigger};
use crate::notify::message_language;
use crate::ports::{ChangeEvent, ChangeKind, LedgerEntry, MessageLedger};

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
    let Some(trigger) = trigger_of(change) else { return Ok(PlanReport::default()) };
    let Some(shipment) = deps.shipments.get(&change.tenant_id, &change.shipment_id).await? else {
        return Ok(PlanReport::default());
    };
    let (rules, _) = super::notification_rules::notification_rules(deps, &change.tenant_id).await?;
    let page = super::pages::page_settings(deps, &change.tenant_id).await?;
    let now = deps.clock.now();
    let mut report = PlanReport::default();
    for rule in rules.matching(trigger, &shipment) {
        for channel in &rule.channels {
            for (recipient, language_tag) in recipients(&shipment, *channel) {
                let mut language = message_language(&page, language_tag.as_deref(), &shipment);
                if !rule.languages.is_empty() && !rule.languages.contains(&language) {
                    language = rule.languages[0];
                }
                let due = now + Duration::minutes(i64::from(rule.delay_minutes));
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
    }
    if report.planned > 0 {
        tracing::info!(tenant_id = %shipment.tenant_id, shipment_id = %shipment.id, trigger = trigger.as_str(), planned = report.planned, "notifications planned");
    }
    Ok(report)
}

/// The contacts `channel` reaches for `shipment`, in the ledger's form (emails lower-cased,
/// numbers in E.164), each with the language its customer asked for, if any.
fn recipients(shipment: &Shipment, channel: Channel) -> Vec<(String, Option<String>)> {
    let language_of = |matches: &dyn Fn(&crate::domain::Customer) -> bool| {
        shipment.details.customers.iter().find(|c| matches(c)).and_then(|c| c.language.clone())
    };
    match channel {
        Channel::Email => shipment
            .subscribed_emails()
            .into_iter()
            .map(|email| {
                let language = language_of(&|c| c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email)));
                (email.to_lowercase(), language)
            })
            .collect(),
        Channel::Sms => shipment
            .subscribed_smses()
            .into_iter()
            .map(|number| {
                let language = language_of(&|c| {
                    c.phone_number.as_deref().and_then(|p| crate::domain::e164("", p).ok()).as_deref()
                        == Some(number.as_str())
                });
                (number, language)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
