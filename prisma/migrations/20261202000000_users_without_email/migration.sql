-- A user the Factory contract registers (DESIGN section 5) has no email: the account, the
-- checksummed creator address, names them. Emails stay unique where present (NULLs are distinct).
ALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL;

-- The published read model gains "subject", what a session's tokens carry as `sub`: the email, or
-- the account of a user without one.
CREATE OR REPLACE VIEW "session_principals" AS
  SELECT u."id" AS "user_id", 'ED25519_KEY'::"CredentialKind" AS "credential_kind", k."id" AS "credential_id",
         u."email", u."account", u."role", NULL::TIMESTAMPTZ(3) AS "credential_expires_at",
         COALESCE(u."email", u."account") AS "subject"
    FROM "users" u JOIN "public_keys" k ON k."user_id" = u."id" AND k."revoked_at" IS NULL
   WHERE u."status" = 'ACTIVE'
  UNION ALL
  SELECT u."id", 'WALLET'::"CredentialKind", w."id", u."email", u."account", u."role", NULL::TIMESTAMPTZ(3), COALESCE(u."email", u."account")
    FROM "users" u JOIN "wallets" w ON w."user_id" = u."id" AND w."revoked_at" IS NULL
   WHERE u."status" = 'ACTIVE'
  UNION ALL
  SELECT u."id", 'PASSWORD'::"CredentialKind", u."password_id", u."email", u."account", u."role", u."password_expires_at", COALESCE(u."email", u."account")
    FROM "users" u
   WHERE u."status" = 'ACTIVE' AND u."password_hash" IS NOT NULL;
