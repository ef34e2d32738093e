//! Orders and their lines, keyed by tenant: what returns are made of.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Order, TenantId};

/// Every merchant's orders.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Stores `order` under its id, replacing the one there: `true` if it is new.
    async fn put_order(&self, order: &Order) -> Result<bool, StoreError>;
    /// Deletes the tenant's order `id`: `true` if there was one.
    async fn delete_order(&self, tenant: &TenantId, id: &str) -> Result<bool, StoreError>;
    /// The tenant's order `id`.
    async fn order(&self, tenant: &TenantId, id: &str) -> Result<Option<Order>, StoreError>;
    /// Up to `limit` of the tenant's orders in id order, from after `after`.
    async fn orders(&self, tenant: &TenantId, after: Option<&str>, limit: usize) -> Result<Vec<Order>, StoreError>;
    /// The tenant's orders numbered `order_number` exactly (the returns portal's lookup), at
    /// most [`super::MAX_LOOKUP`].
    async fn orders_by_number(&self, tenant: &TenantId, order_number: &str) -> Result<Vec<Order>, StoreError>;
}
