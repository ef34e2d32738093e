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

/// `PUT .../notification-templates/{trigger}/{language}`'s body: the fields to word.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextsWrite {
    subject: Option<String>,
    headline: Option<String>,
    body: Option<String>,
    sms: Option<String>,
}

/// The trigger and language a templates path names; 400 naming the part that is not one.
fn wording(trigger: &str, language: &str) -> Result<(crate::domain::Trigger, crate::domain::Language), ApiError> {
    use crate::app::AppError;
    use crate::domain::DomainError;
    let trigger = crate::domain::Trigger::parse(trigger)
        .ok_or_else(|| AppError::from(DomainError::invalid("trigger", "is not a notification trigger")))?;
    let language = crate::domain::Language::parse(language).map_err(AppError::from)?;
    Ok((trigger, language))
}

pub(super) async fn list_texts(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let texts = crate::app::notifications::merchant_texts(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, serde_json::json!({ "templates": texts.texts, "variables": crate::notify::VARIABLES })))
}

pub(super) async fn save_texts(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path((trigger, language)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (trigger, language) = wording(&trigger, &language)?;
    let write: TextsWrite = parse_body(body)?;
    let texts = crate::notify::MessageTexts {
        trigger,
        language,
        subject: write.subject,
        headline: write.headline,
        body: write.body,
        sms: write.sms,
    };
    Ok(envelope(StatusCode::OK, crate::app::notifications::save_texts(&deps, &tenant, texts).await?))
}

pub(super) async fn delete_texts(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path((trigger, language)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (trigger, language) = wording(&trigger, &language)?;
    Ok(envelope(StatusCode::OK, crate::app::notifications::delete_texts(&deps, &tenant, trigger, language).await?))
}
