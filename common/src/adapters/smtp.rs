//! Email through an SMTP server (`porchlight serve --smtp-url smtp://[user:password@]host[:port]`),
//! SMS still to the outbox. The same RFC 5322 bytes as the outbox, `Message-ID` from the
//! message id. SMTP takes no idempotency key: a dispatcher that stops between the server's
//! answer and the ledger's record sends that message again after its lease, with the same
//! `Message-ID` (what receiving systems deduplicate by, if they do).
//!
//! Only plain SMTP (a relay on the same host or network, or a development server): TLS
//! (`smtps://`, STARTTLS) is not built in yet and such URLs are refused.

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::outbox::{OutboxMessenger, email_bytes};
use crate::domain::Channel;
use crate::ports::{Messenger, Outgoing, SendError};

/// Why an SMTP URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpUrlError {
    /// Not a URL at all.
    #[error("is not a URL: {0}")]
    NotUrl(String),
    /// Another scheme than `smtp`.
    #[error("must be smtp://[user:password@]host[:port] (TLS is not supported yet)")]
    Scheme,
    /// No host.
    #[error("must name a host")]
    NoHost,
}

/// Email by SMTP, SMS to the outbox.
pub struct SmtpMessenger {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from_address: String,
    sms: OutboxMessenger,
}

impl std::fmt::Debug for SmtpMessenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never shown.
        f.debug_struct("SmtpMessenger").field("from_address", &self.from_address).finish_non_exhaustive()
    }
}

impl SmtpMessenger {
    /// A messenger sending email through the server at `url` (port 25 unless given) from
    /// `from_address`, and SMS into `sms`.
    pub fn new(url: &str, from_address: &str, sms: OutboxMessenger) -> Result<Self, SmtpUrlError> {
        let parsed = url::Url::parse(url).map_err(|e| SmtpUrlError::NotUrl(e.to_string()))?;
        if parsed.scheme() != "smtp" {
            return Err(SmtpUrlError::Scheme);
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or(SmtpUrlError::NoHost)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(parsed.port().unwrap_or(25))
            .timeout(Some(std::time::Duration::from_secs(30)));
        if !parsed.username().is_empty() {
            let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
            let password = parsed.password().map(decode).unwrap_or_default();
            builder = builder.credentials(Credentials::new(decode(parsed.username()), password));
        }
        Ok(SmtpMessenger { transport: builder.build(), from_address: from_address.to_owned(), sms })
    }
}

#[async_trait]
impl Messenger for SmtpMessenger {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        if message.channel == Channel::Sms {
            return self.sms.send(message).await;
        }
        let bytes = email_bytes(message, &self.from_address)?;
        let from = self
            .from_address
            .parse()
            .map_err(|_| SendError::Permanent("the sender address is not an email address".into()))?;
        let to =
            message.to.parse().map_err(|_| SendError::Permanent("the recipient is not an email address".into()))?;
        let envelope =
            Envelope::new(Some(from), vec![to]).map_err(|e| SendError::Permanent(format!("no envelope: {e}")))?;
        match self.transport.send_raw(&envelope, &bytes).await {
            Ok(response) => Ok(Some(format!("smtp {}", response.code()))),
            // 550, 551 and 553: the mailbox does not exist or is not accepted (RFC 5321 4.2.3):
            // a hard bounce. Other permanent refusals are about the message or the sender.
            Err(error) if error.is_permanent() => match error.status().map(u16::from) {
                Some(550 | 551 | 553) => {
                    Err(SendError::Refused(format!("the smtp server refused the address: {error}")))
                }
                _ => Err(SendError::Permanent(format!("the smtp server refused: {error}"))),
            },
            Err(error) => Err(SendError::Transient(format!("smtp: {error}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Language;

    fn outbox() -> OutboxMessenger {
        let dir = std::env::temp_dir().join(format!("porchlight-smtp-{}", uuid::Uuid::new_v4().simple()));
        OutboxMessenger::new(dir, "notifications@example.com").expect("outbox")
    }

    #[test]
    fn only_plain_smtp_urls_are_taken() {
        let refused = |url: &str| SmtpMessenger::new(url, "n@example.com", outbox()).expect_err(url);
        assert_eq!(refused("smtps://mail.example.com"), SmtpUrlError::Scheme);
        assert_eq!(refused("http://mail.example.com"), SmtpUrlError::Scheme);
        assert!(matches!(refused("mail.example.com:25"), SmtpUrlError::Scheme | SmtpUrlError::NotUrl(_)));
        let messenger = SmtpMessenger::new("smtp://user:p%40ss@127.0.0.1:2525", "n@example.com", outbox()).expect("ok");
        assert!(!format!("{messenger:?}").contains("p@ss"), "the password is never printed");
    }

    /// A real SMTP server: PyPI's aiosmtpd, from the test venv (`scripts/test.sh` sets
    /// `PORCHLIGHT_TEST_PYTHON`), storing what it receives in a maildir.
    #[tokio::test]
    async fn email_reaches_a_real_smtp_server_as_the_outbox_would_write_it() {
        let python = std::env::var("PORCHLIGHT_TEST_PYTHON")
            .expect("PORCHLIGHT_TEST_PYTHON must name the test venv's python with aiosmtpd (scripts/test.sh sets it)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
        let maildir = std::env::temp_dir().join(format!("porchlight-maildir-{}", uuid::Uuid::new_v4().simple()));
        let mut server = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "aiosmtpd did not start listening");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let messenger =
            SmtpMessenger::new(&format!("smtp://127.0.0.1:{port}"), "notifications@example.com", outbox()).expect("ok");
        let message = Outgoing {
            id: "0123456789abcdef0123456789abcdef".into(),
            tenant_id: crate::domain::TenantId::random(),
            shipment_id: crate::domain::ShipmentId::random(),
            channel: Channel::Email,
            to: "ann@example.com".into(),
            from_name: "Acme Outfitters".into(),
            language: Language::De,
            subject: "Ihr Paket ist unterwegs".into(),
            html: "<p>Unterwegs</p>".into(),
            text: "Unterwegs".into(),
            sms: String::new(),
            unsubscribe_url: Some("https://track.example.com/u/token".into()),
        };
        let sent = messenger.send(&message).await;
        let received: Vec<String> = std::fs::read_dir(maildir.join("new"))
            .map(|dir| dir.filter_map(Result::ok).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
            .unwrap_or_default();
        let _ = server.kill();
        let _ = server.wait();
        let _ = std::fs::remove_dir_all(&maildir);
        assert_eq!(sent.expect("sent"), Some("smtp 250".to_owned()));
        assert_eq!(received.len(), 1, "one message in the server's maildir");
        let email = &received[0];
        assert!(email.contains("Message-ID: <0123456789abcdef0123456789abcdef@porchlight>"), "{email}");
        assert!(email.contains("Content-Language: de"));
        assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(email.contains("To: ann@example.com"));
    }
}
