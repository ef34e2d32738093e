//! A shipment's evidence export through the router.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use super::{Harness, TRACKINGS};
use crate::app;
use crate::carriers::TrackingUpdate;
use crate::domain::{CheckpointInput, EventTime, Slug, Subtag, TrackingNumber};

#[tokio::test]
async fn the_evidence_holds_the_timeline_as_the_carrier_wrote_it_and_the_delivery_proof() {
    let h = Harness::new().await;
    let body = json!({"tracking_number": "1Z999AA10123456784", "slug": "ups", "order_id": "A-1001",
        "order_number": "#1001", "destination_country_region": "DEU", "destination_postal_code": "04103"});
    let (status, created) = h.call(Method::POST, TRACKINGS, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let (slug, number) = (Slug::parse("ups").expect("slug"), TrackingNumber::parse("1Z999AA10123456784").expect("n"));
    let event = |hours: i64, code: Option<&str>, raw: &str| {
        let at = EventTime::from_utc(Harness::today() + Duration::hours(hours));
        let subtag = code.map(|c| Subtag::parse(c).expect("subtag"));
        let mut input = CheckpointInput::from_carrier(slug.clone(), number.clone(), at, subtag, format!("scan {raw}"));
        input.raw_tag = Some(raw.to_owned());
        input.city = Some("LEIPZIG".into());
        input
    };
    let mut delivered = event(50, Some("Delivered_003"), "KB");
    delivered.signed_by = Some("K NOVAK".into());
    delivered.postal_code = Some("04103".into());
    let update = TrackingUpdate {
        slug: slug.clone(),
        tracking_number: number.clone(),
        events: vec![event(1, Some("InTransit_002"), "PU"), event(20, None, "ZZ"), delivered],
        handover: None,
        scheduled_delivery: None,
    };
    app::apply_tracking_update(&h.deps, &update).await.expect("merged");

    let path = format!("/porchlight/v1/trackings/{id}/evidence");
    let (status, answer) = h.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let data = &answer["data"];
    assert_eq!(data["tracking"]["order_number"], "#1001");
    assert_eq!(data["tracking"]["tag"], "Delivered");
    let timeline = data["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 3);
    assert_eq!((timeline[1]["raw_tag"].as_str(), timeline[1]["unmapped"].as_bool()), (Some("ZZ"), Some(true)));
    assert_eq!(timeline[1]["subtag"], "InTransit_001", "the fallback, flagged");
    assert_eq!(timeline[0]["event_id"].as_str().map(str::len), Some(32));
    let proof = &data["delivery"];
    assert_eq!(
        (
            proof["subtag"].as_str(),
            proof["signed_by"].as_str(),
            proof["postal_code"].as_str(),
            proof["raw_tag"].as_str()
        ),
        (Some("Delivered_003"), Some("K NOVAK"), Some("04103"), Some("KB"))
    );
    assert_eq!(proof["event_id"], timeline[2]["event_id"]);
    assert_eq!(data["notifications"], json!([]));

    let request = Request::builder()
        .uri(format!("{path}?format=csv"))
        .header("as-api-key", &h.key)
        .body(Body::empty())
        .expect("request");
    let response = h.router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers().get("content-disposition").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(disposition, Some(format!("attachment; filename=\"evidence-{id}.csv\"")));
    let csv =
        String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    assert_eq!(csv.lines().count(), 4, "a header and a row per event: {csv}");
    assert!(
        csv.lines().nth(2).is_some_and(|row| row.contains(",ZZ,,LEIPZIG,") && row.contains(",carrier,true,")),
        "{csv}"
    );

    // Another merchant's key finds nothing; bad input is named.
    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, bad) = h.call(Method::GET, &format!("{path}?format=pdf"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["meta"]["message"].as_str().unwrap_or_default().contains("format"), "{bad}");
}
