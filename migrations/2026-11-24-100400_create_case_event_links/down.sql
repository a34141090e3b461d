DROP TABLE case_event_links;
-- The (id, user_id) index on cases goes only if this migration created it.
DO $$
BEGIN
    IF obj_description('public.cases_id_user_id_key'::regclass, 'pg_class') = 'calsync:created' THEN
        DROP INDEX public.cases_id_user_id_key;
    END IF;
END
$$;
