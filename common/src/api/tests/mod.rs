//! The API through its router, in process, on an in-memory store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{self, Deps};
use crate::couriers::COURIERS;
use crate::domain::{CheckpointInput, CheckpointSource, EventTime, Slug, Subtag, TrackingNumber};
use crate::testkit::ManualClock;

struct Harness {
    router: Router,
    deps: Deps,
    store: SqliteStore,
    clock: Arc<ManualClock>,
    key: String,
}

impl Harness {
    async fn new() -> Self {
        let clock = Arc::new(ManualClock::at(Self::today()));
        let store = SqliteStore::in_memory().expect("store");
        let deps = crate::testkit::deps(store.clone(), clock.clone());
        let (_, key) = app::create_tenant(&deps, "Acme").await.expect("tenant");
        Harness { router: router(deps.clone()), deps, store, clock, key: key.secret }
    }

    /// When the harness's clock starts.
    fn today() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("date")
    }

    /// Lets the harness's merchants register loopback webhook targets, sent with the real
    /// client.
    fn allow_private_webhooks(&mut self) {
        use crate::adapters::http_client::ReqwestClient;
        use crate::domain::TargetPolicy;
        self.deps.webhook_targets = TargetPolicy::AllowPrivate;
        self.deps.webhook_http =
            Arc::new(ReqwestClient::for_webhooks(std::time::Duration::from_secs(5), TargetPolicy::AllowPrivate));
        self.router = router(self.deps.clone());
    }

    async fn other_key(&self) -> String {
        app::create_tenant(&self.deps, "Other shop").await.expect("tenant").1.secret
    }

    async fn call_as(&self, key: Option<&str>, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("as-api-key", key);
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("response");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(Some(&self.key), method, path, body).await
    }

    async fn raw(&self, method: Method, path: &str, body: &'static str) -> (StatusCode, Value) {
        let request =
            Request::builder().method(method).uri(path).header("as-api-key", &self.key).body(Body::from(body));
        let response = self.router.clone().oneshot(request.expect("request")).await.expect("response");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn create(&self, body: Value) -> Value {
        let (status, response) = self.call(Method::POST, "/tracking/2026-07/trackings", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{response}");
        response["data"].clone()
    }
}

fn meta_code(response: &Value) -> u64 {
    response["meta"]["code"].as_u64().unwrap_or(0)
}

const TRACKINGS: &str = "/tracking/2026-07/trackings";

#[tokio::test]
async fn requests_without_a_valid_key_are_unauthorized() {
    let h = Harness::new().await;
    for key in [None, Some(""), Some("plk_wrong")] {
        let (status, body) = h.call_as(key, Method::GET, TRACKINGS, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["meta"], json!({"code": 401, "message": "invalid api key", "type": "Unauthorized"}));
        assert_eq!(body["data"], json!({}));
    }
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let h = Harness::new().await;
    let tenant = app::authenticate(&h.deps, Some(&h.key)).await.expect("valid");
    let second = app::create_api_key(&h.deps, &tenant).await.expect("key");
    assert_eq!(h.call_as(Some(&second.secret), Method::GET, TRACKINGS, None).await.0, StatusCode::OK);
    app::revoke_api_key(&h.deps, &tenant, &second.key_id).await.expect("revoked");
    assert_eq!(h.call_as(Some(&second.secret), Method::GET, TRACKINGS, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.call(Method::GET, TRACKINGS, None).await.0, StatusCode::OK, "the other key still works");
}

#[tokio::test]
async fn create_returns_the_tracking_in_aftership_shape() {
    let h = Harness::new().await;
    let (status, body) = h
        .call(
            Method::POST,
            TRACKINGS,
            Some(json!({
                "tracking_number": " RR123456785CN ",
                "slug": "china-post",
                "title": "Blue mug",
                "order_id": "A-1001",
                "order_number": "#1001",
                "destination_country_region": "usa",
                "origin_country_region": "CHN",
                "shipment_tags": ["vip"],
                "customers": [{"role": "buyer", "name": "Ann", "email": "ann@example.com", "phone_number": "+1 555 010 9999"}],
                "custom_fields": {"sku": "MUG-1"},
                "order_promised_delivery_date": {"promised_delivery_date": "2026-06-20"},
                "delivery_type": "door_to_door",
                "unknown_field": "ignored",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["meta"], json!({"code": 201}));
    let data = &body["data"];
    assert_eq!(data["id"].as_str().map(str::len), Some(32));
    assert_eq!(data["tracking_number"], "RR123456785CN");
    assert_eq!(data["slug"], "china-post");
    assert_eq!(data["tag"], "Pending");
    assert_eq!(data["subtag"], "Pending_001");
    assert_eq!(data["subtag_message"], "Pending");
    assert_eq!(data["active"], true);
    assert_eq!(data["destination_country_region"], "USA");
    assert_eq!(data["customers"][0]["email"], "ann@example.com");
    assert_eq!(data["custom_fields"], json!({"sku": "MUG-1"}));
    assert_eq!(data["order_promised_delivery_date"]["promised_delivery_date"], "2026-06-20");
    assert_eq!(data["delivery_type"], "door_to_door");
    assert_eq!(data["created_at"], "2026-06-01T09:00:00+00:00");
    assert_eq!(data["checkpoints"], json!([]));
    assert_eq!(data["shipment_direction"], "forward");
    assert_eq!(data["first_mile"], Value::Null);
    assert!(data.get("unknown_field").is_none());
    // Every field of AfterShip's Tracking model is present.
    for field in
        ["courier_estimated_delivery_date", "latest_estimated_delivery", "signed_by", "transit_time", "last_mile"]
    {
        assert!(data.get(field).is_some(), "{field} missing");
    }

    let (status, read) = h.call(Method::GET, &format!("{TRACKINGS}/{}", data["id"].as_str().expect("id")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["data"], *data);
}

#[tokio::test]
async fn duplicates_are_refused_with_the_existing_id() {
    let h = Harness::new().await;
    let first = h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})).await;
    let (status, body) =
        h.call(Method::POST, TRACKINGS, Some(json!({"tracking_number": "1z999aa10123456784", "slug": "ups"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(meta_code(&body), 4003);
    assert_eq!(body["meta"]["type"], "BadRequest");
    assert_eq!(body["data"]["id"], first["id"]);
}

#[tokio::test]
async fn the_courier_is_detected_when_no_slug_is_given() {
    let h = Harness::new().await;
    let ups = h.create(json!({"tracking_number": "1Z999AA10123456784"})).await;
    assert_eq!(ups["slug"], "ups");
    let ems = h.create(json!({"tracking_number": "EE123456785CN"})).await;
    assert_eq!(ems["slug"], "china-ems");
    let (status, body) = h.call(Method::POST, TRACKINGS, Some(json!({"tracking_number": "NOFORMAT123"}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4012));
}

#[tokio::test]
async fn bad_input_gets_aftership_error_codes_naming_the_field() {
    let h = Harness::new().await;
    let cases: Vec<(Value, u64, &str)> = vec![
        (json!({}), 4007, "tracking_number"),
        (json!({"tracking_number": null}), 4007, "tracking_number"),
        (json!({"tracking_number": "   "}), 4007, "tracking_number"),
        (json!({"tracking_number": 12345}), 4008, "tracking_number"),
        (json!({"tracking_number": "A".repeat(101), "slug": "ups"}), 4005, "tracking_number"),
        (json!({"tracking_number": "RR123456785CN", "slug": "ups"}), 4005, "tracking_number"),
        (json!({"tracking_number": "123", "slug": "no-such-courier"}), 4010, "no-such-courier"),
        (json!({"tracking_number": "123", "slug": "bad slug!"}), 4010, "slug"),
        (
            json!({"tracking_number": "123", "slug": "ups", "destination_country_region": "XX"}),
            4008,
            "destination_country_region",
        ),
        (json!({"tracking_number": "123", "slug": "ups", "shipment_tags": "vip"}), 4008, "shipment_tags"),
        (
            json!({"tracking_number": "123", "slug": "ups", "customers": [{"email": "nope"}]}),
            4008,
            "customers[0].email",
        ),
        (json!({"tracking_number": "123", "slug": "ups", "order_date": "last tuesday"}), 4008, "order_date"),
        (json!({"tracking_number": "123", "slug": "ups", "delivery_type": "by drone"}), 4008, "delivery_type"),
        (
            json!({"tracking_number": "123", "slug": "ups", "last_mile": {"slug": "usps"}}),
            4009,
            "last_mile.tracking_number",
        ),
        (json!(["not", "an", "object"]), 4001, "JSON"),
    ];
    for (body, code, named) in cases {
        let (status, response) = h.call(Method::POST, TRACKINGS, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {response}");
        assert_eq!(meta_code(&response), code, "{body} -> {response}");
        let message = response["meta"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: message {message:?} should name {named}");
        assert_eq!(response["meta"]["type"], "BadRequest");
    }
    for raw in ["", "{", "not json"] {
        let (status, response) = h.raw(Method::POST, TRACKINGS, raw).await;
        assert_eq!((status, meta_code(&response)), (StatusCode::BAD_REQUEST, 4001), "{raw:?}");
    }
    let (_, listed) = h.call(Method::GET, TRACKINGS, None).await;
    assert_eq!(listed["data"]["pagination"]["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let h = Harness::new().await;
    let huge = json!({"tracking_number": "123", "slug": "ups", "note": "x".repeat(2 * 1024 * 1024)});
    let (status, body) = h.call(Method::POST, TRACKINGS, Some(huge)).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, 413));
}

#[tokio::test]
async fn one_merchant_cannot_see_or_touch_anothers_trackings() {
    let h = Harness::new().await;
    let mine = h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})).await;
    let path = format!("{TRACKINGS}/{}", mine["id"].as_str().expect("id"));
    let other = h.other_key().await;
    let attempts = [
        (Method::GET, path.clone(), None),
        (Method::PUT, path.clone(), Some(json!({"title": "mine now"}))),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/retrack"), None),
        (Method::POST, format!("{path}/mark-as-completed"), Some(json!({"reason": "LOST"}))),
    ];
    for (method, path, body) in attempts {
        let (status, response) = h.call_as(Some(&other), method.clone(), &path, body).await;
        assert_eq!((status, meta_code(&response)), (StatusCode::NOT_FOUND, 4004), "{method} {path}");
    }
    let (_, listed) = h.call_as(Some(&other), Method::GET, TRACKINGS, None).await;
    assert_eq!(listed["data"]["trackings"], json!([]));
    let (_, read) = h.call(Method::GET, &path, None).await;
    assert_eq!(read["data"]["title"], "1Z999AA10123456784", "untouched");
    // The other merchant can track the same parcel as its own.
    let (status, _) = h
        .call_as(
            Some(&other),
            Method::POST,
            TRACKINGS,
            Some(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn update_changes_given_fields_and_null_clears() {
    let h = Harness::new().await;
    let created =
        h.create(json!({"tracking_number": "123456789012", "slug": "fedex", "note": "fragile", "title": "Lamp"})).await;
    let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
    h.clock.advance(Duration::minutes(5));
    let (status, body) = h
        .call(
            Method::PUT,
            &path,
            Some(json!({"note": null, "order_number": "#77", "destination_country_region": "GBR"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["note"], Value::Null);
    assert_eq!(data["title"], "Lamp");
    assert_eq!(data["order_number"], "#77");
    assert_eq!(data["destination_country_region"], "GBR");
    assert_eq!(data["updated_at"], "2026-06-01T09:05:00+00:00");
    let (status, body) = h.call(Method::PUT, &path, Some(json!({"slug": "nope-courier"}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4010));
    let (status, body) = h.call(Method::PUT, &path, Some(json!({"slug": "ups"}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4005), "a FedEx number is no UPS number");
    let (status, body) =
        h.call(Method::PUT, &format!("{TRACKINGS}/{}", "0".repeat(32)), Some(json!({"title": "x"}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::NOT_FOUND, 4004));
    let (status, body) = h.call(Method::GET, &format!("{TRACKINGS}/not-an-id"), None).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4015));
}

#[tokio::test]
async fn delete_returns_the_tracking_and_frees_its_number() {
    let h = Harness::new().await;
    let created = h.create(json!({"tracking_number": "1234567890", "slug": "dhl"})).await;
    let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
    let (status, body) = h.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["id"], created["id"]);
    assert_eq!(h.call(Method::GET, &path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(h.call(Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    h.create(json!({"tracking_number": "1234567890", "slug": "dhl"})).await;
}

#[tokio::test]
async fn list_filters_and_pages_with_cursors() {
    let h = Harness::new().await;
    for i in 0..5 {
        h.clock.advance(Duration::minutes(1));
        // Couriers whose numbers are taken as given, so that any number will do.
        let slug = if i % 2 == 0 { "yunexpress" } else { "yanwen" };
        let destination = if i < 3 { "USA" } else { "CAN" };
        h.create(json!({
            "tracking_number": format!("NUM{i}"),
            "slug": slug,
            "destination_country_region": destination,
            "order_id": format!("order-{i}"),
            "shipment_tags": if i == 4 { json!(["gift"]) } else { json!([]) },
            "title": format!("Order #{}", 500 + i),
        }))
        .await;
    }
    let total = |query: &'static str| {
        let h = &h;
        async move {
            let (status, body) = h.call(Method::GET, &format!("{TRACKINGS}?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body["data"]["pagination"]["total"].as_u64().unwrap_or(u64::MAX)
        }
    };
    assert_eq!(total("").await, 5);
    assert_eq!(total("slug=yunexpress").await, 3);
    assert_eq!(total("slug=yunexpress,yanwen").await, 5);
    assert_eq!(total("destination=CAN").await, 2);
    assert_eq!(total("slug=yunexpress&destination=CAN").await, 1);
    assert_eq!(total("tag=Pending").await, 5);
    assert_eq!(total("tag=Delivered").await, 0);
    assert_eq!(total("keyword=order%20%23502").await, 1);
    assert_eq!(total("order_id=order-3").await, 1);
    assert_eq!(total("shipment_tags=gift").await, 1);
    assert_eq!(total("tracking_numbers=num1,NUM2").await, 2);
    assert_eq!(total("created_at_min=2026-06-01T09:03:00Z").await, 3);
    assert_eq!(total("created_at_max=2026-06-01T09:02:00%2B00:00").await, 2);

    let mut seen = Vec::new();
    let mut next = String::new();
    loop {
        let (_, body) = h.call(Method::GET, &format!("{TRACKINGS}?limit=2&cursor={next}"), None).await;
        let data = &body["data"];
        for t in data["trackings"].as_array().expect("array") {
            seen.push(t["tracking_number"].as_str().expect("number").to_owned());
        }
        if data["pagination"]["has_next_page"] == json!(true) {
            next = data["pagination"]["next_cursor"].as_str().expect("cursor").to_owned();
        } else {
            assert_eq!(data["pagination"]["next_cursor"], Value::Null);
            break;
        }
    }
    assert_eq!(seen, ["NUM4", "NUM3", "NUM2", "NUM1", "NUM0"]);

    let (_, body) = h.call(Method::GET, &format!("{TRACKINGS}?fields=tracking_number,tag&limit=1"), None).await;
    let first = &body["data"]["trackings"][0];
    let mut keys: Vec<_> = first.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["id", "tag", "tracking_number"]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("tag=Lost", "tag"),
        ("origin=ZZZ", "origin"),
        ("cursor=abc", "cursor"),
        ("created_at_min=yesterday", "created_at_min"),
        ("return_to_sender=maybe", "return_to_sender"),
    ] {
        let (status, body) = h.call(Method::GET, &format!("{TRACKINGS}?{query}"), None).await;
        assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4008), "{query}");
        assert!(body["meta"]["message"].as_str().unwrap_or_default().contains(field), "{query}: {body}");
    }
}

fn carrier_event(slug: &str, number: &str, code: &str, hours: i64) -> CheckpointInput {
    let mut input = CheckpointInput::new(
        Slug::parse(slug).expect("slug"),
        TrackingNumber::parse(number).expect("number"),
        EventTime::from_utc(Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("t") + Duration::hours(hours)),
        Subtag::parse(code).expect("subtag"),
        format!("event {code}"),
        CheckpointSource::Carrier,
    );
    input.raw_tag = Some(code.into());
    input.location = Some("Shenzhen".into());
    input
}

#[tokio::test]
async fn carrier_events_show_as_checkpoints_and_status() {
    let h = Harness::new().await;
    let created = h
        .create(json!({"tracking_number": "YT2412345678901234", "slug": "yunexpress", "last_mile": {"slug": "usps", "tracking_number": "9400111899223100000000"}}))
        .await;
    let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
    let yun = (Slug::parse("yunexpress").expect("s"), TrackingNumber::parse("YT2412345678901234").expect("n"));
    let usps = (Slug::parse("usps").expect("s"), TrackingNumber::parse("9400111899223100000000").expect("n"));
    h.clock.advance(Duration::days(9));
    let update = |leg: &(Slug, TrackingNumber), event: CheckpointInput| crate::carriers::TrackingUpdate {
        slug: leg.0.clone(),
        tracking_number: leg.1.clone(),
        events: vec![event],
        handover: None,
        scheduled_delivery: None,
    };
    let first = update(&yun, carrier_event("yunexpress", "YT2412345678901234", "InTransit_002", 2));
    app::apply_tracking_update(&h.deps, &first).await.expect("merged");
    let last = update(&usps, carrier_event("usps", "9400111899223100000000", "Delivered_003", 150));
    app::apply_tracking_update(&h.deps, &last).await.expect("merged");
    let (_, body) = h.call(Method::GET, &path, None).await;
    let data = &body["data"];
    assert_eq!(data["tag"], "Delivered");
    assert_eq!(data["subtag_message"], "Sign by customer");
    assert_eq!(data["active"], false);
    assert_eq!(data["checkpoints"].as_array().map(Vec::len), Some(2));
    assert_eq!(data["checkpoints"][0]["slug"], "yunexpress");
    assert_eq!(data["checkpoints"][1]["slug"], "usps");
    assert_eq!(data["checkpoints"][0]["raw_tag"], "InTransit_002");
    assert_eq!(data["first_mile"]["slug"], "yunexpress");
    assert_eq!(data["last_mile"]["tracking_number"], "9400111899223100000000");
    assert_eq!(data["last_mile"]["source"], "user");
    assert_eq!(data["transit_time"], 7);
    assert_eq!(data["shipment_delivery_date"], "2026-06-07T15:00:00Z");

    let (status, body) = h.call(Method::POST, &format!("{path}/retrack"), None).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4013));
}

#[tokio::test]
async fn retrack_resumes_an_expired_tracking() {
    let h = Harness::new().await;
    let created = h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})).await;
    let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
    h.clock.advance(Duration::days(31));
    let (_, body) = h.call(Method::PUT, &path, Some(json!({"note": "still waiting"}))).await;
    assert_eq!((body["data"]["tag"].clone(), body["data"]["active"].clone()), (json!("Expired"), json!(false)));
    let (status, body) = h.call(Method::POST, &format!("{path}/retrack"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["active"], true);
    assert_eq!(body["data"]["tag"], "Pending");
}

#[tokio::test]
async fn mark_as_completed_sets_the_final_status() {
    let h = Harness::new().await;
    let created = h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})).await;
    let path = format!("{TRACKINGS}/{}/mark-as-completed", created["id"].as_str().expect("id"));
    let (status, body) = h.call(Method::POST, &path, Some(json!({}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4009));
    let (status, body) = h.call(Method::POST, &path, Some(json!({"reason": "MISPLACED"}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4008));
    let (status, body) = h
        .call(Method::POST, &path, Some(json!({"reason": "LOST", "event_datetime": "2026-06-01T10:00:00+02:00"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(
        (data["tag"].clone(), data["subtag"].clone(), data["active"].clone()),
        (json!("Exception"), json!("Exception_013"), json!(false))
    );
    assert_eq!(data["checkpoints"][0]["source"], "user");
    assert_eq!(data["checkpoints"][0]["checkpoint_time"], "2026-06-01T10:00:00+02:00");
    let (_, again) = h.call(Method::POST, &path, Some(json!({"reason": "LOST"}))).await;
    assert_eq!(again["data"]["checkpoints"].as_array().map(Vec::len), Some(1), "repeating changes nothing");
}

#[tokio::test]
async fn couriers_are_listed_and_detected() {
    let h = Harness::new().await;
    let (status, body) = h.call(Method::GET, "/tracking/2026-07/couriers/all", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["total"].as_u64(), Some(COURIERS.len() as u64));
    let (_, body) = h.call(Method::GET, "/tracking/2026-07/couriers?slug=ups,fedex", None).await;
    assert_eq!(body["data"]["total"], 2);
    assert_eq!(body["data"]["couriers"][0]["name"], "FedEx");
    let (_, body) = h
        .call(Method::POST, "/tracking/2026-07/couriers/detect", Some(json!({"tracking_number": "RR123456785GB"})))
        .await;
    assert_eq!(body["data"]["couriers"][0]["slug"], "royal-mail");
    let (status, body) = h.call(Method::POST, "/tracking/2026-07/couriers/detect", Some(json!({}))).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::BAD_REQUEST, 4007));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_envelope() {
    let h = Harness::new().await;
    let (status, body) = h.call(Method::GET, "/tracking/2026-07/nothing-here", None).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::NOT_FOUND, 404));
    let (status, body) = h.call(Method::PATCH, TRACKINGS, None).await;
    assert_eq!((status, meta_code(&body)), (StatusCode::METHOD_NOT_ALLOWED, 405));
}

#[tokio::test]
async fn a_tracking_without_news_reads_as_expired_after_thirty_days() {
    let h = Harness::new().await;
    let created = h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups"})).await;
    let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
    h.clock.advance(Duration::days(30));
    assert_eq!(h.call(Method::GET, &path, None).await.1["data"]["tag"], "Pending");
    h.clock.advance(Duration::hours(1));
    let (_, body) = h.call(Method::GET, &path, None).await;
    assert_eq!((body["data"]["tag"].clone(), body["data"]["subtag"].clone()), (json!("Expired"), json!("Expired_001")));
    assert_eq!(body["data"]["active"], false);
}

#[tokio::test]
async fn every_answer_forbids_sniffing_and_caching() {
    let h = Harness::new().await;
    let cases = [
        (Some(h.key.as_str()), "/tracking/2026-07/trackings", StatusCode::OK),
        (None, "/tracking/2026-07/trackings", StatusCode::UNAUTHORIZED),
        (Some(h.key.as_str()), "/no/such/path", StatusCode::NOT_FOUND),
        (None, "/openapi.json", StatusCode::OK),
    ];
    for (key, path, expected) in cases {
        let mut request = Request::builder().uri(path);
        if let Some(key) = key {
            request = request.header("as-api-key", key);
        }
        let response = h.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
        assert_eq!(response.status(), expected, "{path}");
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{path}");
    }
}

#[tokio::test]
async fn bodies_that_could_be_stored_but_not_read_back_are_refused() {
    let h = Harness::new().await;
    let nested = |levels: usize| {
        let mut value = json!(1);
        for _ in 0..levels {
            value = json!({ "a": value });
        }
        value
    };
    let create = |fields: Value| json!({"tracking_number": "1Z999AA10123456784", "custom_fields": fields});
    let (status, body) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(create(nested(126)))).await;
    assert_eq!((status, body["meta"]["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(4001)), "{body}");
    let (status, body) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(create(nested(9)))).await;
    assert_eq!((status, body["meta"]["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(4008)), "{body}");
    assert!(body["meta"]["message"].as_str().is_some_and(|m| m.starts_with("custom_fields")), "{body}");
    let long_name = "n".repeat(900_000 / 2);
    let customers = json!({"tracking_number": "1Z999AA10123456784", "customers": [{"name": long_name}]});
    let (status, body) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(customers)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["meta"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("customers[0].name") && message.len() < 200, "{message}");
    let (status, _) = h.call(Method::POST, "/tracking/2026-07/trackings", Some(create(nested(7)))).await;
    assert_eq!(status, StatusCode::CREATED, "within the limits");
}

mod analytics;
mod connectors;
mod edd;
mod evidence;
mod exceptions;
mod exports;
mod isolation;
mod openapi;
mod operator;
mod orders;
mod privacy;
mod rate_limit;
mod returns;
mod route_table;
mod suppressions;
mod texts;
mod webhooks;

#[tokio::test]
async fn recipients_are_kept_as_messages_need_them_and_listed_as_subscribed() {
    let h = Harness::new().await;
    let created = h
        .create(json!({
            "tracking_number": "1Z999AA10123456784", "slug": "ups", "language": "de",
            "customers": [
                {"role": "buyer", "email": " Ann@Example.com ", "phone_number": "+1 (555) 010-9999", "language": "en-GB"},
                {"role": "receiver", "email": "ann@example.com"}
            ]
        }))
        .await;
    assert_eq!(created["customers"][0]["phone_number"], "+15550109999", "stored in E.164");
    assert_eq!(created["subscribed_emails"], json!(["Ann@Example.com"]), "once each, case aside");
    assert_eq!(created["subscribed_smses"], json!(["+15550109999"]));
    for (body, field) in [
        (json!({"customers": [{"phone_number": "555 010 9999"}]}), "customers[0].phone_number"),
        (json!({"customers": [{"email": "a@example.com"}, {"language": "english"}]}), "customers[1].language"),
        (json!({"language": "en_US"}), "language"),
        (json!({"customers": [{"email": "not an email"}]}), "customers[0].email"),
    ] {
        let path = format!("{TRACKINGS}/{}", created["id"].as_str().expect("id"));
        let (status, answer) = h.call(Method::PUT, &path, Some(body)).await;
        assert_eq!((status, meta_code(&answer)), (StatusCode::BAD_REQUEST, 4008), "{answer}");
        assert!(answer["meta"]["message"].as_str().unwrap_or_default().starts_with(field), "{answer} names {field}");
    }
}

#[tokio::test]
async fn notification_rules_are_managed_through_the_extension_api() {
    let h = Harness::new().await;
    const RULES: &str = "/porchlight/v1/notification-rules";
    let (status, listed) = h.call(Method::GET, RULES, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"]["rules"].as_array().map(Vec::len), Some(5), "the defaults");
    let (status, created) = h
        .call(
            Method::POST,
            RULES,
            Some(json!({"trigger": "available_for_pickup", "channels": ["sms"], "delay_minutes": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let (status, changed) =
        h.call(Method::PUT, &format!("{RULES}/{id}"), Some(json!({"enabled": false, "id": "ignored"}))).await;
    assert_eq!((status, &changed["data"]["enabled"]), (StatusCode::OK, &json!(false)), "{changed}");
    for (body, field) in [
        (json!({"trigger": "teleported"}), "trigger"),
        (json!({"quiet_hours": {"start": "9pm", "end": "07:00"}}), "quiet_hours.start"),
        (json!({"channels": ["pigeon"]}), "channels"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, answer) = h.call(Method::PUT, &format!("{RULES}/{id}"), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["meta"]["message"].as_str().unwrap_or_default().contains(field), "{answer} names {field}");
    }
    let (status, _) = h.call_as(Some(&h.other_key().await), Method::GET, &format!("{RULES}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another merchant's rule does not exist for them");
    let (status, deleted) = h.call(Method::DELETE, &format!("{RULES}/{id}"), None).await;
    assert_eq!((status, &deleted["data"]["trigger"]), (StatusCode::OK, &json!("available_for_pickup")));
    let (status, missing) = h.call(Method::GET, &format!("{RULES}/{id}"), None).await;
    assert_eq!((status, meta_code(&missing)), (StatusCode::NOT_FOUND, 404));
    assert_eq!(missing["meta"]["message"], "notification rule does not exist");

    let (status, preview) = h
        .call(Method::POST, &format!("{RULES}/preview"), Some(json!({"trigger": "delivered", "language": "fr"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["data"]["language"], "fr");
    assert!(
        preview["data"]["subject"].as_str().is_some_and(|s| s.contains("#1001") && s.contains("livrée")),
        "{preview}"
    );
    assert_eq!(preview["data"]["sms_segments"]["encoding"], "gsm7");
    let tracking =
        h.create(json!({"tracking_number": "1Z999AA10123456784", "slug": "ups", "order_number": "#77"})).await;
    let (_, real) = h
        .call(
            Method::POST,
            &format!("{RULES}/preview"),
            Some(json!({"trigger": "in_transit", "tracking_id": tracking["id"]})),
        )
        .await;
    assert!(real["data"]["subject"].as_str().is_some_and(|s| s.contains("#77")), "{real}");
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{RULES}/preview"),
            Some(json!({"trigger": "in_transit", "tracking_id": "0".repeat(32)})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
