//! OAuth scopes: which ones the authorization endpoint accepts, how Google spells them in its
//! answers, and what each lets a token do on the Calendar API.
//!
//! The per-method lists follow the "Authorization" section of each Calendar v3 reference page.
//! `calendar.app.created` is listed there for calendar and event methods, but it only reaches
//! calendars created by the same OAuth client; everything else answers 403 as an insufficient
//! scope would.

use std::collections::BTreeSet;

use serde_json::json;

use super::errors::{ErrorDetail, GoogleError};

const P: &str = "https://www.googleapis.com/auth/";

/// Full access to every calendar of the user.
pub const CALENDAR: &str = "https://www.googleapis.com/auth/calendar";
/// Secondary calendars the app creates, and their events.
pub const APP_CREATED: &str = "https://www.googleapis.com/auth/calendar.app.created";
/// Events on every calendar of the user.
pub const EVENTS: &str = "https://www.googleapis.com/auth/calendar.events";
/// Reading the user's calendar list.
pub const CALENDARLIST_READONLY: &str =
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly";
/// `email`, as Google reports it in a token answer.
pub const USERINFO_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
/// `profile`, as Google reports it in a token answer.
pub const USERINFO_PROFILE: &str = "https://www.googleapis.com/auth/userinfo.profile";
/// OpenID Connect.
pub const OPENID: &str = "openid";

/// Every Calendar scope the emulator knows, with the text its consent page shows.
const CALENDAR_SCOPES: &[(&str, &str)] = &[
    (
        "calendar",
        "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
    ),
    (
        "calendar.readonly",
        "See and download any calendar you can access using your Google Calendar",
    ),
    (
        "calendar.events",
        "View and edit events on all your calendars",
    ),
    (
        "calendar.events.readonly",
        "View events on all your calendars",
    ),
    (
        "calendar.events.owned",
        "See, create, change, and delete events on Google calendars you own",
    ),
    (
        "calendar.events.owned.readonly",
        "See the events on Google calendars you own",
    ),
    (
        "calendar.app.created",
        "Make secondary Google calendars, and see, create, change, and delete events on them",
    ),
    (
        "calendar.calendarlist",
        "See, add, and remove Google calendars you're subscribed to",
    ),
    (
        "calendar.calendarlist.readonly",
        "See the list of Google calendars you're subscribed to",
    ),
    (
        "calendar.calendars",
        "See and change the properties of Google calendars you have access to, and create secondary calendars",
    ),
    (
        "calendar.calendars.readonly",
        "See the title, description, default time zone, and other properties of Google calendars you have access to",
    ),
    ("calendar.settings.readonly", "View your Calendar settings"),
    (
        "calendar.freebusy",
        "View your availability in your calendars",
    ),
];

/// Google's spelling of a requested scope: `email` and `profile` come back as their
/// `userinfo.*` URLs, everything else as sent. `None` for a scope Google does not know.
pub fn normalize(scope: &str) -> Option<String> {
    match scope {
        "openid" => Some(OPENID.to_owned()),
        "email" | USERINFO_EMAIL => Some(USERINFO_EMAIL.to_owned()),
        "profile" | USERINFO_PROFILE => Some(USERINFO_PROFILE.to_owned()),
        other => {
            let short = other.strip_prefix(P)?;
            CALENDAR_SCOPES
                .iter()
                .any(|(s, _)| *s == short)
                .then(|| other.to_owned())
        }
    }
}

/// Parses a space-separated scope string. `Err` lists the scopes Google would call invalid.
pub fn parse(raw: &str) -> Result<Vec<String>, Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut invalid = Vec::new();
    for s in raw.split_whitespace() {
        match normalize(s) {
            Some(n) if !out.contains(&n) => out.push(n),
            Some(_) => {}
            None => invalid.push(s.to_owned()),
        }
    }
    if invalid.is_empty() {
        Ok(out)
    } else {
        Err(invalid)
    }
}

/// The sign-in scopes (`openid`, `email`, `profile`): Google's consent screen grants them
/// with the sign-in step and offers no checkbox for them.
pub fn is_sign_in(scope: &str) -> bool {
    matches!(scope, OPENID | USERINFO_EMAIL | USERINFO_PROFILE)
}

/// What the consent page says a scope allows.
pub fn describe(scope: &str) -> &'static str {
    match scope {
        OPENID => "Associate you with your personal info on Google",
        USERINFO_EMAIL => "See your primary Google Account email address",
        USERINFO_PROFILE => {
            "See your personal info, including any personal info you've made publicly available"
        }
        other => other
            .strip_prefix(P)
            .and_then(|short| CALENDAR_SCOPES.iter().find(|(s, _)| *s == short))
            .map_or("", |(_, text)| *text),
    }
}

/// A space-separated scope string in a stable order (Google promises none).
pub fn join(scopes: &BTreeSet<String>) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Calendar API method, as far as scopes are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `calendars.insert`.
    CalendarsInsert,
    /// `calendars.get`.
    CalendarsGet,
    /// `calendars.patch`, `calendars.update`, `calendars.delete`.
    CalendarsWrite(&'static str),
    /// `calendarList.list`.
    CalendarListList,
    /// `calendarList.get`.
    CalendarListGet,
    /// `events.list`, `events.get`, `events.watch`.
    EventsRead(&'static str),
    /// `events.insert`, `update`, `patch`, `delete`.
    EventsWrite(&'static str),
    /// `channels.stop`.
    ChannelsStop,
}

/// Whether a scope reaches an operation: not at all, on every calendar of the user, or only
/// on calendars its own OAuth client created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    None,
    OwnAppCalendars,
    All,
}

fn reach(scope: &str, op: Op) -> Reach {
    let Some(short) = scope.strip_prefix(P) else {
        return Reach::None;
    };
    let all = |yes: bool| if yes { Reach::All } else { Reach::None };
    match short {
        "calendar" => Reach::All,
        "calendar.app.created" => match op {
            Op::CalendarsInsert => Reach::All,
            Op::CalendarListList => Reach::None,
            Op::ChannelsStop => Reach::All,
            _ => Reach::OwnAppCalendars,
        },
        "calendar.readonly" => all(matches!(
            op,
            Op::CalendarsGet
                | Op::CalendarListList
                | Op::CalendarListGet
                | Op::EventsRead(_)
                | Op::ChannelsStop
        )),
        "calendar.events" | "calendar.events.owned" => all(matches!(
            op,
            Op::EventsRead(_) | Op::EventsWrite(_) | Op::ChannelsStop
        )),
        "calendar.events.readonly" | "calendar.events.owned.readonly" => {
            all(matches!(op, Op::EventsRead(_) | Op::ChannelsStop))
        }
        "calendar.calendarlist" | "calendar.calendarlist.readonly" => {
            all(matches!(op, Op::CalendarListList | Op::CalendarListGet))
        }
        "calendar.calendars" => all(matches!(
            op,
            Op::CalendarsInsert | Op::CalendarsGet | Op::CalendarsWrite(_)
        )),
        "calendar.calendars.readonly" => all(matches!(op, Op::CalendarsGet)),
        _ => Reach::None,
    }
}

impl Op {
    /// Google's method name, as in the `ErrorInfo` metadata of a 403.
    fn method(self) -> &'static str {
        match self {
            Op::CalendarsInsert => "calendar.v3.Calendars.Insert",
            Op::CalendarsGet => "calendar.v3.Calendars.Get",
            Op::CalendarsWrite(m) | Op::EventsRead(m) | Op::EventsWrite(m) => m,
            Op::CalendarListList => "calendar.v3.CalendarList.List",
            Op::CalendarListGet => "calendar.v3.CalendarList.Get",
            Op::ChannelsStop => "calendar.v3.Channels.Stop",
        }
    }

    /// Scopes that would allow this operation, for the `WWW-Authenticate` header.
    fn sufficient_scopes(self) -> String {
        CALENDAR_SCOPES
            .iter()
            .map(|(s, _)| format!("{P}{s}"))
            .filter(|s| reach(s, self) != Reach::None)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The scopes of one access token, and the OAuth client it was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScopes {
    /// Granted scopes, normalized.
    pub scopes: BTreeSet<String>,
    /// Client the token was issued to.
    pub client_id: String,
}

impl TokenScopes {
    fn best(&self, op: Op) -> Reach {
        self.scopes
            .iter()
            .map(|s| reach(s, op))
            .max()
            .unwrap_or(Reach::None)
    }

    /// Checks that some scope could allow `op` at all (before the calendar is looked up).
    pub fn require(&self, op: Op) -> Result<(), GoogleError> {
        match self.best(op) {
            Reach::None => Err(insufficient_scopes(op)),
            _ => Ok(()),
        }
    }

    /// Checks `op` on a calendar created by `created_by` (the OAuth client that created it,
    /// `None` for the primary calendar and calendars the user made).
    pub fn require_on(&self, op: Op, created_by: Option<&str>) -> Result<(), GoogleError> {
        match self.best(op) {
            Reach::All => Ok(()),
            Reach::OwnAppCalendars if created_by == Some(self.client_id.as_str()) => Ok(()),
            _ => Err(insufficient_scopes(op)),
        }
    }
}

/// Google's answer to a token whose scopes do not allow the method.
pub fn insufficient_scopes(op: Op) -> GoogleError {
    let mut err = GoogleError::new(
        403,
        "global",
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
    );
    err.detail = Some(Box::new(ErrorDetail {
        location: None,
        item_message: Some("Insufficient Permission".to_owned()),
        extra: Some(json!({
            "status": "PERMISSION_DENIED",
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "calendar-json.googleapis.com",
                    "method": op.method(),
                },
            }],
        })),
        www_authenticate: Some(format!(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"{}\"",
            op.sufficient_scopes()
        )),
    }));
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: &[&str]) -> TokenScopes {
        TokenScopes {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            client_id: "app".to_owned(),
        }
    }

    #[test]
    fn email_and_profile_come_back_as_userinfo_urls_and_unknown_scopes_are_invalid() {
        assert_eq!(
            parse("openid email https://www.googleapis.com/auth/calendar.app.created email"),
            Ok(vec![
                OPENID.to_owned(),
                USERINFO_EMAIL.to_owned(),
                APP_CREATED.to_owned()
            ])
        );
        assert_eq!(
            parse("openid calendar x"),
            Err(vec!["calendar".to_owned(), "x".to_owned()])
        );
    }

    #[test]
    fn app_created_reaches_only_its_own_calendars() {
        let t = token(&[APP_CREATED]);
        assert!(t.require_on(Op::CalendarsInsert, None).is_ok());
        assert!(t.require_on(Op::EventsWrite("m"), Some("app")).is_ok());
        assert!(t.require_on(Op::EventsWrite("m"), Some("other")).is_err());
        assert!(t.require_on(Op::EventsRead("m"), None).is_err());
        assert!(t.require(Op::CalendarListList).is_err());
        let events = token(&[EVENTS]);
        assert!(events.require_on(Op::EventsWrite("m"), None).is_ok());
        assert!(events.require(Op::CalendarsInsert).is_err());
        assert!(
            token(&[CALENDARLIST_READONLY])
                .require(Op::CalendarListGet)
                .is_ok()
        );
        assert!(
            token(&[CALENDAR])
                .require_on(Op::CalendarsWrite("m"), None)
                .is_ok()
        );
    }
}
