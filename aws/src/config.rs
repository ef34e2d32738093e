//! The Lambda functions' configuration, from environment variables the SAM template sets.

use porchlight::app::SecretBox;
use porchlight::carriers::WebhookSecrets;

/// A setting that is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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

/// Everything a function needs to know, read once at cold start.
#[derive(Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `QUEUE_PREFIX`: queues are `<prefix>carrier-updates` and so on.
    pub queue_prefix: String,
    /// `PORCHLIGHT_SECRET_KEY`: 64 hex characters sealing merchants' carrier credentials.
    pub secret_box: SecretBox,
    /// `PORCHLIGHT_WEBHOOK_SECRETS`: `SLUG=SECRET` pairs, comma-separated; may be empty.
    pub webhook_secrets: WebhookSecrets,
    /// `CARRIER_TIMEOUT_SECONDS`: when a carrier request is abandoned (default 20).
    pub carrier_timeout: std::time::Duration,
    /// `POLL_BATCH`: shipments one round of a `carrier-poller` run polls at once (default 500);
    /// a run goes through every shipment due, round after round.
    pub poll_batch: usize,
    /// `PORCHLIGHT_CARRIER_ACCOUNTS`: the operator's carrier accounts, JSON
    /// `{"<slug>": {"<field>": "<value>"}}`, for merchants without a connection of their own.
    pub carrier_accounts: std::collections::BTreeMap<String, porchlight::carriers::Credentials>,
    /// `PORCHLIGHT_ADMIN_TOKEN`: the operator's token for `/admin/...` (merchants and keys,
    /// quarantine); the admin API is off without it.
    pub admin_token: Option<String>,
    /// `RETENTION_DAYS`: how long a finished shipment is kept after its last change before the
    /// table's TTL deletes it; unset keeps everything.
    pub retention: Option<chrono::Duration>,
    /// `POLL_EVERY_MINUTES`: how often the schedule runs `carrier-poller` (default 1); each run
    /// covers that long, up to its scheduled time.
    pub poll_every: chrono::Duration,
}

impl Config {
    /// Reads the configuration with `var` (the process environment in the functions).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| var(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let secret_box = SecretBox::from_hex(&required("PORCHLIGHT_SECRET_KEY")?)
            .map_err(|e| ConfigError::Invalid { name: "PORCHLIGHT_SECRET_KEY", reason: e.to_string() })?;
        let mut webhook_secrets = WebhookSecrets::default();
        for entry in var("PORCHLIGHT_WEBHOOK_SECRETS").unwrap_or_default().split(',').filter(|e| !e.trim().is_empty()) {
            let (slug, secret) = WebhookSecrets::parse_entry(entry.trim())
                .map_err(|reason| ConfigError::Invalid { name: "PORCHLIGHT_WEBHOOK_SECRETS", reason })?;
            webhook_secrets.0.insert(slug, secret);
        }
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match var(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError::Invalid { name, reason: "must be a whole number above 0".into() }),
            }
        };
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            queue_prefix: var("QUEUE_PREFIX").unwrap_or_default(),
            secret_box,
            webhook_secrets,
            carrier_timeout: std::time::Duration::from_secs(number("CARRIER_TIMEOUT_SECONDS", 20)?),
            poll_batch: usize::try_from(number("POLL_BATCH", 500)?).unwrap_or(usize::MAX),
            carrier_accounts: match var("PORCHLIGHT_CARRIER_ACCOUNTS").filter(|v| !v.trim().is_empty()) {
                None => Default::default(),
                Some(json) => {
                    porchlight::app::operator_accounts(&porchlight::carriers::CarrierRegistry::standard(), &json)
                        .map_err(|e| ConfigError::Invalid {
                            name: "PORCHLIGHT_CARRIER_ACCOUNTS",
                            reason: e.to_string(),
                        })?
                }
            },
            admin_token: var("PORCHLIGHT_ADMIN_TOKEN").filter(|t| !t.is_empty()),
            retention: match var("RETENTION_DAYS").filter(|v| !v.is_empty()) {
                None => None,
                Some(_) => {
                    Some(chrono::Duration::days(i64::try_from(number("RETENTION_DAYS", 1)?).unwrap_or(i64::MAX)))
                }
            },
            poll_every: chrono::Duration::minutes(i64::try_from(number("POLL_EVERY_MINUTES", 1)?).unwrap_or(1)),
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn settings_are_read_and_missing_or_bad_ones_named() {
        let config = Config::from_vars(vars(&[
            ("TABLE_NAME", "porchlight"),
            ("QUEUE_PREFIX", "porchlight-prod-"),
            ("PORCHLIGHT_SECRET_KEY", KEY),
            ("PORCHLIGHT_WEBHOOK_SECRETS", "UPS=one, fedex=two"),
        ]))
        .expect("valid");
        assert_eq!((config.table_name.as_str(), config.queue_prefix.as_str()), ("porchlight", "porchlight-prod-"));
        assert_eq!(config.webhook_secrets.0.get("ups").map(String::as_str), Some("one"));
        assert_eq!(config.webhook_secrets.0.get("fedex").map(String::as_str), Some("two"));

        let missing = Config::from_vars(vars(&[("PORCHLIGHT_SECRET_KEY", KEY)])).err().expect("refused");
        assert_eq!(missing.to_string(), "TABLE_NAME is not set");
        let bad = Config::from_vars(vars(&[("TABLE_NAME", "t"), ("PORCHLIGHT_SECRET_KEY", "not-hex-secret")]))
            .err()
            .expect("refused");
        assert!(bad.to_string().starts_with("PORCHLIGHT_SECRET_KEY is invalid"), "{bad}");
        assert!(!bad.to_string().contains("not-hex-secret"), "the value is never echoed");
        let zero = Config::from_vars(vars(&[("TABLE_NAME", "t"), ("PORCHLIGHT_SECRET_KEY", KEY), ("POLL_BATCH", "0")]))
            .err()
            .expect("refused");
        assert_eq!(zero.to_string(), "POLL_BATCH is invalid: must be a whole number above 0");

        let base = [("TABLE_NAME", "t"), ("PORCHLIGHT_SECRET_KEY", KEY)];
        let with = |extra: (&'static str, &'static str)| {
            let mut all = base.to_vec();
            all.push(extra);
            Config::from_vars(vars(&all))
        };
        let accounts = r#"{"fedex": {"client_id": "id", "client_secret": "s3cret-value"}}"#;
        let config = with(("PORCHLIGHT_CARRIER_ACCOUNTS", accounts)).expect("valid");
        assert_eq!(config.carrier_accounts["fedex"].0["client_id"], "id");
        let partial = with(("PORCHLIGHT_CARRIER_ACCOUNTS", r#"{"fedex": {"client_secret": "s3cret-value"}}"#));
        let refused = partial.err().expect("refused").to_string();
        assert!(
            refused.starts_with("PORCHLIGHT_CARRIER_ACCOUNTS is invalid") && refused.contains("client_id"),
            "{refused}"
        );
        assert!(!refused.contains("s3cret-value"));
        let config = with(("RETENTION_DAYS", "90")).expect("valid");
        assert_eq!(config.retention, Some(chrono::Duration::days(90)));
        assert_eq!(with(("PORCHLIGHT_ADMIN_TOKEN", "")).expect("valid").admin_token, None);
    }
}
