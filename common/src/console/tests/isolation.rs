//! The console's side of the tenant isolation matrix: merchant B's owner, signed in, asks for
//! every console page and posts every console form (its routes read from the console router's
//! source) with merchant A's ids in the path: each answer is a 404 and A's data reads back
//! unchanged. A's resources are the API matrix's (`testkit::isolation`), plus an API key and a
//! team member.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::{Harness, PASSWORD};
use crate::app::team::{Actor, NewMember, add_member};
use crate::domain::Role;
use crate::testkit::isolation::{Caller, Merchants};
use crate::testkit::routes::routes_in;

struct Api<'a>(&'a Harness);

impl Caller for Api<'_> {
    fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = (StatusCode, Value)> + Send {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("as-api-key", key)
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .expect("request");
        let router = self.0.router.clone();
        async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into()))
        }
    }
}

/// Path parameters that name B's own pages, not A's resources, and the sign-in link's token
/// (a page for visitors who are not signed in).
const NOT_A_RESOURCE: [&str; 4] = ["{trigger}", "{language}", "/analytics/{file}", "{token}"];

#[tokio::test]
async fn another_merchants_team_reaches_no_console_page_of_a_merchants() {
    let h = Harness::new().await;
    let api = Api(&h);
    let (_, document) = api.call("", Method::GET, "/openapi.json", None).await;
    let mut merchants = Merchants::new(&h.deps, &api).await;
    merchants.add("api_key", merchants.a_key_id.clone());
    let new = NewMember { email: "agent@a.example", name: "", role: Role::Agent, password: Some(PASSWORD) };
    let member = add_member(&h.deps, &merchants.a, &Actor::Operator, new).await.expect("A's member");
    merchants.add("member", member.id);
    h.member(&merchants.b, "owner@b.example", Role::Owner).await;
    let mut browser = h.signed_in("owner@b.example").await;
    let csrf = h.get(&mut browser, "/console/settings").await.csrf();
    let before = merchants.snapshot(&api, &document).await;

    let routes = routes_in(include_str!("../mod.rs"), &[("Router::new()", "")]);
    let mut failures = Vec::new();
    let mut tried = 0;
    for (template, method) in routes.iter().filter(|(path, _)| path.contains('{')) {
        if NOT_A_RESOURCE.iter().any(|p| template.contains(p)) {
            continue;
        }
        let path = match merchants.fill(template) {
            Ok(path) => path,
            Err(missing) => {
                failures.push(missing);
                continue;
            }
        };
        // The fields a well-formed post of the form would carry: B's request must still find nothing.
        let mut form = vec![("csrf", csrf.as_str())];
        match template.rsplit('/').next().unwrap_or_default() {
            "complete" => form.push(("reason", "delivered")),
            "role" => form.push(("role", "agent")),
            _ => {}
        }
        let answer = match method.as_str() {
            "get" => h.get(&mut browser, &path).await,
            _ => h.post(&mut browser, &path, &form).await,
        };
        tried += 1;
        if answer.status != StatusCode::NOT_FOUND {
            failures.push(format!("{} {template}: {} {:?}", method.to_uppercase(), answer.status, answer.location));
        }
    }
    let after = merchants.snapshot(&api, &document).await;
    for ((read, was), (_, is)) in before.iter().zip(&after) {
        if was != is {
            failures.push(format!("A's {read} changed"));
        }
    }
    assert!(failures.is_empty(), "console isolation broken ({tried} requests):\n{}", failures.join("\n"));
    assert!(tried >= 20, "B's owner tried {tried} pages and forms");
}
