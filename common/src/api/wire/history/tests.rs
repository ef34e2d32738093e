use chrono::{TimeZone, Utc};

use super::*;
use crate::api::wire::TrackingView;
use crate::domain::{Customer, Leg, LegSource, Shipment, ShipmentDetails, Slug, TenantId, TrackingNumber};

fn read(format: HistoryFormat, text: &str) -> Vec<(u64, Result<HistoryRecord, LineError>)> {
    HistoryReader::new(format, text.as_bytes()).collect()
}

/// A tracking as `GET /trackings/{id}` answers it, with two legs and a delivered timeline.
fn exported() -> (Shipment, String) {
    let created = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("time");
    let details = ShipmentDetails {
        order_number: Some("#1001".into()),
        destination_country_region: Some(CountryCode::parse("USA").expect("country")),
        customers: vec![Customer {
            role: Some("buyer".into()),
            email: Some("ann@example.com".into()),
            ..Customer::default()
        }],
        shipment_tags: vec!["vip".into()],
        ..ShipmentDetails::default()
    };
    let slug = Slug::parse("yunexpress").expect("slug");
    let number = TrackingNumber::parse("YT2412345678901234").expect("number");
    let mut shipment = Shipment::new(TenantId::random(), slug.clone(), number.clone(), details, created);
    let last_mile = Leg {
        slug: Slug::parse("usps").expect("slug"),
        tracking_number: TrackingNumber::parse("9400111899223856923447").expect("number"),
        source: LegSource::User,
    };
    shipment.last_mile = Some(last_mile.clone());
    let event = |leg: (&Slug, &TrackingNumber), code: &str, day: u32| {
        let mut input = CheckpointInput::new(
            leg.0.clone(),
            leg.1.clone(),
            EventTime::parse(&format!("2026-03-0{day}T10:00:00+08:00")).expect("time"),
            Subtag::parse(code).expect("subtag"),
            format!("{code} message"),
            CheckpointSource::Carrier,
        );
        input.raw_tag = Some(format!("raw-{code}"));
        input.city = Some("Shenzhen".into());
        input.country_region = Some(CountryCode::parse("CHN").expect("country"));
        input
    };
    let events = vec![
        event((&slug, &number), "InTransit_002", 2),
        event((&last_mile.slug, &last_mile.tracking_number), "OutForDelivery_001", 6),
        event((&last_mile.slug, &last_mile.tracking_number), "Delivered_001", 7),
    ];
    shipment.merge(events, Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).single().expect("time"));
    let line = serde_json::to_string(&TrackingView::from(&shipment)).expect("json");
    (shipment, line)
}

#[test]
fn a_tracking_as_the_api_answers_it_reads_back_with_its_timeline_and_legs() {
    let (shipment, line) = exported();
    let records = read(HistoryFormat::JsonLines, &format!("{line}\n\n{line}\n"));
    assert_eq!(records.len(), 2, "blank lines are skipped");
    assert_eq!(records[1].0, 3, "lines keep their numbers in the file");
    let record = records[0].1.as_ref().expect("reads");
    assert_eq!(record.created_at, Some(shipment.created_at));
    assert_eq!(record.tracking.slug.as_ref().map(Slug::as_str), Some("yunexpress"));
    assert_eq!(record.tracking.details.order_number.as_deref(), Some("#1001"));
    assert_eq!(record.tracking.details.shipment_tags, ["vip"]);
    assert_eq!(record.tracking.details.customers[0].email.as_deref(), Some("ann@example.com"));
    assert_eq!(record.tracking.last_mile.as_ref().map(|l| l.slug.as_str()), Some("usps"));
    let legs: Vec<_> = record.events.iter().map(|e| (e.slug.as_str(), e.subtag.code())).collect();
    assert_eq!(legs, [("yunexpress", "InTransit_002"), ("usps", "OutForDelivery_001"), ("usps", "Delivered_001")]);
    // Merged again, the events give the same timeline the export had.
    let mut again = Shipment::new(
        TenantId::random(),
        shipment.slug.clone(),
        shipment.tracking_number.clone(),
        record.tracking.details.clone(),
        shipment.created_at,
    );
    again.last_mile = record.tracking.last_mile.clone();
    again.merge(record.events.clone(), Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).single().expect("time"));
    let hashes = |s: &Shipment| s.checkpoints.iter().map(|c| c.hash).collect::<Vec<_>>();
    assert_eq!(hashes(&again), hashes(&shipment));
    assert_eq!((again.tag, again.checkpoints[0].raw_tag.as_deref()), (shipment.tag, Some("raw-InTransit_002")));
}

#[test]
fn bad_lines_name_their_line_and_field_and_the_good_ones_still_read() {
    let (_, good) = exported();
    let text = [
        good.as_str(),
        "{not json",
        "[1, 2]",
        r#"{"slug": "ups"}"#,
        r#"{"tracking_number": "1Z999AA10123456784", "slug": "ups", "destination_country_region": "Narnia"}"#,
        r#"{"tracking_number": "1Z999AA10123456784", "slug": "ups", "checkpoints": [{"subtag": "Delivered_001"}]}"#,
        r#"{"tracking_number": "1Z999AA10123456784", "slug": "ups", "checkpoints": [{"checkpoint_time": "2026-03-01T10:00:00Z", "subtag": "Nope_001"}]}"#,
        r#"{"tracking_number": "1Z999AA10123456784", "shipment_tags": "vip"}"#,
        r#"{"tracking_number": "ZZZ", "created_at": "yesterday"}"#,
        r#"{"tracking_number": "1Z999AA10123456784", "tag": "Delivered", "courier_tracking_link": "https://x", "aftership_estimated_delivery_date": null, "last_mile": {"tracking_number": null, "slug": null}}"#,
    ]
    .join("\n");
    let faults: Vec<(u64, Option<(String, bool)>)> = read(HistoryFormat::JsonLines, &text)
        .into_iter()
        .map(|(line, record)| (line, record.err().map(|e| (e.field, !e.reason.is_empty()))))
        .collect();
    let field = |f: &str| Some((f.to_owned(), true));
    assert_eq!(
        faults,
        [
            (1, None),
            (2, field("")),
            (3, field("")),
            (4, field("tracking_number")),
            (5, field("destination_country_region")),
            (6, field("checkpoints[0].checkpoint_time")),
            (7, field("checkpoints[0].subtag")),
            (8, field("shipment_tags")),
            (9, field("created_at")),
            (10, None),
        ]
    );
}

#[test]
fn a_csv_of_numbers_with_order_fields_reads_with_common_header_names() {
    let text = "\u{feff}Tracking Number,Courier,Order Number,Email,Shipping Country,Tags,order_promised_delivery_date,Unknown\n\
                1Z999AA10123456784,United Parcel Service,#1001,ann@example.com,US,vip; gift,2026-03-09,x\n\
                ,,,,,,,\n\
                9400111899223856923448,,#1002,,DE,,,\n\
                1Z999AA10123456784,ups,#1003,,Atlantis,,,\n\
                NOT-A-NUMBER,,#1004,,,,,\n";
    let records = read(HistoryFormat::Csv, text);
    assert_eq!(records.len(), 4, "the empty row is skipped");
    let first = records[0].1.as_ref().expect("reads");
    assert_eq!(records[0].0, 2, "the header is line 1");
    assert_eq!(first.tracking.details.order_number.as_deref(), Some("#1001"));
    assert_eq!(first.tracking.slug.as_ref().map(Slug::as_str), Some("ups"), "the carrier's name read as its slug");
    assert_eq!(
        first.tracking.details.destination_country_region.map(|c| c.as_str().to_owned()).as_deref(),
        Some("USA")
    );
    assert_eq!(first.tracking.details.shipment_tags, ["vip", "gift"]);
    assert_eq!(first.tracking.details.customers[0].role.as_deref(), Some("buyer"));
    let promised = first.tracking.details.order_promised_delivery_date.as_ref().expect("promised");
    assert_eq!(promised.promised_delivery_date.as_deref(), Some("2026-03-09"));
    let detected = records[1].1.as_ref().expect("reads");
    assert_eq!(detected.tracking.slug.as_ref().map(Slug::as_str), Some("usps"), "detected from the number");
    let fault = records[2].1.as_ref().expect_err("a bad country");
    assert_eq!((fault.line, fault.field.as_str()), (5, "destination_country_region"));
    let fault = records[3].1.as_ref().expect_err("no courier");
    assert_eq!((fault.line, fault.field.as_str()), (6, "slug"));
}

#[test]
fn formats_are_known_by_media_type_and_file_name() {
    assert_eq!(HistoryFormat::from_content_type("application/x-ndjson; charset=utf-8"), Some(HistoryFormat::JsonLines));
    assert_eq!(HistoryFormat::from_content_type("Text/CSV"), Some(HistoryFormat::Csv));
    assert_eq!(HistoryFormat::from_content_type("application/json"), None);
    assert_eq!(HistoryFormat::from_file_name("export.JSONL"), Some(HistoryFormat::JsonLines));
    assert_eq!(HistoryFormat::from_file_name("orders.csv"), Some(HistoryFormat::Csv));
    assert_eq!(HistoryFormat::from_file_name("orders"), None);
}

#[test]
fn an_exported_row_reads_back_as_the_same_tracking() {
    let (mut shipment, _) = exported();
    shipment.details.title = Some("Mug, \"blue\"; large".into());
    shipment.details.destination_postal_code = Some("92019".into());
    shipment.details.order_promised_delivery_date = Some(crate::domain::PromisedDeliveryDate {
        promised_delivery_date: Some("2026-03-09".into()),
        ..Default::default()
    });
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(csv_header()).expect("header");
    writer.write_record(csv_row(&shipment)).expect("row");
    let text = String::from_utf8(writer.into_inner().expect("written")).expect("utf-8");

    let records = read(HistoryFormat::Csv, &text);
    let record = records[0].1.as_ref().expect("reads back");
    let tracking = &record.tracking;
    assert_eq!(tracking.tracking_number, shipment.tracking_number);
    assert_eq!(tracking.slug.as_ref(), Some(&shipment.slug));
    let (read, wrote) = (&tracking.details, &shipment.details);
    assert_eq!(
        (&read.title, &read.order_number, &read.destination_postal_code),
        (&wrote.title, &wrote.order_number, &wrote.destination_postal_code)
    );
    assert_eq!(
        (read.destination_country_region, &read.shipment_tags),
        (wrote.destination_country_region, &wrote.shipment_tags)
    );
    assert_eq!(read.customers[0].email, wrote.customers[0].email);
    assert_eq!(read.order_promised_delivery_date, wrote.order_promised_delivery_date);
    assert_eq!(record.created_at, Some(shipment.created_at));
}
