//! `/estimated-delivery-date`: AfterShip's prediction of when a parcel not yet shipped will
//! arrive, one at a time (`/predict`) or up to five at once (`/predict-batch`, all or none:
//! one bad request refuses the batch).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::wire::edd::{EddBatchWire, EddWire, MAX_BATCH};
use crate::api::{ApiError, envelope, parse_body};
use crate::app::{AppError, Deps, edd};
use crate::domain::{DomainError, TenantId};

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Predicts `wires` (read under the field prefixes `at`), all or none.
async fn predict_all(
    deps: &Deps,
    tenant: &TenantId,
    mut wires: Vec<EddWire>,
    at: impl Fn(usize) -> String,
) -> Result<Vec<EddWire>, ApiError> {
    let requests =
        wires.iter_mut().enumerate().map(|(index, wire)| wire.read(&at(index))).collect::<Result<Vec<_>, _>>()?;
    let predictions = edd::predict(deps, tenant, &requests).await?;
    Ok(wires.into_iter().zip(&predictions).map(|(wire, prediction)| wire.answer(new_id(), prediction)).collect())
}

/// `POST /estimated-delivery-date/predict`: `data` is the request, completed.
pub(super) async fn predict(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let wire: EddWire = parse_body(body)?;
    let mut answers = predict_all(&deps, &tenant, vec![wire], |_| String::new()).await?;
    Ok(envelope(StatusCode::OK, answers.remove(0)))
}

/// `POST /estimated-delivery-date/predict-batch`: `data.estimated_delivery_dates`, in the
/// order asked.
pub(super) async fn predict_batch(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let batch: EddBatchWire = parse_body(body)?;
    let wires = batch.estimated_delivery_dates.ok_or(AppError::Required("estimated_delivery_dates"))?;
    if wires.is_empty() || wires.len() > MAX_BATCH {
        let reason = format!("must hold from 1 to {MAX_BATCH} requests");
        return Err(AppError::from(DomainError::invalid("estimated_delivery_dates", reason)).into());
    }
    let answers = predict_all(&deps, &tenant, wires, |index| format!("estimated_delivery_dates[{index}].")).await?;
    Ok(envelope(StatusCode::OK, json!({ "estimated_delivery_dates": answers })))
}
