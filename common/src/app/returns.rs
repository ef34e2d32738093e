//! Returns: the merchant's return policy (`/porchlight/v1/return-policy`) and what an order's
//! lines allow under it; asking for a return ([`requests`]); what the merchant and the
//! schedule do to one ([`actions`]); its webhook events ([`events`]).

use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::{
    AutoRule, LineEligibility, MethodFee, Order, Reason, Resolution, ReturnMethod, ReturnPolicy, TenantId, WindowStart,
};
use crate::ports::SettingsKind;

/// The tenant's policy (the defaults until the first change).
pub async fn return_policy(deps: &Deps, tenant: &TenantId) -> Result<ReturnPolicy, AppError> {
    let (policy, _) = super::documents::read(deps, tenant, SettingsKind::ReturnPolicy).await?;
    Ok(policy.unwrap_or_else(ReturnPolicy::defaults))
}

/// A policy as the API takes it: every field optional, absent ones keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the policy's field of the same name
pub struct PolicyWrite {
    pub window_days: Option<u32>,
    pub window_from: Option<WindowStart>,
    pub excluded_tags: Option<Vec<String>>,
    pub excluded_skus: Option<Vec<String>>,
    pub excluded_categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub max_quantity_per_line: Option<Option<u32>>,
    pub reasons: Option<Vec<Reason>>,
    pub resolutions: Option<Vec<Resolution>>,
    pub store_credit_bonus_percent: Option<u32>,
    pub methods: Option<Vec<ReturnMethod>>,
    pub fees: Option<Vec<MethodFee>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub auto_approve: Option<Option<AutoRule>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub auto_reject: Option<Option<AutoRule>>,
    pub flagged_emails: Option<Vec<String>>,
    pub approved_expiry_days: Option<u32>,
    /// Answers carry the `version`; sent back, it is ignored.
    #[serde(default, rename = "version")]
    pub _version: Option<serde::de::IgnoredAny>,
}

impl PolicyWrite {
    fn apply(self, policy: &mut ReturnPolicy) {
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(value) = self.$field { policy.$field = value; })* };
        }
        set!(
            window_days,
            window_from,
            excluded_tags,
            excluded_skus,
            excluded_categories,
            max_quantity_per_line,
            reasons,
            resolutions,
            store_credit_bonus_percent,
            methods,
            fees,
            auto_approve,
            auto_reject,
            flagged_emails,
            approved_expiry_days
        );
    }
}

/// Changes the fields `write` gives and stores the policy as its next version, if it is still
/// valid; the policy as stored.
pub async fn update_return_policy(
    deps: &Deps,
    tenant: &TenantId,
    write: PolicyWrite,
) -> Result<ReturnPolicy, AppError> {
    let policy = super::documents::change(deps, tenant, SettingsKind::ReturnPolicy, ReturnPolicy::defaults, |policy| {
        write.clone().apply(policy);
        policy.version += 1;
        policy.validate()?;
        Ok(policy.clone())
    })
    .await?;
    tracing::info!(tenant_id = %tenant, version = policy.version, "return policy changed");
    Ok(policy)
}

/// What each line of `order` allows now under the tenant's policy, with the units already in
/// its returns counted.
pub async fn order_eligibility(deps: &Deps, order: &Order) -> Result<Vec<LineEligibility>, AppError> {
    Ok(order_state(deps, order).await?.lines)
}

mod actions;
mod events;
mod requests;

pub use actions::{
    RETURN_FIELD, ReturnKey, ShipmentToAttach, approve, attach_shipment, expire_due, follow_shipment, get_return,
    receive, reject, remove_items, resolve, return_of,
};
pub use requests::{ItemRequest, MAX_COMMENT, MAX_PHOTOS, NewReturn, OrderState, create_return, order_state};

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::Clock;

    #[tokio::test]
    async fn a_policy_change_is_checked_and_makes_a_new_version() {
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), Arc::new(crate::ports::SystemClock));
        let tenant = crate::app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        assert_eq!(return_policy(&deps, &tenant).await.expect("read"), ReturnPolicy::defaults());
        let write: PolicyWrite =
            serde_json::from_value(serde_json::json!({"window_days": 60, "store_credit_bonus_percent": 10}))
                .expect("write");
        let changed = update_return_policy(&deps, &tenant, write).await.expect("changed");
        assert_eq!((changed.version, changed.window_days, changed.store_credit_bonus_percent), (2, 60, 10));
        let bad: PolicyWrite = serde_json::from_value(serde_json::json!({"window_days": 0})).expect("write");
        let refused = update_return_policy(&deps, &tenant, bad).await;
        assert!(matches!(refused, Err(AppError::Invalid(ref e)) if e.field == "window_days"), "{refused:?}");
        assert_eq!(return_policy(&deps, &tenant).await.expect("read").version, 2, "nothing stored");
        let other = crate::app::create_tenant(&deps, "Other").await.expect("tenant").0.id;
        assert_eq!(return_policy(&deps, &other).await.expect("read").window_days, 30, "per merchant");
    }

    /// A tenant whose policy counts from the order, with a two-line order and a clock.
    async fn shop(auto_approve: bool) -> (crate::app::Deps, Arc<crate::testkit::ManualClock>, Order) {
        use chrono::TimeZone;
        let start = chrono::Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("date");
        let clock = Arc::new(crate::testkit::ManualClock::at(start));
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock.clone());
        let tenant = crate::app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let mut write = serde_json::json!({"window_from": "order", "approved_expiry_days": 10});
        if auto_approve {
            write["auto_approve"] = serde_json::json!({"max_total_minor": 5000, "reasons": ["changed_mind"]});
        }
        update_return_policy(&deps, &tenant, serde_json::from_value(write).expect("write")).await.expect("policy");
        let mut order = crate::testkit::sample_order(&tenant, "5001", "#1001");
        order.items[0].quantity = 2;
        order.placed_at = Some(start - chrono::Duration::days(1));
        deps.orders.put_order(&order).await.expect("order");
        (deps, clock, order)
    }

    fn asking(quantity: u32) -> NewReturn {
        NewReturn {
            items: vec![ItemRequest {
                item: "line-1".into(),
                quantity,
                reason: "changed_mind".into(),
                subreason: None,
                comment: None,
                photos: Vec::new(),
                resolution: Resolution::Refund,
                exchange_variant: None,
            }],
            method: ReturnMethod::CustomerCourier,
            refund_destination: None,
            filed_by: crate::domain::FiledBy::Shopper,
            locale: None,
        }
    }

    #[tokio::test]
    async fn the_policy_approves_by_itself_and_an_unshipped_approval_expires_after_its_days() {
        use crate::domain::ApprovalStatus;
        let (deps, clock, order) = shop(true).await;
        let ret = create_return(&deps, &order, asking(1)).await.expect("created");
        assert_eq!((ret.approval_status, ret.auto_approved), (ApprovalStatus::Approved, true));
        assert_eq!(ret.expires_at(), Some(clock.now() + chrono::Duration::days(10)));
        let shipped = create_return(&deps, &order, asking(1)).await.expect("the other unit");
        let refused = create_return(&deps, &order, asking(1)).await;
        assert!(
            matches!(&refused, Err(AppError::ReturnRefused(v)) if v[0].info.contains("every unit")),
            "both units are in returns: {refused:?}"
        );
        let key = ReturnKey::Id(shipped.id.clone());
        let attach = ShipmentToAttach {
            tracking_number: "TC-DELIVERED-2HR-X".into(),
            slug: "testing-courier".into(),
            label_url: "https://labels.example.com/1.pdf".into(),
            total_charge: None,
        };
        attach_shipment(&deps, &order.tenant_id, &key, attach).await.expect("attached");

        clock.advance(chrono::Duration::days(9));
        assert_eq!(expire_due(&deps).await.expect("ran"), 0, "not yet");
        clock.advance(chrono::Duration::days(2));
        assert_eq!(expire_due(&deps).await.expect("ran"), 1, "only the unshipped one");
        let read = get_return(&deps, &order.tenant_id, &ReturnKey::Id(ret.id.clone())).await.expect("read");
        assert_eq!((read.approval_status, read.expired_at), (ApprovalStatus::Expired, Some(clock.now())));
        let read = get_return(&deps, &order.tenant_id, &key).await.expect("read");
        assert_eq!(read.approval_status, ApprovalStatus::Approved, "its items are on their way");
        assert_eq!(expire_due(&deps).await.expect("ran"), 0, "once");
        // The expired return's unit may be asked for again.
        create_return(&deps, &order, asking(1)).await.expect("the unit is free again");
    }

    #[tokio::test]
    async fn exchanges_keep_the_wanted_variant_and_its_price_difference() {
        let (deps, _, order) = shop(false).await;
        let mut ask = asking(2);
        ask.items[0].resolution = Resolution::Exchange;
        let refused = create_return(&deps, &order, ask.clone()).await;
        assert!(matches!(&refused, Err(AppError::Invalid(e)) if e.field == "return_items[0].exchange_variant"));
        ask.items[0].exchange_variant = Some(crate::domain::ExchangeVariant {
            title: "Blue".into(),
            sku: Some("MUG-BLUE".into()),
            unit_price: Some(crate::domain::Money { amount: "14.00".into(), currency: "EUR".into() }),
        });
        let refused = create_return(&deps, &order, ask.clone()).await;
        assert!(
            matches!(&refused, Err(AppError::ReturnRefused(v)) if v[0].path == "return_items[0].resolution"),
            "the default policy offers no exchange: {refused:?}"
        );
        let write = serde_json::json!({"resolutions": ["refund", "store_credit", "exchange"]});
        update_return_policy(&deps, &order.tenant_id, serde_json::from_value(write).expect("write")).await.expect("p");
        let ret = create_return(&deps, &order, ask).await.expect("created");
        assert_eq!(ret.outcomes(), [crate::domain::Outcome::Exchange]);
        assert_eq!(ret.exchange_difference_minor(), 300, "two units, 1.50 more each");
        let approved = approve(&deps, &order.tenant_id, &ReturnKey::Id(ret.id.clone()), true).await.expect("approved");
        // The merchant asked for the shopper to be told: the approval email is planned, once.
        let subject = crate::domain::ShipmentId::parse(&ret.id).expect("32 hex");
        let planned = deps.ledger.shipment_messages(&order.tenant_id, &subject).await.expect("ledger");
        let mut triggers: Vec<_> = planned.iter().map(|m| m.trigger).collect();
        triggers.sort();
        assert_eq!(triggers, [crate::domain::Trigger::ReturnSubmitted, crate::domain::Trigger::ReturnApproved]);
        let view = crate::api::wire::return_view(&approved, None);
        assert_eq!(view["exchange"]["price_difference"], serde_json::json!({"amount": "3.00", "currency": "EUR"}));
        assert_eq!(view["exchange"]["items"][0]["variant_title"], "Blue");
    }
}
