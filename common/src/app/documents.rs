//! A merchant's settings documents read and changed as typed values: notification rules,
//! webhook endpoints, exception rules. A change is re-applied to a fresh read when another
//! writer won, a few times, then answered `Busy`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{AppError, Deps};
use crate::domain::TenantId;
use crate::ports::{SettingsKind, StoreError};

/// How often a change is tried again when another writer changed the document meanwhile.
const ATTEMPTS: usize = 5;

/// The tenant's document of `kind` and the version it was read at; `None` and 0 when never
/// written.
pub(super) async fn read<T: DeserializeOwned>(
    deps: &Deps,
    tenant: &TenantId,
    kind: SettingsKind,
) -> Result<(Option<T>, u64), AppError> {
    match deps.settings.get_settings(tenant, kind).await? {
        Some(stored) => {
            let value = serde_json::from_value(stored.value)
                .map_err(|_| AppError::Corrupt(format!("{} document", kind.as_str())))?;
            Ok((Some(value), stored.version))
        }
        None => Ok((None, 0)),
    }
}

/// Applies `change` to the tenant's document (`default()` when never written) and stores it,
/// re-reading and re-applying when another writer won; the change's result. A change that
/// fails stores nothing.
pub(super) async fn change<D, T>(
    deps: &Deps,
    tenant: &TenantId,
    kind: SettingsKind,
    default: impl Fn() -> D,
    change: impl Fn(&mut D) -> Result<T, AppError>,
) -> Result<T, AppError>
where
    D: Serialize + DeserializeOwned,
{
    for _ in 0..ATTEMPTS {
        let (document, version) = read(deps, tenant, kind).await?;
        let mut document = document.unwrap_or_else(&default);
        let outcome = change(&mut document)?;
        let value = serde_json::to_value(&document).map_err(|e| AppError::Internal(e.to_string()))?;
        match deps.settings.put_settings(tenant, kind, &value, version).await {
            Ok(_) => return Ok(outcome),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}
