//! The connect flow and the user API, through HTTP end to end.

mod auth;
mod bad_callbacks;
pub mod browser;
mod chromium;
mod event_body;
mod journey;
pub mod support;
