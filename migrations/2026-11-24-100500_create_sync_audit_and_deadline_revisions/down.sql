ALTER TABLE calendar_sync_channels
    DROP COLUMN sync_lease_expires_at,
    DROP COLUMN sync_lease_owner;
DROP TABLE calendar_sync_audit;
DROP TRIGGER cases_record_deadline_revisions ON cases;
DROP FUNCTION calsync_record_deadline_revisions();
DROP TABLE case_deadline_revisions;
