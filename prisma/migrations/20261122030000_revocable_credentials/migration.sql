-- A revoked key or wallet may be added again: uniqueness holds among active credentials only.
-- DropIndex
DROP INDEX "public_keys_user_id_public_key_hex_key";

-- DropIndex
DROP INDEX "wallets_user_id_address_key";

-- CreateIndex
CREATE INDEX "public_keys_user_id_public_key_hex_idx" ON "public_keys"("user_id", "public_key_hex");

-- CreateIndex
CREATE INDEX "wallets_user_id_address_idx" ON "wallets"("user_id", "address");

-- A partial unique index, which Prisma's schema language cannot express.
CREATE UNIQUE INDEX "public_keys_active_key" ON "public_keys"("user_id", "public_key_hex") WHERE "revoked_at" IS NULL;
