//! What a deadline's event says: an all-day event (start = the deadline, end = the next day,
//! no time zone) titled with the deadline and the case, carrying calsync's marker.

use chrono::NaiveDate;

use crate::db::models::case::Case;
use crate::domain::{DeadlineKind, EventMarker};
use crate::google::{Event, EventDateTime, ExtendedProperties};

/// "ETA-9089 filing window closes: <employer> / <beneficiary>".
pub fn summary(kind: DeadlineKind, case: &Case) -> String {
    format!(
        "{}: {} / {}",
        kind.label(),
        case.employer_name,
        case.beneficiary_name
    )
}

const DESCRIPTION: &str = "PERM case deadline kept in sync by calsync. Moving this event \
changes the deadline in the case tracker; deleting it removes the reminder until the deadline \
changes in the tracker.";

/// The full event for an insert.
pub fn new_event(marker: EventMarker, event_id: &str, date: NaiveDate, summary: &str) -> Event {
    Event {
        id: Some(event_id.to_owned()),
        summary: Some(summary.to_owned()),
        description: Some(DESCRIPTION.to_owned()),
        extended_properties: Some(ExtendedProperties {
            private: Some(marker.to_properties()),
            shared: None,
        }),
        ..changes(date, summary)
    }
}

/// The fields a patch sends: date and title.
pub fn changes(date: NaiveDate, summary: &str) -> Event {
    Event {
        summary: Some(summary.to_owned()),
        start: Some(EventDateTime::all_day(date)),
        end: Some(EventDateTime::all_day(date.succ_opt().unwrap_or(date))),
        ..Event::default()
    }
}
