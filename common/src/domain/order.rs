//! A merchant's orders and their lines: what returns are made of (a tracking has no lines).
//! Trackings belong to an order through their `order_id`, the order's `external_id`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Contact, CountryCode, DomainError, Money, TenantId, e164, is_currency, language_tag};

/// Most lines an order keeps.
pub const MAX_ITEMS: usize = 250;

/// The store an order was placed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    /// AfterShip's platform code (`shopify`, `woocommerce`, `magento-2`, `bigcommerce`, ...).
    pub platform: String,
    /// The store's id on that platform.
    pub external_id: String,
}

/// Who placed the order. Personal data: its `Debug` hides it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCustomer {
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number (made E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Language tag, e.g. `de-DE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl fmt::Debug for OrderCustomer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderCustomer").field("locale", &self.locale).finish_non_exhaustive()
    }
}

/// Where the order goes. Personal data: its `Debug` shows the country only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    /// ISO 3166-1 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_region: Option<CountryCode>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Street lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
}

impl fmt::Debug for ShippingAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShippingAddress").field("country_region", &self.country_region).finish_non_exhaustive()
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The store's id of the line.
    pub external_id: String,
    /// Stock keeping unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Product title.
    pub title: String,
    /// Variant title (`Blue / M`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_title: Option<String>,
    /// Units ordered (at least 1).
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// Discount on the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// Tax on the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Money>,
    /// Product tags (`final-sale`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Product categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Product image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// An order, as a merchant (or later a storefront connector) sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// [`Order::id_of`] the tenant and external id: `ord_` and 24 hex digits.
    pub id: String,
    /// The merchant.
    pub tenant_id: TenantId,
    /// The store's order id (trackings name it as their `order_id`).
    pub external_id: String,
    /// The store the order was placed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
    /// The number shoppers see, e.g. `#1001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// When it was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<DateTime<Utc>>,
    /// When it was fulfilled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// Who placed it.
    #[serde(default)]
    pub customer: OrderCustomer,
    /// Where it goes.
    #[serde(default)]
    pub shipping_address: ShippingAddress,
    /// The order's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Its lines.
    pub items: Vec<OrderItem>,
    /// When Porchlight first stored it.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// The id of the tenant's order `external_id`: the same order sent again is the same order.
    pub fn id_of(tenant: &TenantId, external_id: &str) -> String {
        let identity = [tenant.as_str(), external_id].join("\u{1f}");
        format!("ord_{}", hex::encode(&Sha256::digest(identity.as_bytes())[..12]))
    }

    /// Checks every field and normalizes the contacts (email trimmed, phone in E.164); errors
    /// name the field as the API writes it (`items[2].unit_price.amount`).
    pub fn validate(&mut self) -> Result<(), DomainError> {
        text("external_id", &self.external_id, 255)?;
        if let Some(store) = &self.store {
            text("store.external_id", &store.external_id, 255)?;
            let platform_ok = (1..=64).contains(&store.platform.len())
                && store.platform.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !platform_ok {
                return Err(DomainError::invalid("store.platform", "must be a platform code such as shopify"));
            }
        }
        if let Some(number) = &self.order_number {
            text("order_number", number, 100)?;
        }
        if let (Some(placed), Some(fulfilled)) = (self.placed_at, self.fulfilled_at)
            && fulfilled < placed
        {
            return Err(DomainError::invalid("fulfilled_at", "must not be before placed_at"));
        }
        if let Some(email) = &self.customer.email {
            let Contact::Email(email) =
                Contact::email(email).map_err(|_| DomainError::invalid("customer.email", "is not an email address"))?
            else {
                unreachable!("an email contact")
            };
            self.customer.email = Some(email);
        }
        if let Some(phone) = &self.customer.phone {
            self.customer.phone = Some(e164("customer.phone", phone)?);
        }
        if let Some(locale) = &self.customer.locale {
            language_tag("customer.locale", locale)?;
        }
        let address = &self.shipping_address;
        for (field, value) in
            [("state", &address.state), ("city", &address.city), ("postal_code", &address.postal_code)]
        {
            if let Some(value) = value {
                text(&format!("shipping_address.{field}"), value, 100)?;
            }
        }
        if address.lines.len() > 4 {
            return Err(DomainError::invalid("shipping_address.lines", "must hold at most 4 lines"));
        }
        for (i, line) in address.lines.iter().enumerate() {
            text(&format!("shipping_address.lines[{i}]"), line, 200)?;
        }
        if let Some(currency) = &self.currency
            && !is_currency(currency)
        {
            return Err(DomainError::invalid("currency", "must be an ISO 4217 code such as USD"));
        }
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(DomainError::invalid("items", format!("must hold 1 to {MAX_ITEMS} lines")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            text(&field("external_id"), &item.external_id, 255)?;
            if !seen.insert(item.external_id.as_str()) {
                return Err(DomainError::invalid(field("external_id"), "repeats another line's"));
            }
            text(&field("title"), &item.title, 500)?;
            if !(1..=10_000).contains(&item.quantity) {
                return Err(DomainError::invalid(field("quantity"), "must be 1 to 10000"));
            }
            item.unit_price.validate(&field("unit_price"))?;
            for (name, money) in [("discount", &item.discount), ("tax", &item.tax)] {
                if let Some(money) = money {
                    money.validate(&field(name))?;
                }
            }
            if item.tags.len() > 50 || item.categories.len() > 50 {
                return Err(DomainError::invalid(field("tags"), "tags and categories hold at most 50 each"));
            }
            for tag in item.tags.iter().chain(&item.categories) {
                text(&field("tags"), tag, 100)?;
            }
            if let Some(url) = &item.image_url {
                let parsed =
                    url::Url::parse(url).map_err(|_| DomainError::invalid(field("image_url"), "is not a URL"))?;
                if parsed.scheme() != "https" && parsed.scheme() != "http" {
                    return Err(DomainError::invalid(field("image_url"), "must be an http or https URL"));
                }
            }
        }
        Ok(())
    }

    /// The line the store calls `external_id`.
    pub fn item(&self, external_id: &str) -> Option<&OrderItem> {
        self.items.iter().find(|item| item.external_id == external_id)
    }
}

/// A required text of 1 to `max` characters, not blank.
fn text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.trim().is_empty() || value.chars().count() > max {
        Err(DomainError::invalid(field, format!("must be 1 to {max} characters")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "", "tenant_id": "t_1", "external_id": "5001", "order_number": "#1001",
            "store": {"platform": "shopify", "external_id": "acme.myshopify.com"},
            "customer": {"email": " Ann@Example.com ", "phone": "+44 7700 900123", "locale": "en-GB"},
            "shipping_address": {"country_region": "GBR", "city": "London", "postal_code": "N1 9GU"},
            "currency": "GBP",
            "items": [{"external_id": "l1", "title": "Mug", "quantity": 2,
                "unit_price": {"amount": "12.50", "currency": "GBP"}, "tags": ["final-sale"]}],
            "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"
        }))
        .expect("an order")
    }

    #[test]
    fn an_order_is_checked_field_by_field_and_its_contacts_normalized() {
        let mut good = order();
        good.validate().expect("valid");
        assert_eq!(good.customer.email.as_deref(), Some("Ann@Example.com"));
        assert_eq!(good.customer.phone.as_deref(), Some("+447700900123"));
        type Breakage = fn(&mut Order);
        let cases: Vec<(Breakage, &str)> = vec![
            (|o| o.items[0].unit_price.amount = "-1".into(), "items[0].unit_price.amount"),
            (|o| o.items[0].unit_price.amount = "1.23456".into(), "items[0].unit_price.amount"),
            (|o| o.items[0].unit_price.amount = "1.".into(), "items[0].unit_price.amount"),
            (|o| o.items[0].unit_price.currency = "usd".into(), "items[0].unit_price.currency"),
            (|o| o.items[0].quantity = 0, "items[0].quantity"),
            (|o| o.items.push(o.items[0].clone()), "items[1].external_id"),
            (|o| o.items.clear(), "items"),
            (|o| o.customer.email = Some("nope".into()), "customer.email"),
            (|o| o.customer.phone = Some("12".into()), "customer.phone"),
            (|o| o.store.as_mut().expect("store").platform = "Shop ify".into(), "store.platform"),
            (|o| o.external_id = " ".into(), "external_id"),
            (|o| o.items[0].image_url = Some("javascript:alert(1)".into()), "items[0].image_url"),
        ];
        for (break_it, field) in cases {
            let mut bad = order();
            break_it(&mut bad);
            assert_eq!(bad.validate().map_err(|e| e.field), Err(field.to_owned()));
        }
    }

    #[test]
    fn the_same_external_id_is_the_same_order_per_merchant_only() {
        let (a, b) = (TenantId::random(), TenantId::random());
        assert_eq!(Order::id_of(&a, "5001"), Order::id_of(&a, "5001"));
        assert_ne!(Order::id_of(&a, "5001"), Order::id_of(&b, "5001"));
        assert!(Order::id_of(&a, "5001").starts_with("ord_"));
        let printed = format!("{:?}", order());
        assert!(!printed.contains("Ann@") && !printed.contains("N1 9GU"), "{printed}");
    }
}
