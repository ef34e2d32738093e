//! The contract of the connector store.

use chrono::Duration;

use super::base_time;
use crate::domain::TenantId;
use crate::ports::{Advance, ConnectorRecord, ConnectorStore, StoreError, StoredConnector};
use crate::storefronts::Platform;

fn sample_connector(tenant: &TenantId, id: &str, minutes: i64) -> StoredConnector {
    StoredConnector {
        tenant_id: tenant.clone(),
        id: id.to_owned(),
        sealed_secrets: vec![1, 2, 3],
        record: ConnectorRecord {
            platform: Platform::Shopify,
            shop: "example.myshopify.com".into(),
            created_at: base_time() + Duration::minutes(minutes),
            updated_at: base_time() + Duration::minutes(minutes),
            last_webhook_at: None,
            backfill: None,
        },
    }
}

/// Connectors round-trip per tenant, name their tenant by id alone, forget their deliveries and
/// resources when deleted; a resource's older change never wins over a newer one or a
/// deletion.
pub async fn connector_contract_round_trip_order_and_isolation(store: &dyn ConnectorStore) {
    let (a, b) = (TenantId::random(), TenantId::random());
    let id = format!("con_{}", uuid::Uuid::new_v4().simple());
    let first = sample_connector(&a, &id, 0);
    store.insert_connector(&first).await.expect("inserted");
    assert!(matches!(store.insert_connector(&sample_connector(&b, &id, 0)).await, Err(StoreError::Conflict)));
    let second = sample_connector(&a, &format!("con_{}", uuid::Uuid::new_v4().simple()), 5);
    store.insert_connector(&second).await.expect("inserted");
    assert_eq!(store.get_connector(&a, &id).await.expect("read"), Some(first.clone()));
    assert_eq!(store.get_connector(&b, &id).await.expect("read"), None, "per tenant");
    assert_eq!(store.connector_tenant(&id).await.expect("read"), Some(a.clone()));
    assert_eq!(store.connector_tenant("con_nobody").await.expect("read"), None);
    let listed = store.list_connectors(&a).await.expect("listed");
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [first.id.as_str(), second.id.as_str()]);
    assert!(store.list_connectors(&b).await.expect("listed").is_empty());

    let mut changed = first.clone();
    changed.record.last_webhook_at = Some(base_time());
    store.update_connector(&changed).await.expect("updated");
    assert_eq!(store.get_connector(&a, &id).await.expect("read"), Some(changed.clone()));
    let mut foreign = changed.clone();
    foreign.tenant_id = b.clone();
    assert!(matches!(store.update_connector(&foreign).await, Err(StoreError::NotFound)));

    assert!(!store.delivery_seen(&a, &id, "w-1").await.expect("read"));
    store.remember_delivery(&a, &id, "w-1", base_time()).await.expect("remembered");
    store.remember_delivery(&a, &id, "w-1", base_time()).await.expect("again");
    assert!(store.delivery_seen(&a, &id, "w-1").await.expect("read"));
    assert!(!store.delivery_seen(&b, &id, "w-1").await.expect("read"), "per tenant");

    let t = base_time();
    assert_eq!(store.advance_resource(&a, &id, "order:1", t, false).await.expect("advanced"), Advance::Fresh);
    assert_eq!(store.advance_resource(&a, &id, "order:1", t, false).await.expect("same"), Advance::Fresh);
    let later = t + Duration::minutes(1);
    assert_eq!(store.advance_resource(&a, &id, "order:1", later, false).await.expect("newer"), Advance::Fresh);
    assert_eq!(store.advance_resource(&a, &id, "order:1", t, false).await.expect("older"), Advance::Stale);
    assert_eq!(store.advance_resource(&b, &id, "order:1", t, false).await.expect("other"), Advance::Fresh);
    assert!(!store.resource_deleted(&a, &id, "order:1").await.expect("read"));
    assert_eq!(store.advance_resource(&a, &id, "order:1", t, true).await.expect("deleted"), Advance::Fresh);
    assert!(store.resource_deleted(&a, &id, "order:1").await.expect("read"));
    let much_later = t + Duration::days(1);
    assert_eq!(store.advance_resource(&a, &id, "order:1", much_later, false).await.expect("after"), Advance::Deleted);
    assert!(!store.resource_deleted(&b, &id, "order:1").await.expect("read"), "per tenant");

    assert!(matches!(store.delete_connector(&b, &id).await, Err(StoreError::NotFound)), "not b's to delete");
    store.delete_connector(&a, &id).await.expect("deleted");
    assert_eq!(store.get_connector(&a, &id).await.expect("read"), None);
    assert_eq!(store.connector_tenant(&id).await.expect("read"), None);
    assert!(!store.delivery_seen(&a, &id, "w-1").await.expect("read"), "deliveries go with it");
    assert!(!store.resource_deleted(&a, &id, "order:1").await.expect("read"), "resources go with it");
    assert!(matches!(store.delete_connector(&a, &id).await, Err(StoreError::NotFound)));
}

/// Generates the connector store's contract tests for a store built by `$make`.
#[macro_export]
macro_rules! connector_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; connector_contract_round_trip_order_and_isolation,);
    };
}
