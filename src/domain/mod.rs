//! Pure domain types and rules: no actix, no diesel connections, no HTTP.

mod channel_id;
mod deadline_kind;

pub use channel_id::is_valid_channel_id;
pub use deadline_kind::{DeadlineKind, UnknownDeadlineKind};
