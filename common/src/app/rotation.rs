//! Sealing every stored secret again under the deployment's current key, after a key rotation
//! (`porchlight secrets rotate` or `reseal`, `POST /admin/secrets/reseal`): carrier
//! connections' credentials, storefront connectors' secrets and webhook endpoints' signing
//! secrets, of every merchant. What the current key sealed already is left as it is, so a run
//! is idempotent and a second one writes nothing. A secret no key opens is counted and left
//! untouched (it was damaged, or sealed under a key since dropped).

use serde::Serialize;

use super::{AppError, Deps, connections, connectors, webhooks};
use crate::secrets::OpenedWith;

/// What a run did, summed over every merchant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResealTally {
    /// Merchants looked at.
    pub tenants: u64,
    /// Secrets sealed again under the current key.
    pub resealed: u64,
    /// Secrets the current key sealed already.
    pub current: u64,
    /// Secrets no key opens, left untouched.
    pub unreadable: u64,
}

/// What became of one sealed secret.
pub(crate) enum Resealed {
    /// The current key sealed it: nothing to write.
    Current,
    /// It is sealed again: write this.
    Again(Vec<u8>),
    /// No key opens it.
    Unreadable,
}

impl ResealTally {
    /// Counts `outcome`, handing back what to write, if anything.
    pub(crate) fn count(&mut self, outcome: Resealed) -> Option<Vec<u8>> {
        match outcome {
            Resealed::Current => self.current += 1,
            Resealed::Again(sealed) => {
                self.resealed += 1;
                return Some(sealed);
            }
            Resealed::Unreadable => self.unreadable += 1,
        }
        None
    }
}

/// `sealed` under the current key, if another key sealed it.
pub(crate) fn reseal(deps: &Deps, sealed: &[u8]) -> Resealed {
    match deps.secrets.open_telling(sealed) {
        Ok((_, OpenedWith::Current)) => Resealed::Current,
        Ok((plain, OpenedWith::Previous)) => Resealed::Again(deps.secrets.seal(&plain)),
        Err(_) => Resealed::Unreadable,
    }
}

/// Seals every merchant's stored secrets again under the current key (see the module
/// documentation). Stops at the first store failure; running it again finishes the work.
pub async fn reseal_all(deps: &Deps) -> Result<ResealTally, AppError> {
    let mut tally = ResealTally::default();
    for tenant in deps.tenants.list_tenants().await? {
        tally.tenants += 1;
        connections::reseal(deps, &tenant.id, &mut tally).await?;
        connectors::reseal(deps, &tenant.id, &mut tally).await?;
        webhooks::reseal(deps, &tenant.id, &mut tally).await?;
    }
    tracing::info!(
        tenants = tally.tenants,
        resealed = tally.resealed,
        current = tally.current,
        unreadable = tally.unreadable,
        "stored secrets sealed again"
    );
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::app::{self, SecretBox};
    use crate::testkit::{ManualClock, TEST_SECRET_KEY};

    fn with_keys(deps: &Deps, secrets: SecretBox) -> Deps {
        Deps { secrets: Arc::new(secrets), ..deps.clone() }
    }

    #[tokio::test]
    async fn every_stored_secret_is_sealed_again_under_the_new_key_and_only_once() {
        let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().expect("time")));
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), clock);
        let (tenant, _) = app::create_tenant(&deps, "Acme").await.expect("tenant");
        let credentials: BTreeMap<String, serde_json::Value> =
            [("client_id".to_owned(), json!("acme-id")), ("client_secret".to_owned(), json!("hunter2"))].into();
        let connection =
            connections::create_connection(&deps, &tenant.id, "ups", &credentials).await.expect("connected");
        let store = json!({"platform": "shopify", "shop_domain": "acme.myshopify.com", "client_secret": "shpss_1",
            "access_token": "shpat_1"});
        let connector =
            connectors::create_connector(&deps, &tenant.id, store.as_object().expect("map")).await.expect("store");
        let write = webhooks::EndpointWrite { url: Some("https://hooks.example.com/a".into()), ..Default::default() };
        let (_, signing) = webhooks::create_endpoint(&deps, &tenant.id, write).await.expect("endpoint");

        let (old, new) = (hex::encode(TEST_SECRET_KEY), SecretBox::generate_hex());
        let rotated = with_keys(&deps, SecretBox::with_previous(&new, &[&old]).expect("keys"));
        let first = reseal_all(&rotated).await.expect("resealed");
        assert_eq!(first, ResealTally { tenants: 1, resealed: 3, current: 0, unreadable: 0 });
        let second = reseal_all(&rotated).await.expect("resealed");
        assert_eq!(second, ResealTally { tenants: 1, resealed: 0, current: 3, unreadable: 0 }, "nothing left to do");

        // The old key is no longer needed: the new one alone opens everything, the old one nothing.
        let only_new = with_keys(&deps, SecretBox::from_hex(&new).expect("key"));
        let opened = connections::get_connection(&only_new, &tenant.id, &connection.id).await.expect("opens");
        assert_eq!(opened.credentials.require("client_secret").expect("kept"), "hunter2");
        let opened = connectors::get_connector(&only_new, &tenant.id, &connector.id).await.expect("opens");
        assert_eq!(opened.secrets, connector.secrets);
        let endpoints = webhooks::signing_endpoints(&only_new, &tenant.id).await.expect("opens");
        assert_eq!(endpoints[0].secret, signing);
        assert!(connections::get_connection(&deps, &tenant.id, &connection.id).await.is_err(), "the old key alone");

        // A secret no key opens is counted and left alone.
        let stranger = with_keys(&deps, SecretBox::from_hex(&SecretBox::generate_hex()).expect("key"));
        let lost = reseal_all(&stranger).await.expect("ran");
        assert_eq!((lost.resealed, lost.unreadable), (0, 3));
        assert!(connections::get_connection(&only_new, &tenant.id, &connection.id).await.is_ok(), "untouched");
    }
}
