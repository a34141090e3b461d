//! calsync: keeps the PERM case tracker's deadlines in two-way sync with Google Calendar.
//!
//! The crate is one library with one binary (`src/main.rs`) whose subcommands are the
//! process roles. See `docs/ARCHITECTURE.md` for the processes and the data flow.

pub mod account;
pub mod channel_token;
pub mod channels;
pub mod cli;
pub mod config;
pub mod connect;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod google;
pub mod http;
pub mod ids;
pub mod inbound;
pub mod jobs;
pub mod lease;
pub mod outbound;
pub mod queue;
pub mod quota;
pub mod retry;
pub mod roles;
pub mod worker;
