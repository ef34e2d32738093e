//! Returns: the merchant's return policy (`/porchlight/v1/return-policy`) and what an order's
//! lines allow under it; asking for a return ([`requests`]); what the merchant and the
//! schedule do to one ([`actions`]); its webhook events ([`events`]).

use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::{
    AutoRule, LineEligibility, MethodFee, Order, Reason, Resolution, ReturnMethod, ReturnPolicy, TenantId, WindowStart,
};
use crate::ports::SettingsKind;

/// The tenant's policy (the defaults until the first change).
pub async fn return_policy(deps: &Deps, tenant: &TenantId) -> Result<ReturnPolicy, AppError> {
    let (policy, _) = super::documents::read(deps, tenant, SettingsKind::ReturnPolicy).await?;
    Ok(policy.unwrap_or_else(ReturnPolicy::defaults))
}

/// A policy as the API takes it: every field optional, absent ones keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the policy's field of the same name
pub struct PolicyWrite {
    pub window_days: Option<u32>,
    pub window_from: Option<WindowStart>,
    pub excluded_tags: Option<Vec<String>>,
    pub excluded_skus: Option<Vec<String>>,
    pub excluded_categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub max_quantity_per_line: Option<Option<u32>>,
    pub reasons: Option<Vec<Reason>>,
    pub resolutions: Option<Vec<Resolution>>,
    pub store_credit_bonus_percent: Option<u32>,
    pub methods: Option<Vec<ReturnMethod>>,
    pub fees: Option<Vec<MethodFee>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub auto_approve: Option<Option<AutoRule>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    pub auto_reject: Option<Option<AutoRule>>,
    pub flagged_emails: Option<Vec<String>>,
    pub approved_expiry_days: Option<u32>,
    /// Answers carry the `version`; sent back, it is ignored.
    #[serde(default, rename = "version")]
    pub _version: Option<serde::de::IgnoredAny>,
}

impl PolicyWrite {
    fn apply(self, policy: &mut ReturnPolicy) {
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(value) = self.$field { policy.$field = value; })* };
        }
        set!(
            window_days,
            window_from,
            excluded_tags,
            excluded_skus,
            excluded_categories,
            max_quantity_per_line,
            reasons,
            resolutions,
            store_credit_bonus_percent,
            methods,
            fees,
            auto_approve,
            auto_reject,
            flagged_emails,
            approved_expiry_days
        );
    }
}

/// Changes the fields `write` gives and stores the policy as its next version, if it is still
/// valid; the policy as stored.
pub async fn update_return_policy(
    deps: &Deps,
    tenant: &TenantId,
    write: PolicyWrite,
) -> Result<ReturnPolicy, AppError> {
    let policy = super::documents::change(deps, tenant, SettingsKind::ReturnPolicy, ReturnPolicy::defaults, |policy| {
        write.clone().apply(policy);
        policy.version += 1;
        policy.validate()?;
        Ok(policy.clone())
    })
    .await?;
    tracing::info!(tenant_id = %tenant, version = policy.version, "return policy changed");
    Ok(policy)
}

/// What each line of `order` allows now under the tenant's policy, with the units already in
/// its returns counted.
pub async fn order_eligibility(deps: &Deps, order: &Order) -> Result<Vec<LineEligibility>, AppError> {
    Ok(order_state(deps, order).await?.lines)
}

mod actions;
mod events;
mod report;
mod requests;

pub use actions::{
    RETURN_FIELD, ReturnKey, ShipmentToAttach, approve, attach_shipment, expire_due, follow_shipment, get_return,
    receive, reject, remove_items, resolve, return_of,
};
pub use report::{
    ProductRow, ReasonRow, RefundTotal, ReportTable, ResolutionTimes, ReturnsReport, period, report_csv, returns_report,
};
pub use requests::{ItemRequest, MAX_COMMENT, MAX_PHOTOS, NewReturn, OrderState, create_return, order_state};

#[cfg(test)]
mod tests;
