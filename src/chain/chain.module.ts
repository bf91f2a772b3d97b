import { Module } from '@nestjs/common';
import { ChainClient } from './chain-client.js';
import { ChainCursorRepository } from './chain-cursor.repository.js';
import { ChainStatusService } from './chain-status.service.js';
import { ContractSignatures } from './contract-signatures.js';

/**
 * The Ethereum node: the only module that talks to it, so one place holds its timeouts and trust. The client, the
 * ERC-1271 check the wallet logins use, the follower's cursor and its status. Following itself
 * runs only in the server (FactoryFollowerModule), not in the command line.
 */
@Module({
  providers: [ChainClient, ContractSignatures, ChainCursorRepository, ChainStatusService],
  exports: [ChainClient, ContractSignatures, ChainCursorRepository, ChainStatusService],
})
export class ChainModule {}
