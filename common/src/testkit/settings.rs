//! The contracts of merchants' settings stores: tracking page settings, the shopper's lookups,
//! settings documents.

use super::{ShipmentBackend, insert, new_tenant, shipment};
use crate::domain::{Leg, LegSource, Slug, TenantId, TrackingNumber, TrackingPage};
use crate::ports::{PageStore, PageWrite};

fn page(slug: &str) -> TrackingPage {
    TrackingPage::default_for("Test shop", slug.to_owned())
}

/// Settings round-trip; a slug routes to one tenant only; a changed slug frees the old one.
pub async fn page_contract_slugs_are_unique_and_move(store: &dyn PageStore) {
    let (a, b) = (TenantId::random(), TenantId::random());
    let slug_a = format!("shop-{a}");
    let slug_b = format!("shop-{b}");
    assert_eq!(store.get_page(&a).await.expect("read"), None);
    assert_eq!(store.page_tenant(&slug_a).await.expect("read"), None);
    let mut settings = page(&slug_a);
    settings.brand_name = "Acme".into();
    assert_eq!(store.put_page(&a, &settings).await.expect("stored"), PageWrite::Stored);
    assert_eq!(store.get_page(&a).await.expect("read"), Some(settings.clone()));
    assert_eq!(store.page_tenant(&slug_a).await.expect("read"), Some(a.clone()));

    assert_eq!(store.put_page(&b, &page(&slug_a)).await.expect("answered"), PageWrite::SlugTaken);
    assert_eq!(store.get_page(&b).await.expect("read"), None, "a refused write changes nothing");
    assert_eq!(store.put_page(&b, &page(&slug_b)).await.expect("stored"), PageWrite::Stored);
    assert_eq!(store.put_page(&b, &page(&slug_a)).await.expect("answered"), PageWrite::SlugTaken);
    assert_eq!(store.get_page(&b).await.expect("read"), Some(page(&slug_b)), "b keeps its own");

    settings.brand_name = "Acme again".into();
    assert_eq!(store.put_page(&a, &settings).await.expect("stored"), PageWrite::Stored, "same slug rewritten");
    let moved = TrackingPage { slug: format!("moved-{a}"), ..settings.clone() };
    assert_eq!(store.put_page(&a, &moved).await.expect("stored"), PageWrite::Stored);
    assert_eq!(store.page_tenant(&slug_a).await.expect("read"), None, "the old slug is free");
    assert_eq!(store.page_tenant(&moved.slug).await.expect("read"), Some(a.clone()));
    assert_eq!(store.put_page(&b, &page(&slug_a)).await.expect("stored"), PageWrite::Stored, "and can be taken");
    assert_eq!(store.page_tenant(&slug_a).await.expect("read"), Some(b));
    assert_eq!(store.get_page(&a).await.expect("read"), Some(moved));
}

/// Lookups by number find either leg with any courier, by order number every parcel of the
/// order, both within the tenant only, newest first.
pub async fn contract_lookups_by_number_and_order(store: &dyn ShipmentBackend) {
    let tenant = new_tenant(store).await;
    let other = new_tenant(store).await;
    let mut first = shipment(&tenant, "yunexpress", "YT2530512345678901", 0);
    first.details.order_number = Some("#1001".into());
    first.last_mile = Some(Leg {
        slug: Slug::parse("usps").expect("slug"),
        tracking_number: TrackingNumber::parse("9400111899223344556677").expect("number"),
        source: LegSource::System,
    });
    let first = insert(store, first).await;
    let mut second = shipment(&tenant, "ups", "1Z999AA10123456784", 10);
    second.details.order_number = Some("#1001".into());
    let second = insert(store, second).await;
    let mut same_number = shipment(&tenant, "dhl", "1Z999AA10123456784", 20);
    same_number.details.order_number = Some("#1002".into());
    let same_number = insert(store, same_number).await;
    let mut foreign = shipment(&other, "ups", "1Z999AA10123456784", 30);
    foreign.details.order_number = Some("#1001".into());
    insert(store, foreign).await;

    let ids = |found: Vec<crate::domain::Shipment>| found.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let number = |n: &str| TrackingNumber::parse(n).expect("number");
    let by_order = store.find_by_order_number(&tenant, "#1001").await.expect("found");
    assert_eq!(ids(by_order), [second.id.clone(), first.id.clone()]);
    assert!(store.find_by_order_number(&tenant, "#100").await.expect("found").is_empty(), "exact only");
    let by_number = store.find_by_number(&tenant, &number("1z 999 aa1 0123456784")).await.expect("found");
    assert_eq!(ids(by_number), [same_number.id, second.id]);
    let by_last_mile = store.find_by_number(&tenant, &number("9400111899223344556677")).await.expect("found");
    assert_eq!(ids(by_last_mile), [first.id]);
    assert!(store.find_by_number(&tenant, &number("RR123456785CN")).await.expect("found").is_empty());
}

/// Generates the page store contract test for a store built by `$make`.
#[macro_export]
macro_rules! page_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; page_contract_slugs_are_unique_and_move,);
    };
}

/// Settings documents round-trip per tenant and kind, under optimistic versions.
pub async fn settings_contract_versions_and_isolation(store: &dyn crate::ports::SettingsStore) {
    use crate::ports::{SettingsKind, StoreError};
    let (a, b) = (TenantId::random(), TenantId::random());
    let kind = SettingsKind::NotificationRules;
    assert_eq!(store.get_settings(&a, kind).await.expect("read"), None);
    let first = serde_json::json!({"rules": [1]});
    assert_eq!(store.put_settings(&a, kind, &first, 0).await.expect("written"), 1);
    assert!(matches!(store.put_settings(&a, kind, &first, 0).await, Err(StoreError::Conflict)), "created once");
    let read = store.get_settings(&a, kind).await.expect("read").expect("there");
    assert_eq!((read.value, read.version), (first.clone(), 1));
    let second = serde_json::json!({"rules": [1, 2]});
    assert_eq!(store.put_settings(&a, kind, &second, 1).await.expect("written"), 2);
    assert!(matches!(store.put_settings(&a, kind, &first, 1).await, Err(StoreError::Conflict)), "a stale write");
    assert_eq!(store.get_settings(&a, kind).await.expect("read").map(|v| v.value), Some(second));
    assert_eq!(store.get_settings(&b, kind).await.expect("read"), None, "another tenant sees nothing");
    assert!(matches!(store.put_settings(&b, kind, &first, 3).await, Err(StoreError::Conflict)), "no such version");
}

/// Generates the settings store contract test for a store built by `$make`.
#[macro_export]
macro_rules! settings_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; settings_contract_versions_and_isolation,);
    };
}
