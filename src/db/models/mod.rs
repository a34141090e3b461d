//! Diesel models and the query functions of each table. Naming: `Foo` is a row as read,
//! `NewFoo<'a>` what is inserted. Every query function takes `&mut PgConnection`.

pub mod calendar_channel;
pub mod calendar_connection;
pub mod case;
pub mod case_deadline;
pub mod case_event_link;
pub mod channel_duty;
pub mod channel_lease;
pub mod channel_stray;
pub mod connect_flow;
pub mod google_credential;
pub mod outbox;
pub mod sync_audit;
mod text_enum;

pub use calendar_channel::{CalendarChannel, ChannelStatus, NewCalendarChannel};
pub use case_event_link::{CaseEventLink, NewCaseEventLink};
pub use google_credential::{CredentialError, CredentialStatus, GoogleCredential};
