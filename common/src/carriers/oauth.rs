//! OAuth 2 client-credentials tokens, shared by the carriers that use them (UPS, FedEx, USPS,
//! DHL): fetched once per account and reused until shortly before they expire.

use crate::ports::{HttpClient, HttpRequest};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::CarrierError;
use super::http::common_failure;

/// One cached token per adapter instance (the last account used).
#[derive(Default)]
pub struct TokenCache {
    cached: Mutex<Option<(String, String, DateTime<Utc>)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenCache {
    /// The token for `account`, sending `request` to the carrier's token endpoint when there is
    /// none or it expires within a minute. `label` names the carrier in errors.
    pub async fn get(
        &self,
        http: &dyn HttpClient,
        account: &str,
        request: impl FnOnce() -> HttpRequest,
        now: DateTime<Utc>,
        label: &str,
    ) -> Result<String, CarrierError> {
        let mut cached = self.cached.lock().await;
        if let Some((key, token, expires)) = cached.as_ref()
            && key == account
            && *expires > now + Duration::minutes(1)
        {
            return Ok(token.clone());
        }
        let response = http.send(request()).await?;
        if let Some(failure) = common_failure(&response) {
            return Err(failure);
        }
        if response.status != 200 {
            return Err(CarrierError::Malformed(format!("{label} token: status {}", response.status)));
        }
        let token: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|e| CarrierError::Malformed(format!("{label} token: {e}")))?;
        let seconds = match &token.expires_in {
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(3600),
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(3600),
            _ => 3600,
        };
        *cached = Some((account.to_owned(), token.access_token.clone(), now + Duration::seconds(seconds)));
        Ok(token.access_token)
    }

    /// Forgets the token when the carrier refused it (401), so the next round asks for a new
    /// one: tokens may be revoked before they expire.
    pub async fn forget_if_refused(&self, response: &crate::ports::HttpResponse) {
        if response.status == 401 {
            self.clear().await;
        }
    }

    /// Forgets the token (after the carrier refused it).
    pub async fn clear(&self) {
        *self.cached.lock().await = None;
    }
}
