//! What a return's changes make known: its webhook events, planned after each write that
//! makes them, and the shopper's emails (asked for, approved, rejected) when the shopper is to
//! hear of them, planned in the message ledger once per return version.

use super::super::{AppError, Deps};
use crate::domain::{Channel, Language, Return, ShipmentId, Trigger, WebhookEvent};
use crate::ports::LedgerEntry;

/// The shopper's email an event brings, if any.
fn email_of(event: WebhookEvent) -> Option<Trigger> {
    match event {
        WebhookEvent::ReturnSubmitted => Some(Trigger::ReturnSubmitted),
        WebhookEvent::ReturnApproved => Some(Trigger::ReturnApproved),
        WebhookEvent::ReturnRejected => Some(Trigger::ReturnRejected),
        _ => None,
    }
}

/// Plans each of `events` of `ret` (as just written) for the endpoints that take it, and,
/// when `notify_shopper`, the shopper's emails they bring.
pub(super) async fn plan(
    deps: &Deps,
    ret: &Return,
    events: &[WebhookEvent],
    notify_shopper: bool,
) -> Result<(), AppError> {
    for event in events {
        let planned = super::super::webhooks::plan_return_event(deps, ret, *event, || {
            crate::api::wire::return_view(ret, deps.public_url.as_deref())
        })
        .await?;
        if planned > 0 {
            tracing::debug!(tenant_id = %ret.tenant_id, return_id = ret.id, event = event.as_str(), planned, "return event planned");
        }
        if let Some(trigger) = email_of(*event).filter(|_| notify_shopper) {
            plan_email(deps, ret, trigger).await?;
        }
    }
    Ok(())
}

/// The language a return's emails are written in: the shopper's, else the page's default.
async fn language_of(deps: &Deps, ret: &Return) -> Result<Language, AppError> {
    if let Some(language) = ret.locale.as_deref().and_then(Language::matching) {
        return Ok(language);
    }
    Ok(super::super::pages::page_settings(deps, &ret.tenant_id).await?.default_language)
}

/// Plans `trigger`'s email to the return's contact (none without one): once per return and
/// trigger. The ledger entry names the return where a shipment's would stand (both are 32 hex
/// characters); [`Trigger::is_return`] tells them apart.
async fn plan_email(deps: &Deps, ret: &Return, trigger: Trigger) -> Result<(), AppError> {
    let Some(email) = ret.contact_email.as_deref() else { return Ok(()) };
    let subject = ShipmentId::parse(&ret.id).map_err(|e| AppError::Internal(e.to_string()))?;
    let now = deps.clock.now();
    let language = language_of(deps, ret).await?;
    let entry = LedgerEntry::planned(
        ret.tenant_id.clone(),
        subject,
        trigger,
        Channel::Email,
        email.trim().to_lowercase(),
        language,
        now,
        now,
    );
    if deps.ledger.plan(&entry).await? {
        tracing::info!(tenant_id = %ret.tenant_id, return_id = ret.id, trigger = trigger.as_str(), "return email planned");
    }
    Ok(())
}
