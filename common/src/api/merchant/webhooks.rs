//! `/porchlight/v1/webhooks`: the merchant's webhook endpoints, their delivery logs, dead
//! letters and replays (a Porchlight extension: AfterShip keeps these in its admin only; the
//! deliveries themselves are AfterShip's).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::trackings::instant;
use crate::api::wire::timestamp;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::webhooks::{self, Endpoint, EndpointWrite};
use crate::app::{AppError, Deps};
use crate::domain::{DomainError, TenantId};
use crate::ports::{Attempt, Delivery, DeliveryState};

/// Deliveries a log page holds unless asked for fewer.
const DEFAULT_LIMIT: usize = 50;
/// The most a log page holds.
const MAX_LIMIT: usize = 100;

fn endpoint_json(endpoint: &Endpoint, secret: Option<&str>) -> Value {
    let mut value = json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": timestamp(endpoint.created_at),
        "pending_hours": endpoint.pending_hours,
    });
    if let Some(secret) = secret {
        value["secret"] = json!(secret);
    }
    value
}

fn attempt_json(attempt: &Attempt) -> Value {
    json!({
        "at": timestamp(attempt.at),
        "status": attempt.status,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
    })
}

fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event": delivery.event,
        "state": delivery.state,
        "created_at": timestamp(delivery.created_at),
        "next_attempt_at": (delivery.state == DeliveryState::Pending).then(|| timestamp(delivery.due_at)),
        "attempts": delivery.attempts.iter().map(attempt_json).collect::<Vec<_>>(),
    })
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let endpoints = webhooks::list_endpoints(&deps, &tenant).await?;
    let webhooks: Vec<Value> = endpoints.iter().map(|e| endpoint_json(e, None)).collect();
    Ok(envelope(StatusCode::OK, json!({ "webhooks": webhooks })))
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: EndpointWrite = parse_body(body)?;
    let (endpoint, secret) = webhooks::create_endpoint(&deps, &tenant, write).await?;
    Ok(envelope(StatusCode::CREATED, endpoint_json(&endpoint, Some(&secret))))
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = webhooks::signing_endpoint(&deps, &tenant, &id).await?.endpoint;
    Ok(envelope(StatusCode::OK, endpoint_json(&endpoint, None)))
}

pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = webhooks::signing_endpoint(&deps, &tenant, &id).await?.endpoint;
    webhooks::delete_endpoint(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, endpoint_json(&endpoint, None)))
}

pub(super) async fn rotate_secret(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (endpoint, secret) = webhooks::rotate_secret(&deps, &tenant, &id).await?;
    Ok(envelope(StatusCode::OK, endpoint_json(&endpoint, Some(&secret))))
}

pub(super) async fn test(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let attempt = webhooks::send_test(&deps, &tenant, &id).await?;
    let delivered = attempt.status.is_some_and(|s| (200..300).contains(&s));
    let mut answer = attempt_json(&attempt);
    answer["delivered"] = json!(delivered);
    Ok(envelope(StatusCode::OK, answer))
}

/// `GET .../deliveries`' query.
#[derive(Debug, Deserialize)]
pub(super) struct LogParams {
    state: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

pub(super) async fn deliveries(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    params: Result<Query<LogParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::api::query_params(params)?;
    let state = match params.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            DeliveryState::parse(raw)
                .ok_or_else(|| AppError::from(DomainError::invalid("state", "must be pending, delivered or dead")))?,
        ),
    };
    let before = instant("before", &params.before).map_err(AppError::from)?;
    let limit = super::page_limit(params.limit.as_deref().filter(|s| !s.is_empty()), DEFAULT_LIMIT, MAX_LIMIT)
        .map_err(AppError::from)?;
    let deliveries = webhooks::endpoint_deliveries(&deps, &tenant, &id, state, before, limit).await?;
    let next_before = (deliveries.len() == limit).then(|| deliveries.last().map(|d| timestamp(d.created_at))).flatten();
    Ok(envelope(
        StatusCode::OK,
        json!({
            "deliveries": deliveries.iter().map(delivery_json).collect::<Vec<_>>(),
            "next_before": next_before,
        }),
    ))
}

/// `POST .../replay`'s body: the events' time range.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplayRange {
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn replay(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let range: ReplayRange = parse_body(body)?;
    let from = instant("from", &range.from).map_err(AppError::from)?.ok_or(AppError::Required("from"))?;
    let to = instant("to", &range.to).map_err(AppError::from)?.unwrap_or_else(|| deps.clock.now());
    let planned = webhooks::replay_range(&deps, &tenant, &id, from, to).await?;
    Ok(envelope(StatusCode::ACCEPTED, json!({ "planned": planned })))
}

pub(super) async fn replay_delivery(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    webhooks::signing_endpoint(&deps, &tenant, &id).await?;
    let found = webhooks::replay_dead(&deps, &tenant, &delivery).await?;
    if found.endpoint_id != id {
        return Err(AppError::Missing("dead delivery").into());
    }
    Ok(envelope(StatusCode::ACCEPTED, delivery_json(&found)))
}
