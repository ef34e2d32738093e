//! Judging a return request against the policy: every line checked (returnable, quantity,
//! reason, its comment and photos, resolution), the method and its fee, the refund estimate,
//! and whether the policy approves or rejects it by itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Resolution, ReturnMethod, ReturnPolicy, eligibility};
use crate::domain::{Money, Order};

/// One line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedItem {
    /// The order line's `external_id`.
    pub item: String,
    /// Units to return.
    pub quantity: u32,
    /// The reason's id.
    pub reason: String,
    /// The sub-reason, when the reason lists some.
    pub subreason: Option<String>,
    /// The shopper's comment.
    pub comment: Option<String>,
    /// How many photos came with it.
    pub photos: usize,
    /// What the shopper wants back.
    pub resolution: Resolution,
}

/// A return asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    /// The lines.
    pub items: Vec<RequestedItem>,
    /// How they travel back.
    pub method: ReturnMethod,
    /// Whether the merchant flagged the customer.
    pub customer_flagged: bool,
}

/// Something the policy does not allow: AfterShip's `{info, path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Where, as the Returns API's request names it (`return_items[0].return_reason`).
    pub path: String,
    /// Why, in words the shopper reads.
    pub info: String,
}

/// What happens to an allowed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The policy approves it by itself.
    Approve,
    /// The team decides.
    Review,
    /// The policy rejects it by itself.
    Reject,
}

/// An allowed request's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// Approve, review or reject.
    pub decision: Decision,
    /// The method's fee.
    pub fee: Money,
    /// What the shopper gets back: the lines' price less discount plus tax, less the fee,
    /// plus the store-credit bonus on lines resolved with store credit.
    pub refund_estimate: Money,
    /// The policy version it was judged under.
    pub policy_version: u32,
}

/// Judges `request` for `order` at `now` (see [`eligibility`] for `delivered_at` and
/// `returned`): the judgement, or every violation.
pub fn judge(
    policy: &ReturnPolicy,
    order: &Order,
    delivered_at: Option<DateTime<Utc>>,
    returned: &HashMap<String, u32>,
    request: &ReturnRequest,
    now: DateTime<Utc>,
) -> Result<Judgement, Vec<Violation>> {
    let lines = eligibility(policy, order, delivered_at, returned, now);
    let currency = order.currency.clone().or_else(|| order.items.first().map(|i| i.unit_price.currency.clone()));
    let currency = currency.unwrap_or_else(|| "USD".to_owned());
    let mut violations = Vec::new();
    let mut violation = |path: String, info: &str| violations.push(Violation { path, info: info.to_owned() });
    if request.items.is_empty() {
        violation("return_items".into(), "choose at least one item to return");
    }
    let mut refund: u64 = 0;
    let mut bonus: u64 = 0;
    let mut asked: HashMap<&str, u32> = HashMap::new();
    for (i, wanted) in request.items.iter().enumerate() {
        let path = |field: &str| format!("return_items[{i}].{field}");
        let (Some(item), Some(line)) = (order.item(&wanted.item), lines.iter().find(|l| l.item == wanted.item)) else {
            violation(path("external_order_item_id"), "this item is not in the order");
            continue;
        };
        if let Some(refusal) = &line.refusal {
            violation(path("external_order_item_id"), &refusal.info());
            continue;
        }
        let Some(reason) = policy.reasons.iter().find(|r| r.id == wanted.reason) else {
            violation(path("return_reason"), "choose one of the reasons offered");
            continue;
        };
        let already = asked.get(item.external_id.as_str()).copied().unwrap_or(0);
        if wanted.quantity == 0 || already + wanted.quantity > line.returnable_quantity {
            let info = format!("at most {} of this item can be returned", line.returnable_quantity);
            violation(path("intended_return_quantity"), &info);
            continue;
        }
        asked.insert(item.external_id.as_str(), already + wanted.quantity);
        if !reason.subreasons.is_empty() && !wanted.subreason.as_ref().is_some_and(|s| reason.subreasons.contains(s)) {
            violation(path("return_subreason"), "choose one of this reason's details");
        }
        if reason.requires_comment && wanted.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
            violation(path("return_reason_comment"), "this reason needs a comment");
        }
        if wanted.photos < usize::from(reason.min_photos) {
            let info = format!("this reason needs at least {} photo(s)", reason.min_photos);
            violation(path("shopper_uploaded_image_urls"), &info);
        }
        let offered = if reason.resolutions.is_empty() { &policy.resolutions } else { &reason.resolutions };
        if !offered.contains(&wanted.resolution) {
            violation(path("resolution"), "this resolution is not offered for this reason");
        }
        let per_unit = |money: &Option<Money>| {
            money.as_ref().and_then(Money::minor_units).map_or(0, |m| m / u64::from(item.quantity.max(1)))
        };
        let unit = item.unit_price.minor_units().unwrap_or(0);
        let line_refund =
            (unit + per_unit(&item.tax)).saturating_sub(per_unit(&item.discount)) * u64::from(wanted.quantity);
        refund += line_refund;
        if wanted.resolution == Resolution::StoreCredit {
            bonus += line_refund * u64::from(policy.store_credit_bonus_percent) / 100;
        }
    }
    if !policy.methods.contains(&request.method) {
        violation("return_method.type".into(), "this return method is not offered");
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    let country = order.shipping_address.country_region.map(|c| c.as_str().to_owned());
    let fee = policy
        .fees
        .iter()
        .filter(|f| f.method == request.method)
        .find(|f| f.countries.is_empty() || country.as_ref().is_some_and(|c| f.countries.contains(c)))
        .map_or(0, |f| f.fee_minor);
    let estimate = (refund + bonus).saturating_sub(fee);
    let holds = |rule: &super::AutoRule| {
        rule.max_total_minor.is_none_or(|max| refund <= max)
            && (rule.reasons.is_empty() || request.items.iter().all(|i| rule.reasons.contains(&i.reason)))
            && (!rule.unflagged_customers_only || !request.customer_flagged)
    };
    let decision = if policy.auto_reject.as_ref().is_some_and(holds) {
        Decision::Reject
    } else if policy.auto_approve.as_ref().is_some_and(holds) {
        Decision::Approve
    } else {
        Decision::Review
    };
    Ok(Judgement {
        decision,
        fee: Money::from_minor(fee, &currency),
        refund_estimate: Money::from_minor(estimate, &currency),
        policy_version: policy.version,
    })
}
