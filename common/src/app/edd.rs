//! Estimated delivery dates: each merchant's model, trained from its rollups' transit days
//! (the last [`TRAINING_DAYS`] days, so a year's rows per lane at most), kept per process for
//! [`MODEL_TTL`]; predictions from it; and its accuracy measured on held-back history.

mod evaluate;

use std::sync::Arc;
use std::time::Duration;

use chrono::Days;

pub use evaluate::{Accuracy, Evaluation, LaneAccuracy, evaluate};

use super::analytics::{DayRange, LaneFilter, lane_totals};
use super::cache::TtlCache;
use super::{AppError, Deps};
use crate::domain::TenantId;
use crate::domain::edd::{EddModel, EddRequest, Prediction};

/// Days of history a model learns from, up to today.
pub const TRAINING_DAYS: u64 = 180;
/// How long a process uses a model before training it again.
pub const MODEL_TTL: Duration = Duration::from_secs(600);
/// Models a process keeps before it starts over.
const MODEL_CAPACITY: usize = 1_000;

/// Merchants' models, as recently trained.
pub struct ModelCache(TtlCache<TenantId, Arc<EddModel>>);

impl Default for ModelCache {
    fn default() -> Self {
        ModelCache(TtlCache::new(MODEL_TTL, MODEL_CAPACITY))
    }
}

/// A model of `tenant`'s deliveries from shipments created in `range`.
pub async fn trained(deps: &Deps, tenant: &TenantId, range: DayRange) -> Result<EddModel, AppError> {
    let lanes = lane_totals(deps, tenant, range, &LaneFilter::default()).await?;
    Ok(EddModel::train(lanes.iter()))
}

/// `tenant`'s current model: its last [`TRAINING_DAYS`] days.
pub async fn model(deps: &Deps, tenant: &TenantId) -> Result<Arc<EddModel>, AppError> {
    if let Some(model) = deps.edd_models.0.fresh(tenant) {
        return Ok(model);
    }
    let today = deps.clock.now().date_naive();
    let range = DayRange { from: today - Days::new(TRAINING_DAYS - 1), to: today };
    let model = Arc::new(trained(deps, tenant, range).await?);
    deps.edd_models.0.remember(tenant.clone(), Arc::clone(&model));
    Ok(model)
}

/// `tenant`'s model for estimating its trackings' delivery dates; `None` when its rollups
/// cannot be read now (logged): a tracking's update does not wait on its estimate, which the
/// next update makes.
pub async fn model_for_trackings(deps: &Deps, tenant: &TenantId) -> Option<Arc<EddModel>> {
    match model(deps, tenant).await {
        Ok(model) => Some(model),
        Err(error) => {
            tracing::warn!(tenant_id = %tenant, error = %error, "estimated delivery model unavailable");
            None
        }
    }
}

/// The predictions for `requests`, in order.
pub async fn predict(deps: &Deps, tenant: &TenantId, requests: &[EddRequest]) -> Result<Vec<Prediction>, AppError> {
    let model = model(deps, tenant).await?;
    Ok(requests.iter().map(|r| model.predict(&r.query, r.pickup.date(), r.precise_addresses)).collect())
}
