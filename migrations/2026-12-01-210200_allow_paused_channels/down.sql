UPDATE calendar_sync_channels SET status = 'stopped' WHERE status = 'paused';
ALTER TABLE calendar_sync_channels
    DROP CONSTRAINT calendar_sync_channels_status_check,
    ADD CONSTRAINT calendar_sync_channels_status_check
        CHECK (status IN ('active', 'needs_reauth', 'stopped', 'held'));
