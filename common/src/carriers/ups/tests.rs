use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::TimeZone;

use super::*;
use crate::carriers::mock;
use crate::domain::{Shipment, ShipmentDetails, Tag, TenantId};

const TRACK: &str = include_str!("../fixtures/ups/track_response.json");
const NOT_FOUND: &str = include_str!("../fixtures/ups/track_not_found.json");
const TOKEN: &str = include_str!("../fixtures/ups/token.json");

fn credentials() -> Credentials {
    Credentials([("client_id".into(), "test-client".into()), ("client_secret".into(), "test-secret".into())].into())
}

fn target(number: &str) -> PollTarget {
    PollTarget {
        tracking_number: TrackingNumber::parse(number).expect("number"),
        since: Utc::now(),
        destination_postal_code: None,
        ship_date: None,
    }
}

#[derive(Default)]
struct Calls {
    tokens: AtomicUsize,
    tracks: AtomicUsize,
}

/// A UPS stand-in: the token endpoint checks Basic auth; the tracking number picks the answer.
async fn ups_mock(calls: Arc<Calls>) -> String {
    async fn token(State(calls): State<Arc<Calls>>, headers: HeaderMap) -> impl IntoResponse {
        calls.tokens.fetch_add(1, Ordering::SeqCst);
        let expected = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"test-client:test-secret")
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                r#"{"response":{"errors":[{"code":"10401","message":"ClientId is Invalid"}]}}"#.to_owned(),
            );
        }
        (StatusCode::OK, TOKEN.to_owned())
    }
    async fn track(
        State(calls): State<Arc<Calls>>,
        Path(number): Path<String>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        calls.tracks.fetch_add(1, Ordering::SeqCst);
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer ups-test-token") {
            return (StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        match number.as_str() {
            "1Z204W4R0308071865" => (StatusCode::OK, TRACK).into_response(),
            "1ZNOTFOUND00000001" => (StatusCode::NOT_FOUND, NOT_FOUND).into_response(),
            "1ZRATELIMITED00001" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")], "{}").into_response(),
            "1ZSERVERERROR00001" => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
            "1ZMALFORMED0000001" => (StatusCode::OK, "<html>maintenance</html>").into_response(),
            "1ZSLOW000000000001" => {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                (StatusCode::OK, TRACK).into_response()
            }
            _ => (StatusCode::NOT_FOUND, NOT_FOUND).into_response(),
        }
    }
    let routes = Router::new()
        .route("/security/v1/oauth/token", post(token))
        .route("/api/track/v1/details/{number}", get(track))
        .with_state(calls);
    mock::serve(routes).await
}

#[test]
fn track_response_fixture_parses_into_a_full_timeline() {
    let updates = parse_track_response(TRACK.as_bytes()).expect("parses");
    assert_eq!(updates.len(), 1);
    let events = &updates[0].events;
    assert_eq!(events.len(), 8);
    let codes: Vec<_> = events.iter().map(|e| e.subtag.code()).collect();
    assert_eq!(
        codes,
        [
            "Delivered_003",
            "OutForDelivery_001",
            "AttemptFail_002",
            "OutForDelivery_001",
            "InTransit_007",
            "InTransit_003",
            "InTransit_002",
            "InfoReceived_001"
        ]
    );
    let delivered = &events[0];
    assert_eq!(delivered.checkpoint_time.as_str(), "2024-04-25T14:30:00-04:00");
    assert_eq!(delivered.raw_tag.as_deref(), Some("KB"));
    assert_eq!(delivered.signed_by.as_deref(), Some("MARTINEZ"));
    assert_eq!(delivered.country_region.map(|c| c.to_string()), Some("USA".into()));
    assert_eq!(delivered.location.as_deref(), Some("CHARLOTTE, NC, US"));

    // Merged, the timeline gives the right derived state.
    let at = Utc.with_ymd_and_hms(2024, 4, 26, 0, 0, 0).single().expect("date");
    let mut shipment = Shipment::new(
        TenantId::parse("t").expect("t"),
        slug(),
        TrackingNumber::parse("1Z204W4R0308071865").expect("n"),
        ShipmentDetails::default(),
        Utc.with_ymd_and_hms(2024, 4, 22, 0, 0, 0).single().expect("date"),
    );
    shipment.merge(updates[0].events.clone(), at);
    assert_eq!((shipment.tag, shipment.failed_delivery_attempts), (Tag::Delivered, 1));
    assert_eq!(shipment.signed_by.as_deref(), Some("MARTINEZ"));
    assert_eq!(shipment.shipment_pickup_date.as_ref().map(|t| t.as_str()), Some("2024-04-22T17:00:00-04:00"));
    assert_eq!(updates[0].scheduled_delivery, None, "only a delivered date (DEL)");

    // A rescheduled date (RDD) wins over the first scheduled one (SDD).
    let rescheduled = TRACK.replace(
        r#""type": "DEL",
        "date": "20240425""#,
        r#""type": "SDD", "date": "20240424"}, {"type": "RDD",
        "date": "20240426""#,
    );
    assert_ne!(rescheduled, TRACK, "the fixture has its delivered date");
    let updates = parse_track_response(rescheduled.as_bytes()).expect("parses");
    assert_eq!(updates[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2024, 4, 26));
}

#[test]
fn track_alert_pushes_parse_and_malformed_ones_are_rejected() {
    let out = UpsCarrier::new(PRODUCTION)
        .parse_webhook(include_bytes!("../fixtures/ups/alert_out_for_delivery.json"))
        .expect("parses");
    let event = &out[0].events[0];
    assert_eq!(
        (event.subtag.code(), event.checkpoint_time.as_str()),
        ("OutForDelivery_001", "2024-04-23T09:15:19-04:00")
    );
    let delivered = UpsCarrier::new(PRODUCTION)
        .parse_webhook(include_bytes!("../fixtures/ups/alert_delivered.json"))
        .expect("parses");
    assert_eq!(delivered[0].events[0].subtag.code(), "Delivered_001");
    assert_eq!(delivered[0].events[0].postal_code.as_deref(), Some("28209"));
    // The out-for-delivery alert names its scheduled day; the delivered one leaves it empty.
    assert_eq!(out[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2024, 4, 23));
    assert_eq!(delivered[0].scheduled_delivery, None);
    for bad in [&b"[]"[..], b"{\"trackingNumber\":\"1Z\"}", br#"{"trackingNumber":"1Z204W4R0308071865","localActivityDate":"yesterday","localActivityTime":"1","activityStatus":{}}"#] {
        assert!(matches!(UpsCarrier::new(PRODUCTION).parse_webhook(bad), Err(CarrierError::Malformed(_))), "{bad:?}");
    }
}

#[test]
fn pushes_are_authenticated_by_the_subscription_credential() {
    let auth = UpsCarrier::new(PRODUCTION).webhook_auth().expect("ups pushes");
    assert!(auth.verify("sub-secret", |h: &str| (h == "credential").then(|| "sub-secret".to_owned()), b"{}"));
    assert!(!auth.verify("sub-secret", |_: &str| None, b"{}"));
}

#[test]
fn status_mapping_keeps_exceptions_apart() {
    let status = |kind: &'static str, code: &'static str, description: &'static str| Status {
        kind: Some(kind.into()),
        code: Some(code.into()),
        description: Some(description.into()),
        ..Status::default()
    };
    let cases = [
        (status("M", "MP", "Shipment Ready for UPS"), "InfoReceived_001"),
        (status("I", "OR", "On the Way"), "InTransit_001"),
        (status("I", "XX", "Your package was released by the customs agency."), "InTransit_005"),
        (status("X", "7E", "A CUSTOMS DELAY HAS OCCURRED"), "Exception_004"),
        (status("X", "UA", "THE ADDRESS IS INCORRECT"), "Exception_007"),
        (status("X", "XB", "THE RECEIVER'S BUSINESS WAS CLOSED"), "AttemptFail_003"),
        (status("X", "RF", "THE RECEIVER REFUSED THE DELIVERY"), "Exception_003"),
        (status("X", "RT", "THE PACKAGE IS BEING RETURNED TO THE SENDER"), "Exception_010"),
        (status("RS", "RS", "Returned to shipper"), "Exception_011"),
        (status("D", "2Q", "Delivered to UPS Access Point. Ready for pickup"), "AvailableForPickup_001"),
        (status("D", "KM", "Picked up at UPS Access Point"), "Delivered_002"),
    ];
    for (status, expected) in cases {
        assert_eq!(map_status(&status).map(|s| s.code()), Some(expected), "{status:?}");
    }
    // A status type UPS has not documented (a relabelled scan) maps to nothing: the
    // checkpoint becomes a generic transit event marked unmapped.
    assert_eq!(map_status(&status("Z", "ZZ", "New kind of scan")), None);
}

#[tokio::test]
async fn polls_fetch_a_token_once_and_the_timeline() {
    let calls = Arc::new(Calls::default());
    let base = ups_mock(Arc::clone(&calls)).await;
    let ups = UpsCarrier::new(&base);
    let http = mock::client();
    let updates = ups.poll(&http, &credentials(), &[target("1Z204W4R0308071865")], Utc::now()).await.expect("polled");
    assert_eq!(updates[0].events.len(), 8);
    let again = ups.poll(&http, &credentials(), &[target("1Z204W4R0308071865")], Utc::now()).await.expect("polled");
    assert_eq!(again.len(), 1);
    assert_eq!(calls.tokens.load(Ordering::SeqCst), 1, "token reused");
    assert_eq!(calls.tracks.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn poll_failures_map_to_carrier_errors() {
    let base = ups_mock(Arc::new(Calls::default())).await;
    let ups = UpsCarrier::new(&base);
    let http = mock::client();
    let poll = |number: &'static str| {
        let (ups, http) = (&ups, &http);
        async move { ups.poll(http, &credentials(), &[target(number)], Utc::now()).await }
    };
    assert_eq!(poll("1ZNOTFOUND00000001").await, Ok(vec![]), "unknown yet: no update, no error");
    assert_eq!(poll("1ZRATELIMITED00001").await, Err(CarrierError::RateLimited { retry_after_seconds: Some(120) }));
    assert!(matches!(poll("1ZSERVERERROR00001").await, Err(CarrierError::Unavailable(_))));
    assert!(matches!(poll("1ZMALFORMED0000001").await, Err(CarrierError::Malformed(_))));
    assert!(
        matches!(poll("1ZSLOW000000000001").await, Err(CarrierError::Unavailable(ref m)) if m.contains("timed out"))
    );
    let wrong =
        Credentials([("client_id".into(), "test-client".into()), ("client_secret".into(), "nope".into())].into());
    let fresh = UpsCarrier::new(&base);
    assert_eq!(
        fresh.poll(&http, &wrong, &[target("1Z204W4R0308071865")], Utc::now()).await,
        Err(CarrierError::Unauthorized)
    );
    assert_eq!(
        fresh.poll(&http, &Credentials::default(), &[target("1Z204W4R0308071865")], Utc::now()).await,
        Err(CarrierError::MissingCredential("client_id"))
    );
}
