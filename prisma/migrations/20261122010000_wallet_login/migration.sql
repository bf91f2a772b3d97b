-- CreateTable
CREATE TABLE "wallet_login_replays" (
    "address" TEXT NOT NULL,
    "timestamp_ms" BIGINT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "wallet_login_replays_pkey" PRIMARY KEY ("address","timestamp_ms")
);

-- CreateIndex
CREATE INDEX "wallet_login_replays_expires_at_idx" ON "wallet_login_replays"("expires_at");

-- An active wallet identifies one user for the Ethereum login. Prisma's schema language cannot
-- express a partial unique index, so it lives here only (schema.prisma notes it).
CREATE UNIQUE INDEX "wallets_active_address_key" ON "wallets"("address") WHERE "revoked_at" IS NULL;
