//! A return's webhook events, planned after each write that makes them.

use super::super::{AppError, Deps};
use crate::domain::{Return, WebhookEvent};

/// Plans each of `events` of `ret` (as just written) for the endpoints that take it.
pub(super) async fn plan(deps: &Deps, ret: &Return, events: &[WebhookEvent]) -> Result<(), AppError> {
    for event in events {
        let planned =
            super::super::webhooks::plan_return_event(deps, ret, *event, || crate::api::wire::return_view(ret)).await?;
        if planned > 0 {
            tracing::debug!(tenant_id = %ret.tenant_id, return_id = ret.id, event = event.as_str(), planned, "return event planned");
        }
    }
    Ok(())
}
