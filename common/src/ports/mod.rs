//! Ports: the traits the use cases need from the outside world, with their contracts, one
//! file per capability.
//!
//! Every store implementation must pass [`crate::testkit`]'s contract suite. Every method that
//! touches merchant data takes the tenant, so no call can reach another tenant's records; the
//! only cross-tenant reads are [`ShipmentStore::find_legs`] and [`ShipmentStore::due_for_poll`],
//! which return ids for the carrier pipeline and never data, [`PageStore::page_tenant`],
//! which routes a shopper's page to its merchant, [`ConnectorStore::connector_tenant`], which
//! routes a storefront's webhook to its merchant, and [`ReturnStore::due_expiries`], which
//! names returns for the expiry schedule; [`TeamStore::member_by_email`] and
//! [`TeamStore::session`] find a console user's merchant at sign-in and from a cookie.

mod analytics;
mod blobs;
mod clock;
mod connections;
mod connectors;
mod exceptions;
mod feed;
mod http;
mod imports;
mod messages;
mod messenger;
mod orders;
mod pages;
mod queue;
mod returns;
mod settings;
mod shipments;
mod store;
mod suppressions;
mod team;
mod tenants;
mod webhooks;

pub use analytics::{AnalyticsStore, CountedChange, EVENT_GUARD_DAYS, FeedMark, RollupRow};
pub use blobs::{BlobStore, validate_blob_key};
pub use clock::{Clock, SystemClock};
pub use connections::{ConnectionStore, StoredConnection};
pub use connectors::{
    Advance, Backfill, BackfillState, ConnectorRecord, ConnectorStore, DELIVERY_MEMORY_DAYS, MAX_CONNECTORS,
    StoredConnector,
};
pub use exceptions::{CaseFilter, ExceptionCase, ExceptionStore};
pub use feed::{ChangeEvent, ChangeFeed, ChangeKind, FeedEntry, StatusSnapshot};
pub use http::{HttpClient, HttpError, HttpRequest, HttpResponse};
pub use imports::{ImportStore, MAX_RUNNING};
pub use messages::{LedgerEntry, MessageLedger, MessageState};
pub use messenger::{Messenger, Outgoing, SendError};
pub use orders::OrderStore;
pub use pages::{PageStore, PageWrite};
pub use queue::{DeadLetter, QueueName, Received, WorkQueue};
pub use returns::{DueReturn, ReturnFilter, ReturnStore};
pub use settings::{SettingsKind, SettingsStore, Versioned};
pub use shipments::{Cursor, ListOrder, ListPage, ListQuery, MAX_LOOKUP, ShipmentStore};
pub use store::{BoxError, StoreError};
pub use suppressions::{Suppression, SuppressionList, SuppressionReason};
pub use team::{AuditEntry, MAX_MEMBERS, Session, TeamStore};
pub use tenants::{ApiKeyRecord, Tenant, TenantStore};
pub use webhooks::{
    AfterAttempt, Attempt, Delivery, DeliveryState, MAX_REPLAY_EVENTS, WebhookEventRecord, WebhookStore,
};
