//! Estimated delivery dates on a tracking: the first the shipment got and the latest,
//! revised as it moves. Before the carrier has it, the pickup is expected on the next working
//! day (Monday to Friday, 18:00 cutoff) after the order; once it is picked up, the estimate
//! counts from the pickup's date and, while it is not delivered, leaves out the days already
//! gone ([`TransitDays::window`] with the days elapsed).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::calendar::{WorkingWeek, pickup_time};
use super::{ConfidenceCode, EddModel, LaneQuery, Level};
use crate::domain::analytics::Lane;
use crate::domain::{EventTime, Shipment, Tag};

/// Where an estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EddSource {
    /// The carrier's own estimate.
    Carrier,
    /// Porchlight's prediction from the merchant's history.
    Predicted,
}

/// One estimate: a date and the range around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEstimate {
    /// Who estimated it.
    pub source: EddSource,
    /// The single date.
    pub date: NaiveDate,
    /// The range's first day.
    pub earliest: NaiveDate,
    /// The range's last day.
    pub latest: NaiveDate,
    /// AfterShip's confidence code (predictions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_code: Option<u32>,
    /// The pickup date plus the 90th percentile of its lane's transit days: after this day
    /// the parcel is slower than 9 in 10 of its lane's. Only once picked up, and only when
    /// the lane (with or without its service) has [`super::ENOUGH_DELIVERIES`] of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_p90: Option<NaiveDate>,
}

/// A shipment's estimates: the first it got (kept) and the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentEdd {
    /// The first estimate.
    pub first: DeliveryEstimate,
    /// The latest estimate: the carrier's scheduled date while it has one to come, else
    /// Porchlight's prediction.
    pub latest: DeliveryEstimate,
    /// Porchlight's latest prediction, when the latest estimate is the carrier's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<DeliveryEstimate>,
    /// Each change of the latest estimate's date or source after the first, oldest first; the
    /// most recent [`MAX_EDD_CHANGES`] are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<EddChange>,
}

impl ShipmentEdd {
    /// Estimates that begin with `first`, unchanged since.
    pub fn starting(first: DeliveryEstimate) -> ShipmentEdd {
        ShipmentEdd { latest: first.clone(), first, predicted: None, changes: Vec::new() }
    }
}

/// Most changes of a shipment's estimate kept.
pub const MAX_EDD_CHANGES: usize = 20;

/// A change of a shipment's latest estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EddChange {
    /// The day it was revised.
    pub on: NaiveDate,
    /// Who estimated the new date.
    pub source: EddSource,
    /// The new date.
    pub date: NaiveDate,
}

/// The cutoff an order is assumed to meet (AfterShip's default).
const ASSUMED_CUTOFF: NaiveTime = match NaiveTime::from_hms_opt(18, 0, 0) {
    Some(time) => time,
    None => panic!("18:00 is a time"),
};

/// Whether a shipment still waits for its delivery: not delivered, completed or returning.
fn awaits_delivery(shipment: &Shipment) -> bool {
    shipment.completed.is_none() && !shipment.return_to_sender && !matches!(shipment.tag, Tag::Delivered | Tag::Expired)
}

/// The prediction for `shipment` as of `today` (the recipient's date, taken as UTC's); `None`
/// when it no longer waits for a delivery.
pub fn predict_for(model: &EddModel, shipment: &Shipment, today: NaiveDate) -> Option<DeliveryEstimate> {
    if !awaits_delivery(shipment) {
        return None;
    }
    let details = &shipment.details;
    let query = LaneQuery {
        slug: shipment.slug.clone(),
        origin: details.origin_country_region,
        destination: details.destination_country_region.or(shipment.courier_destination_country_region),
        service: details.shipment_type.as_deref().and_then(Lane::service_name),
    };
    let picked_up = shipment.shipment_pickup_date.as_ref().and_then(|time| crate::domain::written_date(time.as_str()));
    let (pickup, elapsed) = match picked_up {
        Some(pickup) => (pickup, u32::try_from((today - pickup).num_days()).unwrap_or(0)),
        None => {
            let ordered = details
                .order_date
                .as_deref()
                .and_then(|raw| EventTime::parse(raw).ok())
                .map_or_else(|| shipment.created_at.naive_utc(), |at| at.instant().naive_utc());
            let expected = pickup_time(ordered, ASSUMED_CUTOFF, WorkingWeek::MONDAY_TO_FRIDAY, 0).date();
            (expected.max(today), 0)
        }
    };
    let estimate = model.estimate(&query);
    let window = estimate.days.window(elapsed);
    let precise = details.destination_postal_code.is_some() || details.destination_city.is_some();
    let day = |offset: u32| pickup + chrono::Days::new(u64::from(offset));
    let lane_known = matches!(estimate.level, Level::LaneAndService | Level::Lane)
        && estimate.deliveries >= super::ENOUGH_DELIVERIES;
    Some(DeliveryEstimate {
        source: EddSource::Predicted,
        date: day(window.single),
        earliest: day(window.earliest),
        latest: day(window.latest),
        confidence_code: Some(ConfidenceCode::of(&estimate, &window, precise).code()),
        lane_p90: picked_up.filter(|_| lane_known).map(|_| day(estimate.days.quantile(0.9))),
    })
}

/// Brings `shipment`'s estimates up to date as of `today`: the latest replaced, the first
/// kept; a shipment that no longer waits keeps the estimates it had. A date the carrier
/// scheduled, today or later, is the latest estimate (`Carrier EDD`), the prediction kept
/// beside it; once it has passed undelivered, the prediction takes over.
pub fn revise(shipment: &mut Shipment, model: &EddModel, today: NaiveDate) {
    let Some(predicted) = predict_for(model, shipment, today) else { return };
    let (latest, predicted) = match shipment.carrier_edd.filter(|date| *date >= today) {
        Some(date) => {
            let carrier = DeliveryEstimate {
                source: EddSource::Carrier,
                date,
                earliest: date,
                latest: date,
                confidence_code: None,
                lane_p90: predicted.lane_p90,
            };
            (carrier, Some(predicted))
        }
        None => (predicted, None),
    };
    match &mut shipment.edd {
        Some(edd) => {
            if (edd.latest.date, edd.latest.source) != (latest.date, latest.source) {
                edd.changes.push(EddChange { on: today, source: latest.source, date: latest.date });
                let excess = edd.changes.len().saturating_sub(MAX_EDD_CHANGES);
                edd.changes.drain(..excess);
            }
            edd.latest = latest;
            edd.predicted = predicted;
        }
        None => shipment.edd = Some(ShipmentEdd { predicted, ..ShipmentEdd::starting(latest) }),
    }
}

#[cfg(test)]
mod tests;
