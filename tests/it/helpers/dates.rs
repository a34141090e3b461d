//! Dates for fixtures.

use chrono::NaiveDate;

/// A day of 2027 (far enough ahead that no deadline is in the past while the suite runs).
pub fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, month, d).expect("a valid day of 2027")
}
