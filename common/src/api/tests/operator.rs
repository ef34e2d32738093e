//! Carrier webhooks, the operator's API and courier connections, through the router.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Harness, TRACKINGS, meta_code};
use crate::api::router;
use crate::app;

fn with_pipeline(h: &mut Harness) {
    let mut deps = h.deps.clone();
    deps.webhook_secrets =
        Arc::new(crate::carriers::WebhookSecrets([("testing-courier".to_owned(), "hook-secret".to_owned())].into()));
    deps.admin_token = Some(crate::settings::AdminToken::of("admin-token"));
    h.deps = deps.clone();
    h.router = router(deps);
}

async fn post_webhook(h: &Harness, slug: &str, body: &[u8], signature: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(Method::POST).uri(format!("/webhooks/carriers/{slug}"));
    if let Some(signature) = signature {
        request = request.header("x-testing-courier-signature", signature);
    }
    let response =
        h.router.clone().oneshot(request.body(Body::from(body.to_vec())).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn admin(h: &Harness, method: Method, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    admin_with(h, method, path, token, Body::empty()).await
}

async fn admin_with(h: &Harness, method: Method, path: &str, token: Option<&str>, body: Body) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("x-porchlight-admin-token", token);
    }
    let response = h.router.clone().oneshot(request.body(body).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn carrier_webhooks_are_accepted_only_when_signed_and_land_in_shipments() {
    let mut h = Harness::new().await;
    with_pipeline(&mut h);
    let created = h.create(json!({"tracking_number": "TC-DELIVERED-4-API"})).await;
    assert_eq!(created["slug"], "testing-courier");
    let body = br#"{"tracking_number":"TC-DELIVERED-4-API","events":[{"occurred_at":"2026-06-01T10:00:00Z","code":"PUP","description":"Picked up"}]}"#;
    let signature = crate::carriers::sign_base64("hook-secret", body);
    let (status, response) = post_webhook(&h, "testing-courier", body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert!(response["data"]["id"].as_str().is_some());
    for bad in [None, Some("bad-signature")] {
        let (status, response) = post_webhook(&h, "testing-courier", body, bad).await;
        assert_eq!((status, meta_code(&response)), (StatusCode::UNAUTHORIZED, 401));
    }
    assert_eq!(post_webhook(&h, "no-such-carrier", body, Some(&signature)).await.0, StatusCode::NOT_FOUND);
    app::process_carrier_updates(&h.deps, 10).await.expect("processed");
    let (_, read) = h.call(Method::GET, &format!("{TRACKINGS}/{}", created["id"].as_str().expect("id")), None).await;
    assert_eq!(read["data"]["tag"], "InTransit");
    assert_eq!(read["data"]["checkpoints"][0]["raw_tag"], "PUP");
}

#[tokio::test]
async fn the_admin_api_lists_and_replays_quarantined_payloads() {
    let mut h = Harness::new().await;
    assert_eq!(
        admin(&h, Method::GET, "/admin/quarantine", Some("admin-token")).await.0,
        StatusCode::NOT_FOUND,
        "off without a token"
    );
    with_pipeline(&mut h);
    let garbage = b"<xml>not the sandbox shape</xml>";
    let signature = crate::carriers::sign_base64("hook-secret", garbage);
    assert_eq!(post_webhook(&h, "testing-courier", garbage, Some(&signature)).await.0, StatusCode::OK);
    app::process_carrier_updates(&h.deps, 10).await.expect("processed");
    for token in [None, Some("wrong")] {
        assert_eq!(admin(&h, Method::GET, "/admin/quarantine", token).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, listed) = admin(&h, Method::GET, "/admin/quarantine", Some("admin-token")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let message = &listed["data"]["messages"][0];
    assert!(message["reason"].as_str().unwrap_or_default().contains("sandbox push"), "{message}");
    assert_eq!(message["message"]["body"], "<xml>not the sandbox shape</xml>");
    let id = message["id"].as_str().expect("id");
    let (status, _) = admin(&h, Method::POST, &format!("/admin/quarantine/{id}/replay"), Some("admin-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        admin(&h, Method::POST, &format!("/admin/quarantine/{id}/replay"), Some("admin-token")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, stats) = admin(&h, Method::GET, "/admin/stats", Some("admin-token")).await;
    assert_eq!(stats["data"]["carrier_updates_depth"], 1, "replayed and waiting");
    assert_eq!(stats["data"]["quarantined"], 1);
}

#[tokio::test]
async fn the_admin_api_makes_merchants_and_their_keys() {
    let mut h = Harness::new().await;
    with_pipeline(&mut h);
    let token = Some("admin-token");
    let body = |v: Value| Body::from(v.to_string());
    let (status, created) = admin_with(&h, Method::POST, "/admin/tenants", token, body(json!({"name": "Acme"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let tenant = created["data"]["tenant"]["id"].as_str().expect("tenant id").to_owned();
    let key = created["data"]["api_key"]["key"].as_str().expect("the key, once").to_owned();
    let (status, _) = h.call_as(Some(&key), Method::GET, TRACKINGS, None).await;
    assert_eq!(status, StatusCode::OK, "the new merchant's key works");

    for bad in [json!({}), json!({"name": ""}), json!([1])] {
        let (status, answer) = admin_with(&h, Method::POST, "/admin/tenants", token, body(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["meta"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    let unauthenticated = admin_with(&h, Method::POST, "/admin/tenants", None, body(json!({"name": "X"}))).await;
    assert_eq!(unauthenticated.0, StatusCode::UNAUTHORIZED);

    let keys_path = format!("/admin/tenants/{tenant}/api-keys");
    let (status, second) = admin(&h, Method::POST, &keys_path, token).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second_id = second["data"]["api_key"]["id"].as_str().expect("key id").to_owned();
    let (_, listed) = admin(&h, Method::GET, &keys_path, token).await;
    assert_eq!(listed["data"]["api_keys"].as_array().map(Vec::len), Some(2));
    assert!(!listed.to_string().contains(&key), "keys are never listed");
    let (_, tenants) = admin(&h, Method::GET, "/admin/tenants", token).await;
    assert!(tenants["data"]["tenants"].as_array().expect("list").iter().any(|t| t["id"] == tenant.as_str()));

    let first_id = created["data"]["api_key"]["id"].as_str().expect("key id");
    let (status, _) = admin(&h, Method::DELETE, &format!("{keys_path}/{first_id}"), token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.call_as(Some(&key), Method::GET, TRACKINGS, None).await.0, StatusCode::UNAUTHORIZED, "revoked");
    assert_eq!(admin(&h, Method::GET, "/admin/tenants/nobody/api-keys", token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin(&h, Method::POST, "/admin/tenants/nobody/api-keys", token).await.0, StatusCode::NOT_FOUND);
    assert!(!second_id.is_empty());
}

const CONNECTIONS: &str = "/tracking/2026-07/courier-connections";

#[tokio::test]
async fn courier_connections_are_validated_sealed_masked_and_per_tenant() {
    let h = Harness::new().await;
    let (status, body) = h
        .call(Method::POST, CONNECTIONS, Some(json!({"courier_slug": "ups", "credentials": {"client_id": "acme-ups", "client_secret": "s3cret-value-1234"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    assert_eq!(data["courier_slug"], "ups");
    assert_eq!(data["credentials"]["client_id"], "acme-ups");
    assert_eq!(data["credentials"]["client_secret"], "****1234", "secrets are masked");
    let id = data["id"].as_str().expect("id").to_owned();
    // Sealed at rest: the stored bytes do not contain the secret.
    let tenant = app::authenticate(&h.deps, Some(&h.key)).await.expect("tenant");
    let stored = h.deps.connections.get_connection(&tenant, &id).await.expect("read").expect("stored");
    assert!(!stored.sealed_credentials.windows(8).any(|w| w == b"s3cret-v"));

    let bad: Vec<(Value, u64, &str)> = vec![
        (json!({"credentials": {}}), 4009, "courier_slug"),
        (json!({"courier_slug": "ups"}), 4009, "credentials"),
        (json!({"courier_slug": "nope", "credentials": {}}), 4010, "nope"),
        (json!({"courier_slug": "testing-courier", "credentials": {}}), 4008, "courier_slug"),
        (json!({"courier_slug": "ups", "credentials": {"client_id": "x"}}), 4008, "credentials.client_secret"),
        (
            json!({"courier_slug": "ups", "credentials": {"client_id": "x", "client_secret": "y", "pin": "1"}}),
            4008,
            "credentials.pin",
        ),
        (
            json!({"courier_slug": "ups", "credentials": {"client_id": 5, "client_secret": "y"}}),
            4008,
            "credentials.client_id",
        ),
    ];
    for (request, code, named) in bad {
        let (status, body) = h.call(Method::POST, CONNECTIONS, Some(request.clone())).await;
        assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, code), "{request} -> {body}");
        assert!(body["meta"]["message"].as_str().unwrap_or_default().contains(named), "{request} -> {body}");
    }

    let path = format!("{CONNECTIONS}/{id}");
    let (status, body) = h
        .call(
            Method::PATCH,
            &path,
            Some(json!({"credentials": {"client_id": "acme-ups-2", "client_secret": "rotated-secret-9876"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["credentials"]["client_secret"], "****9876");
    let other = h.other_key().await;
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = h.call_as(Some(&other), method, &path, None).await;
        assert_eq!((status, meta_code(&body)), (StatusCode::NOT_FOUND, 404));
    }
    let (_, listed) = h.call_as(Some(&other), Method::GET, CONNECTIONS, None).await;
    assert_eq!(listed["data"]["courier_connections"], json!([]));

    h.call(
        Method::POST,
        CONNECTIONS,
        Some(json!({"courier_slug": "fedex", "credentials": {"client_id": "k", "client_secret": "fedex-secret-0001"}})),
    )
    .await;
    h.call(
        Method::POST,
        CONNECTIONS,
        Some(json!({"courier_slug": "dhl", "credentials": {"api_key": "dhl-key-00000002"}})),
    )
    .await;
    let (_, page) = h.call(Method::GET, &format!("{CONNECTIONS}?limit=2"), None).await;
    assert_eq!(page["data"]["pagination"]["total"], 3);
    assert_eq!(page["data"]["courier_connections"].as_array().map(Vec::len), Some(2));
    let next = page["data"]["pagination"]["next_cursor"].as_str().expect("more").to_owned();
    let (_, rest) = h.call(Method::GET, &format!("{CONNECTIONS}?limit=2&cursor={next}"), None).await;
    assert_eq!(rest["data"]["courier_connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["data"]["pagination"]["has_next_page"], false);
    let (_, fedex_only) = h.call(Method::GET, &format!("{CONNECTIONS}?courier_slug=fedex"), None).await;
    assert_eq!(fedex_only["data"]["courier_connections"][0]["courier_slug"], "fedex");
    let (status, _) = h.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.call(Method::GET, &path, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_stats_flag_a_carrier_whose_unmapped_share_jumped_across_merchants() {
    use crate::domain::analytics::{Counters, Lane, Period};
    use crate::domain::{ShipmentId, Slug, TenantId};
    use crate::ports::CountedChange;

    let mut h = Harness::new().await;
    with_pipeline(&mut h);
    let other = app::create_tenant(&h.deps, "Other").await.expect("tenant").0.id;
    let acme =
        h.deps.tenants.list_tenants().await.expect("tenants").into_iter().find(|t| t.id != other).expect("acme").id;
    let today = Harness::today().date_naive();
    let count = |tenant: &TenantId, slug: &str, days_ago: i64, events: i64, unmapped: i64| {
        let counters: Counters =
            [("h:events".to_owned(), events), ("h:unmapped".to_owned(), unmapped)].into_iter().collect();
        let lane = Lane::carrier_events(Slug::parse(slug).expect("slug"));
        let day = today - chrono::Duration::days(days_ago);
        let rows = Period::of_day(day).into_iter().map(|p| (p, lane.clone(), counters.clone())).collect();
        CountedChange::shipment(tenant.clone(), &ShipmentId::random(), 1, rows)
    };
    // UPS relabels a scan today: a third of its events go unmapped at both merchants; DHL as usual.
    let changes = vec![
        count(&acme, "ups", 3, 500, 5),
        count(&other, "ups", 8, 500, 5),
        count(&acme, "ups", 0, 60, 20),
        count(&other, "ups", 0, 40, 14),
        count(&acme, "dhl", 2, 300, 3),
        count(&acme, "dhl", 0, 50, 1),
    ];
    h.deps.analytics.count_changes(changes, None).await.expect("counted");

    let (status, stats) = admin(&h, Method::GET, "/admin/stats", Some("admin-token")).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let health = stats["data"]["carrier_health"].as_array().expect("carriers");
    let by_slug = |slug: &str| health.iter().find(|c| c["slug"] == slug).cloned().expect("listed");
    let ups = by_slug("ups");
    assert_eq!(
        (ups["events"].as_i64(), ups["unmapped"].as_i64(), ups["usual_events"].as_i64()),
        (Some(100), Some(34), Some(1000))
    );
    assert_eq!(
        (ups["share"].as_f64(), ups["usual_share"].as_f64(), ups["jumped"].as_bool()),
        (Some(0.34), Some(0.01), Some(true))
    );
    assert_eq!(by_slug("dhl")["jumped"], false);
    // Each merchant sees its own carrier health, never the other's.
    let acme_ups = app::analytics::tenant_watch(&h.deps, &acme, Harness::today()).await.expect("watched");
    assert_eq!(acme_ups.iter().find(|w| w.slug == "ups").map(|w| (w.events, w.jumped)), Some((60, true)));
}
