-- Every instance keeps in memory the sessions it has found live (introspection and the bearer
-- routes ask on every request). The moment a session ends, whichever way it ends (logout, an
-- admin's revocation, reuse detection, a disabled user, a revoked credential, a changed password,
-- SQL by hand), its id goes out on this channel when the ending commits, and every instance drops
-- it. A live session deleted outright goes out too; a deleted one that had ended or expired
-- (the cleanup job's) does not, since none of its access tokens can still be live.
CREATE FUNCTION "sigauth_notify_session_ended"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sigauth_session_ended', (CASE WHEN TG_OP = 'DELETE' THEN OLD."id" ELSE NEW."id" END)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "sessions_ended_notify"
  AFTER UPDATE OF "revoked_at" ON "sessions"
  FOR EACH ROW WHEN (OLD."revoked_at" IS NULL AND NEW."revoked_at" IS NOT NULL)
  EXECUTE FUNCTION "sigauth_notify_session_ended"();

CREATE TRIGGER "sessions_deleted_notify"
  AFTER DELETE ON "sessions"
  FOR EACH ROW WHEN (OLD."revoked_at" IS NULL AND OLD."expires_at" > now())
  EXECUTE FUNCTION "sigauth_notify_session_ended"();
