//! Intake: a carrier's push authenticated and stored on `carrier-updates` before the answer;
//! nothing is parsed here.

use std::sync::atomic::Ordering;

use super::CarrierMessage;
use crate::app::Deps;
use crate::ports::{QueueName, StoreError};

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
