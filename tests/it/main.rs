//! The integration test binary: every test here talks to a real PostgreSQL (and, where
//! needed, Redis), each in its own database or namespace so tests run in parallel.

mod db;
mod helpers;
