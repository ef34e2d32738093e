//! How accurate the estimated delivery dates are: a model trained on the shipments created in
//! one range of days, tested on the deliveries of the shipments created in a later one.
//!
//! A prediction from pickup depends on the lane alone (the date moves, the window in days from
//! pickup does not), so the test is exact and cheap: each test lane's deliveries by days from
//! pickup, against the window the trained model gives that lane.

use std::collections::BTreeMap;

use serde::Serialize;

use super::trained;
use crate::app::analytics::{DayRange, LaneFilter, lane_totals};
use crate::app::{AppError, Deps};
use crate::domain::TenantId;
use crate::domain::edd::{ConfidenceCode, LaneQuery, Level};

/// How the figures are measured, as the report states it.
const METHOD: &str = "train on shipments created from train_from to train_to; test on the deliveries of \
     shipments created from test_from to test_to; each prediction is made from the actual pickup date with \
     the lane (courier, origin, destination, service) as the only input; in_range: share delivered from \
     estimated_delivery_date_min to _max; on_date: share delivered on estimated_delivery_date; \
     within_one_day: share delivered within a day of it; by_date: share delivered on or before it; mae_days: mean absolute error of \
     estimated_delivery_date in days; stated_coverage: the share the model expected inside its ranges";

/// Accuracy over a set of deliveries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// Deliveries tested.
    pub deliveries: u64,
    /// Share delivered inside the range.
    pub in_range: f64,
    /// Share delivered on the single date.
    pub on_date: f64,
    /// Share delivered within a day of the single date.
    pub within_one_day: f64,
    /// Share delivered on or before the single date (the promise kept).
    pub by_date: f64,
    /// Mean absolute error of the single date, in days.
    pub mae_days: f64,
    /// The share the model expected inside its ranges (the nominal coverage).
    pub stated_coverage: f64,
}

/// Sums an [`Accuracy`] is made from.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    deliveries: f64,
    in_range: f64,
    on_date: f64,
    within_one_day: f64,
    by_date: f64,
    error_days: f64,
    stated: f64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.deliveries += other.deliveries;
        self.in_range += other.in_range;
        self.on_date += other.on_date;
        self.within_one_day += other.within_one_day;
        self.by_date += other.by_date;
        self.error_days += other.error_days;
        self.stated += other.stated;
    }

    fn accuracy(&self) -> Accuracy {
        let share = |sum: f64| if self.deliveries > 0.0 { sum / self.deliveries } else { 0.0 };
        Accuracy {
            deliveries: self.deliveries as u64,
            in_range: share(self.in_range),
            on_date: share(self.on_date),
            within_one_day: share(self.within_one_day),
            by_date: share(self.by_date),
            mae_days: share(self.error_days),
            stated_coverage: share(self.stated),
        }
    }
}

/// One test lane: its prediction (days from pickup) and how it did.
#[derive(Debug, Clone, Serialize)]
pub struct LaneAccuracy {
    /// The courier.
    pub slug: String,
    /// Origin, alpha-3.
    pub origin_country_region: Option<String>,
    /// Destination, alpha-3.
    pub destination_country_region: Option<String>,
    /// The service.
    pub service_type_name: Option<String>,
    /// The history the prediction came from.
    pub level: Level,
    /// AfterShip's confidence code.
    pub confidence_code: u32,
    /// The range's first day, in days from pickup.
    pub min_days: u32,
    /// The single date, in days from pickup.
    pub single_days: u32,
    /// The range's last day, in days from pickup.
    pub max_days: u32,
    /// How it did.
    #[serde(flatten)]
    pub accuracy: Accuracy,
}

/// The accuracy report.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// How it was measured.
    pub method: &'static str,
    /// The training range's first day.
    pub train_from: String,
    /// Its last day.
    pub train_to: String,
    /// The test range's first day.
    pub test_from: String,
    /// Its last day.
    pub test_to: String,
    /// Deliveries the model learnt from.
    pub trained_on: u64,
    /// Every test delivery.
    pub overall: Accuracy,
    /// By confidence code.
    pub by_confidence_code: BTreeMap<u32, Accuracy>,
    /// By lane, the busiest first.
    pub lanes: Vec<LaneAccuracy>,
}

fn day(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Trains `tenant`'s model on `train` and tests it on the deliveries of `test`.
pub async fn evaluate(deps: &Deps, tenant: &TenantId, train: DayRange, test: DayRange) -> Result<Evaluation, AppError> {
    let model = trained(deps, tenant, train).await?;
    let tested = lane_totals(deps, tenant, test, &LaneFilter::default()).await?;
    let mut overall = Tally::default();
    let mut by_code: BTreeMap<u32, Tally> = BTreeMap::new();
    let mut lanes = Vec::new();
    for (lane, counters) in &tested {
        let estimate = model.estimate(&LaneQuery::from(lane));
        let window = estimate.window;
        let code = ConfidenceCode::of(&estimate, &window, true).code();
        let mut tally = Tally::default();
        for (days, count) in counters.transit_days().filter(|(_, count)| *count > 0) {
            let count = count as f64;
            let error = days.abs_diff(window.single);
            tally.deliveries += count;
            tally.in_range += count * f64::from(u8::from((window.earliest..=window.latest).contains(&days)));
            tally.on_date += count * f64::from(u8::from(error == 0));
            tally.within_one_day += count * f64::from(u8::from(error <= 1));
            tally.by_date += count * f64::from(u8::from(days <= window.single));
            tally.error_days += count * f64::from(error);
            tally.stated += count * window.range_share;
        }
        if tally.deliveries == 0.0 {
            continue;
        }
        overall.add(&tally);
        by_code.entry(code).or_default().add(&tally);
        lanes.push(LaneAccuracy {
            slug: lane.slug.as_str().to_owned(),
            origin_country_region: lane.origin.map(|c| c.as_str().to_owned()),
            destination_country_region: lane.destination.map(|c| c.as_str().to_owned()),
            service_type_name: lane.service.clone(),
            level: estimate.level,
            confidence_code: code,
            min_days: window.earliest,
            single_days: window.single,
            max_days: window.latest,
            accuracy: tally.accuracy(),
        });
    }
    lanes.sort_by_key(|lane| std::cmp::Reverse(lane.accuracy.deliveries));
    Ok(Evaluation {
        method: METHOD,
        train_from: day(train.from),
        train_to: day(train.to),
        test_from: day(test.from),
        test_to: day(test.to),
        trained_on: model.deliveries(),
        overall: overall.accuracy(),
        by_confidence_code: by_code.into_iter().map(|(code, tally)| (code, tally.accuracy())).collect(),
        lanes,
    })
}
