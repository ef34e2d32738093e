//! AfterShip 2026-07 wire shapes: request bodies in, the `Tracking` model out.
//!
//! Field names follow the official SDK's `src/model/*.ts` (`@aftership/tracking-sdk@17.0.0`).
//! Unknown request fields are ignored; wrong types are rejected naming the field.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod edd;
pub mod history;
mod returns;
mod values;

pub use returns::{method_code, outcome_code, parse_method, return_view, shipping_status_code};
pub use values::{
    AftershipEddView, CompletionReasonWire, CustomerView, DeliveryTypeWire, DirectionWire, EstimatedDeliveryView,
    PromisedDeliveryDateWire,
};

use crate::app::{AppError, NewTracking};
use crate::domain::{
    Checkpoint, CountryCode, Customer, DeliveryType, DomainError, EventTime, Leg, LegSource, PromisedDeliveryDate,
    Shipment, ShipmentDetails, Slug, TrackingNumber, e164, language_tag, nullable,
};

/// A customer as sent in a request.
#[derive(Debug, Clone, Default, Deserialize)]
#[allow(missing_docs)]
pub struct CustomerInput {
    pub role: Option<String>,
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub id: Option<String>,
}

/// The last-mile leg as sent on create.
#[derive(Debug, Clone, Default, Deserialize)]
#[allow(missing_docs)]
pub struct LastMileInput {
    pub tracking_number: Option<String>,
    pub slug: Option<String>,
}

macro_rules! tracking_write {
    (text: [$($text:ident),*], country: [$($country:ident),*], date: [$($date:ident),*]) => {
        /// The body of `POST /trackings` and `PUT /trackings/{id}`: every field optional here;
        /// create requires `tracking_number`. On update, `null` clears a field.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[allow(missing_docs)]
        pub struct TrackingWrite {
            pub tracking_number: Option<String>,
            pub slug: Option<String>,
            $(#[serde(default, deserialize_with = "nullable")] pub $text: Option<Option<String>>,)*
            $(#[serde(default, deserialize_with = "nullable")] pub $country: Option<Option<String>>,)*
            $(#[serde(default, deserialize_with = "nullable")] pub $date: Option<Option<String>>,)*
            #[serde(default, deserialize_with = "nullable")]
            pub custom_fields: Option<Option<Map<String, Value>>>,
            #[serde(default, deserialize_with = "nullable")]
            pub delivery_type: Option<Option<DeliveryTypeWire>>,
            pub shipment_tags: Option<Vec<String>>,
            pub customers: Option<Vec<CustomerInput>>,
            pub shipment_direction: Option<DirectionWire>,
            #[serde(default, deserialize_with = "nullable")]
            pub order_promised_delivery_date: Option<Option<PromisedDeliveryDateWire>>,
            pub last_mile: Option<LastMileInput>,
        }

        impl TrackingWrite {
            /// Applies every field present to `details`, checking each.
            pub fn apply(&self, details: &mut ShipmentDetails) -> Result<(), AppError> {
                $(if let Some(value) = &self.$text {
                    details.$text = value.clone();
                })*
                $(if let Some(value) = &self.$country {
                    details.$country = value.as_deref().map(|v| CountryCode::parse_field(stringify!($country), v)).transpose()?;
                })*
                $(if let Some(value) = &self.$date {
                    details.$date = value.as_deref().map(|v| date(stringify!($date), v)).transpose()?;
                })*
                self.apply_structured(details)
            }
        }
    };
}

tracking_write! {
    text: [title, order_id, order_id_path, order_number, language, note, pickup_location, pickup_note,
        tracking_account_number, tracking_key, origin_state, origin_city, origin_postal_code, origin_raw_location,
        destination_state, destination_city, destination_postal_code, destination_raw_location, shipment_type,
        courier_connection_id, location_id, shipping_method],
    country: [origin_country_region, destination_country_region],
    date: [order_date, tracking_ship_date]
}

fn date(field: &str, value: &str) -> Result<String, DomainError> {
    // AfterShip also takes `YYYYMMDD` for tracking_ship_date.
    let compact_date = value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit());
    if compact_date || EventTime::parse(value).is_ok() {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(field, "must be a date (YYYY-MM-DD) or an ISO 8601 date-time"))
    }
}

impl TrackingWrite {
    fn apply_structured(&self, details: &mut ShipmentDetails) -> Result<(), AppError> {
        if let Some(fields) = &self.custom_fields {
            details.custom_fields = fields.clone();
        }
        if let Some(delivery_type) = self.delivery_type {
            details.delivery_type = delivery_type.map(DeliveryType::from);
        }
        if let Some(tags) = &self.shipment_tags {
            let mut tags = tags.clone();
            tags.dedup();
            details.shipment_tags = tags;
        }
        if let Some(customers) = &self.customers {
            // New contacts are kept as messages need them: numbers in E.164, languages as tags.
            details.customers = customers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let phone_number = c
                        .phone_number
                        .as_deref()
                        .filter(|p| !p.trim().is_empty())
                        .map(|p| e164(&format!("customers[{i}].phone_number"), p))
                        .transpose()?;
                    if let Some(language) = c.language.as_deref() {
                        language_tag(&format!("customers[{i}].language"), language)?;
                    }
                    Ok(Customer {
                        role: c.role.clone(),
                        name: c.name.clone(),
                        phone_number,
                        email: c.email.as_ref().map(|e| e.trim().to_owned()),
                        language: c.language.clone(),
                        id: c.id.clone(),
                    })
                })
                .collect::<Result<_, DomainError>>()?;
        }
        if let Some(Some(language)) = &self.language {
            language_tag("language", language)?;
        }
        if let Some(direction) = self.shipment_direction {
            details.shipment_direction = direction.into();
        }
        if let Some(promised) = &self.order_promised_delivery_date {
            if let Some(promised) = promised {
                let fields = [
                    ("order_promised_delivery_date.promised_delivery_date", &promised.promised_delivery_date),
                    ("order_promised_delivery_date.promised_delivery_date_min", &promised.promised_delivery_date_min),
                    ("order_promised_delivery_date.promised_delivery_date_max", &promised.promised_delivery_date_max),
                ];
                for (field, value) in fields {
                    if let Some(value) = value {
                        date(field, value)?;
                    }
                }
            }
            details.order_promised_delivery_date = promised.clone().map(PromisedDeliveryDate::from);
        }
        Ok(())
    }

    /// The tracking to create. `Required` when `tracking_number` is absent.
    pub fn into_new_tracking(self) -> Result<NewTracking, AppError> {
        let number = self.tracking_number.as_deref().filter(|n| !n.trim().is_empty());
        let tracking_number = TrackingNumber::parse(number.ok_or(AppError::Required("tracking_number"))?)?;
        let slug = self.slug.as_deref().map(Slug::parse).transpose()?;
        let last_mile = match &self.last_mile {
            None => None,
            Some(leg) => {
                let number = leg.tracking_number.as_deref().ok_or(AppError::Required("last_mile.tracking_number"))?;
                let slug = leg.slug.as_deref().ok_or(AppError::Required("last_mile.slug"))?;
                Some(Leg {
                    tracking_number: TrackingNumber::parse(number)
                        .map_err(|e| DomainError::invalid("last_mile.tracking_number", e.reason))?,
                    slug: Slug::parse(slug).map_err(|e| DomainError::invalid("last_mile.slug", e.reason))?,
                    source: LegSource::User,
                })
            }
        };
        let mut details = ShipmentDetails::default();
        self.apply(&mut details)?;
        Ok(NewTracking { slug, tracking_number, details, last_mile })
    }

    /// Applies an update: the merchant's fields and, if given, a corrected slug.
    pub fn apply_update(&self, shipment: &mut Shipment) -> Result<(), AppError> {
        if let Some(slug) = &self.slug {
            shipment.slug = Slug::parse(slug)?;
        }
        self.apply(&mut shipment.details)
    }
}

/// The body of `POST /trackings/{id}/mark-as-completed`.
#[derive(Debug, Clone, Deserialize)]
pub struct MarkCompletedRequest {
    /// `DELIVERED`, `LOST` or `RETURNED_TO_SENDER`.
    pub reason: Option<CompletionReasonWire>,
    /// When it happened; now when absent.
    pub event_datetime: Option<String>,
}

/// The body of `POST /couriers/detect`.
#[derive(Debug, Clone, Deserialize)]
pub struct DetectRequest {
    /// The number to detect.
    pub tracking_number: Option<String>,
    /// Restrict the answer to these slugs.
    pub slug: Option<Vec<String>>,
}

/// `2026-05-01T12:00:00+00:00`, as AfterShip writes its own timestamps.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A checkpoint as AfterShip's `Checkpoint` model.
#[derive(Serialize)]
pub struct CheckpointView<'a> {
    created_at: String,
    slug: &'a str,
    checkpoint_time: &'a str,
    location: Option<&'a str>,
    city: Option<&'a str>,
    state: Option<&'a str>,
    postal_code: Option<&'a str>,
    coordinate: Option<()>,
    country_region: Option<&'a str>,
    country_region_name: Option<()>,
    message: &'a str,
    tag: &'static str,
    subtag: &'static str,
    subtag_message: &'static str,
    raw_tag: Option<&'a str>,
    events: [(); 0],
    source: crate::domain::CheckpointSource,
    hash: String,
}

impl<'a> From<&'a Checkpoint> for CheckpointView<'a> {
    fn from(c: &'a Checkpoint) -> Self {
        CheckpointView {
            created_at: timestamp(c.created_at),
            slug: c.slug.as_str(),
            checkpoint_time: c.checkpoint_time.as_str(),
            location: c.location.as_deref(),
            city: c.city.as_deref(),
            state: c.state.as_deref(),
            postal_code: c.postal_code.as_deref(),
            coordinate: None,
            country_region: c.country_region.as_ref().map(CountryCode::as_str),
            country_region_name: None,
            message: &c.message,
            tag: c.tag.as_str(),
            subtag: c.subtag.code(),
            subtag_message: c.subtag.message(),
            raw_tag: c.raw_tag.as_deref(),
            events: [],
            source: c.source,
            hash: c.hash.to_string(),
        }
    }
}

/// One leg of a two-leg journey (`first_mile` / `last_mile`).
#[derive(Serialize)]
pub struct LegView<'a> {
    tracking_number: &'a str,
    slug: &'a str,
    transit_time: Option<u32>,
    courier_tracking_link: Option<String>,
    courier_redirect_link: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<LegSource>,
}

/// A tracking as AfterShip's `Tracking` model. Fields Porchlight does not compute yet
/// (carbon emissions, proof of delivery, ...) are present and `null`,
/// as AfterShip sends them for trackings that lack them.
#[derive(Serialize)]
pub struct TrackingView<'a> {
    id: &'a str,
    legacy_id: &'a str,
    created_at: String,
    updated_at: String,
    tracking_number: &'a str,
    slug: &'a str,
    active: bool,
    custom_fields: Option<&'a Map<String, Value>>,
    transit_time: Option<u32>,
    origin_country_region: Option<&'a str>,
    origin_state: Option<&'a str>,
    origin_city: Option<&'a str>,
    origin_postal_code: Option<&'a str>,
    origin_raw_location: Option<&'a str>,
    destination_country_region: Option<&'a str>,
    destination_state: Option<&'a str>,
    destination_city: Option<&'a str>,
    destination_postal_code: Option<&'a str>,
    destination_raw_location: Option<&'a str>,
    courier_destination_country_region: Option<&'a str>,
    courier_estimated_delivery_date: Option<()>,
    note: Option<&'a str>,
    order_id: Option<&'a str>,
    order_id_path: Option<&'a str>,
    order_date: Option<&'a str>,
    shipment_package_count: Option<()>,
    shipment_pickup_date: Option<&'a str>,
    shipment_delivery_date: Option<&'a str>,
    shipment_type: Option<&'a str>,
    shipment_weight: Option<()>,
    shipment_dimensions: Option<()>,
    signed_by: Option<&'a str>,
    source: &'static str,
    tag: &'static str,
    subtag: &'static str,
    subtag_message: &'static str,
    title: &'a str,
    tracked_count: u32,
    language: Option<&'a str>,
    unique_token: &'a str,
    checkpoints: Vec<CheckpointView<'a>>,
    subscribed_smses: Vec<String>,
    subscribed_emails: Vec<String>,
    return_to_sender: bool,
    order_promised_delivery_date: Option<PromisedDeliveryDateWire>,
    delivery_type: Option<DeliveryTypeWire>,
    pickup_location: Option<&'a str>,
    pickup_note: Option<&'a str>,
    courier_tracking_link: Option<String>,
    first_attempted_at: Option<&'a str>,
    courier_redirect_link: Option<()>,
    tracking_account_number: Option<&'a str>,
    tracking_key: Option<&'a str>,
    tracking_ship_date: Option<&'a str>,
    on_time_status: Option<()>,
    on_time_difference: Option<()>,
    order_tags: [(); 0],
    aftership_estimated_delivery_date: Option<AftershipEddView>,
    custom_estimated_delivery_date: Option<()>,
    order_number: Option<&'a str>,
    first_estimated_delivery: Option<EstimatedDeliveryView>,
    latest_estimated_delivery: Option<EstimatedDeliveryView>,
    shipment_tags: &'a [String],
    courier_connection_id: Option<&'a str>,
    carbon_emissions: Option<()>,
    location_id: Option<&'a str>,
    shipping_method: Option<&'a str>,
    failed_delivery_attempts: u32,
    signature_requirement: &'static str,
    delivery_location_type: Option<()>,
    aftership_tracking_url: Option<String>,
    aftership_tracking_order_url: Option<String>,
    first_mile: Option<LegView<'a>>,
    last_mile: Option<LegView<'a>>,
    customers: Vec<CustomerView<'a>>,
    proof_of_delivery: Option<()>,
    multi_piece_info: Option<()>,
    shipment_direction: DirectionWire,
    return_shipment: Option<()>,
    forward_shipment: Option<()>,
}

impl TrackingView<'_> {
    /// Fills the shopper's links from the merchant's page address (`<public url>/t/<slug>`):
    /// the number's page, and the order lookup with the order number filled in.
    pub fn with_page(mut self, page: Option<&str>) -> Self {
        let escaped = crate::web::url_component;
        if let Some(page) = page {
            self.aftership_tracking_url = Some(format!("{page}/{}", escaped(self.tracking_number)));
            self.aftership_tracking_order_url =
                self.order_number.map(|order| format!("{page}?order_number={}", escaped(order)));
        }
        self
    }
}

impl<'a> From<&'a Shipment> for TrackingView<'a> {
    fn from(s: &'a Shipment) -> Self {
        let d = &s.details;
        let country = |c: &'a Option<CountryCode>| c.as_ref().map(CountryCode::as_str);
        let leg = |slug: &'a Slug, number: &'a TrackingNumber, source: Option<LegSource>| LegView {
            tracking_number: number.as_str(),
            slug: slug.as_str(),
            transit_time: s.leg_transit_time(slug, number),
            courier_tracking_link: crate::couriers::tracking_link(slug.as_str(), number),
            courier_redirect_link: None,
            source,
        };
        let first_mile = s.last_mile.as_ref().map(|_| leg(&s.slug, &s.tracking_number, None));
        let last_mile = s.last_mile.as_ref().map(|last| leg(&last.slug, &last.tracking_number, Some(last.source)));
        TrackingView {
            id: s.id.as_str(),
            legacy_id: s.id.as_str(),
            created_at: timestamp(s.created_at),
            updated_at: timestamp(s.updated_at),
            tracking_number: s.tracking_number.as_str(),
            slug: s.slug.as_str(),
            active: s.active,
            custom_fields: d.custom_fields.as_ref(),
            transit_time: s.transit_time,
            origin_country_region: country(&d.origin_country_region),
            origin_state: d.origin_state.as_deref(),
            origin_city: d.origin_city.as_deref(),
            origin_postal_code: d.origin_postal_code.as_deref(),
            origin_raw_location: d.origin_raw_location.as_deref(),
            destination_country_region: country(&d.destination_country_region),
            destination_state: d.destination_state.as_deref(),
            destination_city: d.destination_city.as_deref(),
            destination_postal_code: d.destination_postal_code.as_deref(),
            destination_raw_location: d.destination_raw_location.as_deref(),
            courier_destination_country_region: country(&s.courier_destination_country_region),
            courier_estimated_delivery_date: None,
            note: d.note.as_deref(),
            order_id: d.order_id.as_deref(),
            order_id_path: d.order_id_path.as_deref(),
            order_date: d.order_date.as_deref(),
            shipment_package_count: None,
            shipment_pickup_date: s.shipment_pickup_date.as_ref().map(EventTime::as_str),
            shipment_delivery_date: s.shipment_delivery_date.as_ref().map(EventTime::as_str),
            shipment_type: d.shipment_type.as_deref(),
            shipment_weight: None,
            shipment_dimensions: None,
            signed_by: s.signed_by.as_deref(),
            source: "api",
            tag: s.tag.as_str(),
            subtag: s.subtag.code(),
            subtag_message: s.subtag.message(),
            title: d.title.as_deref().unwrap_or(s.tracking_number.as_str()),
            tracked_count: s.tracked_count,
            language: d.language.as_deref(),
            unique_token: s.id.as_str(),
            checkpoints: s.checkpoints.iter().map(CheckpointView::from).collect(),
            subscribed_smses: s.subscribed_smses(),
            subscribed_emails: s.subscribed_emails(),
            return_to_sender: s.return_to_sender,
            order_promised_delivery_date: d.order_promised_delivery_date.as_ref().map(PromisedDeliveryDateWire::from),
            delivery_type: d.delivery_type.map(DeliveryTypeWire::from),
            pickup_location: d.pickup_location.as_deref(),
            pickup_note: d.pickup_note.as_deref(),
            courier_tracking_link: crate::couriers::tracking_link(s.slug.as_str(), &s.tracking_number),
            first_attempted_at: s.first_attempted_at.as_ref().map(EventTime::as_str),
            courier_redirect_link: None,
            tracking_account_number: d.tracking_account_number.as_deref(),
            tracking_key: d.tracking_key.as_deref(),
            tracking_ship_date: d.tracking_ship_date.as_deref(),
            on_time_status: None,
            on_time_difference: None,
            order_tags: [],
            aftership_estimated_delivery_date: s.edd.as_ref().and_then(AftershipEddView::of),
            custom_estimated_delivery_date: None,
            order_number: d.order_number.as_deref(),
            first_estimated_delivery: s.edd.as_ref().map(|edd| EstimatedDeliveryView::of(&edd.first, false)),
            latest_estimated_delivery: s.edd.as_ref().map(|edd| EstimatedDeliveryView::of(&edd.latest, true)),
            shipment_tags: &d.shipment_tags,
            courier_connection_id: d.courier_connection_id.as_deref(),
            carbon_emissions: None,
            location_id: d.location_id.as_deref(),
            shipping_method: d.shipping_method.as_deref(),
            failed_delivery_attempts: s.failed_delivery_attempts,
            signature_requirement: "null",
            delivery_location_type: None,
            aftership_tracking_url: None,
            aftership_tracking_order_url: None,
            first_mile,
            last_mile,
            customers: d.customers.iter().map(CustomerView::from).collect(),
            proof_of_delivery: None,
            multi_piece_info: None,
            shipment_direction: d.shipment_direction.into(),
            return_shipment: None,
            forward_shipment: None,
        }
    }
}

/// The body of a merchant's webhook, AfterShip's: `ts` (Unix seconds), `event`, `event_id`,
/// `is_tracking_first_tag` and `msg`, the tracking exactly as `GET /trackings/{id}` answers it
/// (links to the page at `page`).
pub fn webhook_body(
    shipment: &Shipment,
    page: Option<&str>,
    event: crate::domain::WebhookEvent,
    event_id: &str,
    at: DateTime<Utc>,
    first_tag: bool,
    exception: Option<&crate::ports::ExceptionCase>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        ts: i64,
        event: &'static str,
        event_id: &'a str,
        is_tracking_first_tag: bool,
        msg: TrackingView<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        exception: Option<serde_json::Value>,
    }
    let body = Body {
        ts: at.timestamp(),
        event: event.as_str(),
        event_id,
        is_tracking_first_tag: first_tag,
        msg: TrackingView::from(shipment).with_page(page),
        exception: exception.map(exception_case_json),
    };
    serde_json::to_vec(&body).expect("tracking views serialize")
}

/// An exception case as the API (`/porchlight/v1/exceptions`) and the `exception_case`
/// webhook show it.
pub fn exception_case_json(case: &crate::ports::ExceptionCase) -> serde_json::Value {
    serde_json::json!({
        "id": case.id,
        "tracking_id": case.shipment_id.as_str(),
        "slug": case.slug.as_str(),
        "tracking_number": case.tracking_number,
        "rule_id": case.rule_id,
        "rule_name": case.rule_name,
        "severity": case.severity,
        "reason": case.reason,
        "state": case.state,
        "assignee": case.assignee,
        "notes": case.notes.iter()
            .map(|n| serde_json::json!({"at": timestamp(n.at), "author": n.author, "text": n.text}))
            .collect::<Vec<_>>(),
        "opened_at": timestamp(case.opened_at),
        "updated_at": timestamp(case.updated_at),
        "resolved_at": case.resolved_at.map(timestamp),
        "reopened_count": case.reopened,
    })
}

/// An order as `/porchlight/v1/orders` answers it (without its trackings and eligibility).
pub fn order_json(order: &crate::domain::Order) -> serde_json::Value {
    serde_json::json!({
        "id": order.id,
        "external_id": order.external_id,
        "store": order.store,
        "order_number": order.order_number,
        "placed_at": order.placed_at.map(timestamp),
        "fulfilled_at": order.fulfilled_at.map(timestamp),
        "customer": order.customer,
        "shipping_address": order.shipping_address,
        "currency": order.currency,
        "items": order.items,
        "created_at": timestamp(order.created_at),
        "updated_at": timestamp(order.updated_at),
    })
}
