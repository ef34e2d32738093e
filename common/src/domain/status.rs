//! The nine delivery statuses (AfterShip's `tag`) and the published sub-statuses (`subtag`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DomainError;

/// A delivery status, AfterShip's `tag`.
///
/// The declaration order is the order of progress along a parcel's life; it breaks ties between
/// checkpoints that carry the same time, so that a timeline sorts the same whatever order its
/// events arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tag {
    /// New shipment, nothing heard from the carrier yet.
    Pending,
    /// The carrier has the shipment's data and is about to pick it up.
    InfoReceived,
    /// The carrier has the parcel and it is moving.
    InTransit,
    /// The parcel is on the vehicle for delivery.
    OutForDelivery,
    /// The carrier tried to deliver and could not.
    AttemptFail,
    /// The parcel waits at a pickup point.
    AvailableForPickup,
    /// Customs hold, return to sender, loss, damage or another exception.
    Exception,
    /// The parcel was delivered.
    Delivered,
    /// Nothing was heard from the carrier for too long.
    Expired,
}

impl Tag {
    /// Every status, in order of progress.
    pub const ALL: [Tag; 9] = [
        Tag::Pending,
        Tag::InfoReceived,
        Tag::InTransit,
        Tag::OutForDelivery,
        Tag::AttemptFail,
        Tag::AvailableForPickup,
        Tag::Exception,
        Tag::Delivered,
        Tag::Expired,
    ];

    /// The wire name, e.g. `InTransit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Pending => "Pending",
            Tag::InfoReceived => "InfoReceived",
            Tag::InTransit => "InTransit",
            Tag::OutForDelivery => "OutForDelivery",
            Tag::AttemptFail => "AttemptFail",
            Tag::AvailableForPickup => "AvailableForPickup",
            Tag::Exception => "Exception",
            Tag::Delivered => "Delivered",
            Tag::Expired => "Expired",
        }
    }

    /// Parses a wire name; exact match, as AfterShip's enum is case-sensitive.
    pub fn parse(raw: &str) -> Result<Tag, DomainError> {
        Tag::ALL
            .into_iter()
            .find(|tag| tag.as_str() == raw)
            .ok_or_else(|| DomainError::invalid("tag", format!("unknown delivery status {raw:?}")))
    }

    /// The generic sub-status of this status (`InTransit_001` for `InTransit`, ...).
    pub fn default_subtag(self) -> Subtag {
        let code = match self {
            Tag::Pending => "Pending_001",
            Tag::InfoReceived => "InfoReceived_001",
            Tag::InTransit => "InTransit_001",
            Tag::OutForDelivery => "OutForDelivery_001",
            Tag::AttemptFail => "AttemptFail_001",
            Tag::AvailableForPickup => "AvailableForPickup_001",
            Tag::Exception => "Exception_001",
            Tag::Delivered => "Delivered_001",
            Tag::Expired => "Expired_001",
        };
        Subtag::parse(code).expect("every status has a generic sub-status")
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published sub-status: its code, its status and AfterShip's short message.
#[derive(Debug, PartialEq, Eq)]
pub struct SubtagInfo {
    /// The code, e.g. `InTransit_004`.
    pub code: &'static str,
    /// The status the code belongs to.
    pub tag: Tag,
    /// The short message shown beside the code (AfterShip's `subtag_message`).
    pub message: &'static str,
}

macro_rules! subtags {
    ($($code:literal, $tag:ident, $message:literal;)*) => {
        /// Every sub-status, transcribed from AfterShip's "Delivery Sub-statuses" reference for API
        /// version 2026-07 (aftership.com/docs/tracking/2026-07/enum/delivery-sub-statuses) and the
        /// sub-statuses AfterShip announced for shipments tracked from 2026-03-27
        /// (Exception_016 to Exception_021).
        pub static SUBTAGS: &[SubtagInfo] = &[
            $(SubtagInfo { code: $code, tag: Tag::$tag, message: $message },)*
        ];
    };
}

subtags! {
    "Pending_001", Pending, "Pending";
    "Pending_002", Pending, "Carrier not yet supported";
    "Pending_003", Pending, "Awaiting carrier account connection";
    "Pending_004", Pending, "No recent information";
    "Pending_005", Pending, "Tracking number not recognised by the carrier";
    "Pending_006", Pending, "Tracking number not yet active";
    "InfoReceived_001", InfoReceived, "Info received";
    "InTransit_001", InTransit, "In transit";
    "InTransit_002", InTransit, "Acceptance scan";
    "InTransit_003", InTransit, "Arrival scan";
    "InTransit_004", InTransit, "Arrived at the destination country/region";
    "InTransit_005", InTransit, "Customs clearance completed";
    "InTransit_006", InTransit, "Customs clearance started";
    "InTransit_007", InTransit, "Departure scan";
    "InTransit_008", InTransit, "Problem resolved";
    "InTransit_009", InTransit, "Forwarded to a different delivery address";
    "OutForDelivery_001", OutForDelivery, "Out for delivery";
    "OutForDelivery_003", OutForDelivery, "Customer contacted";
    "OutForDelivery_004", OutForDelivery, "Delivery appointment scheduled";
    "AttemptFail_001", AttemptFail, "Failed attempt";
    "AttemptFail_002", AttemptFail, "Addressee not available";
    "AttemptFail_003", AttemptFail, "Business closed";
    "AvailableForPickup_001", AvailableForPickup, "Available for pickup";
    "Delivered_001", Delivered, "Delivered";
    "Delivered_002", Delivered, "Picked up by the customer";
    "Delivered_003", Delivered, "Sign by customer";
    "Delivered_004", Delivered, "Delivered and received cash on delivery";
    "Delivered_005", Delivered, "Delivered to neighbor";
    "Exception_001", Exception, "Exception";
    "Exception_002", Exception, "Customer moved";
    "Exception_003", Exception, "Customer refused delivery";
    "Exception_004", Exception, "Delayed (Customs clearance)";
    "Exception_005", Exception, "Delayed (External factors)";
    "Exception_006", Exception, "Held for payment";
    "Exception_007", Exception, "Incorrect Address";
    "Exception_008", Exception, "Pick up missed";
    "Exception_009", Exception, "Rejected by carrier";
    "Exception_010", Exception, "Returning to sender";
    "Exception_011", Exception, "Returned to sender";
    "Exception_012", Exception, "Shipment damage";
    "Exception_013", Exception, "Shipment lost";
    "Exception_014", Exception, "Delayed (Awaiting information)";
    "Exception_015", Exception, "Delivery cancelled";
    "Exception_016", Exception, "Delayed (Processing issue)";
    "Exception_017", Exception, "Delayed (Extreme weather)";
    "Exception_018", Exception, "Incorrect / missing documents";
    "Exception_019", Exception, "Held by customs (Prohibited item)";
    "Exception_020", Exception, "Delayed (Address issue)";
    "Exception_021", Exception, "Unable to locate shipment";
    "Expired_001", Expired, "No recent updates";
}

/// A published sub-status. Only [`Subtag::parse`] and [`Tag::default_subtag`] make one, so every
/// value is in [`SUBTAGS`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Subtag(&'static SubtagInfo);

impl Subtag {
    /// Parses a code such as `Exception_011`.
    pub fn parse(raw: &str) -> Result<Subtag, DomainError> {
        static SORTED: std::sync::OnceLock<Vec<&'static SubtagInfo>> = std::sync::OnceLock::new();
        let sorted = SORTED.get_or_init(|| {
            let mut sorted: Vec<&'static SubtagInfo> = SUBTAGS.iter().collect();
            sorted.sort_by_key(|info| info.code);
            sorted
        });
        sorted
            .binary_search_by(|info| info.code.cmp(raw))
            .map(|i| Subtag(sorted[i]))
            .map_err(|_| DomainError::invalid("subtag", format!("unknown sub-status {raw:?}")))
    }

    /// The code, e.g. `Exception_011`.
    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// The status this sub-status belongs to.
    pub fn tag(self) -> Tag {
        self.0.tag
    }

    /// AfterShip's short message for the code.
    pub fn message(self) -> &'static str {
        self.0.message
    }
}

impl std::hash::Hash for Subtag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl fmt::Debug for Subtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Subtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl PartialOrd for Subtag {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subtag {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl Serialize for Subtag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Subtag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Subtag::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_wire_name() {
        for tag in Tag::ALL {
            assert_eq!(Tag::parse(tag.as_str()).ok(), Some(tag));
        }
        assert!(Tag::parse("intransit").is_err());
    }

    #[test]
    fn every_subtag_code_names_its_status() {
        for info in SUBTAGS {
            let (prefix, number) = info.code.split_once('_').expect("code has an underscore");
            assert_eq!(prefix, info.tag.as_str(), "{}", info.code);
            assert_eq!(number.len(), 3, "{}", info.code);
            assert!(!info.message.is_empty());
        }
    }

    #[test]
    fn subtag_codes_are_unique() {
        let mut codes: Vec<_> = SUBTAGS.iter().map(|info| info.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SUBTAGS.len());
    }

    #[test]
    fn every_status_has_a_generic_subtag_of_its_own() {
        for tag in Tag::ALL {
            assert_eq!(tag.default_subtag().tag(), tag);
        }
    }

    #[test]
    fn known_subtags_carry_their_published_messages() {
        let check =
            |code: &str, message: &str| assert_eq!(Subtag::parse(code).map(Subtag::message).ok(), Some(message));
        check("InTransit_004", "Arrived at the destination country/region");
        check("Exception_011", "Returned to sender");
        check("Exception_016", "Delayed (Processing issue)");
        check("Delivered_003", "Sign by customer");
        assert!(Subtag::parse("InTransit_999").is_err());
    }
}
