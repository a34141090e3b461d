//! How calsync recognises its own Google events, defined once for both sync directions:
//! a private extended property naming the case and the deadline kind, and a deterministic
//! event id derived from the case, the kind and a generation number.

use std::collections::BTreeMap;

use super::DeadlineKind;
use crate::ids::CaseId;

/// Private extended property holding the case id (Google drops keys over 44 characters).
pub const CASE_ID_KEY: &str = "calsync_case_id";
/// Private extended property holding the deadline kind (its `cases` column name).
pub const DEADLINE_KIND_KEY: &str = "calsync_deadline_kind";

/// The version of the event body calsync writes (fields beyond date, title and marker). A
/// link written with an older version is patched once to the current body.
pub const EVENT_BODY_VERSION: i32 = 1;

/// What the marker on an event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMarker {
    pub case_id: CaseId,
    pub kind: DeadlineKind,
}

impl EventMarker {
    /// The private extended properties to put on the event.
    pub fn to_properties(self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CASE_ID_KEY.to_owned(), self.case_id.to_string()),
            (DEADLINE_KIND_KEY.to_owned(), self.kind.column().to_owned()),
        ])
    }

    /// The marker in an event's private properties, if both keys are there and valid.
    pub fn from_properties(private: &BTreeMap<String, String>) -> Option<Self> {
        Some(Self {
            case_id: private.get(CASE_ID_KEY)?.parse().ok()?,
            kind: private.get(DEADLINE_KIND_KEY)?.parse().ok()?,
        })
    }

    /// The Google event id of this deadline's `generation`-th event.
    ///
    /// Google accepts client ids of 5–1024 characters from base32hex (`0-9`, `a-v`). The id
    /// is the case UUID in lowercase hex, `k` and the kind's index, `g` and the generation:
    /// a retried insert reuses the id (Google answers 409 instead of making a duplicate), and
    /// a new generation gives a new id once the user deleted the old event (Google keeps
    /// deleted ids forever).
    pub fn event_id(self, generation: u32) -> String {
        format!(
            "{}k{}g{generation}",
            self.case_id.0.simple(),
            self.kind_index()
        )
    }

    fn kind_index(self) -> usize {
        DeadlineKind::ALL
            .iter()
            .position(|k| *k == self.kind)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_base32hex(s: &str) -> bool {
        s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c))
    }

    #[test]
    fn event_ids_are_valid_distinct_and_stable() {
        let case_id = CaseId::new_random();
        let mut seen = std::collections::HashSet::new();
        for kind in DeadlineKind::ALL {
            for generation in 0..3 {
                let id = EventMarker { case_id, kind }.event_id(generation);
                assert!(is_base32hex(&id) && (5..=1024).contains(&id.len()), "{id}");
                assert!(seen.insert(id.clone()), "duplicate id {id}");
                assert_eq!(id, EventMarker { case_id, kind }.event_id(generation));
            }
        }
    }

    #[test]
    fn marker_round_trips_and_rejects_foreign_properties() {
        let marker = EventMarker {
            case_id: CaseId::new_random(),
            kind: DeadlineKind::RfeDue,
        };
        let props = marker.to_properties();
        assert!(props.keys().all(|k| k.len() <= 44));
        assert_eq!(EventMarker::from_properties(&props), Some(marker));
        let mut foreign = props.clone();
        foreign.insert(DEADLINE_KIND_KEY.into(), "birthday".into());
        assert_eq!(EventMarker::from_properties(&foreign), None);
        assert_eq!(EventMarker::from_properties(&BTreeMap::new()), None);
    }
}
