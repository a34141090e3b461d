//! The connect flow and the user API, through HTTP end to end.

mod accounts;
mod auth;
mod bad_callbacks;
pub mod browser;
mod chromium;
mod cors;
mod event_body;
pub mod facts;
mod journey;
mod serve_role;
mod states;
pub mod support;
