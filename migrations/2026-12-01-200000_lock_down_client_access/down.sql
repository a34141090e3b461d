-- Restores the client privileges, policies, foreign keys and trigger functions of
-- 2026-12-01-100000_record_deadline_change_origin.
ALTER TABLE public.case_event_links
    DROP CONSTRAINT case_event_links_case_id_user_id_fkey,
    ADD CONSTRAINT case_event_links_case_id_user_id_fkey
        FOREIGN KEY (case_id, user_id) REFERENCES public.cases (id, user_id) ON DELETE CASCADE;
ALTER TABLE public.case_deadline_revisions
    DROP CONSTRAINT case_deadline_revisions_case_id_fkey,
    ADD CONSTRAINT case_deadline_revisions_case_id_fkey
        FOREIGN KEY (case_id) REFERENCES public.cases (id) ON DELETE CASCADE;
ALTER TABLE public.calendar_sync_audit
    DROP CONSTRAINT calendar_sync_audit_case_id_fkey,
    ADD CONSTRAINT calendar_sync_audit_case_id_fkey
        FOREIGN KEY (case_id) REFERENCES public.cases (id) ON DELETE CASCADE;

CREATE POLICY calendar_sync_channels_insert_own ON calendar_sync_channels
    FOR INSERT TO authenticated WITH CHECK (auth.uid() = user_id);
CREATE POLICY calendar_sync_channels_update_own ON calendar_sync_channels
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY calendar_sync_channels_delete_own ON calendar_sync_channels
    FOR DELETE TO authenticated USING (auth.uid() = user_id);
CREATE POLICY case_event_links_insert_own ON case_event_links
    FOR INSERT TO authenticated WITH CHECK (auth.uid() = user_id);
CREATE POLICY case_event_links_update_own ON case_event_links
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY case_event_links_delete_own ON case_event_links
    FOR DELETE TO authenticated USING (auth.uid() = user_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_sync_channels, case_event_links TO authenticated;
GRANT SELECT ON calendar_sync_audit TO authenticated;

DROP FUNCTION public.calsync_revoke_client_access(regclass);

CREATE OR REPLACE FUNCTION calsync_record_deadline_revisions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    kind text;
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}'::jsonb END;
    new_row jsonb := to_jsonb(NEW);
    stamp timestamptz := clock_timestamp();
BEGIN
    FOREACH kind IN ARRAY ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date']
    LOOP
        IF (old_row ->> kind) IS DISTINCT FROM (new_row ->> kind) THEN
            -- calsync's apply of a Google edit wrote the row in this transaction: not ours.
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM case_deadline_revisions r
                WHERE r.case_id = NEW.id AND r.deadline_kind = kind
                  AND r.google_txid = txid_current());
            INSERT INTO case_deadline_revisions
                (case_id, deadline_kind, changed_at, origin, tracker_rev, tracker_changed_at)
            VALUES (NEW.id, kind, stamp, 'tracker', 1, stamp)
            ON CONFLICT (case_id, deadline_kind) DO UPDATE
                SET changed_at = EXCLUDED.changed_at,
                    origin = 'tracker',
                    tracker_rev = case_deadline_revisions.tracker_rev + 1,
                    tracker_changed_at = EXCLUDED.tracker_changed_at,
                    google_txid = NULL;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION calsync_enqueue_case_push() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    deadlines text[] := ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date'];
    others text[] := ARRAY['employer_name', 'beneficiary_name', 'closed_at', 'deleted_at', 'user_id'];
    col text;
    changed boolean := false;
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO calendar_outbox (user_id, case_id, deleted_events)
        SELECT OLD.user_id, OLD.id,
               coalesce(jsonb_agg(jsonb_build_object(
                   'calendar_id', l.calendar_id, 'event_id', l.google_event_id)), '[]'::jsonb)
        FROM case_event_links l
        WHERE l.case_id = OLD.id AND NOT l.dismissed AND NOT l.removed;
        PERFORM pg_notify('calsync_outbox', OLD.user_id::text);
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        changed := true;
    ELSE
        FOREACH col IN ARRAY others LOOP
            IF (to_jsonb(OLD) ->> col) IS DISTINCT FROM (to_jsonb(NEW) ->> col) THEN
                changed := true;
                EXIT;
            END IF;
        END LOOP;
        IF NOT changed THEN
            FOREACH col IN ARRAY deadlines LOOP
                IF (to_jsonb(OLD) ->> col) IS DISTINCT FROM (to_jsonb(NEW) ->> col)
                   AND NOT EXISTS (
                       SELECT 1 FROM case_deadline_revisions r
                       WHERE r.case_id = NEW.id AND r.deadline_kind = col
                         AND r.google_txid = txid_current()) THEN
                    changed := true;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF changed THEN
        INSERT INTO calendar_outbox (user_id, case_id) VALUES (NEW.user_id, NEW.id);
        IF TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id THEN
            -- The previous owner's calendar must lose the case's events.
            INSERT INTO calendar_outbox (user_id, case_id) VALUES (OLD.user_id, OLD.id);
        END IF;
        PERFORM pg_notify('calsync_outbox', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;

GRANT EXECUTE ON FUNCTION calsync_record_deadline_revisions(), calsync_enqueue_case_push() TO PUBLIC;
