-- One store for everything that may be used once: nonces the service issued (FIB challenges, SIWE
-- nonces), which must be present to be spent, and identifiers the client chose (a wallet's signed
-- timestamp, DPoP proof and client assertion jtis), which are recorded at their first use. The
-- primary key decides a race between instances; expires_at is when the record may be purged.
CREATE TABLE "single_use_records" (
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "bound_to" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "single_use_records_pkey" PRIMARY KEY ("kind","key")
);

CREATE INDEX "single_use_records_expires_at_idx" ON "single_use_records"("expires_at");

-- What is still live carries over, so a login in flight during the upgrade, or a replay of one
-- that just succeeded, is answered as before. Used and expired nonces proved nothing more.
INSERT INTO "single_use_records" ("kind", "key", "bound_to", "expires_at")
SELECT 'fib-challenge', "nonce", "email", "expires_at" FROM "login_challenges"
 WHERE "used_at" IS NULL AND "expires_at" > CURRENT_TIMESTAMP;

INSERT INTO "single_use_records" ("kind", "key", "expires_at")
SELECT 'siwe-nonce', "nonce", "expires_at" FROM "siwe_nonces"
 WHERE "used_at" IS NULL AND "expires_at" > CURRENT_TIMESTAMP;

-- A wallet's (address, timestamp) was kept a whole window (5 minutes) past its own window, for an
-- instance whose clock is behind; the new row's expires_at is that later time.
INSERT INTO "single_use_records" ("kind", "key", "expires_at")
SELECT 'wallet-login', "address" || ':' || "timestamp_ms"::text, "expires_at" + interval '5 minutes' FROM "wallet_login_replays"
 WHERE "expires_at" + interval '5 minutes' > CURRENT_TIMESTAMP;

INSERT INTO "single_use_records" ("kind", "key", "expires_at")
SELECT "scope", "id", "expires_at" FROM "one_time_ids"
 WHERE "expires_at" > CURRENT_TIMESTAMP;

DROP TABLE "login_challenges";
DROP TABLE "siwe_nonces";
DROP TABLE "wallet_login_replays";
DROP TABLE "one_time_ids";
