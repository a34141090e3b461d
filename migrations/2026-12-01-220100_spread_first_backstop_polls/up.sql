-- Why: channels watched before the fleet duties have no backstop due time, which counts as
-- due at once, so the first check after the deploy would poll every channel that has been
-- quiet for the interval in the same minute. Spreading the first polls over the default
-- interval (4 hours) keeps the deploy from bursting against Google's quota.
UPDATE calendar_sync_channels
SET backstop_due_at = now() + random() * interval '4 hours'
WHERE backstop_due_at IS NULL;
