//! The console through the whole router, in process: sign-in, sessions, CSRF, roles, tenants
//! kept apart, the list's filters.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::adapters::sqlite::SqliteStore;
use crate::app::team::{Actor, NewMember, add_member};
use crate::app::{self, Deps, NewTracking};
use crate::domain::{Role, ShipmentDetails, ShipmentId, Slug, TenantId, TrackingNumber};
use crate::testkit::{ManualClock, base_time};

const PASSWORD: &str = "correct horse battery";

struct Harness {
    router: Router,
    deps: Deps,
    tenant: TenantId,
    clock: Arc<ManualClock>,
}

/// One browser: its cookies, and the last page it was given.
#[derive(Default)]
struct Browser {
    cookies: HashMap<String, String>,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Answer {
    /// The first form's CSRF token on the page.
    fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").expect("a form with a token") + 19;
        self.body[start..].split('"').next().expect("a token").to_owned()
    }
}

impl Harness {
    async fn new() -> Harness {
        let store = SqliteStore::in_memory().expect("store");
        let clock = Arc::new(ManualClock::at(base_time()));
        let deps = crate::testkit::deps(store, clock.clone());
        let tenant = app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        Harness { router: crate::api::router(deps.clone()), deps, tenant, clock }
    }

    async fn member(&self, tenant: &TenantId, email: &str, role: Role) {
        let new = NewMember { email, name: "", role, password: Some(PASSWORD) };
        add_member(&self.deps, tenant, &Actor::Operator, new).await.expect("member");
    }

    async fn tracking(&self, tenant: &TenantId, slug: &str, number: &str, order: &str) -> ShipmentId {
        let details = ShipmentDetails { order_number: Some(order.to_owned()), ..ShipmentDetails::default() };
        let new = NewTracking {
            slug: Some(Slug::parse(slug).expect("slug")),
            tracking_number: TrackingNumber::parse(number).expect("number"),
            details,
            last_mile: None,
        };
        app::create_tracking(&self.deps, tenant, new).await.expect("tracking").id
    }

    async fn send(&self, browser: &mut Browser, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let cookies: Vec<String> = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = Request::builder().method(method).uri(path).header(header::COOKIE, cookies.join("; "));
        let body = match form {
            Some(fields) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("response");
        let status = response.status();
        let location = response.headers().get(header::LOCATION).map(|v| v.to_str().expect("ascii").to_owned());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect();
        for cookie in &set_cookies {
            let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (name, value) = pair.split_once('=').expect("a cookie");
            if value.is_empty() {
                browser.cookies.remove(name);
            } else {
                browser.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, location, set_cookies, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn get(&self, browser: &mut Browser, path: &str) -> Answer {
        self.send(browser, Method::GET, path, None).await
    }

    async fn post(&self, browser: &mut Browser, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(browser, Method::POST, path, Some(form)).await
    }

    /// A browser signed in as `email`.
    async fn signed_in(&self, email: &str) -> Browser {
        let mut browser = Browser::default();
        let form = self.get(&mut browser, "/console/sign-in").await;
        let token = form.csrf();
        let answer = self
            .post(&mut browser, "/console/sign-in", &[("csrf", &token), ("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        browser
    }
}

#[tokio::test]
async fn signing_in_opens_the_console_and_signing_out_closes_it() {
    let h = Harness::new().await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    let mut browser = Browser::default();
    let away = h.get(&mut browser, "/console/shipments?tag=Delivered").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location.as_deref(), Some("/console/sign-in?next=%2Fconsole%2Fshipments%3Ftag%3DDelivered"));

    let form = h.get(&mut browser, "/console/sign-in").await;
    assert!(form.set_cookies[0].contains("HttpOnly; Secure; SameSite=Strict"), "{:?}", form.set_cookies);
    let token = form.csrf();
    let forged = h
        .post(
            &mut browser,
            "/console/sign-in",
            &[("csrf", "0123"), ("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = h
        .post(&mut browser, "/console/sign-in", &[("csrf", &token), ("email", "ana@example.com"), ("password", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The email address or password is not right."));
    let path = "/console/sign-in?next=%2Fconsole%2Fshipments%3Ftag%3DDelivered";
    let right =
        h.post(&mut browser, path, &[("csrf", &token), ("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location.as_deref(), Some("/console/shipments?tag=Delivered"));
    let session = right.set_cookies.iter().find(|c| c.starts_with("pl_console=")).expect("a session cookie");
    assert!(session.contains("Path=/console") && session.contains("HttpOnly; Secure; SameSite=Lax"), "{session}");

    let list = h.get(&mut browser, "/console/shipments").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("1Z999AA10123456784"));
    assert!(list.body.contains("ana@example.com"));
    let csp = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"];
    let answer = h.router.clone().oneshot(Request::get("/console/sign-in").body(Body::empty()).expect("request"));
    let headers = answer.await.expect("response").headers().clone();
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.iter().all(|part| policy.contains(part)), "{policy}");

    let token = list.csrf();
    let out = h.post(&mut browser, "/console/sign-out", &[("csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    browser.cookies.insert("pl_console".into(), session["pl_console=".len()..].split(';').next().expect("v").into());
    assert_eq!(h.get(&mut browser, "/console/shipments").await.status, StatusCode::SEE_OTHER, "the old cookie is dead");
}

#[tokio::test]
async fn a_viewer_has_no_edit_controls_and_its_forged_posts_change_nothing() {
    let h = Harness::new().await;
    h.member(&h.tenant, "vic@example.com", Role::Viewer).await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    let id = h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    let page = format!("/console/shipments/{id}");

    let mut viewer = h.signed_in("vic@example.com").await;
    let seen = h.get(&mut viewer, &page).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("1Z999AA10123456784"));
    for control in ["Retrack now", "Mark completed", "Save tags and note"] {
        assert!(!seen.body.contains(control), "a viewer is not offered {control:?}");
    }
    let list = h.get(&mut viewer, "/console/shipments").await;
    assert!(!list.body.contains("Add a tracking"));
    let token = seen.csrf();
    for (path, form) in [
        (format!("{page}/retrack"), vec![("csrf", token.as_str())]),
        (format!("{page}/labels"), vec![("csrf", token.as_str()), ("tags", "vip")]),
        (format!("{page}/complete"), vec![("csrf", token.as_str()), ("reason", "lost")]),
        ("/console/shipments".to_owned(), vec![("csrf", token.as_str()), ("tracking_number", "449044304137821")]),
        ("/console/team".to_owned(), vec![("csrf", token.as_str()), ("email", "x@example.com"), ("role", "owner")]),
    ] {
        let answer = h.post(&mut viewer, &path, &form).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
    let unchanged = app::get_tracking(&h.deps, &h.tenant, &id).await.expect("tracking");
    assert_eq!((unchanged.retracked_at, unchanged.completed), (None, None));
    assert!(unchanged.details.shipment_tags.is_empty());
    assert_eq!(app::list_trackings(&h.deps, &h.tenant, &Default::default()).await.expect("list").total, 1);

    let mut agent = h.signed_in("ana@example.com").await;
    let theirs = h.get(&mut agent, &page).await;
    assert!(theirs.body.contains("Retrack now"));
    let stolen = h.post(&mut agent, &format!("{page}/labels"), &[("csrf", &token), ("tags", "vip")]).await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN, "another session's token does not do");
    let token = theirs.csrf();
    let done = h
        .post(&mut agent, &format!("{page}/labels"), &[("csrf", &token), ("tags", "vip, late"), ("note", "called")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let labelled = app::get_tracking(&h.deps, &h.tenant, &id).await.expect("tracking");
    assert_eq!(labelled.details.shipment_tags, ["vip", "late"]);
    assert_eq!(labelled.details.note.as_deref(), Some("called"));
    let (log, _) = app::team::audit_log(&h.deps, &h.tenant, None, 10).await.expect("log");
    assert!(log.iter().any(|e| (e.actor.as_str(), e.action.as_str()) == ("ana@example.com", "shipment.labelled")));
    assert!(!log.iter().any(|e| e.actor == "vic@example.com"), "refused posts change nothing, the log neither");
}

#[tokio::test]
async fn a_member_never_reaches_another_merchants_shipments() {
    let h = Harness::new().await;
    let other = app::create_tenant(&h.deps, "Other").await.expect("tenant").0.id;
    h.member(&other, "bo@example.com", Role::Owner).await;
    let theirs = h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    let mut bo = h.signed_in("bo@example.com").await;
    let list = h.get(&mut bo, "/console/shipments").await;
    assert!(!list.body.contains("1Z999AA10123456784"));
    assert_eq!(h.get(&mut bo, &format!("/console/shipments/{theirs}")).await.status, StatusCode::NOT_FOUND);
    let token = list.csrf();
    let answer = h.post(&mut bo, &format!("/console/shipments/{theirs}/retrack"), &[("csrf", &token)]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(app::get_tracking(&h.deps, &h.tenant, &theirs).await.expect("tracking").retracked_at, None);
    let csv = h.get(&mut bo, "/console/shipments.csv").await;
    assert!(!csv.body.contains("1Z999AA10123456784"));
}

#[tokio::test]
async fn filters_narrow_the_list_and_the_csv_of_the_view() {
    let h = Harness::new().await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    h.tracking(&h.tenant, "fedex", "449044304137821", "#1002").await;
    let mut ana = h.signed_in("ana@example.com").await;
    let ups = h.get(&mut ana, "/console/shipments?slug=ups&tag=Pending").await;
    assert!(ups.body.contains("1Z999AA10123456784") && !ups.body.contains("449044304137821"));
    assert!(ups.body.contains("1 shipment<"), "the count");
    let searched = h.get(&mut ana, "/console/shipments?q=%231002").await;
    assert!(searched.body.contains("449044304137821") && !searched.body.contains("1Z999AA10123456784"));
    let csv = h.get(&mut ana, "/console/shipments.csv?slug=fedex").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 2, "the header and the one FedEx tracking: {}", csv.body);
    assert_eq!(h.get(&mut ana, "/console/shipments?destination=us").await.status, StatusCode::OK, "alpha-2 too");
    let pending = h.get(&mut ana, "/console/shipments?subtag=Pending_001").await;
    assert!(pending.body.contains("2 shipments<"), "both wait for their first news");
    let none = h.get(&mut ana, "/console/shipments?subtag=Delivered_001").await;
    assert!(none.body.contains("0 shipments<"));
    let bad = h.get(&mut ana, "/console/shipments?destination=Narnia").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("To country must be a country code"));

    let token = ups.csrf();
    h.clock.advance(chrono::Duration::minutes(1));
    let added = h
        .post(&mut ana, "/console/shipments", &[("csrf", &token), ("tracking_number", "9400111899223100000000")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = h.get(&mut ana, added.location.as_deref().expect("to the new shipment")).await;
    assert!(page.body.contains("USPS 9400111899223100000000"), "the carrier detected as typed");
    let refused = h.post(&mut ana, "/console/shipments", &[("csrf", &token), ("tracking_number", "??")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("The tracking was not added"));

    let by_hand = h.get(&mut ana, "/console/shipments?channel=console").await;
    assert!(by_hand.body.contains("1 shipment<") && by_hand.body.contains("9400111899223100000000"));
    let by_api = h.get(&mut ana, "/console/shipments?channel=api").await;
    assert!(by_api.body.contains("2 shipments<") && !by_api.body.contains("9400111899223100000000"));
    let position = |body: &str, number: &str| body.find(number).expect("listed");
    let newest = h.get(&mut ana, "/console/shipments").await.body;
    let oldest = h.get(&mut ana, "/console/shipments?sort=oldest").await.body;
    let (usps, ups) = ("9400111899223100000000", "1Z999AA10123456784");
    assert!(position(&newest, usps) < position(&newest, ups), "added last, listed first");
    assert!(position(&oldest, usps) > position(&oldest, ups), "and last when the oldest come first");
    assert!(oldest.contains("<option value=\"oldest\" selected>"), "the order is kept in the form");
    let unknown = h.get(&mut ana, "/console/shipments?sort=sideways").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("The order was not one the list offers"));
}

#[tokio::test]
async fn an_invitation_from_the_team_page_and_the_roles_it_may_give() {
    let h = Harness::new().await;
    h.member(&h.tenant, "owner@example.com", Role::Owner).await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    let mut admin = h.signed_in("adm@example.com").await;
    let team = h.get(&mut admin, "/console/team").await;
    assert!(team.body.contains("Send the invitation"));
    assert!(!team.body.contains("<option value=\"owner\""), "admins do not give the owner role");
    let token = team.csrf();
    let invited =
        h.post(&mut admin, "/console/team", &[("csrf", &token), ("email", "new@example.com"), ("role", "agent")]).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    let new = app::team::find_member(&h.deps, &h.tenant, "new@example.com").await.expect("invited");
    assert_eq!(new.role, Role::Agent);
    let owner = app::team::find_member(&h.deps, &h.tenant, "owner@example.com").await.expect("owner");
    let removal = h.post(&mut admin, &format!("/console/team/{}/remove", owner.id), &[("csrf", &token)]).await;
    assert_eq!(removal.status, StatusCode::FORBIDDEN);
    assert!(app::team::find_member(&h.deps, &h.tenant, "owner@example.com").await.is_ok());
    let log = h.get(&mut admin, "/console/audit").await;
    assert!(log.body.contains("member.invited"));
}

/// A UPS parcel of `tenant` with a carrier exception, and its case opened by the default rules.
async fn exception(h: &Harness, tenant: &TenantId, number: &str) -> String {
    use crate::domain::{CheckpointInput, CheckpointSource, EventTime, Subtag};
    let id = h.tracking(tenant, "ups", number, "#1001").await;
    let mut shipment = h.deps.shipments.get(tenant, &id).await.expect("read").expect("there");
    let input = CheckpointInput::new(
        shipment.slug.clone(),
        shipment.tracking_number.clone(),
        EventTime::from_utc(base_time()),
        Subtag::parse("Exception_011").expect("code"),
        "Damaged",
        CheckpointSource::Carrier,
    );
    shipment.merge([input], base_time());
    h.deps.shipments.update(&shipment).await.expect("updated");
    let shipment = h.deps.shipments.get(tenant, &id).await.expect("read").expect("there");
    app::exceptions::evaluate(&h.deps, h.deps.ledger.as_ref(), &shipment, false, false).await.expect("evaluated");
    let cases = app::exceptions::open_cases_of(&h.deps, &shipment).await.expect("cases");
    cases[0].id.clone()
}

#[tokio::test]
async fn the_exceptions_queue_counts_resolves_in_bulk_and_keeps_tenants_apart() {
    let h = Harness::new().await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    h.member(&h.tenant, "vic@example.com", Role::Viewer).await;
    let first = exception(&h, &h.tenant, "1Z999AA10123456784").await;
    let second = exception(&h, &h.tenant, "1Z12345E0205271688").await;
    let calm = h.tracking(&h.tenant, "fedex", "449044304137821", "#1003").await;
    let mut ana = h.signed_in("ana@example.com").await;
    let open = h.get(&mut ana, "/console/shipments?exception=open").await;
    assert!(open.body.contains("2 shipments<") && !open.body.contains(calm.as_str()), "{}", open.body);
    let open_csv = h.get(&mut ana, "/console/shipments.csv?exception=open").await;
    assert_eq!(open_csv.body.lines().count(), 3, "the header and the two cases' shipments");
    let queue = h.get(&mut ana, "/console/exceptions").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("<span class=\"big\">2</span><span>Carrier exception</span>"), "{}", queue.body);
    let page = h.get(&mut ana, &format!("/console/exceptions/{first}")).await;
    assert!(page.body.contains("What to do"));
    let token = page.csrf();
    let noted = h
        .post(
            &mut ana,
            &format!("/console/exceptions/{first}"),
            &[("csrf", &token), ("action", "note"), ("note", "Called UPS")],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    let bulk = h
        .post(
            &mut ana,
            "/console/exceptions/bulk",
            &[("csrf", &token), ("case", &first), ("case", &second), ("action", "resolve")],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::SEE_OTHER);
    for id in [&first, &second] {
        let case = app::exceptions::get_case(&h.deps, &h.tenant, id).await.expect("case");
        assert_eq!(case.state, crate::domain::CaseState::Resolved);
    }
    let case = app::exceptions::get_case(&h.deps, &h.tenant, &first).await.expect("case");
    assert_eq!((case.notes[0].text.as_str(), case.notes[0].author.as_deref()), ("Called UPS", Some("ana@example.com")));
    let now_empty = h.get(&mut ana, "/console/exceptions").await;
    assert!(now_empty.body.contains("Nothing open"));
    assert!(h.get(&mut ana, "/console/shipments?exception=open").await.body.contains("0 shipments<"));
    assert!(h.get(&mut ana, "/console/shipments?exception=resolved").await.body.contains("2 shipments<"));

    let mut vic = h.signed_in("vic@example.com").await;
    let seen = h.get(&mut vic, &format!("/console/exceptions/{first}")).await;
    assert!(!seen.body.contains("Handle it"));
    let token = seen.csrf();
    let forged =
        h.post(&mut vic, &format!("/console/exceptions/{first}"), &[("csrf", &token), ("action", "reopen")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let other = app::create_tenant(&h.deps, "Other").await.expect("tenant").0.id;
    h.member(&other, "bo@example.com", Role::Owner).await;
    let mut bo = h.signed_in("bo@example.com").await;
    assert_eq!(h.get(&mut bo, &format!("/console/exceptions/{first}")).await.status, StatusCode::NOT_FOUND);
    let token = h.get(&mut bo, "/console/exceptions").await.csrf();
    let reached =
        h.post(&mut bo, "/console/exceptions/bulk", &[("csrf", &token), ("case", &first), ("action", "reopen")]).await;
    assert_eq!(reached.status, StatusCode::SEE_OTHER, "other merchants' ids are left alone");
    let case = app::exceptions::get_case(&h.deps, &h.tenant, &first).await.expect("case");
    assert_eq!(case.state, crate::domain::CaseState::Resolved, "unchanged");
}

#[tokio::test]
async fn admins_trial_a_notification_rule_and_make_keys_shown_once() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    h.member(&h.tenant, "vic@example.com", Role::Viewer).await;
    let (rules, _) = app::notification_rules::notification_rules(&h.deps, &h.tenant).await.expect("rules");
    let rule = rules.rules[0].id.clone();
    let path = format!("/console/notifications/rules/{rule}");

    let mut vic = h.signed_in("vic@example.com").await;
    let page = h.get(&mut vic, "/console/notifications").await;
    assert!(page.body.contains("<fieldset disabled>"), "a viewer reads the rules");
    let token = page.csrf();
    let forged = h.post(&mut vic, &path, &[("csrf", &token), ("enabled", "yes"), ("scope_tags", "vip")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let keys = h.post(&mut vic, "/console/settings/api-keys", &[("csrf", &token)]).await;
    assert_eq!(keys.status, StatusCode::FORBIDDEN);
    let test_path = "/console/notifications/delivered/en/test";
    let forged_test = h.post(&mut vic, test_path, &[("csrf", &token), ("channel", "email")]).await;
    assert_eq!(forged_test.status, StatusCode::FORBIDDEN);

    let mut adm = h.signed_in("adm@example.com").await;
    let token = h.get(&mut adm, "/console/notifications").await.csrf();
    let form = [
        ("csrf", token.as_str()),
        ("enabled", "yes"),
        ("email", "yes"),
        ("delay_minutes", "30"),
        ("scope_slugs", "ups, dhl"),
        ("scope_countries", "de"),
        ("scope_tags", "vip"),
    ];
    let saved = h.post(&mut adm, &path, &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let changed = app::notification_rules::get_rule(&h.deps, &h.tenant, &rule).await.expect("rule");
    assert_eq!(changed.delay_minutes, 30);
    assert_eq!(changed.scope.slugs.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["ups", "dhl"]);
    assert_eq!(changed.scope.destination_countries[0].as_str(), "DEU");
    assert_eq!(changed.scope.shipment_tags, ["vip"]);
    let bad = h.post(&mut adm, &path, &[("csrf", &token), ("scope_countries", "Narnia")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let test_sent = h.post(&mut adm, test_path, &[("csrf", &token), ("channel", "email")]).await;
    assert_eq!(test_sent.status, StatusCode::SEE_OTHER);
    assert!(test_sent.location.as_deref().is_some_and(|l| l.contains("notice=test_sent")));
    let sample = crate::domain::ShipmentId::parse(app::notifications::SAMPLE_ID).expect("id");
    let planned = h.deps.ledger.shipment_messages(&h.tenant, &sample).await.expect("ledger");
    assert_eq!(planned.iter().map(|e| (e.test, e.recipient.as_str())).collect::<Vec<_>>(), [(true, "adm@example.com")]);
    assert!(forged_test.body.contains("Not allowed"), "and the viewer's sent nothing");
    let bad_phone = h.post(&mut adm, test_path, &[("csrf", &token), ("channel", "sms"), ("phone", "12")]).await;
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_phone.body.contains("No test sent"));

    let made = h.post(&mut adm, "/console/settings/api-keys", &[("csrf", &token)]).await;
    assert_eq!(made.status, StatusCode::OK, "shown on the answer, not in a redirect");
    let start = made.body.find("plk_").expect("the new key");
    let key = &made.body[start..start + 52];
    assert_eq!(app::authenticate(&h.deps, Some(key)).await.expect("a working key"), h.tenant);
    let again = h.get(&mut adm, "/console/settings").await;
    assert!(!again.body.contains(key), "shown once");
}

#[tokio::test]
async fn saved_views_are_the_teams_and_a_viewer_only_uses_them() {
    let h = Harness::new().await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    h.member(&h.tenant, "vic@example.com", Role::Viewer).await;
    h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    let mut ana = h.signed_in("ana@example.com").await;
    let list = h.get(&mut ana, "/console/shipments?slug=ups").await;
    assert!(list.body.contains("Save the view"));
    let token = list.csrf();
    let saved = h
        .post(
            &mut ana,
            "/console/shipments/views",
            &[("csrf", &token), ("name", "UPS parcels"), ("query", "?slug=ups")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location.as_deref(), Some("/console/shipments?slug=ups&notice=view_saved"));
    let bad = h
        .post(
            &mut ana,
            "/console/shipments/views",
            &[("csrf", &token), ("name", "x"), ("query", "https://evil.example")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut vic = h.signed_in("vic@example.com").await;
    let seen = h.get(&mut vic, "/console/shipments").await;
    assert!(seen.body.contains("href=\"/console/shipments?slug=ups\">UPS parcels</a>"), "the team's view");
    assert!(!seen.body.contains("Forget"), "a viewer does not change views");
    let token = seen.csrf();
    let forged =
        h.post(&mut vic, "/console/shipments/views/delete", &[("csrf", &token), ("name", "UPS parcels")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app::team::views::saved_views(&h.deps, &h.tenant).await.expect("views").len(), 1);
}

#[tokio::test]
async fn admins_change_the_return_policy_and_bad_values_change_nothing() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    let before = app::returns::return_policy(&h.deps, &h.tenant).await.expect("policy");
    let mut ana = h.signed_in("ana@example.com").await;
    let page = h.get(&mut ana, "/console/returns/policy").await;
    assert!(page.body.contains("<fieldset disabled>") && !page.body.contains("Save the policy"));
    let token = page.csrf();
    let forged = h.post(&mut ana, "/console/returns/policy", &[("csrf", &token), ("window_days", "365")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut adm = h.signed_in("adm@example.com").await;
    let token = h.get(&mut adm, "/console/returns/policy").await.csrf();
    let form = [
        ("csrf", token.as_str()),
        ("window_days", "45"),
        ("window_from", "delivery"),
        ("approved_expiry_days", "20"),
        ("excluded_tags", "final-sale, gift-card"),
        ("resolutions", "refund"),
        ("resolutions", "store_credit"),
        ("store_credit_bonus_percent", "10"),
        ("methods", "customer_courier"),
        ("flagged_emails", "fraud@example.com\n"),
    ];
    let saved = h.post(&mut adm, "/console/returns/policy", &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let after = app::returns::return_policy(&h.deps, &h.tenant).await.expect("policy");
    assert_eq!((after.window_days, after.approved_expiry_days, after.store_credit_bonus_percent), (45, 20, 10));
    assert_eq!(after.excluded_tags, ["final-sale", "gift-card"]);
    assert_eq!(after.flagged_emails, ["fraud@example.com"]);
    assert_eq!(after.reasons, before.reasons, "reasons stay as they were when the form has none");

    let mut full = form.to_vec();
    let kept = &before.reasons[0];
    full.extend([
        ("reasons.0.label", kept.label.as_str()),
        ("reasons.0.id", kept.id.as_str()),
        ("reasons.1.label", "Arrived too late"),
        ("reasons.1.id", ""),
        ("reasons.1.requires_comment", "yes"),
        ("reasons.1.min_photos", "1"),
        ("reasons.1.resolutions", "refund"),
        ("reasons.2.label", ""),
        ("fees.0.method", "customer_courier"),
        ("fees.0.fee_minor", "495"),
        ("fees.0.countries", "de, FRA"),
        ("fees.1.method", "drop_off"),
        ("fees.1.fee_minor", ""),
        ("auto_approve.on", "yes"),
        ("auto_approve.max_total_minor", "5000"),
        ("auto_approve.reasons", "arrived_too_late"),
        ("auto_approve.unflagged_only", "yes"),
        ("auto_reject.max_total_minor", ""),
    ]);
    let saved = h.post(&mut adm, "/console/returns/policy", &full).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let after = app::returns::return_policy(&h.deps, &h.tenant).await.expect("policy");
    let labels: Vec<&str> = after.reasons.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, [kept.label.as_str(), "Arrived too late"], "the rows kept, the empty one dropped");
    let late = &after.reasons[1];
    assert_eq!((late.id.as_str(), late.requires_comment, late.min_photos), ("arrived_too_late", true, 1));
    assert_eq!(after.fees.len(), 1);
    assert_eq!(
        (after.fees[0].fee_minor, after.fees[0].countries.clone()),
        (495, vec!["DEU".to_owned(), "FRA".to_owned()])
    );
    let auto = after.auto_approve.clone().expect("on");
    assert_eq!((auto.max_total_minor, auto.unflagged_customers_only), (Some(5000), true));
    assert_eq!(after.auto_reject, None);
    let editor = h.get(&mut adm, "/console/returns/policy").await;
    assert!(editor.body.contains("value=\"Arrived too late\"") && editor.body.contains("Remove this reason"));
    let mut removal = full.clone();
    removal.push(("reasons.1.remove", "yes"));
    assert_eq!(h.post(&mut adm, "/console/returns/policy", &removal).await.status, StatusCode::SEE_OTHER);
    let after = app::returns::return_policy(&h.deps, &h.tenant).await.expect("policy");
    assert_eq!(after.reasons.len(), 1, "ticked remove drops the reason");
    let bad = h
        .post(
            &mut adm,
            "/console/returns/policy",
            &[("csrf", &token), ("window_days", "0"), ("window_from", "delivery")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app::returns::return_policy(&h.deps, &h.tenant).await.expect("policy").window_days, 45);
}

mod details;
mod integrations;
mod isolation;
mod rules;
