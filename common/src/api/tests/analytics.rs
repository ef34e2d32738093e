//! History imports and analytics through the router.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::Harness;
use crate::api::wire::history::history_lines;
use crate::app::analytics::count_feed;
use crate::app::imports::run_running_imports;
use crate::demo::history::{HistorySpec, default_lanes, generate};

pub(super) async fn send(h: &Harness, key: &str, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("as-api-key", key)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    let response = h.router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn text(h: &Harness, path: &str) -> (StatusCode, String, String) {
    let request = Request::builder().uri(path).header("as-api-key", &h.key).body(Body::empty()).expect("request");
    let response = h.router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, content_type, String::from_utf8_lossy(&bytes).into_owned())
}

pub(super) fn history(shipments: usize) -> Vec<u8> {
    let spec = HistorySpec {
        shipments,
        start: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
        days: 60,
        seed: 5,
        lanes: default_lanes(),
    };
    let mut file = Vec::new();
    generate(&spec, Harness::today(), |g| {
        file.extend_from_slice(g.line.as_bytes());
        file.push(b'\n');
    });
    file
}

#[tokio::test]
async fn a_history_file_is_imported_in_the_background_and_read_as_analytics() {
    let h = Harness::new().await;
    let mut file = history(300);
    file.extend_from_slice(b"{\"tracking_number\": \"1Z999AA10123456784\", \"slug\": \"no-such-courier\"}\n");
    let (status, started) = send(&h, &h.key, "/porchlight/v1/imports", "application/x-ndjson", file).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["data"]["state"], "running");
    let id = started["data"]["id"].as_str().expect("an id").to_owned();

    assert_eq!(run_running_imports(&h.deps, history_lines).await.expect("ran"), 1);
    let (status, job) = h.call(Method::GET, &format!("/porchlight/v1/imports/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let job = &job["data"];
    assert_eq!(
        (job["state"].as_str(), job["imported"].as_u64(), job["failed"].as_u64()),
        (Some("done"), Some(300), Some(1))
    );
    assert_eq!(job["errors"][0]["line"], 301);
    assert_eq!(job["errors"][0]["field"], "slug");
    let (_, listed) = h.call(Method::GET, "/tracking/2026-07/trackings?limit=1", None).await;
    assert_eq!(listed["data"]["pagination"]["total"], 300);

    // Another merchant sees neither the job nor the numbers.
    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, &format!("/porchlight/v1/imports/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    while count_feed(&h.deps, &h.store, 500).await.expect("counted") > 0 {}
    let range = "from=2026-03-01&to=2026-05-31";
    let (status, card) = h.call(Method::GET, &format!("/porchlight/v1/analytics/carriers?{range}"), None).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    let lanes = card["data"]["lanes"].as_array().expect("lanes");
    assert_eq!(lanes.len(), 7);
    assert_eq!(lanes.iter().map(|l| l["shipments"].as_i64().unwrap_or(0)).sum::<i64>(), 300);
    let lane = &lanes[0];
    for field in [
        "slug",
        "origin_country_region",
        "destination_country_region",
        "shipments",
        "delivered",
        "on_time_rate",
        "exception_rate",
    ] {
        assert!(lane.get(field).is_some(), "{field} in {lane}");
    }
    assert!(lane["transit_days"]["p50"].as_f64().is_some() && lane["transit_days"]["p90"].as_f64().is_some(), "{lane}");
    let (_, other_card) =
        h.call_as(Some(&other), Method::GET, &format!("/porchlight/v1/analytics/carriers?{range}"), None).await;
    assert_eq!(other_card["data"]["lanes"], Value::Array(Vec::new()));

    let (status, overview) = h
        .call(Method::GET, &format!("/porchlight/v1/analytics/overview?{range}&slug=ups,usps&destination=USA"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let us_domestic: i64 = lanes
        .iter()
        .filter(|l| l["slug"] == "ups" || l["slug"] == "usps")
        .map(|l| l["shipments"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(overview["data"]["shipments"].as_i64(), Some(us_domestic));

    let (status, content_type, csv) = text(&h, &format!("/porchlight/v1/analytics/carriers?{range}&format=csv")).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    assert!(csv.starts_with("slug,origin_country_region,destination_country_region,service_type,shipments"), "{csv}");
    assert_eq!(csv.lines().count(), 8);
    let (status, _, _) = text(&h, "/porchlight/v1/analytics/exceptions?format=csv").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_imports_and_ranges_get_clear_errors() {
    let h = Harness::new().await;
    let (status, body) = send(&h, &h.key, "/porchlight/v1/imports", "application/json", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["meta"]["message"].as_str().unwrap_or_default().contains("content-type"), "{body}");
    let (status, _) = send(&h, &h.key, "/porchlight/v1/imports", "text/csv", b"  \n".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = h.call(Method::GET, "/porchlight/v1/imports/imp_nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for query in
        ["from=2026-05-02&to=2026-05-01", "from=yesterday", "slug=UPS!", "origin=XX", "format=xml", "by_service=maybe"]
    {
        let (status, body) = h.call(Method::GET, &format!("/porchlight/v1/analytics/carriers?{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    // A file over the limit is refused before it is read.
    let big = vec![b' '; crate::app::imports::MAX_IMPORT_BYTES + 1];
    let (status, _) = send(&h, &h.key, "/porchlight/v1/imports", "text/csv", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_report_is_made_on_demand_and_read_with_the_key_or_its_link() {
    let h = Harness::new().await;
    let (status, _) = send(&h, &h.key, "/porchlight/v1/imports", "application/x-ndjson", history(200)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    run_running_imports(&h.deps, history_lines).await.expect("ran");
    while count_feed(&h.deps, &h.store, 500).await.expect("counted") > 0 {}

    let asked = serde_json::json!({"from": "2026-03-01", "to": "2026-04-30"});
    let (status, made) = h.call(Method::POST, "/porchlight/v1/reports", Some(asked)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let made = &made["data"];
    assert_eq!(made["id"], "2026-03-01_2026-04-30");
    let files: Vec<&str> = made["files"].as_array().expect("files").iter().filter_map(|f| f.as_str()).collect();
    assert_eq!(files.len(), 7);
    let (status, content_type, html) = text(&h, files[0]).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
    assert!(html.contains("<svg") && html.contains("Shipments by lane"));

    // The link needs no key.
    let link = made["link"].as_str().expect("a link");
    let request = Request::builder().uri(link).body(Body::empty()).expect("request");
    let response = h.router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let csv_link = link.replace("report.html", "carriers.csv");
    let request = Request::builder().uri(&csv_link).body(Body::empty()).expect("request");
    assert_eq!(h.router.clone().oneshot(request).await.expect("response").status(), StatusCode::OK);
    let forged = Request::builder().uri("/reports/AAAA/report.html").body(Body::empty()).expect("request");
    assert_eq!(h.router.clone().oneshot(forged).await.expect("response").status(), StatusCode::NOT_FOUND);

    // Another merchant, another report, half a range: refused.
    let other = h.other_key().await;
    let (status, _) = h.call_as(Some(&other), Method::GET, files[0], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.call(Method::GET, "/porchlight/v1/reports/2026-05-01_2026-05-31/report.html", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) =
        h.call(Method::POST, "/porchlight/v1/reports", Some(serde_json::json!({"from": "2026-03-01"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, made) = h.call(Method::POST, "/porchlight/v1/reports", None).await;
    assert_eq!(status, StatusCode::CREATED, "last week by default: {made}");
}

#[tokio::test]
async fn analytics_filter_by_one_shipment_tag_without_counting_anything_twice() {
    let h = Harness::new().await;
    for (number, tags) in [
        ("1Z999AA10123456784", serde_json::json!(["vip", "gift"])),
        ("1Z12345E0205271688", serde_json::json!(["vip"])),
        ("1Z12345E6605272234", serde_json::json!([])),
    ] {
        let body = serde_json::json!({"tracking_number": number, "slug": "ups", "shipment_tags": tags});
        let (status, created) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    while count_feed(&h.deps, &h.store, 500).await.expect("counted") > 0 {}
    let shipments = |query: &'static str| {
        let h = &h;
        async move {
            let (status, body) = h.call(Method::GET, &format!("/porchlight/v1/analytics/overview?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"]["shipments"].as_i64()
        }
    };
    assert_eq!(shipments("").await, Some(3), "every shipment once, whatever its tags");
    assert_eq!(shipments("tag=vip").await, Some(2));
    assert_eq!(shipments("tag=gift").await, Some(1));
    assert_eq!(shipments("tag=none-such").await, Some(0));
    let (_, card) = h.call(Method::GET, "/porchlight/v1/analytics/carriers?tag=vip", None).await;
    assert_eq!(card["data"]["lanes"][0]["shipments"], 2, "{card}");
}

#[tokio::test]
async fn carrier_health_counts_each_carriers_unmapped_codes_by_day() {
    use crate::domain::{CheckpointInput, EventTime, Slug, TrackingNumber};
    let h = Harness::new().await;
    let body = serde_json::json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"});
    let (status, created) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (slug, number) = (Slug::parse("ups").expect("slug"), TrackingNumber::parse("1Z999AA10123456784").expect("n"));
    let event = |hours: i64, mapped: Option<&str>| {
        let at = Harness::today() + chrono::Duration::hours(hours);
        let subtag = mapped.map(|code| crate::domain::Subtag::parse(code).expect("subtag"));
        CheckpointInput::from_carrier(slug.clone(), number.clone(), EventTime::from_utc(at), subtag, "scan")
    };
    let update = |events| crate::carriers::TrackingUpdate {
        slug: slug.clone(),
        tracking_number: number.clone(),
        events,
        handover: None,
        scheduled_delivery: None,
    };
    // Day one: two events the adapter knew and one it did not; day two: one unknown.
    let day_one = update(vec![event(1, Some("InTransit_002")), event(2, None), event(3, Some("InTransit_003"))]);
    crate::app::apply_tracking_update(&h.deps, &day_one).await.expect("merged");
    h.clock.advance(chrono::Duration::days(1));
    crate::app::apply_tracking_update(&h.deps, &update(vec![event(26, None)])).await.expect("merged");
    // The same events again change nothing and count nothing.
    crate::app::apply_tracking_update(&h.deps, &day_one).await.expect("merged");
    while count_feed(&h.deps, &h.store, 500).await.expect("counted") > 0 {}

    let (status, body) =
        h.call(Method::GET, "/porchlight/v1/analytics/carrier-health?from=2026-06-01&to=2026-06-02", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ups = &body["data"]["carriers"][0];
    assert_eq!(
        (ups["slug"].as_str(), ups["events"].as_i64(), ups["unmapped"].as_i64()),
        (Some("ups"), Some(4), Some(2))
    );
    assert_eq!(ups["unmapped_rate"]["value"], 0.5);
    assert_eq!(ups["days"][0], serde_json::json!({"date": "2026-06-01", "events": 3, "unmapped": 1}));
    assert_eq!(ups["days"][1], serde_json::json!({"date": "2026-06-02", "events": 1, "unmapped": 1}));
    // The events rows are no lane's: the overview still counts one shipment.
    let (_, overview) =
        h.call(Method::GET, "/porchlight/v1/analytics/overview?from=2026-06-01&to=2026-06-02", None).await;
    assert_eq!(overview["data"]["shipments"], 1, "{overview}");
    let (_, card) = h.call(Method::GET, "/porchlight/v1/analytics/carriers?from=2026-06-01&to=2026-06-02", None).await;
    assert_eq!(card["data"]["lanes"].as_array().map(Vec::len), Some(1), "{card}");

    let (_, content_type, csv) =
        text(&h, "/porchlight/v1/analytics/carrier-health?from=2026-06-01&to=2026-06-02&format=csv").await;
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert!(csv.starts_with("slug,date,events,unmapped\nups,2026-06-01,3,1\n"), "{csv}");
    for (path, field) in [
        ("/porchlight/v1/analytics/notifications?slug=ups", "slug"),
        ("/porchlight/v1/analytics/returns?tag=vip", "tag"),
        ("/porchlight/v1/analytics/carrier-health?origin=CHN", "origin"),
    ] {
        let (status, body) = h.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body["meta"]["message"].as_str().unwrap_or_default().contains(field), "{path}: {body}");
    }
}
