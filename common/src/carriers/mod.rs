//! Carrier adapters: one per carrier, each turning the carrier's pushes (webhooks) and poll
//! responses into [`TrackingUpdate`]s of normalized checkpoints.
//!
//! An adapter never touches the store. It authenticates and parses what a carrier sends, builds
//! the carrier's poll requests and parses the answers, maps every carrier event code to a
//! sub-status (keeping the raw code and message), and declares the credentials it needs. The
//! pipeline (`app::pipeline`) moves updates through the queue into shipments.

pub mod accounts;
pub mod dhl;
pub mod fedex;
pub mod http;
#[cfg(test)]
pub(crate) mod mock;
pub mod oauth;
pub mod sandbox;
pub mod ups;
pub mod upu;
pub mod usps;

#[cfg(test)]
type ReqwestClientForTests = crate::adapters::http_client::ReqwestClient;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::{CheckpointInput, Leg, Slug, TrackingNumber};
use crate::ports::HttpClient;

pub use accounts::{CredentialsError, check_credentials, operator_accounts};

/// What a carrier said about one of its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingUpdate {
    /// The carrier.
    pub slug: Slug,
    /// The number the events are about.
    pub tracking_number: TrackingNumber,
    /// The events, in any order; duplicates are harmless.
    pub events: Vec<CheckpointInput>,
    /// The last-mile carrier and number, when the carrier reported a handover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<Leg>,
    /// The delivery date the carrier schedules for it (its own estimate), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_delivery: Option<chrono::NaiveDate>,
}

/// One number to poll, with what the carrier may need besides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTarget {
    /// The number.
    pub tracking_number: TrackingNumber,
    /// When the shipment was created (the sandbox's journeys start then).
    pub since: DateTime<Utc>,
    /// Destination postal code, for carriers that require it.
    pub destination_postal_code: Option<String>,
    /// Ship date (`YYYYMMDD`), for carriers that require it.
    pub ship_date: Option<String>,
}

/// Why talking to a carrier failed. The poller backs off on all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// The carrier refused the credentials (401/403).
    #[error("the carrier refused the credentials")]
    Unauthorized,
    /// Too many requests (429); retry no sooner than `retry_after_seconds` when the carrier says.
    #[error("rate limited by the carrier")]
    RateLimited {
        /// The carrier's Retry-After, in seconds.
        retry_after_seconds: Option<u64>,
    },
    /// The carrier is down, slow or unreachable (5xx, timeout, connection error).
    #[error("carrier unavailable: {0}")]
    Unavailable(String),
    /// The answer is not in the documented shape.
    #[error("malformed carrier response: {0}")]
    Malformed(String),
    /// A credential the adapter needs is missing.
    #[error("missing credential {0}")]
    MissingCredential(&'static str),
}

/// A credential a carrier needs, as AfterShip's `CredentialField` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CredentialField {
    /// The field's key, e.g. `client_id`.
    pub key: &'static str,
    /// Its label for people.
    pub name: &'static str,
    /// Whether it is secret (never echoed back).
    pub secret: bool,
}

/// Credentials for one carrier account: field key to value. `Debug` shows keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials(pub BTreeMap<String, String>);

impl Credentials {
    /// Whether every field of `fields` has a value: what a poll with these credentials needs.
    pub fn cover(&self, fields: &[CredentialField]) -> bool {
        fields.iter().all(|field| self.require(field.key).is_ok())
    }

    /// The value of `key`, or `MissingCredential`.
    pub fn require(&self, key: &'static str) -> Result<&str, CarrierError> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty()).ok_or(CarrierError::MissingCredential(key))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// How a carrier authenticates its webhook pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAuth {
    /// Base64 HMAC-SHA256 of the raw body with the shared secret, in `header`.
    HmacSha256Base64 {
        /// The header carrying the signature.
        header: &'static str,
    },
    /// Hex HMAC-SHA256 of the raw body with the shared secret, in `header`.
    HmacSha256Hex {
        /// The header carrying the signature.
        header: &'static str,
    },
    /// The shared secret itself, in `header` (what the carrier echoes from the subscription).
    SharedToken {
        /// The header carrying the token.
        header: &'static str,
    },
}

impl WebhookAuth {
    /// Whether `headers` and `body` carry proof of `secret`. Compares in constant time.
    pub fn verify(self, secret: &str, header: impl Fn(&str) -> Option<String>, body: &[u8]) -> bool {
        match self {
            WebhookAuth::HmacSha256Base64 { header: name } | WebhookAuth::HmacSha256Hex { header: name } => {
                let Some(given) = header(name) else { return false };
                let given = match self {
                    WebhookAuth::HmacSha256Base64 { .. } => BASE64_ANY_PADDING.decode(given.trim()).ok(),
                    _ => hex::decode(given.trim()).ok(),
                };
                let Some(given) = given else { return false };
                let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return false };
                mac.update(body);
                mac.verify_slice(&given).is_ok()
            }
            WebhookAuth::SharedToken { header: name } => {
                let Some(given) = header(name) else { return false };
                bool::from(given.trim().as_bytes().ct_eq(secret.as_bytes()))
            }
        }
    }
}

/// The HMAC-SHA256 of `body` with `secret`, base64: what senders put in signature headers
/// (merchants' webhooks sign the same way).
pub use crate::domain::sign_webhook as sign_base64;

/// Standard base64 that takes signatures with or without their `=` padding, as carriers send
/// both.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `text` escaped for a URL path segment or query value: every byte but ASCII letters and
/// digits percent-encoded, so a tracking number can never add a segment or a parameter.
pub fn url_escaped(text: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
}

/// How fast Porchlight may call a carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a second.
    pub per_second: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// A carrier integration. See the module documentation for the contract.
#[async_trait]
pub trait CarrierAdapter: Send + Sync {
    /// The carrier's slug.
    fn slug(&self) -> &'static str;
    /// The credentials a merchant's courier connection must supply (empty when none).
    fn credential_fields(&self) -> &'static [CredentialField];
    /// How the carrier signs its webhooks; `None` when it does not push.
    fn webhook_auth(&self) -> Option<WebhookAuth>;
    /// Parses a webhook body the carrier pushed. `Malformed` when it is not in the documented
    /// shape; the pipeline quarantines it with the reason.
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError>;
    /// Numbers one poll request may carry.
    fn max_batch(&self) -> usize;
    /// Whether the carrier has a tracking API to poll; push-only carriers say no.
    fn polls(&self) -> bool {
        true
    }
    /// The carrier's published rate limit.
    fn rate_limit(&self) -> RateLimit;
    /// Polls `targets` (at most [`CarrierAdapter::max_batch`]) with `credentials`. Numbers the
    /// carrier does not know yet are left out of the answer.
    async fn poll(
        &self,
        http: &dyn HttpClient,
        credentials: &Credentials,
        targets: &[PollTarget],
        now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError>;
}

/// The adapters of one deployment, by slug.
#[derive(Clone, Default)]
pub struct CarrierRegistry {
    adapters: BTreeMap<&'static str, Arc<dyn CarrierAdapter>>,
}

impl CarrierRegistry {
    /// Every adapter Porchlight ships.
    pub fn standard() -> Self {
        let mut registry = CarrierRegistry::default();
        registry.register(Arc::new(sandbox::SandboxCarrier));
        registry.register(Arc::new(ups::UpsCarrier::new(ups::PRODUCTION)));
        registry.register(Arc::new(fedex::FedexCarrier::new(fedex::PRODUCTION)));
        registry.register(Arc::new(usps::UspsCarrier::new(usps::PRODUCTION)));
        registry.register(Arc::new(dhl::DhlCarrier::new(dhl::PRODUCTION)));
        for slug in crate::couriers::postal_slugs() {
            // USPS items carrying S10 numbers are polled through the USPS adapter.
            if slug != "usps" {
                registry.register(Arc::new(upu::UpuCarrier::new(slug)));
            }
        }
        registry
    }

    /// Adds or replaces an adapter.
    pub fn register(&mut self, adapter: Arc<dyn CarrierAdapter>) {
        self.adapters.insert(adapter.slug(), adapter);
    }

    /// The adapter for `slug`.
    pub fn get(&self, slug: &str) -> Option<&Arc<dyn CarrierAdapter>> {
        self.adapters.get(slug)
    }

    /// The slugs with an adapter.
    pub fn slugs(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.adapters.keys().copied()
    }
}

/// Operator-configured secrets for carriers' webhooks, by slug. `Debug` shows slugs only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookSecrets(pub BTreeMap<String, String>);

impl WebhookSecrets {
    /// Reads one `SLUG=SECRET` setting; the slug is folded to lower case. The error names the
    /// slug part only, never the secret.
    pub fn parse_entry(raw: &str) -> Result<(String, String), String> {
        match raw.split_once('=') {
            Some((slug, secret)) if !slug.trim().is_empty() && !secret.is_empty() => {
                Ok((slug.trim().to_ascii_lowercase(), secret.to_owned()))
            }
            _ => Err(format!("{:?} is not SLUG=SECRET", raw.split('=').next().unwrap_or_default())),
        }
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_or_without_padding_and_in_hex() {
        let body = b"{}";
        let signature = sign_base64("s3cret", body);
        assert!(signature.ends_with('='), "a 32-byte MAC pads: {signature}");
        let header = |sig: String| move |name: &str| (name == "x-signature").then(|| sig.clone());
        let base64 = WebhookAuth::HmacSha256Base64 { header: "x-signature" };
        assert!(base64.verify("s3cret", header(signature.trim_end_matches('=').to_owned()), body));
        assert!(!base64.verify("s3cret", header("not base64!".into()), body));
        let mac = base64::engine::general_purpose::STANDARD.decode(&signature).expect("base64");
        let hex = WebhookAuth::HmacSha256Hex { header: "x-signature" };
        assert!(hex.verify("s3cret", header(hex::encode(&mac)), body));
        assert!(hex.verify("s3cret", header(hex::encode_upper(&mac)), body));
        assert!(!hex.verify("s3cret", header(hex::encode(&mac[1..])), body));
    }

    #[test]
    fn webhook_signatures_verify_only_with_the_secret_and_the_same_body() {
        let body = br#"{"event":"x"}"#;
        let signature = sign_base64("s3cret", body);
        let auth = WebhookAuth::HmacSha256Base64 { header: "x-signature" };
        let header = |sig: String| move |name: &str| (name == "x-signature").then(|| sig.clone());
        assert!(auth.verify("s3cret", header(signature.clone()), body));
        assert!(!auth.verify("other", header(signature.clone()), body));
        assert!(!auth.verify("s3cret", header(signature), b"tampered"));
        assert!(!auth.verify("s3cret", |_: &str| None, body));
        let token = WebhookAuth::SharedToken { header: "credential" };
        assert!(token.verify("tok", |_: &str| Some("tok".into()), body));
        assert!(!token.verify("tok", |_: &str| Some("tok2".into()), body));
    }

    #[test]
    fn credentials_never_print_their_values() {
        let credentials = Credentials(BTreeMap::from([("client_secret".into(), "hunter2".into())]));
        assert!(!format!("{credentials:?}").contains("hunter2"));
        assert_eq!(credentials.require("client_secret"), Ok("hunter2"));
        assert_eq!(credentials.require("client_id"), Err(CarrierError::MissingCredential("client_id")));
    }
}

/// A string field of a carrier payload, borrowed from the body when it has no escapes (the
/// common case) and owned otherwise. Unlike `Cow<str>`, it borrows inside `Option` and `Vec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub std::borrow::Cow<'a, str>);

impl<'a> From<&'a str> for Text<'a> {
    fn from(value: &'a str) -> Self {
        Text(std::borrow::Cow::Borrowed(value))
    }
}

impl<'a> std::ops::Deref for Text<'a> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed(value)))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(value.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Deserializes a carrier body: UTF-8 is checked once for the whole body (instead of per
/// string), then parsed as JSON. `label` names the payload in errors.
pub fn from_json<'a, T: Deserialize<'a>>(body: &'a [u8], label: &str) -> Result<T, CarrierError> {
    let text = std::str::from_utf8(body).map_err(|e| CarrierError::Malformed(format!("{label}: {e}")))?;
    serde_json::from_str(text).map_err(|e| CarrierError::Malformed(format!("{label}: {e}")))
}

/// A sub-status read from an event's free text, for carriers whose codes are coarse (DHL's
/// `transit`) or unknown to the adapter. `None` when nothing matches.
pub fn subtag_from_text(text: &str) -> Option<crate::domain::Subtag> {
    let text = text.to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    let code = if has("returned to sender") || has("returned to shipper") || has("return to sender completed") {
        "Exception_011"
    } else if has("return") && (has("sender") || has("shipper")) {
        "Exception_010"
    } else if has("refused") {
        "Exception_003"
    } else if has("moved") && has("address") {
        "Exception_002"
    } else if has("address") && (has("incorrect") || has("insufficient") || has("unknown") || has("invalid")) {
        "Exception_007"
    } else if has("lost") {
        "Exception_013"
    } else if has("damage") {
        "Exception_012"
    } else if (has("customs") || has("clearance")) && (has("delay") || has("held") || has("hold")) {
        "Exception_004"
    } else if has("business closed") {
        "AttemptFail_003"
    } else if has("attempt") || has("notice left") || has("not available") || has("no one") || has("not home") {
        "AttemptFail_002"
    } else if has("available for pickup")
        || has("ready for pickup")
        || has("awaiting collection")
        || has("ready for collection")
    {
        "AvailableForPickup_001"
    } else if has("picked up at") || has("collected by") {
        "Delivered_002"
    } else if has("delivered") {
        "Delivered_001"
    } else if has("out for delivery") || has("with delivery courier") || has("on vehicle for delivery") {
        "OutForDelivery_001"
    } else if (has("customs") || has("clearance")) && (has("released") || has("cleared") || has("complete")) {
        "InTransit_005"
    } else if has("customs") || has("clearance") {
        "InTransit_006"
    } else if has("arrived") && has("country") {
        "InTransit_004"
    } else if has("arrived") || has("arrival") {
        "InTransit_003"
    } else if has("departed") || has("departure") || has("left") {
        "InTransit_007"
    } else if has("picked up") || has("accepted") || has("acceptance") || has("posting") || has("collected") {
        "InTransit_002"
    } else if has("label created") || has("information received") || has("pre-shipment") || has("electronic") {
        "InfoReceived_001"
    } else {
        return None;
    };
    crate::domain::Subtag::parse(code).ok()
}

/// A carrier's local date (`YYYYMMDD` or `YYYY-MM-DD`) and time (`HHMMSS` or `HH:MM:SS`), with
/// the same moment in GMT when the carrier gives it: the result keeps the local wall time and
/// carries the offset (`2024-04-22T21:29:01-04:00`), as AfterShip reports checkpoint times.
/// Without GMT, the local time is kept without an offset.
pub fn carrier_time(local_date: &str, local_time: &str, gmt: Option<(&str, &str)>) -> Option<crate::domain::EventTime> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
    // Digits only, so that 20240422, 2024-04-22, 093000 and 09:30:00 read alike.
    let digits = |raw: &str| -> Option<([u32; 8], usize)> {
        let mut out = [0u32; 8];
        let mut len = 0;
        for byte in raw.bytes().filter(u8::is_ascii_digit) {
            *out.get_mut(len)? = u32::from(byte - b'0');
            len += 1;
        }
        Some((out, len))
    };
    let date = |raw: &str| {
        let (d, len) = digits(raw)?;
        if len != 8 {
            return None;
        }
        let year = (d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]) as i32;
        NaiveDate::from_ymd_opt(year, d[4] * 10 + d[5], d[6] * 10 + d[7])
    };
    let time = |raw: &str| {
        let (d, len) = digits(raw)?;
        match len {
            0 => NaiveTime::from_hms_opt(0, 0, 0),
            4 => NaiveTime::from_hms_opt(d[0] * 10 + d[1], d[2] * 10 + d[3], 0),
            6 => NaiveTime::from_hms_opt(d[0] * 10 + d[1], d[2] * 10 + d[3], d[4] * 10 + d[5]),
            _ => None,
        }
    };
    let local = NaiveDateTime::new(date(local_date)?, time(local_time)?);
    let gmt = gmt.and_then(|(d, t)| Some(NaiveDateTime::new(date(d)?, time(t)?)));
    match gmt {
        Some(gmt) => {
            // Offsets are whole quarter hours; round away the seconds between two scans.
            let minutes = ((local - gmt).num_seconds() as f64 / 900.0).round() as i64 * 15;
            if minutes.abs() > 14 * 60 {
                return None;
            }
            let sign = if minutes < 0 { '-' } else { '+' };
            let mut text = wall_clock(&local);
            use std::fmt::Write;
            let _ = write!(text, "{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60);
            let instant = (local - chrono::Duration::minutes(minutes)).and_utc();
            Some(crate::domain::EventTime::from_parts(text, instant))
        }
        None => Some(crate::domain::EventTime::from_parts(wall_clock(&local), local.and_utc())),
    }
}

/// `2024-04-22T21:29:01`, without chrono's format machinery (this runs for every event).
fn wall_clock(at: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let mut text = String::with_capacity(25);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    text
}

#[cfg(test)]
mod time_tests {
    use super::carrier_time;

    #[test]
    fn local_times_carry_the_offset_from_gmt() {
        let at = carrier_time("20240422", "212901", Some(("20240423", "012901"))).expect("time");
        assert_eq!(at.as_str(), "2024-04-22T21:29:01-04:00");
        assert_eq!(at.instant().to_rfc3339(), "2024-04-23T01:29:01+00:00");
        let east = carrier_time("2024-04-22", "09:00:00", Some(("20240422", "01:00:00"))).expect("time");
        assert_eq!(east.as_str(), "2024-04-22T09:00:00+08:00");
        assert_eq!(
            carrier_time("20240422", "0930", None).map(|t| t.as_str().to_owned()),
            Some("2024-04-22T09:30:00".into())
        );
        assert_eq!(carrier_time("2024042", "093000", None), None);
        assert_eq!(carrier_time("20240422", "093000", Some(("20240401", "093000"))), None);
    }
}
