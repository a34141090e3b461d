DROP TRIGGER cases_record_deadline_revisions ON cases;
CREATE OR REPLACE FUNCTION calsync_record_deadline_revisions() RETURNS trigger
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

CREATE OR REPLACE FUNCTION calsync_enqueue_case_push() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    watched text[] := ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date',
        'employer_name', 'beneficiary_name', 'closed_at', 'deleted_at', 'user_id'];
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
        FOREACH col IN ARRAY watched LOOP
            IF (to_jsonb(OLD) ->> col) IS DISTINCT FROM (to_jsonb(NEW) ->> col) THEN
                changed := true;
                EXIT;
            END IF;
        END LOOP;
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

ALTER TABLE calendar_sync_channels DROP COLUMN sync_wanted_at;
ALTER TABLE calendar_sync_audit
    DROP COLUMN google_updated_at,
    DROP COLUMN tracker_changed_at,
    DROP COLUMN google_value,
    DROP COLUMN tracker_value,
    DROP COLUMN conflict;
ALTER TABLE case_event_links
    DROP COLUMN pending_at,
    DROP COLUMN pending_tracker_rev,
    DROP COLUMN pending_summary,
    DROP COLUMN pending_date,
    DROP COLUMN synced_tracker_rev;
ALTER TABLE case_deadline_revisions
    DROP COLUMN google_txid,
    DROP COLUMN tracker_changed_at,
    DROP COLUMN tracker_rev,
    DROP COLUMN origin;
