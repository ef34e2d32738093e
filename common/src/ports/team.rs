//! The console's accounts: team members, their sign-in sessions and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{Member, TenantId};

/// Most members a merchant's team has.
pub const MAX_MEMBERS: usize = 500;

/// A signed-in browser. The store keys it by the SHA-256 digest of its cookie's secret, never
/// by the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The merchant.
    pub tenant_id: TenantId,
    /// Who signed in.
    pub member_id: String,
    /// The member's stamp when they signed in: a later password change ends the session.
    pub stamp: String,
    /// When they signed in.
    pub created_at: DateTime<Utc>,
    /// When it ends, whatever happens.
    pub expires_at: DateTime<Utc>,
}

/// Who changed what, when: one line of a merchant's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sortable by time: the microseconds, zero-padded, then random digits.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: a member's email, or `operator` for the command line and the admin API.
    pub actor: String,
    /// What, e.g. `member.invited`, `shipment.retracked`.
    pub action: String,
    /// What it was done to (an id; never a shopper's personal data).
    pub target: String,
    /// Anything else worth keeping (a role, a count).
    pub detail: String,
}

/// Members, sessions and the audit log. Every read of a member takes its tenant but two:
/// [`TeamStore::member_by_email`] (sign-in, where the address names the merchant) and
/// [`TeamStore::session`] (a browser's cookie, which names its merchant).
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Adds a member at its `version` (1). `Conflict` if its email belongs to any member of
    /// any merchant, or its id exists.
    async fn insert_member(&self, member: &Member) -> Result<(), StoreError>;
    /// Replaces a member (not its email) with `member`, whose `version` is the stored one plus
    /// one. `Conflict` if the stored version is another, `NotFound` if there is none.
    async fn update_member(&self, member: &Member) -> Result<(), StoreError>;
    /// A member of `tenant`.
    async fn get_member(&self, tenant: &TenantId, id: &str) -> Result<Option<Member>, StoreError>;
    /// The member an (already lowercased) email belongs to, whichever merchant's.
    async fn member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError>;
    /// A merchant's members, oldest first, at most [`MAX_MEMBERS`].
    async fn list_members(&self, tenant: &TenantId) -> Result<Vec<Member>, StoreError>;
    /// Removes a member and frees its email. `NotFound` if there is none.
    async fn delete_member(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError>;
    /// Stores a session under its secret's digest.
    async fn insert_session(&self, digest: &[u8; 32], session: &Session) -> Result<(), StoreError>;
    /// The session of a secret's digest, if stored and not past `expires_at` at `now`.
    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>, StoreError>;
    /// Ends a session; ending one that is gone is not an error.
    async fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError>;
    /// Appends a line to the merchant's audit log.
    async fn append_audit(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The merchant's audit log, newest first: up to `limit` lines with ids before `before`.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
