//! The tenant isolation matrix (`testkit::isolation`) on the SQLite store, through the whole
//! router: merchant B's key on every merchant operation with merchant A's ids.

use axum::http::Method;

use super::Harness;
use crate::testkit::isolation::{RouterCaller, tenant_isolation_matrix};

#[tokio::test]
async fn another_merchants_key_reaches_nothing_of_a_merchants_by_any_route() {
    let h = Harness::new().await;
    let (_, document) = h.call_as(None, Method::GET, "/openapi.json", None).await;
    tenant_isolation_matrix(&h.deps, &RouterCaller(h.router.clone()), &document).await;
}
