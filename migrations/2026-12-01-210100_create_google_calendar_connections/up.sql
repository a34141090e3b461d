-- Why: a user's connection is more than a refresh token. The status endpoint must say which
-- Google account is linked and to which calendar, whether the user paused the sync, and what
-- last went wrong; and one Google account must never be linked to two tracker users (the
-- unique `google_sub`), or one paralegal's deadlines would land on another's calendar.
--
-- Row level security with no policy and no client privilege: only calsync (the owner) reads it.
CREATE TABLE google_calendar_connections (
    user_id uuid PRIMARY KEY REFERENCES perm_users (id) ON DELETE CASCADE,
    google_sub text NOT NULL UNIQUE,
    google_email text NOT NULL,
    calendar_mode varchar(16) NOT NULL CHECK (calendar_mode IN ('dedicated', 'existing')),
    calendar_id varchar(255),
    calendar_name text,
    paused_at timestamptz,
    last_error text,
    last_error_at timestamptz,
    connected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE google_calendar_connections ENABLE ROW LEVEL SECURITY;
SELECT calsync_revoke_client_access('public.google_calendar_connections');
