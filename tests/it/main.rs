//! The integration test binary: every test here talks to a real PostgreSQL (and, where
//! needed, Redis), each in its own database or namespace so tests run in parallel.

// Test helpers outside #[test] functions may unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod connect;
mod db;
mod edges;
mod fleet;
mod google;
mod helpers;
mod ops;
mod outbound;
mod pipeline;
mod queue;
mod sync;
mod webhook;
