//! A shipment's page beyond its timeline: the history of its estimate and the webhooks sent
//! about it.

use axum::http::StatusCode;

use super::Harness;
use crate::app::webhooks::{EndpointWrite, create_endpoint};
use crate::domain::edd::{DeliveryEstimate, EddChange, EddSource, ShipmentEdd};
use crate::domain::{Role, WebhookEvent};
use crate::ports::{AfterAttempt, Attempt, Delivery, WebhookEventRecord};
use crate::testkit::base_time;

#[tokio::test]
async fn a_shipments_page_shows_how_its_estimate_changed_and_its_webhook_deliveries() {
    let h = Harness::new().await;
    h.member(&h.tenant, "ana@example.com", Role::Agent).await;
    let id = h.tracking(&h.tenant, "ups", "1Z999AA10123456784", "#1001").await;
    let mut shipment = h.deps.shipments.get(&h.tenant, &id).await.expect("read").expect("there");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
    let estimate = DeliveryEstimate {
        source: EddSource::Predicted,
        date: day(4),
        earliest: day(3),
        latest: day(5),
        confidence_code: None,
        lane_p90: None,
    };
    let mut edd = ShipmentEdd::starting(estimate);
    edd.changes.push(EddChange { on: day(2), source: EddSource::Carrier, date: day(7) });
    shipment.edd = Some(edd);
    h.deps.shipments.update(&shipment).await.expect("updated");

    let write = EndpointWrite { url: Some("https://hooks.example.com/porchlight".into()), ..EndpointWrite::default() };
    let (endpoint, _) = create_endpoint(&h.deps, &h.tenant, write).await.expect("endpoint");
    let event = WebhookEventRecord {
        tenant_id: h.tenant.clone(),
        event_id: uuid::Uuid::new_v4().to_string(),
        event: WebhookEvent::TrackingUpdate,
        at: base_time(),
        subject: id.to_string(),
        body: b"{}".to_vec(),
    };
    h.deps.webhooks.record_event(&event).await.expect("kept");
    let delivery = Delivery::new(&event, &endpoint.id, "", base_time());
    h.deps.webhooks.plan_delivery(&delivery).await.expect("planned");
    let answered = Attempt { at: base_time(), status: Some(503), latency_ms: 40, error: None };
    h.deps.webhooks.record_attempt(&h.tenant, &delivery.id, &answered, AfterAttempt::Dead).await.expect("recorded");

    let mut ana = h.signed_in("ana@example.com").await;
    let page = h.get(&mut ana, &format!("/console/shipments/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("How the estimate changed"), "{}", page.body);
    assert!(page.body.contains("2026-12-07 by the carrier"));
    assert!(page.body.contains(&format!("/console/settings/webhooks/{}", endpoint.id)), "the delivery links its log");
    assert!(page.body.contains("HTTP 503 in 40 ms") && page.body.contains(">dead<"), "{}", page.body);

    let other = crate::app::create_tenant(&h.deps, "Other").await.expect("tenant").0.id;
    h.member(&other, "bo@example.com", Role::Owner).await;
    let mut bo = h.signed_in("bo@example.com").await;
    assert_eq!(h.get(&mut bo, &format!("/console/shipments/{id}")).await.status, StatusCode::NOT_FOUND);
}
