//! The outbound sync: case deadlines become all-day events on the user's watched calendar.
//!
//! A trigger on `cases` writes `calendar_outbox` rows in the writer's transaction; the worker
//! drains them per user (`push::push_user`) and removes a case's rows only once Google
//! accepted every write for it. `plan` decides per deadline; `deadline` carries it out.

mod deadline;
pub mod event_body;
pub mod pacing;
pub mod plan;
pub mod push;

pub use pacing::Pacer;
pub use push::{PushContext, PushError, PushOutcome, PushReport, push_user};
