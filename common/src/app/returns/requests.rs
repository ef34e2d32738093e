//! Asking for a return, from the portal or the Returns API: the request judged by the
//! merchant's policy as it stands (the version kept on the return), stored with a fresh RMA
//! number, one create per order at a time, its events planned.

use std::collections::HashMap;

use super::super::{AppError, Deps};
use crate::domain::{
    ApprovalStatus, Decision, DomainError, ExchangeVariant, FiledBy, LineEligibility, Order, RefundDestination,
    RequestedItem, Resolution, Return, ReturnItem, ReturnMethod, ReturnPolicy, ReturnRequest, WebhookEvent,
    eligibility, judge, rma_number,
};
use crate::ports::StoreError;
use crate::secrets::random_bytes;

/// Most photos one line may carry.
pub const MAX_PHOTOS: usize = 5;
/// Most characters of a comment.
pub const MAX_COMMENT: usize = 1000;

/// One line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRequest {
    /// The order line's `external_id`.
    pub item: String,
    /// Units.
    pub quantity: u32,
    /// The reason's id (or its label, as the Returns API may send it).
    pub reason: String,
    /// The sub-reason.
    pub subreason: Option<String>,
    /// The shopper's comment.
    pub comment: Option<String>,
    /// Photos: URLs, or blob keys of the portal's uploads.
    pub photos: Vec<String>,
    /// What the shopper wants back.
    pub resolution: Resolution,
    /// On an exchange, the variant wanted.
    pub exchange_variant: Option<ExchangeVariant>,
}

/// A return asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReturn {
    /// The lines.
    pub items: Vec<ItemRequest>,
    /// How they travel back.
    pub method: ReturnMethod,
    /// Where a refund goes (absent: from the lines' resolutions).
    pub refund_destination: Option<RefundDestination>,
    /// Who asks.
    pub filed_by: FiledBy,
    /// The shopper's language, when the portal knows it.
    pub locale: Option<String>,
}

/// What an order allows now: its lines' eligibility under the tenant's policy, with the units
/// its returns already hold; the policy, the delivery time and its returns with them.
pub struct OrderState {
    /// The tenant's policy.
    pub policy: ReturnPolicy,
    /// Each line's eligibility.
    pub lines: Vec<LineEligibility>,
    /// The order's returns, oldest first.
    pub returns: Vec<Return>,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    returned: HashMap<String, u32>,
}

/// What `order` allows now (see [`OrderState`]).
pub async fn order_state(deps: &Deps, order: &Order) -> Result<OrderState, AppError> {
    let policy = super::return_policy(deps, &order.tenant_id).await?;
    let shipments = super::super::orders::order_shipments(deps, order).await?;
    let delivered_at = super::super::orders::delivered_at(&shipments);
    let returns = deps.returns.returns_of_order(&order.tenant_id, &order.id).await?;
    let mut returned: HashMap<String, u32> = HashMap::new();
    for ret in returns.iter().filter(|r| r.holds_units()) {
        for (item, units) in ret.units() {
            *returned.entry(item.to_owned()).or_default() += units;
        }
    }
    let lines = eligibility(&policy, order, delivered_at, &returned, deps.clock.now());
    Ok(OrderState { policy, lines, returns, delivered_at, returned })
}

/// Checks what the policy does not: sizes of comments and photo lists, exchange variants.
fn check_shape(new: &NewReturn) -> Result<(), AppError> {
    if new.items.len() > crate::domain::MAX_ITEMS {
        return Err(DomainError::invalid("return_items", "must hold at most 250 lines").into());
    }
    for (i, item) in new.items.iter().enumerate() {
        let path = |field: &str| format!("return_items[{i}].{field}");
        if item.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
            return Err(DomainError::invalid(path("return_reason_comment"), "must be at most 1000 characters").into());
        }
        if item.photos.len() > MAX_PHOTOS {
            return Err(DomainError::invalid(path("shopper_uploaded_image_urls"), "must hold at most 5 images").into());
        }
        match (&item.resolution, &item.exchange_variant) {
            (Resolution::Exchange, None) => {
                return Err(DomainError::invalid(path("exchange_variant"), "is required for an exchange").into());
            }
            (Resolution::Exchange, Some(variant)) => {
                if variant.title.trim().is_empty() || variant.title.chars().count() > 200 {
                    return Err(
                        DomainError::invalid(path("exchange_variant.title"), "must be 1 to 200 characters").into()
                    );
                }
                if let Some(price) = &variant.unit_price {
                    price.validate(&path("exchange_variant.unit_price"))?;
                }
            }
            (_, Some(_)) => {
                return Err(DomainError::invalid(path("exchange_variant"), "is only taken with an exchange").into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Asks for a return of `order`: judged by the tenant's policy (`ReturnRefused` with every
/// violation), stored with a fresh RMA number, approved or rejected at once when the policy
/// says so, its events planned. `ReturnInProgress` when another return of the order was
/// created meanwhile (AfterShip's 42900).
pub async fn create_return(deps: &Deps, order: &Order, new: NewReturn) -> Result<Return, AppError> {
    check_shape(&new)?;
    let state = order_state(deps, order).await?;
    let policy = &state.policy;
    // The Returns API names reasons as shoppers read them; the portal by id.
    let reason_id = |given: &str| {
        policy
            .reasons
            .iter()
            .find(|r| r.id == given || r.label.eq_ignore_ascii_case(given))
            .map_or_else(|| given.to_owned(), |r| r.id.clone())
    };
    let resolution = |item: &ItemRequest| match (item.resolution, new.refund_destination) {
        (Resolution::Refund, Some(RefundDestination::StoreCredit)) => Resolution::StoreCredit,
        (resolution, _) => resolution,
    };
    let flagged =
        order.customer.email.as_ref().is_some_and(|e| policy.flagged_emails.iter().any(|f| f.eq_ignore_ascii_case(e)));
    let request = ReturnRequest {
        items: new
            .items
            .iter()
            .map(|i| RequestedItem {
                item: i.item.clone(),
                quantity: i.quantity,
                reason: reason_id(&i.reason),
                subreason: i.subreason.clone(),
                comment: i.comment.clone(),
                photos: i.photos.len(),
                resolution: resolution(i),
            })
            .collect(),
        method: new.method,
        customer_flagged: flagged,
    };
    let now = deps.clock.now();
    let judgement =
        judge(policy, order, state.delivered_at, &state.returned, &request, now).map_err(AppError::ReturnRefused)?;
    let items = new
        .items
        .iter()
        .zip(&request.items)
        .map(|(asked, judged)| {
            let line = order.item(&asked.item).expect("judged lines are in the order");
            let per_unit = |money: &Option<crate::domain::Money>| {
                money.as_ref().and_then(|m| {
                    let units = m.minor_units()? / u64::from(line.quantity.max(1));
                    Some(crate::domain::Money::from_minor(units, &m.currency))
                })
            };
            let reason = policy.reasons.iter().find(|r| r.id == judged.reason).expect("judged reasons are offered");
            ReturnItem {
                external_order_item_id: line.external_id.clone(),
                sku: line.sku.clone(),
                product_title: line.title.clone(),
                variant_title: line.variant_title.clone(),
                image_url: line.image_url.clone(),
                tags: line.tags.clone(),
                categories: line.categories.clone(),
                ordered_quantity: line.quantity,
                intended_return_quantity: asked.quantity,
                removed_quantity: 0,
                received_quantity: 0,
                reason: reason.id.clone(),
                reason_label: reason.label.clone(),
                subreason: asked.subreason.clone(),
                comment: asked.comment.clone().filter(|c| !c.trim().is_empty()),
                photos: asked.photos.clone(),
                resolution: judged.resolution,
                unit_price: line.unit_price.clone(),
                unit_discount: per_unit(&line.discount),
                unit_tax: per_unit(&line.tax),
                exchange_variant: asked.exchange_variant.clone(),
            }
        })
        .collect::<Vec<_>>();
    let refund_destination =
        new.refund_destination.unwrap_or(if items.iter().any(|i| i.resolution == Resolution::StoreCredit) {
            RefundDestination::StoreCredit
        } else {
            RefundDestination::OriginalPayment
        });
    let mut ret = Return {
        id: Return::new_id(random_bytes()),
        tenant_id: order.tenant_id.clone(),
        rma_number: rma_number(random_bytes()),
        order_id: order.id.clone(),
        order_external_id: order.external_id.clone(),
        order_number: order.order_number.clone(),
        store: order.store.clone(),
        order_placed_at: order.placed_at,
        contact_email: order.customer.email.clone(),
        locale: new.locale.clone().or_else(|| order.customer.locale.clone()),
        country_region: order.shipping_address.country_region.map(|c| c.as_str().to_owned()),
        filed_by: new.filed_by,
        approval_status: ApprovalStatus::Submitted,
        items,
        method: new.method,
        refund_destination,
        fee: judgement.fee.clone(),
        refund_estimate: judgement.refund_estimate.clone(),
        policy_version: judgement.policy_version,
        expire_after_days: policy.approved_expiry_days,
        auto_approved: false,
        auto_rejected: false,
        approved_at: None,
        rejected_at: None,
        reject_reason: None,
        resolved_at: None,
        expired_at: None,
        merchant_note: None,
        shipments: Vec::new(),
        receivings: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let mut events = vec![WebhookEvent::ReturnSubmitted];
    match judgement.decision {
        Decision::Approve => {
            ret.apply(crate::domain::ReturnAction::Approve, now)?;
            ret.auto_approved = true;
            events.extend(super::actions::approval_events(&ret));
        }
        Decision::Reject => {
            ret.apply(crate::domain::ReturnAction::Reject, now)?;
            ret.auto_rejected = true;
            ret.reject_reason = Some("rejected by the return policy".into());
            events.push(WebhookEvent::ReturnRejected);
        }
        Decision::Review => {}
    }
    let seen = state.returns.len();
    for _ in 0..3 {
        match deps.returns.create_return(&ret, seen).await {
            Ok(version) => {
                ret.version = version;
                tracing::info!(
                    tenant_id = %ret.tenant_id,
                    return_id = ret.id,
                    approval_status = ret.approval_status.as_str(),
                    filed_by = ?ret.filed_by,
                    "return created"
                );
                super::events::plan(deps, &ret, &events, ret.filed_by == FiledBy::Shopper).await?;
                let reasons = ret.items.iter().map(|item| (item.reason.as_str(), item.intended_return_quantity));
                crate::app::analytics::count_return(deps, &ret.tenant_id, &ret.id, reasons).await;
                return Ok(ret);
            }
            Err(StoreError::Conflict) => {
                let now_held = deps.returns.returns_of_order(&order.tenant_id, &order.id).await?;
                if now_held.len() != seen {
                    return Err(AppError::ReturnInProgress);
                }
                // The RMA number was taken: draw another.
                ret.rma_number = rma_number(random_bytes());
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}
