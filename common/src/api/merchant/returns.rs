//! `/porchlight/v1/return-policy`: the merchant's return policy (a Porchlight extension; the
//! Returns API proper, `/returns/2026-07/...`, comes with the rest of issue 11).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;

use crate::api::{ApiError, envelope, parse_body};
use crate::app::Deps;
use crate::app::returns::{self, PolicyWrite};
use crate::domain::TenantId;

pub(super) async fn get_policy(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, returns::return_policy(&deps, &tenant).await?))
}

pub(super) async fn put_policy(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: PolicyWrite = parse_body(body)?;
    Ok(envelope(StatusCode::OK, returns::update_return_policy(&deps, &tenant, write).await?))
}
