//! Sending one message on its channel: the outbox folder or SMTP (`serve`), SES and SNS (AWS).

use std::fmt;

use async_trait::async_trait;

use crate::domain::{Channel, Language, ShipmentId, TenantId};

/// A message ready to go. Holds a recipient's contact: its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The ledger's message id: senders use it to send idempotently (the outbox's file name,
    /// the email's `Message-ID`, a provider's deduplication key).
    pub id: String,
    /// The merchant it is sent for (providers tag the message with it, so their bounce and
    /// complaint reports find the merchant's suppression list).
    pub tenant_id: TenantId,
    /// The shipment it is about.
    pub shipment_id: ShipmentId,
    /// Email or SMS.
    pub channel: Channel,
    /// The email address or E.164 number.
    pub to: String,
    /// The merchant's name, as the sender's display name.
    pub from_name: String,
    /// The language it is written in (`Content-Language`).
    pub language: Language,
    /// The email's subject.
    pub subject: String,
    /// The email's HTML part.
    pub html: String,
    /// The email's plain-text part.
    pub text: String,
    /// The SMS's text.
    pub sms: String,
    /// The one-click unsubscribe link (`List-Unsubscribe`), when there is one.
    pub unsubscribe_url: Option<String>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("language", &self.language)
            .finish()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (the channel was unavailable).
    #[error("temporarily not sent: {0}")]
    Transient(String),
    /// Never (the message is malformed, the sender not allowed).
    #[error("not sent: {0}")]
    Permanent(String),
    /// Never to this address: the receiving server refused it for good (a hard bounce, which
    /// puts the address on the merchant's suppression list).
    #[error("address refused: {0}")]
    Refused(String),
    /// Never to this number: its owner opted out of text messages at the provider (which puts
    /// the number on the merchant's suppression list).
    #[error("number opted out: {0}")]
    OptedOut(String),
}

/// A channel's sender.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// Sends `message`, idempotently by its id: sending the same id again must not deliver it
    /// twice where the channel allows that to be avoided. The provider's id for it, if any.
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError>;
}
