use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::domain::{
    CheckpointInput, CheckpointSource, Customer, EventTime, ShipmentDetails, Slug, Subtag, TenantId, TrackingNumber,
};

fn shipment() -> Shipment {
    let start = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().expect("date");
    let details = ShipmentDetails {
        order_number: Some("#100234".into()),
        title: Some("Ceramic <pour-over> set".into()),
        customers: vec![Customer { name: Some("Ann".into()), language: Some("de-AT".into()), ..Customer::default() }],
        ..ShipmentDetails::default()
    };
    let slug = Slug::parse("ups").expect("slug");
    let number = TrackingNumber::parse("1Z999AA10123456784").expect("number");
    let mut shipment = Shipment::new(TenantId::random(), slug.clone(), number.clone(), details, start);
    let event = CheckpointInput::new(
        slug,
        number,
        EventTime::from_utc(start + Duration::hours(5)),
        Subtag::parse("OutForDelivery_001").expect("subtag"),
        "Out For Delivery Today",
        CheckpointSource::Carrier,
    );
    shipment.merge([event], start + Duration::hours(6));
    shipment
}

fn page() -> TrackingPage {
    TrackingPage::default_for("Acme <Outfitters> & Co", "acme-outfitters".into())
}

const URL: &str = "https://track.acme-outfitters.example/t/acme-outfitters/1Z999AA10123456784";

fn envelope() -> Envelope<'static> {
    Envelope {
        tracking_url: URL,
        unsubscribe_url: Some("https://track.example/u/signed-token"),
        recipient_name: Some("Ann"),
    }
}

#[test]
fn every_trigger_writes_every_language_with_an_sms_of_at_most_two_segments() {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 15, 0, 0).single().expect("date");
    for language in Language::ALL {
        for trigger in Trigger::ALL {
            let message = compose(trigger, &shipment(), &page(), &envelope(), language, now, None).expect("composed");
            assert!(message.subject.contains("#100234"), "{language} {trigger:?}: {}", message.subject);
            assert!(message.html.contains(&format!("<html lang=\"{}\">", language.code())));
            assert!(message.html.contains("Acme &lt;Outfitters&gt; &amp; Co"), "merchant text escaped in HTML");
            assert!(message.html.contains("Ceramic &lt;pour-over&gt; set"));
            assert!(message.text.contains(URL) && message.text.contains("Acme <Outfitters> & Co"), "text as it is");
            assert!(message.text.contains("https://track.example/u/signed-token"));
            assert!(message.sms.contains(URL) && message.sms.contains("#100234"));
            assert!(
                message.sms_segments.segments <= 2,
                "{language} {trigger:?}: {:?} {}",
                message.sms_segments,
                message.sms
            );
        }
    }
}

#[test]
fn messages_speak_the_recipients_language_and_mask_the_carrier_when_asked() {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 15, 0, 0).single().expect("date");
    let mut page = page();
    assert_eq!(message_language(&page, Some("de-AT"), &shipment()), Language::De, "the recipient's");
    assert_eq!(message_language(&page, Some("pt-BR"), &shipment()), Language::En, "not offered: the default");
    page.languages = vec![Language::En, Language::Fr];
    assert_eq!(message_language(&page, Some("de"), &shipment()), Language::En, "only what the merchant offers");

    let german =
        compose(Trigger::OutForDelivery, &shipment(), &page, &envelope(), Language::De, now, None).expect("composed");
    assert!(german.subject.starts_with("Deine Bestellung #100234 kommt heute"), "{}", german.subject);
    assert!(german.text.starts_with("Hallo Ann,"), "{}", german.text);
    assert!(german.html.contains("In Zustellung (vor 2 Stunden)"), "the latest event, in words");
    assert!(german.html.contains("UPS"));
    page.hide_carrier = true;
    let masked =
        compose(Trigger::OutForDelivery, &shipment(), &page, &envelope(), Language::En, now, None).expect("composed");
    assert!(!masked.html.contains("UPS ·") && !masked.text.contains("Carrier:"), "{}", masked.text);
    let anonymous = Envelope { recipient_name: None, unsubscribe_url: None, ..envelope() };
    let plain = compose(Trigger::Delivered, &shipment(), &page, &anonymous, Language::Ja, now, None).expect("composed");
    assert!(plain.text.starts_with("お客様") && !plain.html.contains("signed-token"));
}
