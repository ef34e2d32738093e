//! Tenant isolation, proven over every route: merchant A gets one resource of every kind the
//! merchant APIs address by id (a tracking, a courier connection, notification and exception
//! rules, an order, a suppression, a webhook endpoint and one of its deliveries, an exception
//! case, a return by id and by RMA number, an import job, a report, a storefront connector);
//! then merchant B's key calls every operation of `/openapi.json` under the merchant APIs with
//! A's ids in its path. Every answer must be a 404, and everything A has reads back unchanged.
//! B's listings, given A's cursors, show nothing of A's.
//!
//! The operations come from the OpenAPI document, which `api/tests/route_table.rs` proves holds
//! every route the routers register: a route added with an id of a new kind fails here until
//! the matrix gives A such a resource. The same matrix runs on SQLite (`api/tests/isolation.rs`)
//! and on DynamoDB against moto (`aws/tests/isolation.rs`).

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

use crate::app::{self, Deps, NewTracking, imports::HistoryFormat};
use crate::domain::{
    CheckpointInput, CheckpointSource, EventTime, ShipmentDetails, Slug, Subtag, TenantId, TrackingNumber, WebhookEvent,
};
use crate::ports::{Delivery, WebhookEventRecord};

/// Path parameters that name the caller's own settings, not a resource: B writing them changes
/// only B's.
const OWN_SETTINGS: [&str; 2] = ["{trigger}", "{language}"];

/// A valid body for the operations that check theirs before looking the resource up, by the
/// path's last segment: B's well-formed request must still find nothing.
fn valid_body(path: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    let items = json!([{"external_id": "l1", "quantity": 1}]);
    match path.rsplit('/').next().unwrap_or_default() {
        "replay" => json!({"from": (now - Duration::days(1)).to_rfc3339()}),
        "attach-shipments" => json!({"shipments": [{"tracking_number": "1Z999AA10123456784", "slug": "ups",
            "label": {"url": "https://labels.example.com/1.pdf"}}]}),
        "receive-items" => json!({"items": items}),
        "remove-items" => json!({"items": items, "edit_reason": "asked", "notify_customer": false}),
        "reject" => json!({"reject_reason": "outside the policy"}),
        "mark-as-completed" => json!({"reason": "DELIVERED"}),
        _ if path.contains("/courier-connections/") => {
            json!({"credentials": {"client_id": "b-id", "client_secret": "b-secret"}})
        }
        _ => json!({}),
    }
}

/// The API prefixes a merchant's key opens.
const MERCHANT_APIS: [&str; 3] = ["/tracking/2026-07/", "/returns/2026-07/", "/porchlight/v1/"];

/// Calls the API: key, method, path, JSON body; the status and the JSON answer (`null` when not
/// JSON).
pub trait Caller {
    /// One request.
    fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = (StatusCode, Value)> + Send;
}

/// Where each kind of A's resources appears in a path: the fragment (with its parameter) and
/// the kind. Console pages address the same resources.
const PLACES: [(&str, &str); 27] = [
    ("/trackings/{id}", "tracking"),
    ("/courier-connections/{id}", "connection"),
    ("/notification-rules/{id}", "notification_rule"),
    ("/exception-rules/{id}", "exception_rule"),
    ("/orders/{id}", "order"),
    ("/suppressions/{id}", "suppression"),
    ("/webhooks/{id}", "endpoint"),
    ("/deliveries/{delivery_id}", "delivery"),
    ("/exceptions/{id}", "case"),
    ("/returns/{return_id}", "return"),
    ("/rma/{rma_number}", "rma"),
    ("/imports/{id}", "import"),
    ("/reports/{id}", "report"),
    ("/reports/{id}/{file}", "report_file"),
    ("/connectors/{id}", "connector"),
    ("/console/shipments/{id}", "tracking"),
    ("/console/exceptions/rules/{id}", "exception_rule"),
    ("/console/returns/{id}", "return"),
    ("/console/returns/{id}/{action}", "return_action"),
    ("/console/notifications/rules/{id}", "notification_rule"),
    ("/console/settings/api-keys/{id}", "api_key"),
    ("/deliveries/{delivery}", "delivery"),
    ("/console/settings/webhooks/{id}/{action}", "endpoint_action"),
    ("/console/settings/connectors/{id}", "connector"),
    ("/console/settings/connectors/{id}/{action}", "connector_action"),
    ("/console/settings/carriers/{id}", "connection"),
    ("/console/team/{id}", "member"),
];

/// A router called in process, with the key in `as-api-key`: the caller every runtime's matrix
/// uses. Answers that are not JSON come back as a JSON string.
pub struct RouterCaller(pub axum::Router);

impl Caller for RouterCaller {
    fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = (StatusCode, Value)> + Send {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("as-api-key", key)
            .body(body.map_or(axum::body::Body::empty(), |b| axum::body::Body::from(b.to_string())))
            .expect("a request");
        let router = self.0.clone();
        async move {
            let response = router.oneshot(request).await.expect("routers are infallible");
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("a body").to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into()))
        }
    }
}

/// A's resources, by kind.
struct Resources(BTreeMap<&'static str, String>);

/// Two merchants on one store: A with one resource of every kind, B with nothing.
pub struct Merchants {
    /// Merchant A.
    pub a: TenantId,
    /// A's API key.
    pub a_key: String,
    /// A's key's id.
    pub a_key_id: String,
    /// Merchant B.
    pub b: TenantId,
    /// B's API key.
    pub b_key: String,
    resources: Resources,
}

impl Merchants {
    /// Makes both merchants on `deps` and gives A its resources through `caller`.
    pub async fn new(deps: &Deps, caller: &impl Caller) -> Merchants {
        let (a, a_key) = app::create_tenant(deps, "Merchant A").await.expect("tenant A");
        let (b, b_key) = app::create_tenant(deps, "Merchant B").await.expect("tenant B");
        let resources = seed(deps, caller, &a.id, &a_key.secret).await;
        Merchants { a: a.id, a_key: a_key.secret, a_key_id: a_key.key_id, b: b.id, b_key: b_key.secret, resources }
    }

    /// Records one more of A's resources (`api_key`, `member`) for the console's paths.
    pub fn add(&mut self, kind: &'static str, id: String) {
        self.resources.0.insert(kind, id);
    }

    /// `template` with A's resources in place of its parameters; `Err` names a parameter A
    /// has no resource for.
    pub fn fill(&self, template: &str) -> Result<String, String> {
        fill(template, &self.resources)
    }

    /// Everything A has, as A's key reads it through `caller` (see [`snapshot`]).
    pub async fn snapshot(&self, caller: &impl Caller, document: &Value) -> Vec<(String, Value)> {
        snapshot(caller, &self.a_key, document, &self.resources).await
    }
}

impl Resources {
    /// The value for `{param}` in `template`: the kind of the longest fragment of [`PLACES`]
    /// ending with that parameter that `template` holds.
    fn value(&self, template: &str, param: &str) -> Option<String> {
        let kind = PLACES
            .iter()
            .filter(|(fragment, _)| fragment.ends_with(&format!("{{{param}}}")) && template.contains(fragment))
            .max_by_key(|(fragment, _)| fragment.len())?
            .1;
        match kind {
            "report_file" => Some("report.html".to_owned()),
            "return_action" => Some("approve".to_owned()),
            "endpoint_action" => Some("test".to_owned()),
            "connector_action" => Some("backfill".to_owned()),
            kind => self.0.get(kind).cloned(),
        }
    }
}

pub(crate) fn id_in(answer: &Value) -> String {
    let data = &answer["data"];
    let nested = data.as_object().and_then(|o| o.values().find_map(|v| v["id"].as_str()));
    data["id"].as_str().or(nested).unwrap_or_else(|| panic!("an id in {answer}")).to_owned()
}

pub(crate) async fn made(caller: &impl Caller, key: &str, path: &str, body: Value) -> Value {
    let (status, answer) = caller.call(key, Method::POST, path, Some(body)).await;
    assert!(status.is_success(), "A's {path}: {status} {answer}");
    answer
}

async fn first_listed(caller: &impl Caller, key: &str, path: &str, field: &str) -> String {
    let (status, answer) = caller.call(key, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer["data"][field][0]["id"].as_str().unwrap_or_else(|| panic!("{path} lists one: {answer}")).to_owned()
}

fn event(slug: &str, number: &str, subtag: &str, at: chrono::DateTime<chrono::Utc>) -> CheckpointInput {
    CheckpointInput::new(
        Slug::parse(slug).expect("slug"),
        TrackingNumber::parse(number).expect("number"),
        EventTime::from_utc(at),
        Subtag::parse(subtag).expect("subtag"),
        format!("{subtag} event"),
        CheckpointSource::Carrier,
    )
}

/// Gives A one resource of every kind; A's key is `key`.
async fn seed(deps: &Deps, caller: &impl Caller, tenant: &TenantId, key: &str) -> Resources {
    let now = deps.clock.now();
    let mut ids: BTreeMap<&'static str, String> = BTreeMap::new();
    let tracking = made(
        caller,
        key,
        "/tracking/2026-07/trackings",
        json!({"tracking_number": "1Z999AA10123456784",
        "slug": "ups", "emails": ["ann@example.com"]}),
    )
    .await;
    ids.insert("tracking", id_in(&tracking));
    let connection = made(
        caller,
        key,
        "/tracking/2026-07/courier-connections",
        json!({"courier_slug": "ups",
        "credentials": {"client_id": "a-id", "client_secret": "a-secret"}}),
    )
    .await;
    ids.insert("connection", id_in(&connection));
    // Rules of A's own (the default rules have the same ids for every merchant).
    let rule = json!({"trigger": "delivered", "channels": ["sms"], "delay_minutes": 30});
    ids.insert("notification_rule", id_in(&made(caller, key, "/porchlight/v1/notification-rules", rule).await));
    let rule = json!({"name": "Three failed attempts", "condition": {"type": "failed_attempts", "at_least": 3},
        "severity": "high", "reason": "three attempts failed"});
    ids.insert("exception_rule", id_in(&made(caller, key, "/porchlight/v1/exception-rules", rule).await));
    let order = made(
        caller,
        key,
        "/porchlight/v1/orders",
        json!({
        "external_id": "5001", "order_number": "#1001", "placed_at": (now - Duration::days(8)).to_rfc3339(),
        "store": {"platform": "shopify", "external_id": "acme.myshopify.com"},
        "customer": {"email": "ann@example.com"}, "currency": "EUR",
        "items": [{"external_id": "l1", "sku": "MUG", "title": "Mug", "quantity": 2,
            "unit_price": {"amount": "12.50", "currency": "EUR"}}]}),
    )
    .await;
    ids.insert("order", id_in(&order));
    let suppression =
        made(caller, key, "/porchlight/v1/suppressions", json!({"channel": "email", "address": "bob@example.com"}))
            .await;
    ids.insert("suppression", id_in(&suppression));
    let endpoint = made(caller, key, "/porchlight/v1/webhooks", json!({"url": "https://hooks.example.com/a"})).await;
    let endpoint = id_in(&endpoint);
    // An event about A's tracking, planned for delivery to the endpoint.
    let record = WebhookEventRecord {
        tenant_id: tenant.clone(),
        event_id: uuid::Uuid::new_v4().to_string(),
        event: WebhookEvent::TrackingUpdate,
        at: now,
        subject: ids["tracking"].clone(),
        body: b"{}".to_vec(),
    };
    deps.webhooks.record_event(&record).await.expect("event kept");
    let delivery = Delivery::new(&record, &endpoint, "", now);
    deps.webhooks.plan_delivery(&delivery).await.expect("planned");
    ids.insert("delivery", delivery.id);
    ids.insert("endpoint", endpoint);

    // The order's parcel, delivered two days ago; a return of its mug.
    let parcel = NewTracking {
        slug: Some(Slug::parse("fedex").expect("slug")),
        tracking_number: TrackingNumber::parse("794698765432").expect("number"),
        details: ShipmentDetails { order_id: Some("5001".into()), ..ShipmentDetails::default() },
        last_mile: None,
    };
    let delivered = event("fedex", "794698765432", "Delivered_001", now - Duration::days(2));
    app::import_tracking(deps, tenant, parcel, now - Duration::days(6), vec![delivered]).await.expect("delivered");
    let ret = made(
        caller,
        key,
        "/returns/2026-07/returns",
        json!({
        "order": {"external_id": "5001", "store": {"platform": "shopify", "external_id": "acme.myshopify.com"}},
        "return_items": [{"external_order_item_id": "l1", "intended_return_quantity": 1,
            "return_reason": "changed_mind", "resolution": "refund"}],
        "return_method": {"type": "retailer_label"}, "refund_destination": "original_payment"}),
    )
    .await;
    ids.insert("return", id_in(&ret));
    ids.insert("rma", ret["data"]["rma_number"].as_str().expect("an rma number").to_owned());

    // A parcel in trouble opens a case under the default rules.
    let stuck = NewTracking {
        slug: Some(Slug::parse("usps").expect("slug")),
        tracking_number: TrackingNumber::parse("9400111899223856923447").expect("number"),
        details: ShipmentDetails::default(),
        last_mile: None,
    };
    let trouble = event("usps", "9400111899223856923447", "Exception_001", now - Duration::hours(3));
    let stuck = app::import_tracking(deps, tenant, stuck, now - Duration::days(1), vec![trouble]).await.expect("stuck");
    app::exceptions::evaluate(deps, deps.ledger.as_ref(), &stuck, false, false).await.expect("evaluated");
    ids.insert("case", first_listed(caller, key, "/porchlight/v1/exceptions", "exceptions").await);

    let history = b"{\"tracking_number\": \"1ZA\", \"slug\": \"ups\"}\n".to_vec();
    let job = app::imports::start_import(deps, tenant, HistoryFormat::JsonLines, history).await.expect("job");
    ids.insert("import", job.id);
    let day = |d: i64| (now - Duration::days(d)).format("%Y-%m-%d").to_string();
    let report = made(caller, key, "/porchlight/v1/reports", json!({"from": day(30), "to": day(1)})).await;
    ids.insert("report", id_in(&report));
    let connector = made(
        caller,
        key,
        "/porchlight/v1/connectors",
        json!({"platform": "shopify",
        "shop_domain": "acme.myshopify.com", "client_secret": "shpss_a", "access_token": "shpat_a"}),
    )
    .await;
    ids.insert("connector", id_in(&connector));
    Resources(ids)
}

/// Every merchant operation of `document` with a path parameter: (method, path template).
fn addressed_operations(document: &Value) -> Vec<(Method, String)> {
    let paths = document["paths"].as_object().expect("the document's paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        if !MERCHANT_APIS.iter().any(|p| path.starts_with(p)) || !path.contains('{') {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase().parse().expect("a method"), path.clone()));
            }
        }
    }
    operations
}

/// Fills `template`'s parameters with A's resources; `Err` names one A has none of.
fn fill(template: &str, resources: &Resources) -> Result<String, String> {
    let mut path = template.to_owned();
    while let Some(start) = path.find('{') {
        let end = path[start..].find('}').map(|e| start + e).ok_or_else(|| format!("{template}: unclosed"))?;
        let param = &path[start + 1..end];
        let value = resources.value(template, param).ok_or_else(|| format!("A has no resource for {template}"))?;
        path.replace_range(start..=end, &value);
    }
    Ok(path)
}

/// Everything A has, as A's key reads it: each addressed GET, and the listings.
async fn snapshot(caller: &impl Caller, key: &str, document: &Value, resources: &Resources) -> Vec<(String, Value)> {
    let mut reads = Vec::new();
    for (method, template) in addressed_operations(document) {
        if method != Method::GET || OWN_SETTINGS.iter().any(|p| template.contains(p)) {
            continue;
        }
        let Ok(path) = fill(&template, resources) else { continue };
        let (status, mut answer) = caller.call(key, Method::GET, &path, None).await;
        // When the answer was made is not A's data.
        if let Some(data) = answer.get_mut("data").and_then(Value::as_object_mut) {
            data.remove("generated_at");
        }
        reads.push((format!("{status} {path}"), answer));
    }
    for list in ["/tracking/2026-07/trackings", "/porchlight/v1/orders", "/returns/2026-07/returns"] {
        reads.push((list.to_owned(), caller.call(key, Method::GET, list, None).await.1));
    }
    reads
}

/// Runs the matrix on `deps` (a fresh store) through `caller`, with `document` the API's
/// OpenAPI document. Panics listing every operation that let B reach or change A's data.
pub async fn tenant_isolation_matrix(deps: &Deps, caller: &impl Caller, document: &Value) {
    let merchants = Merchants::new(deps, caller).await;
    let (a_key, b_key, resources) = (&merchants.a_key, &merchants.b_key, &merchants.resources);
    let before = snapshot(caller, a_key, document, resources).await;
    assert!(before.iter().all(|(read, _)| !read.starts_with("404")), "A reads its own: {before:?}");

    let operations = addressed_operations(document);
    assert!(operations.len() > 40, "the document's merchant operations: {}", operations.len());
    let mut failures = Vec::new();
    let mut tried = 0;
    for (method, template) in &operations {
        if OWN_SETTINGS.iter().any(|p| template.contains(p)) {
            continue;
        }
        let path = match fill(template, resources) {
            Ok(path) => path,
            Err(missing) => {
                failures.push(missing);
                continue;
            }
        };
        let body =
            (*method != Method::GET && *method != Method::DELETE).then(|| valid_body(template, deps.clock.now()));
        let (status, answer) = caller.call(b_key, method.clone(), &path, body).await;
        tried += 1;
        if status != StatusCode::NOT_FOUND {
            failures.push(format!("{method} {template} with B's key: {status} {answer}"));
        }
    }
    let after = snapshot(caller, a_key, document, resources).await;
    for ((read, was), (_, is)) in before.iter().zip(&after) {
        if was != is {
            failures.push(format!("A's {read} changed: {was} became {is}"));
        }
    }

    // B's listings, handed A's cursors, show nothing of A's.
    let a_ids: Vec<&String> = resources.0.values().collect();
    for (list, field) in [("/tracking/2026-07/trackings", "trackings"), ("/returns/2026-07/returns", "returns")] {
        let (_, page) = caller.call(a_key, Method::GET, &format!("{list}?limit=1"), None).await;
        let cursor = page["data"]["pagination"]["next_cursor"].as_str().or(page["data"]["next_cursor"].as_str());
        let Some(cursor) = cursor else { continue };
        let (status, seen) = caller.call(b_key, Method::GET, &format!("{list}?cursor={cursor}"), None).await;
        let shown = seen["data"][field].to_string();
        if let Some(leaked) = a_ids.iter().find(|id| shown.contains(id.as_str())) {
            failures.push(format!("{list} with A's cursor showed B A's {leaked} ({status})"));
        }
    }
    assert!(failures.is_empty(), "tenant isolation broken ({tried} calls):\n{}", failures.join("\n"));
    assert!(tried > 40, "B tried {tried} operations");
}
