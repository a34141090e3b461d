//! Pure domain types and rules: no actix, no diesel connections, no HTTP.

mod channel_id;
mod conflict;
mod deadline_kind;
mod event_marker;

pub use channel_id::is_valid_channel_id;
pub use conflict::tracker_wins;
pub use deadline_kind::{DeadlineKind, UnknownDeadlineKind};
pub use event_marker::{CASE_ID_KEY, DEADLINE_KIND_KEY, EVENT_BODY_VERSION, EventMarker};
