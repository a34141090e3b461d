-- Why: calsync shares the tracker's database, where every signed-in tracker user holds a
-- database role (`authenticated` on Supabase, and `anon` for the public key). Three holes,
-- each reproduced by trying it:
--
-- * The trigger functions are SECURITY DEFINER and ran for any table: a user attached one to
--   a temporary table with a row naming another user's case and made calsync delete that
--   user's events (or forge a revision time that wins conflicts); a temporary table named
--   `calendar_outbox` shadowed the real one through `search_path = public`. Now nobody but
--   the owner may execute them, each refuses any table but public.cases, and each runs with
--   `search_path = pg_catalog, pg_temp` and names every object by its schema.
-- * Supabase grants ALL on every new table (and EXECUTE on every new function) to `anon` and
--   `authenticated` by default privileges, so a user could TRUNCATE calsync's tables (RLS does
--   not cover TRUNCATE) or empty `__diesel_schema_migrations`. Now every calsync table, the
--   migrations table included, and every sequence and function revokes everything from
--   PUBLIC, `anon` and `authenticated`; what a client may do is granted back explicitly.
-- * Clients could insert and update channel and link rows (status, lease, sync token, etag,
--   dismissed). Now clients read their own channel, link and audit rows and write none.
--
-- `calsync_revoke_client_access(table)` does the revoking for a table; every later migration
-- that creates a table calls it.

CREATE FUNCTION public.calsync_revoke_client_access(target regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    client text;
BEGIN
    EXECUTE format('REVOKE ALL ON TABLE %s FROM PUBLIC', target);
    FOREACH client IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = client) THEN
            EXECUTE format('REVOKE ALL ON TABLE %s FROM %I', target, client);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION public.calsync_revoke_client_access(regclass) IS
    'calsync: revokes every privilege of PUBLIC, anon and authenticated on a calsync table';

DO $$
DECLARE
    t regclass;
    client text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'public.__diesel_schema_migrations', 'public.calendar_sync_channels',
        'public.google_credentials', 'public.case_event_links',
        'public.case_deadline_revisions', 'public.calendar_sync_audit',
        'public.calendar_outbox']::regclass[]
    LOOP
        PERFORM public.calsync_revoke_client_access(t);
    END LOOP;
    REVOKE ALL ON SEQUENCE public.calendar_sync_audit_id_seq, public.calendar_outbox_id_seq
        FROM PUBLIC;
    FOREACH client IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = client) THEN
            EXECUTE format('REVOKE ALL ON SEQUENCE public.calendar_sync_audit_id_seq, '
                'public.calendar_outbox_id_seq FROM %I', client);
            EXECUTE format('REVOKE ALL ON FUNCTION public.calsync_record_deadline_revisions(), '
                'public.calsync_enqueue_case_push(), '
                'public.calsync_revoke_client_access(regclass) FROM %I', client);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION public.calsync_record_deadline_revisions(),
    public.calsync_enqueue_case_push(),
    public.calsync_revoke_client_access(regclass) FROM PUBLIC;

-- Clients read their own rows; every write goes through calsync.
DROP POLICY calendar_sync_channels_insert_own ON public.calendar_sync_channels;
DROP POLICY calendar_sync_channels_update_own ON public.calendar_sync_channels;
DROP POLICY calendar_sync_channels_delete_own ON public.calendar_sync_channels;
DROP POLICY case_event_links_insert_own ON public.case_event_links;
DROP POLICY case_event_links_update_own ON public.case_event_links;
DROP POLICY case_event_links_delete_own ON public.case_event_links;
GRANT SELECT ON public.calendar_sync_channels, public.case_event_links,
    public.calendar_sync_audit TO authenticated;

-- The tracker may reassign a case id that has events (a merge of duplicate cases): calsync's
-- rows follow it instead of blocking the update.
ALTER TABLE public.case_event_links
    DROP CONSTRAINT case_event_links_case_id_user_id_fkey,
    ADD CONSTRAINT case_event_links_case_id_user_id_fkey
        FOREIGN KEY (case_id, user_id) REFERENCES public.cases (id, user_id)
        ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE public.case_deadline_revisions
    DROP CONSTRAINT case_deadline_revisions_case_id_fkey,
    ADD CONSTRAINT case_deadline_revisions_case_id_fkey
        FOREIGN KEY (case_id) REFERENCES public.cases (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE public.calendar_sync_audit
    DROP CONSTRAINT calendar_sync_audit_case_id_fkey,
    ADD CONSTRAINT calendar_sync_audit_case_id_fkey
        FOREIGN KEY (case_id) REFERENCES public.cases (id) ON DELETE CASCADE ON UPDATE CASCADE;

CREATE OR REPLACE FUNCTION public.calsync_record_deadline_revisions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    kind text;
    old_row jsonb;
    new_row jsonb;
    stamp timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF TG_RELID IS DISTINCT FROM 'public.cases'::regclass THEN
        RAISE EXCEPTION 'calsync_record_deadline_revisions runs only for public.cases, not %',
            TG_RELID::regclass USING ERRCODE = 'insufficient_privilege';
    END IF;
    old_row := CASE WHEN TG_OP = 'UPDATE' THEN pg_catalog.to_jsonb(OLD) ELSE '{}'::jsonb END;
    new_row := pg_catalog.to_jsonb(NEW);
    FOREACH kind IN ARRAY ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date']
    LOOP
        IF (old_row ->> kind) IS DISTINCT FROM (new_row ->> kind) THEN
            -- calsync's apply of a Google edit wrote the row in this transaction: not ours.
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM public.case_deadline_revisions r
                WHERE r.case_id = NEW.id AND r.deadline_kind = kind
                  AND r.google_txid = pg_catalog.txid_current());
            INSERT INTO public.case_deadline_revisions
                (case_id, deadline_kind, changed_at, origin, tracker_rev, tracker_changed_at)
            VALUES (NEW.id, kind, stamp, 'tracker', 1, stamp)
            ON CONFLICT (case_id, deadline_kind) DO UPDATE
                SET changed_at = EXCLUDED.changed_at,
                    origin = 'tracker',
                    tracker_rev = public.case_deadline_revisions.tracker_rev + 1,
                    tracker_changed_at = EXCLUDED.tracker_changed_at,
                    google_txid = NULL;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.calsync_enqueue_case_push() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    deadlines text[] := ARRAY[
        'pwd_expiration_date', 'recruitment_start_date', 'filing_window_opens',
        'filing_window_closes', 'eta9089_filing_date', 'eta9089_expiration_date',
        'i140_filing_deadline', 'rfi_due_date', 'rfe_due_date'];
    others text[] := ARRAY['employer_name', 'beneficiary_name', 'closed_at', 'deleted_at', 'user_id'];
    col text;
    changed boolean := false;
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_RELID IS DISTINCT FROM 'public.cases'::regclass THEN
        RAISE EXCEPTION 'calsync_enqueue_case_push runs only for public.cases, not %',
            TG_RELID::regclass USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO public.calendar_outbox (user_id, case_id, deleted_events)
        SELECT OLD.user_id, OLD.id,
               coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'calendar_id', l.calendar_id, 'event_id', l.google_event_id)), '[]'::jsonb)
        FROM public.case_event_links l
        WHERE l.case_id = OLD.id AND NOT l.dismissed AND NOT l.removed;
        PERFORM pg_catalog.pg_notify('calsync_outbox', OLD.user_id::text);
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        changed := true;
    ELSE
        -- Each row as JSON once, not once per column compared.
        old_row := pg_catalog.to_jsonb(OLD);
        new_row := pg_catalog.to_jsonb(NEW);
        FOREACH col IN ARRAY others LOOP
            IF (old_row ->> col) IS DISTINCT FROM (new_row ->> col) THEN
                changed := true;
                EXIT;
            END IF;
        END LOOP;
        IF NOT changed THEN
            FOREACH col IN ARRAY deadlines LOOP
                IF (old_row ->> col) IS DISTINCT FROM (new_row ->> col)
                   AND NOT EXISTS (
                       SELECT 1 FROM public.case_deadline_revisions r
                       WHERE r.case_id = NEW.id AND r.deadline_kind = col
                         AND r.google_txid = pg_catalog.txid_current()) THEN
                    changed := true;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF changed THEN
        INSERT INTO public.calendar_outbox (user_id, case_id) VALUES (NEW.user_id, NEW.id);
        IF TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id THEN
            -- Reassigned: the previous owner's calendar loses the case's events (their ids are
            -- kept here, since the links, which followed the case to its new owner by
            -- ON UPDATE CASCADE, go), and the new owner's push writes new ones.
            INSERT INTO public.calendar_outbox (user_id, case_id, deleted_events)
            SELECT OLD.user_id, OLD.id,
                   coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'calendar_id', l.calendar_id, 'event_id', l.google_event_id)), '[]'::jsonb)
            FROM public.case_event_links l
            WHERE l.case_id = NEW.id AND NOT l.dismissed AND NOT l.removed;
            DELETE FROM public.case_event_links WHERE case_id = NEW.id;
            PERFORM pg_catalog.pg_notify('calsync_outbox', OLD.user_id::text);
        END IF;
        PERFORM pg_catalog.pg_notify('calsync_outbox', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;
