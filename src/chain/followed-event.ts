import { keccak_256 } from '@noble/hashes/sha3.js';
import type { AbiEvent, AbiParameter } from 'abitype';
import type { AppConfig } from '../config/app-config.js';
import { parseFactoryEvent, type FactoryEvent } from '../config/factory-event.js';
import type { FollowedEvent } from './chain-cursor.repository.js';

/** A parameter's type as the canonical signature spells it: a tuple as its components in parentheses. */
function canonicalType(parameter: AbiParameter): string {
  if (!parameter.type.startsWith('tuple')) return parameter.type;
  const components = (parameter as { components: readonly AbiParameter[] }).components;
  return `(${components.map(canonicalType).join(',')})${parameter.type.slice('tuple'.length)}`;
}

/** topic0 of an event: keccak-256 of `Name(type,...)`, without names or `indexed`. */
export function eventTopic(event: AbiEvent): string {
  const signature = `${event.name}(${event.inputs.map(canonicalType).join(',')})`;
  return '0x' + Buffer.from(keccak_256(new TextEncoder().encode(signature))).toString('hex');
}

/** The Factory's event as configured, and the key its cursor is stored under; undefined without ETH_FACTORY_ADDRESS. */
export function followedEvent(config: AppConfig): { event: FactoryEvent; key: FollowedEvent } | undefined {
  if (!config.ETH_FACTORY_ADDRESS) return undefined;
  const event = parseFactoryEvent(config.ETH_FACTORY_EVENT, config.ETH_FACTORY_OWNER_ARG, config.ETH_FACTORY_CONTRACT_ARG);
  // loadConfig has refused a bad event at boot already.
  if (typeof event === 'string') throw new Error(event);
  return { event, key: { chainId: config.ETH_CHAIN_ID, factory: config.ETH_FACTORY_ADDRESS.toLowerCase(), topic: eventTopic(event.abi) } };
}
