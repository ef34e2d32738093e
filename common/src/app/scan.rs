//! The scheduled scan of active shipments, for what only time passing brings: exception rules
//! on silence or lateness, `no_update` notifications, and `tracking_pending_time` webhooks.
//! Every 15 minutes in `serve`; the `exception-detector` function on AWS.

use super::exceptions::{self, EvaluationReport};
use super::{AppError, Deps, notification_rules, notifications, webhooks};
use crate::domain::{Trigger, WebhookEvent};
use crate::ports::{Cursor, ListQuery, MessageLedger};

/// Shipments the scan reads per page.
const PAGE: usize = 200;

/// What a scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Active shipments looked at.
    pub shipments: usize,
    /// Exception cases opened or reopened.
    pub cases: EvaluationReport,
    /// `no_update` messages planned.
    pub messages: usize,
    /// `tracking_pending_time` deliveries planned.
    pub webhooks: usize,
}

/// Looks at the active shipments of every tenant that has something time can set off (an
/// enabled time-based exception rule, an enabled `no_update` or `edd_missed` rule, an endpoint
/// taking `tracking_pending_time`), page by page. Everything it plans is idempotent: a scan that runs
/// again, or twice at once, plans nothing twice.
pub async fn scan_active(deps: &Deps, ledger: &dyn MessageLedger) -> Result<ScanReport, AppError> {
    let mut report = ScanReport::default();
    // The carriers' health is no shipment's: a failure to read it is logged, the scan goes on.
    if let Err(error) = super::analytics::watch_carrier_health(deps, deps.clock.now()).await {
        tracing::warn!(error = %error, "carrier health not watched");
    }
    for tenant in deps.tenants.list_tenants().await? {
        let (rules, _) = exceptions::exception_rules(deps, &tenant.id).await?;
        let cases = rules.rules.iter().any(|r| r.enabled && r.condition.is_time_based());
        let (notification_rules, _) = notification_rules::notification_rules(deps, &tenant.id).await?;
        let messages = notification_rules
            .rules
            .iter()
            .any(|r| r.enabled && matches!(r.trigger, Trigger::NoUpdate | Trigger::EddMissed));
        let pending = webhooks::list_endpoints(deps, &tenant.id)
            .await?
            .iter()
            .any(|e| e.events.contains(&WebhookEvent::TrackingPendingTime));
        if !(cases || messages || pending) {
            continue;
        }
        let mut cursor: Option<Cursor> = None;
        loop {
            let query = ListQuery { limit: PAGE, cursor: cursor.take(), ..ListQuery::default() };
            let page = deps.shipments.list(&tenant.id, &query).await?;
            // What a history import left is history until live news comes: no case, message
            // or webhook of it.
            let live = page.shipments.iter().filter(|s| s.active && s.imported_version != Some(s.version));
            for shipment in live {
                report.shipments += 1;
                if cases {
                    report.cases += exceptions::evaluate(deps, ledger, shipment, true, true).await?;
                }
                if messages {
                    report.messages += notifications::plan_no_update(deps, ledger, shipment).await?;
                    report.messages += notifications::plan_edd_missed(deps, ledger, shipment).await?;
                }
                if pending {
                    report.webhooks += webhooks::plan_pending_time(deps, shipment).await?;
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    if report.cases != EvaluationReport::default() || report.messages > 0 || report.webhooks > 0 {
        tracing::info!(
            shipments = report.shipments,
            opened = report.cases.opened,
            reopened = report.cases.reopened,
            messages = report.messages,
            webhooks = report.webhooks,
            "scan of active shipments done"
        );
    }
    Ok(report)
}
