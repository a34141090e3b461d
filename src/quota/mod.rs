//! Google's quota, shared through Redis by every calsync process, inbound and outbound:
//! per Google user (`GOOGLE_USER_QUOTA_PER_MINUTE` units, a patch counting three as Google
//! counts it), per project (`GOOGLE_PROJECT_REQUESTS_PER_MINUTE`, and an optional
//! `GOOGLE_PROJECT_REQUESTS_PER_DAY`), with priority lanes ([`Lane`]) and a budget that
//! shrinks for a while after Google refuses a request for its rate limit (AIMD). One Lua
//! script decides and charges in one step (`acquire.lua`), so processes never race.
//!
//! Every request to the Calendar API goes through `account::UserSession`, which asks here
//! first. When Redis cannot be asked, requests go ahead (Google's own limit still holds)
//! rather than stopping the fleet.

mod lane;
mod limiter;
pub mod metrics;

pub use lane::{Lane, current, in_lane};
pub use limiter::{Cost, Quota, QuotaSettings};
