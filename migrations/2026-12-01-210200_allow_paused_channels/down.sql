-- A paused channel becomes held, not stopped: the previous release reads `stopped` as "take
-- the events off the calendar", `held` as "wait", which is what a pause meant.
UPDATE calendar_sync_channels
SET status = 'held', hold_reason = coalesce(hold_reason, 'paused by the user'),
    held_at = coalesce(held_at, now())
WHERE status = 'paused';
ALTER TABLE calendar_sync_channels
    DROP CONSTRAINT calendar_sync_channels_status_check,
    ADD CONSTRAINT calendar_sync_channels_status_check
        CHECK (status IN ('active', 'needs_reauth', 'stopped', 'held'));
