//! The returns portal through the whole router, in process, on an in-memory store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::adapters::sqlite::SqliteStore;
use crate::app::{self, Deps, NewTracking};
use crate::domain::{ShipmentDetails, Slug, TenantId, TrackingNumber};
use crate::testkit::ManualClock;
use crate::web::ClientIp;

const BOUNDARY: &str = "porchlight-test-boundary";
/// The first bytes of a JPEG file (what the portal checks).
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];

struct Portal {
    router: axum::Router,
    deps: Deps,
    tenant: TenantId,
}

struct Answer {
    status: StatusCode,
    html: String,
}

impl Portal {
    /// A merchant offering returns, with order #1001 (a final-sale scarf and two mugs)
    /// delivered on 2026-06-05.
    async fn new() -> Portal {
        let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).single().expect("date")));
        let mut deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock);
        deps.public_url = Some(Arc::from("https://track.example"));
        let tenant = app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let update =
            serde_json::from_value(serde_json::json!({"slug": "acme", "returns_enabled": true})).expect("update");
        app::pages::update_page_settings(&deps, &tenant, update).await.expect("page");
        let order = serde_json::json!({
            "external_id": "5001", "order_number": "#1001", "placed_at": "2026-06-01T10:00:00Z",
            "customer": {"email": "ann@example.com", "locale": "en-GB"},
            "shipping_address": {"country_region": "GBR", "postal_code": "BS1 4DJ"},
            "currency": "GBP",
            "items": [
                {"external_id": "l1", "title": "Silk scarf", "quantity": 1, "tags": ["final-sale"],
                 "unit_price": {"amount": "30.00", "currency": "GBP"}},
                {"external_id": "l2", "title": "Mug", "variant_title": "Blue", "quantity": 2,
                 "unit_price": {"amount": "12.50", "currency": "GBP"}}
            ]
        });
        app::orders::upsert_order(&deps, &tenant, serde_json::from_value(order).expect("order")).await.expect("order");
        let new = NewTracking {
            slug: Some(Slug::parse("ups").expect("slug")),
            tracking_number: TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            details: ShipmentDetails { order_id: Some("5001".into()), ..ShipmentDetails::default() },
            last_mile: None,
        };
        let start = Utc.with_ymd_and_hms(2026, 6, 2, 9, 0, 0).single().expect("date");
        let mut delivered = crate::domain::CheckpointInput::new(
            Slug::parse("ups").expect("slug"),
            TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            crate::domain::EventTime::from_utc(start + Duration::days(3)),
            crate::domain::Subtag::parse("Delivered_001").expect("subtag"),
            "Delivered",
            crate::domain::CheckpointSource::Carrier,
        );
        delivered.raw_tag = Some("D".into());
        app::import_tracking(&deps, &tenant, new, start, vec![delivered]).await.expect("delivered");
        Portal { router: crate::api::router(deps.clone()), deps, tenant }
    }

    async fn send(&self, request: axum::http::request::Builder, body: Body) -> Answer {
        let mut request = request.body(body).expect("request");
        request.extensions_mut().insert(ClientIp("198.51.100.7".parse().expect("ip")));
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, html: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Request::builder().uri(path), Body::empty()).await
    }

    /// Posts the form with `fields` and, per line, `photos`.
    async fn post(&self, fields: &[(&str, &str)], photos: &[(&str, &[u8])]) -> Answer {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
            );
        }
        for (name, bytes) in photos {
            body.extend(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
                    .bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{BOUNDARY}--\r\n").bytes());
        let request = Request::builder()
            .method("POST")
            .uri("/t/acme/returns")
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"));
        self.send(request, Body::from(body)).await
    }
}

const PROOF: [(&str, &str); 3] = [("order_number", "1001"), ("email", "ANN@example.com"), ("postal_code", "")];

#[tokio::test]
async fn a_shopper_finds_the_order_sees_why_a_line_is_refused_and_returns_another_with_a_photo() {
    let portal = Portal::new().await;
    let form = portal.get("/t/acme/returns").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("name=\"order_number\""));

    // Anti-enumeration: an unknown order and a wrong email read the same.
    let unknown = portal.get("/t/acme/returns?order_number=9999&email=ann%40example.com").await;
    let wrong = portal.get("/t/acme/returns?order_number=1001&email=eve%40example.com").await;
    assert_eq!((unknown.status, wrong.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(unknown.html.replace("9999", "1001"), wrong.html);

    let lines = portal.get("/t/acme/returns?order_number=1001&postal_code=bs14dj").await;
    assert_eq!(lines.status, StatusCode::OK, "{}", lines.html);
    assert!(lines.html.contains("This item was a final sale and cannot be returned."), "the refusal and why");
    assert!(lines.html.contains("name=\"qty_1\"") && !lines.html.contains("name=\"qty_0\""), "only the mug is offered");
    assert!(lines.html.contains("“It arrived damaged” needs a comment and 1 photo(s)."), "{}", lines.html);

    // A damaged mug without a photo is refused beside its line, the answers kept.
    let mut fields: Vec<(&str, &str)> = PROOF.to_vec();
    fields.extend([
        ("qty_1", "1"),
        ("reason_1", "damaged"),
        ("comment_1", "chipped rim"),
        ("resolution_1", "refund"),
        ("method", "customer_courier"),
    ]);
    let refused = portal.post(&fields, &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    assert!(refused.html.contains("This reason needs at least 1 photo(s)."), "{}", refused.html);
    assert!(refused.html.contains("chipped rim"), "the comment is kept");

    // Not a picture: refused by its bytes.
    let text = portal.post(&fields, &[("photos_1", b"hello, not an image")]).await;
    assert!(
        text.status == StatusCode::UNPROCESSABLE_ENTITY
            && text.html.contains("Photos must be JPEG, PNG or WebP images.")
    );

    let done = portal.post(&fields, &[("photos_1", JPEG)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Your return number (RMA) is "), "{}", done.html);
    let returns = portal.deps.returns.returns(&portal.tenant, &Default::default(), 0, 10).await.expect("listed").0;
    assert_eq!(returns.len(), 1);
    let ret = &returns[0];
    assert!(done.html.contains(&ret.rma_number));
    assert_eq!((ret.items[0].external_order_item_id.as_str(), ret.items[0].intended_return_quantity), ("l2", 1));
    let path = &ret.items[0].photos[0];
    assert!(path.starts_with("/t/acme/returns/photos/"), "{path}");
    let view = crate::api::wire::return_view(ret, portal.deps.public_url.as_deref());
    assert_eq!(view["return_items"][0]["shopper_uploaded_image_urls"][0], format!("https://track.example{path}"));
    let photo = portal.get(path).await;
    assert_eq!((photo.status, photo.html.as_bytes()), (StatusCode::OK, String::from_utf8_lossy(JPEG).as_bytes()));
    assert_eq!(
        portal.get("/t/acme/returns/photos/00000000000000000000000000000000.jpg").await.status,
        StatusCode::NOT_FOUND
    );

    // The confirmation email, in the shopper's language, with the RMA number.
    let outbox = std::env::temp_dir().join(format!("porchlight-outbox-{}", uuid::Uuid::new_v4().simple()));
    let messenger = crate::adapters::outbox::OutboxMessenger::new(&outbox, "returns@acme.example").expect("outbox");
    let sent = app::notifications::dispatch_due(&portal.deps, portal.deps.ledger.as_ref(), &messenger, 10)
        .await
        .expect("sent");
    assert_eq!(sent.sent, 1, "{sent:?}");
    let email = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect::<String>();
    assert!(email.contains("To: ann@example.com") && email.contains(&ret.rma_number), "{email}");
    assert!(email.contains("https://track.example/t/acme/returns"), "links the portal");
    let _ = std::fs::remove_dir_all(outbox);

    // The other mug is still returnable; the form now offers one.
    let again = portal.get("/t/acme/returns?order_number=1001&email=ann%40example.com&lang=de").await;
    assert!(again.html.contains("<html lang=\"de\">") && again.html.contains("Rücksendemenge"));
    assert!(again.html.contains("<option value=\"1\">1</option>") && !again.html.contains("<option value=\"2\">"));
}

#[tokio::test]
async fn a_form_whose_part_cannot_be_read_is_refused_with_the_lookup_form_and_stores_nothing() {
    let portal = Portal::new().await;
    let mut fields: Vec<(&str, &str)> = PROOF.to_vec();
    fields.extend([("qty_1", "1"), ("reason_1", "changed_mind"), ("method", "customer_courier")]);
    // A part's name is a header value: a control character makes the body unreadable.
    let mut broken = fields.clone();
    broken.push(("note\u{3}", "x"));
    let refused = portal.post(&broken, &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(refused.html.contains("The form could not be read. Please fill it in again."), "{}", refused.html);
    assert!(refused.html.contains("name=\"order_number\""), "the lookup form again");
    let listed = portal.deps.returns.returns(&portal.tenant, &Default::default(), 0, 10).await.expect("listed").0;
    assert!(listed.is_empty(), "nothing was stored");

    // Unknown parts with readable names are ignored.
    fields.push(("note", "x"));
    let done = portal.post(&fields, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
}
