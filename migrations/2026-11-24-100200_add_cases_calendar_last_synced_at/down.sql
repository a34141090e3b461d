ALTER TABLE cases DROP COLUMN IF EXISTS calendar_last_synced_at;
