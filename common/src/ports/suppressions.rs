//! A merchant's suppression list: the addresses no message goes to any more, because mail to
//! them bounced for good, their owner marked a message as spam, or the merchant put them there.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::domain::{Channel, Contact, ShipmentId, TenantId};

/// Why an address is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Mail to it bounced for good (SES's permanent bounce, an SMTP server's 5xx refusal).
    Bounce,
    /// Its owner reported a message as spam.
    Complaint,
    /// The number's owner opted out of text messages at the SMS provider (a STOP reply).
    OptedOut,
    /// The merchant added it.
    Manual,
}

impl SuppressionReason {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Bounce => "bounce",
            SuppressionReason::Complaint => "complaint",
            SuppressionReason::OptedOut => "opted_out",
            SuppressionReason::Manual => "manual",
        }
    }
}

/// One suppressed address. Holds a shopper's contact: its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// [`Suppression::id_of`] the tenant and contact.
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// Email or SMS.
    pub channel: Channel,
    /// The address as [`Contact::key`] keeps it (personal data).
    pub address: String,
    /// Why.
    pub reason: SuppressionReason,
    /// What the provider said (an SMTP diagnostic, a complaint's type); may hold the address.
    pub detail: Option<String>,
    /// The shipment whose message bounced or was complained about.
    pub shipment_id: Option<ShipmentId>,
    /// That message's ledger id.
    pub message_id: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Suppression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suppression")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("channel", &self.channel)
            .field("reason", &self.reason)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl Suppression {
    /// The id of `contact` on `tenant`'s list: `sup_` and 24 hex characters of a SHA-256 over
    /// both, so the address never appears in a key or a URL.
    pub fn id_of(tenant: &TenantId, contact: &Contact) -> String {
        let identity = [tenant.as_str(), contact.channel().as_str(), &contact.key()].join("\u{1f}");
        format!("sup_{}", hex::encode(&Sha256::digest(identity.as_bytes())[..12]))
    }

    /// A suppression of `contact` for `reason`, made at `at`.
    pub fn new(tenant: TenantId, contact: &Contact, reason: SuppressionReason, at: DateTime<Utc>) -> Self {
        Suppression {
            id: Suppression::id_of(&tenant, contact),
            tenant_id: tenant,
            channel: contact.channel(),
            address: contact.key(),
            reason,
            detail: None,
            shipment_id: None,
            message_id: None,
            created_at: at,
        }
    }
}

/// Every merchant's suppression list, keyed by tenant.
#[async_trait]
pub trait SuppressionList: Send + Sync {
    /// Adds `entry` unless its id is on the list (the first reason stays): `true` if added now.
    async fn suppress(&self, entry: &Suppression) -> Result<bool, StoreError>;
    /// The tenant's entry `id`, if listed.
    async fn suppression(&self, tenant: &TenantId, id: &str) -> Result<Option<Suppression>, StoreError>;
    /// Up to `limit` of the tenant's entries in id order, from after `after`.
    async fn suppressions(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Suppression>, StoreError>;
    /// Takes entry `id` off the tenant's list: `true` if it was there.
    async fn unsuppress(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError>;
}
