//! Tests for the Google Calendar emulator, through real HTTP against an in-process instance.

mod events_crud;
mod list_sync;
mod oauth;
mod support;
mod watch;
