-- Why: each case deadline that calsync puts on a Google calendar is one event. This row links
-- the two: which case and deadline kind, on which calendar, as which Google event id (derived
-- from the case, the kind and a generation number), the etag calsync last wrote (so the echo of
-- our own write is recognised), the date last synced, and whether the user dismissed the event
-- by deleting it in Google (then it is not re-created until the deadline changes).
--
-- user_id duplicates cases.user_id so the owner policies read like those of the channels table;
-- the composite foreign key keeps the two equal.
DO $$
BEGIN
    IF to_regclass('public.cases_id_user_id_key') IS NULL THEN
        CREATE UNIQUE INDEX cases_id_user_id_key ON public.cases (id, user_id);
        COMMENT ON INDEX public.cases_id_user_id_key IS 'calsync:created';
    END IF;
END
$$;

CREATE TABLE case_event_links (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    deadline_kind varchar(32) NOT NULL CHECK (deadline_kind IN (
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date')),
    calendar_id varchar(255) NOT NULL,
    google_event_id varchar(1024) NOT NULL,
    generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
    etag text,
    synced_date date,
    dismissed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (case_id, user_id) REFERENCES cases (id, user_id) ON DELETE CASCADE,
    -- One event per deadline and calendar; the unique index also serves the case foreign key.
    CONSTRAINT case_event_links_deadline_key UNIQUE (case_id, deadline_kind, calendar_id),
    -- Inbound sync looks links up by the event Google reports; ids are unique per calendar.
    CONSTRAINT case_event_links_event_key UNIQUE (user_id, calendar_id, google_event_id)
);

ALTER TABLE case_event_links ENABLE ROW LEVEL SECURITY;

CREATE POLICY case_event_links_select_own ON case_event_links
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY case_event_links_insert_own ON case_event_links
    FOR INSERT TO authenticated WITH CHECK (auth.uid() = user_id);
CREATE POLICY case_event_links_update_own ON case_event_links
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY case_event_links_delete_own ON case_event_links
    FOR DELETE TO authenticated USING (auth.uid() = user_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON case_event_links TO authenticated;
