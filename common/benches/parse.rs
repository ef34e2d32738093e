//! Parsing a typical carrier response with 30 events into checkpoints.
//!
//! Target (issue 3): under 50 µs. Run: `cargo bench -p porchlight --bench parse`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn ups_response(events: usize) -> Vec<u8> {
    let activity: Vec<_> = (0..events)
        .map(|i| {
            let (kind, code, description) = match i % 5 {
                0 => ("I", "AR", "Arrived at Facility"),
                1 => ("I", "DP", "Departed from Facility"),
                2 => ("I", "OR", "On the Way"),
                3 => ("X", "7E", "A CUSTOMS DELAY HAS OCCURRED"),
                _ => ("I", "YP", "Preparing for Delivery"),
            };
            json!({
                "location": {"address": {"city": "LOUISVILLE", "stateProvince": "KY", "postalCode": "40201", "country": "US", "countryCode": "US"}, "slic": "4009"},
                "status": {"type": kind, "description": description, "code": code, "statusCode": "005"},
                "date": format!("202604{:02}", 1 + i / 2),
                "time": format!("{:02}3000", i % 20),
                "gmtDate": format!("202604{:02}", 1 + i / 2),
                "gmtOffset": "-04:00",
                "gmtTime": format!("{:02}:30:00", i % 20 + 4),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"trackResponse": {"shipment": [{"inquiryNumber": "1Z999AA10123456784", "package": [{
        "trackingNumber": "1Z999AA10123456784", "activity": activity, "deliveryInformation": {"receivedBy": ""}
    }]}]}}))
    .expect("serializes")
}

fn fedex_response(events: usize) -> Vec<u8> {
    const TYPES: [&str; 5] = ["AR", "DP", "IT", "OD", "DE"];
    let scans: Vec<_> = (0..events)
        .map(|i| {
            let event_type = TYPES[i % 5];
            json!({
                "date": format!("2026-04-{:02}T{:02}:15:00-05:00", 1 + i / 2, i % 24),
                "eventType": event_type,
                "eventDescription": "Arrived at FedEx location",
                "exceptionCode": "", "exceptionDescription": "",
                "scanLocation": {"streetLines": [""], "city": "MEMPHIS", "stateOrProvinceCode": "TN", "postalCode": "38118", "countryCode": "US", "residential": false},
                "locationType": "FEDEX_FACILITY", "derivedStatusCode": "IT", "derivedStatus": "In transit"
            })
        })
        .collect();
    serde_json::to_vec(
        &json!({"output": {"completeTrackResults": [{"trackingNumber": "449044304137821", "trackResults": [{
            "trackingNumberInfo": {"trackingNumber": "449044304137821", "carrierCode": "FDXG"}, "scanEvents": scans
        }]}]}}),
    )
    .expect("serializes")
}

fn parse(c: &mut Criterion) {
    let ups = ups_response(30);
    c.bench_function("parse UPS Track API response, 30 activities", |b| {
        b.iter(|| porchlight::carriers::ups::parse_track_response(std::hint::black_box(&ups)).expect("parses"))
    });
    let fedex = fedex_response(30);
    c.bench_function("parse FedEx Track API response, 30 scan events", |b| {
        b.iter(|| porchlight::carriers::fedex::parse_track_response(std::hint::black_box(&fedex)).expect("parses"))
    });
}

criterion_group!(benches, parse);
criterion_main!(benches, reference);

fn serde_only(c: &mut Criterion) {
    let ups = ups_response(30);
    eprintln!("ups response: {} bytes", ups.len());
    c.bench_function("serde_json::Value of the UPS response (reference)", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&ups)).expect("parses"))
    });
    c.bench_function("serde_json::de::IgnoredAny over the UPS response (reference)", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(std::hint::black_box(&ups)).expect("parses"))
    });
}

criterion_group!(reference, serde_only);
