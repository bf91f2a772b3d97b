-- A wallet is an address, an externally owned account that proves itself by an ECDSA signature
-- alone, or a contract, which proves itself only through the node, by ERC-1271. Keeping the two
-- apart means a node's answer can never speak for an address, and a key can never speak for a
-- contract.
CREATE TYPE "WalletKind" AS ENUM ('EOA', 'CONTRACT');

ALTER TABLE "wallets" ADD COLUMN "kind" "WalletKind" NOT NULL DEFAULT 'EOA';

-- What the Factory follower registered as a created contract is one. This includes an address a
-- forged creation event attached to an account before this migration: from now on it can log in
-- only through the node's isValidSignature, never with the key of whoever named it.
UPDATE "wallets" w
   SET "kind" = 'CONTRACT'
  FROM "chain_registrations" r
 WHERE w."address" = r."contract_address" AND w."user_id" = r."user_id";
