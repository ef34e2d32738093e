//! Exception rules and the exception queue through the router.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Harness;

#[tokio::test]
async fn the_exception_queue_lists_filters_and_takes_the_teams_changes() {
    use crate::app::exceptions::evaluate;

    let h = Harness::new().await;
    let (status, rules) = h.call(Method::GET, "/porchlight/v1/exception-rules", None).await;
    assert_eq!((status, rules["data"]["rules"].as_array().map(Vec::len)), (StatusCode::OK, Some(3)), "the defaults");
    let (status, bad) = h
        .call(
            Method::POST,
            "/porchlight/v1/exception-rules",
            Some(json!({"name": "x", "reason": "y", "condition": {"type": "no_update", "days": 0}})),
        )
        .await;
    assert!(
        status.is_client_error() && bad["meta"]["message"].as_str().unwrap_or_default().contains("condition.days"),
        "{bad}"
    );
    let (status, created) = h
        .call(
            Method::POST,
            "/porchlight/v1/exception-rules",
            Some(json!({"name": "Lost", "reason": "lost by the carrier", "condition": {"type": "lost_or_damaged"}, "severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let (_, tracking) =
        h.call(Method::POST, super::TRACKINGS, Some(json!({"tracking_number": "1Z999AA10123456784"}))).await;
    let id = tracking["data"]["id"].as_str().expect("id");
    let tenant = h
        .deps
        .shipments
        .get(
            &crate::domain::TenantId::parse(&tenant_of(&h).await).expect("tenant"),
            &crate::domain::ShipmentId::parse(id).expect("id"),
        )
        .await;
    let mut shipment = tenant.expect("read").expect("there");
    let at = chrono::Utc::now();
    shipment.merge(
        [crate::domain::CheckpointInput::new(
            shipment.slug.clone(),
            shipment.tracking_number.clone(),
            crate::domain::EventTime::from_utc(at),
            crate::domain::Subtag::parse("Exception_013").expect("code"),
            "Shipment lost",
            crate::domain::CheckpointSource::Carrier,
        )],
        at,
    );
    h.deps.shipments.update(&shipment).await.expect("updated");
    let store = crate::adapters::sqlite::SqliteStore::in_memory().expect("a ledger");
    evaluate(&h.deps, &store, &shipment, false, false).await.expect("evaluated");

    let (status, queue) = h.call(Method::GET, "/porchlight/v1/exceptions?state=open", None).await;
    assert_eq!(status, StatusCode::OK);
    let cases = queue["data"]["exceptions"].as_array().expect("cases");
    assert_eq!(cases.len(), 2, "the carrier exception default and the lost rule: {queue}");
    let (_, critical) = h.call(Method::GET, "/porchlight/v1/exceptions?severity=critical", None).await;
    let case = &critical["data"]["exceptions"][0];
    assert_eq!((case["rule_name"].as_str(), case["tracking_id"].as_str()), (Some("Lost"), Some(id)));
    let case_id = case["id"].as_str().expect("id");
    let (status, bad) = h.call(Method::GET, "/porchlight/v1/exceptions?severity=urgent", None).await;
    assert!(status.is_client_error() && bad["meta"]["message"].as_str().unwrap_or_default().contains("severity"));

    let path = format!("/porchlight/v1/exceptions/{case_id}");
    let (status, changed) = h
        .call(
            Method::PATCH,
            &path,
            Some(json!({"assignee": "kim", "note": "claim filed", "author": "Kim", "state": "resolved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["data"]["state"].as_str(), changed["data"]["assignee"].as_str()),
        (Some("resolved"), Some("kim"))
    );
    assert_eq!(changed["data"]["notes"][0]["text"], "claim filed");
    let (status, _) = h.call(Method::PATCH, &path, Some(json!({"colour": "red"}))).await;
    assert!(status.is_client_error());
    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another merchant's case");
}

/// The harness merchant's tenant id, as the API names it in no answer: read from the store.
async fn tenant_of(h: &Harness) -> String {
    let tenants = h.deps.tenants.list_tenants().await.expect("tenants");
    tenants.iter().find(|t| t.name == "Acme").expect("the harness merchant").id.as_str().to_owned()
}
