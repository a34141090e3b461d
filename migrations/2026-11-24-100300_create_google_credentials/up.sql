-- Why: calsync acts on a user's calendar with the Google refresh token the user granted. The
-- token is a long-lived secret, so it is stored only encrypted (AES-256-GCM, with the user id as
-- associated data so a ciphertext cannot be moved to another user's row). key_version names the
-- TOKEN_ENCRYPTION_KEY that sealed it, so the key can be rotated row by row. The short-lived
-- access token is cached, sealed the same way, to spare a token request per job.
--
-- Row level security is enabled with no policy at all: no client role reads or writes this
-- table; only calsync, connecting as the table owner, does.
CREATE TABLE google_credentials (
    user_id uuid PRIMARY KEY REFERENCES perm_users (id) ON DELETE CASCADE,
    refresh_token_ciphertext bytea NOT NULL,
    refresh_token_nonce bytea NOT NULL,
    key_version integer NOT NULL,
    scopes text NOT NULL DEFAULT '',
    status varchar(16) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'revoked')),
    access_token_ciphertext bytea,
    access_token_nonce bytea,
    access_token_expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((access_token_ciphertext IS NULL) = (access_token_nonce IS NULL))
);

ALTER TABLE google_credentials ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON google_credentials FROM authenticated;
