//! Exception cases: one per shipment and rule, opened when the rule finds the shipment in
//! trouble, assigned, noted, resolved, and reopened only on new facts. Written under an
//! optimistic version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::domain::{CaseState, Note, Severity, ShipmentId, Slug, TenantId};

/// One case in a merchant's exception queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionCase {
    /// [`ExceptionCase::case_id`].
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// The shipment in trouble.
    pub shipment_id: ShipmentId,
    /// Its courier (for filtering).
    pub slug: Slug,
    /// Its tracking number (for the queue's reader).
    pub tracking_number: String,
    /// The rule that opened it.
    pub rule_id: String,
    /// The rule's name when the case was last opened.
    pub rule_name: String,
    /// How bad it is.
    pub severity: Severity,
    /// Why it is open.
    pub reason: String,
    /// Where it is.
    pub state: CaseState,
    /// Who handles it.
    pub assignee: Option<String>,
    /// The team's notes, oldest first.
    pub notes: Vec<Note>,
    /// When it was first opened.
    pub opened_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The shipment's facts ([`crate::domain::facts_of`]) when it was last opened or resolved.
    pub facts: String,
    /// How often it reopened.
    pub reopened: u32,
    /// The version it was read at (0 for a case not yet stored).
    pub version: u64,
}

impl ExceptionCase {
    /// The id of the one case a rule may have for a shipment: 32 hex characters of a SHA-256.
    pub fn case_id(tenant: &TenantId, shipment: &ShipmentId, rule: &str) -> String {
        let identity = [tenant.as_str(), shipment.as_str(), rule].join("\u{1f}");
        hex::encode(&Sha256::digest(identity.as_bytes())[..16])
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Opened by this rule.
    pub rule_id: Option<String>,
    /// Of this severity.
    pub severity: Option<Severity>,
    /// In this state.
    pub state: Option<CaseState>,
    /// Of shipments with this courier.
    pub slug: Option<Slug>,
    /// First opened before this (older cases).
    pub opened_before: Option<DateTime<Utc>>,
    /// First opened at or after this.
    pub opened_since: Option<DateTime<Utc>>,
}

impl CaseFilter {
    /// Whether `case` passes.
    pub fn matches(&self, case: &ExceptionCase) -> bool {
        self.rule_id.as_ref().is_none_or(|r| &case.rule_id == r)
            && self.severity.is_none_or(|s| case.severity == s)
            && self.state.is_none_or(|s| case.state == s)
            && self.slug.as_ref().is_none_or(|s| &case.slug == s)
            && self.opened_before.is_none_or(|t| case.opened_at < t)
            && self.opened_since.is_none_or(|t| case.opened_at >= t)
    }
}

/// Exception cases, keyed by tenant.
#[async_trait]
pub trait ExceptionStore: Send + Sync {
    /// The tenant's case `id`.
    async fn case(&self, tenant: &TenantId, id: &str) -> Result<Option<ExceptionCase>, StoreError>;
    /// Stores `case` as version `case.version + 1` if the stored version is `case.version`
    /// (0: none stored); `Conflict` otherwise. The new version.
    async fn put_case(&self, case: &ExceptionCase) -> Result<u64, StoreError>;
    /// The tenant's cases that pass `filter`, newest opened first, at most `limit`.
    async fn cases(
        &self,
        tenant: &TenantId,
        filter: &CaseFilter,
        limit: usize,
    ) -> Result<Vec<ExceptionCase>, StoreError>;
}
