//! Tests for the Google Calendar emulator, through real HTTP against an in-process instance.

mod cli;
mod control_api;
mod events_crud;
mod faults_quota;
mod list_sync;
mod notification_modes;
mod oauth;
mod support;
mod watch;
