-- Why: the inbound sync must know, per deadline, whether the case tracker changed it after
-- the user edited the event in Google (then the tracker wins). cases.updated_at cannot tell:
-- it moves for any column. A trigger therefore stamps each deadline column's last change in
-- case_deadline_revisions, whoever writes the case (calsync, the tracker, a psql session).
-- The trigger runs SECURITY DEFINER so a tracker user writing a case through row level
-- security does not need (and does not get) rights on calsync's table.
--
-- calendar_sync_audit records every change that came from Google: applied, or rejected
-- because the tracker's change was later.
--
-- calendar_sync_channels gains a fenced lease: at most one worker syncs a channel at a time,
-- and a worker whose lease ran out cannot commit.
CREATE TABLE case_deadline_revisions (
    case_id uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    deadline_kind varchar(32) NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, deadline_kind)
);
ALTER TABLE case_deadline_revisions ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION calsync_record_deadline_revisions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    kind text;
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}'::jsonb END;
    new_row jsonb := to_jsonb(NEW);
BEGIN
    FOREACH kind IN ARRAY ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date']
    LOOP
        IF (old_row ->> kind) IS DISTINCT FROM (new_row ->> kind) THEN
            INSERT INTO case_deadline_revisions (case_id, deadline_kind, changed_at)
            VALUES (NEW.id, kind, now())
            ON CONFLICT (case_id, deadline_kind) DO UPDATE SET changed_at = EXCLUDED.changed_at;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_record_deadline_revisions
    AFTER INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION calsync_record_deadline_revisions();

CREATE TABLE calendar_sync_audit (
    id bigserial PRIMARY KEY,
    case_id uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    field varchar(32) NOT NULL,
    old_value date,
    new_value date,
    google_event_id varchar(1024) NOT NULL,
    google_etag text,
    outcome varchar(16) NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_sync_audit_case_idx ON calendar_sync_audit (case_id, recorded_at);
CREATE INDEX calendar_sync_audit_user_idx ON calendar_sync_audit (user_id);
ALTER TABLE calendar_sync_audit ENABLE ROW LEVEL SECURITY;
-- Users may read their own audit trail; only calsync writes it.
CREATE POLICY calendar_sync_audit_select_own ON calendar_sync_audit
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
GRANT SELECT ON calendar_sync_audit TO authenticated;

ALTER TABLE calendar_sync_channels
    ADD COLUMN sync_lease_owner uuid,
    ADD COLUMN sync_lease_expires_at timestamptz;
