mod google_calendar;
mod group_commit;
mod outage;
pub(crate) mod server;
mod unrecorded;
