-- Sign-In with Ethereum (EIP-4361): the nonces sigauth issued, each consumed by one login that
-- verifies; rows past their expiry are purged.
CREATE TABLE "siwe_nonces" (
    "nonce" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "siwe_nonces_pkey" PRIMARY KEY ("nonce")
);

CREATE INDEX "siwe_nonces_expires_at_idx" ON "siwe_nonces"("expires_at");
