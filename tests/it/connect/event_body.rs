//! Events worth having: free, private, reminders and a colour per deadline kind, a link back
//! to the case; and events written before the richer body get it once.

use calsync::config::{EventStyle, Reminder};
use calsync::db::models::outbox;
use calsync::db::schema::case_event_links;
use calsync::domain::DeadlineKind;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::calendar_fixtures::linked_deadline;
use crate::helpers::pipeline::{Pipeline, PipelineOptions};

fn styled() -> PipelineOptions {
    let mut options = PipelineOptions::default();
    let mut style = EventStyle {
        title_template: "{deadline}: {beneficiary_initials}".into(),
        case_url_template: Some("https://tracker.example/cases/{case_id}".into()),
        ..EventStyle::default()
    };
    style.reminders_by_kind.insert(
        DeadlineKind::RfeDue,
        vec![Reminder {
            method: "popup",
            minutes: 3 * 24 * 60,
        }],
    );
    options.worker.event_style = style;
    options
}

#[tokio::test]
async fn events_written_before_get_the_new_body_once() {
    let p = Pipeline::start_with(styled()).await;
    let day = NaiveDate::from_ymd_opt(2027, 9, 1).unwrap();
    let i140 = linked_deadline(&p.w, DeadlineKind::I140FilingDeadline, day);
    let rfe = linked_deadline(&p.w, DeadlineKind::RfeDue, day);
    p.watch().await;
    p.until_idle().await;
    // As the deploy's migration leaves them: written with the old body, their cases queued.
    {
        let mut conn = p.w.db.conn();
        diesel::update(case_event_links::table)
            .set(case_event_links::body_version.eq(0))
            .execute(&mut conn)
            .unwrap();
        outbox::enqueue_cases(&mut conn, p.w.user_id, &[i140.case_id, rfe.case_id]).unwrap();
    }
    p.until_idle().await;
    let event = |id: &str| -> Value { p.w.emu.event(p.w.calendar(), id).unwrap() };
    let e = event(&i140.event_id);
    assert_eq!(e["transparency"], "transparent", "{e}");
    assert_eq!(e["visibility"], "private");
    assert_eq!(e["colorId"], "6");
    assert_eq!(
        e["reminders"],
        json!({"useDefault": false, "overrides": [
            {"method": "popup", "minutes": 10080},
            {"method": "popup", "minutes": 1440},
            {"method": "email", "minutes": 10080}]})
    );
    let url = format!("https://tracker.example/cases/{}", i140.case_id);
    assert_eq!(e["source"]["url"], url.as_str());
    assert!(e["description"].as_str().unwrap().contains(&url));
    // Initials only: no name on the calendar.
    let title = e["summary"].as_str().unwrap();
    assert!(title.starts_with("I-140 filing deadline: B."), "{title}");
    assert!(!title.contains("Beneficiary"), "{title}");
    let r = event(&rfe.event_id);
    assert_eq!(
        r["reminders"]["overrides"],
        json!([{"method": "popup", "minutes": 4320}])
    );
    // Once: the links are at the current version, and a second pass writes nothing.
    let patches = p.w.count_requests("PATCH", "/events/");
    let mut conn = p.w.db.conn();
    outbox::enqueue_cases(&mut conn, p.w.user_id, &[i140.case_id, rfe.case_id]).unwrap();
    p.until_idle().await;
    assert_eq!(p.w.count_requests("PATCH", "/events/"), patches);
    p.stop().await;
}
