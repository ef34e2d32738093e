//! Integrations in the settings: webhook endpoints, storefront connectors and carrier
//! accounts added, used and removed by admins, refused with the reason, out of agents' reach.

use axum::http::StatusCode;

use super::Harness;
use crate::app::{connections, connectors, webhooks};
use crate::domain::Role;

#[tokio::test]
async fn admins_add_test_rotate_and_remove_a_webhook_endpoint() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    let mut admin = h.signed_in("adm@example.com").await;
    let settings = h.get(&mut admin, "/console/settings").await;
    assert!(settings.body.contains("Add the endpoint"));
    let token = settings.csrf();
    let url = "https://hooks.example.com/porchlight";
    let form = [("csrf", token.as_str()), ("url", url), ("events", "tracking_update"), ("events", "exception_case")];
    let added = h.post(&mut admin, "/console/settings/webhooks", &form).await;
    assert_eq!(added.status, StatusCode::OK, "the secret is on this answer, not behind a redirect");
    let endpoint = webhooks::list_endpoints(&h.deps, &h.tenant).await.expect("listed").remove(0);
    assert_eq!(endpoint.events.len(), 2);
    let secret = webhooks::signing_endpoint(&h.deps, &h.tenant, &endpoint.id).await.expect("opened").secret;
    assert!(added.body.contains(&secret), "shown once");
    assert!(!h.get(&mut admin, "/console/settings").await.body.contains(&secret), "and never again");

    let again = h.post(&mut admin, "/console/settings/webhooks", &form).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("is registered already"), "{}", again.body);
    let plain_http = [("csrf", token.as_str()), ("url", "http://hooks.example.com/x"), ("events", "tracking_update")];
    assert_eq!(
        h.post(&mut admin, "/console/settings/webhooks", &plain_http).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = [("csrf", token.as_str()), ("url", "https://other.example.com/x"), ("events", "parcel_teleported")];
    let refused = h.post(&mut admin, "/console/settings/webhooks", &unknown).await;
    assert!(refused.body.contains("is not a webhook event"));
    assert_eq!(webhooks::list_endpoints(&h.deps, &h.tenant).await.expect("listed").len(), 1, "nothing else kept");

    let base = format!("/console/settings/webhooks/{}", endpoint.id);
    let tested = h.post(&mut admin, &format!("{base}/test"), &[("csrf", &token)]).await;
    assert!(tested.body.contains("Test sent") && tested.body.contains("failed: "), "no network in tests");
    let rotated = h.post(&mut admin, &format!("{base}/rotate"), &[("csrf", &token)]).await;
    let new_secret = webhooks::signing_endpoint(&h.deps, &h.tenant, &endpoint.id).await.expect("opened").secret;
    assert!(new_secret != secret && rotated.body.contains(&new_secret));

    let mut ana = h.signed_in("ana@example.com").await;
    let seen = h.get(&mut ana, "/console/settings").await;
    assert!(!seen.body.contains("Add the endpoint") && !seen.body.contains("New secret"), "no controls for agents");
    let forged = h.post(&mut ana, &format!("{base}/delete"), &[("csrf", &seen.csrf())]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(webhooks::list_endpoints(&h.deps, &h.tenant).await.expect("listed").len(), 1);

    let other = crate::app::create_tenant(&h.deps, "Other").await.expect("tenant").0.id;
    h.member(&other, "bo@example.com", Role::Owner).await;
    let mut bo = h.signed_in("bo@example.com").await;
    let bo_token = h.get(&mut bo, "/console/settings").await.csrf();
    let reached = h.post(&mut bo, &format!("{base}/delete"), &[("csrf", &bo_token)]).await;
    assert_eq!(reached.status, StatusCode::NOT_FOUND, "another merchant's endpoint");
    assert_eq!(webhooks::list_endpoints(&h.deps, &h.tenant).await.expect("listed").len(), 1);

    let removed = h.post(&mut admin, &format!("{base}/delete"), &[("csrf", &token)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(webhooks::list_endpoints(&h.deps, &h.tenant).await.expect("listed").is_empty());
    let log = h.get(&mut admin, "/console/audit").await.body;
    assert!(log.contains("webhook.created") && log.contains("webhook.rotate") && log.contains("webhook.delete"));
}

#[tokio::test]
async fn admins_connect_stores_and_carrier_accounts_and_bad_values_keep_nothing() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    let mut admin = h.signed_in("adm@example.com").await;
    let token = h.get(&mut admin, "/console/settings").await.csrf();
    let shop = |domain| {
        [
            ("csrf", token.as_str()),
            ("platform", "shopify"),
            ("shop_domain", domain),
            ("client_secret", "shpss_0123456789"),
            ("access_token", "shpat_0123456789"),
        ]
    };
    let refused = h.post(&mut admin, "/console/settings/connectors", &shop("not a shop")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("shop_domain"), "{}", refused.body);
    assert!(connectors::list_connectors(&h.deps, &h.tenant).await.expect("listed").is_empty());
    let connected = h.post(&mut admin, "/console/settings/connectors", &shop("example.myshopify.com")).await;
    assert_eq!(connected.status, StatusCode::OK);
    let connector = connectors::list_connectors(&h.deps, &h.tenant).await.expect("listed").remove(0);
    assert!(connected.body.contains(&format!("shopify&#x2f;{}", connector.id)), "where the store's webhooks go");
    assert!(!connected.body.contains("shpat_0123456789"), "secrets are not echoed");
    let listing = h.get(&mut admin, "/console/shipments").await;
    assert!(listing.body.contains("Shopify: example.myshopify.com"), "the store is a channel of the list");
    let gone =
        h.post(&mut admin, &format!("/console/settings/connectors/{}/delete", connector.id), &[("csrf", &token)]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(connectors::list_connectors(&h.deps, &h.tenant).await.expect("listed").is_empty());

    let form = h.get(&mut admin, "/console/settings/carriers?slug=ups").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"credentials.client_id\"") && form.body.contains("type=\"password\""));
    assert_eq!(h.get(&mut admin, "/console/settings/carriers?slug=nowhere").await.status, StatusCode::NOT_FOUND);
    let missing = [("csrf", token.as_str()), ("slug", "ups"), ("credentials.client_id", "abc")];
    let refused = h.post(&mut admin, "/console/settings/carriers", &missing).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("credentials.client_secret is invalid: is required"), "{}", refused.body);
    let full = [
        ("csrf", token.as_str()),
        ("slug", "ups"),
        ("credentials.client_id", "abc"),
        ("credentials.client_secret", "s3cret-value"),
    ];
    assert_eq!(h.post(&mut admin, "/console/settings/carriers", &full).await.status, StatusCode::SEE_OTHER);
    let accounts = connections::list_connections(&h.deps, &h.tenant, None, None, 10).await.expect("listed");
    assert_eq!(accounts.len(), 1);
    let page = h.get(&mut admin, "/console/settings").await;
    assert!(page.body.contains(&accounts[0].id) && !page.body.contains("s3cret-value"));
    let path = format!("/console/settings/carriers/{}/delete", accounts[0].id);
    assert_eq!(h.post(&mut admin, &path, &[("csrf", &token)]).await.status, StatusCode::SEE_OTHER);
    assert!(connections::list_connections(&h.deps, &h.tenant, None, None, 10).await.expect("listed").is_empty());
}
