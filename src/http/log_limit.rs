//! Rate limits for log lines an outsider can trigger at will (a forged notification costs them
//! one request): at most `burst` lines per window, then one line saying how many were left out.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong-token warnings of the webhook: at most 10 a minute per process.
static WRONG_CHANNEL_TOKEN: LogLimit = LogLimit::new(10, Duration::from_secs(60));

/// Logs a notification rejected for a wrong channel token, within [`WRONG_CHANNEL_TOKEN`]'s
/// limit: anyone can send these, and every one is still counted in the metrics.
pub fn wrong_channel_token(channel_id: &str) {
    if let Some(n) = WRONG_CHANNEL_TOKEN.allow() {
        log::warn!(
            "rejected notification for channel {channel_id}: wrong channel token{}",
            left_out(n)
        );
    }
}

/// At most `burst` lines per `window`; the rest are counted, not logged.
pub struct LogLimit {
    burst: u32,
    window: Duration,
    state: Mutex<State>,
}

struct State {
    window_start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    pub const fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            state: Mutex::new(State {
                window_start: None,
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// Whether to log this occurrence now. `Some(n)`: log it, and say that `n` earlier ones
    /// were left out; `None`: leave it out (it is counted).
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let expired = state
            .window_start
            .is_none_or(|start| now.duration_since(start) >= self.window);
        if expired {
            state.window_start = Some(now);
            state.logged = 0;
        }
        if state.logged < self.burst {
            state.logged += 1;
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed += 1;
            None
        }
    }
}

/// `" (N similar lines left out)"`, or nothing when none were.
pub fn left_out(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} similar lines left out)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_then_a_count_of_what_was_left_out() {
        let limit = LogLimit::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let allowed: Vec<_> = (0..1000).map(|_| limit.allow_at(t0)).collect();
        assert_eq!(allowed.iter().filter(|a| a.is_some()).count(), 3);
        assert_eq!(&allowed[..3], &[Some(0), Some(0), Some(0)]);
        // The next window logs again, first saying how many were left out.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(limit.allow_at(t1), Some(997));
        assert_eq!(limit.allow_at(t1), Some(0));
        assert_eq!(left_out(997), " (997 similar lines left out)");
        assert_eq!(left_out(0), "");
    }
}
