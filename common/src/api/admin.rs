//! The operator's API: merchants and their API keys (what `porchlight tenants` does locally,
//! for the AWS runtime, which has no command line next to its store), quarantined carrier
//! payloads (list, replay) and pipeline counters. Guarded by the admin token in
//! `x-porchlight-admin-token`; absent when no token is set.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{ApiError, envelope};
use crate::app::{self, AppError, Deps, operator};
use crate::domain::TenantId;
use crate::ports::QueueName;
use crate::settings::AdminToken;

/// The operator's API under `/admin`; every path answers 404 when no admin token is set.
pub fn admin_router(deps: Deps) -> Router {
    let admin = Router::new()
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route("/tenants/{id}/api-keys", get(list_api_keys).post(create_api_key))
        .route("/tenants/{id}/api-keys/{key_id}", delete(revoke_api_key))
        .route("/tenants/{id}/rate-limit", get(rate_limit).put(set_rate_limit))
        .route("/quarantine", get(list_quarantine))
        .route("/quarantine/{id}/replay", post(replay_quarantined))
        .route("/stats", get(stats))
        .route("/secrets/reseal", post(reseal_secrets))
        .route_layer(middleware::from_fn_with_state(deps.clone(), authenticate));
    Router::new().nest("/admin", admin).with_state(deps)
}

async fn authenticate(State(deps): State<Deps>, request: Request, next: Next) -> Response {
    let Some(expected) = deps.admin_token else { return ApiError::no_route().into_response() };
    let given = request.headers().get("x-porchlight-admin-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let digest = AdminToken::of(given);
    if given.is_empty() || !bool::from(digest.0.ct_eq(&expected.0)) {
        return AppError::Unauthorized.into_response();
    }
    next.run(request).await
}

#[derive(Deserialize, Default)]
struct Page {
    queue: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// A whole-number query value (see [`super::body::whole_number`]), refused with the admin
/// API's query code.
fn whole_number<T>(name: &str, raw: Option<&str>, default: T, range: std::ops::RangeInclusive<T>) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    super::body::whole_number(name, raw, default, range)
        .map_err(|e| ApiError::bad_request(4008, format!("{} {}", e.field, e.reason)))
}

/// The `queue` parameter: a queue's name, `carrier-updates` when absent.
fn queue(name: Option<&str>) -> Result<QueueName, ApiError> {
    match name {
        None | Some("") => Ok(QueueName::CarrierUpdates),
        Some(name) => name.parse().map_err(|reason: String| ApiError::bad_request(4008, reason)),
    }
}

/// `GET /admin/quarantine?queue=...`: a queue's dead letters with the reason, oldest first.
async fn list_quarantine(
    State(deps): State<Deps>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let page = crate::api::query_params(page)?;
    let queue = queue(page.queue.as_deref())?;
    let limit = whole_number("limit", page.limit.as_deref(), 50, 1..=500)?;
    let after = whole_number("after", page.after.as_deref(), 0, 0..=u64::MAX)?;
    let letters = operator::dead_letters(&deps, queue, after, limit).await?;
    let messages: Vec<_> = letters
        .iter()
        .map(|letter| {
            serde_json::json!({
                "id": letter.id.to_string(),
                "reason": letter.reason,
                "receive_count": letter.receive_count,
                "enqueued_at": super::wire::timestamp(letter.enqueued_at),
                "quarantined_at": super::wire::timestamp(letter.dead_at),
                "message": operator::body_as_json(&letter.body),
            })
        })
        .collect();
    Ok(envelope(StatusCode::OK, serde_json::json!({ "queue": queue.as_str(), "messages": messages })))
}

/// `POST /admin/quarantine/{id}/replay?queue=...`: a dead letter back on its queue.
async fn replay_quarantined(
    State(deps): State<Deps>,
    Path(id): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let page = crate::api::query_params(page)?;
    let queue = queue(page.queue.as_deref())?;
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request(4008, "id must be a message id"))?;
    operator::replay(&deps, queue, id).await?;
    Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string(), "replayed": true })))
}

/// `GET /admin/stats`: queue depths, the pipeline's counters since start, and every
/// merchant's carriers today against their usual share of unmapped codes.
async fn stats(State(deps): State<Deps>) -> Result<Response, ApiError> {
    let depths = operator::queue_depths(&deps).await?;
    let carrier_health = crate::app::analytics::platform_watch(&deps, deps.clock.now()).await?;
    let depth = |queue: QueueName| depths.iter().find(|(q, _)| *q == queue).map_or(0, |(_, depth)| *depth);
    let stats = &deps.stats;
    Ok(envelope(
        StatusCode::OK,
        serde_json::json!({
            "carrier_updates_depth": depth(QueueName::CarrierUpdates),
            "status_changes_depth": depth(QueueName::StatusChanges),
            "webhooks_accepted": stats.webhooks_accepted.load(Ordering::Relaxed),
            "webhooks_unauthenticated": stats.webhooks_unauthenticated.load(Ordering::Relaxed),
            "quarantined": stats.quarantined.load(Ordering::Relaxed),
            "unreadable_shipments": stats.unreadable_shipments.load(Ordering::Relaxed),
            "carrier_health": carrier_health,
        }),
    ))
}

#[derive(Deserialize)]
struct NewTenant {
    name: String,
    #[serde(default)]
    owner_email: Option<String>,
}

fn tenant_json(tenant: &crate::ports::Tenant) -> serde_json::Value {
    serde_json::json!({
        "id": tenant.id.as_str(),
        "name": tenant.name,
        "created_at": super::wire::timestamp(tenant.created_at),
    })
}

fn new_key_json(key: &app::ApiKey) -> serde_json::Value {
    // The only time the key is shown: the store keeps its digest.
    serde_json::json!({ "id": key.key_id, "key": key.secret })
}

fn tenant_id(id: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(id).map_err(|_| ApiError::from(AppError::NotFound))
}

/// `POST /admin/tenants {"name": ..., "owner_email": ...}`: a merchant, its first API key and, with
/// an owner, their one-time sign-in link.
async fn create_tenant(State(deps): State<Deps>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let new: NewTenant = super::parse_body(body)?;
    if let Some(email) = &new.owner_email {
        app::team::check_new_email(&deps, email).await?;
    }
    let (tenant, key) = app::create_tenant(&deps, &new.name).await?;
    let mut body = serde_json::json!({ "tenant": tenant_json(&tenant), "api_key": new_key_json(&key) });
    if let Some(email) = &new.owner_email {
        let (owner, link) = app::team::add_owner(&deps, &tenant.id, email).await?;
        let path = format!("/console/link/{}", link.token);
        body["owner"] = serde_json::json!({
            "id": owner.id,
            "email": owner.email,
            "role": owner.role.as_str(),
            "sign_in_link": deps.public_url.as_deref().map_or(path.clone(), |base| format!("{base}{path}")),
            "sign_in_link_expires_at": super::wire::timestamp(link.expires_at),
        });
    }
    Ok(envelope(StatusCode::CREATED, body))
}

/// `GET /admin/tenants`: every merchant, oldest first.
async fn list_tenants(State(deps): State<Deps>) -> Result<Response, ApiError> {
    let tenants = operator::list_tenants(&deps).await?;
    let tenants: Vec<_> = tenants.iter().map(tenant_json).collect();
    Ok(envelope(StatusCode::OK, serde_json::json!({ "tenants": tenants })))
}

/// `POST /admin/tenants/{id}/api-keys`: another key for a merchant.
async fn create_api_key(State(deps): State<Deps>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let key = app::create_api_key(&deps, &tenant_id(&id)?).await?;
    Ok(envelope(StatusCode::CREATED, serde_json::json!({ "api_key": new_key_json(&key) })))
}

/// `GET /admin/tenants/{id}/api-keys`: a merchant's key ids and dates (never the keys).
async fn list_api_keys(State(deps): State<Deps>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let keys = operator::list_api_keys(&deps, &tenant_id(&id)?).await?;
    let keys: Vec<_> = keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "id": k.key_id,
                "created_at": super::wire::timestamp(k.created_at),
                "revoked_at": k.revoked_at.map(super::wire::timestamp),
            })
        })
        .collect();
    Ok(envelope(StatusCode::OK, serde_json::json!({ "api_keys": keys })))
}

/// A merchant's rate limit: its own (`null` when it follows the default) and the default.
fn rate_limit_json(deps: &Deps, tenant: &TenantId, own: Option<u32>) -> serde_json::Value {
    serde_json::json!({ "tenant_id": tenant.as_str(), "per_second": own, "default_per_second": deps.rate_limit })
}

/// `GET /admin/tenants/{id}/rate-limit`.
async fn rate_limit(State(deps): State<Deps>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let tenant = tenant_id(&id)?;
    deps.tenants.get_tenant(&tenant).await.map_err(AppError::from)?.ok_or(AppError::NotFound)?;
    let own = operator::rate_limit_of(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, rate_limit_json(&deps, &tenant, own)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitWrite {
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    per_second: Option<Option<u32>>,
}

/// `PUT /admin/tenants/{id}/rate-limit` `{"per_second": 20}`: the merchant's keys may make 20
/// requests a second whatever the default; `{"per_second": null}` back to the default.
async fn set_rate_limit(
    State(deps): State<Deps>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let tenant = tenant_id(&id)?;
    let write: RateLimitWrite = super::parse_body(body)?;
    let per_second = write.per_second.ok_or(AppError::Required("per_second"))?;
    let own = operator::set_rate_limit(&deps, &tenant, per_second).await?;
    Ok(envelope(StatusCode::OK, rate_limit_json(&deps, &tenant, own)))
}

/// `POST /admin/secrets/reseal`: seals every merchant's stored secrets again under the current
/// key, after a rotation (the previous key still configured to open them); the counts.
async fn reseal_secrets(State(deps): State<Deps>) -> Result<Response, ApiError> {
    let tally = app::rotation::reseal_all(&deps).await?;
    Ok(envelope(StatusCode::OK, serde_json::json!({ "reseal": tally })))
}

/// `DELETE /admin/tenants/{id}/api-keys/{key_id}`: revokes a key at once.
async fn revoke_api_key(
    State(deps): State<Deps>,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    app::revoke_api_key(&deps, &tenant_id(&id)?, &key_id).await?;
    Ok(envelope(StatusCode::OK, serde_json::json!({ "api_key": { "id": key_id, "revoked": true } })))
}
