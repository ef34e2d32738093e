//! The tracking page's use cases: a merchant's settings, and the shopper's lookups.
//!
//! Every merchant has a page: its settings are made (with a slug from its name) when the
//! merchant is created, or when first needed for a merchant made before pages existed.
//! Settings are cached per process for [`CACHE_TTL`]: a shopper's page and every tracking
//! answer's links read them, and a change made elsewhere shows within that time.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::cache::TtlCache;
use super::{AppError, Deps};
use crate::domain::{
    Banner, DomainError, Language, NavLink, Recommendation, Shipment, TenantId, TrackingNumber, TrackingPage, nullable,
    slug_from_name, validate_slug,
};
use crate::ports::PageWrite;
use crate::secrets::random_bytes;

/// How long a process trusts the settings it read.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Entries a cache keeps before it starts over.
const CACHE_CAPACITY: usize = 10_000;

/// Settings by tenant and tenants by slug, as recently read.
pub struct PageCache {
    by_tenant: TtlCache<TenantId, Arc<TrackingPage>>,
    by_slug: TtlCache<String, Option<TenantId>>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            by_tenant: TtlCache::new(CACHE_TTL, CACHE_CAPACITY),
            by_slug: TtlCache::new(CACHE_TTL, CACHE_CAPACITY),
        }
    }
}

/// The tenant's page settings, made with defaults if it has none yet.
pub async fn page_settings(deps: &Deps, tenant: &TenantId) -> Result<Arc<TrackingPage>, AppError> {
    if let Some(page) = deps.page_cache.by_tenant.fresh(tenant) {
        return Ok(page);
    }
    let page = match deps.pages.get_page(tenant).await? {
        Some(page) => page,
        None => create_default_page(deps, tenant).await?,
    };
    let page = Arc::new(page);
    deps.page_cache.by_tenant.remember(tenant.clone(), Arc::clone(&page));
    Ok(page)
}

/// The address of the tenant's tracking page (`<public url>/t/<slug>`), when the public URL
/// is known.
pub async fn page_address(deps: &Deps, tenant: &TenantId) -> Result<Option<String>, AppError> {
    let Some(base) = deps.public_url.as_deref() else { return Ok(None) };
    let page = page_settings(deps, tenant).await?;
    Ok(Some(format!("{base}/t/{}", page.slug)))
}

/// Stores default settings for a tenant that has none, with a free slug made from its name
/// (`acme`, then `acme-2` to `acme-9`, then `acme-<random>`). `NotFound` if there is no such
/// tenant.
pub(super) async fn create_default_page(deps: &Deps, tenant: &TenantId) -> Result<TrackingPage, AppError> {
    let record = deps.tenants.get_tenant(tenant).await?.ok_or(AppError::NotFound)?;
    let base = slug_from_name(&record.name);
    let candidates = std::iter::once(base.clone())
        .chain((2..10).map(|n| format!("{base}-{n}")))
        .chain(std::iter::repeat_with(|| format!("{base}-{}", hex::encode(random_bytes::<3>()))).take(5));
    for slug in candidates {
        if validate_slug(&slug).is_err() {
            continue;
        }
        let page = TrackingPage::default_for(&record.name, slug);
        if deps.pages.put_page(tenant, &page).await? == PageWrite::Stored {
            tracing::info!(tenant_id = %tenant, slug = %page.slug, "tracking page created");
            return Ok(page);
        }
    }
    Err(AppError::Internal("no free tracking page slug found".into()))
}

/// A partial change of the settings: absent fields keep their value, `null` clears an
/// optional one. Field names are the API's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the settings' field of the same name
pub struct PageUpdate {
    pub slug: Option<String>,
    pub brand_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub logo_url: Option<Option<String>>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub default_language: Option<Language>,
    pub languages: Option<Vec<Language>>,
    pub links: Option<Vec<NavLink>>,
    #[serde(default, deserialize_with = "nullable")]
    pub support_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub support_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub banner: Option<Option<Banner>>,
    pub recommendations: Option<Vec<Recommendation>>,
    pub hide_carrier: Option<bool>,
    pub returns_enabled: Option<bool>,
    /// The page's address, as `GET` answers it: read-only, accepted and ignored so that an
    /// answer can be sent back changed.
    #[serde(default, rename = "url")]
    pub _url: Option<serde::de::IgnoredAny>,
}

impl PageUpdate {
    fn apply(self, page: &mut TrackingPage) {
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(value) = self.$field { page.$field = value; })* };
        }
        set!(
            slug,
            brand_name,
            logo_url,
            primary_color,
            accent_color,
            default_language,
            links,
            support_email,
            support_url,
            banner,
            recommendations,
            hide_carrier,
            returns_enabled
        );
        if let Some(mut languages) = self.languages {
            languages.dedup();
            page.languages = languages;
        }
        page.primary_color.make_ascii_lowercase();
        page.accent_color.make_ascii_lowercase();
    }
}

/// The tenant's settings as `update` would make them, checked but not stored: what a
/// designer previews. `Invalid` naming the field that breaks a rule.
pub async fn draft_page_settings(deps: &Deps, tenant: &TenantId, update: PageUpdate) -> Result<TrackingPage, AppError> {
    let mut page = (*page_settings(deps, tenant).await?).clone();
    update.apply(&mut page);
    page.validate()?;
    Ok(page)
}

/// Changes the tenant's settings. `Invalid` naming the field that breaks a rule (`slug` when
/// another merchant has it); nothing is stored then.
pub async fn update_page_settings(
    deps: &Deps,
    tenant: &TenantId,
    update: PageUpdate,
) -> Result<Arc<TrackingPage>, AppError> {
    let mut page = (*page_settings(deps, tenant).await?).clone();
    let old_slug = page.slug.clone();
    update.apply(&mut page);
    page.validate()?;
    if deps.pages.put_page(tenant, &page).await? == PageWrite::SlugTaken {
        return Err(DomainError::invalid("slug", "is taken by another merchant").into());
    }
    tracing::info!(tenant_id = %tenant, slug = %page.slug, "tracking page settings changed");
    let page = Arc::new(page);
    deps.page_cache.by_tenant.remember(tenant.clone(), Arc::clone(&page));
    deps.page_cache.by_slug.remember(old_slug, None);
    deps.page_cache.by_slug.remember(page.slug.clone(), Some(tenant.clone()));
    Ok(page)
}

/// The merchant whose page is `slug`, with its settings; `None` for no such page.
pub async fn resolve_page(deps: &Deps, slug: &str) -> Result<Option<(TenantId, Arc<TrackingPage>)>, AppError> {
    if validate_slug(slug).is_err() {
        return Ok(None);
    }
    let tenant = match deps.page_cache.by_slug.fresh(&slug.to_owned()) {
        Some(tenant) => tenant,
        None => {
            let tenant = deps.pages.page_tenant(slug).await?;
            deps.page_cache.by_slug.remember(slug.to_owned(), tenant.clone());
            tenant
        }
    };
    let Some(tenant) = tenant else { return Ok(None) };
    let page = page_settings(deps, &tenant).await?;
    // A slug moved away within the cache's lifetime no longer routes here.
    Ok((page.slug == slug).then_some((tenant, page)))
}

/// What a shopper proves an order is theirs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderProof {
    /// An email address on the order (any customer's), compared case-insensitively.
    Email(String),
    /// The destination postal code, compared without spaces, dashes or case.
    PostalCode(String),
}

impl OrderProof {
    fn matches(&self, shipment: &Shipment) -> bool {
        match self {
            OrderProof::Email(email) => {
                let email = email.trim();
                !email.is_empty()
                    && shipment
                        .details
                        .customers
                        .iter()
                        .any(|c| c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            }
            OrderProof::PostalCode(code) => {
                let code = normalized_postal_code(code);
                !code.is_empty()
                    && shipment
                        .details
                        .destination_postal_code
                        .as_deref()
                        .is_some_and(|p| normalized_postal_code(p) == code)
            }
        }
    }
}

impl OrderProof {
    /// Whether it opens `order`: its customer's email, or its shipping address's postal code.
    pub fn opens(&self, order: &crate::domain::Order) -> bool {
        match self {
            OrderProof::Email(email) => {
                let email = email.trim();
                !email.is_empty() && order.customer.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))
            }
            OrderProof::PostalCode(code) => {
                let code = normalized_postal_code(code);
                !code.is_empty()
                    && order.shipping_address.postal_code.as_deref().is_some_and(|p| normalized_postal_code(p) == code)
            }
        }
    }
}

/// The order numbered `order_number` that `proof` opens (the returns portal's lookup), newest
/// first when several match. `None` when there is no such order or the proof does not match:
/// the two are not told apart.
pub async fn lookup_order_record(
    deps: &Deps,
    tenant: &TenantId,
    order_number: &str,
    proof: &OrderProof,
) -> Result<Option<crate::domain::Order>, AppError> {
    let order_number = order_number.trim();
    if order_number.is_empty() || order_number.chars().count() > 200 {
        return Ok(None);
    }
    let mut found = deps.orders.orders_by_number(tenant, order_number).await?;
    if found.is_empty() && !order_number.starts_with('#') {
        found = deps.orders.orders_by_number(tenant, &format!("#{order_number}")).await?;
    }
    Ok(found.into_iter().find(|order| proof.opens(order)))
}

fn normalized_postal_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The parcels of order `order_number` that `proof` opens, newest first. Empty when the order
/// does not exist or the proof does not match: the two are not told apart.
pub async fn lookup_order(
    deps: &Deps,
    tenant: &TenantId,
    order_number: &str,
    proof: &OrderProof,
) -> Result<Vec<Shipment>, AppError> {
    let order_number = order_number.trim();
    if order_number.is_empty() || order_number.chars().count() > 200 {
        return Ok(Vec::new());
    }
    let mut found = deps.shipments.find_by_order_number(tenant, order_number).await?;
    if found.is_empty() && !order_number.starts_with('#') {
        // Shoppers type "1001" for "#1001".
        found = deps.shipments.find_by_order_number(tenant, &format!("#{order_number}")).await?;
    }
    found.retain(|shipment| proof.matches(shipment));
    Ok(found)
}

/// The tenant's parcels with a leg numbered `number`, newest first; empty for a number that
/// is not a tracking number.
pub async fn lookup_number(deps: &Deps, tenant: &TenantId, number: &str) -> Result<Vec<Shipment>, AppError> {
    let Ok(number) = TrackingNumber::parse(number) else { return Ok(Vec::new()) };
    Ok(deps.shipments.find_by_number(tenant, &number).await?)
}

#[cfg(test)]
mod tests;

/// A shopper asks for a parcel's news from its page: every active shipment of the tenant with
/// `number` gets the email address and the phone number given (either may be empty, not both).
/// How many shipments were found; `Invalid` naming the field when one is malformed.
pub async fn subscribe_by_number(
    deps: &Deps,
    tenant: &TenantId,
    number: &str,
    email: &str,
    phone: &str,
) -> Result<usize, AppError> {
    let mut contacts = Vec::new();
    if !email.trim().is_empty() || phone.trim().is_empty() {
        contacts.push(crate::domain::Contact::email(email.trim())?);
    }
    if !phone.trim().is_empty() {
        contacts.push(crate::domain::Contact::sms(phone.trim())?);
    }
    let mut subscribed = 0;
    for found in lookup_number(deps, tenant, number).await?.into_iter().filter(|s| s.active) {
        let changed = super::update_tracking(deps, tenant, &found.id, |shipment| {
            for contact in &contacts {
                shipment.subscribe(contact)?;
            }
            Ok(())
        })
        .await;
        match changed {
            Ok(_) => {
                subscribed += 1;
                tracing::info!(tenant_id = %tenant, shipment_id = %found.id, "shopper subscribed on the tracking page");
            }
            Err(AppError::NotFound) => {} // deleted since it was found
            Err(other) => return Err(other),
        }
    }
    Ok(subscribed)
}

/// Whether the tenant sends SMS (an enabled notification rule uses it), so its pages offer
/// the phone field.
pub async fn offers_sms(deps: &Deps, tenant: &TenantId) -> Result<bool, AppError> {
    let (rules, _) = super::notification_rules::notification_rules(deps, tenant).await?;
    Ok(rules.rules.iter().any(|r| r.enabled && r.channels.contains(&crate::domain::Channel::Sms)))
}
