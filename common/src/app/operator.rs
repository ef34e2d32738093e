//! The operator's use cases, over any queue and any store: dead letters (the quarantine) listed
//! and replayed, merchants and their keys listed, queue depths. The CLI and the admin API both
//! call these.

use super::{AppError, Deps};
use crate::domain::TenantId;
use crate::ports::{ApiKeyRecord, DeadLetter, QueueName, StoreError, Tenant};

/// Dead letters of `queue`, oldest first, after `after_id`, at most `limit` (1 to 500).
pub async fn dead_letters(
    deps: &Deps,
    queue: QueueName,
    after_id: u64,
    limit: usize,
) -> Result<Vec<DeadLetter>, AppError> {
    Ok(deps.queue.dead_letters(queue, after_id, limit.clamp(1, 500)).await?)
}

/// Every dead letter of `queue`, oldest first.
pub async fn all_dead_letters(deps: &Deps, queue: QueueName) -> Result<Vec<DeadLetter>, AppError> {
    let mut letters = Vec::new();
    loop {
        let after = letters.last().map_or(0, |letter: &DeadLetter| letter.id);
        let page = dead_letters(deps, queue, after, 500).await?;
        if page.is_empty() {
            return Ok(letters);
        }
        letters.extend(page);
    }
}

/// Puts dead letter `id` of `queue` back on it, to be handled again. `NotFound` when `queue`
/// has no such dead letter.
pub async fn replay(deps: &Deps, queue: QueueName, id: u64) -> Result<(), AppError> {
    match deps.queue.redrive(queue, id).await {
        Ok(()) => {
            tracing::info!(queue = queue.as_str(), message_id = id, "dead letter replayed");
            Ok(())
        }
        Err(StoreError::NotFound) => Err(AppError::NotFound),
        Err(other) => Err(other.into()),
    }
}

/// A dead letter's body as JSON when it is JSON, else as a string (invalid UTF-8 replaced).
pub fn body_as_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Every merchant, oldest first.
pub async fn list_tenants(deps: &Deps) -> Result<Vec<Tenant>, AppError> {
    Ok(deps.tenants.list_tenants().await?)
}

/// A merchant's API keys (ids and dates, never the keys), oldest first. `NotFound` when there
/// is no such merchant.
pub async fn list_api_keys(deps: &Deps, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, AppError> {
    deps.tenants.get_tenant(tenant).await?.ok_or(AppError::NotFound)?;
    Ok(deps.tenants.list_api_keys(tenant).await?)
}

/// Messages waiting on each queue (dead letters aside), in [`QueueName::ALL`]'s order.
pub async fn queue_depths(deps: &Deps) -> Result<Vec<(QueueName, u64)>, AppError> {
    let mut depths = Vec::with_capacity(QueueName::ALL.len());
    for queue in QueueName::ALL {
        depths.push((queue, deps.queue.depth(queue).await?));
    }
    Ok(depths)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::SystemClock;

    #[tokio::test]
    async fn dead_letters_of_any_queue_are_listed_and_replayed_on_that_queue_only() {
        let store = SqliteStore::in_memory().expect("store");
        let deps = crate::testkit::deps(store, Arc::new(SystemClock));
        for queue in QueueName::ALL {
            let ids = deps.queue.send_batch(queue, &[b"{\"n\":1}".to_vec(), b"\xff".to_vec()]).await.expect("sent");
            for id in &ids {
                deps.queue.receive(queue, 10, chrono::Duration::minutes(1)).await.expect("leased");
                deps.queue.dead_letter(queue, *id, "broken").await.expect("dead");
            }
        }
        let letters = all_dead_letters(&deps, QueueName::StatusChanges).await.expect("listed");
        assert_eq!(letters.len(), 2);
        assert_eq!(body_as_json(&letters[0].body), serde_json::json!({"n": 1}));
        assert_eq!(body_as_json(&letters[1].body), serde_json::json!("\u{fffd}"));
        let carrier = all_dead_letters(&deps, QueueName::CarrierUpdates).await.expect("listed");
        assert!(matches!(replay(&deps, QueueName::StatusChanges, carrier[0].id).await, Err(AppError::NotFound)));
        replay(&deps, QueueName::StatusChanges, letters[0].id).await.expect("replayed");
        assert_eq!(all_dead_letters(&deps, QueueName::StatusChanges).await.expect("listed").len(), 1);
        let depths = queue_depths(&deps).await.expect("depths");
        assert_eq!(depths, [(QueueName::CarrierUpdates, 0), (QueueName::StatusChanges, 1)]);
    }

    #[tokio::test]
    async fn keys_of_an_unknown_merchant_are_not_found() {
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), Arc::new(SystemClock));
        assert!(matches!(list_api_keys(&deps, &TenantId::random()).await, Err(AppError::NotFound)));
        let (tenant, _) = super::super::create_tenant(&deps, "Acme").await.expect("tenant");
        assert_eq!(list_api_keys(&deps, &tenant.id).await.expect("keys").len(), 1);
        let listed = list_tenants(&deps).await.expect("tenants");
        assert_eq!(listed.iter().map(|t| &t.id).collect::<Vec<_>>(), [&tenant.id]);
    }
}

/// How long a merchant's rate limit is trusted once read (a change reaches every instance
/// within it).
pub const RATE_LIMIT_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// The highest rate limit the operator may set.
pub const MAX_RATE_LIMIT: u32 = 100_000;

/// A merchant's own rate limit, as stored.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct RateLimitDocument {
    per_second: Option<u32>,
}

/// Sets (or with `None` removes) the merchant's own limit of requests per second per API key,
/// which replaces the operator's default for its keys. `NotFound` for no such merchant.
pub async fn set_rate_limit(deps: &Deps, tenant: &TenantId, per_second: Option<u32>) -> Result<Option<u32>, AppError> {
    deps.tenants.get_tenant(tenant).await?.ok_or(AppError::NotFound)?;
    if per_second.is_some_and(|n| !(1..=MAX_RATE_LIMIT).contains(&n)) {
        return Err(
            crate::domain::DomainError::invalid("per_second", format!("must be from 1 to {MAX_RATE_LIMIT}")).into()
        );
    }
    super::documents::change(deps, tenant, crate::ports::SettingsKind::RateLimit, RateLimitDocument::default, |doc| {
        doc.per_second = per_second;
        Ok(())
    })
    .await?;
    deps.rate_limits.remember(tenant.clone(), per_second);
    tracing::info!(tenant_id = %tenant, per_second, "merchant rate limit set");
    Ok(per_second)
}

/// The merchant's own rate limit, if the operator set one (read at most every
/// [`RATE_LIMIT_TTL`]).
pub async fn rate_limit_of(deps: &Deps, tenant: &TenantId) -> Result<Option<u32>, AppError> {
    if let Some(known) = deps.rate_limits.fresh(tenant) {
        return Ok(known);
    }
    let (document, _) =
        super::documents::read::<RateLimitDocument>(deps, tenant, crate::ports::SettingsKind::RateLimit).await?;
    let per_second = document.and_then(|d| d.per_second);
    deps.rate_limits.remember(tenant.clone(), per_second);
    Ok(per_second)
}
