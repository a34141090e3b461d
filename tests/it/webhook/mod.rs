mod google_calendar;
mod outage;
pub(crate) mod server;
