//! Shopper-facing text in six languages: the catalogs beside this file (`i18n/<code>.json`),
//! plural forms, and dates, times and money written the way each language writes them.
//!
//! Catalogs are compiled in and checked by tests: every language has every key English has,
//! every status and every published sub-status.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::{Language, Money, Tag};

#[derive(Deserialize)]
struct Meta {
    months: [String; 12],
    date: String,
    date_time: String,
    decimal: String,
    group: String,
    money: String,
}

/// A catalog file's sections.
#[derive(Deserialize)]
struct Sections {
    meta: Meta,
    ui: serde_json::Map<String, Value>,
    steps: serde_json::Map<String, Value>,
    status: serde_json::Map<String, Value>,
    advice: serde_json::Map<String, Value>,
    subtag: serde_json::Map<String, Value>,
    notify: serde_json::Map<String, Value>,
}

/// One language's text.
pub struct Catalog {
    /// The language.
    pub language: Language,
    sections: Sections,
    /// The `ui` section for templates (`msg.track_heading`).
    pub messages: minijinja::Value,
}

fn source(language: Language) -> &'static str {
    match language {
        Language::En => include_str!("i18n/en.json"),
        Language::ZhCn => include_str!("i18n/zh-CN.json"),
        Language::Es => include_str!("i18n/es.json"),
        Language::De => include_str!("i18n/de.json"),
        Language::Fr => include_str!("i18n/fr.json"),
        Language::Ja => include_str!("i18n/ja.json"),
    }
}

fn parse(language: Language) -> Catalog {
    let sections: Sections = serde_json::from_str(source(language)).expect("catalogs are checked by tests");
    let messages = minijinja::Value::from(minijinja::value::Serde(&sections.ui));
    Catalog { language, sections, messages }
}

fn text<'a>(section: &'a serde_json::Map<String, Value>, key: &'a str) -> &'a str {
    section.get(key).and_then(Value::as_str).unwrap_or(key)
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

impl Catalog {
    /// The catalog of `language`.
    pub fn of(language: Language) -> &'static Catalog {
        static CATALOGS: OnceLock<Vec<Catalog>> = OnceLock::new();
        let all = CATALOGS.get_or_init(|| Language::ALL.into_iter().map(parse).collect());
        &all[Language::ALL.iter().position(|l| *l == language).unwrap_or(0)]
    }

    /// A `ui` text.
    pub fn ui<'a>(&'a self, key: &'a str) -> &'a str {
        text(&self.sections.ui, key)
    }

    /// A `ui` text with its `{name}` placeholders filled.
    pub fn ui_with(&self, key: &str, values: &[(&str, &str)]) -> String {
        fill(self.ui(key), values)
    }

    /// A counted `ui` text (`{"one": ..., "other": ...}`) for `n`, in the language's plural
    /// form.
    pub fn count(&self, key: &str, n: u64) -> String {
        let forms = self.sections.ui.get(key);
        let form = |category: &str| forms.and_then(|f| f.get(category)).and_then(Value::as_str);
        let template = form(self.plural_category(n)).or_else(|| form("other")).unwrap_or(key);
        fill(template, &[("n", &self.number(n))])
    }

    /// CLDR's cardinal category, for the categories the catalogs use.
    fn plural_category(&self, n: u64) -> &'static str {
        match self.language {
            Language::ZhCn | Language::Ja => "other",
            Language::Fr if n <= 1 => "one",
            Language::En | Language::Es | Language::De if n == 1 => "one",
            _ => "other",
        }
    }

    /// A progress step's name (`ordered`, `shipped`, ...).
    pub fn step<'a>(&'a self, key: &'a str) -> &'a str {
        text(&self.sections.steps, key)
    }

    /// The headline for a status.
    pub fn status(&self, tag: Tag) -> &str {
        text(&self.sections.status, tag.as_str())
    }

    /// What the shopper can do in a status, where there is something.
    pub fn advice(&self, tag: Tag) -> Option<&str> {
        self.sections.advice.get(tag.as_str()).and_then(Value::as_str)
    }

    /// A notification text (`track_button`, `unsubscribe`, ...).
    pub fn notify<'a>(&'a self, key: &'a str) -> &'a str {
        text(&self.sections.notify, key)
    }

    /// A trigger's notification text: `subject`, `headline`, `body` or `sms`.
    pub fn notify_trigger(&self, trigger: crate::domain::Trigger, field: &str) -> &str {
        self.sections.notify["triggers"][trigger.as_str()][field].as_str().unwrap_or_default()
    }

    /// A sub-status in plain words.
    pub fn subtag<'a>(&'a self, code: &'a str) -> &'a str {
        text(&self.sections.subtag, code)
    }

    fn month(&self, month: u32) -> &str {
        self.sections.meta.months.get(month.saturating_sub(1) as usize).map_or("", String::as_str)
    }

    /// A calendar date.
    pub fn date(&self, date: NaiveDate) -> String {
        let (year, day) = (date.year().to_string(), date.day().to_string());
        fill(&self.sections.meta.date, &[("year", &year), ("month", self.month(date.month())), ("day", &day)])
    }

    /// A wall-clock date and time (24-hour clock).
    pub fn date_time(&self, at: NaiveDateTime) -> String {
        let (year, day) = (at.year().to_string(), at.day().to_string());
        let (hour, minute) = (format!("{:02}", at.hour()), format!("{:02}", at.minute()));
        fill(
            &self.sections.meta.date_time,
            &[("year", &year), ("month", self.month(at.month())), ("day", &day), ("hour", &hour), ("minute", &minute)],
        )
    }

    /// How far `at` is from `now`, in words: "3 hours ago", "in 20 minutes".
    pub fn relative(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let seconds = (at - now).num_seconds();
        let (past, magnitude) = (seconds < 0, seconds.unsigned_abs());
        let (unit, n) = match magnitude {
            0..60 => return self.ui("just_now").to_owned(),
            60..3600 => ("minutes", magnitude / 60),
            3600..86_400 => ("hours", magnitude / 3600),
            _ => ("days", magnitude / 86_400),
        };
        let key = if past { format!("{unit}_ago") } else { format!("in_{unit}") };
        self.count(&key, n)
    }

    /// A whole number with the language's digit grouping.
    pub fn number(&self, n: u64) -> String {
        group_digits(&n.to_string(), &self.sections.meta.group)
    }

    /// An amount of money: grouped digits, the language's decimal mark, the currency's symbol
    /// where it is unambiguous (its code otherwise) placed as the language places it.
    pub fn money(&self, money: &Money) -> String {
        let (whole, fraction) = money.amount.split_once('.').unwrap_or((&money.amount, ""));
        let whole = match whole.trim_start_matches('0') {
            "" => "0",
            digits => digits,
        };
        let mut amount = group_digits(whole, &self.sections.meta.group);
        let digits = match money.currency.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 0,
            _ => 2,
        };
        if digits > 0 {
            let fraction: String = fraction.chars().chain(std::iter::repeat('0')).take(digits).collect();
            amount.push_str(&self.sections.meta.decimal);
            amount.push_str(&fraction);
        }
        let symbol = match money.currency.as_str() {
            "EUR" => "€",
            "GBP" => "£",
            "USD" if self.language == Language::En => "$",
            "JPY" if self.language == Language::Ja => "¥",
            "CNY" if self.language == Language::ZhCn => "¥",
            other => other,
        };
        let mut written = fill(&self.sections.meta.money, &[("symbol", symbol), ("amount", &amount)]);
        if symbol.len() == 3 && symbol.chars().all(|c| c.is_ascii_uppercase()) && !written.contains(' ') {
            // A code beside the digits reads as one word: "USD20.00".
            written = fill("{symbol}\u{a0}{amount}", &[("symbol", symbol), ("amount", &amount)]);
        }
        written
    }
}

fn group_digits(digits: &str, separator: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * separator.len());
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::SUBTAGS;

    fn keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, inner) in map {
                // Plural forms differ by language by design.
                if inner.get("other").is_some() {
                    out.push(format!("{prefix}{key}"));
                    continue;
                }
                keys(inner, &format!("{prefix}{key}."), out);
            }
        } else {
            out.push(prefix.trim_end_matches('.').to_owned());
        }
    }

    #[test]
    fn every_catalog_is_complete() {
        let mut english = Vec::new();
        keys(&serde_json::from_str(source(Language::En)).expect("json"), "", &mut english);
        for language in Language::ALL {
            let value: Value = serde_json::from_str(source(language)).expect("json");
            let mut found = Vec::new();
            keys(&value, "", &mut found);
            assert_eq!(found, english, "{language} has the same keys as English");
            for info in SUBTAGS {
                assert!(value["subtag"][info.code].is_string(), "{language} {}", info.code);
            }
            for tag in Tag::ALL {
                assert!(value["status"][tag.as_str()].is_string(), "{language} {tag}");
            }
            for trigger in crate::domain::Trigger::ALL {
                for field in ["subject", "headline", "body", "sms"] {
                    assert!(
                        !Catalog::of(language).notify_trigger(trigger, field).is_empty(),
                        "{language} {trigger:?} {field}"
                    );
                }
            }
            for key in ["minutes_ago", "hours_ago", "days_ago", "in_minutes", "in_hours", "in_days", "parcels"] {
                assert!(value["ui"][key]["other"].is_string(), "{language} {key}");
            }
        }
    }

    #[test]
    fn dates_counts_and_money_follow_the_language() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 7).expect("date").and_hms_opt(9, 5, 0).expect("time");
        let written: Vec<String> = Language::ALL.iter().map(|l| Catalog::of(*l).date_time(at)).collect();
        assert_eq!(
            written,
            [
                "Mar 7, 2026, 09:05",
                "2026年3月7日 09:05",
                "7 mar 2026, 09:05",
                "7. März 2026, 09:05",
                "7 mars 2026, 09:05",
                "2026年3月7日 09:05"
            ]
        );
        let en = Catalog::of(Language::En);
        let fr = Catalog::of(Language::Fr);
        assert_eq!((en.count("parcels", 1), en.count("parcels", 2)), ("1 parcel".into(), "2 parcels".into()));
        assert_eq!(fr.count("days_ago", 0), "il y a 0 jour");
        assert_eq!(Catalog::of(Language::Ja).count("parcels", 3), "荷物3個");
        let now = Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).single().expect("now");
        assert_eq!(en.relative(now - chrono::Duration::minutes(90), now), "1 hour ago");
        assert_eq!(Catalog::of(Language::De).relative(now + chrono::Duration::minutes(20), now), "in 20 Minuten");
        assert_eq!(en.relative(now, now), "just now");
        let price = Money { amount: "1234.5".into(), currency: "EUR".into() };
        assert_eq!(en.money(&price), "€1,234.50");
        assert_eq!(Catalog::of(Language::De).money(&price), "1.234,50 €");
        assert_eq!(fr.money(&price), "1\u{202f}234,50\u{a0}€");
        let usd = Money { amount: "20".into(), currency: "USD".into() };
        assert_eq!(Catalog::of(Language::Es).money(&usd), "20,00 USD");
        assert_eq!(Catalog::of(Language::ZhCn).money(&usd), "USD\u{a0}20.00");
        let yen = Money { amount: "1500".into(), currency: "JPY".into() };
        assert_eq!(Catalog::of(Language::Ja).money(&yen), "¥1,500");
    }
}
