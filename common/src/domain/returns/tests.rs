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
