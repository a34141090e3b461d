//! Inbound webhooks: read headers, verify, record, answer. Bodies are never parsed.

pub mod google_calendar;
pub mod unrecorded;
