//! Courier connections: a merchant's own account with a carrier (AfterShip's
//! `/courier-connections`). Credentials are sealed with ChaCha20-Poly1305 under the deployment's
//! secret key before they are stored, and are never echoed back in full.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use chrono::{DateTime, Utc};

use super::{AppError, Deps};
use crate::carriers::{CarrierRegistry, Credentials};
use crate::domain::{DomainError, Slug, TenantId};
use crate::ports::{StoreError, StoredConnection};

/// Seals and opens secrets with the deployment's 256-bit key. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    /// A box with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        SecretBox { cipher: ChaCha20Poly1305::new(&key.into()) }
    }

    /// A box with a key written as 64 hexadecimal characters.
    pub fn from_hex(hex: &str) -> Result<Self, DomainError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex.trim(), &mut key)
            .map_err(|_| DomainError::invalid("secret_key", "must be 64 hexadecimal characters (32 bytes)"))?;
        Ok(SecretBox::new(key))
    }

    /// A fresh key from the OS random generator, as 64 hexadecimal characters.
    pub fn generate_hex() -> String {
        hex::encode(random_bytes::<32>())
    }

    /// `nonce || ciphertext` of `plaintext`, under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<12>();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self.cipher.encrypt(&nonce, plaintext).expect("encryption of a small buffer cannot fail");
        [&nonce_bytes[..], &ciphertext].concat()
    }

    /// Opens what [`SecretBox::seal`] made with the same key; an error for anything else.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, AppError> {
        let fail = || AppError::Corrupt("sealed credentials do not open with this key".into());
        if sealed.len() < 12 {
            return Err(fail());
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| fail())?;
        self.cipher.decrypt(&Nonce::from(nonce), ciphertext).map_err(|_| fail())
    }
}

/// A secret as answers show it: its last 4 characters only when they are at most a quarter of
/// it (16 characters or more), enough to tell two apart; otherwise nothing of it.
fn mask(secret: &str) -> String {
    let length = secret.chars().count();
    if length < 16 {
        return "****".to_owned();
    }
    let tail: String = secret.chars().skip(length - 4).collect();
    format!("****{tail}")
}

/// `N` bytes from the OS random generator. A machine without one cannot keep secrets, so its
/// absence is a fault, not an error to handle.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    bytes
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

/// Checks `credentials` against what the carrier's adapter needs: every declared field present
/// and a non-empty string, nothing else.
fn validate(
    carriers: &CarrierRegistry,
    slug: &Slug,
    credentials: &BTreeMap<String, serde_json::Value>,
) -> Result<Credentials, AppError> {
    let adapter = carriers.get(slug.as_str()).ok_or_else(|| AppError::UnknownCourier(slug.to_string()))?;
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
pub fn operator_accounts(carriers: &CarrierRegistry, json: &str) -> Result<BTreeMap<String, Credentials>, AppError> {
    let accounts: BTreeMap<String, BTreeMap<String, serde_json::Value>> = serde_json::from_str(json).map_err(|e| {
        DomainError::invalid("carrier accounts", format!("must be a JSON object of carrier slugs to objects ({e})"))
    })?;
    accounts
        .into_iter()
        .map(|(slug, credentials)| {
            let parsed = Slug::parse(&slug).map_err(|_| AppError::UnknownCourier(slug.clone()))?;
            Ok((slug, validate(carriers, &parsed, &credentials)?))
        })
        .collect()
}

fn open_connection(deps: &Deps, stored: StoredConnection) -> Result<Connection, AppError> {
    let plain = deps.secrets.open(&stored.sealed_credentials)?;
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
    let credentials = validate(&deps.carriers, &slug, credentials)?;
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
    let credentials = validate(&deps.carriers, &stored.courier_slug, credentials)?;
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
    use super::*;

    #[test]
    fn masks_show_at_most_a_quarter_of_a_secret() {
        assert_eq!(super::mask("123456789"), "****");
        assert_eq!(super::mask("123456789012345"), "****");
        assert_eq!(super::mask("1234567890123456"), "****3456");
        assert_eq!(super::mask("ключ-ключ-ключ-ключ"), "****ключ");
    }

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

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_hide_the_plaintext() {
        let key = SecretBox::generate_hex();
        let sealed_box = SecretBox::from_hex(&key).expect("key");
        let sealed = sealed_box.seal(b"client_secret=hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "ciphertext only");
        assert_ne!(sealed, sealed_box.seal(b"client_secret=hunter2"), "fresh nonce each time");
        assert_eq!(sealed_box.open(&sealed).expect("opens"), b"client_secret=hunter2");
        let other = SecretBox::from_hex(&SecretBox::generate_hex()).expect("key");
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().expect("bytes") ^= 1;
        assert!(sealed_box.open(&tampered).is_err());
        assert!(SecretBox::from_hex("abc").is_err());
        assert!(!format!("{sealed_box:?}").contains(&key));
    }
}
