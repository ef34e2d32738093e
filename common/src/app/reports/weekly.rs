//! The weekly report: for every merchant that enabled it, last week's report (Monday to
//! Sunday in its time zone, from Monday 06:00 there) built once and its link emailed to the
//! team through the message ledger, so each address gets each week's email once however often
//! the schedule runs; a schedule that was down catches up with the latest week.

use chrono::NaiveDate;

use super::{parse_report_id, report_file, report_id, run_report};
use crate::app::analytics::DayRange;
use crate::app::{AppError, Deps};
use crate::domain::{Channel, Language, ReportSettings, ShipmentId, TenantId, Trigger};
use crate::ports::{LedgerEntry, MessageLedger, SettingsKind};

/// The tenant's report settings (disabled until written) and their version.
pub async fn report_settings(deps: &Deps, tenant: &TenantId) -> Result<(ReportSettings, u64), AppError> {
    let (settings, version) = crate::app::documents::read(deps, tenant, SettingsKind::ReportSettings).await?;
    Ok((settings.unwrap_or_default(), version))
}

/// Replaces the tenant's report settings with `settings`, checked.
pub async fn set_report_settings(
    deps: &Deps,
    tenant: &TenantId,
    settings: ReportSettings,
) -> Result<ReportSettings, AppError> {
    settings.validate()?;
    let stored =
        crate::app::documents::change(deps, tenant, SettingsKind::ReportSettings, ReportSettings::default, |s| {
            *s = settings.clone();
            Ok(s.clone())
        })
        .await?;
    tracing::info!(tenant_id = %tenant, enabled = stored.enabled, "report settings changed");
    Ok(stored)
}

/// The message ledger's "shipment" id for a week's report email: the two dates' digits,
/// padded with zeros to 32 (the ledger keys messages by shipment; this one names a report).
pub fn ledger_id(range: DayRange) -> ShipmentId {
    let digits = format!("{}{}", range.from.format("%Y%m%d"), range.to.format("%Y%m%d"));
    ShipmentId::parse(&format!("{digits:0<32}")).expect("16 digits and 16 zeros are 32 hexadecimal digits")
}

/// The range a [`ledger_id`] names.
pub fn range_of_ledger_id(id: &ShipmentId) -> Option<DayRange> {
    let text = id.as_str();
    let date = |digits: &str| NaiveDate::parse_from_str(digits, "%Y%m%d").ok();
    let range = DayRange { from: date(text.get(..8)?)?, to: date(text.get(8..16)?)? };
    (text.get(16..)?.bytes().all(|b| b == b'0')).then(|| parse_report_id(&report_id(range))).flatten()
}

/// What a run of the weekly schedule did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeeklyRun {
    /// Merchants with the report enabled.
    pub merchants: usize,
    /// Reports built this run.
    pub built: usize,
    /// Emails planned this run.
    pub planned: usize,
}

/// One run of the weekly schedule (hourly on AWS, every 15 minutes on `serve`): every enabled
/// merchant's due week built if it is not yet, and its email planned to each recipient.
pub async fn run_weekly(deps: &Deps, ledger: &dyn MessageLedger) -> Result<WeeklyRun, AppError> {
    let mut run = WeeklyRun::default();
    let now = deps.clock.now();
    for tenant in deps.tenants.list_tenants().await? {
        let (settings, _) = report_settings(deps, &tenant.id).await?;
        if !settings.enabled || settings.recipients.is_empty() {
            continue;
        }
        run.merchants += 1;
        let (from, to) = settings.due_week(now);
        let range = DayRange { from, to };
        match report_file(deps, &tenant.id, &report_id(range), "report.html").await {
            Ok(_) => {}
            Err(AppError::Missing(_)) => {
                run_report(deps, &tenant.id, range).await?;
                run.built += 1;
            }
            Err(other) => return Err(other),
        }
        for recipient in &settings.recipients {
            let entry = LedgerEntry::planned(
                tenant.id.clone(),
                ledger_id(range),
                Trigger::ReportReady,
                Channel::Email,
                recipient.trim().to_lowercase(),
                Language::En,
                now,
                now,
            );
            run.planned += usize::from(ledger.plan(&entry).await?);
        }
    }
    if run.built > 0 || run.planned > 0 {
        tracing::info!(merchants = run.merchants, built = run.built, planned = run.planned, "weekly reports run");
    }
    Ok(run)
}
