DROP TRIGGER cases_enqueue_calendar_push_on_delete ON cases;
DROP TRIGGER cases_enqueue_calendar_push ON cases;
DROP FUNCTION calsync_enqueue_case_push();
ALTER TABLE case_event_links
    DROP COLUMN synced_summary,
    DROP COLUMN removed;
DROP TABLE calendar_outbox;
