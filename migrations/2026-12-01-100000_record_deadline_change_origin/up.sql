-- Why: a deadline changed on both sides must be decided by each side's own last write, and
-- calsync's own apply of a Google edit must never count as a tracker write. Before this, the
-- revisions trigger stamped now() for every writer, calsync included, so applying the user's
-- first move in Google made their second move (0.1 s later) look older than a "tracker"
-- change and it was rejected for good.
--
-- * case_deadline_revisions records who made the last change (origin), the tracker's own last
--   write (tracker_changed_at, stamped when the writing transaction commits, by a deferred
--   trigger) and a count of tracker writes (tracker_rev). calsync's apply writes the row
--   itself first, with origin 'google', Google's `updated` and its own transaction id
--   (google_txid); the triggers recognise that transaction and neither stamp a tracker change
--   nor queue a push for it. Clients cannot write this table (RLS on, no policy, no grant),
--   so no tracker user can forge the origin.
-- * case_event_links records the tracker revision its synced date reflects
--   (synced_tracker_rev), and what calsync is about to write before it writes it (pending_*),
--   so the echo of a write whose answer never came back is not taken for a user's edit.
-- * calendar_sync_audit records both sides of a conflict: each value and each change time.
-- * calendar_sync_channels: the lease is renewed by a heartbeat while its holder lives; a
--   waiting inbound sync (sync_wanted_at) goes before the next push of the calendar.

ALTER TABLE case_deadline_revisions
    ADD COLUMN origin varchar(8) NOT NULL DEFAULT 'tracker'
        CHECK (origin IN ('tracker', 'google')),
    ADD COLUMN tracker_rev bigint NOT NULL DEFAULT 0,
    ADD COLUMN tracker_changed_at timestamptz,
    ADD COLUMN google_txid bigint;
UPDATE case_deadline_revisions SET tracker_changed_at = changed_at, tracker_rev = 1;

ALTER TABLE case_event_links
    ADD COLUMN synced_tracker_rev bigint,
    ADD COLUMN pending_date date,
    ADD COLUMN pending_summary text,
    ADD COLUMN pending_tracker_rev bigint,
    ADD COLUMN pending_at timestamptz;

ALTER TABLE calendar_sync_audit
    ADD COLUMN conflict boolean NOT NULL DEFAULT false,
    ADD COLUMN tracker_value date,
    ADD COLUMN google_value date,
    ADD COLUMN tracker_changed_at timestamptz,
    ADD COLUMN google_updated_at timestamptz;

ALTER TABLE calendar_sync_channels
    ADD COLUMN sync_wanted_at timestamptz;

-- The revisions trigger runs when the writing transaction commits, so a tracker write is
-- stamped with (nearly) its commit time, the moment it became visible to anyone.
DROP TRIGGER cases_record_deadline_revisions ON cases;
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
CREATE CONSTRAINT TRIGGER cases_record_deadline_revisions
    AFTER INSERT OR UPDATE ON cases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION calsync_record_deadline_revisions();

-- A change applied from Google queues no push: the event already shows it.
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
