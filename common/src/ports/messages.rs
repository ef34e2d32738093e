//! The message ledger: every notification planned, at most one per shipment, trigger, channel
//! and recipient, with when it is due, its lease while being sent, and its outcome.
//!
//! It is what makes sending at most once under duplicated, reordered and retried status
//! changes: planning a message whose id exists does nothing, and a message is sent only by
//! whoever leased it. A sender that crashes after sending and before [`MessageLedger::finish`]
//! leaves the message to be leased again when its lease runs out; senders therefore send
//! idempotently by the message's id (the outbox writes one file per id; providers get the id
//! as their deduplication key where they take one).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::domain::{Channel, Language, ShipmentId, TenantId, Trigger};

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting to be sent, from `due_at`.
    Planned,
    /// Handed to the channel.
    Sent,
    /// Given up on.
    Failed,
    /// Not sent on purpose (unsubscribed, suppressed address, stale by the time it was due).
    Suppressed,
}

impl MessageState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Planned => "planned",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Suppressed => "suppressed",
        }
    }

    /// Reads [`MessageState::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<MessageState> {
        [MessageState::Planned, MessageState::Sent, MessageState::Failed, MessageState::Suppressed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One message in the ledger. Holds a recipient's contact: its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// [`LedgerEntry::message_id`] of the fields below.
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// The shipment it is about.
    pub shipment_id: ShipmentId,
    /// What fired it.
    pub trigger: Trigger,
    /// How it goes.
    pub channel: Channel,
    /// The email address or E.164 number (personal data).
    pub recipient: String,
    /// The language it is written in.
    pub language: Language,
    /// When it was planned.
    pub planned_at: DateTime<Utc>,
    /// When it may be sent (after the rule's delay and quiet hours).
    pub due_at: DateTime<Utc>,
    /// Leases taken so far.
    pub attempts: u32,
    /// Where it is.
    pub state: MessageState,
    /// When it left `Planned`.
    pub finished_at: Option<DateTime<Utc>>,
    /// The provider's id once sent, or why it failed or was suppressed; never personal data.
    pub detail: Option<String>,
    /// A test the team sent itself from the designer: the trigger's message about the
    /// shipment (or the sample parcel), to a recipient who need not be its subscriber, with no
    /// unsubscribe link, and not counted in notification reach.
    pub test: bool,
}

impl fmt::Debug for LedgerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerEntry")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("shipment_id", &self.shipment_id)
            .field("trigger", &self.trigger)
            .field("channel", &self.channel)
            .field("language", &self.language)
            .field("due_at", &self.due_at)
            .field("attempts", &self.attempts)
            .field("state", &self.state)
            .field("test", &self.test)
            .finish()
    }
}

impl LedgerEntry {
    /// The id of the one message a shipment may get for a trigger, channel and recipient: 32
    /// hex characters of a SHA-256 over them (so the contact never appears in a key).
    /// `recipient` is compared as given: callers pass emails lower-cased, numbers in E.164.
    pub fn message_id(
        tenant: &TenantId,
        shipment: &ShipmentId,
        trigger: Trigger,
        channel: Channel,
        recipient: &str,
    ) -> String {
        let identity =
            [tenant.as_str(), shipment.as_str(), trigger.as_str(), channel.as_str(), recipient].join("\u{1f}");
        hex::encode(&Sha256::digest(identity.as_bytes())[..16])
    }

    /// A new planned entry, its id computed.
    #[allow(clippy::too_many_arguments)] // every field of a message's identity and timing, named at the call
    pub fn planned(
        tenant: TenantId,
        shipment: ShipmentId,
        trigger: Trigger,
        channel: Channel,
        recipient: String,
        language: Language,
        planned_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Self {
        LedgerEntry {
            id: LedgerEntry::message_id(&tenant, &shipment, trigger, channel, &recipient),
            tenant_id: tenant,
            shipment_id: shipment,
            trigger,
            channel,
            recipient,
            language,
            planned_at,
            due_at,
            attempts: 0,
            state: MessageState::Planned,
            finished_at: None,
            detail: None,
            test: false,
        }
    }
}

/// The ledger of every message, keyed by tenant.
#[async_trait]
pub trait MessageLedger: Send + Sync {
    /// Records a planned message unless one with its id exists, in any state: `true` if it
    /// was planned now.
    async fn plan(&self, entry: &LedgerEntry) -> Result<bool, StoreError>;
    /// Leases up to `max` planned messages of any tenant that are due by `now` and not leased
    /// (or whose lease ran out), earliest due first, for `lease`; each lease counts an attempt.
    async fn lease_due(&self, now: DateTime<Utc>, lease: Duration, max: usize) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Records how a planned message ended (`state` is not `Planned`). `NotFound` if the
    /// tenant has no such message; a message that ended already keeps its first ending.
    async fn finish(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        state: MessageState,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Puts a planned message back, due at `due_at` (a channel's transient failure, quiet
    /// hours), its lease released. `NotFound` if the tenant has no such planned message.
    async fn reschedule(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        id: &str,
        due_at: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<(), StoreError>;
    /// A shipment's messages, earliest planned first.
    async fn shipment_messages(&self, tenant: &TenantId, shipment: &ShipmentId)
    -> Result<Vec<LedgerEntry>, StoreError>;
    /// Blanks a message's recipient (a shopper's erasure or the personal-data retention); the
    /// entry, its id and its state stay, so that it is never sent again. `NotFound` if the
    /// tenant has no such message.
    async fn erase_recipient(&self, tenant: &TenantId, shipment: &ShipmentId, id: &str) -> Result<(), StoreError>;
}
