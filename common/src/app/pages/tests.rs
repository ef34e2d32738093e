use std::sync::Arc;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{NewTracking, create_tenant, create_tracking};
use crate::domain::{Customer, ShipmentDetails, Slug};
use crate::ports::SystemClock;

fn deps() -> Deps {
    crate::testkit::deps(SqliteStore::in_memory().expect("store"), Arc::new(SystemClock))
}

async fn track(deps: &Deps, tenant: &TenantId, number: &str, order: &str, email: &str, postal: &str) -> Shipment {
    let details = ShipmentDetails {
        order_number: Some(order.into()),
        destination_postal_code: Some(postal.into()),
        customers: vec![Customer { email: Some(email.into()), ..Customer::default() }],
        ..ShipmentDetails::default()
    };
    let new = NewTracking {
        slug: Some(Slug::parse("ups").expect("slug")),
        tracking_number: TrackingNumber::parse(number).expect("number"),
        details,
        last_mile: None,
    };
    create_tracking(deps, tenant, new).await.expect("tracked")
}

#[tokio::test]
async fn every_merchant_gets_a_page_with_a_free_slug_from_its_name() {
    let deps = deps();
    let first = create_tenant(&deps, "Acme Goods").await.expect("tenant").0.id;
    let second = create_tenant(&deps, "ACME goods!").await.expect("tenant").0.id;
    assert_eq!(page_settings(&deps, &first).await.expect("page").slug, "acme-goods");
    let page = page_settings(&deps, &second).await.expect("page");
    assert_eq!(page.slug, "acme-goods-2");
    assert_eq!(page.brand_name, "ACME goods!");
    let (tenant, resolved) = resolve_page(&deps, "acme-goods-2").await.expect("read").expect("found");
    assert_eq!((tenant, resolved.slug.as_str()), (second, "acme-goods-2"));
    assert!(resolve_page(&deps, "nobody-here").await.expect("read").is_none());
    assert!(resolve_page(&deps, "../etc").await.expect("read").is_none());
}

#[tokio::test]
async fn updates_are_partial_validated_and_move_the_slug() {
    let deps = deps();
    let acme = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let other = create_tenant(&deps, "Other").await.expect("tenant").0.id;
    let update: PageUpdate = serde_json::from_str(
        r##"{"slug": "acme-store", "primary_color": "#AABBCC", "support_email": "help@acme.example",
            "languages": ["de", "en"], "default_language": "de"}"##,
    )
    .expect("parsed");
    let page = update_page_settings(&deps, &acme, update).await.expect("updated");
    assert_eq!((page.slug.as_str(), page.primary_color.as_str()), ("acme-store", "#aabbcc"));
    assert_eq!(page.default_language, Language::De);
    assert!(resolve_page(&deps, "acme").await.expect("read").is_none(), "the old slug is gone");
    assert!(resolve_page(&deps, "acme-store").await.expect("read").is_some());

    let cleared: PageUpdate = serde_json::from_str(r#"{"support_email": null}"#).expect("parsed");
    let page = update_page_settings(&deps, &acme, cleared).await.expect("updated");
    assert_eq!((page.support_email.as_deref(), page.slug.as_str()), (None, "acme-store"), "others kept");

    let taken: PageUpdate = serde_json::from_str(r#"{"slug": "acme-store"}"#).expect("parsed");
    let error = update_page_settings(&deps, &other, taken).await.expect_err("taken");
    assert!(matches!(error, AppError::Invalid(ref e) if e.field == "slug"), "{error:?}");
    let bad: PageUpdate = serde_json::from_str(r#"{"languages": ["fr"]}"#).expect("parsed");
    let error = update_page_settings(&deps, &acme, bad).await.expect_err("default not offered");
    assert!(matches!(error, AppError::Invalid(ref e) if e.field == "default_language"), "{error:?}");
    assert_eq!(page_settings(&deps, &other).await.expect("page").slug, "other", "a refusal stores nothing");
    assert!(serde_json::from_str::<PageUpdate>(r##"{"colour": "#000000"}"##).is_err(), "unknown fields refused");
}

#[tokio::test]
async fn an_order_opens_only_with_its_email_or_postal_code() {
    let deps = deps();
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let other = create_tenant(&deps, "Other").await.expect("tenant").0.id;
    let first = track(&deps, &tenant, "1Z999AA10123456784", "#1001", "Ann@Example.com", "SW1A 1AA").await;
    let second = track(&deps, &tenant, "1Z999AA10123456791", "#1001", "ann@example.com", "SW1A 1AA").await;
    track(&deps, &other, "1Z999AA10123456807", "#1001", "ann@example.com", "SW1A 1AA").await;

    let email = OrderProof::Email("ann@example.COM".into());
    let found = lookup_order(&deps, &tenant, "1001", &email).await.expect("found");
    assert_eq!(found.iter().map(|s| &s.id).collect::<Vec<_>>(), [&second.id, &first.id], "both parcels, newest first");
    let postal = OrderProof::PostalCode("sw1a-1aa".into());
    assert_eq!(lookup_order(&deps, &tenant, "#1001", &postal).await.expect("found").len(), 2);
    for (order, proof) in [
        ("#1001", OrderProof::Email("someone@example.com".into())),
        ("#1001", OrderProof::Email(" ".into())),
        ("#1001", OrderProof::PostalCode("".into())),
        ("#9999", OrderProof::Email("ann@example.com".into())),
    ] {
        assert!(lookup_order(&deps, &tenant, order, &proof).await.expect("answered").is_empty(), "{order} {proof:?}");
    }
    assert_eq!(lookup_number(&deps, &tenant, "1z999aa10123456784").await.expect("found")[0].id, first.id);
    assert!(lookup_number(&deps, &tenant, "1Z999AA10123456807").await.expect("found").is_empty(), "not this tenant's");
    assert!(lookup_number(&deps, &tenant, "<script>").await.expect("answered").is_empty());
}
