-- Why: events calsync writes now carry more than a date and a title (free, private, reminders,
-- a colour, a link back to the case). Events written before must get the same body once,
-- without waiting for their deadline to change: each link records the body version it was
-- written with, the push patches links below the current version, and every case with a live
-- event is queued once here so that happens soon after the deploy.
ALTER TABLE case_event_links ADD COLUMN body_version integer NOT NULL DEFAULT 0;

INSERT INTO calendar_outbox (user_id, case_id)
SELECT DISTINCT user_id, case_id
FROM case_event_links
WHERE NOT removed AND NOT dismissed;
