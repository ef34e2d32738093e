//! The Lambda functions' configuration: the shared [`Settings`] (the same variables
//! `porchlight serve` reads), plus where the table and queues are. Read once at cold start.

use porchlight::app::SecretBox;
use porchlight::settings::{Settings, SettingsError, var};

/// Everything a function needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `QUEUE_PREFIX`: queues are `<prefix>carrier-updates` and so on.
    pub queue_prefix: String,
    /// `PORCHLIGHT_SECRET_KEY`, required here: there is no folder to keep a key in.
    pub secret_box: SecretBox,
    /// Every other setting, as [`Settings::from_vars`] reads them.
    pub settings: Settings,
    /// `PORCHLIGHT_MAIL_FROM`: the SES identity notifications come from.
    pub mail_from: String,
    /// `PORCHLIGHT_SES_CONFIGURATION_SET`: the SES configuration set emails are sent with,
    /// whose event destination reports bounces and complaints back to the `notifier`.
    pub ses_configuration_set: Option<String>,
    /// `PORCHLIGHT_BLOB_BUCKET`: the S3 bucket shoppers' photos of returned items are kept in.
    pub blob_bucket: Option<String>,
}

impl Config {
    /// Reads the configuration with `var` (the process environment in the functions).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, SettingsError> {
        let required = |name: &'static str| var(name).filter(|v| !v.is_empty()).ok_or(SettingsError::Missing(name));
        let table_name = required("TABLE_NAME")?;
        let settings = Settings::from_vars(&var)?;
        let secret_box = settings.secret_key.clone().ok_or(SettingsError::Missing(var::SECRET_KEY))?;
        let mail_from =
            var("PORCHLIGHT_MAIL_FROM").filter(|v| !v.is_empty()).unwrap_or_else(|| "notifications@localhost".into());
        Ok(Config {
            table_name,
            queue_prefix: var("QUEUE_PREFIX").unwrap_or_default(),
            secret_box,
            settings,
            mail_from,
            ses_configuration_set: var("PORCHLIGHT_SES_CONFIGURATION_SET").filter(|v| !v.is_empty()),
            blob_bucket: var("PORCHLIGHT_BLOB_BUCKET").filter(|v| !v.is_empty()),
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, SettingsError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`Config::from_vars`] for a function that seals and opens nothing (the shoppers'
    /// pages): it is not given the secret key, and gets a random one it never uses, so that a
    /// public-facing function holds nothing that opens merchants' credentials.
    pub fn without_secret_key(var: impl Fn(&str) -> Option<String>) -> Result<Config, SettingsError> {
        let random = porchlight::secrets::random_bytes::<32>();
        let key = hex::encode(random);
        Config::from_vars(|name| if name == var::SECRET_KEY { Some(key.clone()) } else { var(name) })
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
    fn the_table_and_the_secret_key_are_required_and_the_shared_settings_read() {
        let config = Config::from_vars(vars(&[
            ("TABLE_NAME", "porchlight"),
            ("QUEUE_PREFIX", "porchlight-prod-"),
            (var::SECRET_KEY, KEY),
            (var::POLL_EVERY, "300"),
        ]))
        .expect("valid");
        assert_eq!((config.table_name.as_str(), config.queue_prefix.as_str()), ("porchlight", "porchlight-prod-"));
        assert_eq!(config.settings.poll_every, chrono::Duration::seconds(300));

        let missing = Config::from_vars(vars(&[(var::SECRET_KEY, KEY)])).expect_err("refused");
        assert_eq!(missing.to_string(), "TABLE_NAME is not set");
        let keyless = Config::from_vars(vars(&[("TABLE_NAME", "t")])).expect_err("refused");
        assert_eq!(keyless.to_string(), "PORCHLIGHT_SECRET_KEY is not set");
        let pages = Config::without_secret_key(vars(&[("TABLE_NAME", "t")])).expect("no key needed");
        let other = Config::without_secret_key(vars(&[("TABLE_NAME", "t"), (var::SECRET_KEY, KEY)])).expect("valid");
        let given = Config::from_vars(vars(&[("TABLE_NAME", "t"), (var::SECRET_KEY, KEY)])).expect("valid");
        let sealed = given.secret_box.seal(b"credentials");
        assert!(
            pages.secret_box.open(&sealed).is_err() && other.secret_box.open(&sealed).is_err(),
            "never the real key"
        );
        let zero = Config::from_vars(vars(&[("TABLE_NAME", "t"), (var::SECRET_KEY, KEY), (var::POLL_BATCH, "0")]))
            .expect_err("refused");
        assert_eq!(zero.to_string(), "PORCHLIGHT_POLL_BATCH is invalid: must be a whole number above 0");
    }
}
