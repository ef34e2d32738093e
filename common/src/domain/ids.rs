//! Identifiers: tenants, shipments, courier slugs and tracking numbers.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::DomainError;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, DomainError> {
                $name::parse(&value)
            }
        }
    };
}

string_newtype! {
    /// A merchant. Every stored key starts with one, so no query can cross tenants.
    TenantId
}

impl TenantId {
    /// Parses a tenant id: 1 to 64 characters of `[a-z0-9_-]`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(TenantId(raw.to_owned()))
        } else {
            Err(DomainError::invalid("tenant_id", "must be 1 to 64 characters of a-z, 0-9, '_' or '-'"))
        }
    }

    /// A new random tenant id.
    pub fn random() -> Self {
        TenantId(format!("t_{}", uuid::Uuid::new_v4().simple()))
    }
}

string_newtype! {
    /// A shipment's id, AfterShip's `id`: 32 lowercase hexadecimal characters.
    ShipmentId
}

impl ShipmentId {
    /// Parses an id; AfterShip's ids are 32 hexadecimal characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(ShipmentId(raw.to_ascii_lowercase()))
        } else {
            Err(DomainError::invalid("id", "must be 32 hexadecimal characters"))
        }
    }

    /// A new random id.
    pub fn random() -> Self {
        ShipmentId(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// A courier's slug as AfterShip spells it (`ups`, `china-post`, `4px`).
///
/// The type checks the spelling only; whether Porchlight knows the courier is the catalog's
/// business. Cloning is cheap (shared text): slugs are copied into every checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(Arc<str>);

impl Slug {
    /// Parses a slug: 1 to 64 characters of `[a-z0-9-]`. Upper case is folded, as AfterShip does.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let slug = raw.trim().to_ascii_lowercase();
        let ok = !slug.is_empty()
            && slug.len() <= 64
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Slug(slug.into()))
        } else {
            Err(DomainError::invalid("slug", "must be 1 to 64 characters of a-z, 0-9 or '-'"))
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Slug> for String {
    fn from(value: Slug) -> String {
        value.0.to_string()
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, DomainError> {
        Slug::parse(&value)
    }
}

/// A carrier's tracking number, trimmed, as the merchant gave it, with its compact form (spaces
/// and dashes removed, upper case) kept beside it: carriers compare numbers in that form.
/// Cloning is cheap (shared text).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingNumber {
    raw: Arc<str>,
    compact: Arc<str>,
}

impl TrackingNumber {
    /// The longest tracking number accepted.
    pub const MAX_LEN: usize = 100;

    /// Parses a tracking number: surrounding white space is trimmed; it must then be 1 to 100
    /// printable characters with at least one ASCII letter or digit.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        // Carriers number parcels in ASCII; a number with no ASCII letter or digit is none.
        Self::checked(raw, |c| c.is_ascii_alphanumeric(), "must contain a letter (A to Z) or a digit")
    }

    /// [`TrackingNumber::parse`] with the letter-or-digit rule given.
    fn checked(raw: &str, letter_or_digit: fn(char) -> bool, missing: &'static str) -> Result<Self, DomainError> {
        let number = raw.trim();
        if number.is_empty() {
            return Err(DomainError::invalid("tracking_number", "must not be empty"));
        }
        if number.chars().count() > Self::MAX_LEN {
            return Err(DomainError::invalid("tracking_number", "must be at most 100 characters"));
        }
        if number.chars().any(char::is_control) {
            return Err(DomainError::invalid("tracking_number", "must not contain control characters"));
        }
        if !number.chars().any(letter_or_digit) {
            return Err(DomainError::invalid("tracking_number", missing));
        }
        let compact: String =
            number.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
        Ok(TrackingNumber { raw: number.into(), compact: compact.into() })
    }

    /// The number as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The number with spaces and dashes removed and letters upper-cased: how carriers compare.
    pub fn compact(&self) -> &str {
        &self.compact
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl From<TrackingNumber> for String {
    fn from(value: TrackingNumber) -> String {
        value.raw.to_string()
    }
}

/// How stored numbers are read (serde): by the rule they were accepted under, any letter or
/// digit, so a number stored before [`TrackingNumber::parse`] asked for ASCII still reads.
impl TryFrom<String> for TrackingNumber {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, DomainError> {
        TrackingNumber::checked(&value, char::is_alphanumeric, "must contain a letter or a digit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_trimmed_and_bounded() {
        assert_eq!(TrackingNumber::parse("  1Z999AA10123456784 ").map(String::from), Ok("1Z999AA10123456784".into()));
        assert!(TrackingNumber::parse("   ").is_err());
        assert!(TrackingNumber::parse("---").is_err());
        assert!(TrackingNumber::parse("ᕵ").is_err(), "no ASCII letter or digit");
        let stored: TrackingNumber = serde_json::from_str("\"ᕵ\"").expect("stored before the ASCII rule");
        assert_eq!(stored.as_str(), "ᕵ");
        assert!(TrackingNumber::parse("ab\ncd").is_err());
        assert!(TrackingNumber::parse(&"9".repeat(101)).is_err());
        assert!(TrackingNumber::parse(&"9".repeat(100)).is_ok());
    }

    #[test]
    fn compact_form_drops_spaces_and_dashes() {
        let number = TrackingNumber::parse("rr 123-456 cn").expect("valid");
        assert_eq!(number.compact(), "RR123456CN");
    }

    #[test]
    fn slugs_are_folded_to_lower_case() {
        assert_eq!(Slug::parse("China-Post").map(String::from), Ok("china-post".into()));
        assert!(Slug::parse("ups!").is_err());
        assert!(Slug::parse("").is_err());
    }

    #[test]
    fn shipment_ids_are_32_hex_characters() {
        let id = ShipmentId::random();
        assert_eq!(ShipmentId::parse(id.as_str()), Ok(id));
        assert!(ShipmentId::parse("not-an-id").is_err());
        assert!(ShipmentId::parse(&"g".repeat(32)).is_err());
    }
}
