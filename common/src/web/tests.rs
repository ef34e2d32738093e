//! The tracking page through the whole router, in process, on an in-memory store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::{self, NewTracking, import_tracking};
use crate::domain::{
    CheckpointInput, CheckpointSource, Customer, EventTime, Leg, LegSource, ShipmentDetails, Slug, Subtag,
    TrackingNumber,
};
use crate::testkit::ManualClock;

const SLUG: &str = "acme";

struct Page {
    router: Router,
    deps: Deps,
    key: String,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Page {
    async fn new(lookups_per_minute: u32) -> Page {
        Page::limited(lookups_per_minute, 600).await
    }

    async fn limited(lookups_per_minute: u32, views_per_minute: u32) -> Page {
        let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).single().expect("date")));
        let mut deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock);
        deps.page_lookups_per_minute = lookups_per_minute;
        deps.page_views_per_minute = views_per_minute;
        deps.public_url = Some(Arc::from("https://track.example"));
        let (tenant, key) = app::create_tenant(&deps, "Acme").await.expect("tenant");
        let page = Page { router: crate::api::router(deps.clone()), deps, key: key.secret };
        page.seed(&tenant.id).await;
        page
    }

    /// A split order (#1001, two parcels, one over two carriers) and another order (#1002).
    async fn seed(&self, tenant: &TenantId) {
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().expect("date");
        let buyer = Customer {
            role: Some("buyer".into()),
            name: Some("Ann Lee".into()),
            email: Some("ann@example.com".into()),
            ..Customer::default()
        };
        let details = |order: &str, title: &str| ShipmentDetails {
            title: Some(title.into()),
            order_number: Some(order.into()),
            destination_city: Some("Bristol".into()),
            destination_postal_code: Some("BS1 4DJ".into()),
            customers: vec![buyer.clone()],
            ..ShipmentDetails::default()
        };
        let event = |slug: &str, number: &str, hours: i64, offset: &str, code: &str, message: &str| {
            let local = (start + Duration::hours(hours)).naive_utc();
            let time = EventTime::parse(&format!("{}{offset}", local.format("%Y-%m-%dT%H:%M:%S"))).expect("time");
            let mut input = CheckpointInput::new(
                Slug::parse(slug).expect("slug"),
                TrackingNumber::parse(number).expect("number"),
                time,
                Subtag::parse(code).expect("subtag"),
                message,
                CheckpointSource::Carrier,
            );
            input.location = Some("Somewhere".into());
            input
        };
        let two_legs = NewTracking {
            slug: Some(Slug::parse("yunexpress").expect("slug")),
            tracking_number: TrackingNumber::parse("YT2530512345678901").expect("number"),
            details: details("#1001", "Pour-over set"),
            last_mile: Some(Leg {
                slug: Slug::parse("royal-mail").expect("slug"),
                tracking_number: TrackingNumber::parse("RR123456785GB").expect("number"),
                source: LegSource::System,
            }),
        };
        let events = vec![
            event("yunexpress", "YT2530512345678901", 1, "+08:00", "InTransit_002", "Parcel collected by YunExpress"),
            event("yunexpress", "YT2530512345678901", 30, "+08:00", "InTransit_007", "Departed <b>Shenzhen</b>"),
            event("royal-mail", "RR123456785GB", 80, "+01:00", "InTransit_003", "Arrived at Royal Mail hub"),
            event("royal-mail", "RR123456785GB", 100, "+01:00", "Exception_004", "Held by customs"),
        ];
        import_tracking(&self.deps, tenant, two_legs, start, events).await.expect("imported");
        let second = NewTracking {
            slug: Some(Slug::parse("ups").expect("slug")),
            tracking_number: TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            details: details("#1001", "Filter papers"),
            last_mile: None,
        };
        let delivered = vec![
            event("ups", "1Z999AA10123456784", 2, "-05:00", "InTransit_002", "Origin scan"),
            event("ups", "1Z999AA10123456784", 50, "-05:00", "Delivered_001", "Delivered <script>alert(1)</script>"),
        ];
        import_tracking(&self.deps, tenant, second, start + Duration::hours(1), delivered).await.expect("imported");
        let other = NewTracking {
            slug: Some(Slug::parse("ups").expect("slug")),
            tracking_number: TrackingNumber::parse("1Z999AA10123456791").expect("number"),
            details: ShipmentDetails { language: Some("ja".into()), ..details("#1002", "Mug") },
            last_mile: None,
        };
        import_tracking(&self.deps, tenant, other, start, Vec::new()).await.expect("imported");
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Body::empty()).expect("request");
        request.extensions_mut().insert(ClientIp("198.51.100.7".parse().expect("ip")));
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, html: String::from_utf8(bytes.to_vec()).expect("utf-8") }
    }

    async fn api(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (StatusCode, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("as-api-key", &self.key)
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .expect("request");
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json"))
    }
}

#[tokio::test]
async fn a_number_shows_status_and_timeline_but_no_order_or_personal_data() {
    let page = Page::new(30).await;
    let answer = page.get(&format!("/t/{SLUG}/YT2530512345678901"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.html);
    let html = &answer.html;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("There is a problem with the delivery") && html.contains("Delayed in customs"));
    assert!(html.contains("What you can do"), "an exception says what the shopper can do");
    let newest = html.find("Held by customs").expect("newest event");
    let oldest = html.find("Parcel collected by YunExpress").expect("oldest event");
    assert!(newest < oldest, "newest first");
    assert!(html.contains("Handed over to Royal Mail (RR123456785GB)"), "both legs, one story");
    assert!(html.contains("Jun 5, 2026, 12:00"), "a checkpoint in its own local time (+01:00)");
    assert!(html.contains("Jun 1, 2026, 09:00"), "and another in its own (+08:00)");
    assert!(html.contains("Departed &lt;b&gt;Shenzhen&lt;&#x2f;b&gt;"), "carrier text escaped");
    assert!(html.contains("www.royalmail.com&#x2f;track-your-item#&#x2f;tracking-results&#x2f;RR123456785GB"));
    for private in ["Ann Lee", "ann@example.com", "#1001", "Pour-over set", "Bristol", "BS1 4DJ"] {
        assert!(!html.contains(private), "{private} is hidden on a lookup by number");
    }
    let policy = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-") && !policy.contains("script"));
    assert_eq!(answer.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(html.len() < 50 * 1024, "{} bytes", html.len());
    let by_last_mile = page.get(&format!("/t/{SLUG}/rr123456785gb"), &[]).await;
    assert!(by_last_mile.status == StatusCode::OK && by_last_mile.html.contains("Delayed in customs"));
}

#[tokio::test]
async fn an_order_opens_with_its_email_or_postal_code_and_failures_look_alike() {
    let page = Page::new(30).await;
    let answer = page.get(&format!("/t/{SLUG}/orders?order_number=1001&email=ANN%40example.com"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.html);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store", "personal data is never cached");
    let html = &answer.html;
    assert!(html.contains("Order #1001") && html.contains("2 parcels"));
    assert!(html.contains("Parcel 1 of 2") && html.contains("Parcel 2 of 2"), "a split order shows each parcel");
    assert!(html.contains("Pour-over set") && html.contains("Bristol"));
    assert!(html.contains("Delivered &lt;script&gt;"), "no markup from carriers");
    let by_postal = page.get(&format!("/t/{SLUG}/orders?order_number=%231001&postal_code=bs14dj"), &[]).await;
    assert_eq!(by_postal.status, StatusCode::OK);

    let unknown = page.get(&format!("/t/{SLUG}/orders?order_number=9999&email=ann%40example.com"), &[]).await;
    let wrong = page.get(&format!("/t/{SLUG}/orders?order_number=9999&email=eve%40example.com"), &[]).await;
    let wrong_proof = page.get(&format!("/t/{SLUG}/orders?order_number=1001&email=eve%40example.com"), &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!((wrong.status, &wrong.html), (unknown.status, &unknown.html));
    let normalise = |html: &str| html.replace("value=\"1001\"", "value=\"9999\"");
    assert_eq!(wrong_proof.status, unknown.status);
    assert_eq!(normalise(&wrong_proof.html), normalise(&unknown.html), "only the typed number differs");
    assert!(!wrong_proof.html.contains("Pour-over") && !wrong_proof.html.contains("ann@example.com"));
}

#[tokio::test]
async fn lookups_are_limited_per_client_address() {
    let page = Page::new(3).await;
    for _ in 0..3 {
        assert_eq!(page.get(&format!("/t/{SLUG}/1Z999AA10123456784"), &[]).await.status, StatusCode::OK);
    }
    let limited = page.get(&format!("/t/{SLUG}/orders?order_number=1001&email=ann%40example.com"), &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers[header::RETRY_AFTER], "20");
    assert!(limited.html.contains("Too many lookups"));
    assert_eq!(page.get(&format!("/t/{SLUG}"), &[]).await.status, StatusCode::OK, "the form is not a lookup");
}

#[tokio::test]
async fn every_page_request_counts_against_the_address_views() {
    let page = Page::limited(100, 4).await;
    // The lookup form, a parcel, the returns portal's form (the `track` redirect costs nothing
    // and is not counted).
    assert_eq!(page.get(&format!("/t/{SLUG}/track?tracking_number=1"), &[]).await.status, StatusCode::SEE_OTHER);
    for path in [format!("/t/{SLUG}"), format!("/t/{SLUG}/1Z999AA10123456784"), format!("/t/{SLUG}/returns")] {
        assert_ne!(page.get(&path, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    assert_eq!(page.get("/reports/not-a-token/report.csv", &[]).await.status, StatusCode::NOT_FOUND);
    let flooded = page.get(&format!("/t/{SLUG}"), &[]).await;
    assert_eq!(flooded.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(flooded.headers[header::RETRY_AFTER], "15");
    let report = page.get("/reports/not-a-token/report.csv", &[]).await;
    assert_eq!(report.status, StatusCode::TOO_MANY_REQUESTS, "report links count too");
}

#[tokio::test]
async fn the_language_follows_aftership_order_of_preference() {
    let page = Page::new(100).await;
    let number = format!("/t/{SLUG}/1Z999AA10123456784");
    let french = page.get(&number, &[("accept-language", "fr-CA,fr;q=0.9,en;q=0.5")]).await;
    assert!(french.html.contains("<html lang=\"fr\">") && french.html.contains("Livré"));
    assert!(french.headers.get(header::SET_COOKIE).is_none(), "only a pick is remembered");
    let picked = page.get(&format!("{number}?lang=de"), &[("accept-language", "fr")]).await;
    assert!(picked.html.contains("<html lang=\"de\">") && picked.html.contains("Zugestellt"));
    let cookie = picked.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(cookie.starts_with("pl_lang=de; Path=/t/acme;") && cookie.contains("HttpOnly"));
    assert_eq!(picked.headers[header::CACHE_CONTROL], "private, max-age=60", "a cookie-setting answer is not shared");
    assert_eq!(french.headers[header::CACHE_CONTROL], "public, max-age=60");
    let remembered = page.get(&number, &[("accept-language", "fr"), ("cookie", "pl_lang=de")]).await;
    assert!(remembered.html.contains("<html lang=\"de\">"), "the pick beats the browser");
    let tracking_language = page.get(&format!("/t/{SLUG}/1Z999AA10123456791"), &[("accept-language", "fr")]).await;
    assert!(tracking_language.html.contains("<html lang=\"ja\">"), "the tracking's language beats the browser");
    let unknown = page.get(&format!("{number}?lang=xx"), &[("accept-language", "pt-BR")]).await;
    assert!(unknown.html.contains("<html lang=\"en\">"), "the merchant's default last");
    for language in Language::ALL {
        let answer = page.get(&format!("{number}?lang={}", language.code()), &[]).await;
        assert!(answer.html.contains(&format!("<html lang=\"{}\">", language.code())), "{language}");
        assert!(answer.html.contains(Catalog::of(language).status(crate::domain::Tag::Delivered)), "{language}");
    }
}

#[tokio::test]
async fn settings_change_the_page_and_are_validated() {
    let page = Page::new(100).await;
    let (status, body) = page.api("GET", "/porchlight/v1/tracking-page", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["data"]["slug"].as_str(), body["data"]["url"].as_str()),
        (Some(SLUG), Some("https://track.example/t/acme"))
    );
    let update = json!({
        "brand_name": "Acme <Goods>", "hide_carrier": true, "primary_color": "#FFEE00",
        "links": [{"label": "Shop", "url": "https://acme.example"}],
        "recommendations": [{"title": "Mug", "url": "https://acme.example/mug",
                             "price": {"amount": "12.5", "currency": "EUR"}}],
        "support_email": "help@acme.example", "returns_enabled": true,
        "url": "ignored on the way in"
    });
    let (status, body) = page.api("PUT", "/porchlight/v1/tracking-page", Some(update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["primary_color"], "#ffee00");
    let masked = page.get(&format!("/t/{SLUG}/YT2530512345678901"), &[]).await;
    assert!(masked.html.contains("Acme &lt;Goods&gt;"), "merchant text escaped");
    for carrier in ["YunExpress", "Royal Mail", "royalmail.com"] {
        assert!(!masked.html.contains(carrier), "{carrier} masked");
    }
    assert!(!masked.html.contains("Handed over to"), "no handover between masked carriers");
    assert!(masked.html.contains("--on-primary:#000000"), "dark text on a light brand colour");
    assert!(masked.html.contains("€12.50") && masked.html.contains("acme.example&#x2f;mug"));
    let order = page.get(&format!("/t/{SLUG}/orders?order_number=1001&email=ann%40example.com"), &[]).await;
    assert!(order.html.contains("Return items") && order.html.contains("mailto:help@acme.example"));

    for (body, field) in [
        (json!({"logo_url": "http://acme.example/logo.png"}), "logo_url"),
        (json!({"links": [{"label": "x", "url": "javascript:alert(1)"}]}), "links[0].url"),
        (json!({"slug": "Not A Slug"}), "slug"),
        (json!({"accent_color": 5}), "accent_color"),
        (json!({"colour": "#000000"}), "colour"),
    ] {
        let (status, answer) = page.api("PUT", "/porchlight/v1/tracking-page", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["meta"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{message} names {field}");
    }
    let (_, after) = page.api("GET", "/porchlight/v1/tracking-page", None).await;
    assert_eq!(after["data"]["brand_name"], "Acme <Goods>", "refusals change nothing");
}

#[tokio::test]
async fn trackings_link_to_their_page_and_carrier() {
    let page = Page::new(100).await;
    let (status, body) = page.api("GET", "/tracking/2026-07/trackings?tracking_numbers=1Z999AA10123456784", None).await;
    assert_eq!(status, StatusCode::OK);
    let tracking = &body["data"]["trackings"][0];
    assert_eq!(tracking["aftership_tracking_url"], "https://track.example/t/acme/1Z999AA10123456784");
    assert_eq!(tracking["aftership_tracking_order_url"], "https://track.example/t/acme?order_number=%231001");
    assert_eq!(tracking["courier_tracking_link"], "https://www.ups.com/track?tracknum=1Z999AA10123456784");
    let lookup = page.get("/t/acme?order_number=%231001", &[]).await;
    assert!(lookup.html.contains("value=\"#1001\""), "the order link fills the form");
}

#[tokio::test]
async fn unknown_pages_and_the_number_form_answer_sensibly() {
    let page = Page::new(100).await;
    let missing = page.get("/t/no-such-shop/1Z999AA10123456784", &[("accept-language", "es")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("Página no encontrada"));
    let unknown_number = page.get(&format!("/t/{SLUG}/1Z999AA10000000000"), &[]).await;
    assert_eq!(unknown_number.status, StatusCode::NOT_FOUND);
    assert!(unknown_number.html.contains("Check the tracking number"));
    let redirect = page.get(&format!("/t/{SLUG}/track?tracking_number=1Z999AA1%2F0123&lang=ja"), &[]).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers[header::LOCATION], "/t/acme/1Z999AA1%2F0123?lang=ja");
}

#[tokio::test]
async fn the_unsubscribe_link_asks_on_get_and_unsubscribes_on_one_click_post() {
    use crate::domain::Contact;

    let page = Page::new(100).await;
    let tenant = page.deps.tenants.list_tenants().await.expect("tenants").remove(0).id;
    let number = TrackingNumber::parse("YT2530512345678901").expect("number");
    let shipment = page.deps.shipments.find_by_number(&tenant, &number).await.expect("found").remove(0);
    let ann = Contact::Email("ann@example.com".into());
    assert!(shipment.reaches(&ann));
    let token = app::subscriptions::unsubscribe_token(&page.deps, &tenant, &shipment.id, &ann);
    assert!(!token.contains("ann") && !token.contains('@'), "the contact is sealed, not readable");
    let path = format!("/t/{SLUG}/unsubscribe/{token}");

    let asked = page.get(&format!("{path}?lang=de"), &[]).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.html.contains("Keine Updates mehr zu diesem Paket?"), "in the page's language");
    assert!(asked.html.contains(r#"<form method="post""#));
    assert_eq!(asked.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    let still = page.deps.shipments.get(&tenant, &shipment.id).await.expect("read").expect("there");
    assert!(still.reaches(&ann), "a GET (a link scanner) changes nothing");

    let mut request = Request::builder()
        .method("POST")
        .uri(&path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .expect("request");
    request.extensions_mut().insert(ClientIp("198.51.100.7".parse().expect("ip")));
    let response = page.router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let html =
        String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    assert!(html.contains("You are unsubscribed"), "{html}");
    let after = page.deps.shipments.get(&tenant, &shipment.id).await.expect("read").expect("there");
    assert!(!after.reaches(&ann) && !after.subscribed_emails().contains(&"ann@example.com".to_owned()));

    let forged = page.get(&format!("/t/{SLUG}/unsubscribe/{}", &token[..token.len() - 4]), &[]).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    assert!(forged.html.contains("This link does not work"));
    let other = app::create_tenant(&page.deps, "Other shop").await.expect("tenant").0.id;
    let theirs = app::subscriptions::unsubscribe_token(&page.deps, &other, &shipment.id, &ann);
    let elsewhere = page.get(&format!("/t/{SLUG}/unsubscribe/{theirs}"), &[]).await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND, "another merchant's link on this page");
}

#[tokio::test]
async fn shoppers_subscribe_to_an_active_parcel_from_its_page() {
    let page = Page::new(100).await;
    let tenant = page.deps.tenants.list_tenants().await.expect("tenants").remove(0).id;
    let number = TrackingNumber::parse("1Z999AA10123456791").expect("number");
    let shipment = page.deps.shipments.find_by_number(&tenant, &number).await.expect("found").remove(0);
    assert!(shipment.active, "the seeded pending parcel is still tracked");
    let shown = page.get(&format!("/t/{SLUG}/1Z999AA10123456791"), &[]).await;
    // Autoescaped: `/` is written `&#x2f;`, which browsers read back.
    assert!(
        shown.html.contains(r#"action="&#x2f;t&#x2f;acme&#x2f;1Z999AA10123456791&#x2f;subscribe""#),
        "{}",
        shown.html
    );
    let delivered = page.get(&format!("/t/{SLUG}/YT2530512345678901"), &[]).await;
    assert!(!delivered.html.contains("/subscribe"), "no form once tracking has ended");

    let post = |body: &'static str| {
        let mut request = Request::builder()
            .method("POST")
            .uri(format!("/t/{SLUG}/1Z999AA10123456791/subscribe"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        request.extensions_mut().insert(ClientIp("198.51.100.7".parse().expect("ip")));
        page.router.clone().oneshot(request)
    };
    let response = post("email=Bo%40Example.com").await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let html =
        String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    assert!(html.contains("You are subscribed"), "{html}");
    let after = page.deps.shipments.get(&tenant, &shipment.id).await.expect("read").expect("there");
    assert!(
        after.subscribed_emails().iter().any(|e| e.eq_ignore_ascii_case("bo@example.com")),
        "{:?}",
        after.subscribed_emails()
    );
    let refused = post("email=not-an-address").await.expect("response");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let missing = post("email=").await.expect("response");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(!shown.html.contains("subscribe-phone"), "no phone field while the merchant sends no SMS");

    // Once the merchant sends SMS, the page takes a phone number too (an email may be left out).
    let sms =
        serde_json::from_value(serde_json::json!({"trigger": "out_for_delivery", "channels": ["sms"]})).expect("rule");
    app::notification_rules::create_rule(&page.deps, &tenant, sms).await.expect("rule");
    let offered = page.get(&format!("/t/{SLUG}/1Z999AA10123456791"), &[]).await;
    assert!(offered.html.contains(r#"id="subscribe-phone" name="phone" type="tel""#), "{}", offered.html);
    let response = post("email=&phone=%2B44+7700+900123").await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let after = page.deps.shipments.get(&tenant, &shipment.id).await.expect("read").expect("there");
    assert!(after.subscribed_smses().contains(&"+447700900123".to_owned()), "{:?}", after.subscribed_smses());
    let refused = post("email=&phone=12345").await.expect("response");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}
