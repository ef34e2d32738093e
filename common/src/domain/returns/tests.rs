use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::domain::{Money, OrderItem, TenantId};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).single().expect("date") + Duration::days(i64::from(day))
}

fn item(id: &str, quantity: u32, tags: &[&str]) -> OrderItem {
    OrderItem {
        external_id: id.to_owned(),
        sku: Some(format!("SKU-{id}")),
        title: format!("Product {id}"),
        variant_title: None,
        quantity,
        unit_price: Money { amount: "10.00".into(), currency: "EUR".into() },
        discount: None,
        tax: None,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        categories: Vec::new(),
        image_url: None,
    }
}

fn order(items: Vec<OrderItem>) -> Order {
    let tenant = TenantId::random();
    Order {
        id: Order::id_of(&tenant, "5001"),
        tenant_id: tenant,
        external_id: "5001".into(),
        store: None,
        order_number: Some("#1001".into()),
        placed_at: Some(at(0)),
        fulfilled_at: Some(at(1)),
        customer: Default::default(),
        shipping_address: Default::default(),
        currency: Some("EUR".into()),
        items,
        created_at: at(0),
        updated_at: at(0),
    }
}

#[test]
fn the_default_policy_returns_within_thirty_days_of_delivery_except_final_sale() {
    let policy = ReturnPolicy::defaults();
    policy.validate().expect("valid");
    let order = order(vec![item("mug", 2, &[]), item("scarf", 1, &["Final-Sale"])]);
    let none = HashMap::new();
    let before_delivery = eligibility(&policy, &order, None, &none, at(3));
    assert_eq!(before_delivery[0].refusal, Some(Refusal::NotYetOpen));
    let delivered = Some(at(5));
    let lines = eligibility(&policy, &order, delivered, &none, at(20));
    assert_eq!((lines[0].returnable_quantity, &lines[0].refusal), (2, &None));
    assert_eq!(lines[1].refusal, Some(Refusal::NotReturnable { because: "final-sale".into() }));
    assert_eq!(
        lines[1].refusal.as_ref().map(Refusal::info).as_deref(),
        Some("this item was a final sale and cannot be returned")
    );
    let late = eligibility(&policy, &order, delivered, &none, at(36));
    assert_eq!(late[0].refusal, Some(Refusal::WindowClosed { closed_at: at(35) }));
    assert!(late[0].refusal.as_ref().map(Refusal::info).is_some_and(|i| i.contains("2026-11-05")));
    let returned = HashMap::from([("mug".to_owned(), 2)]);
    assert_eq!(eligibility(&policy, &order, delivered, &returned, at(20))[0].refusal, Some(Refusal::AlreadyReturned));
}

#[test]
fn a_policy_names_its_broken_field() {
    type Breakage = fn(&mut ReturnPolicy);
    let cases: Vec<(Breakage, &str)> = vec![
        (|p| p.window_days = 0, "window_days"),
        (|p| p.reasons.clear(), "reasons"),
        (|p| p.reasons[1].id = p.reasons[0].id.clone(), "reasons[1].id"),
        (|p| p.reasons[0].label = " ".into(), "reasons[0].label"),
        (|p| p.reasons[0].min_photos = 9, "reasons[0].min_photos"),
        (|p| p.resolutions.clear(), "resolutions"),
        (|p| p.methods.clear(), "methods"),
        (|p| p.store_credit_bonus_percent = 101, "store_credit_bonus_percent"),
        (|p| p.max_quantity_per_line = Some(0), "max_quantity_per_line"),
    ];
    for (break_it, field) in cases {
        let mut policy = ReturnPolicy::defaults();
        break_it(&mut policy);
        assert_eq!(policy.validate().map_err(|e| e.field), Err(field.to_owned()));
    }
}

proptest! {
    /// A line never offers more than it has left, and offers nothing exactly when refused.
    #[test]
    fn a_line_offers_what_is_left_and_nothing_when_refused(
        quantity in 1u32..20,
        returned in 0u32..25,
        cap in proptest::option::of(1u32..10),
        delivered_day in proptest::option::of(0u32..40),
        now_day in 0u32..120,
        final_sale in any::<bool>(),
    ) {
        let mut policy = ReturnPolicy::defaults();
        policy.max_quantity_per_line = cap;
        let tags: &[&str] = if final_sale { &["final-sale"] } else { &[] };
        let order = order(vec![item("a", quantity, tags)]);
        let returned_map = HashMap::from([("a".to_owned(), returned)]);
        let line = &eligibility(&policy, &order, delivered_day.map(at), &returned_map, at(now_day))[0];
        prop_assert!(line.returnable_quantity <= quantity.saturating_sub(returned));
        prop_assert!(cap.is_none_or(|c| line.returnable_quantity <= c));
        prop_assert_eq!(line.returnable_quantity == 0, line.refusal.is_some());
        if final_sale {
            let excluded = matches!(line.refusal, Some(Refusal::NotReturnable { .. }));
            prop_assert!(excluded, "a final-sale line is refused as such");
        }
    }

    /// Returnable at some time means returnable at every earlier time since delivery.
    #[test]
    fn the_window_only_closes(delivered_day in 0u32..30, later in 0u32..60, earlier_by in 0u32..60) {
        let policy = ReturnPolicy::defaults();
        let order = order(vec![item("a", 1, &[])]);
        let none = HashMap::new();
        let now = delivered_day + later;
        let open_now = eligibility(&policy, &order, Some(at(delivered_day)), &none, at(now))[0].refusal.is_none();
        let then = delivered_day + later.saturating_sub(earlier_by);
        let open_then = eligibility(&policy, &order, Some(at(delivered_day)), &none, at(then))[0].refusal.is_none();
        prop_assert!(!open_now || open_then);
    }
}

fn wanted(item: &str, quantity: u32, reason: &str) -> RequestedItem {
    RequestedItem {
        item: item.into(),
        quantity,
        reason: reason.into(),
        subreason: None,
        comment: None,
        photos: 0,
        resolution: Resolution::Refund,
    }
}

#[test]
fn a_request_is_judged_line_by_line_with_every_violation_named() {
    let mut policy = ReturnPolicy::defaults();
    policy.fees.push(MethodFee { method: ReturnMethod::RetailerLabel, countries: vec!["DEU".into()], fee_minor: 450 });
    let mut order = order(vec![item("mug", 2, &[]), item("scarf", 1, &["final-sale"])]);
    order.shipping_address.country_region = Some(crate::domain::CountryCode::parse("DEU").expect("code"));
    order.items[0].tax = Some(Money { amount: "3.80".into(), currency: "EUR".into() });
    let none = HashMap::new();
    let delivered = Some(at(5));

    let bad = ReturnRequest {
        items: vec![
            wanted("scarf", 1, "changed_mind"),
            wanted("mug", 3, "changed_mind"),
            wanted("mug", 1, "damaged"),
            wanted("teapot", 1, "changed_mind"),
            RequestedItem { resolution: Resolution::Exchange, ..wanted("mug", 1, "wrong_size") },
            wanted("mug", 1, "bored"),
        ],
        method: ReturnMethod::DropOff,
        customer_flagged: false,
    };
    let violations = judge(&policy, &order, delivered, &none, &bad, at(10)).expect_err("refused");
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "return_items[0].external_order_item_id",
            "return_items[1].intended_return_quantity",
            "return_items[2].return_reason_comment",
            "return_items[2].shopper_uploaded_image_urls",
            "return_items[3].external_order_item_id",
            "return_items[4].resolution",
            "return_items[5].return_reason",
            "return_method.type",
        ]
    );
    assert_eq!(violations[0].info, "this item was a final sale and cannot be returned");

    let good = ReturnRequest {
        items: vec![RequestedItem {
            comment: Some("the handle came off".into()),
            photos: 1,
            ..wanted("mug", 2, "damaged")
        }],
        method: ReturnMethod::RetailerLabel,
        customer_flagged: false,
    };
    let judged = judge(&policy, &order, delivered, &none, &good, at(10)).expect("allowed");
    assert_eq!(judged.decision, Decision::Review, "no automatic approval by default");
    assert_eq!(judged.fee, Money { amount: "4.50".into(), currency: "EUR".into() });
    // Two mugs at 10.00 with 1.90 tax each, less the 4.50 label.
    assert_eq!(judged.refund_estimate, Money { amount: "19.30".into(), currency: "EUR".into() });

    policy.auto_approve = Some(AutoRule { max_total_minor: Some(5000), ..AutoRule::default() });
    policy.auto_reject =
        Some(AutoRule { unflagged_customers_only: false, reasons: vec!["changed_mind".into()], ..AutoRule::default() });
    assert_eq!(judge(&policy, &order, delivered, &none, &good, at(10)).expect("allowed").decision, Decision::Approve);
    let changed_mind = ReturnRequest { items: vec![wanted("mug", 1, "changed_mind")], ..good.clone() };
    assert_eq!(
        judge(&policy, &order, delivered, &none, &changed_mind, at(10)).expect("allowed").decision,
        Decision::Reject
    );
    let late = judge(&policy, &order, delivered, &none, &good, at(40)).expect_err("outside the window");
    assert!(late[0].info.starts_with("the return window for this item closed on"), "{late:?}");
}

proptest! {
    /// Whatever is asked, an allowed request returns no more of a line than it offers, and its
    /// refund is at most what the units cost.
    #[test]
    fn an_allowed_request_stays_within_what_the_lines_offer(
        asks in proptest::collection::vec((0usize..3, 0u32..4), 1..6),
        returned in 0u32..3,
        now_day in 5u32..50,
    ) {
        let policy = ReturnPolicy::defaults();
        let order = order(vec![item("a", 3, &[]), item("b", 2, &[]), item("c", 1, &["final-sale"])]);
        let returned_map = HashMap::from([("a".to_owned(), returned)]);
        let ids = ["a", "b", "c"];
        let request = ReturnRequest {
            items: asks.iter().map(|(i, q)| wanted(ids[*i], *q, "changed_mind")).collect(),
            method: ReturnMethod::CustomerCourier,
            customer_flagged: false,
        };
        let lines = eligibility(&policy, &order, Some(at(5)), &returned_map, at(now_day));
        if let Ok(judged) = judge(&policy, &order, Some(at(5)), &returned_map, &request, at(now_day)) {
            let mut units = 0u64;
            for line in &lines {
                let asked: u32 = request.items.iter().filter(|i| i.item == line.item).map(|i| i.quantity).sum();
                prop_assert!(asked <= line.returnable_quantity, "{} asked {asked} of {}", line.item, line.returnable_quantity);
                units += u64::from(asked);
            }
            prop_assert!(judged.refund_estimate.minor_units().expect("minor") <= units * 1000);
        }
    }
}
