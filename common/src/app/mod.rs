//! Use cases over the ports. Each function is one thing a merchant, an operator or the carrier
//! pipeline does; handlers parse input, call one of these and map the result.

mod tenants;
mod trackings;

use std::sync::Arc;

pub use tenants::{ApiKey, authenticate, create_api_key, create_tenant, revoke_api_key};
pub use trackings::{
    NewTracking, apply_carrier_events, create_tracking, delete_tracking, get_tracking, list_trackings, mark_completed,
    retrack, update_tracking,
};

use crate::domain::{DomainError, ShipmentId};
use crate::ports::{ChangeFeed, Clock, ShipmentStore, StoreError, TenantStore};

/// The ports a use case may call. Cloning is cheap.
#[derive(Clone)]
pub struct Deps {
    /// Tenants and API keys.
    pub tenants: Arc<dyn TenantStore>,
    /// Shipments.
    pub shipments: Arc<dyn ShipmentStore>,
    /// The change feed.
    pub changes: Arc<dyn ChangeFeed>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    /// Deps backed by one store that implements every store port.
    pub fn from_store<S>(store: S, clock: Arc<dyn Clock>) -> Self
    where
        S: TenantStore + ShipmentStore + ChangeFeed + Clone + 'static,
    {
        Deps { tenants: Arc::new(store.clone()), shipments: Arc::new(store.clone()), changes: Arc::new(store), clock }
    }
}

/// Why a use case failed. Variants map one-to-one onto AfterShip's error codes at the edge.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A required field is absent.
    #[error("{0} is required")]
    Required(&'static str),
    /// The slug names no courier Porchlight knows.
    #[error("slug {0:?} is not a supported courier")]
    UnknownCourier(String),
    /// No slug was given and none could be detected from the number.
    #[error("the courier could not be detected from the tracking number; give a slug")]
    CourierNotDetected,
    /// The tenant already tracks this courier and number.
    #[error("tracking already exists")]
    Duplicate(ShipmentId),
    /// No such tracking for this tenant.
    #[error("tracking does not exist")]
    NotFound,
    /// Retrack asked of a tracking that is finished.
    #[error("a delivered or completed tracking cannot be retracked")]
    RetrackNotAllowed,
    /// The API key is missing, unknown or revoked.
    #[error("invalid api key")]
    Unauthorized,
    /// Concurrent writers kept winning; the caller may retry.
    #[error("the tracking is being changed concurrently; retry")]
    Busy,
    /// The store failed.
    #[error("store failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Duplicate(id) => AppError::Duplicate(id),
            other => AppError::Store(other),
        }
    }
}
