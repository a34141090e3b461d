//! What to do with one deadline's event, from the case's current state and the link. Pure.

use chrono::NaiveDate;

use crate::db::models::CaseEventLink;
use crate::domain::EVENT_BODY_VERSION;

/// The event a deadline should have: its date and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub date: NaiveDate,
    pub summary: &'a str,
}

/// One step for one deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Google already shows what the tracker says, or the user dismissed it.
    Nothing,
    /// Create the event with this generation's id (the same id again if an earlier insert's
    /// answer was lost: Google then says 409 and the event is adopted).
    Insert { generation: i32 },
    /// Change the live event's date or title, conditional on the stored etag.
    Patch,
    /// Remove the live event (deadline cleared, case closed or deleted, channel stopped).
    Delete,
}

/// Decides the step for a deadline. `wanted` is `None` when no event should exist.
pub fn plan(wanted: Option<&Wanted<'_>>, link: Option<&CaseEventLink>) -> Action {
    let Some(link) = link else {
        return match wanted {
            Some(_) => Action::Insert { generation: 0 },
            None => Action::Nothing,
        };
    };
    let Some(wanted) = wanted else {
        return if link.dismissed || link.removed {
            Action::Nothing
        } else {
            Action::Delete
        };
    };
    if link.removed {
        return Action::Insert {
            generation: link.generation + 1,
        };
    }
    if link.dismissed {
        // Dismissed in Google: stays off the calendar until the date changes in the tracker;
        // then a new id, since Google keeps the deleted one.
        return if link.synced_date == Some(wanted.date) {
            Action::Nothing
        } else {
            Action::Insert {
                generation: link.generation + 1,
            }
        };
    }
    if link.etag.is_none() {
        return Action::Insert {
            generation: link.generation,
        };
    }
    if link.synced_date == Some(wanted.date)
        && link.synced_summary.as_deref() == Some(wanted.summary)
        && link.body_version >= EVENT_BODY_VERSION
    {
        Action::Nothing
    } else {
        Action::Patch
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use crate::ids::{CaseId, UserId};

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 5, d).unwrap()
    }

    fn link() -> CaseEventLink {
        CaseEventLink {
            id: Uuid::nil(),
            case_id: CaseId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            deadline_kind: "rfi_due_date".into(),
            calendar_id: "primary".into(),
            google_event_id: "x".into(),
            generation: 2,
            etag: Some("\"1\"".into()),
            synced_date: Some(day(1)),
            dismissed: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            removed: false,
            synced_summary: Some("RFI".into()),
            synced_tracker_rev: Some(1),
            pending_date: None,
            pending_summary: None,
            pending_tracker_rev: None,
            pending_at: None,
            body_version: EVENT_BODY_VERSION,
        }
    }

    const fn wanted(date: NaiveDate) -> Wanted<'static> {
        Wanted {
            date,
            summary: "RFI",
        }
    }

    #[test]
    fn new_deadline_inserts_generation_zero_and_no_deadline_does_nothing() {
        assert_eq!(
            plan(Some(&wanted(day(1))), None),
            Action::Insert { generation: 0 }
        );
        assert_eq!(plan(None, None), Action::Nothing);
    }

    #[test]
    fn live_events_are_patched_only_when_date_or_title_differ() {
        let l = link();
        assert_eq!(plan(Some(&wanted(day(1))), Some(&l)), Action::Nothing);
        assert_eq!(plan(Some(&wanted(day(2))), Some(&l)), Action::Patch);
        let renamed = Wanted {
            date: day(1),
            summary: "RFI (renamed)",
        };
        assert_eq!(plan(Some(&renamed), Some(&l)), Action::Patch);
        assert_eq!(plan(None, Some(&l)), Action::Delete);
    }

    #[test]
    fn an_event_written_with_an_older_body_is_patched_once() {
        let l = CaseEventLink {
            body_version: EVENT_BODY_VERSION - 1,
            ..link()
        };
        assert_eq!(plan(Some(&wanted(day(1))), Some(&l)), Action::Patch);
        assert_eq!(plan(Some(&wanted(day(1))), Some(&link())), Action::Nothing);
    }

    #[test]
    fn an_insert_whose_answer_was_lost_is_retried_with_the_same_id() {
        let l = CaseEventLink {
            etag: None,
            ..link()
        };
        assert_eq!(
            plan(Some(&wanted(day(1))), Some(&l)),
            Action::Insert { generation: 2 }
        );
    }

    #[test]
    fn dismissed_stays_dismissed_until_the_date_changes() {
        let l = CaseEventLink {
            dismissed: true,
            ..link()
        };
        assert_eq!(plan(Some(&wanted(day(1))), Some(&l)), Action::Nothing);
        assert_eq!(plan(None, Some(&l)), Action::Nothing);
        assert_eq!(
            plan(Some(&wanted(day(9))), Some(&l)),
            Action::Insert { generation: 3 }
        );
    }

    #[test]
    fn removed_events_come_back_with_a_new_generation() {
        let l = CaseEventLink {
            removed: true,
            ..link()
        };
        assert_eq!(
            plan(Some(&wanted(day(1))), Some(&l)),
            Action::Insert { generation: 3 }
        );
        assert_eq!(plan(None, Some(&l)), Action::Nothing);
    }
}
