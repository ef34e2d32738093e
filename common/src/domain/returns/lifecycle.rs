//! A return's life as AfterShip Returns counts it: its approval status and the moves the API
//! allows between them, its shipping status from the return shipment's tracking, and its RMA
//! number.

use serde::{Deserialize, Serialize};

use crate::domain::Tag;

/// Where a return stands with the merchant (AfterShip's `approval_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Asked for, waiting for the team.
    Submitted,
    /// Accepted: the items may come back.
    Approved,
    /// Settled.
    Done,
    /// Refused.
    Rejected,
    /// Approved, but nothing came back in time.
    Expired,
}

impl ApprovalStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Submitted => "submitted",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Done => "done",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
        }
    }

    /// Reads [`ApprovalStatus::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<ApprovalStatus> {
        [
            ApprovalStatus::Submitted,
            ApprovalStatus::Approved,
            ApprovalStatus::Done,
            ApprovalStatus::Rejected,
            ApprovalStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What the Returns API does to a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnAction {
    /// `approve`.
    Approve,
    /// `reject`.
    Reject,
    /// `resolve`: settled, `done`.
    Resolve,
    /// The scheduled expiry of an approved return whose items never shipped.
    Expire,
    /// `receive-items`, `attach-shipments`: an approved return's goods on their way or in.
    Handle,
    /// `remove-items`: before it is settled.
    Edit,
}

/// A move the return's status does not allow: AfterShip's 409 `40900`, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Approval status can only be changed from {from} to {to}")]
pub struct NotAllowed {
    /// The statuses the action starts from.
    pub from: String,
    /// Where it leads.
    pub to: String,
}

/// The status `action` leads `status` to, or why it may not.
pub fn transition(status: ApprovalStatus, action: ReturnAction) -> Result<ApprovalStatus, NotAllowed> {
    use ApprovalStatus::{Approved, Done, Expired, Rejected, Submitted};
    let (allowed_from, to): (&[ApprovalStatus], ApprovalStatus) = match action {
        ReturnAction::Approve => (&[Submitted], Approved),
        ReturnAction::Reject => (&[Submitted], Rejected),
        ReturnAction::Resolve => (&[Approved], Done),
        ReturnAction::Expire => (&[Approved], Expired),
        ReturnAction::Handle => (&[Approved], status),
        ReturnAction::Edit => (&[Submitted, Approved], status),
    };
    if allowed_from.contains(&status) {
        Ok(to)
    } else {
        let from = allowed_from.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ");
        let to = match action {
            ReturnAction::Handle | ReturnAction::Edit => from.clone(),
            _ => to.as_str().to_owned(),
        };
        Err(NotAllowed { from, to })
    }
}

/// Where the return's goods are (AfterShip's `shipping_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShippingStatus {
    /// No shipment attached yet.
    NoLabel,
    /// A shipment is attached; the carrier has not moved it.
    Pending,
    /// On its way back.
    InTransit,
    /// Delivered to the merchant.
    Delivered,
    /// The merchant counted the items in.
    Received,
}

impl ShippingStatus {
    /// What the return shipment's tracking status says (before the merchant receives items).
    pub fn of_tag(tag: Tag) -> ShippingStatus {
        match tag {
            Tag::Pending | Tag::InfoReceived | Tag::Expired => ShippingStatus::Pending,
            Tag::InTransit | Tag::OutForDelivery | Tag::AvailableForPickup | Tag::AttemptFail | Tag::Exception => {
                ShippingStatus::InTransit
            }
            Tag::Delivered => ShippingStatus::Delivered,
        }
    }
}

/// Characters of an RMA number: upper-case letters and digits a person cannot confuse (no
/// 0/O, 1/I/L).
const RMA_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// An RMA number of 8 characters from `random` bytes (AfterShip's look: `A1B2C3D4`).
pub fn rma_number(random: [u8; 8]) -> String {
    random.iter().map(|b| RMA_ALPHABET[usize::from(*b) % RMA_ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_moves_a_return_only_along_aftership_s_paths() {
        use ApprovalStatus::*;
        assert_eq!(transition(Submitted, ReturnAction::Approve), Ok(Approved));
        assert_eq!(transition(Submitted, ReturnAction::Reject), Ok(Rejected));
        assert_eq!(transition(Approved, ReturnAction::Resolve), Ok(Done));
        assert_eq!(transition(Approved, ReturnAction::Expire), Ok(Expired));
        assert_eq!(transition(Approved, ReturnAction::Handle), Ok(Approved));
        assert_eq!(transition(Submitted, ReturnAction::Edit), Ok(Submitted));
        let refused = transition(Rejected, ReturnAction::Approve).expect_err("not from rejected");
        assert_eq!(refused.to_string(), "Approval status can only be changed from submitted to approved");
        let refused = transition(Done, ReturnAction::Edit).expect_err("settled");
        assert_eq!(
            refused.to_string(),
            "Approval status can only be changed from submitted or approved to submitted or approved"
        );
        for action in [ReturnAction::Approve, ReturnAction::Reject, ReturnAction::Resolve, ReturnAction::Expire] {
            for status in [Done, Rejected, Expired] {
                assert!(transition(status, action).is_err(), "{status:?} is final for {action:?}");
            }
        }
    }

    #[test]
    fn rma_numbers_are_eight_unambiguous_characters() {
        let rma = rma_number([0, 1, 2, 3, 250, 251, 254, 255]);
        assert_eq!(rma.len(), 8);
        assert!(rma.bytes().all(|b| RMA_ALPHABET.contains(&b)), "{rma}");
        assert!(!rma.contains(['0', 'O', '1', 'I']));
        assert_eq!(ShippingStatus::of_tag(Tag::OutForDelivery), ShippingStatus::InTransit);
        assert_eq!(ShippingStatus::of_tag(Tag::Delivered), ShippingStatus::Delivered);
    }
}
