//! `/porchlight/v1/notification-rules`: the merchant's notification rules, one at a time (a
//! Porchlight extension: AfterShip keeps these in its admin only).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::api::{ApiError, envelope, parse_body};
use crate::app::Deps;
use crate::app::notification_rules::{self, RuleWrite};
use crate::app::notifications::PreviewRequest;
use crate::domain::TenantId;

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let (rules, _) = notification_rules::notification_rules(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, rules))
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: RuleWrite = parse_body(body)?;
    let rule = notification_rules::create_rule(&deps, &tenant, write).await?;
    Ok(envelope(StatusCode::CREATED, rule))
}

pub(super) async fn preview(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: PreviewRequest = parse_body(body)?;
    let (message, unsubscribe_url) = crate::app::notifications::preview(&deps, &tenant, &request).await?;
    Ok(envelope(
        StatusCode::OK,
        serde_json::json!({
            "trigger": request.trigger,
            "language": message.language,
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "sms": message.sms,
            "sms_segments": message.sms_segments,
            "unsubscribe_url": unsubscribe_url,
        }),
    ))
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, notification_rules::get_rule(&deps, &tenant, &id).await?))
}

pub(super) async fn update(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: RuleWrite = parse_body(body)?;
    Ok(envelope(StatusCode::OK, notification_rules::update_rule(&deps, &tenant, &id, write).await?))
}

pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, notification_rules::delete_rule(&deps, &tenant, &id).await?))
}
