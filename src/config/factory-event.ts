// abitype, not viem (which re-exports it): configuration is read by the cluster primary too, and
// viem's index alone takes about 0.4 s to load.
import { parseAbiItem, type AbiEvent } from 'abitype';

/** The Factory's creation event, and the names of its creator and created-contract arguments. */
export interface FactoryEvent {
  abi: AbiEvent;
  ownerArg: string;
  contractArg: string;
}

/**
 * Parses ETH_FACTORY_EVENT (a Solidity event signature, `event ` optional) and checks that the two
 * named arguments are in it, as addresses. Returns the problem, naming the variable, when not.
 */
export function parseFactoryEvent(signature: string, ownerArg: string, contractArg: string): FactoryEvent | string {
  let abi: AbiEvent;
  try {
    const item = parseAbiItem(signature.trim().startsWith('event ') ? signature.trim() : `event ${signature.trim()}`);
    if (item.type !== 'event') return `ETH_FACTORY_EVENT=${JSON.stringify(signature)}: not an event signature`;
    abi = item;
  } catch (error) {
    return `ETH_FACTORY_EVENT=${JSON.stringify(signature)}: not an event signature (${(error as Error).message.split('\n')[0]})`;
  }
  for (const [variable, name] of [['ETH_FACTORY_OWNER_ARG', ownerArg], ['ETH_FACTORY_CONTRACT_ARG', contractArg]] as const) {
    const input = abi.inputs.find((i) => i.name === name);
    if (!input) return `${variable}=${JSON.stringify(name)}: ETH_FACTORY_EVENT has no argument of that name (it has ${abi.inputs.map((i) => i.name ?? '(unnamed)').join(', ')})`;
    if (input.type !== 'address') return `${variable}=${JSON.stringify(name)}: the argument is of type ${input.type}, not address`;
  }
  if (ownerArg === contractArg) return 'ETH_FACTORY_CONTRACT_ARG: must name another argument than ETH_FACTORY_OWNER_ARG';
  return { abi, ownerArg, contractArg };
}
