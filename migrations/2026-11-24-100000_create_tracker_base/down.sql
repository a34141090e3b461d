-- Removes only what up.sql created (objects commented 'calsync:created'). On a database where
-- the tracker owns these objects this is deliberately a no-op: its cases and users are not ours
-- to drop. The `authenticated` role is cluster-wide and may be used by other databases, so it
-- stays.
DO $$
BEGIN
    IF obj_description('public.cases'::regclass, 'pg_class') = 'calsync:created' THEN
        DROP TABLE public.cases;
        DROP FUNCTION public.cases_touch_updated_at();
    END IF;
    IF obj_description('public.perm_users'::regclass, 'pg_class') = 'calsync:created' THEN
        DROP TABLE public.perm_users;
    END IF;
    IF obj_description('auth.uid()'::regprocedure, 'pg_proc') = 'calsync:created' THEN
        REVOKE EXECUTE ON FUNCTION auth.uid() FROM authenticated;
        DROP FUNCTION auth.uid();
    END IF;
    IF (SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'auth')
        = 'calsync:created' THEN
        REVOKE USAGE ON SCHEMA auth FROM authenticated;
        DROP SCHEMA auth;
    END IF;
END
$$;
