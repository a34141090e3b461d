//! The outbound sync: case deadlines become all-day events on the user's watched calendar.
//!
//! A trigger on `cases` writes `calendar_outbox` rows in the writer's transaction; the worker
//! drains them per user and removes a row only once Google accepted every write for its case.

pub mod plan;
