//! `/reports/{token}/{file}`: a merchant's report by the sealed link its email carries (no
//! API key: the token is the key, and it expires). Anything else, a forged, damaged or expired
//! token, or a file the report does not have, is a plain 404. Requests count against the
//! client address's page views.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Client, Web};
use crate::app::reports;

pub(super) async fn file(
    State(web): State<Web>,
    client: Client,
    Path((token, name)): Path<(String, String)>,
) -> Response {
    if let Err(wait) = web.views.check(client.ip) {
        let refusal = "too many requests from this address; retry later";
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, wait.to_string())], refusal).into_response();
    }
    let deps = &web.deps;
    let Some((tenant, id)) = reports::open_link(deps, &token, deps.clock.now()) else {
        return (StatusCode::NOT_FOUND, "this report link does not work (it may have expired)").into_response();
    };
    match reports::report_file(deps, &tenant, &id, &name).await {
        Ok((content_type, bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(reports::CSP));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response
        }
        Err(error) if error.is_retryable() => {
            tracing::warn!(error = %error, "report unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "the report is unavailable; try again").into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "this report has no such file").into_response(),
    }
}
