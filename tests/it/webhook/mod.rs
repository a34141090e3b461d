mod google_calendar;
mod outage;
mod server;
