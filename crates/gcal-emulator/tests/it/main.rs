//! Tests for the Google Calendar emulator, through real HTTP against an in-process instance.

// Test helpers outside #[test] functions may unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod calendars;
mod cli;
mod code_exchange;
mod consent;
mod control_api;
mod events_crud;
mod faults_quota;
mod identity;
mod list_sync;
mod notification_modes;
mod oauth;
mod scope_rules;
mod support;
mod watch;
