//! The console's side of the tenant isolation matrix: merchant B's owner, signed in, asks for
//! every console page and posts every console form (its routes read from the console router's
//! source) with merchant A's ids in the path: each answer is a 404 and A's data reads back
//! unchanged. A's resources are the API matrix's (`testkit::isolation`), plus an API key and a
//! team member.

use axum::http::{Method, StatusCode};

use super::{Harness, PASSWORD};
use crate::app::team::{Actor, NewMember, add_member};
use crate::domain::Role;
use crate::testkit::isolation::{Caller, Merchants, RouterCaller};
use crate::testkit::routes::routes_in;

/// Path parameters that name B's own pages, not A's resources, and the sign-in link's token
/// (a page for visitors who are not signed in).
const NOT_A_RESOURCE: [&str; 4] = ["{trigger}", "{language}", "/analytics/{file}", "{token}"];

#[tokio::test]
async fn another_merchants_team_reaches_no_console_page_of_a_merchants() {
    let h = Harness::new().await;
    let api = RouterCaller(h.router.clone());
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
