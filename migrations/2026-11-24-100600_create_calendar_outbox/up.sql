-- Why: every change to a case's deadlines must reach Google, whoever makes it (calsync, the
-- tracker's backend, a psql session). A trigger on cases writes a durable outbox row in the
-- same transaction as the change; a worker drains the outbox to Google and removes a row only
-- after Google accepted the writes. Redis is not involved at write time, so a Redis outage
-- delays the push but loses nothing (the worker's sweep finds the rows).
--
-- One row means "bring this case's events up to date"; several rows for one case are drained
-- together. A hard-deleted case takes its links with it (ON DELETE CASCADE), so the trigger
-- copies the events still on calendars into the row first (BEFORE DELETE).
--
-- Links gain `removed` (calsync deleted the event because the deadline was cleared or the
-- case closed: a later date needs a new generation, as Google keeps deleted ids) and
-- `synced_summary` (the title last written, so a renamed case is re-titled).
CREATE TABLE calendar_outbox (
    id bigserial PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES perm_users (id) ON DELETE CASCADE,
    -- No foreign key: the row must outlive a hard-deleted case.
    case_id uuid NOT NULL,
    deleted_events jsonb,
    attempts integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_outbox_user_idx ON calendar_outbox (user_id, case_id, id);
CREATE INDEX calendar_outbox_available_idx ON calendar_outbox (available_at);
ALTER TABLE calendar_outbox ENABLE ROW LEVEL SECURITY;

ALTER TABLE case_event_links
    ADD COLUMN removed boolean NOT NULL DEFAULT false,
    ADD COLUMN synced_summary text;

CREATE FUNCTION calsync_enqueue_case_push() RETURNS trigger
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

CREATE TRIGGER cases_enqueue_calendar_push
    AFTER INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION calsync_enqueue_case_push();
CREATE TRIGGER cases_enqueue_calendar_push_on_delete
    BEFORE DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION calsync_enqueue_case_push();
