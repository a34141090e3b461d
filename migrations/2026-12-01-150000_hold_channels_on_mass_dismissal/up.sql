-- Why: a full listing that finds most of a calendar's linked events gone is what an outage at
-- Google, a wrong account or a wiped test calendar looks like. Dismissing them all would take
-- every deadline off the user's calendar for good (a dismissed deadline stays off until the
-- tracker changes it). Such a sync dismisses nothing: it holds the channel (status `held`,
-- with the reason) until an operator (or the user) confirms the dismissals or re-pushes the
-- events. `mass_dismissal_confirmed` lets the next sync through once.
ALTER TABLE calendar_sync_channels
    DROP CONSTRAINT calendar_sync_channels_status_check,
    ADD CONSTRAINT calendar_sync_channels_status_check
        CHECK (status IN ('active', 'needs_reauth', 'stopped', 'held')),
    ADD COLUMN hold_reason text,
    ADD COLUMN held_at timestamptz,
    ADD COLUMN mass_dismissal_confirmed boolean NOT NULL DEFAULT false;

-- Metrics count the held channels at every scrape.
CREATE INDEX calendar_sync_channels_held_idx
    ON calendar_sync_channels (status) WHERE status = 'held';
