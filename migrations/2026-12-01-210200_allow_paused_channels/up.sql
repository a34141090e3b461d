-- Why: a user may pause the sync. The channel is stopped at Google but its row stays, with its
-- sync token, so resuming catches up incrementally; while paused nothing syncs and nothing is
-- pushed (the outbox waits), which `stopped` (events are taken off) cannot express.
ALTER TABLE calendar_sync_channels
    DROP CONSTRAINT calendar_sync_channels_status_check,
    ADD CONSTRAINT calendar_sync_channels_status_check
        CHECK (status IN ('active', 'needs_reauth', 'stopped', 'held', 'paused'));
