//! The OpenAPI document against the route table itself: every `.route(...)` the API's
//! routers register (read from their source, under the prefix each router is nested at),
//! with each of its methods, is a path and operation of `/openapi.json`. A route added without
//! its description fails here.

use axum::http::{Method, StatusCode};

use super::Harness;
use crate::testkit::routes::routes_in;

/// The routers' sources, each with the sections of its text and the prefix each section's
/// routes are nested at (a section runs from its marker to the next one).
const SOURCES: [(&str, &[(&str, &str)]); 3] = [
    (
        include_str!("../merchant/mod.rs"),
        &[
            ("let authenticated = Router::new()", "/tracking/2026-07"),
            ("let extensions = Router::new()", "/porchlight/v1"),
            ("let returns_api = Router::new()", "/returns/2026-07"),
            (".nest(EXTENSIONS, extensions)", ""),
        ],
    ),
    (include_str!("../admin.rs"), &[("let admin = Router::new()", "/admin")]),
    (include_str!("../webhooks.rs"), &[("Router::new()", "")]),
];

/// Every (path, method) the routers register, prefixed, with the returns actions expanded.
fn registered() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        SOURCES.iter().flat_map(|(text, sections)| routes_in(text, sections)).collect();
    for action in crate::api::merchant::RETURN_ACTIONS {
        all.push((format!("/returns/2026-07/returns/{{return_id}}/{action}"), "post".into()));
        all.push((format!("/returns/2026-07/returns/rma/{{rma_number}}/{action}"), "post".into()));
    }
    all
}

#[tokio::test]
async fn every_registered_route_is_described() {
    let registered = registered();
    assert!(registered.len() > 80, "the routers' routes were found: {}", registered.len());
    for wanted in
        [("/tracking/2026-07/trackings/{id}", "delete"), ("/admin/tenants/{id}/rate-limit", "put"), ("/healthz", "get")]
    {
        assert!(
            registered.iter().any(|(p, m)| (p.as_str(), m.as_str()) == wanted),
            "{wanted:?} is read from the source"
        );
    }
    let h = Harness::new().await;
    let (status, document) = h.call_as(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let missing: Vec<String> = registered
        .iter()
        .filter(|(path, method)| document["paths"][path.as_str()][method.as_str()].is_null())
        .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "routes without a description in openapi.json: {missing:?}");
}
