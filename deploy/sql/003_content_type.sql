-- Each entry's content type (its media type, "" when the writer gave none), kept with the
-- value so that a reader gets back what was stored.
ALTER TABLE "{{table}}" ADD COLUMN IF NOT EXISTS content_type text NOT NULL DEFAULT '';
