//! Checkpoints: one carrier event each, with a stable identity so that an event delivered twice
//! (or by both a webhook and a poll) is stored once.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::{CountryCode, DomainError, Slug, Subtag, Tag, TrackingNumber};

/// When something happened, as the carrier wrote it.
///
/// Carriers give local times, with or without an offset. The text is kept as given (AfterShip
/// returns it so), and an instant is derived for ordering: a time without an offset is read as
/// UTC, which is as good as can be done without knowing the location's zone.
#[derive(Clone)]
pub struct EventTime {
    raw: String,
    instant: DateTime<Utc>,
}

/// The date part of a time as written (`2026-03-01T18:00:00+01:00` → 2026-03-01): the local
/// date where the carrier or merchant wrote it.
pub fn written_date(raw: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw.trim().get(..10)?, "%Y-%m-%d").ok()
}

impl EventTime {
    /// Parses RFC 3339 (`2026-03-01T10:00:00+08:00`), a local date-time without offset
    /// (`2026-03-01T10:00:00`, optionally with fractional seconds), or a bare date (`2026-03-01`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let text = raw.trim();
        if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
            return Ok(EventTime { raw: text.to_owned(), instant: with_offset.with_timezone(&Utc) });
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(EventTime { raw: text.to_owned(), instant: local.and_utc() });
            }
        }
        if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
            return Ok(EventTime { raw: text.to_owned(), instant: midnight.and_utc() });
        }
        Err(DomainError::invalid(
            "checkpoint_time",
            format!("{text:?} is not an ISO 8601 date-time such as 2026-03-01T10:00:00+08:00"),
        ))
    }

    /// A time whose text and instant the caller computed together (the text must read as that
    /// instant, as [`EventTime::parse`] would read it).
    pub(crate) fn from_parts(raw: String, instant: DateTime<Utc>) -> Self {
        EventTime { raw, instant }
    }

    /// An instant in UTC, written as RFC 3339.
    pub fn from_utc(instant: DateTime<Utc>) -> Self {
        EventTime { raw: instant.to_rfc3339_opts(SecondsFormat::Secs, true), instant }
    }

    /// The time as the carrier wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant used for ordering.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }
}

impl fmt::Debug for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl PartialEq for EventTime {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for EventTime {}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        EventTime::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A checkpoint's identity: the first 128 bits of a SHA-256 digest of what makes the event that
/// event. Written as 32 lowercase hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckpointHash(u128);

impl fmt::Display for CheckpointHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for CheckpointHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for CheckpointHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CheckpointHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if raw.len() != 32 {
            return Err(serde::de::Error::custom("a checkpoint hash is 32 hexadecimal characters"));
        }
        u128::from_str_radix(&raw, 16).map(CheckpointHash).map_err(serde::de::Error::custom)
    }
}

/// Who reported a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointSource {
    /// The carrier, by webhook or poll.
    Carrier,
    /// The merchant, e.g. by marking a tracking as completed.
    User,
}

/// A carrier event as an adapter parsed it, before it joins a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInput {
    /// The courier of the leg this event belongs to.
    pub slug: Slug,
    /// The tracking number of the leg this event belongs to.
    pub tracking_number: TrackingNumber,
    /// When it happened.
    pub checkpoint_time: EventTime,
    /// The carrier's text.
    pub message: String,
    /// The normalized sub-status; the status follows from it.
    pub subtag: Subtag,
    /// The carrier's own event code, kept verbatim.
    pub raw_tag: Option<String>,
    /// Free-text location as the carrier gives it.
    pub location: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country or region.
    pub country_region: Option<CountryCode>,
    /// Who signed for the parcel, on delivery events.
    pub signed_by: Option<String>,
    /// Who reported it.
    pub source: CheckpointSource,
    /// The carrier's code matched none of its adapter's rules: the sub-status is the generic
    /// fallback (carrier health counts these, see `domain::analytics`).
    pub unmapped: bool,
}

impl CheckpointInput {
    /// An event with only its essentials; the optional details (location, carrier code, signer)
    /// start empty for the caller to fill in.
    pub fn new(
        slug: Slug,
        tracking_number: TrackingNumber,
        checkpoint_time: EventTime,
        subtag: Subtag,
        message: impl Into<String>,
        source: CheckpointSource,
    ) -> Self {
        CheckpointInput {
            slug,
            tracking_number,
            checkpoint_time,
            message: message.into(),
            subtag,
            raw_tag: None,
            location: None,
            city: None,
            state: None,
            postal_code: None,
            country_region: None,
            signed_by: None,
            source,
            unmapped: false,
        }
    }

    /// A carrier's event whose code the adapter mapped to `mapped`; a code no rule knows
    /// (`None`) becomes a generic transit event (`InTransit_001`) marked `unmapped`.
    pub fn from_carrier(
        slug: Slug,
        tracking_number: TrackingNumber,
        checkpoint_time: EventTime,
        mapped: Option<Subtag>,
        message: impl Into<String>,
    ) -> Self {
        let subtag = mapped.unwrap_or_else(|| Subtag::parse("InTransit_001").expect("a published sub-status"));
        let mut input =
            CheckpointInput::new(slug, tracking_number, checkpoint_time, subtag, message, CheckpointSource::Carrier);
        input.unmapped = mapped.is_none();
        input
    }
}

/// A checkpoint on a shipment's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The courier of the leg.
    pub slug: Slug,
    /// The tracking number of the leg.
    pub tracking_number: TrackingNumber,
    /// When it happened.
    pub checkpoint_time: EventTime,
    /// When Porchlight first stored it.
    pub created_at: DateTime<Utc>,
    /// The carrier's text.
    pub message: String,
    /// The normalized status.
    pub tag: Tag,
    /// The normalized sub-status.
    pub subtag: Subtag,
    /// The carrier's own event code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_tag: Option<String>,
    /// Free-text location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_region: Option<CountryCode>,
    /// Who signed, on delivery events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Who reported it.
    pub source: CheckpointSource,
    /// The carrier's code matched none of its adapter's rules (the sub-status is a fallback).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmapped: bool,
    /// The event's identity: see [`Checkpoint::new`].
    pub hash: CheckpointHash,
}

impl Checkpoint {
    /// A checkpoint for `input`, first stored at `created_at`.
    ///
    /// Its `hash` is a digest of (slug, compact tracking number, instant, raw code, location,
    /// city, country, message): the same event from any source gets the same hash.
    pub fn new(input: CheckpointInput, created_at: DateTime<Utc>) -> Self {
        let mut digest = Sha256::new();
        digest.update(input.slug.as_str().as_bytes());
        digest.update([0u8]);
        digest.update(input.tracking_number.compact().as_bytes());
        digest.update([0u8]);
        digest.update(input.checkpoint_time.instant().timestamp().to_be_bytes());
        let fields = [
            input.raw_tag.as_deref().unwrap_or(""),
            input.location.as_deref().unwrap_or(""),
            input.city.as_deref().unwrap_or(""),
            input.country_region.as_ref().map(CountryCode::as_str).unwrap_or(""),
            input.message.trim(),
        ];
        for field in fields {
            digest.update([0u8]);
            digest.update(field.as_bytes());
        }
        let bytes = digest.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&bytes[..16]);
        let hash = CheckpointHash(u128::from_be_bytes(first));
        Checkpoint {
            tag: input.subtag.tag(),
            slug: input.slug,
            tracking_number: input.tracking_number,
            checkpoint_time: input.checkpoint_time,
            created_at,
            message: input.message,
            subtag: input.subtag,
            raw_tag: input.raw_tag,
            location: input.location,
            city: input.city,
            state: input.state,
            postal_code: input.postal_code,
            country_region: input.country_region,
            signed_by: input.signed_by,
            source: input.source,
            unmapped: input.unmapped,
            hash,
        }
    }

    /// The total order of a timeline: by instant, then progress, then sub-status, then identity.
    /// It depends only on the event itself, never on when it arrived.
    pub fn timeline_order(&self, other: &Self) -> Ordering {
        self.checkpoint_time
            .instant()
            .cmp(&other.checkpoint_time.instant())
            .then(self.tag.cmp(&other.tag))
            .then(self.subtag.cmp(&other.subtag))
            .then_with(|| self.hash.cmp(&other.hash))
    }

    /// Whether this event belongs to the leg (`slug`, `tracking_number`).
    pub fn is_on_leg(&self, slug: &Slug, tracking_number: &TrackingNumber) -> bool {
        self.slug == *slug && self.tracking_number.compact() == tracking_number.compact()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(message: &str, time: &str) -> CheckpointInput {
        let mut input = CheckpointInput::new(
            Slug::parse("ups").expect("slug"),
            TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            EventTime::parse(time).expect("time"),
            Subtag::parse("InTransit_003").expect("subtag"),
            message,
            CheckpointSource::Carrier,
        );
        input.raw_tag = Some("AR".into());
        input.location = Some("Louisville, KY".into());
        input
    }

    #[test]
    fn event_times_keep_their_text_and_order_by_instant() {
        let east = EventTime::parse("2026-03-01T10:00:00+08:00").expect("offset");
        let utc = EventTime::parse("2026-03-01T03:00:00Z").expect("utc");
        assert_eq!(east.as_str(), "2026-03-01T10:00:00+08:00");
        assert!(east.instant() < utc.instant());
        let local = EventTime::parse("2026-03-01 10:00:00").expect("local");
        assert_eq!(local.instant().to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert!(EventTime::parse("2026-03-01").is_ok());
        assert!(EventTime::parse("yesterday").is_err());
    }

    #[test]
    fn the_same_event_gets_the_same_hash_whenever_it_arrives() {
        let first = Checkpoint::new(input("Arrival scan", "2026-03-01T10:00:00Z"), Utc::now());
        let again = Checkpoint::new(input("Arrival scan ", "2026-03-01T10:00:00+00:00"), Utc::now());
        assert_eq!(first.hash, again.hash);
        let other = Checkpoint::new(input("Departure scan", "2026-03-01T10:00:00Z"), Utc::now());
        assert_ne!(first.hash, other.hash);
        assert_eq!(first.hash.to_string().len(), 32);
        let json = serde_json::to_string(&first.hash).expect("serializes");
        assert_eq!(serde_json::from_str::<CheckpointHash>(&json).expect("parses"), first.hash);
    }
}
