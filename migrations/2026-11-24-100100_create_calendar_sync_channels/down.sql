-- Drops the channels table; its policies, grants and indexes go with it.
DROP TABLE calendar_sync_channels;
