//! Shoppers leaving a parcel's messages: every message carries a link to unsubscribe its
//! recipient from that parcel, and emails say so in `List-Unsubscribe` with one-click
//! (RFC 8058) `List-Unsubscribe-Post`. The link's token is the merchant, the shipment and the
//! contact sealed with the deployment's key (ChaCha20-Poly1305): it cannot be forged or
//! altered, and the contact never appears in a URL (or a log line) in clear.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{AppError, Deps};
use crate::domain::{Channel, Contact, ShipmentId, TenantId};

/// What a token seals.
#[derive(Serialize, Deserialize)]
struct Claims {
    tenant: String,
    shipment: String,
    channel: Channel,
    to: String,
}

/// The token of the link that unsubscribes `contact` from `shipment`'s messages.
pub fn unsubscribe_token(deps: &Deps, tenant: &TenantId, shipment: &ShipmentId, contact: &Contact) -> String {
    let (channel, to) = match contact {
        Contact::Email(address) => (Channel::Email, address.clone()),
        Contact::Sms(number) => (Channel::Sms, number.clone()),
    };
    let claims = Claims { tenant: tenant.as_str().to_owned(), shipment: shipment.as_str().to_owned(), channel, to };
    let json = serde_json::to_vec(&claims).expect("claims serialize");
    URL_SAFE_NO_PAD.encode(deps.secrets.seal(&json))
}

/// The merchant, shipment and contact a token names, if it is one this deployment made.
fn read_token(deps: &Deps, token: &str) -> Option<(TenantId, ShipmentId, Contact)> {
    let sealed = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let claims: Claims = serde_json::from_slice(&deps.secrets.open(&sealed).ok()?).ok()?;
    let contact = match claims.channel {
        Channel::Email => Contact::Email(claims.to),
        Channel::Sms => Contact::Sms(claims.to),
    };
    Some((TenantId::parse(&claims.tenant).ok()?, ShipmentId::parse(&claims.shipment).ok()?, contact))
}

/// Whether `token` is a valid unsubscribe link of `tenant`'s.
pub fn is_valid_token(deps: &Deps, tenant: &TenantId, token: &str) -> bool {
    read_token(deps, token).is_some_and(|(t, _, _)| &t == tenant)
}

/// Unsubscribes the contact `token` names from its shipment's messages. `Missing` for a token
/// that is not `tenant`'s (forged, damaged, or another merchant's page); a shipment that is
/// gone, or a contact already unsubscribed, is done already.
pub async fn unsubscribe(deps: &Deps, tenant: &TenantId, token: &str) -> Result<(), AppError> {
    let (token_tenant, shipment_id, contact) = read_token(deps, token).ok_or(AppError::Missing("unsubscribe link"))?;
    if &token_tenant != tenant {
        return Err(AppError::Missing("unsubscribe link"));
    }
    let unsubscribed = super::update_tracking(deps, tenant, &shipment_id, |shipment| {
        shipment.unsubscribe(&contact);
        Ok(())
    })
    .await;
    match unsubscribed {
        Ok(_) => {
            tracing::info!(tenant_id = %tenant, shipment_id = %shipment_id, "shopper unsubscribed");
            Ok(())
        }
        Err(AppError::NotFound) => Ok(()),
        Err(other) => Err(other),
    }
}
