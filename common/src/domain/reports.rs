//! A merchant's weekly report settings: who gets the email with the link, and in which time
//! zone the week runs (Monday to Sunday; the report goes from Monday 06:00 there).

use chrono::{DateTime, Datelike, Days, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{DomainError, is_email};

/// Most addresses a weekly report goes to.
pub const MAX_RECIPIENTS: usize = 5;
/// The local hour on Monday from which last week's report goes.
pub const SEND_HOUR: u32 = 6;

/// Who gets the weekly report, and where the week runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Whether the weekly report is made and sent.
    #[serde(default)]
    pub enabled: bool,
    /// The team's addresses (at most [`MAX_RECIPIENTS`]).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// The IANA time zone the week runs in; UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl ReportSettings {
    /// Checks the addresses and the zone; errors name the field.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.recipients.len() > MAX_RECIPIENTS {
            return Err(DomainError::invalid("recipients", format!("must name at most {MAX_RECIPIENTS} addresses")));
        }
        if let Some(bad) = self.recipients.iter().position(|r| !is_email(r)) {
            return Err(DomainError::invalid(format!("recipients[{bad}]"), "is not an email address"));
        }
        if self.enabled && self.recipients.is_empty() {
            return Err(DomainError::invalid("recipients", "name at least one address to enable the report"));
        }
        if let Some(zone) = &self.time_zone
            && zone.parse::<Tz>().is_err()
        {
            return Err(DomainError::invalid("time_zone", format!("{zone:?} is not an IANA time zone")));
        }
        Ok(())
    }

    /// The last complete week (Monday to Sunday, local dates) whose report is due at `now`:
    /// last week from Monday [`SEND_HOUR`] on, the week before until then.
    pub fn due_week(&self, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let zone: Tz = self.time_zone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
        let local = now.with_timezone(&zone);
        let today = local.date_naive();
        let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
        let this_week_due = today != monday || local.hour() >= SEND_HOUR;
        let start = if this_week_due { monday - Days::new(7) } else { monday - Days::new(14) };
        (start, start + Days::new(6))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("time")
    }

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_week_turns_on_monday_morning_where_the_merchant_is() {
        let berlin = ReportSettings { time_zone: Some("Europe/Berlin".into()), ..ReportSettings::default() };
        // Monday 30 November 2026, 04:30 UTC is 05:30 in Berlin: not yet.
        let early = Utc.with_ymd_and_hms(2026, 11, 30, 4, 30, 0).single().expect("time");
        assert_eq!(berlin.due_week(early), (day("2026-11-16"), day("2026-11-22")));
        // 05:00 UTC is 06:00 in Berlin: last week is due.
        assert_eq!(berlin.due_week(at(2026, 11, 30, 5)), (day("2026-11-23"), day("2026-11-29")));
        // Any later day of the week: still last week (a scheduler that was down catches up).
        assert_eq!(berlin.due_week(at(2026, 12, 5, 22)), (day("2026-11-23"), day("2026-11-29")));
        // Sunday 23:30 in Tokyo is already Monday 08:30 there... the other way: 22:00 UTC
        // Sunday is Monday 07:00 in Tokyo.
        let tokyo = ReportSettings { time_zone: Some("Asia/Tokyo".into()), ..ReportSettings::default() };
        assert_eq!(tokyo.due_week(at(2026, 11, 29, 22)), (day("2026-11-23"), day("2026-11-29")));
        assert_eq!(ReportSettings::default().due_week(at(2026, 11, 29, 22)), (day("2026-11-16"), day("2026-11-22")));
    }

    #[test]
    fn settings_need_real_addresses_and_zones() {
        let ok = ReportSettings {
            enabled: true,
            recipients: vec!["ops@example.com".into()],
            time_zone: Some("America/New_York".into()),
        };
        ok.validate().expect("valid");
        let field = |s: ReportSettings| s.validate().expect_err("invalid").field;
        assert_eq!(field(ReportSettings { recipients: vec!["nope".into()], ..ok.clone() }), "recipients[0]");
        assert_eq!(field(ReportSettings { recipients: Vec::new(), ..ok.clone() }), "recipients");
        assert_eq!(field(ReportSettings { time_zone: Some("Mars/Olympus".into()), ..ok.clone() }), "time_zone");
        assert_eq!(field(ReportSettings { recipients: vec!["a@example.com".into(); 6], ..ok }), "recipients");
    }
}
