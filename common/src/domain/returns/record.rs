//! A return as it is kept: the lines asked for with what the policy made of them, where it
//! stands with the merchant, its shipment back, and what was received. The moves on it are
//! pure: the application reads, moves and writes under the record's version.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{ApprovalStatus, NotAllowed, Resolution, ReturnAction, ReturnMethod, ShippingStatus, transition};
use crate::domain::{Money, Order, Store, Tag, TenantId};

/// Who asked for the return (AfterShip's `filed_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FiledBy {
    /// On the returns portal.
    Shopper,
    /// Through the Returns API.
    Merchant,
}

/// Where a refund goes (AfterShip's `refund_destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundDestination {
    /// The payment the order was paid with.
    OriginalPayment,
    /// Store credit.
    StoreCredit,
}

/// The variant a shopper wants instead, on an exchange line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeVariant {
    /// The wanted variant's title (`Blue / L`).
    pub title: String,
    /// Its SKU, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Its unit price, when it differs from the returned line's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
}

/// One line of a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    /// The order line's `external_id`.
    pub external_order_item_id: String,
    /// The line's SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The product's title.
    pub product_title: String,
    /// The variant's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_title: Option<String>,
    /// The product's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The product's tags and categories, as ordered.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The product's categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Units in the order line.
    pub ordered_quantity: u32,
    /// Units the shopper asked to return.
    pub intended_return_quantity: u32,
    /// Units the merchant took off the return.
    pub removed_quantity: u32,
    /// Units received.
    pub received_quantity: u32,
    /// The reason's id.
    pub reason: String,
    /// The reason as the shopper read it.
    pub reason_label: String,
    /// The sub-reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subreason: Option<String>,
    /// The shopper's comment (personal: never logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The shopper's photos: URLs, or blob keys of uploads.
    #[serde(default)]
    pub photos: Vec<String>,
    /// What the shopper wants back.
    pub resolution: Resolution,
    /// Price of one unit.
    pub unit_price: Money,
    /// Discount on one unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_discount: Option<Money>,
    /// Tax on one unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_tax: Option<Money>,
    /// The wanted variant, on an exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_variant: Option<ExchangeVariant>,
}

impl ReturnItem {
    /// Units still to come back: asked for, less removed.
    pub fn return_quantity(&self) -> u32 {
        self.intended_return_quantity.saturating_sub(self.removed_quantity)
    }
}

/// The parcel the items travel back in: a tracked shipment of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnShipment {
    /// The tracking's id.
    pub id: String,
    /// Its number.
    pub tracking_number: String,
    /// Its courier.
    pub slug: String,
    /// The label's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_url: Option<String>,
    /// What the label cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_charge: Option<Money>,
    /// The tracking's status, as last heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_status: Option<Tag>,
    /// When that status was heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_status_updated_at: Option<DateTime<Utc>>,
    /// When it was attached.
    pub created_at: DateTime<Utc>,
}

/// A quality grade given to received units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grading {
    /// `a` to `d`.
    pub grade: String,
    /// Units of that grade.
    pub quantity: u32,
    /// The inspector's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Who inspected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspected_at: Option<String>,
    /// Images of the inspection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_urls: Vec<String>,
}

/// Units of one line received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedItem {
    /// The order line's `external_id`.
    pub external_id: String,
    /// Units.
    pub quantity: u32,
    /// Their grades.
    #[serde(default)]
    pub gradings: Vec<Grading>,
}

/// One receiving of goods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiving {
    /// 32 hex characters.
    pub id: String,
    /// What came in.
    pub items: Vec<ReceivedItem>,
    /// When.
    pub received_at: DateTime<Utc>,
}

/// A return. Personal data (the contact email, comments) stays out of `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    /// 32 hex characters.
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// The RMA number the shopper quotes, unique per merchant.
    pub rma_number: String,
    /// The order's Porchlight id.
    pub order_id: String,
    /// The order's `external_id`.
    pub order_external_id: String,
    /// The order's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// The order's store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
    /// When the order was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_placed_at: Option<DateTime<Utc>>,
    /// The shopper's email, from the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The shopper's language tag, from the order or the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The order's destination country (ISO 3166-1 alpha-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_region: Option<String>,
    /// Who asked.
    pub filed_by: FiledBy,
    /// Where it stands.
    pub approval_status: ApprovalStatus,
    /// The lines.
    pub items: Vec<ReturnItem>,
    /// How they travel back.
    pub method: ReturnMethod,
    /// Where the refund goes.
    pub refund_destination: RefundDestination,
    /// The method's fee.
    pub fee: Money,
    /// The refund the policy estimated.
    pub refund_estimate: Money,
    /// The policy version it was judged under.
    pub policy_version: u32,
    /// Days an approved return waits for its items to ship before it expires.
    pub expire_after_days: u32,
    /// Approved by the policy.
    pub auto_approved: bool,
    /// Rejected by the policy.
    pub auto_rejected: bool,
    /// When approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    /// When rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<DateTime<Utc>>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    /// When resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<DateTime<Utc>>,
    /// The merchant's note (the last `edit_reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_note: Option<String>,
    /// The parcel back (at most one).
    #[serde(default)]
    pub shipments: Vec<ReturnShipment>,
    /// What was received.
    #[serde(default)]
    pub receivings: Vec<Receiving>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The version it was read at (0 for one not yet stored).
    #[serde(default)]
    pub version: u64,
}

impl fmt::Debug for Return {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Return")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("rma_number", &self.rma_number)
            .field("approval_status", &self.approval_status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// What the items' resolutions come to (AfterShip's `outcomes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Money back.
    Refund,
    /// Store credit.
    StoreCredit,
    /// Another variant.
    Exchange,
}

/// A receiving the return cannot take: AfterShip's 422 codes and messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiveRefused {
    /// More units than the return holds (`42213`).
    #[error("Exceeds the acceptable return item quantity")]
    TooMany,
    /// Graded units beyond those received (`42247`).
    #[error("Grading quantity should not exceed the receive item quantity")]
    GradingTooMany,
    /// A line the return does not hold (`42225`).
    #[error("Return item not exists")]
    NotInReturn,
}

impl Return {
    /// A new return's id: 32 random hex characters.
    pub fn new_id(random: [u8; 16]) -> String {
        hex::encode(random)
    }

    /// The outcomes of its lines, each once.
    pub fn outcomes(&self) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = self
            .items
            .iter()
            .filter(|i| i.return_quantity() > 0)
            .map(|i| match (i.resolution, self.refund_destination) {
                (Resolution::Exchange, _) => Outcome::Exchange,
                (Resolution::StoreCredit, _) | (Resolution::Refund, RefundDestination::StoreCredit) => {
                    Outcome::StoreCredit
                }
                (Resolution::Refund, RefundDestination::OriginalPayment) => Outcome::Refund,
            })
            .collect();
        outcomes.sort();
        outcomes.dedup();
        outcomes
    }

    /// Units of each order line it holds (asked less removed), for the lines' eligibility.
    pub fn units(&self) -> impl Iterator<Item = (&str, u32)> {
        self.items.iter().map(|i| (i.external_order_item_id.as_str(), i.return_quantity()))
    }

    /// Whether it still holds goods: not rejected or expired.
    pub fn holds_units(&self) -> bool {
        !matches!(self.approval_status, ApprovalStatus::Rejected | ApprovalStatus::Expired)
    }

    /// When it expires unless its items ship: while approved with nothing shipped or received.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let waiting = self.approval_status == ApprovalStatus::Approved
            && self.shipments.is_empty()
            && self.receivings.is_empty()
            && self.method != ReturnMethod::GreenReturn;
        let approved = self.approved_at.filter(|_| waiting)?;
        Some(approved + Duration::days(i64::from(self.expire_after_days)))
    }

    /// Where its goods are: received once every unit came in, else its shipment's tracking.
    pub fn shipping_status(&self) -> ShippingStatus {
        let expected: u32 = self.items.iter().map(ReturnItem::return_quantity).sum();
        let received: u32 = self.items.iter().map(|i| i.received_quantity).sum();
        if expected > 0 && received >= expected {
            return ShippingStatus::Received;
        }
        match self.shipments.first() {
            None => ShippingStatus::NoLabel,
            Some(shipment) => shipment.tracking_status.map_or(ShippingStatus::Pending, ShippingStatus::of_tag),
        }
    }

    /// Moves it by `action` at `now`: its status and the action's timestamp.
    pub fn apply(&mut self, action: ReturnAction, now: DateTime<Utc>) -> Result<(), NotAllowed> {
        self.approval_status = transition(self.approval_status, action)?;
        match action {
            ReturnAction::Approve => self.approved_at = Some(now),
            ReturnAction::Reject => self.rejected_at = Some(now),
            ReturnAction::Resolve => self.resolved_at = Some(now),
            ReturnAction::Expire => self.expired_at = Some(now),
            ReturnAction::Handle | ReturnAction::Edit => {}
        }
        self.updated_at = now;
        Ok(())
    }

    /// Counts `items` in as one receiving (its id from `random`) at `now`.
    pub fn receive(
        &mut self,
        items: Vec<ReceivedItem>,
        random: [u8; 16],
        now: DateTime<Utc>,
    ) -> Result<(), ReceiveRefused> {
        let mut adding: Vec<(usize, u32)> = Vec::new();
        for received in &items {
            let Some(index) = self.items.iter().position(|i| i.external_order_item_id == received.external_id) else {
                return Err(ReceiveRefused::NotInReturn);
            };
            let graded: u32 = received.gradings.iter().map(|g| g.quantity).sum();
            if graded > received.quantity {
                return Err(ReceiveRefused::GradingTooMany);
            }
            let before: u32 = adding.iter().filter(|(i, _)| *i == index).map(|(_, q)| q).sum();
            let line = &self.items[index];
            if received.quantity == 0 || line.received_quantity + before + received.quantity > line.return_quantity() {
                return Err(ReceiveRefused::TooMany);
            }
            adding.push((index, received.quantity));
        }
        for (index, quantity) in adding {
            self.items[index].received_quantity += quantity;
        }
        self.receivings.push(Receiving { id: hex::encode(random), items, received_at: now });
        self.updated_at = now;
        Ok(())
    }

    /// Takes `quantity` units of line `item` off the return: `false` (nothing changed) when it
    /// does not hold that many not yet received.
    pub fn remove(&mut self, item: &str, quantity: u32) -> bool {
        let Some(line) = self.items.iter_mut().find(|i| i.external_order_item_id == item) else { return false };
        if quantity == 0 || quantity > line.return_quantity().saturating_sub(line.received_quantity) {
            return false;
        }
        line.removed_quantity += quantity;
        true
    }

    /// The exchange's price difference: what the wanted variants cost beyond the returned
    /// units, in minor units (negative: the shopper is owed the difference).
    pub fn exchange_difference_minor(&self) -> i128 {
        self.items
            .iter()
            .filter_map(|i| {
                let wanted = i.exchange_variant.as_ref()?.unit_price.as_ref()?.minor_units()?;
                let had = i.unit_price.minor_units()?;
                Some((i128::from(wanted) - i128::from(had)) * i128::from(i.return_quantity()))
            })
            .sum()
    }

    /// Whether it belongs to `order`.
    pub fn is_of(&self, order: &Order) -> bool {
        self.tenant_id == order.tenant_id && self.order_id == order.id
    }
}
