-- One session core (DESIGN sections 1 and 4).

-- A session remembers the API that opened it; each refresh endpoint rotates only its own.
ALTER TABLE "sessions" ADD COLUMN "client_id" TEXT;
UPDATE "sessions" SET "client_id" = CASE "credential_kind" WHEN 'ED25519_KEY' THEN 'fib' WHEN 'WALLET' THEN 'wallet' ELSE 'service' END;
ALTER TABLE "sessions" ALTER COLUMN "client_id" SET NOT NULL;

-- A password is a credential with an id of its own, renewed whenever the password changes, so the
-- sessions the old password opened end with it, as a revoked key's do.
ALTER TABLE "users" ADD COLUMN "password_id" UUID;
UPDATE "users" SET "password_id" = gen_random_uuid() WHERE "password_hash" IS NOT NULL;
UPDATE "sessions" s SET "credential_id" = u."password_id"
  FROM "users" u WHERE s."user_id" = u."id" AND s."credential_kind" = 'PASSWORD';

-- What a rotation issued, so that the parent presented again within the grace window gets the
-- same pair, re-signed byte for byte: the access token's id and expiry, the key, the claims.
ALTER TABLE "refresh_tokens"
  ADD COLUMN "access_jti" UUID,
  ADD COLUMN "access_expires_at" TIMESTAMPTZ(3),
  ADD COLUMN "kid" TEXT,
  ADD COLUMN "claims" JSONB;

-- A family never has two children of one parent. Families that forked under the earlier grace
-- rule (two live chains, which reuse detection could not see) are ended, and their extra
-- children unlinked, so that the rule can be an index.
UPDATE "sessions" SET "revoked_at" = now(), "revoked_reason" = 'refresh family forked (ended by the session-core upgrade)'
 WHERE "revoked_at" IS NULL AND "id" IN (
   SELECT "session_id" FROM "refresh_tokens" WHERE "parent_jti" IS NOT NULL GROUP BY "session_id", "parent_jti" HAVING count(*) > 1);
UPDATE "refresh_tokens" t SET "parent_jti" = NULL
 WHERE t."parent_jti" IS NOT NULL AND EXISTS (
   SELECT 1 FROM "refresh_tokens" o WHERE o."parent_jti" = t."parent_jti" AND (o."issued_at", o."jti") < (t."issued_at", t."jti"));
DROP INDEX "refresh_tokens_parent_jti_idx";
CREATE UNIQUE INDEX "refresh_tokens_parent_jti_key" ON "refresh_tokens"("parent_jti");

-- The users module's published read model: each active user with each of their active
-- credentials. The session core joins it to check, in the statement that rotates a session, that
-- the principal and the credential that opened the session are both still active; it never reads
-- the user tables themselves.
CREATE VIEW "session_principals" AS
  SELECT u."id" AS "user_id", 'ED25519_KEY'::"CredentialKind" AS "credential_kind", k."id" AS "credential_id",
         u."email", u."account", u."role", NULL::TIMESTAMPTZ(3) AS "credential_expires_at"
    FROM "users" u JOIN "public_keys" k ON k."user_id" = u."id" AND k."revoked_at" IS NULL
   WHERE u."status" = 'ACTIVE'
  UNION ALL
  SELECT u."id", 'WALLET'::"CredentialKind", w."id", u."email", u."account", u."role", NULL::TIMESTAMPTZ(3)
    FROM "users" u JOIN "wallets" w ON w."user_id" = u."id" AND w."revoked_at" IS NULL
   WHERE u."status" = 'ACTIVE'
  UNION ALL
  SELECT u."id", 'PASSWORD'::"CredentialKind", u."password_id", u."email", u."account", u."role", u."password_expires_at"
    FROM "users" u
   WHERE u."status" = 'ACTIVE' AND u."password_hash" IS NOT NULL;
