-- Model change notifications for tiercache's PostgreSQL change feed
-- (tiers/postgres/postgres_change_feed.h).
--
-- Apply this to the APPLICATION's database, not to tiercache's own: it lives in a
-- subdirectory because deploy/sql/*.sql are tiercache's schema migrations, embedded and
-- applied automatically. Safe to apply again (CREATE OR REPLACE).
--
--   psql "$APP_DSN" -f deploy/sql/notify/model_changes.sql
--
-- Then attach tiercache_notify_change() to each table whose rows are cached as a model (see
-- the example at the bottom). Each changed row sends, on commit, a notification whose
-- payload is JSON:
--
--   {"model": "auth.User", "id": 7, "event": "save", "org_id": 3}
--
-- "event" is "save" for INSERT and UPDATE, "delete" for DELETE. An UPDATE that changes the
-- id or an extra column sends a second notification with the old values, "delete" if the
-- id changed (no instance has the old id any more), else "save". "id" and the extra fields
-- keep their JSON type (an integer column stays a number, text a string, NULL is null).
--
-- Trigger arguments:
--   TG_ARGV[0]  the model name, as tiercache's model rules name it (required)
--   TG_ARGV[1]  the channel (default 'tiercache_invalidate'; '' also means the default);
--               must match the feed's `channel`, a lower-case identifier
--   TG_ARGV[2]  the row's id column (default 'id'; '' also means the default)
--   TG_ARGV[3...] further columns sent as fields of the same name, for rule templates such
--               as "org:{org_id}:users"
--
-- Delivery is PostgreSQL's: notifications go out when the transaction commits and not at
-- all if it rolls back; identical payloads on one channel within one transaction arrive
-- once. A listener that is disconnected misses what is sent meanwhile (the feed reports
-- that as not listening).
--
-- A payload must stay under 8000 bytes (pg_notify's limit; larger ones raise an error and
-- abort the application's transaction), so pass short columns only: ids, not text bodies.
-- Only the named columns are sent, whatever the width of the row.

CREATE OR REPLACE FUNCTION tiercache_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  model      text := TG_ARGV[0];
  channel    text := coalesce(nullif(TG_ARGV[1], ''), 'tiercache_invalidate');
  id_column  text := coalesce(nullif(TG_ARGV[2], ''), 'id');
  extra      text[] := CASE WHEN TG_NARGS > 3 THEN TG_ARGV[3:TG_NARGS - 1] ELSE '{}' END;
  new_row    jsonb;
  old_row    jsonb;
  new_fields jsonb;
  old_fields jsonb;
  col        text;
BEGIN
  -- A misconfigured trigger fails the write rather than leave the cache silently stale.
  IF model IS NULL OR model = '' THEN
    RAISE EXCEPTION 'tiercache_notify_change on %: the first argument, the model name, is required',
      TG_TABLE_NAME;
  END IF;
  IF TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
    RAISE EXCEPTION 'tiercache_notify_change on %: attach it FOR EACH ROW to INSERT, UPDATE or DELETE',
      TG_TABLE_NAME;
  END IF;

  -- Rows as JSON: any table, any column types, columns read by name.
  IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;

  FOREACH col IN ARRAY array_prepend(id_column, extra) LOOP
    IF NOT coalesce(new_row, old_row) ? col THEN
      RAISE EXCEPTION 'tiercache_notify_change on %: no column "%"', TG_TABLE_NAME, col;
    END IF;
  END LOOP;
  FOREACH col IN ARRAY extra LOOP
    IF col IN ('id', 'model', 'event') THEN
      RAISE EXCEPTION 'tiercache_notify_change on %: "%" is a field of its own, not an extra column',
        TG_TABLE_NAME, col;
    END IF;
  END LOOP;

  -- The identifying fields: the id, then the extra columns.
  new_fields := jsonb_build_object('id', new_row -> id_column);
  old_fields := jsonb_build_object('id', old_row -> id_column);
  FOREACH col IN ARRAY extra LOOP
    new_fields := new_fields || jsonb_build_object(col, new_row -> col);
    old_fields := old_fields || jsonb_build_object(col, old_row -> col);
  END LOOP;

  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(channel, (jsonb_build_object('model', model, 'event', 'delete')
                                || old_fields)::text);
    RETURN OLD;
  END IF;

  PERFORM pg_notify(channel, (jsonb_build_object('model', model, 'event', 'save')
                              || new_fields)::text);
  -- An UPDATE that changed the id or an extra column also makes what was cached under the
  -- old values stale. A changed id means the instance under the old one is gone: "delete".
  IF TG_OP = 'UPDATE' AND old_fields IS DISTINCT FROM new_fields THEN
    PERFORM pg_notify(channel, (jsonb_build_object('model', model, 'event',
                                  CASE WHEN old_fields -> 'id' IS DISTINCT FROM new_fields -> 'id'
                                       THEN 'delete' ELSE 'save' END)
                                || old_fields)::text);
  END IF;
  RETURN NEW;
END
$$;

-- Example: notify tiercache of every change to app_users as the model auth.User (its
-- primary key column is "id"; org_id is sent too, for rules over {org_id}).
--
--   CREATE TRIGGER app_users_tiercache
--     AFTER INSERT OR UPDATE OR DELETE ON app_users
--     FOR EACH ROW EXECUTE FUNCTION tiercache_notify_change('auth.User');
--
--   CREATE TRIGGER app_users_tiercache
--     AFTER INSERT OR UPDATE OR DELETE ON app_users
--     FOR EACH ROW EXECUTE FUNCTION
--       tiercache_notify_change('auth.User', 'tiercache_invalidate', 'id', 'org_id');
