//! A calendar's push channel: watching it (then its first sync), renewing it before Google
//! lets it expire, and stopping it.

mod hold;
pub mod renewal;
mod stop;
mod watch;

pub use hold::{ReleaseError, Resolution, release_hold};
pub use renewal::{RenewalReport, RenewalTiming, renew_due, renew_expiring};
pub use stop::{stop_channel, stop_or_gone};
pub use watch::{WatchError, WatchTarget, watch_calendar};
