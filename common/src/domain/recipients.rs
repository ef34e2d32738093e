//! Who hears about a shipment: its customers' contacts, the contacts shoppers subscribed
//! themselves, minus those that asked for no more (AfterShip's `subscribed_emails` and
//! `subscribed_smses`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Customer, DomainError, Shipment, is_email};

/// Most contacts a shopper may subscribe to one shipment, per channel.
pub const MAX_SUBSCRIPTIONS: usize = 10;

/// A phone number in E.164 (`+15550109999`) from what a person typed: spaces, dashes, dots and
/// parentheses are dropped; a leading `+` and 8 to 15 digits, the first not 0, must remain.
pub fn e164(field: &str, raw: &str) -> Result<String, DomainError> {
    let kept: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = kept.strip_prefix('+').unwrap_or("");
    let valid =
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if valid {
        Ok(kept)
    } else {
        Err(DomainError::invalid(field, "must be a phone number in E.164, such as +15550109999"))
    }
}

/// Checks a language tag's shape (BCP 47: `en`, `zh-CN`, `pt-BR`, `zh-Hant-TW`).
pub fn language_tag(field: &str, raw: &str) -> Result<(), DomainError> {
    let mut parts = raw.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && raw.len() <= 35 {
        Ok(())
    } else {
        Err(DomainError::invalid(field, "must be a language tag such as en or zh-CN"))
    }
}

/// A contact a message can go to.
#[derive(Clone, PartialEq, Eq)]
pub enum Contact {
    /// An email address, compared without regard to case.
    Email(String),
    /// A phone number in E.164.
    Sms(String),
}

impl Contact {
    /// An email contact, checked.
    pub fn email(raw: &str) -> Result<Contact, DomainError> {
        let email = raw.trim();
        if is_email(email) {
            Ok(Contact::Email(email.to_owned()))
        } else {
            Err(DomainError::invalid("email", "is not an email address"))
        }
    }

    /// A phone contact, normalized to E.164.
    pub fn sms(raw: &str) -> Result<Contact, DomainError> {
        e164("phone_number", raw).map(Contact::Sms)
    }

    /// The channel that reaches it.
    pub fn channel(&self) -> super::Channel {
        match self {
            Contact::Email(_) => super::Channel::Email,
            Contact::Sms(_) => super::Channel::Sms,
        }
    }

    /// The form kept in the unsubscribed and suppression lists: emails lower-cased, numbers as
    /// they are.
    pub fn key(&self) -> String {
        match self {
            Contact::Email(email) => email.to_lowercase(),
            Contact::Sms(number) => number.clone(),
        }
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A shopper's contact: never printed.
        match self {
            Contact::Email(_) => f.write_str("Contact::Email(<hidden>)"),
            Contact::Sms(_) => f.write_str("Contact::Sms(<hidden>)"),
        }
    }
}

/// The shopper's own choices for one shipment. Personal data: its `Debug` shows counts only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscriptions {
    /// Emails subscribed by shoppers, besides the customers' own.
    pub emails: Vec<String>,
    /// Phone numbers (E.164) subscribed by shoppers.
    pub smses: Vec<String>,
    /// Contacts that asked for no more messages (emails lower-cased, numbers in E.164).
    pub unsubscribed: Vec<String>,
}

impl fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriptions")
            .field("emails", &self.emails.len())
            .field("smses", &self.smses.len())
            .field("unsubscribed", &self.unsubscribed.len())
            .finish()
    }
}

impl Subscriptions {
    /// Whether nothing was chosen (what a new shipment has).
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.smses.is_empty() && self.unsubscribed.is_empty()
    }
}

impl Shipment {
    /// The emails that hear about this shipment: each customer's, then those shoppers
    /// subscribed, once each (case aside), without those that unsubscribed.
    pub fn subscribed_emails(&self) -> Vec<String> {
        let customers = self.details.customers.iter().filter_map(|c| c.email.clone());
        self.reachable(customers.chain(self.subscriptions.emails.iter().cloned()), |e| e.to_lowercase())
    }

    /// The phone numbers (E.164) that hear about this shipment by SMS: each customer's that is
    /// a valid number, then those shoppers subscribed, without those that unsubscribed.
    pub fn subscribed_smses(&self) -> Vec<String> {
        let customers =
            self.details.customers.iter().filter_map(|c| c.phone_number.as_deref().and_then(|p| e164("", p).ok()));
        self.reachable(customers.chain(self.subscriptions.smses.iter().cloned()), String::clone)
    }

    fn reachable(&self, contacts: impl Iterator<Item = String>, key: impl Fn(&String) -> String) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for contact in contacts {
            let k = key(&contact);
            if !seen.contains(&k) && !self.subscriptions.unsubscribed.contains(&k) {
                seen.push(k);
                out.push(contact);
            }
        }
        out
    }

    /// The customer whose email (case aside) or phone number (in E.164) is `contact`.
    pub fn customer_reached_by(&self, contact: &Contact) -> Option<&Customer> {
        self.details.customers.iter().find(|c| match contact {
            Contact::Email(email) => c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)),
            Contact::Sms(number) => c.phone_number.as_deref().and_then(|p| e164("", p).ok()).as_ref() == Some(number),
        })
    }

    /// Subscribes `contact` (undoing an earlier unsubscribe). `false` if it already heard about
    /// the shipment; `Invalid` past [`MAX_SUBSCRIPTIONS`].
    pub fn subscribe(&mut self, contact: &Contact) -> Result<bool, DomainError> {
        let key = contact.key();
        let was_unsubscribed = self.subscriptions.unsubscribed.contains(&key);
        self.subscriptions.unsubscribed.retain(|k| *k != key);
        let a_customer = self.customer_reached_by(contact).is_some();
        let (list, current, field) = match contact {
            Contact::Email(email) => (&mut self.subscriptions.emails, email, "email"),
            Contact::Sms(number) => (&mut self.subscriptions.smses, number, "phone_number"),
        };
        let subscribed = list.iter().any(|c| c.eq_ignore_ascii_case(current));
        if subscribed || a_customer {
            return Ok(was_unsubscribed);
        }
        if list.len() >= MAX_SUBSCRIPTIONS {
            return Err(DomainError::invalid(field, format!("at most {MAX_SUBSCRIPTIONS} subscriptions per shipment")));
        }
        list.push(current.clone());
        Ok(true)
    }

    /// Stops messages to `contact` for this shipment. `false` if it heard nothing already.
    pub fn unsubscribe(&mut self, contact: &Contact) -> bool {
        let heard = self.reaches(contact);
        if heard {
            self.subscriptions.unsubscribed.push(contact.key());
        }
        heard
    }

    /// Whether messages about this shipment go to `contact` (see [`Shipment::subscribed_emails`]
    /// and [`Shipment::subscribed_smses`]).
    pub fn reaches(&self, contact: &Contact) -> bool {
        let key = contact.key();
        match contact {
            Contact::Email(_) => self.subscribed_emails().iter().any(|e| e.to_lowercase() == key),
            Contact::Sms(_) => self.subscribed_smses().contains(&key),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{Customer, ShipmentDetails, Slug, TenantId, TrackingNumber};

    fn shipment() -> Shipment {
        let details = ShipmentDetails {
            customers: vec![Customer {
                email: Some("Ann@Example.com".into()),
                phone_number: Some("+1 (555) 010-9999".into()),
                ..Customer::default()
            }],
            ..ShipmentDetails::default()
        };
        let slug = Slug::parse("ups").expect("slug");
        let number = TrackingNumber::parse("1Z999AA10123456784").expect("number");
        Shipment::new(TenantId::random(), slug, number, details, Utc::now())
    }

    #[test]
    fn phone_numbers_become_e164_and_language_tags_are_checked() {
        assert_eq!(e164("p", "+1 (555) 010-9999"), Ok("+15550109999".into()));
        assert_eq!(e164("p", "+44 20.7946.0958"), Ok("+442079460958".into()));
        for bad in ["555 010 9999", "+0 555 010 9999", "+1 555", "+1234567890123456", "+1 555 CALL ME"] {
            assert_eq!(
                e164("customers[0].phone_number", bad).map_err(|e| e.field),
                Err("customers[0].phone_number".into()),
                "{bad}"
            );
        }
        for good in ["en", "zh-CN", "zh-Hant-TW", "pt-BR", "yue"] {
            assert!(language_tag("language", good).is_ok(), "{good}");
        }
        for bad in ["", "english", "e", "en_US", "en-", "zh-CN-"] {
            assert!(language_tag("language", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn customers_and_subscribers_are_reached_once_until_they_unsubscribe() {
        let mut s = shipment();
        assert_eq!(s.subscribed_emails(), ["Ann@Example.com"]);
        assert_eq!(s.subscribed_smses(), ["+15550109999"]);
        assert_eq!(s.subscribe(&Contact::email("ann@example.com").expect("email")), Ok(false), "already hears");
        assert_eq!(s.subscribe(&Contact::email("bo@example.com").expect("email")), Ok(true));
        assert_eq!(s.subscribe(&Contact::sms("+1 555 010 9999").expect("sms")), Ok(false));
        assert_eq!(s.subscribed_emails(), ["Ann@Example.com", "bo@example.com"]);

        assert!(s.unsubscribe(&Contact::email("ANN@example.com").expect("email")));
        assert!(!s.unsubscribe(&Contact::email("ann@example.com").expect("email")), "once is enough");
        assert!(s.unsubscribe(&Contact::sms("+15550109999").expect("sms")));
        assert_eq!(s.subscribed_emails(), ["bo@example.com"]);
        assert!(s.subscribed_smses().is_empty());
        assert_eq!(s.subscribe(&Contact::email("ann@example.com").expect("email")), Ok(true), "a change of mind");
        assert_eq!(s.subscribed_emails(), ["Ann@Example.com", "bo@example.com"]);
        let printed = format!("{:?} {:?}", s.subscriptions, Contact::email("bo@example.com").expect("email"));
        assert!(!printed.contains("example.com") && !printed.contains("555"), "{printed}");
        for n in 0..9 {
            s.subscribe(&Contact::email(&format!("s{n}@example.com")).expect("email")).expect("room");
        }
        let full = s.subscribe(&Contact::email("one-too-many@example.com").expect("email"));
        assert_eq!(full.map_err(|e| e.field), Err("email".into()));
    }
}
