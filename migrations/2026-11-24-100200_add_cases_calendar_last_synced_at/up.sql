-- Why: the case tracker shows when a case last took a change from Google Calendar. The column
-- may already exist on the tracker's side, hence IF NOT EXISTS.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS calendar_last_synced_at timestamptz;
