//! Quiet hours in the recipient's time zone: when a message may not go, and until when it
//! waits. The zone is the rule's, else the destination country's (the zone most of its people
//! live in, for countries with several), else UTC.

use chrono::{DateTime, Duration, LocalResult, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{CountryCode, QuietHours, Shipment};

/// The zone quiet hours are kept in for `shipment`: `quiet`'s own, else the destination's,
/// else UTC.
pub fn recipient_zone(quiet: &QuietHours, shipment: &Shipment) -> Tz {
    quiet
        .time_zone
        .as_deref()
        .and_then(|name| name.parse::<Tz>().ok())
        .or_else(|| shipment.details.destination_country_region.as_ref().and_then(country_zone))
        .unwrap_or(Tz::UTC)
}

/// Whether `name` is a time zone of the IANA database.
pub fn is_time_zone(name: &str) -> bool {
    name.parse::<Tz>().is_ok()
}

/// When a message due `at` may go: `at` itself, or the end of the quiet hours it falls in, in
/// `zone` (a start after the end spans midnight).
pub fn after_quiet_hours(quiet: &QuietHours, zone: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    let parse = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").ok();
    let (Some(start), Some(end)) = (parse(&quiet.start), parse(&quiet.end)) else { return at };
    let local = at.with_timezone(&zone);
    let (date, time) = (local.date_naive(), local.time());
    let end_day = if start < end {
        if time < start || time >= end {
            return at;
        }
        date
    } else if time >= start {
        date + Duration::days(1)
    } else if time < end {
        date
    } else {
        return at;
    };
    let end_local = end_day.and_time(end);
    match zone.from_local_datetime(&end_local) {
        LocalResult::Single(end) | LocalResult::Ambiguous(end, _) => end.with_timezone(&Utc),
        // The end falls in a clock change's gap: an hour later exists.
        LocalResult::None => zone
            .from_local_datetime(&(end_local + Duration::hours(1)))
            .earliest()
            .map_or(at, |end| end.with_timezone(&Utc)),
    }
}

/// A country's time zone (the one most of its people live in), for the countries Porchlight's
/// merchants ship to most; `None` for the others.
pub fn country_zone(country: &CountryCode) -> Option<Tz> {
    let name = match country.as_str() {
        "USA" => "America/New_York",
        "CAN" => "America/Toronto",
        "MEX" => "America/Mexico_City",
        "BRA" => "America/Sao_Paulo",
        "ARG" => "America/Argentina/Buenos_Aires",
        "CHL" => "America/Santiago",
        "COL" => "America/Bogota",
        "PER" => "America/Lima",
        "GBR" => "Europe/London",
        "IRL" => "Europe/Dublin",
        "FRA" => "Europe/Paris",
        "DEU" => "Europe/Berlin",
        "ESP" => "Europe/Madrid",
        "PRT" => "Europe/Lisbon",
        "ITA" => "Europe/Rome",
        "NLD" => "Europe/Amsterdam",
        "BEL" => "Europe/Brussels",
        "LUX" => "Europe/Luxembourg",
        "CHE" => "Europe/Zurich",
        "AUT" => "Europe/Vienna",
        "SWE" => "Europe/Stockholm",
        "NOR" => "Europe/Oslo",
        "DNK" => "Europe/Copenhagen",
        "FIN" => "Europe/Helsinki",
        "POL" => "Europe/Warsaw",
        "CZE" => "Europe/Prague",
        "HUN" => "Europe/Budapest",
        "ROU" => "Europe/Bucharest",
        "GRC" => "Europe/Athens",
        "TUR" => "Europe/Istanbul",
        "UKR" => "Europe/Kyiv",
        "RUS" => "Europe/Moscow",
        "ISR" => "Asia/Jerusalem",
        "ARE" => "Asia/Dubai",
        "SAU" => "Asia/Riyadh",
        "IND" => "Asia/Kolkata",
        "PAK" => "Asia/Karachi",
        "BGD" => "Asia/Dhaka",
        "CHN" => "Asia/Shanghai",
        "HKG" => "Asia/Hong_Kong",
        "TWN" => "Asia/Taipei",
        "JPN" => "Asia/Tokyo",
        "KOR" => "Asia/Seoul",
        "SGP" => "Asia/Singapore",
        "MYS" => "Asia/Kuala_Lumpur",
        "THA" => "Asia/Bangkok",
        "VNM" => "Asia/Ho_Chi_Minh",
        "PHL" => "Asia/Manila",
        "IDN" => "Asia/Jakarta",
        "AUS" => "Australia/Sydney",
        "NZL" => "Pacific/Auckland",
        "ZAF" => "Africa/Johannesburg",
        "NGA" => "Africa/Lagos",
        "EGY" => "Africa/Cairo",
        "KEN" => "Africa/Nairobi",
        "MAR" => "Africa/Casablanca",
        _ => return None,
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours { start: start.into(), end: end.into(), time_zone: None }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn overnight_quiet_hours_wait_for_the_morning_in_the_recipients_zone() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let night = quiet("21:00", "08:00");
        // 22:30 in Berlin (summer, UTC+2): waits until 08:00 Berlin the next day.
        assert_eq!(after_quiet_hours(&night, berlin, utc("2026-06-10T20:30:00Z")), utc("2026-06-11T06:00:00Z"));
        // 06:00 in Berlin: waits until 08:00 the same day.
        assert_eq!(after_quiet_hours(&night, berlin, utc("2026-06-11T04:00:00Z")), utc("2026-06-11T06:00:00Z"));
        // 12:00 in Berlin: goes at once.
        assert_eq!(after_quiet_hours(&night, berlin, utc("2026-06-11T10:00:00Z")), utc("2026-06-11T10:00:00Z"));
        // Winter time (UTC+1): the same local hours move with the clock.
        assert_eq!(after_quiet_hours(&night, berlin, utc("2026-12-10T21:30:00Z")), utc("2026-12-11T07:00:00Z"));
        let lunch = quiet("12:00", "13:30");
        assert_eq!(after_quiet_hours(&lunch, Tz::UTC, utc("2026-06-11T12:15:00Z")), utc("2026-06-11T13:30:00Z"));
        assert_eq!(after_quiet_hours(&lunch, Tz::UTC, utc("2026-06-11T13:30:00Z")), utc("2026-06-11T13:30:00Z"));
    }

    #[test]
    fn an_end_in_a_clock_change_gap_moves_an_hour_on() {
        // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let short = quiet("23:00", "02:30");
        assert_eq!(after_quiet_hours(&short, berlin, utc("2026-03-28T23:00:00Z")), utc("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn countries_map_to_zones_and_names_are_checked() {
        for code in ["USA", "DEU", "JPN", "CHN", "AUS", "BRA", "UKR", "GBR"] {
            assert!(country_zone(&CountryCode::parse(code).expect("country")).is_some(), "{code}");
        }
        assert_eq!(country_zone(&CountryCode::parse("ISL").expect("country")), None);
        assert!(is_time_zone("America/Argentina/Buenos_Aires") && !is_time_zone("Mars/Olympus_Mons"));
    }
}
