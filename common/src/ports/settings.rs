//! Merchants' settings documents (notification rules, and the rules and policies to come):
//! one JSON document per tenant and kind, written under an optimistic version.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::TenantId;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsKind {
    /// `NotificationRules`.
    NotificationRules,
    /// A merchant's webhook endpoints (their secrets sealed).
    WebhookEndpoints,
    /// `ExceptionRules`.
    ExceptionRules,
    /// A merchant's own wordings of messages (`notify::MerchantTexts`).
    NotificationTexts,
    /// `ReturnPolicy`.
    ReturnPolicy,
    /// `ReportSettings`.
    ReportSettings,
    /// The console's saved views of the shipments list (`app::team::views`).
    ConsoleViews,
    /// The operator's rate limit for one merchant's API keys (`app::operator`).
    RateLimit,
}

impl SettingsKind {
    /// The name stores key the document by.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingsKind::NotificationRules => "notification-rules",
            SettingsKind::WebhookEndpoints => "webhook-endpoints",
            SettingsKind::ExceptionRules => "exception-rules",
            SettingsKind::NotificationTexts => "notification-texts",
            SettingsKind::ReturnPolicy => "return-policy",
            SettingsKind::ReportSettings => "report-settings",
            SettingsKind::ConsoleViews => "console-views",
            SettingsKind::RateLimit => "rate-limit",
        }
    }
}

/// A stored document and the version it was written at (1 for the first write).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The document.
    pub value: serde_json::Value,
    /// Its version.
    pub version: u64,
}

/// Settings documents, keyed by tenant and kind.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The tenant's document of `kind`, if one was written.
    async fn get_settings(&self, tenant: &TenantId, kind: SettingsKind) -> Result<Option<Versioned>, StoreError>;
    /// Writes the document as version `read_version + 1`, where `read_version` is the version
    /// read (0 when there was none). `Conflict` if the stored version is another.
    async fn put_settings(
        &self,
        tenant: &TenantId,
        kind: SettingsKind,
        value: &serde_json::Value,
        read_version: u64,
    ) -> Result<u64, StoreError>;
}
