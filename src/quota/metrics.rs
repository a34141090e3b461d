//! The quota's counters (kept in Redis by every process, read at scrape time) in the
//! Prometheus text format. Labels come from the fixed set of lanes only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Lane;

/// The name of the counters' "queue" under the namespace (`<namespace>:quota:stats`).
pub const STATS_QUEUE: &str = "quota";

/// Appends the quota metrics and `calsync_channel_missed_changes_total` to `out`.
pub fn render(out: &mut String, counters: &BTreeMap<String, u64>) {
    let get = |field: String| counters.get(&field).copied().unwrap_or(0);
    let per_lane: [(&str, &str, &str); 4] = [
        (
            "calsync_google_quota_units_total",
            "units",
            "Google quota units taken per lane, across all processes (a patch counts 3).",
        ),
        (
            "calsync_google_quota_waits_total",
            "waits",
            "Google requests that had to wait for room in the shared quota, per lane.",
        ),
        (
            "calsync_google_quota_refusals_total",
            "refused",
            "Google rate-limit refusals (403 rate limit, 429) that shrank the budget, per lane.",
        ),
        (
            "calsync_google_quota_wait_seconds_total",
            "wait_ms",
            "Time Google requests spent waiting for the shared quota, per lane.",
        ),
    ];
    for (name, field, help) in per_lane {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for lane in Lane::ALL {
            let n = get(format!("{field}:{}", lane.as_str()));
            let lane = lane.as_str();
            if field == "wait_ms" {
                #[allow(clippy::cast_precision_loss)]
                let secs = n as f64 / 1000.0;
                let _ = writeln!(out, "{name}{{lane=\"{lane}\"}} {secs}");
            } else {
                let _ = writeln!(out, "{name}{{lane=\"{lane}\"}} {n}");
            }
        }
    }
    let name = "calsync_channel_missed_changes_total";
    let _ = writeln!(
        out,
        "# HELP {name} Backstop polls that found changes no notification announced.\n# TYPE {name} counter\n{name} {}",
        get("missed_changes".to_owned())
    );
}
