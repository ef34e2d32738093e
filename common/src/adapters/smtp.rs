//! Email through an SMTP server (`porchlight serve --smtp-url ...`), SMS still to the outbox.
//! The same RFC 5322 bytes as the outbox, `Message-ID` from the message id. SMTP takes no
//! idempotency key: a dispatcher that stops between the server's answer and the ledger's
//! record sends that message again after its lease, with the same `Message-ID` (what
//! receiving systems deduplicate by, if they do).
//!
//! URLs: `smtp://[user:password@]host[:port]` plain (port 25; a relay on the same host or
//! network), `smtp://host[:port]?tls=starttls` upgrading with STARTTLS, required (port 587),
//! `smtps://host[:port]` TLS from the first byte (port 465). TLS is rustls; the server's
//! certificate is checked against the system's roots, plus the PEM certificates of
//! `--smtp-ca-file` for a relay with a private authority.

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
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
    /// Another scheme than `smtp` and `smtps`, or another `tls` than `starttls`.
    #[error("must be smtp://[user:password@]host[:port], with ?tls=starttls to upgrade, or smtps://...")]
    Scheme,
    /// No host.
    #[error("must name a host")]
    NoHost,
    /// The extra certificate authorities could not be read.
    #[error("certificate authorities are not PEM certificates: {0}")]
    Authorities(String),
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
    /// A messenger sending email through the server at `url` (see the module) from
    /// `from_address`, trusting the PEM certificates `authorities` beside the system's roots,
    /// and SMS into `sms`.
    pub fn new(
        url: &str,
        from_address: &str,
        authorities: Option<&[u8]>,
        sms: OutboxMessenger,
    ) -> Result<Self, SmtpUrlError> {
        let parsed = url::Url::parse(url).map_err(|e| SmtpUrlError::NotUrl(e.to_string()))?;
        // How the connection is secured, and its default port: known before the host is read,
        // so a wrong scheme is named as such.
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (port, secured) = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => (25, None),
            ("smtp", Some("starttls")) => (587, Some(Tls::Required as fn(TlsParameters) -> Tls)),
            ("smtps", None) => (465, Some(Tls::Wrapper as fn(TlsParameters) -> Tls)),
            _ => return Err(SmtpUrlError::Scheme),
        };
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or(SmtpUrlError::NoHost)?;
        let tls = match secured {
            None => Tls::None,
            Some(secure) => {
                let mut builder = TlsParameters::builder(host.to_owned());
                if let Some(pem) = authorities {
                    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                        return Err(SmtpUrlError::Authorities("no certificate found".into()));
                    }
                    let certificate =
                        Certificate::from_pem(pem).map_err(|e| SmtpUrlError::Authorities(e.to_string()))?;
                    builder = builder.add_root_certificate(certificate);
                }
                secure(builder.build_rustls().map_err(|e| SmtpUrlError::Authorities(e.to_string()))?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(parsed.port().unwrap_or(port))
            .tls(tls)
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
    fn smtp_urls_name_plain_starttls_or_tls() {
        let refused = |url: &str| SmtpMessenger::new(url, "n@example.com", None, outbox()).expect_err(url);
        assert_eq!(refused("http://mail.example.com"), SmtpUrlError::Scheme);
        assert_eq!(refused("smtp://mail.example.com?tls=sometimes"), SmtpUrlError::Scheme);
        assert_eq!(refused("smtps://mail.example.com?tls=starttls"), SmtpUrlError::Scheme);
        assert!(matches!(refused("mail.example.com:25"), SmtpUrlError::Scheme | SmtpUrlError::NotUrl(_)));
        let bad_authority = SmtpMessenger::new("smtps://mail.example.com", "n@example.com", Some(b"nope"), outbox());
        assert!(matches!(bad_authority, Err(SmtpUrlError::Authorities(_))), "{bad_authority:?}");
        for url in ["smtps://mail.example.com", "smtp://mail.example.com?tls=starttls"] {
            SmtpMessenger::new(url, "n@example.com", None, outbox()).expect(url);
        }
        let messenger =
            SmtpMessenger::new("smtp://user:p%40ss@127.0.0.1:2525", "n@example.com", None, outbox()).expect("ok");
        assert!(!format!("{messenger:?}").contains("p@ss"), "the password is never printed");
    }

    fn test_python() -> String {
        std::env::var("PORCHLIGHT_TEST_PYTHON")
            .expect("PORCHLIGHT_TEST_PYTHON must name the test venv's python with aiosmtpd (scripts/test.sh sets it)")
    }

    /// A real SMTP server: PyPI's aiosmtpd, from the test venv (`scripts/test.sh` sets
    /// `PORCHLIGHT_TEST_PYTHON`), on a free loopback port, storing what it receives in a
    /// maildir; `tls` are its TLS arguments. Stopped and removed when dropped.
    struct Server {
        process: std::process::Child,
        port: u16,
        maildir: std::path::PathBuf,
    }

    impl Server {
        async fn start(tls: &[&str]) -> Server {
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
            let maildir = std::env::temp_dir().join(format!("porchlight-maildir-{}", uuid::Uuid::new_v4().simple()));
            let process = std::process::Command::new(test_python())
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(tls)
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
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
            Server { process, port, maildir }
        }

        /// The messages it has received.
        fn received(&self) -> Vec<String> {
            std::fs::read_dir(self.maildir.join("new"))
                .map(|dir| dir.filter_map(Result::ok).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
                .unwrap_or_default()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.process.kill();
            let _ = self.process.wait();
            let _ = std::fs::remove_dir_all(&self.maildir);
        }
    }

    fn message() -> Outgoing {
        Outgoing {
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
        }
    }

    #[tokio::test]
    async fn email_reaches_a_real_smtp_server_as_the_outbox_would_write_it() {
        let server = Server::start(&[]).await;
        let url = format!("smtp://127.0.0.1:{}", server.port);
        let messenger = SmtpMessenger::new(&url, "notifications@example.com", None, outbox()).expect("ok");
        let sent = messenger.send(&message()).await;
        let received = server.received();
        assert_eq!(sent.expect("sent"), Some("smtp 250".to_owned()));
        assert_eq!(received.len(), 1, "one message in the server's maildir");
        let email = &received[0];
        assert!(email.contains("Message-ID: <0123456789abcdef0123456789abcdef@porchlight>"), "{email}");
        assert!(email.contains("Content-Language: de"));
        assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(email.contains("To: ann@example.com"));
    }

    /// A private certificate authority and a certificate it signed for 127.0.0.1 (made with the
    /// `cryptography` package, which the test venv has through moto): the folder holding
    /// `ca.pem`, `cert.pem` and `key.pem`.
    fn private_authority() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("porchlight-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let script = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
now = datetime.datetime.now(datetime.timezone.utc)
def certificate(subject, issuer, key, signer, ca):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(signer, hashes.SHA256())
name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
ca = certificate(name("Porchlight test authority"), name("Porchlight test authority"), ca_key, ca_key, True)
leaf = certificate(name("127.0.0.1"), ca.subject, key, ca_key, False)
pem = serialization.Encoding.PEM
open(sys.argv[1] + "/ca.pem", "wb").write(ca.public_bytes(pem))
open(sys.argv[1] + "/cert.pem", "wb").write(leaf.public_bytes(pem))
open(sys.argv[1] + "/key.pem", "wb").write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
        let made = std::process::Command::new(test_python()).args(["-c", script]).arg(&dir).status().expect("python");
        assert!(made.success(), "the test certificates were made");
        dir
    }

    #[tokio::test]
    async fn email_goes_over_starttls_and_smtps_to_a_server_whose_authority_is_trusted() {
        let pki = private_authority();
        let (cert, key) = (pki.join("cert.pem"), pki.join("key.pem"));
        let (cert, key) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
        let authority = std::fs::read(pki.join("ca.pem")).expect("ca");

        let starttls = Server::start(&["--tlscert", cert, "--tlskey", key]).await;
        let url = format!("smtp://127.0.0.1:{}?tls=starttls", starttls.port);
        let trusting = SmtpMessenger::new(&url, "notifications@example.com", Some(&authority), outbox()).expect("ok");
        assert_eq!(trusting.send(&message()).await.expect("sent"), Some("smtp 250".to_owned()));
        let untrusting = SmtpMessenger::new(&url, "notifications@example.com", None, outbox()).expect("ok");
        assert!(untrusting.send(&message()).await.is_err(), "a certificate no trusted authority signed is refused");
        let plain = SmtpMessenger::new(&format!("smtp://127.0.0.1:{}", starttls.port), "n@example.com", None, outbox())
            .expect("ok");
        assert!(plain.send(&message()).await.is_err(), "the server insists on STARTTLS");
        assert_eq!(starttls.received().len(), 1, "only the trusted, encrypted send arrived");

        let smtps = Server::start(&["--smtpscert", cert, "--smtpskey", key]).await;
        let url = format!("smtps://127.0.0.1:{}", smtps.port);
        let messenger = SmtpMessenger::new(&url, "notifications@example.com", Some(&authority), outbox()).expect("ok");
        assert_eq!(messenger.send(&message()).await.expect("sent"), Some("smtp 250".to_owned()));
        let received = smtps.received();
        assert_eq!(received.len(), 1);
        assert!(received[0].contains("Message-ID: <0123456789abcdef0123456789abcdef@porchlight>"));
        let _ = std::fs::remove_dir_all(&pki);
    }
}
