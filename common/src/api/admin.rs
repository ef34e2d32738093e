//! The operator's API: quarantined carrier payloads (list, replay) and pipeline counters.
//! Guarded by the admin token in `x-porchlight-admin-token`; absent when no token is set.

use std::sync::atomic::Ordering;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{ApiError, envelope};
use crate::app::{AppError, Deps};
use crate::ports::{QueueName, StoreError};

pub(super) async fn authenticate(State(deps): State<Deps>, request: Request, next: Next) -> Response {
    let Some(expected) = deps.admin_token_sha256 else { return ApiError::no_route().into_response() };
    let given = request.headers().get("x-porchlight-admin-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    // Digests of equal length; compare without early exit.
    let same = digest.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if given.is_empty() || !same {
        return AppError::Unauthorized.into_response();
    }
    next.run(request).await
}

#[derive(Deserialize, Default)]
pub(super) struct Page {
    after: Option<u64>,
    limit: Option<usize>,
}

pub(super) async fn list_quarantine(
    State(deps): State<Deps>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::bad_request(4008, format!("query is invalid: {e}")))?;
    let limit = page.limit.unwrap_or(50).clamp(1, 500);
    let letters = deps
        .queue
        .dead_letters(QueueName::CarrierUpdates, page.after.unwrap_or(0), limit)
        .await
        .map_err(AppError::from)?;
    let messages: Vec<_> = letters
        .iter()
        .map(|letter| {
            let message: serde_json::Value = serde_json::from_slice(&letter.body)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&letter.body).into_owned()));
            serde_json::json!({
                "id": letter.id.to_string(),
                "reason": letter.reason,
                "receive_count": letter.receive_count,
                "enqueued_at": super::wire::timestamp(letter.enqueued_at),
                "quarantined_at": super::wire::timestamp(letter.dead_at),
                "message": message,
            })
        })
        .collect();
    Ok(envelope(
        StatusCode::OK,
        serde_json::json!({ "queue": QueueName::CarrierUpdates.as_str(), "messages": messages }),
    ))
}

pub(super) async fn replay_quarantined(State(deps): State<Deps>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request(4008, "id must be a message id"))?;
    match deps.queue.redrive(QueueName::CarrierUpdates, id).await {
        Ok(()) => Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string(), "replayed": true }))),
        Err(StoreError::NotFound) => Err(AppError::NotFound.into()),
        Err(other) => Err(AppError::Store(other).into()),
    }
}

pub(super) async fn stats(State(deps): State<Deps>) -> Result<Response, ApiError> {
    let depth = deps.queue.depth(QueueName::CarrierUpdates).await.map_err(AppError::from)?;
    let stats = &deps.stats;
    Ok(envelope(
        StatusCode::OK,
        serde_json::json!({
            "carrier_updates_depth": depth,
            "webhooks_accepted": stats.webhooks_accepted.load(Ordering::Relaxed),
            "webhooks_unauthenticated": stats.webhooks_unauthenticated.load(Ordering::Relaxed),
            "quarantined": stats.quarantined.load(Ordering::Relaxed),
        }),
    ))
}
