use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Record {
    number: String,
    valid: bool,
    courier_code: String,
    #[serde(rename = "type")]
    format: String,
    #[serde(default)]
    alt_couriers: Option<Vec<String>>,
    #[serde(default)]
    spec_valid_couriers: Vec<String>,
}

fn corpus() -> Vec<Record> {
    serde_json::from_str(include_str!("../testdata/tracking-numbers.json")).expect("corpus parses")
}

/// The corpus's courier codes as AfterShip slugs; S10 numbers go to the issuing country's post.
fn slug_for(code: &str, format: &str, number: &str) -> &'static str {
    match code {
        "usps" => "usps",
        "fedex" => "fedex",
        "ups" => "ups",
        "dhl" if format.contains("E-Commerce") || format.contains("Ecommerce") => "dhl-global-mail",
        "dhl" => "dhl",
        "lasership" => "lasership",
        "amazon" => "amazon",
        "ontrac" => "ontrac",
        "gofo" => "gofo-express",
        "purolator" => "purolator",
        "old_dominion" => "old-dominion",
        "canpar" => "canpar",
        "dpd" => "dpd",
        "speedee" => "speedee",
        "yodel" => "yodel",
        "canada_post" => "canada-post",
        "landmark" => "landmark-global",
        "yunexpress" => "yunexpress",
        "s10" => match number.trim().get(number.trim().len().saturating_sub(2)..) {
            Some("GB") => "royal-mail",
            Some("US") => "usps",
            _ => "upu",
        },
        other => panic!("unmapped corpus courier {other}"),
    }
}

fn expected(record: &Record) -> Vec<&'static str> {
    let mut slugs = vec![slug_for(&record.courier_code, &record.format, &record.number)];
    for alt in record.alt_couriers.iter().flatten() {
        slugs.push(slug_for(alt, "", &record.number));
    }
    slugs
}

/// Numbers the detector gets wrong on purpose, with the reason. Each one is checked to still be
/// a miss, so fixing one means moving it out of this list.
const KNOWN_MISSES: &[(&str, &str)] = &[
    ("1Z12345E0305271640", UPS_TEST_NUMBER),
    ("1Z12345E0205271688", UPS_TEST_NUMBER),
    ("1Z12345E0393657226", UPS_TEST_NUMBER),
    ("1Z12345E1305277940", UPS_TEST_NUMBER),
    ("1Z12345E6205277936", UPS_TEST_NUMBER),
    ("1Z12345E1505270452", UPS_TEST_NUMBER),
    ("1Z12345E5991872040", UPS_TEST_NUMBER),
    ("1Z12345E0390105056", UPS_TEST_NUMBER),
    ("1Z12345E0290424025", UPS_TEST_NUMBER),
    ("1Z12345E0194845039", UPS_TEST_NUMBER),
];

/// UPS's developer-kit test numbers (shipper 12345E) do not satisfy UPS's own check digit: they
/// are detected as `ups` with `checksum: invalid`, which is what a real typo also gets.
const UPS_TEST_NUMBER: &str = "UPS test shipper 12345E, check digit does not hold";

#[test]
fn detection_is_right_on_the_labelled_corpus() {
    let mut per_courier: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut false_accepts = Vec::new();
    for record in corpus() {
        let found = detect(&record.number);
        let wanted = expected(&record);
        if record.valid {
            let entry = per_courier.entry(wanted[0]).or_default();
            entry.0 += 1;
            let hit = found.iter().any(|d| wanted.contains(&d.courier.slug) && d.checksum != Checksum::Invalid);
            if hit {
                entry.1 += 1;
            } else if !KNOWN_MISSES.iter().any(|(n, _)| *n == record.number) {
                misses.push(format!(
                    "{} ({}, {}): got {:?}",
                    record.number,
                    record.courier_code,
                    record.format,
                    slugs(&found)
                ));
            }
            if found.first().is_some_and(|d| wanted.contains(&d.courier.slug)) {
                entry.2 += 1;
            }
        } else {
            let labelled = wanted[0];
            let spec_allows =
                record.spec_valid_couriers.iter().any(|c| slug_for(c, &record.format, &record.number) == labelled);
            let accepted = found.iter().any(|d| d.courier.slug == labelled && d.checksum != Checksum::Invalid);
            if accepted && !spec_allows {
                false_accepts.push(format!(
                    "{} ({}, {}): {:?}",
                    record.number,
                    record.courier_code,
                    record.format,
                    slugs(&found)
                ));
            }
        }
    }
    println!("courier              valid  found  first");
    for (slug, (total, found, first)) in &per_courier {
        println!("{slug:<20} {total:>5}  {found:>5}  {first:>5}");
    }
    assert!(misses.is_empty(), "valid numbers not detected:\n{}", misses.join("\n"));
    assert!(false_accepts.is_empty(), "invalid numbers accepted:\n{}", false_accepts.join("\n"));
}

fn slugs(found: &[Detection]) -> Vec<String> {
    found.iter().map(|d| format!("{}:{:?}", d.courier.slug, d.checksum)).collect()
}

#[test]
fn known_misses_are_still_missed_and_still_listed_as_invalid() {
    for (number, reason) in KNOWN_MISSES {
        let found = detect(number);
        assert!(found.iter().all(|d| d.checksum == Checksum::Invalid), "{number} is detected now: drop it ({reason})");
        assert_eq!(found.first().map(|d| d.courier.slug), Some("ups"), "{number}");
    }
}

#[test]
fn check_digit_verified_beats_prefix_beats_bare_and_invalid_ranks_last() {
    // 12 digits: FedEx Express (verified) and Purolator (Luhn fails here) both fit the length.
    let found = detect("986578788855");
    assert_eq!(found[0].courier.slug, "fedex");
    assert_eq!(found[0].checksum, Checksum::Valid);
    assert!(found.iter().skip_while(|d| d.checksum != Checksum::Invalid).all(|d| d.checksum == Checksum::Invalid));
    // A typo keeps the courier, marked invalid.
    let typo = detect("1Z999AA10123456785");
    assert_eq!((typo[0].courier.slug, typo[0].checksum), ("ups", Checksum::Invalid));
}

#[test]
fn input_is_tolerant_of_spaces_dashes_and_case() {
    for number in ["1z999aa10123456784", "1Z 999 AA1 0123 4567 84", "1Z-999-AA1-0123-4567-84"] {
        assert_eq!(
            detect(number).first().map(|d| (d.courier.slug, d.checksum)),
            Some(("ups", Checksum::Valid)),
            "{number}"
        );
    }
    assert!(detect("").is_empty());
    assert!(detect("1Z999AA1012345678€").is_empty());
    assert!(detect(&"9".repeat(60)).is_empty());
}

#[test]
fn s10_numbers_go_to_the_issuing_post_and_ems_to_ems() {
    let first = |n: &str| detect(n).first().map(|d| (d.courier.slug, d.checksum));
    assert_eq!(first("RR123456785CN"), Some(("china-post", Checksum::Valid)));
    assert_eq!(first("EE123456785CN"), Some(("china-ems", Checksum::Valid)));
    assert_eq!(first("RB123456785GB"), Some(("royal-mail", Checksum::Valid)));
    assert_eq!(first("LX123456785DE"), Some(("deutsch-post", Checksum::Valid)));
    assert_eq!(first("RB123456785KG"), Some(("upu", Checksum::Valid)));
    assert_eq!(first("RB123456786GB"), Some(("royal-mail", Checksum::Invalid)));
    assert_eq!(first("RB123456785XX"), None);
}

#[test]
fn sandbox_numbers_are_detected_as_the_testing_courier() {
    assert_eq!(detect("TC-DELIVERED-3-ab").first().map(|d| d.courier.slug), Some("testing-courier"));
    assert!(detect("TC-TELEPORT-3").is_empty());
}
