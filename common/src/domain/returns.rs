//! A merchant's return policy and how it judges what a shopper (or the merchant, through the
//! Returns API) asks to return: pure rules, no I/O. Every refusal names the line and says why
//! in words a shopper can read; the API lists them as AfterShip's `meta.errors[{info, path}]`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{DomainError, Order};

/// The tag that marks a product final sale in the default policy.
pub const FINAL_SALE_TAG: &str = "final-sale";

/// What a return window counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStart {
    /// When the order was placed.
    Order,
    /// When it was fulfilled.
    Fulfillment,
    /// When its last shipment was delivered.
    Delivery,
}

/// How a refund reaches the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Back to the original payment.
    Refund,
    /// Store credit (with the policy's bonus).
    StoreCredit,
    /// Another variant of the product.
    Exchange,
}

/// How the item travels back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnMethod {
    /// A label the retailer provides.
    RetailerLabel,
    /// The shopper's own courier.
    CustomerCourier,
    /// Dropped off at a location.
    DropOff,
    /// Kept by the shopper (a green return): nothing ships.
    GreenReturn,
}

/// A reason a shopper may give, with what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Stable code, e.g. `damaged`.
    pub id: String,
    /// What the shopper reads.
    pub label: String,
    /// Finer reasons (`arrived broken`, `scratched`), if any; one must be chosen when listed.
    #[serde(default)]
    pub subreasons: Vec<String>,
    /// A comment is required.
    #[serde(default)]
    pub requires_comment: bool,
    /// At least this many photos are required.
    #[serde(default)]
    pub min_photos: u8,
    /// Resolutions this reason allows; empty: the policy's.
    #[serde(default)]
    pub resolutions: Vec<Resolution>,
}

/// A fee for a return method, in some destination countries (or everywhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodFee {
    /// The method.
    pub method: ReturnMethod,
    /// ISO 3166-1 alpha-3 codes of the shipping addresses it applies to; empty: everywhere.
    #[serde(default)]
    pub countries: Vec<String>,
    /// The fee, in minor units of the order's currency (cents).
    pub fee_minor: u64,
}

/// When a request is approved or rejected without the team.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRule {
    /// Only requests whose refund estimate is at most this many minor units.
    #[serde(default)]
    pub max_total_minor: Option<u64>,
    /// Only requests whose every line gives one of these reasons (empty: any).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Only requests from customers not on the merchant's flagged list.
    #[serde(default)]
    pub unflagged_customers_only: bool,
}

/// A merchant's return policy. Versioned: a return keeps the version it was judged under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnPolicy {
    /// Bumped by every change.
    pub version: u32,
    /// Days a line may be returned within (1 to 365).
    pub window_days: u32,
    /// What the window counts from.
    pub window_from: WindowStart,
    /// Products with any of these tags are not returnable.
    pub excluded_tags: Vec<String>,
    /// Products with any of these SKUs are not returnable.
    pub excluded_skus: Vec<String>,
    /// Products in any of these categories are not returnable.
    pub excluded_categories: Vec<String>,
    /// Most units of one line a return may hold (beside the line's quantity).
    pub max_quantity_per_line: Option<u32>,
    /// The reasons offered.
    pub reasons: Vec<Reason>,
    /// The resolutions offered.
    pub resolutions: Vec<Resolution>,
    /// Store credit's bonus, in percent of the refund (0 to 100).
    pub store_credit_bonus_percent: u32,
    /// The methods offered.
    pub methods: Vec<ReturnMethod>,
    /// Fees by method and destination; a method with no fee entry is free.
    pub fees: Vec<MethodFee>,
    /// Approve without the team when this holds.
    pub auto_approve: Option<AutoRule>,
    /// Reject without the team when this holds.
    pub auto_reject: Option<AutoRule>,
    /// Customers' emails the merchant flagged (auto rules may spare them); compared without
    /// case.
    #[serde(default)]
    pub flagged_emails: Vec<String>,
    /// Days an approved return waits for its items to ship before it expires (1 to 365).
    #[serde(default = "default_expiry_days")]
    pub approved_expiry_days: u32,
}

fn default_expiry_days() -> u32 {
    30
}

impl ReturnPolicy {
    /// A new merchant's: 30 days from delivery, `final-sale` items not returnable, a standard
    /// list of reasons, refund or store credit, the shopper's courier or a retailer label, no
    /// automatic approval.
    pub fn defaults() -> Self {
        let reason = |id: &str, label: &str, comment: bool, photos: u8| Reason {
            id: id.to_owned(),
            label: label.to_owned(),
            subreasons: Vec::new(),
            requires_comment: comment,
            min_photos: photos,
            resolutions: Vec::new(),
        };
        ReturnPolicy {
            version: 1,
            window_days: 30,
            window_from: WindowStart::Delivery,
            excluded_tags: vec![FINAL_SALE_TAG.to_owned()],
            excluded_skus: Vec::new(),
            excluded_categories: Vec::new(),
            max_quantity_per_line: None,
            reasons: vec![
                reason("changed_mind", "I changed my mind", false, 0),
                reason("wrong_size", "It does not fit", false, 0),
                reason("not_as_described", "It is not as described", true, 0),
                reason("damaged", "It arrived damaged", true, 1),
                reason("wrong_item", "I received the wrong item", false, 1),
            ],
            resolutions: vec![Resolution::Refund, Resolution::StoreCredit],
            store_credit_bonus_percent: 0,
            methods: vec![ReturnMethod::CustomerCourier, ReturnMethod::RetailerLabel],
            fees: Vec::new(),
            auto_approve: None,
            auto_reject: None,
            flagged_emails: Vec::new(),
            approved_expiry_days: default_expiry_days(),
        }
    }

    /// Checks every field; errors name it as the API writes it.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !(1..=365).contains(&self.window_days) {
            return Err(DomainError::invalid("window_days", "must be from 1 to 365"));
        }
        if self.reasons.is_empty() || self.reasons.len() > 50 {
            return Err(DomainError::invalid("reasons", "must hold 1 to 50 reasons"));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, reason) in self.reasons.iter().enumerate() {
            let ok = (1..=50).contains(&reason.id.len())
                && reason.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok || !ids.insert(reason.id.as_str()) {
                return Err(DomainError::invalid(
                    format!("reasons[{i}].id"),
                    "must be a unique code of a-z, 0-9 and _",
                ));
            }
            if reason.label.trim().is_empty() || reason.label.chars().count() > 200 {
                return Err(DomainError::invalid(format!("reasons[{i}].label"), "must be 1 to 200 characters"));
            }
            if reason.min_photos > 5 {
                return Err(DomainError::invalid(format!("reasons[{i}].min_photos"), "must be from 0 to 5"));
            }
        }
        if self.resolutions.is_empty() {
            return Err(DomainError::invalid("resolutions", "must offer at least one resolution"));
        }
        if self.methods.is_empty() {
            return Err(DomainError::invalid("methods", "must offer at least one method"));
        }
        if self.store_credit_bonus_percent > 100 {
            return Err(DomainError::invalid("store_credit_bonus_percent", "must be from 0 to 100"));
        }
        if !(1..=365).contains(&self.approved_expiry_days) {
            return Err(DomainError::invalid("approved_expiry_days", "must be from 1 to 365"));
        }
        if self.max_quantity_per_line == Some(0) {
            return Err(DomainError::invalid("max_quantity_per_line", "must be at least 1"));
        }
        Ok(())
    }

    /// When the window opens for `order` (whose shipments were all delivered at
    /// `delivered_at`, if they were): `None` while it has not (not yet delivered, fulfilled).
    pub fn window_opens(&self, order: &Order, delivered_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match self.window_from {
            WindowStart::Order => order.placed_at.or(Some(order.created_at)),
            WindowStart::Fulfillment => order.fulfilled_at,
            WindowStart::Delivery => delivered_at,
        }
    }
}

/// Why a line cannot be returned (as much as asked), in terms the shopper reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The window has not opened (the order is not delivered, or not fulfilled, yet).
    NotYetOpen,
    /// The window closed then.
    WindowClosed {
        /// When it closed.
        closed_at: DateTime<Utc>,
    },
    /// The product is excluded (final sale, or by SKU, tag or category).
    NotReturnable {
        /// What excluded it: `final-sale`, a tag, `sku`, `category`.
        because: String,
    },
    /// Every unit is returned or being returned already.
    AlreadyReturned,
}

impl Refusal {
    /// The reason in English (the API's `info`; the portal translates the code).
    pub fn info(&self) -> String {
        match self {
            Refusal::NotYetOpen => "this item can be returned once the order has been delivered".into(),
            Refusal::WindowClosed { closed_at } => {
                format!("the return window for this item closed on {}", closed_at.format("%Y-%m-%d"))
            }
            Refusal::NotReturnable { because } if because == FINAL_SALE_TAG => {
                "this item was a final sale and cannot be returned".into()
            }
            Refusal::NotReturnable { .. } => "this item cannot be returned".into(),
            Refusal::AlreadyReturned => "every unit of this item has been returned already".into(),
        }
    }
}

/// What one line of an order allows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineEligibility {
    /// The line's `external_id`.
    pub item: String,
    /// Units that may still be returned (0 when refused).
    pub returnable_quantity: u32,
    /// Why not, when it may not.
    pub refusal: Option<Refusal>,
}

/// What each line of `order` allows at `now` under `policy`: `delivered_at` is when its last
/// shipment was delivered (once all are), `returned` the units per line already in returns.
pub fn eligibility(
    policy: &ReturnPolicy,
    order: &Order,
    delivered_at: Option<DateTime<Utc>>,
    returned: &HashMap<String, u32>,
    now: DateTime<Utc>,
) -> Vec<LineEligibility> {
    let window =
        policy.window_opens(order, delivered_at).map(|opens| opens + Duration::days(i64::from(policy.window_days)));
    order
        .items
        .iter()
        .map(|item| {
            let excluded = item
                .tags
                .iter()
                .find(|t| policy.excluded_tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
                .map(|t| t.to_lowercase())
                .or_else(|| item.sku.as_ref().filter(|s| policy.excluded_skus.contains(s)).map(|_| "sku".to_owned()))
                .or_else(|| {
                    item.categories
                        .iter()
                        .any(|c| policy.excluded_categories.iter().any(|x| x.eq_ignore_ascii_case(c)))
                        .then(|| "category".to_owned())
                });
            let left = item.quantity.saturating_sub(returned.get(&item.external_id).copied().unwrap_or(0));
            let left = policy.max_quantity_per_line.map_or(left, |max| left.min(max));
            let refusal = if let Some(because) = excluded {
                Some(Refusal::NotReturnable { because })
            } else if let Some(closes) = window {
                (now > closes).then_some(Refusal::WindowClosed { closed_at: closes })
            } else {
                Some(Refusal::NotYetOpen)
            };
            let refusal = refusal.or((left == 0).then_some(Refusal::AlreadyReturned));
            LineEligibility {
                item: item.external_id.clone(),
                returnable_quantity: if refusal.is_some() { 0 } else { left },
                refusal,
            }
        })
        .collect()
}

mod judge;
mod lifecycle;
mod record;

pub use judge::{Decision, Judgement, RequestedItem, ReturnRequest, Violation, judge};
pub use lifecycle::{ApprovalStatus, NotAllowed, ReturnAction, ShippingStatus, rma_number, transition};
pub use record::{
    ExchangeVariant, FiledBy, Grading, Outcome, ReceiveRefused, ReceivedItem, Receiving, RefundDestination, Return,
    ReturnItem, ReturnShipment,
};

#[cfg(test)]
mod tests;
