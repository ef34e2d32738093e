//! The tenant isolation matrix (`testkit::isolation`) on the SQLite store, through the whole
//! router: merchant B's key on every merchant operation with merchant A's ids.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::Harness;
use crate::testkit::isolation::{Caller, tenant_isolation_matrix};

struct Api<'a>(&'a Harness);

impl Caller for Api<'_> {
    fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = (StatusCode, Value)> + Send {
        self.0.call_as(Some(key), method, path, body)
    }
}

#[tokio::test]
async fn another_merchants_key_reaches_nothing_of_a_merchants_by_any_route() {
    let h = Harness::new().await;
    let (_, document) = h.call_as(None, Method::GET, "/openapi.json", None).await;
    tenant_isolation_matrix(&h.deps, &Api(&h), &document).await;
}
