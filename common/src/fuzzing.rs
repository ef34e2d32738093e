//! The entry points of the coverage-guided fuzz targets (`fuzz/`, run by `scripts/fuzz.sh`): one
//! per reader of what others send (carriers' answers and pushes, storefronts' webhooks, the
//! signatures on both, tracking numbers, history files, merchants' templates and return
//! policies, list cursors). Each takes any bytes and must return without panicking, without
//! hanging and without allocating beyond its input's measure; where a reader has a property
//! (a signature made with the secret verifies, a cursor reads back as itself), it is asserted.
//!
//! The committed corpora (`fuzz/corpus/<target>/`) are replayed by this module's test on every
//! `cargo test`, so CI runs every input the fuzzer kept without the nightly toolchain.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::api::wire::history::{HistoryFormat, history_lines};
use crate::carriers::{CarrierRegistry, WebhookAuth, dhl, fedex, sign_base64, ups, usps};
use crate::domain::{
    Language, Order, RequestedItem, Resolution, ReturnMethod, ReturnPolicy, ReturnRequest, Trigger, judge,
};
use crate::notify::{Facts, MessageTexts, render_text};
use crate::ports::Cursor;
use crate::storefronts::{Platform, shopify, woocommerce};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and corpus folder.
pub const TARGETS: [(&str, Target); 13] = [
    ("carrier_ups", carrier_ups),
    ("carrier_fedex", carrier_fedex),
    ("carrier_dhl", carrier_dhl),
    ("carrier_usps", carrier_usps),
    ("carrier_upu", carrier_upu),
    ("webhook_signature", webhook_signature),
    ("storefront_webhook", storefront_webhook),
    ("courier_detect", courier_detect),
    ("import_csv", import_csv),
    ("import_jsonl", import_jsonl),
    ("template", template),
    ("returns_policy", returns_policy),
    ("cursor", cursor),
];

static CARRIERS: LazyLock<CarrierRegistry> = LazyLock::new(CarrierRegistry::standard);

/// A carrier's push, read by its adapter as the webhook intake does.
fn carrier_push(slug: &str, data: &[u8]) {
    let adapter = CARRIERS.get(slug).expect("the standard registry has every fuzzed carrier");
    let _ = adapter.parse_webhook(data);
}

/// UPS: the Track API's answer and the Track Alert push.
pub fn carrier_ups(data: &[u8]) {
    let _ = ups::parse_track_response(data);
    carrier_push("ups", data);
}

/// FedEx: the Track API's answer and the push.
pub fn carrier_fedex(data: &[u8]) {
    let _ = fedex::parse_track_response(data);
    carrier_push("fedex", data);
}

/// DHL: the Shipment Tracking - Unified API's answer.
pub fn carrier_dhl(data: &[u8]) {
    let _ = dhl::parse_response(data);
    carrier_push("dhl", data);
}

/// USPS: the Tracking API's answer.
pub fn carrier_usps(data: &[u8]) {
    let _ = usps::parse_response(data);
    carrier_push("usps", data);
}

/// The posts: EMSEVT events pushed through a postal operator's gateway.
pub fn carrier_upu(data: &[u8]) {
    carrier_push("upu", data);
    carrier_push("china-post", data);
}

const SECRET: &str = "fuzz-webhook-secret";

/// Carriers' and storefronts' webhook signatures: the first byte picks a scheme, the bytes up
/// to the first newline are the header's value and the rest the body. Any header is judged
/// without panicking, and the header the sender would compute always verifies.
pub fn webhook_signature(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let schemes = [
        WebhookAuth::HmacSha256Base64 { header: "x-signature" },
        WebhookAuth::HmacSha256Hex { header: "x-signature" },
        WebhookAuth::SharedToken { header: "x-signature" },
        Platform::Shopify.webhook_auth(),
        Platform::Woocommerce.webhook_auth(),
    ];
    let auth = schemes[usize::from(pick) % schemes.len()];
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (header, body) = (String::from_utf8_lossy(&rest[..split]).into_owned(), rest.get(split + 1..).unwrap_or(&[]));
    let _ = auth.verify(SECRET, |_| Some(header.clone()), body);
    let _ = auth.verify(SECRET, |_| None, body);
    let genuine = match auth {
        WebhookAuth::HmacSha256Base64 { .. } => sign_base64(SECRET, body),
        WebhookAuth::HmacSha256Hex { .. } => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("any key length");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        WebhookAuth::SharedToken { .. } => SECRET.to_owned(),
    };
    assert!(auth.verify(SECRET, |_| Some(genuine.clone()), body), "the sender's own signature must verify");
}

/// Shopify's and WooCommerce's webhooks and order pages: the first byte picks a platform and
/// topic, the rest is the body.
pub fn storefront_webhook(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let topics: Vec<(Platform, &str)> = shopify::TOPICS
        .iter()
        .map(|t| (Platform::Shopify, *t))
        .chain(woocommerce::TOPICS.iter().map(|t| (Platform::Woocommerce, *t)))
        .collect();
    let (platform, topic) = topics[usize::from(pick) % topics.len()];
    let _ = platform.parse_webhook(topic, body);
    match platform {
        Platform::Shopify => drop(shopify::parse_orders_page(body)),
        Platform::Woocommerce => drop(woocommerce::parse_orders(body)),
    }
}

/// Courier detection from a tracking number.
pub fn courier_detect(data: &[u8]) {
    if let Ok(number) = std::str::from_utf8(data) {
        let _ = crate::couriers::detect(number);
    }
}

fn history(format: HistoryFormat, data: &[u8]) {
    for (_, record) in history_lines(format, data) {
        drop(record);
    }
}

/// A history or orders CSV, as `porchlight import` and import jobs read it.
pub fn import_csv(data: &[u8]) {
    history(HistoryFormat::Csv, data);
}

/// A JSON-lines history file.
pub fn import_jsonl(data: &[u8]) {
    history(HistoryFormat::JsonLines, data);
}

/// A merchant's notification template: checked as when saved and, if accepted, rendered with
/// long facts. Its text is at most a small multiple of its facts' length per character.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let texts = MessageTexts {
        trigger: Trigger::Delivered,
        language: Language::En,
        subject: None,
        headline: None,
        body: Some(text.to_owned()),
        sms: None,
    };
    if texts.validate().is_err() {
        return;
    }
    let long = "x".repeat(100);
    let facts = Facts {
        brand: &long,
        name: Some(&long),
        order: &long,
        title: None,
        tracking_number: &long,
        carrier: Some(&long),
        tracking_url: &long,
        estimated_delivery_date: None,
    };
    if let Ok(written) = render_text(text, &facts) {
        assert!(written.len() <= (text.len() + 1) * long.len(), "a template grew past its facts");
    }
}

/// A return request judged against a merchant's policy: the input is JSON of [`ReturnCase`].
/// Only a policy that validates is judged, as the API stores no other.
pub fn returns_policy(data: &[u8]) {
    let Ok(case) = serde_json::from_slice::<ReturnCase>(data) else { return };
    if case.policy.validate().is_err() {
        return;
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().expect("a valid time");
    let delivered_at = case.delivered_days_ago.and_then(|days| now.checked_sub_signed(Duration::try_days(days)?));
    let request = ReturnRequest {
        items: case
            .items
            .into_iter()
            .map(|i| RequestedItem {
                item: i.item,
                quantity: i.quantity,
                reason: i.reason,
                subreason: i.subreason,
                comment: i.comment,
                photos: i.photos,
                resolution: i.resolution,
            })
            .collect(),
        method: case.method,
        customer_flagged: case.customer_flagged,
    };
    let _ = judge(&case.policy, &case.order, delivered_at, &case.returned, &request, now);
}

/// What [`returns_policy`] reads: a policy, an order, and a request against it.
#[derive(Debug, Deserialize)]
pub struct ReturnCase {
    policy: ReturnPolicy,
    order: Order,
    #[serde(default)]
    delivered_days_ago: Option<i64>,
    #[serde(default)]
    returned: HashMap<String, u32>,
    items: Vec<CaseItem>,
    method: ReturnMethod,
    #[serde(default)]
    customer_flagged: bool,
}

#[derive(Debug, Deserialize)]
struct CaseItem {
    item: String,
    quantity: u32,
    reason: String,
    #[serde(default)]
    subreason: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    photos: usize,
    resolution: Resolution,
}

/// A list cursor as clients send it back: anything that decodes encodes to itself again.
pub fn cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(cursor) = Cursor::decode(text) {
        let again = Cursor::decode(&cursor.encode());
        assert_eq!(again.as_ref(), Some(&cursor), "a cursor must read back as itself");
        let _: DateTime<Utc> = cursor.at;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Every committed input of every target, run as the fuzzer runs it. A target without a
    /// corpus fails: the corpora are part of the tree.
    #[test]
    fn committed_corpora_replay_without_a_failure() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (name, target) in TARGETS {
            let folder = root.join(name);
            let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
            let mut count = 0;
            for entry in entries {
                let path = entry.expect("a readable corpus entry").path();
                let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let outcome = std::panic::catch_unwind(|| target(&input));
                assert!(outcome.is_ok(), "{name} failed on {}", path.display());
                count += 1;
            }
            assert!(count > 0, "{name} has no committed corpus in {}", folder.display());
        }
    }
}
