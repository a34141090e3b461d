//! A fleet of real `calsync worker` processes against the emulator: every duty done once,
//! and Google's quota shared by all of them.

mod backstop;
mod duties;
mod lanes;
mod quota;
mod renewal;
mod support;
mod throttle;
