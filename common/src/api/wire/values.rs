//! The API's own spelling of the domain's enums and small records, mapped both ways, so that
//! renaming a domain type or its storage form never changes what merchants send and read.

use serde::{Deserialize, Serialize};

use crate::domain::edd::{DeliveryEstimate, EddSource, ShipmentEdd};
use crate::domain::{CompletionReason, Customer, DeliveryType, PromisedDeliveryDate, ShipmentDirection};

/// `delivery_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryTypeWire {
    /// `pickup_at_store`
    #[serde(rename = "pickup_at_store")]
    PickupAtStore,
    /// `door_to_door`
    #[serde(rename = "door_to_door")]
    DoorToDoor,
    /// `pickup_at_courier`
    #[serde(rename = "pickup_at_courier")]
    PickupAtCourier,
}

impl From<DeliveryTypeWire> for DeliveryType {
    fn from(wire: DeliveryTypeWire) -> Self {
        match wire {
            DeliveryTypeWire::PickupAtStore => DeliveryType::PickupAtStore,
            DeliveryTypeWire::DoorToDoor => DeliveryType::DoorToDoor,
            DeliveryTypeWire::PickupAtCourier => DeliveryType::PickupAtCourier,
        }
    }
}

impl From<DeliveryType> for DeliveryTypeWire {
    fn from(domain: DeliveryType) -> Self {
        match domain {
            DeliveryType::PickupAtStore => DeliveryTypeWire::PickupAtStore,
            DeliveryType::DoorToDoor => DeliveryTypeWire::DoorToDoor,
            DeliveryType::PickupAtCourier => DeliveryTypeWire::PickupAtCourier,
        }
    }
}

/// `shipment_direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectionWire {
    /// `forward`
    #[serde(rename = "forward")]
    Forward,
    /// `return`
    #[serde(rename = "return")]
    Return,
}

impl From<DirectionWire> for ShipmentDirection {
    fn from(wire: DirectionWire) -> Self {
        match wire {
            DirectionWire::Forward => ShipmentDirection::Forward,
            DirectionWire::Return => ShipmentDirection::Return,
        }
    }
}

impl From<ShipmentDirection> for DirectionWire {
    fn from(domain: ShipmentDirection) -> Self {
        match domain {
            ShipmentDirection::Forward => DirectionWire::Forward,
            ShipmentDirection::Return => DirectionWire::Return,
        }
    }
}

/// `reason` of `mark-as-completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CompletionReasonWire {
    /// `DELIVERED`
    #[serde(rename = "DELIVERED")]
    Delivered,
    /// `LOST`
    #[serde(rename = "LOST")]
    Lost,
    /// `RETURNED_TO_SENDER`
    #[serde(rename = "RETURNED_TO_SENDER")]
    ReturnedToSender,
}

impl From<CompletionReasonWire> for CompletionReason {
    fn from(wire: CompletionReasonWire) -> Self {
        match wire {
            CompletionReasonWire::Delivered => CompletionReason::Delivered,
            CompletionReasonWire::Lost => CompletionReason::Lost,
            CompletionReasonWire::ReturnedToSender => CompletionReason::ReturnedToSender,
        }
    }
}

/// `order_promised_delivery_date`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // AfterShip's fields of the same name
pub struct PromisedDeliveryDateWire {
    #[serde(default)]
    pub promised_delivery_date: Option<String>,
    #[serde(default)]
    pub promised_delivery_date_min: Option<String>,
    #[serde(default)]
    pub promised_delivery_date_max: Option<String>,
}

impl From<PromisedDeliveryDateWire> for PromisedDeliveryDate {
    fn from(wire: PromisedDeliveryDateWire) -> Self {
        PromisedDeliveryDate {
            promised_delivery_date: wire.promised_delivery_date,
            promised_delivery_date_min: wire.promised_delivery_date_min,
            promised_delivery_date_max: wire.promised_delivery_date_max,
        }
    }
}

impl From<&PromisedDeliveryDate> for PromisedDeliveryDateWire {
    fn from(domain: &PromisedDeliveryDate) -> Self {
        PromisedDeliveryDateWire {
            promised_delivery_date: domain.promised_delivery_date.clone(),
            promised_delivery_date_min: domain.promised_delivery_date_min.clone(),
            promised_delivery_date_max: domain.promised_delivery_date_max.clone(),
        }
    }
}

/// A customer as AfterShip's `customers[]` shows one.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

impl<'a> From<&'a Customer> for CustomerView<'a> {
    fn from(customer: &'a Customer) -> Self {
        CustomerView {
            role: customer.role.as_deref(),
            name: customer.name.as_deref(),
            phone_number: customer.phone_number.as_deref(),
            email: customer.email.as_deref(),
            language: customer.language.as_deref(),
            id: customer.id.as_deref(),
        }
    }
}

fn day(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// `aftership_estimated_delivery_date`: the latest prediction, when the latest estimate is one.
#[derive(Debug, Clone, Serialize)]
pub struct AftershipEddView {
    estimated_delivery_date: String,
    confidence_code: Option<u32>,
    estimated_delivery_date_min: String,
    estimated_delivery_date_max: String,
}

impl AftershipEddView {
    /// The view of Porchlight's latest prediction (beside a carrier's date, or the latest
    /// estimate itself).
    pub fn of(edd: &ShipmentEdd) -> Option<Self> {
        let latest = edd.predicted.as_ref().unwrap_or(&edd.latest);
        (latest.source == EddSource::Predicted).then(|| AftershipEddView {
            estimated_delivery_date: day(latest.date),
            confidence_code: latest.confidence_code,
            estimated_delivery_date_min: day(latest.earliest),
            estimated_delivery_date_max: day(latest.latest),
        })
    }
}

/// `first_estimated_delivery` and `latest_estimated_delivery`.
#[derive(Debug, Clone, Serialize)]
pub struct EstimatedDeliveryView {
    #[serde(rename = "type")]
    kind: &'static str,
    source: &'static str,
    datetime: String,
    datetime_min: String,
    datetime_max: String,
    /// Only on `latest_estimated_delivery` (always `null`: Porchlight names no reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    revise_reason: Option<Option<&'static str>>,
}

impl EstimatedDeliveryView {
    /// The view of `estimate`; `latest` adds `revise_reason`.
    pub fn of(estimate: &DeliveryEstimate, latest: bool) -> Self {
        EstimatedDeliveryView {
            kind: if estimate.earliest == estimate.latest { "specific" } else { "range" },
            source: match estimate.source {
                EddSource::Carrier => "Carrier EDD",
                EddSource::Predicted => "AfterShip EDD",
            },
            datetime: day(estimate.date),
            datetime_min: day(estimate.earliest),
            datetime_max: day(estimate.latest),
            revise_reason: latest.then_some(None),
        }
    }
}
