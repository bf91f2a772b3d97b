import fc from 'fast-check';
import { budgetAddress } from './budget-address.js';

const hex = (groups: number[]) => groups.map((g) => g.toString(16)).join(':');
/** The shortest spelling, as the WHATWG URL parser writes it. */
const compressed = (groups: number[]) => new URL(`http://[${hex(groups)}]/`).hostname.slice(1, -1);

describe('budgetAddress', () => {
  it('keeps IPv4 addresses as they are, and reads IPv4-mapped IPv6 as IPv4', () => {
    expect(budgetAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(budgetAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(budgetAddress('::ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('counts IPv6 by its /64, whatever the spelling, the zone or the interface id', () => {
    expect(budgetAddress('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(budgetAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(budgetAddress('2001:DB8:1:2:0:0:0:5')).toBe('2001:db8:1:2::/64');
    expect(budgetAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(budgetAddress('::1')).toBe('0:0:0:0::/64');
    expect(budgetAddress('::')).toBe('0:0:0:0::/64');
    expect(budgetAddress('2001:db8:1:3::1')).not.toBe(budgetAddress('2001:db8:1:2::1'));
  });

  it('leaves what is not an IP address as it is', () => {
    expect(budgetAddress('unix:/tmp/s')).toBe('unix:/tmp/s');
  });

  it('gives one key to every address of a /64, and different keys to different /64s', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const prefix = fc.array(group, { minLength: 4, maxLength: 4 }).filter((p) => p.some((g) => g !== 0));
    const suffix = fc.array(group, { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(prefix, suffix, suffix, (p, s1, s2) => {
        const a = [...p, ...s1];
        const b = [...p, ...s2];
        expect(budgetAddress(hex(a))).toBe(budgetAddress(compressed(b)));
        expect(budgetAddress(compressed(a))).toBe(`${p.map((g) => g.toString(16)).join(':')}::/64`);
      }),
    );
    fc.assert(
      fc.property(prefix, prefix, suffix, (p1, p2, s) => {
        fc.pre(hex(p1) !== hex(p2));
        expect(budgetAddress(compressed([...p1, ...s]))).not.toBe(budgetAddress(compressed([...p2, ...s])));
      }),
    );
  });
});
