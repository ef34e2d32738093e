//! The outbox: `serve`'s default messenger. Every email is written as an RFC 5322 file
//! (`<message id>.eml`, what an SMTP server would be handed) and every SMS as JSON
//! (`<message id>.sms.json`), each atomically (written aside, then renamed). A message whose
//! file exists is not written again: sending is idempotent by the message's id.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use crate::domain::Channel;
use crate::notify::sms_segments;
use crate::ports::{Messenger, Outgoing, SendError};

macro_rules! text_header {
    ($($name:ident = $wire:literal;)*) => {$(
        #[derive(Clone)]
        struct $name(String);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($wire)
            }

            fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name(text.to_owned()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    )*};
}

text_header! {
    ContentLanguage = "Content-Language";
    ListUnsubscribe = "List-Unsubscribe";
    ListUnsubscribePost = "List-Unsubscribe-Post";
}

/// Writes messages into a folder.
#[derive(Debug, Clone)]
pub struct OutboxMessenger {
    dir: PathBuf,
    from_address: String,
}

impl OutboxMessenger {
    /// An outbox in `dir` (made if missing), emails from `from_address` under the merchant's
    /// name.
    pub fn new(dir: impl Into<PathBuf>, from_address: impl Into<String>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(OutboxMessenger { dir, from_address: from_address.into() })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The message as RFC 5322 bytes: encoded headers, a multipart/alternative body (text, then
/// HTML), `Content-Language`, a `Message-ID` from the ledger's id, and the one-click
/// unsubscribe headers (RFC 8058) when there is a link.
pub fn email_bytes(message: &Outgoing, from_address: &str) -> Result<Vec<u8>, SendError> {
    let from_address =
        from_address.parse().map_err(|_| SendError::Permanent("the sender address is not an email address".into()))?;
    let to: Mailbox =
        message.to.parse().map_err(|_| SendError::Permanent("the recipient is not an email address".into()))?;
    let mut builder = lettre::Message::builder()
        .from(Mailbox::new(Some(message.from_name.clone()), from_address))
        .to(to)
        .subject(&message.subject)
        .message_id(Some(format!("<{}@porchlight>", message.id)))
        .header(ContentLanguage(message.language.code().to_owned()));
    if let Some(url) = &message.unsubscribe_url {
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()));
    }
    let email = builder
        .multipart(MultiPart::alternative_plain_html(message.text.clone(), message.html.clone()))
        .map_err(|e| SendError::Permanent(format!("the email could not be built: {e}")))?;
    Ok(email.formatted())
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let aside = dir.join(format!(".{name}.partial"));
    std::fs::write(&aside, bytes)?;
    std::fs::rename(&aside, dir.join(name))
}

#[async_trait]
impl Messenger for OutboxMessenger {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let (name, bytes) = match message.channel {
            Channel::Email => (format!("{}.eml", message.id), email_bytes(message, &self.from_address)?),
            Channel::Sms => {
                let segments = sms_segments(&message.sms);
                let json = serde_json::json!({
                    "id": message.id,
                    "to": message.to,
                    "language": message.language.code(),
                    "text": message.sms,
                    "encoding": format!("{:?}", segments.encoding),
                    "segments": segments.segments,
                });
                (format!("{}.sms.json", message.id), serde_json::to_vec_pretty(&json).unwrap_or_default())
            }
        };
        let dir = self.dir.clone();
        let written = name.clone();
        tokio::task::spawn_blocking(move || {
            if dir.join(&written).exists() {
                return Ok(());
            }
            write_atomically(&dir, &written, &bytes)
        })
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
        .map_err(|e| SendError::Transient(format!("the outbox could not be written: {e}")))?;
        Ok(Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Language;

    fn outgoing(channel: Channel) -> Outgoing {
        Outgoing {
            id: "0123456789abcdef0123456789abcdef".into(),
            tenant_id: crate::domain::TenantId::random(),
            shipment_id: crate::domain::ShipmentId::random(),
            channel,
            to: if channel == Channel::Email { "ann@example.com".into() } else { "+4915112345678".into() },
            from_name: "Café Ünïcode & Co".into(),
            language: Language::De,
            subject: "Deine Bestellung #1001 ist unterwegs".into(),
            html: "<p>Hallo</p>".into(),
            text: "Hallo".into(),
            sms: "Acme: Bestellung #1001 ist unterwegs.".into(),
            unsubscribe_url: Some("https://track.example/u/token".into()),
        }
    }

    #[tokio::test]
    async fn emails_and_texts_are_written_once_each_as_files() {
        let dir = std::env::temp_dir().join(format!("porchlight-outbox-{}", uuid::Uuid::new_v4().simple()));
        let outbox = OutboxMessenger::new(&dir, "notifications@porchlight.example").expect("outbox");
        let email = outgoing(Channel::Email);
        assert_eq!(outbox.send(&email).await.expect("sent").as_deref(), Some("0123456789abcdef0123456789abcdef.eml"));
        let written = std::fs::read_to_string(dir.join("0123456789abcdef0123456789abcdef.eml")).expect("written");
        for header in [
            "Message-ID: <0123456789abcdef0123456789abcdef@porchlight>",
            "Content-Language: de",
            "List-Unsubscribe: <https://track.example/u/token>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "To: ann@example.com",
            "multipart/alternative",
        ] {
            assert!(written.contains(header), "{header} in {written}");
        }
        assert!(written.contains("From: =?utf-8?"), "a non-ASCII display name is encoded: {written}");
        std::fs::write(dir.join("0123456789abcdef0123456789abcdef.eml"), "kept").expect("marked");
        outbox.send(&email).await.expect("sent again");
        assert_eq!(
            std::fs::read_to_string(dir.join("0123456789abcdef0123456789abcdef.eml")).expect("read"),
            "kept",
            "never twice"
        );
        outbox.send(&outgoing(Channel::Sms)).await.expect("sent");
        let sms: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("0123456789abcdef0123456789abcdef.sms.json")).expect("written"),
        )
        .expect("json");
        assert_eq!((sms["to"].as_str(), sms["segments"].as_u64()), (Some("+4915112345678"), Some(1)));
        let bad = Outgoing { to: "not an address".into(), id: "f".repeat(32), ..email };
        assert!(matches!(outbox.send(&bad).await, Err(SendError::Permanent(_))));
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
