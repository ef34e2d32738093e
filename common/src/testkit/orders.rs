//! The contract of the order store.

use super::base_time;
use crate::domain::{Order, TenantId};
use crate::ports::OrderStore;

/// An order of `tenant` numbered `number`, with one line.
pub fn sample_order(tenant: &TenantId, external_id: &str, number: &str) -> Order {
    let mut order: Order = serde_json::from_value(serde_json::json!({
        "id": "", "tenant_id": tenant.as_str(), "external_id": external_id, "order_number": number,
        "customer": {"email": "ann@example.com"},
        "items": [{"external_id": "line-1", "title": "Mug", "quantity": 1,
            "unit_price": {"amount": "12.50", "currency": "EUR"}}],
        "created_at": base_time(), "updated_at": base_time()
    }))
    .expect("an order");
    order.id = Order::id_of(tenant, external_id);
    order
}

/// An order is stored once under its id and replaced by a later put; listed in id order, in
/// pages; found by its number; never seen by another tenant.
pub async fn order_contract_upserts_pages_finds_and_isolates(store: &dyn OrderStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let first = sample_order(&tenant, "5001", "#1001");
    assert!(store.put_order(&first).await.expect("stored"), "new");
    let mut changed = first.clone();
    changed.items[0].quantity = 3;
    assert!(!store.put_order(&changed).await.expect("stored"), "the same order again");
    let read = store.order(&tenant, &first.id).await.expect("read").expect("there");
    assert_eq!(read.items[0].quantity, 3, "replaced");
    assert!(store.order(&other, &first.id).await.expect("read").is_none(), "per tenant");

    for n in 2..=5 {
        store.put_order(&sample_order(&tenant, &format!("500{n}"), "#1002")).await.expect("stored");
    }
    store.put_order(&sample_order(&other, "9001", "#1002")).await.expect("stored");
    let page = store.orders(&tenant, None, 3).await.expect("listed");
    let rest = store.orders(&tenant, page.last().map(|o| o.id.as_str()), 3).await.expect("listed");
    let ids: Vec<&str> = page.iter().chain(&rest).map(|o| o.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!((page.len(), rest.len(), &ids), (3, 2, &sorted), "in id order, in pages");

    let numbered = store.orders_by_number(&tenant, "#1002").await.expect("found");
    assert_eq!(numbered.len(), 4, "the tenant's four, not the other's");
    assert!(numbered.iter().all(|o| o.tenant_id == tenant));
    assert!(store.orders_by_number(&tenant, "#9999").await.expect("found").is_empty());

    assert!(!store.delete_order(&other, &first.id).await.expect("deleted"), "not the other tenant's");
    assert!(store.delete_order(&tenant, &first.id).await.expect("deleted"));
    assert!(store.order(&tenant, &first.id).await.expect("read").is_none(), "gone");
    assert!(!store.delete_order(&tenant, &first.id).await.expect("deleted"), "once");
}

/// Generates the order store's contract tests for a store built by `$make`.
#[macro_export]
macro_rules! order_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; order_contract_upserts_pages_finds_and_isolates,);
    };
}
