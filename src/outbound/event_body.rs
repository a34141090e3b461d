//! What a deadline's event says: an all-day event (start = the deadline, end = the next day,
//! no time zone) titled from `EVENT_TITLE_TEMPLATE`, carrying calsync's marker; free (an
//! all-day deadline must not make the paralegal look busy), private, with the deadline kind's
//! reminders and colour, and a link back to the case when `TRACKER_CASE_URL` is set. Every
//! write sends the whole body, so a link below `EVENT_BODY_VERSION` is brought up to date by
//! one patch.

use chrono::NaiveDate;

use crate::config::EventStyle;
use crate::db::models::case::Case;
use crate::domain::{DeadlineKind, EventMarker};
use crate::google::{
    Event, EventDateTime, EventSource, ExtendedProperties, ReminderOverride, Reminders,
};

/// "ETA-9089 filing window closes: <employer> / <beneficiary>" (the default template).
pub fn summary(kind: DeadlineKind, case: &Case) -> String {
    summary_with(&EventStyle::default(), kind, case)
}

/// The title from the style's template, in one pass over the template: what a placeholder
/// stands for is never read again, so a name with braces in it stays as it is.
pub fn summary_with(style: &EventStyle, kind: DeadlineKind, case: &Case) -> String {
    let template = style.title_template.as_str();
    let mut title = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        title.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            rest = after;
            break;
        };
        match &after[1..close] {
            "deadline" => title.push_str(kind.label()),
            "employer" => title.push_str(&case.employer_name),
            "beneficiary" => title.push_str(&case.beneficiary_name),
            "employer_initials" => title.push_str(&initials(&case.employer_name)),
            "beneficiary_initials" => title.push_str(&initials(&case.beneficiary_name)),
            "case_id" => title.push_str(&case.id.to_string()),
            _ => title.push_str(&after[..=close]),
        }
        rest = &after[close + 1..];
    }
    title.push_str(rest);
    title
}

/// "Jane Q. Doe" → "J.Q.D."
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .flat_map(|c| c.to_uppercase().chain(std::iter::once('.')))
        .collect()
}

/// Google's event colour for a deadline kind: expirations red, filing deadlines and windows
/// closing orange, windows opening green, responses due purple, the rest blue.
pub const fn color_id(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::PwdExpiration | DeadlineKind::Eta9089Expiration => "11",
        DeadlineKind::FilingWindowCloses | DeadlineKind::I140FilingDeadline => "6",
        DeadlineKind::FilingWindowOpens | DeadlineKind::RecruitmentStart => "10",
        DeadlineKind::RfiDue | DeadlineKind::RfeDue => "3",
        DeadlineKind::Eta9089Filing => "9",
    }
}

const DESCRIPTION: &str = "PERM case deadline kept in sync by calsync. Moving this event \
changes the deadline in the case tracker; deleting it removes the reminder until the deadline \
changes in the tracker.";

fn case_url(style: &EventStyle, marker: EventMarker) -> Option<String> {
    style
        .case_url_template
        .as_ref()
        .map(|t| t.replace("{case_id}", &marker.case_id.to_string()))
}

/// The full event for an insert.
pub fn new_event(
    style: &EventStyle,
    marker: EventMarker,
    event_id: &str,
    date: NaiveDate,
    summary: &str,
) -> Event {
    Event {
        id: Some(event_id.to_owned()),
        extended_properties: Some(ExtendedProperties {
            private: Some(marker.to_properties()),
            shared: None,
        }),
        ..changes(style, marker, date, summary)
    }
}

/// What a patch sends: date, title and the rest of the body.
pub fn changes(style: &EventStyle, marker: EventMarker, date: NaiveDate, summary: &str) -> Event {
    let url = case_url(style, marker);
    let description = match &url {
        Some(u) => format!("{DESCRIPTION}\n\nOpen the case: {u}"),
        None => DESCRIPTION.to_owned(),
    };
    Event {
        summary: Some(summary.to_owned()),
        description: Some(description),
        start: Some(EventDateTime::all_day(date)),
        end: Some(EventDateTime::all_day(date.succ_opt().unwrap_or(date))),
        transparency: Some("transparent".to_owned()),
        visibility: Some("private".to_owned()),
        color_id: Some(color_id(marker.kind).to_owned()),
        reminders: Some(Reminders {
            use_default: false,
            overrides: style
                .reminders(marker.kind)
                .iter()
                .map(|r| ReminderOverride {
                    method: r.method.to_owned(),
                    minutes: r.minutes,
                })
                .collect(),
        }),
        source: url.map(|url| EventSource {
            title: "PERM case tracker".to_owned(),
            url,
        }),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_braces_is_not_expanded_again() {
        let case = Case {
            id: crate::ids::CaseId(uuid::Uuid::nil()),
            user_id: crate::ids::UserId(uuid::Uuid::nil()),
            employer_name: "Acme {case_id}".into(),
            beneficiary_name: "{beneficiary}".into(),
            closed_at: None,
            deleted_at: None,
            pwd_expiration_date: None,
            recruitment_start_date: None,
            filing_window_opens: None,
            filing_window_closes: None,
            eta9089_filing_date: None,
            eta9089_expiration_date: None,
            i140_filing_deadline: None,
            rfi_due_date: None,
            rfe_due_date: None,
        };
        let style = EventStyle {
            title_template: "{deadline}: {employer} / {beneficiary} {unknown} {".into(),
            ..EventStyle::default()
        };
        assert_eq!(
            summary_with(&style, DeadlineKind::RfeDue, &case),
            format!(
                "{}: Acme {{case_id}} / {{beneficiary}} {{unknown}} {{",
                DeadlineKind::RfeDue.label()
            )
        );
    }

    #[test]
    fn initials_keep_names_off_calendars() {
        assert_eq!(initials("Jane Q. Doe"), "J.Q.D.");
        assert_eq!(initials("  ángel  o'neil "), "Á.O.");
        assert_eq!(initials(""), "");
    }
}
