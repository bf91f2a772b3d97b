-- Bounded growth (DESIGN section 8): the indexes the cleanup walks, and the audit log partitioned
-- by month so that retention drops a partition instead of deleting rows.

-- When a session ended: revoked, or expired (LEAST ignores a NULL revoked_at). The cleanup takes
-- the oldest first in batches, straight off this index.
CREATE INDEX "sessions_ended_at_idx" ON "sessions" ((LEAST("expires_at", "revoked_at")));

-- Retired refresh tokens only: a family's live token never enters it, so the cleanup reads no
-- more than it deletes.
CREATE INDEX "refresh_tokens_retired_expires_at_idx" ON "refresh_tokens" ("expires_at") WHERE "rotated_at" IS NOT NULL;

-- The audit log, partitioned by month of occurred_at (UTC). A partitioned table's primary key must
-- hold the partition key, hence (id, occurred_at); ids still come from the one sequence, so they
-- stay unique and increasing. Rows that no monthly partition takes (a clock far off) land in the
-- default partition, which retention empties by batch deletes.
ALTER TABLE "audit_events" RENAME TO "audit_events_unpartitioned";
ALTER TABLE "audit_events_unpartitioned" DROP CONSTRAINT "audit_events_pkey";
DROP INDEX "audit_events_occurred_at_idx";
DROP INDEX "audit_events_user_id_occurred_at_idx";
DROP INDEX "audit_events_type_occurred_at_idx";
ALTER SEQUENCE "audit_events_id_seq" OWNED BY NONE;

CREATE TABLE "audit_events" (
    "id" BIGINT NOT NULL DEFAULT nextval('audit_events_id_seq'),
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "user_id" UUID,
    "principal" TEXT,
    "session_id" UUID,
    "ip" TEXT,
    "user_agent" TEXT,
    "request_id" TEXT,
    "details" JSONB,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id", "occurred_at")
) PARTITION BY RANGE ("occurred_at");
ALTER SEQUENCE "audit_events_id_seq" OWNED BY "audit_events"."id";

CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events"("occurred_at");
CREATE INDEX "audit_events_user_id_occurred_at_idx" ON "audit_events"("user_id", "occurred_at");
CREATE INDEX "audit_events_type_occurred_at_idx" ON "audit_events"("type", "occurred_at");

CREATE TABLE "audit_events_default" PARTITION OF "audit_events" DEFAULT;

-- One partition per month from the oldest row kept (at most 24 months back: anything older is past
-- any retention sigauth allows by default and goes to the default partition, which the first
-- cleanup empties) to two months ahead. The service creates the next ones as time goes on.
DO $$
DECLARE
  first_month DATE;
  month DATE;
BEGIN
  SELECT GREATEST(
           date_trunc('month', COALESCE(min("occurred_at"), now()) AT TIME ZONE 'UTC'),
           date_trunc('month', now() AT TIME ZONE 'UTC') - INTERVAL '24 months')::date
    INTO first_month FROM "audit_events_unpartitioned";
  month := first_month;
  WHILE month <= (date_trunc('month', now() AT TIME ZONE 'UTC') + INTERVAL '2 months')::date LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "audit_events" FOR VALUES FROM (%L) TO (%L)',
                   'audit_events_p' || to_char(month, 'YYYYMM'),
                   month::text || ' 00:00:00+00', (month + INTERVAL '1 month')::date::text || ' 00:00:00+00');
    month := (month + INTERVAL '1 month')::date;
  END LOOP;
END $$;

INSERT INTO "audit_events" ("id", "occurred_at", "type", "outcome", "reason", "user_id", "principal", "session_id", "ip", "user_agent", "request_id", "details")
  SELECT "id", "occurred_at", "type", "outcome", "reason", "user_id", "principal", "session_id", "ip", "user_agent", "request_id", "details" FROM "audit_events_unpartitioned";
DROP TABLE "audit_events_unpartitioned";
