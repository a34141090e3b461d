DROP INDEX calendar_sync_channels_held_idx;
UPDATE calendar_sync_channels SET status = 'active' WHERE status = 'held';
ALTER TABLE calendar_sync_channels
    DROP COLUMN mass_dismissal_confirmed,
    DROP COLUMN held_at,
    DROP COLUMN hold_reason,
    DROP CONSTRAINT calendar_sync_channels_status_check,
    ADD CONSTRAINT calendar_sync_channels_status_check
        CHECK (status IN ('active', 'needs_reauth', 'stopped'));
