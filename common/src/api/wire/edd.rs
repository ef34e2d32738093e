//! AfterShip's estimated delivery date API on the wire: `EstimatedDeliveryDateRequest` in,
//! the same echoed with `id`, `estimated_delivery_date`, `_min`, `_max` and
//! `confidence_code` out (Tracking API 2026-07, `POST /estimated-delivery-date/predict` and
//! `/predict-batch`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::app::AppError;
use crate::domain::edd::calendar::{WorkingWeek, pickup_time};
use crate::domain::edd::{EddRequest, LaneQuery, Prediction};
use crate::domain::{CountryCode, DomainError, Slug, analytics::Lane};

/// Most predictions one batch may ask for.
pub const MAX_BATCH: usize = 5;

/// AfterShip's default order cutoff.
const DEFAULT_CUTOFF: &str = "18:00:00";
/// Longest order processing time taken, in days.
const MAX_PROCESSING_DAYS: f64 = 60.0;

/// An address as the request gives it (and the answer echoes it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AddressWire {
    country_region: Option<String>,
    state: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    raw_location: Option<String>,
}

/// `weight`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WeightWire {
    unit: Option<String>,
    value: Option<f64>,
}

/// `estimated_pickup.order_processing_time`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProcessingWire {
    unit: Option<String>,
    value: Option<f64>,
}

/// `estimated_pickup`: when the order was placed and how the shop works; the answer adds the
/// `pickup_time` worked out from it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EstimatedPickupWire {
    order_time: Option<String>,
    order_cutoff_time: Option<String>,
    business_days: Option<Vec<i64>>,
    order_processing_time: Option<ProcessingWire>,
    #[serde(default, skip_deserializing)]
    pickup_time: Option<String>,
}

/// One `EstimatedDeliveryDateRequest`; the answer is the same object, completed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EddWire {
    #[serde(default, skip_deserializing)]
    id: String,
    slug: Option<String>,
    service_type_name: Option<String>,
    origin_address: Option<AddressWire>,
    destination_address: Option<AddressWire>,
    weight: Option<WeightWire>,
    package_count: Option<i64>,
    pickup_time: Option<String>,
    estimated_pickup: Option<EstimatedPickupWire>,
    #[serde(default, skip_deserializing)]
    estimated_delivery_date: Option<String>,
    #[serde(default, skip_deserializing)]
    confidence_code: Option<u32>,
    #[serde(default, skip_deserializing)]
    estimated_delivery_date_min: Option<String>,
    #[serde(default, skip_deserializing)]
    estimated_delivery_date_max: Option<String>,
}

/// `POST /estimated-delivery-date/predict-batch`'s body.
#[derive(Debug, Deserialize)]
pub struct EddBatchWire {
    /// The requests, 1 to [`MAX_BATCH`].
    pub estimated_delivery_dates: Option<Vec<EddWire>>,
}

fn invalid(at: &str, field: &str, reason: impl Into<String>) -> AppError {
    AppError::Invalid(DomainError::invalid(format!("{at}{field}"), reason))
}

fn text<'a>(at: &str, field: &str, value: &'a Option<String>, max: usize) -> Result<Option<&'a str>, AppError> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Err(invalid(at, field, "must not be empty")),
        Some(value) if value.chars().count() > max => {
            Err(invalid(at, field, format!("is longer than {max} characters")))
        }
        Some(value) => Ok(Some(value)),
    }
}

/// The local time `raw` (`YYYY-MM-DD HH:MM:SS`, or with a `T`; an offset, if any, is
/// ignored: the time is the origin's local one).
fn local_time(at: &str, field: &str, raw: &str) -> Result<NaiveDateTime, AppError> {
    let raw = raw.trim();
    let clock = raw.get(..19).unwrap_or(raw).replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&clock, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| invalid(at, field, format!("{raw:?} is not a local time (YYYY-MM-DD HH:MM:SS)")))
}

impl AddressWire {
    /// The country, checked; and whether the address says more than the country.
    fn read(&self, at: &str) -> Result<(CountryCode, bool), AppError> {
        let country = text(at, "country_region", &self.country_region, 3)?
            .ok_or_else(|| invalid(at, "country_region", "is required"))?;
        let country = CountryCode::parse_field(&format!("{at}country_region"), country).map_err(AppError::from)?;
        let state = text(at, "state", &self.state, 256)?;
        let city = text(at, "city", &self.city, 256)?;
        let postal_code = text(at, "postal_code", &self.postal_code, 256)?;
        text(at, "raw_location", &self.raw_location, 512)?;
        if state.is_none() && postal_code.is_none() {
            return Err(invalid(at, "state", "state or postal_code is required"));
        }
        // AfterShip asks for the country's code as the state where a country has none.
        let real_state = state.is_some_and(|s| !s.eq_ignore_ascii_case(country.as_str()));
        Ok((country, real_state || city.is_some() || postal_code.is_some()))
    }
}

impl EddWire {
    /// Checks the request; errors name the field under `at` (`""`, or
    /// `estimated_delivery_dates[2].` in a batch).
    pub fn read(&mut self, at: &str) -> Result<EddRequest, AppError> {
        let slug = text(at, "slug", &self.slug, 64)?.ok_or_else(|| invalid(at, "slug", "is required"))?;
        let slug = Slug::parse(slug).map_err(|e| invalid(at, "slug", e.reason))?;
        if crate::couriers::find(slug.as_str()).is_none() {
            return Err(AppError::UnknownCourier(slug.as_str().to_owned()));
        }
        let service = text(at, "service_type_name", &self.service_type_name, 256)?.and_then(Lane::service_name);
        let (origin, origin_precise) = self
            .origin_address
            .as_ref()
            .ok_or_else(|| invalid(at, "origin_address", "is required"))?
            .read(&format!("{at}origin_address."))?;
        let (destination, destination_precise) = self
            .destination_address
            .as_ref()
            .ok_or_else(|| invalid(at, "destination_address", "is required"))?
            .read(&format!("{at}destination_address."))?;
        if let Some(weight) = &self.weight {
            text(at, "weight.unit", &weight.unit, 16)?.ok_or_else(|| invalid(at, "weight.unit", "is required"))?;
            match weight.value {
                Some(value) if value.is_finite() && value >= 0.0 => {}
                Some(_) => return Err(invalid(at, "weight.value", "must be a number from 0")),
                None => return Err(invalid(at, "weight.value", "is required")),
            }
        }
        if self.package_count.is_some_and(|count| count < 1) {
            return Err(invalid(at, "package_count", "must be at least 1"));
        }
        let pickup = match (&self.pickup_time, &mut self.estimated_pickup) {
            (Some(raw), _) => local_time(at, "pickup_time", raw)?,
            (None, Some(estimated)) => estimated.pickup(&format!("{at}estimated_pickup."))?,
            (None, None) => return Err(invalid(at, "pickup_time", "pickup_time or estimated_pickup is required")),
        };
        let query = LaneQuery { slug, origin: Some(origin), destination: Some(destination), service };
        Ok(EddRequest { query, pickup, precise_addresses: origin_precise && destination_precise })
    }

    /// The answer: this request, completed with `id` and `prediction`.
    pub fn answer(mut self, id: String, prediction: &Prediction) -> EddWire {
        let date = |day: NaiveDate| Some(day.format("%Y-%m-%d").to_string());
        self.id = id;
        self.estimated_delivery_date = date(prediction.date);
        self.estimated_delivery_date_min = date(prediction.earliest);
        self.estimated_delivery_date_max = date(prediction.latest);
        self.confidence_code = Some(prediction.confidence.code());
        self
    }
}

impl EstimatedPickupWire {
    /// The pickup time it gives; fills in AfterShip's defaults and the `pickup_time`, so the
    /// answer shows what was used.
    fn pickup(&mut self, at: &str) -> Result<NaiveDateTime, AppError> {
        let order = self.order_time.as_deref().ok_or_else(|| invalid(at, "order_time", "is required"))?;
        let order = local_time(at, "order_time", order)?;
        let cutoff_raw = self.order_cutoff_time.get_or_insert_with(|| DEFAULT_CUTOFF.to_owned());
        let cutoff = NaiveTime::parse_from_str(cutoff_raw.trim(), "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(cutoff_raw.trim(), "%H:%M"))
            .map_err(|_| invalid(at, "order_cutoff_time", format!("{cutoff_raw:?} is not a time (HH:MM:SS)")))?;
        let days = self.business_days.get_or_insert_with(|| vec![1, 2, 3, 4, 5]);
        let week = days
            .iter()
            .map(|day| u8::try_from(*day).ok())
            .collect::<Option<Vec<u8>>>()
            .and_then(|days| WorkingWeek::of(&days))
            .ok_or_else(|| invalid(at, "business_days", "must list weekdays from 1 (Monday) to 7 (Sunday)"))?;
        let processing =
            self.order_processing_time.get_or_insert(ProcessingWire { unit: Some("day".into()), value: Some(0.0) });
        if processing.unit.as_deref().is_some_and(|unit| unit != "day") {
            return Err(invalid(at, "order_processing_time.unit", "must be day"));
        }
        processing.unit.get_or_insert_with(|| "day".into());
        let value = *processing.value.get_or_insert(0.0);
        if !(0.0..=MAX_PROCESSING_DAYS).contains(&value) {
            return Err(invalid(at, "order_processing_time.value", format!("must be from 0 to {MAX_PROCESSING_DAYS}")));
        }
        let pickup = pickup_time(order, cutoff, week, value.ceil() as u32);
        self.pickup_time = Some(pickup.format("%Y-%m-%d %H:%M:%S").to_string());
        Ok(pickup)
    }
}
