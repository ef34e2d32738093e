//! Carrier accounts: credentials checked against what a carrier's adapter declares it needs,
//! for merchants' courier connections and the operator's own accounts alike.

use std::collections::BTreeMap;

use super::{CarrierRegistry, Credentials};
use crate::domain::{DomainError, Slug};

/// Why credentials were refused. Messages name the carrier and the field, never a value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No adapter for the slug.
    #[error("slug {0:?} is not a supported courier")]
    UnknownCourier(String),
    /// A field is missing, unknown or malformed.
    #[error(transparent)]
    Invalid(#[from] DomainError),
}

/// Checks `credentials` against what the carrier's adapter needs: every declared field present
/// and a non-empty string, nothing else.
pub fn check_credentials(
    carriers: &CarrierRegistry,
    slug: &Slug,
    credentials: &BTreeMap<String, serde_json::Value>,
) -> Result<Credentials, CredentialsError> {
    let adapter = carriers.get(slug.as_str()).ok_or_else(|| CredentialsError::UnknownCourier(slug.to_string()))?;
    let fields = adapter.credential_fields();
    if fields.is_empty() {
        return Err(DomainError::invalid(
            "courier_slug",
            format!("{slug} needs no account: it is tracked without one"),
        )
        .into());
    }
    let mut open = BTreeMap::new();
    for (key, value) in credentials {
        if !fields.iter().any(|f| f.key == key) {
            let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
            return Err(DomainError::invalid(
                format!("credentials.{key}"),
                format!("is not a {slug} credential (expected {})", known.join(", ")),
            )
            .into());
        }
        let text = value.as_str().filter(|v| !v.trim().is_empty() && v.len() <= 4096).ok_or_else(|| {
            DomainError::invalid(format!("credentials.{key}"), "must be a non-empty string of at most 4096 bytes")
        })?;
        open.insert(key.clone(), text.to_owned());
    }
    for field in fields {
        if !open.contains_key(field.key) {
            return Err(DomainError::invalid(format!("credentials.{}", field.key), "is required").into());
        }
    }
    Ok(Credentials(open))
}

/// The operator's own carrier accounts, from JSON `{"<slug>": {"<field>": "<value>", ...}}`,
/// each checked as a merchant's connection is: polls use one for a carrier when the merchant
/// has no connection of their own. Errors name the carrier and field, never a value.
pub fn operator_accounts(
    carriers: &CarrierRegistry,
    json: &str,
) -> Result<BTreeMap<String, Credentials>, CredentialsError> {
    let accounts: BTreeMap<String, BTreeMap<String, serde_json::Value>> = serde_json::from_str(json).map_err(|e| {
        DomainError::invalid("carrier accounts", format!("must be a JSON object of carrier slugs to objects ({e})"))
    })?;
    accounts
        .into_iter()
        .map(|(slug, credentials)| {
            let parsed = Slug::parse(&slug).map_err(|_| CredentialsError::UnknownCourier(slug.clone()))?;
            Ok((slug, check_credentials(carriers, &parsed, &credentials)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_accounts_are_checked_like_connections_and_never_echo_values() {
        let carriers = CarrierRegistry::standard();
        let accounts =
            operator_accounts(&carriers, r#"{"ups": {"client_id": "id-1", "client_secret": "s3cret-value"}}"#)
                .expect("valid");
        assert_eq!(accounts["ups"].0["client_secret"], "s3cret-value");
        let refused = [
            (r#"{"ups": {"client_id": "id-1"}}"#, "credentials.client_secret"),
            (r#"{"ups": {"client_id": "id-1", "client_secret": "s3cret-value", "pin": "1"}}"#, "credentials.pin"),
            (r#"{"nope": {"key": "s3cret-value"}}"#, "nope"),
            (r#"["s3cret-value"]"#, "carrier accounts"),
        ];
        for (json, named) in refused {
            let message = operator_accounts(&carriers, json).expect_err(json).to_string();
            assert!(message.contains(named), "{json}: {message}");
            assert!(!message.contains("s3cret-value"), "{message}");
        }
    }
}
