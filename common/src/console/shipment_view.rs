//! One shipment's page: what the shopper's page shows (the timeline of both legs, in English),
//! and what only the team sees (order and route, estimates, tags and note, exception cases,
//! notifications planned and sent).

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::{Visitor, notice_text, page};
use crate::app::{AppError, Deps};
use crate::domain::edd::EddSource;
use crate::domain::{Language, Severity, Shipment, Tag};
use crate::ports::Delivery;
use crate::web::Catalog;

#[derive(Serialize)]
struct CaseRow {
    rule: String,
    severity: &'static str,
    tone: &'static str,
    state: &'static str,
    opened: String,
}

#[derive(Serialize)]
struct MessageRow {
    trigger: String,
    channel: &'static str,
    to: String,
    state: &'static str,
    detail: Option<String>,
    when: String,
}

/// The shipment's facts as (label, value) pairs, those it has.
fn facts(shipment: &Shipment) -> Vec<(&'static str, String)> {
    let d = &shipment.details;
    let place = |city: &Option<String>, country: &Option<crate::domain::CountryCode>| {
        let parts: Vec<&str> = [city.as_deref(), country.as_ref().map(|c| c.as_str())].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    };
    let customers: Vec<String> = d
        .customers
        .iter()
        .map(|c| {
            [c.name.as_deref(), c.email.as_deref(), c.phone_number.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .filter(|c| !c.is_empty())
        .collect();
    [
        ("Title", d.title.clone()),
        ("Order number", d.order_number.clone()),
        ("Order id", d.order_id.clone()),
        ("From", place(&d.origin_city, &d.origin_country_region)),
        ("To", place(&d.destination_city, &d.destination_country_region)),
        ("Customers", (!customers.is_empty()).then(|| customers.join("; "))),
        ("Shipping method", d.shipping_method.clone()),
        ("Created", Some(super::shipments::when(shipment.created_at))),
        ("Last change", Some(super::shipments::when(shipment.updated_at))),
        ("Picked up", shipment.shipment_pickup_date.as_ref().map(|t| t.as_str().to_owned())),
        ("Delivered", shipment.shipment_delivery_date.as_ref().map(|t| t.as_str().to_owned())),
        ("Days in transit", shipment.transit_time.map(|d| d.to_string())),
        ("Failed attempts", Some(shipment.failed_delivery_attempts).filter(|n| *n > 0).map(|n| n.to_string())),
        ("Signed by", shipment.signed_by.clone()),
        ("Next check", shipment.next_poll_at.map(super::shipments::when)),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.map(|v| (label, v)))
    .collect()
}

/// Labelled values, in order.
type Pairs<L> = Vec<(L, String)>;

/// The estimates the shipment had and has, then how the latest changed (day, what), newest
/// first.
fn estimates(shipment: &Shipment) -> (Pairs<&'static str>, Pairs<String>) {
    let mut rows = Vec::new();
    let mut changes = Vec::new();
    if let Some(date) = shipment.carrier_edd {
        rows.push(("Carrier's date", date.to_string()));
    }
    if let Some(edd) = &shipment.edd {
        let range = |e: &crate::domain::edd::DeliveryEstimate| format!("{} ({} to {})", e.date, e.earliest, e.latest);
        rows.push(("First estimate", range(&edd.first)));
        rows.push(("Latest estimate", range(&edd.latest)));
        if let Some(predicted) = &edd.predicted {
            rows.push(("Porchlight's prediction", range(predicted)));
        }
        let by = |source: EddSource| match source {
            EddSource::Carrier => "the carrier",
            EddSource::Predicted => "Porchlight",
        };
        changes =
            edd.changes.iter().rev().map(|c| (c.on.to_string(), format!("{} by {}", c.date, by(c.source)))).collect();
    }
    (rows, changes)
}

/// Events about a shipment whose deliveries its page lists.
const EVENTS_SHOWN: usize = 20;

/// The deliveries of the shipment's latest events to the merchant's endpoints, newest first
/// (each event's own delivery; replays of a dead one keep its id).
async fn webhook_deliveries(deps: &Deps, shipment: &Shipment) -> Result<Vec<minijinja::Value>, AppError> {
    let tenant = &shipment.tenant_id;
    let events = deps.webhooks.subject_events(tenant, shipment.id.as_str(), EVENTS_SHOWN).await?;
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let endpoints = crate::app::webhooks::list_endpoints(deps, tenant).await?;
    let ids: Vec<String> = events
        .iter()
        .flat_map(|e| endpoints.iter().map(|ep| Delivery::delivery_id(tenant, &ep.id, &e.event_id, "")))
        .take(100)
        .collect();
    let mut deliveries = deps.webhooks.deliveries(tenant, &ids).await?;
    deliveries.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    Ok(deliveries.iter().map(super::integrations::delivery_row).collect())
}

fn severity_tone(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "bad",
        _ => "near",
    }
}

/// Renders the page of `shipment` for `visitor`, with the notice a form left.
pub(super) async fn detail_page(
    deps: &Deps,
    visitor: &Visitor,
    shipment: &Shipment,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let catalog = Catalog::of(Language::En);
    let settings = crate::app::pages::page_settings(deps, &shipment.tenant_id).await?;
    let parcel = crate::web::parcel(shipment, &settings, catalog, deps.clock.now(), None, true);
    let cases: Vec<CaseRow> = crate::app::exceptions::cases_of(deps, shipment)
        .await?
        .into_iter()
        .map(|c| CaseRow {
            rule: c.rule_name,
            severity: c.severity.as_str(),
            tone: severity_tone(c.severity),
            state: c.state.as_str(),
            opened: super::shipments::when(c.opened_at),
        })
        .collect();
    let messages: Vec<MessageRow> = deps
        .ledger
        .shipment_messages(&shipment.tenant_id, &shipment.id)
        .await?
        .into_iter()
        .map(|m| MessageRow {
            trigger: if m.test { format!("{} (test)", m.trigger.as_str()) } else { m.trigger.as_str().to_owned() },
            channel: m.channel.as_str(),
            to: m.recipient.clone(),
            state: m.state.as_str(),
            detail: m.detail.clone(),
            when: super::shipments::when(m.finished_at.unwrap_or(m.due_at)),
        })
        .collect();
    let returns = match &shipment.details.order_number {
        Some(order) => {
            let filter = crate::ports::ReturnFilter { order_name: Some(order.clone()), ..Default::default() };
            deps.returns.returns(&shipment.tenant_id, &filter, 0, 20).await?.0
        }
        None => Vec::new(),
    };
    let returns: Vec<_> = returns
        .iter()
        .map(|r| minijinja::context! { id => r.id.clone(), rma => r.rma_number.clone(), status => r.approval_status.as_str() })
        .collect();
    let deliveries = webhook_deliveries(deps, shipment).await?;
    let (edd, edd_changes) = estimates(shipment);
    let mut layout = visitor.layout("shipments");
    layout.notice = notice.as_deref().and_then(notice_text).map(str::to_owned);
    let finished = shipment.completed.is_some() || shipment.tag == Tag::Delivered;
    let content = minijinja::context! {
        id => shipment.id.as_str(),
        parcel => super::value(&parcel),
        facts => super::value(&facts(shipment)),
        edd => super::value(&edd),
        edd_changes => super::value(&edd_changes),
        tags => super::value(&shipment.details.shipment_tags),
        note => shipment.details.note.clone(),
        cases => super::value(&cases),
        returns => returns,
        messages => super::value(&messages),
        deliveries => deliveries,
        can_retrack => !finished,
        can_complete => shipment.completed.is_none(),
        status => super::shipments::status_label(shipment.tag),
        tone => super::shipments::tone(shipment.tag),
    };
    let title = format!("{} {}", super::shipments::carrier_name(&shipment.slug), shipment.tracking_number.as_str());
    Ok(page(StatusCode::OK, "console/shipment.html", &title, &layout, content))
}
