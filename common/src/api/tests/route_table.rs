//! The OpenAPI document against the route table itself: every `.route(...)` the API's
//! routers register (read from their source, under the prefix each router is nested at),
//! with each of its methods, is a path and operation of `/openapi.json`. A route added without
//! its description fails here.

use axum::http::{Method, StatusCode};

use super::Harness;

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

/// The text of each `.route(...)` call in `text`, up to its closing parenthesis.
fn route_calls(text: &str) -> Vec<&str> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(".route(") {
        let call = &rest[start + ".route(".len()..];
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(call.len(), |(i, _)| i);
        calls.push(&call[..end]);
        rest = &call[end..];
    }
    calls
}

/// The (path, method) pairs a route call registers; `None` for a path that is not a literal.
fn operations(call: &str) -> Option<Vec<(String, String)>> {
    let path = call.trim_start().strip_prefix('"')?.split('"').next()?.to_owned();
    let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
        .into_iter()
        .filter(|m| {
            call.match_indices(&format!("{m}("))
                .any(|(i, _)| !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
        .map(str::to_owned)
        .collect();
    Some(methods.into_iter().map(|m| (path.clone(), m)).collect())
}

/// Every (path, method) the routers register, prefixed, with the returns actions expanded.
fn registered() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (text, sections) in SOURCES {
        let router = text.split("#[cfg(test)]").next().unwrap_or(text);
        for (i, (marker, prefix)) in sections.iter().enumerate() {
            let start = router.find(marker).unwrap_or_else(|| panic!("{marker:?} is in the router's source"));
            let end = sections
                .get(i + 1)
                .and_then(|(next, _)| router[start..].find(next))
                .map_or(router.len(), |e| start + e);
            for call in route_calls(&router[start..end]) {
                if let Some(operations) = operations(call) {
                    all.extend(operations.into_iter().map(|(path, method)| (format!("{prefix}{path}"), method)));
                }
            }
        }
    }
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
