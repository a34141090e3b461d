-- Why: a user connects Google Calendar through an OAuth consent in their browser. Between the
-- tracker asking for a connect link and Google calling back, calsync must remember who asked,
-- which browser opened the link, the PKCE verifier and the `state` Google echoes, so that a
-- forged, reused, expired or other-browser callback stores nothing. Only hashes of the link
-- token, the state and the browser cookie are kept: a database read gives no usable value.
-- Rows live ten minutes; a used or expired row is never accepted again.
--
-- Row level security with no policy and no client privilege: only calsync (the owner) reads it.
CREATE TABLE oauth_connect_flows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    link_hash bytea NOT NULL UNIQUE,
    link_opened_at timestamptz,
    state_hash bytea UNIQUE,
    browser_hash bytea,
    pkce_verifier text,
    consent_retries integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    consumed_at timestamptz
);
CREATE INDEX oauth_connect_flows_user_idx ON oauth_connect_flows (user_id);
CREATE INDEX oauth_connect_flows_expires_idx ON oauth_connect_flows (expires_at);

ALTER TABLE oauth_connect_flows ENABLE ROW LEVEL SECURITY;
SELECT calsync_revoke_client_access('public.oauth_connect_flows');
