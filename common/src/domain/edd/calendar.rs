//! When an order is picked up: the shop's working days, its daily cutoff and its processing
//! time, as AfterShip's `estimated_pickup` states them.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime};

/// The shop's week: which days it hands parcels over (ISO weekdays, Monday = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingWeek([bool; 7]);

impl WorkingWeek {
    /// Monday to Friday, AfterShip's default.
    pub const MONDAY_TO_FRIDAY: WorkingWeek = WorkingWeek([true, true, true, true, true, false, false]);

    /// The week of `days` (each 1 to 7); `None` when a number is out of range or none is given.
    pub fn of(days: &[u8]) -> Option<WorkingWeek> {
        let mut week = [false; 7];
        for day in days {
            *week.get_mut(usize::from(day.checked_sub(1)?))? = true;
        }
        week.contains(&true).then_some(WorkingWeek(week))
    }

    /// Whether the shop works on `day`.
    pub fn works_on(&self, day: NaiveDate) -> bool {
        self.0[day.weekday().num_days_from_monday() as usize]
    }

    /// The first working day after `day`.
    pub fn next_after(&self, day: NaiveDate) -> NaiveDate {
        let mut next = day;
        loop {
            next = next + Days::new(1);
            if self.works_on(next) {
                return next;
            }
        }
    }
}

/// When an order placed at `order_time` (the shop's local time) is picked up: on the day it
/// is placed when that is a working day and it comes by `cutoff`, else on the next working
/// day; then `processing_days` working days later; at the cutoff time of that day.
pub fn pickup_time(
    order_time: NaiveDateTime,
    cutoff: NaiveTime,
    week: WorkingWeek,
    processing_days: u32,
) -> NaiveDateTime {
    let placed = order_time.date();
    let mut day = if week.works_on(placed) && order_time.time() <= cutoff { placed } else { week.next_after(placed) };
    for _ in 0..processing_days {
        day = week.next_after(day);
    }
    day.and_time(cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    fn cutoff(raw: &str) -> NaiveTime {
        NaiveTime::parse_from_str(raw, "%H:%M:%S").expect("time")
    }

    #[test]
    fn an_order_before_the_cutoff_on_a_working_day_goes_out_that_day() {
        // AfterShip's example: every day a working day, cutoff 20:00.
        let every_day = WorkingWeek::of(&[1, 2, 3, 4, 5, 6, 7]).expect("week");
        assert_eq!(pickup_time(at("2021-07-01 15:04:05"), cutoff("20:00:00"), every_day, 0), at("2021-07-01 20:00:00"));
    }

    #[test]
    fn late_orders_weekends_and_processing_move_to_working_days() {
        let week = WorkingWeek::MONDAY_TO_FRIDAY;
        let six = cutoff("18:00:00");
        // Friday after the cutoff: Monday.
        assert_eq!(pickup_time(at("2026-11-27 18:00:01"), six, week, 0), at("2026-11-30 18:00:00"));
        // Exactly at the cutoff still goes the same day.
        assert_eq!(pickup_time(at("2026-11-27 18:00:00"), six, week, 0), at("2026-11-27 18:00:00"));
        // Saturday: Monday; two days' processing: Wednesday.
        assert_eq!(pickup_time(at("2026-11-28 09:00:00"), six, week, 2), at("2026-12-02 18:00:00"));
        // Thursday with two days' processing skips the weekend: Monday.
        assert_eq!(pickup_time(at("2026-11-26 09:00:00"), six, week, 2), at("2026-11-30 18:00:00"));
    }

    #[test]
    fn a_week_needs_days_from_one_to_seven() {
        assert_eq!(WorkingWeek::of(&[1, 2, 3, 4, 5]), Some(WorkingWeek::MONDAY_TO_FRIDAY));
        assert_eq!(WorkingWeek::of(&[0]), None);
        assert_eq!(WorkingWeek::of(&[8]), None);
        assert_eq!(WorkingWeek::of(&[]), None);
    }
}
