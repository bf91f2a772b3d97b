-- DPoP (RFC 9449): a session opened with a proof is bound to the proof key's JWK thumbprint
-- (RFC 7638); its refreshes must prove possession of the same key, and its access tokens say so in
-- cnf.jkt. Sessions opened without a proof stay unbound (NULL).
ALTER TABLE "sessions" ADD COLUMN "dpop_jkt" TEXT;

-- Identifiers that may be used once across all instances until they expire: the jti of a client
-- assertion (RFC 7523) and of a DPoP proof. A second INSERT of the same (scope, id) finds the row.
CREATE TABLE "one_time_ids" (
    "scope" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "one_time_ids_pkey" PRIMARY KEY ("scope", "id")
);
CREATE INDEX "one_time_ids_expires_at_idx" ON "one_time_ids" ("expires_at");
