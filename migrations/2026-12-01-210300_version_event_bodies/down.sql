ALTER TABLE case_event_links DROP COLUMN body_version;
