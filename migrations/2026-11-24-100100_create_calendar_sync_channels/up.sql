-- Why: one row per watched Google calendar: the push channel Google delivers notifications on
-- and the sync token the next incremental events.list starts from.
--
-- Follows the product owner's plan, with these changes:
-- * No separate index on channel_id: its UNIQUE constraint already creates exactly that index;
--   a second one would only slow every write.
-- * UNIQUE (user_id, calendar_id) leads with user_id, so it also serves the foreign key to
--   perm_users (deleting a user does not scan the table).
-- * channel_id is checked against the characters Google's push service accepts
--   ([A-Za-z0-9-_+/=], at most 64), so a bad id fails here and not later at Google.
-- * created_at is NOT NULL (the plan left it nullable although it always has a default).
-- * Added for the sync: status (active / needs_reauth / stopped), resource_uri (as Google
--   returns it), last_message_number (the highest X-Goog-Message-Number seen) and updated_at.
CREATE TABLE calendar_sync_channels (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    calendar_id varchar(255) NOT NULL DEFAULT 'primary',
    channel_id varchar(64) NOT NULL UNIQUE
        CHECK (channel_id ~ '^[A-Za-z0-9_+/=-]{1,64}$'),
    resource_id varchar(255) NOT NULL,
    resource_uri text,
    sync_token text,
    expiration_timestamp bigint NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'needs_reauth', 'stopped')),
    last_message_number bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_notification_at timestamptz,
    CONSTRAINT calendar_sync_channels_user_calendar_key UNIQUE (user_id, calendar_id)
);

-- The renewal sweep asks for channels expiring before a cutoff.
CREATE INDEX calendar_sync_channels_expiration_idx
    ON calendar_sync_channels (expiration_timestamp);

ALTER TABLE calendar_sync_channels ENABLE ROW LEVEL SECURITY;

CREATE POLICY calendar_sync_channels_select_own ON calendar_sync_channels
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY calendar_sync_channels_insert_own ON calendar_sync_channels
    FOR INSERT TO authenticated WITH CHECK (auth.uid() = user_id);
CREATE POLICY calendar_sync_channels_update_own ON calendar_sync_channels
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY calendar_sync_channels_delete_own ON calendar_sync_channels
    FOR DELETE TO authenticated USING (auth.uid() = user_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_sync_channels TO authenticated;
