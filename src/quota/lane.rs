//! Priority lanes of Google requests. Work states its lane once, around everything it does
//! (`in_lane`); each request made inside takes room in the quota for that lane.

use std::future::Future;

/// Who a Google request is for, highest priority first: when a budget is spent, lower lanes
/// wait before higher ones do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// A sync a notification asked for (also operator commands).
    Notification,
    /// The outbound push of case changes.
    Push,
    /// Channel renewal (watch, stop) and its first sync.
    Renewal,
    /// A backstop poll no notification asked for.
    Backstop,
}

impl Lane {
    pub const ALL: [Self; 4] = [
        Self::Notification,
        Self::Push,
        Self::Renewal,
        Self::Backstop,
    ];

    /// The metrics label and the field suffix in Redis.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "notification",
            Self::Push => "push",
            Self::Renewal => "renewal",
            Self::Backstop => "backstop",
        }
    }

    /// 0 for the highest priority.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Notification => 0,
            Self::Push => 1,
            Self::Renewal => 2,
            Self::Backstop => 3,
        }
    }
}

tokio::task_local! {
    static LANE: Lane;
}

/// Runs `work` with its Google requests in `lane`.
pub async fn in_lane<F: Future>(lane: Lane, work: F) -> F::Output {
    LANE.scope(lane, work).await
}

/// The lane of the running work; `Notification` outside any (operator commands).
pub fn current() -> Lane {
    LANE.try_with(|l| *l).unwrap_or(Lane::Notification)
}
