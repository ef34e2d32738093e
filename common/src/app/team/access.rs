//! Getting into the console: signing in with a password (locked after repeated failures, with
//! an email to the member), sessions, one-time links (invitations, password resets, sign-in
//! links the operator prints), and the forms' CSRF tokens.
//!
//! A session's secret lives only in the browser's cookie; the store keeps its SHA-256 digest.
//! One-time links are sealed with the deployment's key and name the member's stamp: using one
//! changes the stamp, which ends every other link and session made under the old one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Actor, audit, new_stamp, passwords, plan_access_email};
use crate::app::{AppError, Deps};
use crate::domain::{Member, TenantId, Trigger, member_email};
use crate::ports::{MessageLedger, Session, StoreError};
use crate::secrets::random_bytes;

/// How long a session lasts, however active.
pub const SESSION_HOURS: i64 = 12;

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An invitation: sets the first password (7 days).
    Invitation,
    /// A reset: sets a new password (1 hour).
    Reset,
    /// The operator's sign-in link for a member without a password (24 hours).
    SignIn,
}

impl Purpose {
    /// How long its links work.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Invitation => Duration::days(7),
            Purpose::Reset => Duration::hours(1),
            Purpose::SignIn => Duration::hours(24),
        }
    }

    /// Its lifetime in words, for emails.
    pub fn lifetime_words(self) -> &'static str {
        match self {
            Purpose::Invitation => "7 days",
            Purpose::Reset => "1 hour",
            Purpose::SignIn => "24 hours",
        }
    }

    /// Whether using the link sets a password.
    pub fn sets_password(self) -> bool {
        self != Purpose::SignIn
    }
}

/// What a link's token carries, sealed.
#[derive(Serialize, Deserialize)]
struct Claims {
    tenant: String,
    member: String,
    stamp: String,
    purpose: Purpose,
    expires: i64,
}

/// A one-time link's token and when it stops working.
#[derive(Debug, Clone)]
pub struct OneTimeLink {
    /// For the URL path (`/console/link/{token}`).
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A one-time link for `member`, for `purpose`, valid from now.
pub fn link_for(deps: &Deps, member: &Member, purpose: Purpose) -> OneTimeLink {
    let expires_at = deps.clock.now() + purpose.lifetime();
    let claims = Claims {
        tenant: member.tenant_id.as_str().to_owned(),
        member: member.id.clone(),
        stamp: member.stamp.clone(),
        purpose,
        expires: expires_at.timestamp(),
    };
    let json = serde_json::to_vec(&claims).expect("claims serialize");
    OneTimeLink { token: URL_SAFE_NO_PAD.encode(deps.secrets.seal(&json)), expires_at }
}

/// The member and purpose of a link that still works (made here, not expired, not used);
/// `Unauthorized` otherwise.
pub async fn link_member(deps: &Deps, token: &str) -> Result<(Member, Purpose), AppError> {
    let claims = (|| {
        let sealed = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        serde_json::from_slice::<Claims>(&deps.secrets.open(&sealed).ok()?).ok()
    })()
    .ok_or(AppError::Unauthorized)?;
    if claims.expires <= deps.clock.now().timestamp() {
        return Err(AppError::Unauthorized);
    }
    let tenant = TenantId::parse(&claims.tenant).map_err(|_| AppError::Unauthorized)?;
    let member = deps.team.get_member(&tenant, &claims.member).await?.ok_or(AppError::Unauthorized)?;
    if member.stamp != claims.stamp {
        return Err(AppError::Unauthorized);
    }
    Ok((member, claims.purpose))
}

/// Uses a link: sets `password` when its purpose asks for one (`Required` without), ends
/// the member's other links and sessions, unlocks them and signs them in.
pub async fn redeem_link(deps: &Deps, token: &str, password: Option<&str>) -> Result<SignedIn, AppError> {
    let (mut member, purpose) = link_member(deps, token).await?;
    if purpose.sets_password() {
        let password = password.ok_or(AppError::Required("password"))?;
        member.password_hash = Some(passwords::hash(password).await?);
    }
    member.stamp = new_stamp();
    member.signed_in(deps.clock.now());
    member.version += 1;
    match deps.team.update_member(&member).await {
        Ok(()) => {}
        // Used at the same moment by another request: this one lost.
        Err(StoreError::Conflict | StoreError::NotFound) => return Err(AppError::Unauthorized),
        Err(other) => return Err(other.into()),
    }
    let action = if purpose.sets_password() { "member.password_set" } else { "member.signed_in_by_link" };
    audit(deps, &member.tenant_id, &Actor::Member(member.clone()), action, &member.id, "").await?;
    start_session(deps, member).await
}

/// A member signed in: the cookie's secret (shown only here) and the session.
pub struct SignedIn {
    /// Who.
    pub member: Member,
    /// The stored session.
    pub session: Session,
    /// The cookie's value.
    pub secret: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("member", &self.member).finish_non_exhaustive()
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown address or wrong password: the same answer for both.
    #[error("the email address or password is not right")]
    Refused,
    /// Too many failures in a row: refused until then.
    #[error("sign-in is locked until {0}")]
    Locked(DateTime<Utc>),
    /// Something else went wrong.
    #[error(transparent)]
    Failed(#[from] AppError),
}

impl From<StoreError> for SignInError {
    fn from(error: StoreError) -> Self {
        SignInError::Failed(error.into())
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

async fn start_session(deps: &Deps, member: Member) -> Result<SignedIn, AppError> {
    let now = deps.clock.now();
    let secret = format!("pls_{}", hex::encode(random_bytes::<32>()));
    let session = Session {
        tenant_id: member.tenant_id.clone(),
        member_id: member.id.clone(),
        stamp: member.stamp.clone(),
        created_at: now,
        expires_at: now + Duration::hours(SESSION_HOURS),
    };
    deps.team.insert_session(&digest(&secret), &session).await?;
    Ok(SignedIn { member, session, secret })
}

/// Signs in with an email and password. The [`LOCKOUT_FAILURES`](crate::domain::LOCKOUT_FAILURES)th
/// failure in a row locks the account and plans an email telling the member.
pub async fn sign_in(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    email: &str,
    password: &str,
) -> Result<SignedIn, SignInError> {
    let member = match member_email(email) {
        Ok(email) => deps.team.member_by_email(&email).await?,
        Err(_) => None,
    };
    let now = deps.clock.now();
    if let Some(member) = member.as_ref().filter(|m| m.is_locked(now)) {
        return Err(SignInError::Locked(member.locked_until.unwrap_or(now)));
    }
    let matches = passwords::verify(password, member.as_ref().and_then(|m| m.password_hash.as_deref())).await;
    let Some(mut member) = member else { return Err(SignInError::Refused) };
    if matches {
        member.signed_in(now);
    } else if member.fail_sign_in(now) {
        tracing::warn!(tenant_id = %member.tenant_id, member_id = %member.id, "console sign-in locked");
        plan_access_email(deps, ledger, &member, Trigger::SignInLocked).await?;
        let detail = format!("{} failed sign-ins", crate::domain::LOCKOUT_FAILURES);
        audit(deps, &member.tenant_id, &Actor::Operator, "member.locked", &member.id, &detail).await?;
    }
    member.version += 1;
    match deps.team.update_member(&member).await {
        Ok(()) => {}
        // Another attempt changed the member first: this one counts as refused.
        Err(StoreError::Conflict | StoreError::NotFound) => return Err(SignInError::Refused),
        Err(other) => return Err(other.into()),
    }
    if !matches {
        return Err(SignInError::Refused);
    }
    Ok(start_session(deps, member).await?)
}

/// The member and session a cookie's secret stands for: `None` when unknown, ended, or made
/// before the member's stamp changed, or when the member was removed.
pub async fn session_of(deps: &Deps, secret: &str) -> Result<Option<(Member, Session)>, AppError> {
    if !secret.starts_with("pls_") || secret.len() > 100 {
        return Ok(None);
    }
    let Some(session) = deps.team.session(&digest(secret), deps.clock.now()).await? else { return Ok(None) };
    let member = deps.team.get_member(&session.tenant_id, &session.member_id).await?;
    Ok(member.filter(|m| m.stamp == session.stamp).map(|m| (m, session)))
}

/// Ends the session of a cookie's secret.
pub async fn sign_out(deps: &Deps, secret: &str) -> Result<(), AppError> {
    Ok(deps.team.delete_session(&digest(secret)).await?)
}

/// Plans a password reset email to `email` if it belongs to a member; says nothing either
/// way (the page answers alike).
pub async fn request_reset(deps: &Deps, ledger: &dyn MessageLedger, email: &str) -> Result<(), AppError> {
    let Ok(email) = member_email(email) else { return Ok(()) };
    if let Some(member) = deps.team.member_by_email(&email).await? {
        plan_access_email(deps, ledger, &member, Trigger::PasswordReset).await?;
    }
    Ok(())
}

/// The CSRF token of a session's forms: an HMAC of a fixed text under the session's secret,
/// so it needs no storage and dies with the session.
pub fn csrf_token(session_secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(session_secret.as_bytes()).expect("any key length");
    mac.update(b"porchlight console form");
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(session_secret: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    csrf_token(session_secret).as_bytes().ct_eq(given.as_bytes()).into()
}
