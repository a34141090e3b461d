use std::collections::BTreeMap;

use super::env::{ConfigError, var};
use crate::domain::DeadlineKind;

/// Google allows at most this many reminder overrides per event...
pub const MAX_REMINDERS: usize = 5;
/// ...each at most four weeks before the event.
pub const MAX_REMINDER_MINUTES: u32 = 28 * 24 * 60;

/// The default title: "I-140 filing deadline: Acme Robotics / Jane Doe".
pub const DEFAULT_TITLE_TEMPLATE: &str = "{deadline}: {employer} / {beneficiary}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    /// `popup` or `email`.
    pub method: &'static str,
    pub minutes: u32,
}

/// What the events calsync writes look like, beyond date and marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStyle {
    /// Placeholders: `{deadline}`, `{employer}`, `{beneficiary}`, `{employer_initials}`,
    /// `{beneficiary_initials}`, `{case_id}`.
    pub title_template: String,
    /// A link back to the case, with `{case_id}`; `None` leaves the link out.
    pub case_url_template: Option<String>,
    pub default_reminders: Vec<Reminder>,
    pub reminders_by_kind: BTreeMap<DeadlineKind, Vec<Reminder>>,
}

impl Default for EventStyle {
    fn default() -> Self {
        Self {
            title_template: DEFAULT_TITLE_TEMPLATE.to_owned(),
            case_url_template: None,
            default_reminders: vec![
                Reminder {
                    method: "popup",
                    minutes: 7 * 24 * 60,
                },
                Reminder {
                    method: "popup",
                    minutes: 24 * 60,
                },
                Reminder {
                    method: "email",
                    minutes: 7 * 24 * 60,
                },
            ],
            reminders_by_kind: BTreeMap::new(),
        }
    }
}

impl EventStyle {
    /// Reads:
    /// - `EVENT_TITLE_TEMPLATE` (default `{deadline}: {employer} / {beneficiary}`; e.g.
    ///   `{deadline}: {beneficiary_initials}` keeps names off calendars)
    /// - `TRACKER_CASE_URL` (optional; must contain `{case_id}`)
    /// - `EVENT_REMINDERS` (default `popup:7d,popup:1d,email:7d`; `none` for no reminders)
    /// - `EVENT_REMINDERS_BY_KIND` (optional, e.g. `rfe_due_date=popup:3d,popup:1d;…`)
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut style = Self::default();
        if let Some(t) = var("EVENT_TITLE_TEMPLATE") {
            style.title_template = t;
        }
        if let Some(url) = var("TRACKER_CASE_URL") {
            if !url.contains("{case_id}") {
                return Err(ConfigError::Invalid {
                    name: "TRACKER_CASE_URL",
                    reason: "must contain {case_id}".into(),
                });
            }
            style.case_url_template = Some(url);
        }
        if let Some(r) = var("EVENT_REMINDERS") {
            style.default_reminders = parse_reminders("EVENT_REMINDERS", &r)?;
        }
        if let Some(all) = var("EVENT_REMINDERS_BY_KIND") {
            let name = "EVENT_REMINDERS_BY_KIND";
            for part in all.split(';').filter(|p| !p.trim().is_empty()) {
                let (kind, list) = part.split_once('=').ok_or_else(|| ConfigError::Invalid {
                    name,
                    reason: "entries are kind=reminders, separated by ;".into(),
                })?;
                let kind: DeadlineKind = kind.trim().parse().map_err(|e| ConfigError::Invalid {
                    name,
                    reason: format!("{e}"),
                })?;
                style
                    .reminders_by_kind
                    .insert(kind, parse_reminders(name, list)?);
            }
        }
        Ok(style)
    }

    pub fn reminders(&self, kind: DeadlineKind) -> &[Reminder] {
        self.reminders_by_kind
            .get(&kind)
            .unwrap_or(&self.default_reminders)
    }
}

/// `popup:7d,popup:1d,email:7d` (units `d`, `h`, `m`; bare numbers are minutes), or `none`.
pub fn parse_reminders(name: &'static str, text: &str) -> Result<Vec<Reminder>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (method, when) = item
            .split_once(':')
            .ok_or_else(|| invalid(format!("{item:?} is not method:time")))?;
        let method = match method.trim() {
            "popup" => "popup",
            "email" => "email",
            other => return Err(invalid(format!("unknown reminder method {other:?}"))),
        };
        let when = when.trim();
        let (number, unit) = match when.char_indices().last() {
            Some((i, 'd')) => (&when[..i], 24 * 60),
            Some((i, 'h')) => (&when[..i], 60),
            Some((i, 'm')) => (&when[..i], 1),
            _ => (when, 1),
        };
        let minutes = number
            .parse::<u32>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .ok_or_else(|| invalid(format!("{when:?} is not a time")))?;
        if minutes > MAX_REMINDER_MINUTES {
            return Err(invalid(format!("{when} is more than Google's 28 days")));
        }
        out.push(Reminder { method, minutes });
    }
    if out.len() > MAX_REMINDERS {
        return Err(invalid(format!(
            "Google allows at most {MAX_REMINDERS} reminders"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_parse_within_googles_limits() {
        let r = parse_reminders("X", "popup:7d, popup:12h,email:30").unwrap();
        assert_eq!(
            r,
            vec![
                Reminder {
                    method: "popup",
                    minutes: 10080
                },
                Reminder {
                    method: "popup",
                    minutes: 720
                },
                Reminder {
                    method: "email",
                    minutes: 30
                },
            ]
        );
        assert!(parse_reminders("X", "popup:29d").is_err());
        assert!(parse_reminders("X", "sms:1d").is_err());
        assert!(
            parse_reminders("X", "popup:1d,popup:2d,popup:3d,popup:4d,popup:5d,popup:6d").is_err()
        );
        assert_eq!(parse_reminders("X", "none").unwrap(), vec![]);
    }
}
