//! One set of settings for both runtimes: the same names, units and defaults whether they come
//! from `porchlight serve`'s flags and environment or from a Lambda function's environment.
//!
//! The library never reads the environment: a runtime hands [`Settings::from_vars`] a lookup
//! (flags first, then the environment, locally; the environment on Lambda). Errors name the
//! variable and what is wrong with it, never its value (some are secrets).

use std::collections::BTreeMap;
use std::fmt;

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::carriers::{CarrierRegistry, Credentials, WebhookSecrets, operator_accounts};
use crate::couriers;
use crate::domain::{PollPolicy, Tag, TargetPolicy, TenantId};
use crate::secrets::SecretBox;

/// Every setting's variable, as the environment and `infra/template.yaml` name it.
pub mod var {
    /// 64 hex characters: the key sealing merchants' carrier credentials.
    pub const SECRET_KEY: &str = "PORCHLIGHT_SECRET_KEY";
    /// Earlier sealing keys, comma-separated 64-hex keys: they still open what they sealed
    /// (after a rotation, until everything is sealed again and links sent have expired).
    pub const PREVIOUS_SECRET_KEYS: &str = "PORCHLIGHT_PREVIOUS_SECRET_KEYS";
    /// `SLUG=SECRET` pairs, comma-separated: the secrets carriers sign webhooks with.
    pub const WEBHOOK_SECRETS: &str = "PORCHLIGHT_WEBHOOK_SECRETS";
    /// The operator's token for `/admin/...`; the admin API is off without one.
    pub const ADMIN_TOKEN: &str = "PORCHLIGHT_ADMIN_TOKEN";
    /// JSON `{"<slug>": {"<field>": "<value>"}}`: the operator's own carrier accounts.
    pub const CARRIER_ACCOUNTS: &str = "PORCHLIGHT_CARRIER_ACCOUNTS";
    /// Seconds before a carrier request is abandoned.
    pub const CARRIER_TIMEOUT: &str = "PORCHLIGHT_CARRIER_TIMEOUT";
    /// Seconds between poll runs.
    pub const POLL_EVERY: &str = "PORCHLIGHT_POLL_EVERY";
    /// Shipments one round of a poll run takes at most.
    pub const POLL_BATCH: &str = "PORCHLIGHT_POLL_BATCH";
    /// Poll interval overrides, comma-separated (see [`super::Settings::poll_policy`]).
    pub const POLL_INTERVALS: &str = "PORCHLIGHT_POLL_INTERVALS";
    /// Days a finished shipment is kept after its last change; unset keeps everything.
    pub const RETENTION_DAYS: &str = "PORCHLIGHT_RETENTION_DAYS";
    /// Days a finished shipment keeps its shoppers' personal fields after its last change;
    /// unset keeps them as long as the shipment.
    pub const PERSONAL_DATA_DAYS: &str = "PORCHLIGHT_PERSONAL_DATA_DAYS";
    /// The address shoppers reach the tracking pages at (`https://track.example.com`).
    pub const PUBLIC_URL: &str = "PORCHLIGHT_PUBLIC_URL";
    /// Tracking page lookups one client address may make per minute.
    pub const PAGE_LOOKUPS_PER_MINUTE: &str = "PORCHLIGHT_PAGE_LOOKUPS_PER_MINUTE";
    /// Console sign-ins per client address and minute.
    pub const CONSOLE_SIGN_INS_PER_MINUTE: &str = "PORCHLIGHT_CONSOLE_SIGN_INS_PER_MINUTE";
    /// Public page requests (tracking pages, the returns portal, unsubscribing) per client
    /// address and minute.
    pub const PAGE_VIEWS_PER_MINUTE: &str = "PORCHLIGHT_PAGE_VIEWS_PER_MINUTE";
    /// Carrier and storefront webhook requests per sending address and minute.
    pub const WEBHOOKS_PER_MINUTE: &str = "PORCHLIGHT_WEBHOOKS_PER_MINUTE";
    /// Requests per second one API key may make to the merchant APIs; unset for no limit.
    pub const RATE_LIMIT: &str = "PORCHLIGHT_RATE_LIMIT";
    /// `true` lets merchants' webhooks target http, any port and private addresses
    /// (development only).
    pub const ALLOW_PRIVATE_WEBHOOKS: &str = "PORCHLIGHT_ALLOW_PRIVATE_WEBHOOKS";
}

/// Default seconds before a carrier request is abandoned.
pub const DEFAULT_CARRIER_TIMEOUT_SECONDS: u64 = 20;
/// Default seconds between poll runs (EventBridge schedules run at most once a minute).
pub const DEFAULT_POLL_EVERY_SECONDS: u64 = 60;
/// Default shipments per poll round.
pub const DEFAULT_POLL_BATCH: u64 = 500;
/// Default tracking page lookups per client address and minute: a shopper trying a few
/// spellings, a household behind one address, never a crawl of order numbers.
pub const DEFAULT_PAGE_LOOKUPS_PER_MINUTE: u64 = 30;
/// Console sign-ins (and reset requests) per client address and minute.
pub const DEFAULT_CONSOLE_SIGN_INS_PER_MINUTE: u64 = 10;
/// Default public page requests per client address and minute: ten a second, far above a
/// shopper's clicking, well below a flood.
pub const DEFAULT_PAGE_VIEWS_PER_MINUTE: u64 = 600;
/// Default webhook requests per sending address and minute: carriers push bursts from few
/// addresses, so the limit only stops a flood.
pub const DEFAULT_WEBHOOKS_PER_MINUTE: u64 = 12_000;

/// A setting that is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unreadable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the value itself: some are secrets).
        reason: String,
    },
}

/// The SHA-256 of the operator's admin token; the token itself is not kept.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AdminToken(pub [u8; 32]);

impl AdminToken {
    /// The digest of `token`.
    pub fn of(token: &str) -> Self {
        AdminToken(Sha256::digest(token.as_bytes()).into())
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<digest>)")
    }
}

/// The settings both runtimes share. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PORCHLIGHT_SECRET_KEY`. Required on Lambda; `serve` keeps one beside its database
    /// when none is given.
    pub secret_key: Option<SecretBox>,
    /// `PORCHLIGHT_WEBHOOK_SECRETS`: only carriers that take pushes.
    pub webhook_secrets: WebhookSecrets,
    /// `PORCHLIGHT_ADMIN_TOKEN`, as its digest.
    pub admin_token: Option<AdminToken>,
    /// `PORCHLIGHT_CARRIER_ACCOUNTS`, each checked as a merchant's connection is.
    pub carrier_accounts: BTreeMap<String, Credentials>,
    /// `PORCHLIGHT_CARRIER_TIMEOUT` seconds (default 20).
    pub carrier_timeout: std::time::Duration,
    /// `PORCHLIGHT_POLL_EVERY` seconds (default 60): how often a poll run starts; each covers
    /// the time since the one before.
    pub poll_every: Duration,
    /// `PORCHLIGHT_POLL_BATCH` (default 500): shipments per round of a run.
    pub poll_batch: usize,
    /// The default cadences with `PORCHLIGHT_POLL_INTERVALS` applied: `SLUG=SECONDS` for a
    /// carrier, `TENANT_ID:SLUG=SECONDS` for one tenant's shipments with it, `TENANT_ID:*=SECONDS`
    /// for all of a tenant's; every polled status gets that interval.
    pub poll_policy: PollPolicy,
    /// `PORCHLIGHT_RETENTION_DAYS`: how long a finished shipment is kept after its last change.
    pub retention: Option<Duration>,
    /// `PORCHLIGHT_PERSONAL_DATA_DAYS`: how long a finished shipment keeps its shoppers'
    /// personal fields after its last change (`app::privacy::expire_personal_data`); no longer
    /// than `retention`.
    pub personal_data_retention: Option<Duration>,
    /// `PORCHLIGHT_PUBLIC_URL`: the origin (scheme, host, optional port and path prefix, no
    /// trailing slash) tracking page links are built from; without it trackings carry none.
    pub public_url: Option<String>,
    /// `PORCHLIGHT_PAGE_LOOKUPS_PER_MINUTE` (default 30): per client address.
    pub page_lookups_per_minute: u32,
    /// `PORCHLIGHT_CONSOLE_SIGN_INS_PER_MINUTE` (default 10): console sign-ins, resets and
    /// one-time links used, per client address.
    pub console_sign_ins_per_minute: u32,
    /// `PORCHLIGHT_PAGE_VIEWS_PER_MINUTE` (default 600): public page requests per client
    /// address.
    pub page_views_per_minute: u32,
    /// `PORCHLIGHT_WEBHOOKS_PER_MINUTE` (default 12,000): webhook requests per sending address.
    pub webhooks_per_minute: u32,
    /// `PORCHLIGHT_ALLOW_PRIVATE_WEBHOOKS` (`true`/`false`, default false): which webhook
    /// targets merchants may register and Porchlight connects to.
    pub webhook_targets: TargetPolicy,
    /// `PORCHLIGHT_RATE_LIMIT`: requests per second one API key may make to the merchant APIs
    /// (at least 1); `None`, the default, for no limit.
    pub rate_limit: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secret_key: None,
            webhook_secrets: WebhookSecrets::default(),
            admin_token: None,
            carrier_accounts: BTreeMap::new(),
            carrier_timeout: std::time::Duration::from_secs(DEFAULT_CARRIER_TIMEOUT_SECONDS),
            poll_every: Duration::seconds(DEFAULT_POLL_EVERY_SECONDS as i64),
            poll_batch: DEFAULT_POLL_BATCH as usize,
            poll_policy: PollPolicy::default(),
            retention: None,
            personal_data_retention: None,
            public_url: None,
            page_lookups_per_minute: DEFAULT_PAGE_LOOKUPS_PER_MINUTE as u32,
            console_sign_ins_per_minute: DEFAULT_CONSOLE_SIGN_INS_PER_MINUTE as u32,
            page_views_per_minute: DEFAULT_PAGE_VIEWS_PER_MINUTE as u32,
            webhooks_per_minute: DEFAULT_WEBHOOKS_PER_MINUTE as u32,
            webhook_targets: TargetPolicy::PublicOnly,
            rate_limit: None,
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid { name, reason: reason.into() }
}

impl Settings {
    /// Reads every setting with `var` (a variable's value, `None` when unset); an empty value
    /// counts as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64| -> Result<u64, SettingsError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(name, "must be a whole number above 0")),
            }
        };
        let days = |name: &'static str| -> Result<Option<Duration>, SettingsError> {
            match var(name) {
                None => Ok(None),
                Some(_) => Ok(Some(Duration::days(i64::try_from(number(name, 1)?).unwrap_or(i64::MAX)))),
            }
        };
        let (retention, personal_data_retention) = (days(var::RETENTION_DAYS)?, days(var::PERSONAL_DATA_DAYS)?);
        if let (Some(all), Some(personal)) = (retention, personal_data_retention)
            && personal > all
        {
            return Err(invalid(var::PERSONAL_DATA_DAYS, format!("must not exceed {}", var::RETENTION_DAYS)));
        }
        let carriers = CarrierRegistry::standard();
        let previous = var(var::PREVIOUS_SECRET_KEYS).unwrap_or_default();
        let previous: Vec<&str> = previous.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
        if !previous.is_empty() && var(var::SECRET_KEY).is_none() {
            return Err(invalid(var::PREVIOUS_SECRET_KEYS, format!("needs {} (the current key) too", var::SECRET_KEY)));
        }
        let secret_key = var(var::SECRET_KEY)
            .map(|hex| {
                SecretBox::from_hex(&hex).map_err(|e| invalid(var::SECRET_KEY, e.to_string()))?;
                SecretBox::with_previous(&hex, &previous).map_err(|e| invalid(var::PREVIOUS_SECRET_KEYS, e.to_string()))
            })
            .transpose()?;
        let mut webhook_secrets = WebhookSecrets::default();
        for entry in var(var::WEBHOOK_SECRETS).unwrap_or_default().split(',').filter(|e| !e.trim().is_empty()) {
            let (slug, secret) =
                WebhookSecrets::parse_entry(entry.trim()).map_err(|r| invalid(var::WEBHOOK_SECRETS, r))?;
            if carriers.get(&slug).and_then(|adapter| adapter.webhook_auth()).is_none() {
                return Err(invalid(var::WEBHOOK_SECRETS, format!("no carrier takes webhooks as {slug:?}")));
            }
            webhook_secrets.0.insert(slug, secret);
        }
        let carrier_accounts = match var(var::CARRIER_ACCOUNTS) {
            None => BTreeMap::new(),
            Some(json) => {
                operator_accounts(&carriers, &json).map_err(|e| invalid(var::CARRIER_ACCOUNTS, e.to_string()))?
            }
        };
        let mut poll_policy = PollPolicy::default();
        for entry in var(var::POLL_INTERVALS).unwrap_or_default().split(',').filter(|e| !e.trim().is_empty()) {
            apply_interval(&mut poll_policy, entry.trim()).map_err(|r| invalid(var::POLL_INTERVALS, r))?;
        }
        Ok(Settings {
            secret_key,
            webhook_secrets,
            admin_token: var(var::ADMIN_TOKEN).map(|token| AdminToken::of(&token)),
            carrier_accounts,
            carrier_timeout: std::time::Duration::from_secs(number(
                var::CARRIER_TIMEOUT,
                DEFAULT_CARRIER_TIMEOUT_SECONDS,
            )?),
            poll_every: Duration::seconds(
                i64::try_from(number(var::POLL_EVERY, DEFAULT_POLL_EVERY_SECONDS)?).unwrap_or(i64::MAX),
            ),
            poll_batch: usize::try_from(number(var::POLL_BATCH, DEFAULT_POLL_BATCH)?).unwrap_or(usize::MAX),
            poll_policy,
            retention,
            personal_data_retention,
            public_url: var(var::PUBLIC_URL).map(|url| public_url(&url)).transpose()?,
            page_lookups_per_minute: u32::try_from(number(
                var::PAGE_LOOKUPS_PER_MINUTE,
                DEFAULT_PAGE_LOOKUPS_PER_MINUTE,
            )?)
            .unwrap_or(u32::MAX),
            console_sign_ins_per_minute: u32::try_from(number(
                var::CONSOLE_SIGN_INS_PER_MINUTE,
                DEFAULT_CONSOLE_SIGN_INS_PER_MINUTE,
            )?)
            .unwrap_or(u32::MAX),
            page_views_per_minute: u32::try_from(number(var::PAGE_VIEWS_PER_MINUTE, DEFAULT_PAGE_VIEWS_PER_MINUTE)?)
                .unwrap_or(u32::MAX),
            webhooks_per_minute: u32::try_from(number(var::WEBHOOKS_PER_MINUTE, DEFAULT_WEBHOOKS_PER_MINUTE)?)
                .unwrap_or(u32::MAX),
            webhook_targets: match var(var::ALLOW_PRIVATE_WEBHOOKS).as_deref().map(str::trim) {
                None | Some("false") => TargetPolicy::PublicOnly,
                Some("true") => TargetPolicy::AllowPrivate,
                Some(_) => return Err(invalid(var::ALLOW_PRIVATE_WEBHOOKS, "must be true or false")),
            },
            rate_limit: var(var::RATE_LIMIT)
                .map(|_| number(var::RATE_LIMIT, 1))
                .transpose()?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        })
    }
}

/// An `http(s)` origin with an optional path prefix, without query, fragment or trailing
/// slash.
fn public_url(raw: &str) -> Result<String, SettingsError> {
    let wrong = |reason: &str| invalid(var::PUBLIC_URL, reason);
    let parsed = url::Url::parse(raw.trim()).map_err(|_| wrong("is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(wrong("must be an http or https URL"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(wrong("must not carry a query, fragment or user name"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Applies one `SCOPE=SECONDS` override (see [`Settings::poll_policy`]) to `policy`.
fn apply_interval(policy: &mut PollPolicy, raw: &str) -> Result<(), String> {
    let (scope, seconds) = raw.split_once('=').ok_or_else(|| format!("{raw:?} is not SLUG=SECONDS"))?;
    let seconds: i64 = seconds
        .trim()
        .parse()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{:?} is not a whole number of seconds", seconds.trim()))?;
    let (tenant, slug) = match scope.split_once(':') {
        Some((tenant, slug)) => (Some(TenantId::parse(tenant.trim()).map_err(|e| e.to_string())?), slug.trim()),
        None => (None, scope.trim()),
    };
    let slug = (slug != "*").then(|| slug.to_ascii_lowercase());
    if let Some(slug) = &slug
        && couriers::find(slug).is_none()
    {
        return Err(format!("{slug:?} is not a courier slug (see GET /tracking/2026-07/couriers/all)"));
    }
    let every: BTreeMap<Tag, Duration> =
        policy.intervals.keys().map(|tag| (*tag, Duration::seconds(seconds))).collect();
    match (tenant, slug) {
        (None, Some(slug)) => {
            policy.carrier_overrides.insert(slug, every);
        }
        (Some(tenant), slug) => {
            policy.tenant_overrides.insert((tenant, slug), every);
        }
        (None, None) => return Err("a carrier-wide override needs a slug".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
