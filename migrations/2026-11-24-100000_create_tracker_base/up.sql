-- Why: calsync runs against the case tracker's own database. On Supabase the tracker's tables,
-- the `auth` schema, `auth.uid()` and the `authenticated` role already exist; on a bare
-- PostgreSQL (tests, local runs) they do not. Everything here is therefore created only where
-- missing, and whatever this migration creates carries the comment 'calsync:created' so that
-- down.sql removes exactly that and never touches the tracker's own objects or data.

DO $$
BEGIN
    -- The role is cluster-wide: parallel test databases may race to create it.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        BEGIN
            CREATE ROLE authenticated NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
        CREATE SCHEMA auth;
        COMMENT ON SCHEMA auth IS 'calsync:created';
    END IF;

    -- Same definition as Supabase's: the JWT subject, read from the request's claims.
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid
            LANGUAGE sql STABLE
            AS $f$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $f$;
        COMMENT ON FUNCTION auth.uid() IS 'calsync:created';
    END IF;

    IF to_regclass('public.perm_users') IS NULL THEN
        CREATE TABLE public.perm_users (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            email text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE public.perm_users IS 'calsync:created';
    END IF;

    IF to_regclass('public.cases') IS NULL THEN
        CREATE TABLE public.cases (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES public.perm_users (id) ON DELETE CASCADE,
            employer_name text NOT NULL,
            beneficiary_name text NOT NULL,
            status text NOT NULL DEFAULT 'open',
            closed_at timestamptz,
            deleted_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE public.cases IS 'calsync:created';
        -- Foreign keys get an index: deleting a user must not scan every case.
        CREATE INDEX cases_user_id_idx ON public.cases (user_id);

        CREATE FUNCTION public.cases_touch_updated_at() RETURNS trigger
            LANGUAGE plpgsql
            AS $f$
            BEGIN
                NEW.updated_at := now();
                RETURN NEW;
            END
            $f$;
        COMMENT ON FUNCTION public.cases_touch_updated_at() IS 'calsync:created';
        CREATE TRIGGER cases_touch_updated_at
            BEFORE UPDATE ON public.cases
            FOR EACH ROW EXECUTE FUNCTION public.cases_touch_updated_at();
    END IF;
END
$$;

-- The deadline columns: added one by one so that a tracker table which lacks some of them
-- gains them, and one which has them is left as it is.
ALTER TABLE public.cases
    ADD COLUMN IF NOT EXISTS pwd_expiration_date date,
    ADD COLUMN IF NOT EXISTS recruitment_start_date date,
    ADD COLUMN IF NOT EXISTS filing_window_opens date,
    ADD COLUMN IF NOT EXISTS filing_window_closes date,
    ADD COLUMN IF NOT EXISTS eta9089_filing_date date,
    ADD COLUMN IF NOT EXISTS eta9089_expiration_date date,
    ADD COLUMN IF NOT EXISTS i140_filing_deadline date,
    ADD COLUMN IF NOT EXISTS rfi_due_date date,
    ADD COLUMN IF NOT EXISTS rfe_due_date date;

GRANT USAGE ON SCHEMA auth TO authenticated;
GRANT EXECUTE ON FUNCTION auth.uid() TO authenticated;
