-- Why: every periodic duty used to run in every worker over every channel, so N workers
-- renewed each channel N times (leaving N - 1 live orphans at Google) and polled each
-- calendar N times per backstop interval. Each duty now has its own due time on the channel
-- row, and a worker claims due rows with FOR UPDATE SKIP LOCKED, so each is done once by the
-- fleet, whatever its size.
--
-- - renewal_jitter: where in the renewal window this channel is renewed (0 = at the start of
--   the window, 1 = at its end), drawn once per row so renewals spread out instead of all
--   falling due at the same moment.
-- - renewal_claimed_until: the claim of the worker renewing the channel; another worker may
--   take it over once it has passed (the first worker died).
-- - backstop_due_at: when the next backstop poll is due (NULL: at once); pushed back by
--   every notification or sync, so a calendar that notifies is never polled.
-- - last_sync_started_at, sync_trailing_at: per-channel burst throttle. A notification
--   within SYNC_MIN_INTERVAL_MS of the last sync's start joins one trailing sync, claimed by
--   setting sync_trailing_at to when it runs.
-- - suspect_since: a backstop poll found changes that no notification announced; the channel
--   is watched again and counted.
ALTER TABLE calendar_sync_channels
    ADD COLUMN renewal_jitter double precision NOT NULL DEFAULT random(),
    ADD COLUMN renewal_claimed_until timestamptz,
    ADD COLUMN backstop_due_at timestamptz,
    ADD COLUMN last_sync_started_at timestamptz,
    ADD COLUMN sync_trailing_at timestamptz,
    ADD COLUMN suspect_since timestamptz;

CREATE INDEX calendar_sync_channels_backstop_due_idx
    ON calendar_sync_channels (backstop_due_at) WHERE status = 'active';

-- A channel that may be live at Google without a row naming it: the new channel of a renewal,
-- recorded before events.watch is called (a worker dying between the watch and recording the
-- row leaves this record), and the replaced channel, recorded with the swap (a worker dying
-- before channels.stop leaves it). A later pass stops every record whose stop_after has
-- passed and that no channel row names, then deletes it. The resource id is the calendar's
-- (Google gives every channel on one calendar the same one), known before the watch.
CREATE TABLE channel_strays (
    channel_id varchar(64) PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    resource_id varchar(255) NOT NULL,
    stop_after timestamptz NOT NULL,
    claimed_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_strays_stop_after_idx ON channel_strays (stop_after);
CREATE INDEX channel_strays_user_idx ON channel_strays (user_id);

-- Only calsync (the table owner) touches it: no client role may read or write it.
ALTER TABLE channel_strays ENABLE ROW LEVEL SECURITY;
SELECT calsync_revoke_client_access('public.channel_strays');
