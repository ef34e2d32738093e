//! Storefront connectors: a merchant's Shopify or WooCommerce store, whose webhooks bring
//! orders and their parcels in (`intake.rs` accepts them, `sync.rs` stores what they say) and
//! whose API a backfill reads (`backfill.rs`). Secrets are sealed like carrier credentials and
//! masked in every answer.

mod backfill;
mod intake;
mod sync;

use std::collections::BTreeMap;

pub use backfill::{BackfillStep, MAX_BACKFILL_DAYS, StepOutcome, run_backfill_step, start_backfill};
pub use intake::{Accepted, ConnectorIntakeError, StorefrontDelivery, accept_storefront_webhook};
pub use sync::{SyncFailure, SyncOutcome, apply_storefront_event, handle_storefront_delivery};

use super::connections::mask;
use super::{AppError, Deps};
use crate::domain::{DomainError, TargetPolicy, TenantId, validate_target};
use crate::ports::{ConnectorRecord, MAX_CONNECTORS, StoreError, StoredConnector};
use crate::storefronts::Platform;

/// The secrets each platform's connection takes, all required.
fn secret_fields(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Shopify => &["client_secret", "access_token"],
        Platform::Woocommerce => &["webhook_secret", "consumer_key", "consumer_secret"],
    }
}

/// The secret a platform signs its webhooks with.
fn signing_secret(platform: Platform) -> &'static str {
    match platform {
        Platform::Shopify => "client_secret",
        Platform::Woocommerce => "webhook_secret",
    }
}

/// A connector with its secrets open.
#[derive(Clone, PartialEq, Eq)]
pub struct Connector {
    /// The owner.
    pub tenant_id: TenantId,
    /// Its id.
    pub id: String,
    /// The secrets, by field name.
    pub secrets: BTreeMap<String, String>,
    /// Platform, store, times, backfill.
    pub record: ConnectorRecord,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("id", &self.id).field("record", &self.record).finish_non_exhaustive()
    }
}

impl Connector {
    /// The secrets as answers show them.
    pub fn masked_secrets(&self) -> BTreeMap<String, String> {
        self.secrets.iter().map(|(key, value)| (key.clone(), mask(value))).collect()
    }

    /// The path the platform posts webhooks to.
    pub fn webhook_path(&self) -> String {
        format!("/connectors/{}/{}", self.record.platform.as_str(), self.id)
    }

    /// The secret webhooks are signed with.
    pub fn signing_secret(&self) -> &str {
        self.secrets.get(signing_secret(self.record.platform)).map_or("", String::as_str)
    }

    /// The secret `field`, empty when absent.
    pub fn secret(&self, field: &str) -> &str {
        self.secrets.get(field).map_or("", String::as_str)
    }
}

fn open(deps: &Deps, stored: StoredConnector) -> Result<Connector, AppError> {
    let plain = deps.secrets.open(&stored.sealed_secrets).map_err(|e| AppError::Corrupt(e.to_string()))?;
    let secrets = serde_json::from_slice(&plain)
        .map_err(|e| AppError::Corrupt(format!("opened connector secrets are not a map: {e}")))?;
    Ok(Connector { tenant_id: stored.tenant_id, id: stored.id, secrets, record: stored.record })
}

/// Seals the tenant's connectors' secrets again under the current key (see
/// [`super::rotation`]).
pub(crate) async fn reseal(
    deps: &Deps,
    tenant: &TenantId,
    tally: &mut super::rotation::ResealTally,
) -> Result<(), AppError> {
    for mut stored in deps.connectors.list_connectors(tenant).await? {
        if let Some(sealed) = tally.count(super::rotation::reseal(deps, &stored.sealed_secrets)) {
            stored.sealed_secrets = sealed;
            deps.connectors.update_connector(&stored).await?;
        }
    }
    Ok(())
}

fn seal(deps: &Deps, connector: &Connector) -> StoredConnector {
    let sealed = deps.secrets.seal(&serde_json::to_vec(&connector.secrets).expect("a string map serializes"));
    StoredConnector {
        tenant_id: connector.tenant_id.clone(),
        id: connector.id.clone(),
        sealed_secrets: sealed,
        record: connector.record.clone(),
    }
}

/// A Shopify shop's domain, lower-cased: `<name>.myshopify.com`. Where the operator allows
/// private targets (development), an `http://` origin of a mock server is taken too.
fn shop_domain(raw: &str, policy: TargetPolicy) -> Result<String, AppError> {
    let domain = raw.trim().to_ascii_lowercase();
    if policy == TargetPolicy::AllowPrivate && domain.starts_with("http://") {
        return Ok(validate_target(&domain, policy)
            .map_err(|e| DomainError::invalid("shop_domain", e.reason))?
            .as_str()
            .trim_end_matches('/')
            .to_owned());
    }
    let name = domain.strip_suffix(".myshopify.com").unwrap_or("");
    let ok = (1..=60).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !ok {
        return Err(DomainError::invalid("shop_domain", "must be a shop's domain such as example.myshopify.com").into());
    }
    Ok(domain)
}

/// A WooCommerce site's URL (an https URL on a public address), without a trailing slash.
fn site_url(raw: &str, policy: TargetPolicy) -> Result<String, AppError> {
    let url = validate_target(raw.trim(), policy).map_err(|e| DomainError::invalid("site_url", e.reason))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(DomainError::invalid("site_url", "must not have a query or a fragment").into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Connects a store: `platform` and its store field (`shop_domain` or `site_url`) and secrets,
/// as `POST /porchlight/v1/connectors` takes them. Unknown fields are refused by name.
pub async fn create_connector(
    deps: &Deps,
    tenant: &TenantId,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Connector, AppError> {
    let text = |field: &'static str| -> Result<String, AppError> {
        match body.get(field) {
            None | Some(serde_json::Value::Null) => Err(AppError::Required(field)),
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() && s.len() <= 1024 => Ok(s.trim().to_owned()),
            Some(_) => Err(DomainError::invalid(field, "must be a non-empty string of at most 1024 characters").into()),
        }
    };
    let platform_name = text("platform")?;
    let platform = Platform::parse(&platform_name)
        .ok_or_else(|| DomainError::invalid("platform", "must be shopify or woocommerce"))?;
    let (shop_field, shop) = match platform {
        Platform::Shopify => ("shop_domain", shop_domain(&text("shop_domain")?, deps.webhook_targets)?),
        Platform::Woocommerce => ("site_url", site_url(&text("site_url")?, deps.webhook_targets)?),
    };
    let fields = secret_fields(platform);
    if let Some(unknown) = body.keys().find(|k| *k != "platform" && *k != shop_field && !fields.contains(&k.as_str())) {
        return Err(
            DomainError::invalid(unknown.clone(), format!("is not a field of a {platform_name} connector")).into()
        );
    }
    let mut secrets = BTreeMap::new();
    for field in fields {
        secrets.insert((*field).to_owned(), text(field)?);
    }
    if deps.connectors.list_connectors(tenant).await?.len() >= MAX_CONNECTORS {
        return Err(AppError::Unprocessable(format!("a merchant may have at most {MAX_CONNECTORS} connectors")));
    }
    let now = deps.clock.now();
    let connector = Connector {
        tenant_id: tenant.clone(),
        id: format!("con_{}", uuid::Uuid::new_v4().simple()),
        secrets,
        record: ConnectorRecord {
            platform,
            shop,
            created_at: now,
            updated_at: now,
            last_webhook_at: None,
            backfill: None,
        },
    };
    deps.connectors.insert_connector(&seal(deps, &connector)).await?;
    tracing::info!(tenant_id = %tenant, connector_id = %connector.id, platform = platform.as_str(), "connector created");
    Ok(connector)
}

/// One of the tenant's connectors.
pub async fn get_connector(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Connector, AppError> {
    let stored = deps.connectors.get_connector(tenant, id).await?.ok_or(AppError::Missing("connector"))?;
    open(deps, stored)
}

/// The tenant's connectors, oldest first.
pub async fn list_connectors(deps: &Deps, tenant: &TenantId) -> Result<Vec<Connector>, AppError> {
    deps.connectors.list_connectors(tenant).await?.into_iter().map(|stored| open(deps, stored)).collect()
}

/// Disconnects a store: its webhooks are refused from now on; its orders and trackings stay.
pub async fn delete_connector(deps: &Deps, tenant: &TenantId, id: &str) -> Result<Connector, AppError> {
    let connector = get_connector(deps, tenant, id).await?;
    deps.connectors.delete_connector(tenant, id).await.map_err(|e| match e {
        StoreError::NotFound => AppError::Missing("connector"),
        other => AppError::from(other),
    })?;
    tracing::info!(tenant_id = %tenant, connector_id = %id, "connector deleted");
    Ok(connector)
}

/// Stores `connector`'s record as it is now (its secrets unchanged).
pub(crate) async fn save_record(deps: &Deps, connector: &Connector) -> Result<(), AppError> {
    deps.connectors.update_connector(&seal(deps, connector)).await.map_err(|e| match e {
        StoreError::NotFound => AppError::Missing("connector"),
        other => AppError::from(other),
    })
}
