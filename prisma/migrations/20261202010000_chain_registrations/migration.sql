-- Following the Factory contract (DESIGN section 5).

-- Where following stands, per chain, Factory and event: the last block applied and its hash (a
-- reorg deeper than the confirmation depth shows as another hash at that height). It moves in
-- the transaction that applies the block range's registrations.
CREATE TABLE "chain_cursors" (
    "chain_id" BIGINT NOT NULL,
    "factory_address" TEXT NOT NULL,
    "event_topic" TEXT NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chain_cursors_pkey" PRIMARY KEY ("chain_id", "factory_address", "event_topic")
);

-- Each creation event applied, once: keyed by the log's (transaction hash, log index). "user_id"
-- is the user it registered or extended; no foreign key, so the record outlives the user.
CREATE TABLE "chain_registrations" (
    "chain_id" BIGINT NOT NULL,
    "transaction_hash" TEXT NOT NULL,
    "log_index" INTEGER NOT NULL,
    "factory_address" TEXT NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" TEXT NOT NULL,
    "owner_address" TEXT NOT NULL,
    "contract_address" TEXT NOT NULL,
    "user_id" UUID,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chain_registrations_pkey" PRIMARY KEY ("chain_id", "transaction_hash", "log_index")
);

CREATE INDEX "chain_registrations_owner_address_idx" ON "chain_registrations"("owner_address");
