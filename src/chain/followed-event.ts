import { toEventSelector } from 'viem';
import type { AppConfig } from '../config/app-config.js';
import { parseFactoryEvent, type FactoryEvent } from '../config/factory-event.js';
import type { FollowedEvent } from './chain-cursor.repository.js';

/** The Factory's event as configured, and the key its cursor is stored under; undefined without ETH_FACTORY_ADDRESS. */
export function followedEvent(config: AppConfig): { event: FactoryEvent; key: FollowedEvent } | undefined {
  if (!config.ETH_FACTORY_ADDRESS) return undefined;
  const event = parseFactoryEvent(config.ETH_FACTORY_EVENT, config.ETH_FACTORY_OWNER_ARG, config.ETH_FACTORY_CONTRACT_ARG);
  // loadConfig has refused a bad event at boot already.
  if (typeof event === 'string') throw new Error(event);
  return { event, key: { chainId: config.ETH_CHAIN_ID, factory: config.ETH_FACTORY_ADDRESS.toLowerCase(), topic: toEventSelector(event.abi) } };
}
