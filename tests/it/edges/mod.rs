//! The service's edges under attack or fault: what a client, an operator's slip or Google
//! can send, and the bounds that keep it harmless.

mod admin_port;
mod credentials_rotation;
mod forged_log_flood;
mod google_bounds;
mod insecure_google;
mod metrics_labels;
mod rediss;
mod secrets_in_errors;
