//! The conflict rule, used by both sync directions: for a deadline changed on both sides
//! since the last sync, the later change wins; a tie goes to the tracker.

use chrono::{DateTime, Utc};

/// Whether the tracker's change of a deadline (its recorded revision time) beats Google's
/// version of the event (its `updated`). An event without `updated` cannot show it is later.
pub fn tracker_wins(
    tracker_changed_at: Option<DateTime<Utc>>,
    google_updated: Option<DateTime<Utc>>,
) -> bool {
    match (tracker_changed_at, google_updated) {
        (Some(tracker), Some(google)) => tracker >= google,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn later_change_wins_and_ties_go_to_the_tracker() {
        let t = Utc::now();
        assert!(tracker_wins(Some(t), Some(t)));
        assert!(tracker_wins(Some(t + Duration::seconds(1)), Some(t)));
        assert!(!tracker_wins(Some(t), Some(t + Duration::seconds(1))));
        assert!(!tracker_wins(None, Some(t)), "never changed in the tracker");
        assert!(tracker_wins(Some(t), None));
    }
}
