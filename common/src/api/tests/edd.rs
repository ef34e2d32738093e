//! Estimated delivery dates through the router: AfterShip's request and answer shapes, the
//! model learnt from the merchant's own history, confidence codes, the batch's rules.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::Harness;
use super::analytics::{history, send};
use crate::api::wire::history::history_lines;
use crate::app::analytics::count_feed;
use crate::app::imports::run_running_imports;

/// A merchant with 1,500 generated shipments over March and April, counted into the rollups.
async fn with_history() -> Harness {
    let h = Harness::new().await;
    let (status, _) = send(&h, &h.key, "/porchlight/v1/imports", "application/x-ndjson", history(1_500)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(run_running_imports(&h.deps, history_lines).await.expect("ran"), 1);
    while count_feed(&h.deps, &h.store, 1_000).await.expect("counted") > 0 {}
    h
}

fn request(slug: &str, from: &str, to: &str, service: Option<&str>) -> Value {
    json!({
        "slug": slug,
        "service_type_name": service,
        "origin_address": {"country_region": from, "state": "WA", "postal_code": "98108"},
        "destination_address": {"country_region": to, "postal_code": "92019", "raw_location": "El Cajon"},
        "weight": {"unit": "kg", "value": 1},
        "package_count": 1,
        "pickup_time": "2026-06-01 15:00:00",
    })
}

fn day(value: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(value.as_str().unwrap_or_default(), "%Y-%m-%d").expect("a date")
}

const PREDICT: &str = "/tracking/2026-07/estimated-delivery-date/predict";
const BATCH: &str = "/tracking/2026-07/estimated-delivery-date/predict-batch";

#[tokio::test]
async fn predictions_echo_the_request_and_follow_the_merchants_lanes() {
    let h = with_history().await;
    let (status, body) = h.call(Method::POST, PREDICT, Some(request("ups", "USA", "USA", Some("UPS Ground")))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["id"].as_str().map(str::len), Some(32));
    assert_eq!(data["slug"], "ups");
    assert_eq!(data["service_type_name"], "UPS Ground");
    assert_eq!(data["origin_address"]["country_region"], "USA");
    assert_eq!(data["destination_address"]["city"], Value::Null);
    assert_eq!(data["weight"], json!({"unit": "kg", "value": 1.0}));
    assert_eq!(data["estimated_pickup"], Value::Null);
    // The lane's truth: a median of 3 days from pickup.
    let pickup = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let (date, min, max) = (
        day(&data["estimated_delivery_date"]),
        day(&data["estimated_delivery_date_min"]),
        day(&data["estimated_delivery_date_max"]),
    );
    assert!(min <= date && date <= max, "{data}");
    assert!((2..=4).contains(&(date - pickup).num_days()), "{data}");
    assert!(min > pickup && (max - pickup).num_days() <= 7, "{data}");
    assert!([10000, 10001, 20001].contains(&data["confidence_code"].as_u64().unwrap_or(0)), "{data}");

    // Slower lanes predict later dates.
    let (_, slow) = h.call(Method::POST, PREDICT, Some(request("yunexpress", "CHN", "DEU", Some("Standard")))).await;
    assert!(day(&slow["data"]["estimated_delivery_date"]) - pickup >= chrono::Duration::days(9), "{slow}");
    assert_eq!(slow["data"]["confidence_code"], 30001, "{slow}");

    // A lane the merchant never shipped, a service the lane never had, an address no finer
    // than its country.
    let (_, unknown) = h.call(Method::POST, PREDICT, Some(request("fedex", "USA", "JPN", None))).await;
    assert_eq!(unknown["data"]["confidence_code"], 30002, "{unknown}");
    let (_, service) = h.call(Method::POST, PREDICT, Some(request("ups", "USA", "USA", Some("Next Day Air")))).await;
    assert_eq!(service["data"]["confidence_code"], 30003, "{service}");
    let mut vague = request("ups", "USA", "USA", None);
    vague["destination_address"] = json!({"country_region": "USA", "state": "USA"});
    let (_, vague) = h.call(Method::POST, PREDICT, Some(vague)).await;
    assert_eq!(vague["data"]["confidence_code"], 30004, "{vague}");

    // Another merchant has no history of its own: too little data.
    let other = h.other_key().await;
    let (_, theirs) =
        h.call_as(Some(&other), Method::POST, PREDICT, Some(request("ups", "USA", "USA", Some("UPS Ground")))).await;
    assert_eq!(theirs["data"]["confidence_code"], 30002, "{theirs}");
}

#[tokio::test]
async fn an_order_time_becomes_a_pickup_by_cutoff_working_days_and_processing() {
    let h = Harness::new().await;
    let mut asked = request("ups", "USA", "USA", None);
    asked.as_object_mut().expect("object").remove("pickup_time");
    // Friday 29 May 2026 after the default 18:00 cutoff, one day's processing: Tuesday.
    asked["estimated_pickup"] = json!({"order_time": "2026-05-29 19:30:00", "order_processing_time": {"value": 1}});
    let (status, body) = h.call(Method::POST, PREDICT, Some(asked)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pickup = &body["data"]["estimated_pickup"];
    assert_eq!(pickup["pickup_time"], "2026-06-02 18:00:00", "{pickup}");
    assert_eq!(pickup["order_cutoff_time"], "18:00:00");
    assert_eq!(pickup["business_days"], json!([1, 2, 3, 4, 5]));
    assert_eq!(pickup["order_processing_time"], json!({"unit": "day", "value": 1.0}));
    assert!(day(&body["data"]["estimated_delivery_date_min"]) > NaiveDate::from_ymd_opt(2026, 6, 2).expect("date"));
}

#[tokio::test]
async fn a_batch_answers_in_order_and_one_bad_request_refuses_it_all() {
    let h = Harness::new().await;
    let two =
        json!({"estimated_delivery_dates": [request("ups", "USA", "USA", None), request("dhl", "DEU", "USA", None)]});
    let (status, body) = h.call(Method::POST, BATCH, Some(two)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answers = body["data"]["estimated_delivery_dates"].as_array().expect("answers");
    assert_eq!(answers.iter().map(|a| a["slug"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["ups", "dhl"]);
    assert_ne!(answers[0]["id"], answers[1]["id"]);

    let six = json!({"estimated_delivery_dates": vec![request("ups", "USA", "USA", None); 6]});
    let (status, body) = h.call(Method::POST, BATCH, Some(six)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["meta"]["message"].as_str().unwrap_or_default().contains("estimated_delivery_dates"), "{body}");
    let (status, _) = h.call(Method::POST, BATCH, Some(json!({"estimated_delivery_dates": []}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut bad = request("ups", "USA", "USA", None);
    bad["destination_address"] = json!({"country_region": "USA", "city": "El Cajon"});
    let mixed = json!({"estimated_delivery_dates": [request("ups", "USA", "USA", None), bad]});
    let (status, body) = h.call(Method::POST, BATCH, Some(mixed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["data"], json!({}));
    let message = body["meta"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("estimated_delivery_dates[1].destination_address.state"), "{message}");
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let h = Harness::new().await;
    let cases: [(&str, Value, &str); 7] = [
        ("slug", json!({"slug": "no-such-courier"}), "no-such-courier"),
        ("origin", json!({"origin_address": null}), "origin_address"),
        (
            "country",
            json!({"origin_address": {"country_region": "XX", "state": "WA"}}),
            "origin_address.country_region",
        ),
        ("pickup", json!({"pickup_time": null}), "pickup_time or estimated_pickup"),
        ("time", json!({"pickup_time": "tomorrow"}), "pickup_time"),
        (
            "days",
            json!({"pickup_time": null, "estimated_pickup": {"order_time": "2026-06-01 10:00:00", "business_days": [0]}}),
            "business_days",
        ),
        ("count", json!({"package_count": 0}), "package_count"),
    ];
    for (case, change, expected) in cases {
        let mut asked = request("ups", "USA", "USA", None);
        for (field, value) in change.as_object().expect("object") {
            asked[field] = value.clone();
        }
        let (status, body) = h.call(Method::POST, PREDICT, Some(asked)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        let message = body["meta"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{case}: {message}");
    }
    let (status, body) = h.call(Method::POST, PREDICT, Some(json!([1]))).await;
    assert_eq!((status, body["meta"]["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(4001)));
}

#[tokio::test]
async fn a_carriers_scheduled_date_is_the_latest_estimate_beside_porchlights_prediction() {
    use crate::domain::{CheckpointInput, EventTime, Slug, Subtag, TrackingNumber};
    let h = with_history().await;
    let body = json!({"tracking_number": "1Z999AA10123456784", "slug": "ups", "origin_country_region": "USA",
        "destination_country_region": "USA", "destination_postal_code": "92019"});
    let (status, created) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/tracking/2026-07/trackings/{}", created["data"]["id"].as_str().expect("id"));
    let (slug, number) = (Slug::parse("ups").expect("slug"), TrackingNumber::parse("1Z999AA10123456784").expect("n"));
    let pickup = CheckpointInput::from_carrier(
        slug.clone(),
        number.clone(),
        EventTime::from_utc(Harness::today() + chrono::Duration::hours(2)),
        Some(Subtag::parse("InTransit_002").expect("subtag")),
        "Picked up",
    );
    let scheduled = Harness::today().date_naive() + chrono::Duration::days(6);
    let update = crate::carriers::TrackingUpdate {
        slug,
        tracking_number: number,
        events: vec![pickup],
        handover: None,
        scheduled_delivery: Some(scheduled),
    };
    crate::app::apply_tracking_update(&h.deps, &update).await.expect("merged");

    let (_, tracking) = h.call(Method::GET, &path, None).await;
    let data = &tracking["data"];
    let latest = &data["latest_estimated_delivery"];
    assert_eq!((latest["source"].as_str(), latest["type"].as_str()), (Some("Carrier EDD"), Some("specific")), "{data}");
    assert_eq!(day(&latest["datetime"]), scheduled);
    assert_eq!(data["first_estimated_delivery"]["source"], "AfterShip EDD", "the first estimate was Porchlight's");
    let predicted = &data["aftership_estimated_delivery_date"];
    assert!(predicted["estimated_delivery_date"].is_string(), "the prediction stays readable: {predicted}");
}
