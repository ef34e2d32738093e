//! Returns, keyed by tenant: by id, by RMA number, by order, listed with AfterShip's filters,
//! and the approved ones due to expire. Written under an optimistic version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{ApprovalStatus, Outcome, Return, ReturnMethod, TenantId};

/// Which returns to list (the Returns API's filters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnFilter {
    /// In this approval status.
    pub approval_status: Option<ApprovalStatus>,
    /// Filed with this email (compared without case).
    pub customer_email: Option<String>,
    /// Of the order with this number (`#1001`).
    pub order_name: Option<String>,
    /// Whose outcomes include this one.
    pub outcome: Option<Outcome>,
    /// Travelling back this way.
    pub return_method: Option<ReturnMethod>,
    /// Created at or after this.
    pub created_at_min: Option<DateTime<Utc>>,
    /// Created at or before this.
    pub created_at_max: Option<DateTime<Utc>>,
}

impl ReturnFilter {
    /// Whether `ret` passes.
    pub fn matches(&self, ret: &Return) -> bool {
        self.approval_status.is_none_or(|s| ret.approval_status == s)
            && self
                .customer_email
                .as_ref()
                .is_none_or(|e| ret.contact_email.as_ref().is_some_and(|c| c.eq_ignore_ascii_case(e)))
            && self.order_name.as_ref().is_none_or(|n| ret.order_number.as_ref() == Some(n))
            && self.outcome.is_none_or(|o| ret.outcomes().contains(&o))
            && self.return_method.is_none_or(|m| ret.method == m)
            && self.created_at_min.is_none_or(|t| ret.created_at >= t)
            && self.created_at_max.is_none_or(|t| ret.created_at <= t)
    }
}

/// A return due to expire: its tenant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReturn {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The return.
    pub id: String,
}

/// Every merchant's returns.
#[async_trait]
pub trait ReturnStore: Send + Sync {
    /// The tenant's return `id`.
    async fn return_by_id(&self, tenant: &TenantId, id: &str) -> Result<Option<Return>, StoreError>;
    /// The tenant's return numbered `rma`.
    async fn return_by_rma(&self, tenant: &TenantId, rma: &str) -> Result<Option<Return>, StoreError>;
    /// The tenant's returns of order `order_id` (its Porchlight id), oldest first.
    async fn returns_of_order(&self, tenant: &TenantId, order_id: &str) -> Result<Vec<Return>, StoreError>;
    /// Stores the new `ret` (version 0) as version 1 if its order still has exactly `seen`
    /// returns; `Conflict` when another return of the order was stored since (two creates
    /// raced) or its id or RMA number is taken (the caller tells them apart by reading the
    /// order's returns again).
    async fn create_return(&self, ret: &Return, seen: usize) -> Result<u64, StoreError>;
    /// Stores `ret` as version `ret.version + 1` if the stored version is `ret.version`;
    /// `Conflict` otherwise. Keeps its place among the due expiries ([`Return::expires_at`]).
    async fn put_return(&self, ret: &Return) -> Result<u64, StoreError>;
    /// The tenant's returns that pass `filter`, newest first: `limit` of them after skipping
    /// `offset`, and how many pass in all.
    async fn returns(
        &self,
        tenant: &TenantId,
        filter: &ReturnFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Return>, usize), StoreError>;
    /// Returns of any tenant whose expiry is at or before `now`, soonest first, at most `limit`
    /// (ids only: the scheduler reads and moves each under its tenant).
    async fn due_expiries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueReturn>, StoreError>;
}
