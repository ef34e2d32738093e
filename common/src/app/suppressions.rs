//! Merchants' suppression lists: an address whose mail bounced for good, or whose owner marked
//! a message as spam, gets no further message from that merchant; the merchant lists, adds
//! and removes entries (`/porchlight/v1/suppressions`).

use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::analytics::MessageOutcome;
use crate::domain::{Channel, Contact, DomainError, ShipmentId, TenantId};
use crate::ports::{Suppression, SuppressionReason};

/// The most entries a page of the list holds.
pub const MAX_PAGE: usize = 200;

/// A provider's word that mail to an address failed for good or was unwelcome.
#[derive(Debug, Clone)]
pub struct Feedback {
    /// The address.
    pub contact: Contact,
    /// A permanent bounce or a complaint.
    pub reason: SuppressionReason,
    /// What the provider said.
    pub detail: Option<String>,
    /// The shipment the message was about, when known.
    pub shipment_id: Option<ShipmentId>,
    /// The message's ledger id, when known.
    pub message_id: Option<String>,
}

/// Puts the feedback's address on the tenant's list (an address already there keeps its first
/// reason): `true` if added now. Logs the entry's id, never the address.
pub async fn record_feedback(deps: &Deps, tenant: &TenantId, feedback: Feedback) -> Result<bool, AppError> {
    let mut entry = Suppression::new(tenant.clone(), &feedback.contact, feedback.reason, deps.clock.now());
    entry.detail = feedback.detail.map(|d| d.chars().take(500).collect());
    entry.shipment_id = feedback.shipment_id;
    entry.message_id = feedback.message_id;
    let added = deps.suppressions.suppress(&entry).await?;
    if added {
        tracing::info!(tenant_id = %tenant, suppression_id = %entry.id, reason = entry.reason.as_str(), "address suppressed");
    }
    Ok(added)
}

/// A provider's report on a message it took (a permanent bounce, a complaint): the address
/// suppressed as by [`record_feedback`], and the message's outcome counted in notification
/// reach (once per message and outcome, however many of its recipients the report names).
pub async fn record_report(deps: &Deps, tenant: &TenantId, feedback: Feedback) -> Result<bool, AppError> {
    let counted = feedback.message_id.clone().zip(match feedback.reason {
        SuppressionReason::Bounce => Some(MessageOutcome::Bounced),
        SuppressionReason::Complaint => Some(MessageOutcome::Complained),
        _ => None,
    });
    let channel = match feedback.contact {
        Contact::Email(_) => Channel::Email,
        Contact::Sms(_) => Channel::Sms,
    };
    let added = record_feedback(deps, tenant, feedback).await?;
    if let Some((message_id, outcome)) = counted {
        super::analytics::count_message(deps, tenant, &message_id, channel, outcome).await;
    }
    Ok(added)
}

/// The tenant's entry for `contact`, if it is suppressed.
pub async fn suppressed(deps: &Deps, tenant: &TenantId, contact: &Contact) -> Result<Option<Suppression>, AppError> {
    Ok(deps.suppressions.suppression(tenant, &Suppression::id_of(tenant, contact)).await?)
}

/// `POST /porchlight/v1/suppressions`'s body: the address the merchant keeps messages from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionWrite {
    /// `email` or `sms`.
    pub channel: Option<Channel>,
    /// The email address, or the phone number (made E.164).
    pub address: Option<String>,
}

/// Adds `write`'s address to the tenant's list by hand: the entry, and whether it was added now
/// (`false`: it was listed already, and keeps its first reason).
pub async fn add(deps: &Deps, tenant: &TenantId, write: SuppressionWrite) -> Result<(Suppression, bool), AppError> {
    let channel = write.channel.ok_or(AppError::Required("channel"))?;
    let address = write.address.ok_or(AppError::Required("address"))?;
    let contact = match channel {
        Channel::Email => Contact::email(&address),
        Channel::Sms => Contact::sms(&address),
    }
    .map_err(|e| DomainError::invalid("address", e.reason))?;
    let entry = Suppression::new(tenant.clone(), &contact, SuppressionReason::Manual, deps.clock.now());
    let added = deps.suppressions.suppress(&entry).await?;
    if added {
        tracing::info!(tenant_id = %tenant, suppression_id = %entry.id, reason = "manual", "address suppressed");
        return Ok((entry, true));
    }
    let listed = deps.suppressions.suppression(tenant, &entry.id).await?;
    Ok((listed.unwrap_or(entry), false))
}

/// A page of the tenant's list in id order, from after `cursor` (an id), and the cursor of
/// the next page when there may be one.
pub async fn list(
    deps: &Deps,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Suppression>, Option<String>), AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let entries = deps.suppressions.suppressions(tenant, cursor, limit).await?;
    let next = super::next_cursor(&entries, limit, |e| &e.id);
    Ok((entries, next))
}

/// One entry. `Missing` if the tenant has none with `id`.
pub async fn get(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Suppression, AppError> {
    deps.suppressions.suppression(tenant, id).await?.ok_or(AppError::Missing("suppression"))
}

/// Takes an entry off the list (messages reach the address again) and answers it as it was.
/// `Missing` if the tenant has none with `id`.
pub async fn remove(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Suppression, AppError> {
    let entry = get(deps, tenant, id).await?;
    if !deps.suppressions.unsuppress(tenant, id).await? {
        return Err(AppError::Missing("suppression"));
    }
    tracing::info!(tenant_id = %tenant, suppression_id = %id, "address unsuppressed");
    Ok(entry)
}
