//! Merchants' webhooks, as AfterShip sends them: the events an endpoint takes, the rules its
//! target must keep (so Porchlight is never a proxy into a private network), the signature,
//! and the retry schedule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::DomainError;

/// Endpoints a merchant may register (AfterShip's limit).
pub const MAX_ENDPOINTS: usize = 10;
/// Attempts a delivery gets before it goes to the dead letters (AfterShip: the first and 13
/// retries).
pub const MAX_ATTEMPTS: u32 = 14;
/// The ports AfterShip delivers to.
pub const ALLOWED_PORTS: [u16; 3] = [443, 8080, 80];
/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "aftership-hmac-sha256";
/// The header naming the payload's version, and its value.
pub const VERSION_HEADER: (&str, &str) = ("as-webhook-version", "2026-07");

/// The header carrying a Returns event's signature (AfterShip Returns' name; the same
/// algorithm).
pub const RETURNS_SIGNATURE_HEADER: &str = "as-signature-hmac-sha256";

/// What an endpoint can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// A tracking's status or sub-status changed.
    TrackingUpdate,
    /// A tracking has had no news for the merchant's threshold.
    TrackingPendingTime,
    /// The estimated delivery date changed.
    EddRevise,
    /// An exception rule opened or reopened a case (a Porchlight extension, for the merchant's
    /// team; taken only by endpoints that name it).
    ExceptionCase,
    /// A return was asked for.
    #[serde(rename = "return.submitted")]
    ReturnSubmitted,
    /// A return was approved.
    #[serde(rename = "return.approved")]
    ReturnApproved,
    /// A return was rejected.
    #[serde(rename = "return.rejected")]
    ReturnRejected,
    /// A return was resolved (`done`).
    #[serde(rename = "return.resolved")]
    ReturnResolved,
    /// An approved return expired.
    #[serde(rename = "return.expired")]
    ReturnExpired,
    /// A return's shipment was attached or its tracking moved.
    #[serde(rename = "return.shipment.updated")]
    ReturnShipmentUpdated,
    /// Items of a return were received.
    #[serde(rename = "return.receiving.created")]
    ReturnReceivingCreated,
    /// An approved return asks for an exchange order (a Porchlight extension, for the
    /// storefront connector to create it; no payment is taken here).
    #[serde(rename = "return.exchange_order.requested")]
    ReturnExchangeRequested,
}

impl WebhookEvent {
    /// Every event.
    pub const ALL: [WebhookEvent; 12] = [
        WebhookEvent::TrackingUpdate,
        WebhookEvent::TrackingPendingTime,
        WebhookEvent::EddRevise,
        WebhookEvent::ExceptionCase,
        WebhookEvent::ReturnSubmitted,
        WebhookEvent::ReturnApproved,
        WebhookEvent::ReturnRejected,
        WebhookEvent::ReturnResolved,
        WebhookEvent::ReturnExpired,
        WebhookEvent::ReturnShipmentUpdated,
        WebhookEvent::ReturnReceivingCreated,
        WebhookEvent::ReturnExchangeRequested,
    ];

    /// The event's code, as in the payload's `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TrackingUpdate => "tracking_update",
            WebhookEvent::TrackingPendingTime => "tracking_pending_time",
            WebhookEvent::EddRevise => "edd_revise",
            WebhookEvent::ExceptionCase => "exception_case",
            WebhookEvent::ReturnSubmitted => "return.submitted",
            WebhookEvent::ReturnApproved => "return.approved",
            WebhookEvent::ReturnRejected => "return.rejected",
            WebhookEvent::ReturnResolved => "return.resolved",
            WebhookEvent::ReturnExpired => "return.expired",
            WebhookEvent::ReturnShipmentUpdated => "return.shipment.updated",
            WebhookEvent::ReturnReceivingCreated => "return.receiving.created",
            WebhookEvent::ReturnExchangeRequested => "return.exchange_order.requested",
        }
    }

    /// Reads [`WebhookEvent::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// Whether it is about a return (sent as AfterShip Returns sends its webhooks).
    pub fn is_return(self) -> bool {
        self.as_str().starts_with("return.")
    }

    /// The header its signature travels in.
    pub fn signature_header(self) -> &'static str {
        if self.is_return() { RETURNS_SIGNATURE_HEADER } else { SIGNATURE_HEADER }
    }
}

/// Whether a target may be an address on this machine or a private network: only when the
/// operator allows it (`--allow-private-webhooks`, for development).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetPolicy {
    /// https, AfterShip's ports, public addresses only.
    #[default]
    PublicOnly,
    /// Also http, any port, any address.
    AllowPrivate,
}

/// Checks a webhook target as registered: an absolute `https` URL on port 443, 8080 or 80,
/// without credentials, whose host is not an address the policy forbids (host names are
/// checked again, after DNS resolution, when connecting). The URL, parsed.
pub fn validate_target(text: &str, policy: TargetPolicy) -> Result<url::Url, DomainError> {
    let invalid = |reason: &str| DomainError::invalid("url", reason);
    if text.len() > 2048 {
        return Err(invalid("must be at most 2048 characters"));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    let private = policy == TargetPolicy::AllowPrivate;
    match url.scheme() {
        "https" => {}
        "http" if private => {}
        _ => return Err(invalid("must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    let port = url.port_or_known_default().unwrap_or(0);
    if !private && !ALLOWED_PORTS.contains(&port) {
        return Err(invalid("port must be 443, 8080 or 80"));
    }
    let forbidden = match url.host() {
        None => return Err(invalid("must name a host")),
        Some(url::Host::Ipv4(ip)) => is_forbidden_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_forbidden_address(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") || !name.contains('.')
        }
    };
    if forbidden && !private {
        return Err(invalid("must be a public address (not loopback, private, link-local or metadata)"));
    }
    Ok(url)
}

/// Whether a webhook must not connect to `ip`: loopback, unspecified, private (RFC 1918, IPv6
/// unique local), shared (100.64/10), link-local (where cloud metadata services live),
/// multicast, broadcast, reserved and documentation ranges; IPv4-mapped and -compatible IPv6
/// addresses are judged as the IPv4 address they carry.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| ipv4_compatible(v6)) {
            Some(v4) => is_forbidden_v4(v4),
            None => is_forbidden_v6(v6),
        },
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fd00:ec2::254 among them
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, which can reach IPv4 inside
}

/// `::a.b.c.d`, the deprecated IPv4-compatible form (not `::` or `::1`).
fn ipv4_compatible(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1))
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// The `aftership-hmac-sha256` of `body`: base64 of HMAC-SHA256 keyed with the secret's UTF-8
/// bytes.
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes keys of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// How long to wait after failed attempt `attempt` (1 for the first) before the next, without
/// jitter: 30 s doubling to 122,880 s (AfterShip's table); `None` after the last attempt.
pub fn retry_delay(attempt: u32) -> Option<Duration> {
    (1..MAX_ATTEMPTS).contains(&attempt).then(|| Duration::seconds(30 << (attempt - 1)))
}

/// `delay` spread by up to a tenth either way with `unit` in `[0, 1)`, so endpoints that
/// failed together are not retried together.
pub fn with_jitter(delay: Duration, unit: f64) -> Duration {
    let spread = delay.num_milliseconds() as f64 * 0.1 * (unit.clamp(0.0, 1.0) * 2.0 - 1.0);
    delay + Duration::milliseconds(spread as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_public_https_on_aftership_ports() {
        let ok = |u: &str| validate_target(u, TargetPolicy::PublicOnly).map(|_| ()).map_err(|e| e.reason);
        assert_eq!(ok("https://hooks.example.com/aftership"), Ok(()));
        assert_eq!(ok("https://hooks.example.com:8080/x?y=1"), Ok(()));
        assert_eq!(ok("https://hooks.example.com:80/x"), Ok(()));
        assert!(ok("http://hooks.example.com/x").expect_err("http").contains("https"));
        assert!(ok("https://hooks.example.com:8443/x").expect_err("port").contains("port"));
        assert!(ok("https://user:pw@hooks.example.com/").expect_err("credentials").contains("credentials"));
        for private in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://localhost/",
            "https://api.localhost/",
            "https://metadata.google.internal/",
            "https://intranet/",
            "https://2130706433/", // 127.0.0.1 as one number: the URL parser reads it as IPv4
        ] {
            assert!(ok(private).expect_err(private).contains("public"), "{private}");
        }
        assert!(ok("not a url").is_err());
    }

    #[test]
    fn development_targets_may_be_local() {
        let url = validate_target("http://127.0.0.1:9000/hook", TargetPolicy::AllowPrivate).expect("allowed");
        assert_eq!(url.port(), Some(9000));
        assert!(validate_target("ftp://127.0.0.1/", TargetPolicy::AllowPrivate).is_err());
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "52.94.236.248"] {
            assert!(!is_forbidden_address(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn signatures_match_aftership_documented_algorithm() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style
        // known answer, in base64.
        assert_eq!(
            sign_webhook("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }

    #[test]
    fn retries_double_from_30_seconds_for_68_hours() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(30)));
        assert_eq!(retry_delay(13), Some(Duration::seconds(122_880)));
        assert_eq!(retry_delay(14), None);
        let total: i64 = (1..MAX_ATTEMPTS).filter_map(retry_delay).map(|d| d.num_seconds()).sum();
        assert_eq!(total, 245_730); // 68.3 hours
        let jittered = with_jitter(Duration::seconds(100), 0.0);
        assert_eq!(jittered, Duration::seconds(90));
        assert_eq!(with_jitter(Duration::seconds(100), 0.5), Duration::seconds(100));
    }
}
