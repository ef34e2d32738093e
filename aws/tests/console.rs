//! The merchant console on the AWS adapters, against the moto emulator: the `console`
//! function's router on API Gateway events (cookies in the event's `cookies`), members,
//! sessions and the audit log in DynamoDB; an agent signs in, lists, opens and tags a
//! shipment; a viewer's forged post changes nothing; an admin adds a tracking by hand and finds
//! it by channel, adds a webhook endpoint and reads a delivery on the shipment's page (GSI2),
//! writes an exception rule and sends a test notification.

use porchlight::app::team::{Actor, NewMember, add_member};
use porchlight::domain::{Role, TenantId};
use serde_json::{Value, json};

#[path = "../examples/support/mod.rs"]
mod support;

const PASSWORD: &str = "correct horse battery";

/// What the function answered.
struct Answer {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

impl Answer {
    fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").expect("a form with a token") + 19;
        self.body[start..].split('"').next().expect("a token").to_owned()
    }
}

/// The sample console event as `method path` with `cookies` and a form `body`.
fn event(method: &str, path_and_query: &str, cookies: &[String], body: Option<&str>) -> Value {
    let mut event = support::sample("console.json").expect("sample");
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"] = json!({ "proxy": path.trim_start_matches("/console/") });
    event["cookies"] = json!(cookies);
    event["body"] = body.map_or(Value::Null, Into::into);
    event
}

async fn call(runtime: &porchlight_aws::Runtime, event: &Value) -> Answer {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = porchlight_aws::console_router(runtime.deps.clone()).oneshot(request).await.expect("infallible");
    let headers = response.headers().clone();
    let cookies = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Answer { status, location, cookies, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// Signs `email` in through the forms; the session cookie (`pl_console=...`).
async fn sign_in(runtime: &porchlight_aws::Runtime, email: &str) -> String {
    let form = call(runtime, &event("GET", "/console/sign-in", &[], None)).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = form.csrf();
    let body = format!("csrf={token}&email={}&password={}", email.replace('@', "%40"), PASSWORD.replace(' ', "+"));
    let signed = call(runtime, &event("POST", "/console/sign-in", &form.cookies, Some(&body))).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    signed.cookies.into_iter().find(|c| c.starts_with("pl_console=")).expect("a session cookie")
}

async fn member(runtime: &porchlight_aws::Runtime, tenant: &TenantId, email: &str, role: Role) {
    let new = NewMember { email, name: "", role, password: Some(PASSWORD) };
    add_member(&runtime.deps, tenant, &Actor::Operator, new).await.expect("member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_lists_opens_and_tags_on_dynamodb() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _config) = support::runtime_with_bucket("porchlight-console", &[]).await;
    let sample = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &sample).await.expect("merchant");
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (agent, viewer) = (format!("agent-{suffix}@example.com"), format!("viewer-{suffix}@example.com"));
    member(&runtime, &tenant, &agent, Role::Agent).await;
    member(&runtime, &tenant, &viewer, Role::Viewer).await;
    let body = json!({"slug": "ups", "tracking_number": "1Z999AA10123456784", "order_number": "#1001"});
    let api = porchlight_aws::api_router(runtime.deps.clone());
    let (status, created) =
        support::call(api, &support::api_event("POST", "/tracking/2026-07/trackings", Some(&body))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();

    let session = sign_in(&runtime, &agent).await;
    let list = call(&runtime, &event("GET", "/console/shipments?slug=ups", std::slice::from_ref(&session), None)).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("1Z999AA10123456784") && list.body.contains("1 shipment<"), "{}", list.body);
    let page = format!("/console/shipments/{id}");
    let detail = call(&runtime, &event("GET", &page, std::slice::from_ref(&session), None)).await;
    assert_eq!(detail.status, 200);
    let form = format!("csrf={}&tags=vip&note=called", detail.csrf());
    let tagged =
        call(&runtime, &event("POST", &format!("{page}/labels"), std::slice::from_ref(&session), Some(&form))).await;
    assert_eq!(tagged.status, 303, "{}", tagged.body);
    assert_eq!(tagged.location.as_deref(), Some(format!("{page}?notice=labels").as_str()));
    let stored = runtime.deps.shipments.get(&tenant, &porchlight::domain::ShipmentId::parse(&id).expect("id")).await;
    assert_eq!(stored.expect("read").expect("there").details.shipment_tags, ["vip"]);

    let watcher = sign_in(&runtime, &viewer).await;
    let seen = call(&runtime, &event("GET", &page, std::slice::from_ref(&watcher), None)).await;
    assert!(!seen.body.contains("Save tags and note"));
    let forged = format!("csrf={}&tags=forged", seen.csrf());
    let refused = call(&runtime, &event("POST", &format!("{page}/labels"), &[watcher], Some(&forged))).await;
    assert_eq!(refused.status, 403);
    let (log, _) = porchlight::app::team::audit_log(&runtime.deps, &tenant, None, 20).await.expect("log");
    assert!(log.iter().any(|e| e.actor == agent && e.action == "shipment.labelled"));
    assert!(!log.iter().any(|e| e.actor == viewer && e.action.starts_with("shipment.")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_configures_and_reads_the_new_pages_on_dynamodb() {
    use porchlight::domain::{ShipmentId, WebhookEvent};
    use porchlight::ports::{Delivery, WebhookEventRecord};
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let (runtime, _config) = support::runtime_with_bucket("porchlight-console-admin", &[]).await;
    let sample = support::sample("api.json").expect("sample");
    let tenant = support::add_merchant(&runtime, &sample).await.expect("merchant");
    let admin = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
    member(&runtime, &tenant, &admin, Role::Admin).await;
    let session = sign_in(&runtime, &admin).await;
    let cookies = std::slice::from_ref(&session);
    let get = |path: String| {
        let runtime = &runtime;
        async move { call(runtime, &event("GET", &path, cookies, None)).await }
    };
    let token = get("/console/settings".into()).await.csrf();
    let post = |path: &'static str, form: String| {
        let runtime = &runtime;
        async move { call(runtime, &event("POST", path, cookies, Some(&form))).await }
    };

    let added = post("/console/shipments", format!("csrf={token}&tracking_number=1Z999AA10123456784")).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let by_hand = get("/console/shipments?channel=console&sort=updated".into()).await;
    assert!(by_hand.body.contains("1 shipment<"), "the source is kept on DynamoDB: {}", by_hand.body);
    assert!(get("/console/shipments?channel=api".into()).await.body.contains("0 shipments<"));
    assert!(get("/console/shipments?exception=open".into()).await.body.contains("0 shipments<"));
    let page = added.location.expect("to the shipment");
    let id = page.trim_start_matches("/console/shipments/").split('?').next().expect("id").to_owned();

    let endpoint = post(
        "/console/settings/webhooks",
        format!("csrf={token}&url=https%3A%2F%2Fhooks.example.com%2Fx&events=tracking_update"),
    )
    .await;
    assert_eq!(endpoint.status, 200, "{}", endpoint.body);
    let endpoint_id =
        porchlight::app::webhooks::list_endpoints(&runtime.deps, &tenant).await.expect("endpoints")[0].id.clone();
    let record = WebhookEventRecord {
        tenant_id: tenant.clone(),
        event_id: uuid::Uuid::new_v4().to_string(),
        event: WebhookEvent::TrackingUpdate,
        at: chrono::Utc::now(),
        subject: ShipmentId::parse(&id).expect("id").to_string(),
        body: b"{}".to_vec(),
    };
    runtime.deps.webhooks.record_event(&record).await.expect("kept");
    runtime.deps.webhooks.plan_delivery(&Delivery::new(&record, &endpoint_id, "", record.at)).await.expect("planned");
    let detail = get(format!("/console/shipments/{id}")).await;
    assert!(detail.body.contains(&format!("/console/settings/webhooks/{endpoint_id}")), "{}", detail.body);
    assert!(detail.body.contains(">pending<"), "the delivery found through GSI2");

    let rule =
        "csrf={token}&name=Two+misses&reason=Call&severity=high&enabled=yes&condition=failed_attempts&at_least=2";
    let written = post("/console/exceptions/rules/new", rule.replace("{token}", &token)).await;
    assert_eq!(written.status, 303, "{}", written.body);
    let (rules, _) = porchlight::app::exceptions::exception_rules(&runtime.deps, &tenant).await.expect("rules");
    assert!(rules.rules.iter().any(|r| r.name == "Two misses"));
    let tested =
        post("/console/notifications/delivered/en/test", format!("csrf={token}&channel=email&tracking_id={id}")).await;
    assert_eq!(tested.status, 303, "{}", tested.body);
    let shipment = ShipmentId::parse(&id).expect("id");
    let planned = runtime.deps.ledger.shipment_messages(&tenant, &shipment).await.expect("ledger");
    assert!(planned.iter().any(|e| e.test && e.recipient == admin), "the test flag is kept on DynamoDB");
}
