//! The contract of the returns store.

use chrono::Duration;

use super::base_time;
use crate::domain::{
    ApprovalStatus, FiledBy, Money, RefundDestination, Resolution, Return, ReturnItem, ReturnMethod, TenantId,
};
use crate::ports::{ReturnFilter, ReturnStore, StoreError};

/// A submitted return of one unit of `line-1` of `order_id`, numbered `rma`.
pub fn sample_return(tenant: &TenantId, order_id: &str, rma: &str) -> Return {
    let money = |amount: &str| Money { amount: amount.to_owned(), currency: "EUR".to_owned() };
    Return {
        id: Return::new_id(crate::secrets::random_bytes()),
        tenant_id: tenant.clone(),
        rma_number: rma.to_owned(),
        order_id: order_id.to_owned(),
        order_external_id: "5001".to_owned(),
        order_number: Some("#1001".to_owned()),
        store: None,
        order_placed_at: None,
        contact_email: Some("ann@example.com".to_owned()),
        locale: None,
        country_region: Some("DEU".to_owned()),
        filed_by: FiledBy::Shopper,
        approval_status: ApprovalStatus::Submitted,
        items: vec![ReturnItem {
            external_order_item_id: "line-1".to_owned(),
            sku: None,
            product_title: "Mug".to_owned(),
            variant_title: None,
            image_url: None,
            tags: Vec::new(),
            categories: Vec::new(),
            ordered_quantity: 1,
            intended_return_quantity: 1,
            removed_quantity: 0,
            received_quantity: 0,
            reason: "changed_mind".to_owned(),
            reason_label: "I changed my mind".to_owned(),
            subreason: None,
            comment: None,
            photos: Vec::new(),
            resolution: Resolution::Refund,
            unit_price: money("12.50"),
            unit_discount: None,
            unit_tax: None,
            exchange_variant: None,
        }],
        method: ReturnMethod::CustomerCourier,
        refund_destination: RefundDestination::OriginalPayment,
        fee: money("0.00"),
        refund_estimate: money("12.50"),
        policy_version: 1,
        expire_after_days: 30,
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
        created_at: base_time(),
        updated_at: base_time(),
        version: 0,
    }
}

/// A return is created once per RMA number, and only while its order has the returns the
/// creator saw; found by id, RMA and order; written under its version; listed with filters,
/// newest first, counted; due to expire once approved and waiting past its days; never seen by
/// another tenant.
pub async fn return_contract_creates_versions_lists_and_isolates(store: &dyn ReturnStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let first = sample_return(&tenant, "ord_a", "AAAA2222");
    assert_eq!(store.create_return(&first, 0).await.expect("created"), 1);
    let mut raced = sample_return(&tenant, "ord_a", "AAAA3333");
    assert!(matches!(store.create_return(&raced, 0).await, Err(StoreError::Conflict)), "another create won");
    let same_rma = sample_return(&tenant, "ord_b", "AAAA2222");
    assert!(matches!(store.create_return(&same_rma, 0).await, Err(StoreError::Conflict)), "rma per tenant");
    store.create_return(&sample_return(&other, "ord_a", "AAAA2222"), 0).await.expect("another tenant's rma");
    raced.created_at = base_time() + Duration::hours(1);
    raced.approval_status = ApprovalStatus::Approved;
    raced.approved_at = Some(raced.created_at);
    store.create_return(&raced, 1).await.expect("second return of the order");

    let read = store.return_by_id(&tenant, &first.id).await.expect("read").expect("there");
    assert_eq!((read.version, read.rma_number.as_str()), (1, "AAAA2222"));
    assert_eq!(store.return_by_rma(&tenant, "AAAA3333").await.expect("read").map(|r| r.id), Some(raced.id.clone()));
    assert!(store.return_by_id(&other, &first.id).await.expect("read").is_none(), "per tenant");
    let of_order = store.returns_of_order(&tenant, "ord_a").await.expect("read");
    assert_eq!(of_order.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&first.id, &raced.id], "oldest first");

    let mut changed = read.clone();
    changed.approval_status = ApprovalStatus::Rejected;
    assert_eq!(store.put_return(&changed).await.expect("written"), 2);
    assert!(matches!(store.put_return(&changed).await, Err(StoreError::Conflict)), "stale version");

    let (all, total) = store.returns(&tenant, &ReturnFilter::default(), 0, 10).await.expect("listed");
    assert_eq!((total, all[0].id.as_str()), (2, raced.id.as_str()), "newest first");
    let approved = ReturnFilter { approval_status: Some(ApprovalStatus::Approved), ..ReturnFilter::default() };
    let (page, total) = store.returns(&tenant, &approved, 0, 10).await.expect("listed");
    assert_eq!((page.len(), total), (1, 1));
    let (page, total) = store.returns(&tenant, &ReturnFilter::default(), 1, 1).await.expect("listed");
    assert_eq!((page.len(), total, page[0].id.as_str()), (1, 2, first.id.as_str()), "offset");

    let due = store.due_expiries(base_time() + Duration::days(29), 10).await.expect("due");
    assert!(due.iter().all(|d| d.id != raced.id), "not yet");
    let due = store.due_expiries(base_time() + Duration::days(31), 1000).await.expect("due");
    assert!(due.iter().any(|d| d.id == raced.id && d.tenant_id == tenant), "approved and waiting");
    assert!(due.iter().all(|d| d.id != first.id), "rejected returns do not expire");
    let mut expired = store.return_by_id(&tenant, &raced.id).await.expect("read").expect("there");
    expired.approval_status = ApprovalStatus::Expired;
    store.put_return(&expired).await.expect("written");
    let due = store.due_expiries(base_time() + Duration::days(31), 1000).await.expect("due");
    assert!(due.iter().all(|d| d.id != raced.id), "no longer waiting");
}

/// Generates the returns store's contract tests for a store built by `$make`.
#[macro_export]
macro_rules! return_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; return_contract_creates_versions_lists_and_isolates,);
    };
}

/// A blob is kept under its key, read back, replaced, removed; an absent key reads as none.
pub async fn blob_contract_keeps_reads_and_removes(store: &dyn crate::ports::BlobStore) {
    let key = format!("returns/{}/photo.jpg", TenantId::random());
    assert!(store.get_blob(&key).await.expect("read").is_none());
    store.put_blob(&key, "image/jpeg", b"first".to_vec()).await.expect("kept");
    assert_eq!(store.get_blob(&key).await.expect("read").as_deref(), Some(&b"first"[..]));
    store.put_blob(&key, "image/jpeg", b"second".to_vec()).await.expect("replaced");
    assert_eq!(store.get_blob(&key).await.expect("read").as_deref(), Some(&b"second"[..]));
    store.delete_blob(&key).await.expect("removed");
    store.delete_blob(&key).await.expect("removing again does nothing");
    assert!(store.get_blob(&key).await.expect("read").is_none());
}
