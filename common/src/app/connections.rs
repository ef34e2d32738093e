//! Courier connections: a merchant's own account with a carrier (AfterShip's
//! `/courier-connections`). Credentials are sealed with ChaCha20-Poly1305 under the deployment's
//! secret key before they are stored, and are never echoed back in full.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{AppError, Deps};
use crate::carriers::{Credentials, check_credentials};
use crate::domain::{DomainError, Slug, TenantId};
use crate::ports::{StoreError, StoredConnection};

/// A secret as answers show it: its last 4 characters only when they are at most a quarter of
/// it (16 characters or more), enough to tell two apart; otherwise nothing of it.
pub(crate) fn mask(secret: &str) -> String {
    let length = secret.chars().count();
    if length < 16 {
        return "****".to_owned();
    }
    let tail: String = secret.chars().skip(length - 4).collect();
    format!("****{tail}")
}

/// A courier connection with its credentials open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Its id.
    pub id: String,
    /// The carrier.
    pub courier_slug: Slug,
    /// The credentials (`Debug` shows keys only).
    pub credentials: Credentials,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its credentials last changed.
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    /// The credentials as shown to the merchant: secret values masked but for their last four
    /// characters.
    pub fn masked_credentials(&self, deps: &Deps) -> BTreeMap<String, String> {
        let secret_keys: Vec<&str> = deps
            .carriers
            .get(self.courier_slug.as_str())
            .map(|adapter| adapter.credential_fields().iter().filter(|f| f.secret).map(|f| f.key).collect())
            .unwrap_or_default();
        self.credentials
            .0
            .iter()
            .map(|(key, value)| {
                let shown = if secret_keys.contains(&key.as_str()) || secret_keys.is_empty() {
                    mask(value)
                } else {
                    value.clone()
                };
                (key.clone(), shown)
            })
            .collect()
    }
}

fn open_connection(deps: &Deps, stored: StoredConnection) -> Result<Connection, AppError> {
    let plain = deps.secrets.open(&stored.sealed_credentials).map_err(|e| AppError::Corrupt(e.to_string()))?;
    let credentials: BTreeMap<String, String> = serde_json::from_slice(&plain)
        .map_err(|e| AppError::Corrupt(format!("opened credentials are not a map: {e}")))?;
    Ok(Connection {
        id: stored.id,
        courier_slug: stored.courier_slug,
        credentials: Credentials(credentials),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    })
}

/// Seals the tenant's connections' credentials again under the current key (see
/// [`super::rotation`]).
pub(crate) async fn reseal(
    deps: &Deps,
    tenant: &TenantId,
    tally: &mut super::rotation::ResealTally,
) -> Result<(), AppError> {
    const PAGE: usize = 100;
    let mut after: Option<String> = None;
    loop {
        let page = deps.connections.list_connections(tenant, None, after.as_deref(), PAGE).await?;
        for mut stored in page.iter().cloned() {
            if let Some(sealed) = tally.count(super::rotation::reseal(deps, &stored.sealed_credentials)) {
                stored.sealed_credentials = sealed;
                deps.connections.update_connection(&stored).await?;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.id.clone()),
            _ => return Ok(()),
        }
    }
}

fn seal(deps: &Deps, credentials: &Credentials) -> Vec<u8> {
    deps.secrets.seal(&serde_json::to_vec(&credentials.0).expect("a string map serializes"))
}

/// Connects the tenant's account with `courier_slug`.
pub async fn create_connection(
    deps: &Deps,
    tenant: &TenantId,
    courier_slug: &str,
    credentials: &BTreeMap<String, serde_json::Value>,
) -> Result<Connection, AppError> {
    let slug = Slug::parse(courier_slug).map_err(|e| DomainError::invalid("courier_slug", e.reason))?;
    let credentials = check_credentials(&deps.carriers, &slug, credentials)?;
    let now = deps.clock.now();
    let stored = StoredConnection {
        tenant_id: tenant.clone(),
        id: uuid::Uuid::new_v4().simple().to_string(),
        courier_slug: slug,
        sealed_credentials: seal(deps, &credentials),
        created_at: now,
        updated_at: now,
    };
    deps.connections.insert_connection(&stored).await?;
    tracing::info!(tenant_id = %tenant, connection_id = %stored.id, slug = %stored.courier_slug, "courier connection created");
    Ok(Connection { id: stored.id, courier_slug: stored.courier_slug, credentials, created_at: now, updated_at: now })
}

/// One of the tenant's connections.
pub async fn get_connection(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Connection, AppError> {
    let stored = deps.connections.get_connection(tenant, id).await?.ok_or(AppError::ConnectionNotFound)?;
    open_connection(deps, stored)
}

/// Replaces a connection's credentials.
pub async fn update_connection(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    credentials: &BTreeMap<String, serde_json::Value>,
) -> Result<Connection, AppError> {
    let mut stored = deps.connections.get_connection(tenant, id).await?.ok_or(AppError::ConnectionNotFound)?;
    let credentials = check_credentials(&deps.carriers, &stored.courier_slug, credentials)?;
    stored.sealed_credentials = seal(deps, &credentials);
    stored.updated_at = deps.clock.now();
    deps.connections.update_connection(&stored).await.map_err(|e| match e {
        StoreError::NotFound => AppError::ConnectionNotFound,
        other => AppError::from(other),
    })?;
    Ok(Connection { credentials, ..open_connection(deps, stored)? })
}

/// Removes a connection and returns it as it was.
pub async fn delete_connection(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Connection, AppError> {
    let stored = deps.connections.delete_connection(tenant, id).await.map_err(|e| match e {
        StoreError::NotFound => AppError::ConnectionNotFound,
        other => AppError::from(other),
    })?;
    open_connection(deps, stored)
}

/// A page of the tenant's connections (of one carrier), oldest first, after `after_id`; the
/// last element is only there to tell that more follow.
pub async fn list_connections(
    deps: &Deps,
    tenant: &TenantId,
    slug: Option<&Slug>,
    after_id: Option<&str>,
    limit: usize,
) -> Result<Vec<Connection>, AppError> {
    let stored = deps.connections.list_connections(tenant, slug, after_id, limit).await?;
    stored.into_iter().map(|s| open_connection(deps, s)).collect()
}

/// The credentials to poll `slug` with for `tenant`: the connection the shipment names, else
/// the tenant's first connection with that carrier; `None` when the tenant has none (the
/// operator's own account is used then).
pub async fn credentials_for(
    deps: &Deps,
    tenant: &TenantId,
    slug: &Slug,
    connection_id: Option<&str>,
) -> Result<Option<(String, Credentials)>, AppError> {
    if let Some(id) = connection_id
        && let Some(stored) = deps.connections.get_connection(tenant, id).await?
        && stored.courier_slug == *slug
    {
        let connection = open_connection(deps, stored)?;
        return Ok(Some((connection.id, connection.credentials)));
    }
    let first = deps.connections.list_connections(tenant, Some(slug), None, 1).await?;
    match first.into_iter().next() {
        Some(stored) => {
            let connection = open_connection(deps, stored)?;
            Ok(Some((connection.id, connection.credentials)))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_show_at_most_a_quarter_of_a_secret() {
        assert_eq!(super::mask("123456789"), "****");
        assert_eq!(super::mask("123456789012345"), "****");
        assert_eq!(super::mask("1234567890123456"), "****3456");
        assert_eq!(super::mask("ключ-ключ-ключ-ключ"), "****ключ");
    }
}
