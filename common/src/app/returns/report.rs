//! The team's numbers on returns over a period: reasons and sub-reasons by product, SKU and
//! month; each product's return rate (units returned of units ordered in the period); refund
//! totals per currency; time from request to resolution. Read from the returns and orders of
//! the period (what a merchant has in a year; the analytics issue keeps running aggregates),
//! and written as CSV for spreadsheets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::{AppError, Deps};
use crate::domain::{ApprovalStatus, Money, TenantId};
use crate::ports::ReturnFilter;

/// Returns created in the period, per reason, sub-reason, product and month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonRow {
    /// `YYYY-MM` of the request.
    pub period: String,
    /// The reason's id.
    pub reason: String,
    /// The sub-reason, if one was given.
    pub subreason: Option<String>,
    /// The product's SKU.
    pub sku: Option<String>,
    /// The product's title.
    pub product: String,
    /// Returns holding it.
    pub returns: u32,
    /// Units asked back.
    pub units: u32,
}

/// One product's return rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductRow {
    /// The SKU (or, without one, the title).
    pub sku: Option<String>,
    /// The product's title.
    pub product: String,
    /// Units ordered in the period.
    pub ordered_units: u64,
    /// Units asked back in returns of the period (rejected and expired ones left out).
    pub returned_units: u64,
    /// `returned_units / ordered_units`, when anything was ordered.
    pub return_rate: Option<f64>,
}

/// Refunds of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundTotal {
    /// The currency.
    pub currency: String,
    /// Estimated refunds of the returns still open or settled.
    pub estimated: Money,
    /// Of those, the resolved ones'.
    pub resolved: Money,
}

/// Hours from request to resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolutionTimes {
    /// Resolved returns.
    pub resolved: usize,
    /// Median hours.
    pub p50_hours: Option<f64>,
    /// 90th percentile, hours.
    pub p90_hours: Option<f64>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnsReport {
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// Returns created in it.
    pub returns: usize,
    /// Of those, per approval status.
    pub by_status: BTreeMap<&'static str, usize>,
    /// Reasons by product, SKU and month.
    pub reasons: Vec<ReasonRow>,
    /// Return rate per product.
    pub products: Vec<ProductRow>,
    /// Refund totals per currency.
    pub refunds: Vec<RefundTotal>,
    /// Request to resolution.
    pub resolution: ResolutionTimes,
}

/// The period `[from, to]` of whole UTC days (`YYYY-MM-DD`, both included) as instants
/// `[start, end)`; absent: the 30 days up to `today`. Errors name `from` or `to`.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let day = |field: &str, raw: Option<&str>, default: chrono::NaiveDate| match raw.filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(raw) => chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| crate::domain::DomainError::invalid(field, "must be a date as YYYY-MM-DD")),
    };
    let to = day("to", to, today)?;
    let from = day("from", from, to - chrono::Duration::days(29))?;
    if from > to {
        return Err(crate::domain::DomainError::invalid("from", "must not be after to").into());
    }
    let start = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let end = (to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    Ok((start, end))
}

/// A reasons row's key: month, reason, sub-reason, SKU, product.
type ReasonKey = (String, String, Option<String>, Option<String>, String);

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// The tenant's report for returns created in `[from, to)`.
pub async fn returns_report(
    deps: &Deps,
    tenant: &TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ReturnsReport, AppError> {
    if to <= from {
        return Err(crate::domain::DomainError::invalid("to", "must be after from").into());
    }
    let filter = ReturnFilter { created_at_min: Some(from), ..ReturnFilter::default() };
    let (all, _) = deps.returns.returns(tenant, &filter, 0, usize::MAX).await?;
    let returns: Vec<_> = all.into_iter().filter(|r| r.created_at < to).collect();
    let mut by_status = BTreeMap::new();
    let mut reasons: BTreeMap<ReasonKey, (u32, u32)> = BTreeMap::new();
    let mut returned: BTreeMap<(Option<String>, String), u64> = BTreeMap::new();
    let mut refunds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut hours = Vec::new();
    for ret in &returns {
        *by_status.entry(ret.approval_status.as_str()).or_insert(0) += 1;
        let period = ret.created_at.format("%Y-%m").to_string();
        for item in &ret.items {
            let key = (
                period.clone(),
                item.reason.clone(),
                item.subreason.clone(),
                item.sku.clone(),
                item.product_title.clone(),
            );
            let row = reasons.entry(key).or_insert((0, 0));
            row.0 += 1;
            row.1 += item.intended_return_quantity;
            if ret.holds_units() {
                *returned.entry((item.sku.clone(), item.product_title.clone())).or_insert(0) +=
                    u64::from(item.return_quantity());
            }
        }
        if ret.holds_units() {
            let minor = ret.refund_estimate.minor_units().unwrap_or(0);
            let total = refunds.entry(ret.refund_estimate.currency.clone()).or_insert((0, 0));
            total.0 += minor;
            if ret.approval_status == ApprovalStatus::Done {
                total.1 += minor;
            }
        }
        if let Some(resolved) = ret.resolved_at {
            hours.push((resolved - ret.created_at).num_seconds() as f64 / 3600.0);
        }
    }
    hours.sort_by(f64::total_cmp);
    let mut ordered: BTreeMap<(Option<String>, String), u64> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = deps.orders.orders(tenant, after.as_deref(), 500).await?;
        for order in &page {
            let placed = order.placed_at.unwrap_or(order.created_at);
            if placed >= from && placed < to {
                for item in &order.items {
                    *ordered.entry((item.sku.clone(), item.title.clone())).or_insert(0) += u64::from(item.quantity);
                }
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    let mut products: BTreeMap<(Option<String>, String), (u64, u64)> = BTreeMap::new();
    for (key, units) in ordered {
        products.entry(key).or_default().0 = units;
    }
    for (key, units) in returned {
        products.entry(key).or_default().1 = units;
    }
    Ok(ReturnsReport {
        from,
        to,
        returns: returns.len(),
        by_status,
        reasons: reasons
            .into_iter()
            .map(|((period, reason, subreason, sku, product), (returns, units))| ReasonRow {
                period,
                reason,
                subreason,
                sku,
                product,
                returns,
                units,
            })
            .collect(),
        products: products
            .into_iter()
            .map(|((sku, product), (ordered_units, returned_units))| ProductRow {
                sku,
                product,
                ordered_units,
                returned_units,
                return_rate: (ordered_units > 0).then(|| returned_units as f64 / ordered_units as f64),
            })
            .collect(),
        refunds: refunds
            .into_iter()
            .map(|(currency, (estimated, resolved))| RefundTotal {
                estimated: Money::from_minor(estimated, &currency),
                resolved: Money::from_minor(resolved, &currency),
                currency,
            })
            .collect(),
        resolution: ResolutionTimes {
            resolved: hours.len(),
            p50_hours: quantile(&hours, 0.5),
            p90_hours: quantile(&hours, 0.9),
        },
    })
}

/// Which table of the report a CSV holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTable {
    /// [`ReasonRow`]s.
    Reasons,
    /// [`ProductRow`]s.
    Products,
}

/// `table` of `report` as CSV, with a header row.
pub fn report_csv(report: &ReturnsReport, table: ReportTable) -> Result<Vec<u8>, AppError> {
    let fault = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    match table {
        ReportTable::Reasons => {
            writer
                .write_record(["period", "reason", "subreason", "sku", "product", "returns", "units"])
                .map_err(fault)?;
            for row in &report.reasons {
                let (returns, units) = (row.returns.to_string(), row.units.to_string());
                writer
                    .write_record([
                        row.period.as_str(),
                        &row.reason,
                        row.subreason.as_deref().unwrap_or_default(),
                        row.sku.as_deref().unwrap_or_default(),
                        &row.product,
                        &returns,
                        &units,
                    ])
                    .map_err(fault)?;
            }
        }
        ReportTable::Products => {
            writer.write_record(["sku", "product", "ordered_units", "returned_units", "return_rate"]).map_err(fault)?;
            for row in &report.products {
                let rate = row.return_rate.map(|r| format!("{r:.4}")).unwrap_or_default();
                writer
                    .write_record([
                        row.sku.as_deref().unwrap_or_default(),
                        &row.product,
                        &row.ordered_units.to_string(),
                        &row.returned_units.to_string(),
                        &rate,
                    ])
                    .map_err(fault)?;
            }
        }
    }
    writer.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))
}
