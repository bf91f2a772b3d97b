-- A compromised signing key is revoked: gone from the JWKS and its tokens refused, at once.
ALTER TABLE "signing_keys" ADD COLUMN "revoked_at" TIMESTAMPTZ(3);
