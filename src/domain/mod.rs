//! Pure domain types and rules: no actix, no diesel connections, no HTTP.

mod deadline_kind;

pub use deadline_kind::{DeadlineKind, UnknownDeadlineKind};
