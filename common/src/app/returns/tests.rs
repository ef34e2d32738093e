//! Returns' use cases on an in-memory store: the policy, requests judged and raced,
//! approvals, expiry, exchanges.

use std::sync::Arc;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::domain::TenantId;
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

/// A returns store whose first create finds that another return of the order was stored
/// just before (two shoppers' requests racing).
#[derive(Clone)]
struct Racing {
    inner: SqliteStore,
    raced: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl crate::ports::ReturnStore for Racing {
    async fn return_by_id(
        &self,
        t: &TenantId,
        id: &str,
    ) -> Result<Option<crate::domain::Return>, crate::ports::StoreError> {
        self.inner.return_by_id(t, id).await
    }
    async fn return_by_rma(
        &self,
        t: &TenantId,
        rma: &str,
    ) -> Result<Option<crate::domain::Return>, crate::ports::StoreError> {
        self.inner.return_by_rma(t, rma).await
    }
    async fn returns_of_order(
        &self,
        t: &TenantId,
        order: &str,
    ) -> Result<Vec<crate::domain::Return>, crate::ports::StoreError> {
        self.inner.returns_of_order(t, order).await
    }
    async fn create_return(&self, ret: &crate::domain::Return, seen: usize) -> Result<u64, crate::ports::StoreError> {
        if !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let mut other = crate::testkit::sample_return(&ret.tenant_id, &ret.order_id, "RACE2345");
            other.items[0].external_order_item_id = "line-1".into();
            self.inner.create_return(&other, seen).await?;
        }
        self.inner.create_return(ret, seen).await
    }
    async fn put_return(&self, ret: &crate::domain::Return) -> Result<u64, crate::ports::StoreError> {
        self.inner.put_return(ret).await
    }
    async fn returns(
        &self,
        t: &TenantId,
        filter: &crate::ports::ReturnFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<crate::domain::Return>, usize), crate::ports::StoreError> {
        self.inner.returns(t, filter, offset, limit).await
    }
    async fn due_expiries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<crate::ports::DueReturn>, crate::ports::StoreError> {
        self.inner.due_expiries(now, limit).await
    }
}

#[tokio::test]
async fn two_requests_for_one_order_at_once_answer_the_second_with_42900() {
    let (mut deps, _, order) = shop(false).await;
    let store = SqliteStore::in_memory().expect("store");
    // The racing store shares nothing with the shop's: its own tables, the same order id.
    deps.returns = Arc::new(Racing { inner: store, raced: Arc::default() });
    let raced = create_return(&deps, &order, asking(1)).await;
    assert!(matches!(raced, Err(AppError::ReturnInProgress)), "{raced:?}");
    let error = crate::api::ApiError::returns(raced.expect_err("raced"));
    assert_eq!(error.code(), 42900);
    // Asked again, it is judged with the other return counted.
    let again = create_return(&deps, &order, asking(1)).await.expect("the other unit");
    assert_eq!(again.items[0].intended_return_quantity, 1);
}
