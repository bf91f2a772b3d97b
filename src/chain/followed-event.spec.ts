import { describe, expect, it } from '@jest/globals';
import { parseAbiItem, toEventSelector, type AbiEvent } from 'viem';
import { eventTopic } from './followed-event.js';

describe('eventTopic', () => {
  // viem's own selector is the reference: the follower filters logs by this topic, so a different
  // spelling of the signature would follow nothing.
  it.each([
    'event WalletCreated(address indexed owner, address indexed wallet)',
    'event Created(address owner, address wallet, uint salt)',
    'event Deployed(address indexed owner, address wallet, (uint256 a, (bytes32 b, int c)[] inner) config, string[2] names)',
    'event Transfer(address indexed from, address indexed to, uint256 value)',
  ])('%s', (signature) => {
    const event = parseAbiItem(signature) as AbiEvent;
    expect(eventTopic(event)).toBe(toEventSelector(event));
  });

  it('is the well-known ERC-20 Transfer topic', () => {
    expect(eventTopic(parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)') as AbiEvent)).toBe(
      '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
    );
  });
});
