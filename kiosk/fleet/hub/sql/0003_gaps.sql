-- Gap repair: every seq of a kiosk up to contiguous_seq is in `events`; the hub asks the kiosk
-- to send again (a `replay` command) any seq missing above it.
ALTER TABLE kiosks ADD COLUMN contiguous_seq bigint NOT NULL DEFAULT 0;
