import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKey, verifyEd25519 } from './ed25519-verifier.js';

const VECTORS = join(process.cwd(), '..', 'shared', 'vectors', 'wycheproof-ed25519.json');

interface WycheproofFile {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: string }[] }[];
}

const describeVectors = existsSync(VECTORS) ? describe : describe.skip;
if (!existsSync(VECTORS)) console.warn(`skipping Wycheproof vectors: ${VECTORS} is absent (it is present in CI)`);

describeVectors('verifyEd25519 against Wycheproof', () => {
  const file = existsSync(VECTORS) ? (JSON.parse(readFileSync(VECTORS, 'utf8')) as WycheproofFile) : undefined;
  const cases = file?.testGroups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.pk, ...t }))) ?? [];

  it('has all 151 vectors', () => {
    expect(cases).toHaveLength(151);
    expect(file?.numberOfTests).toBe(151);
  });

  it.each(cases.map((c) => [c.tcId, c.result, c] as const))('tcId %i is %s', (_id, result, c) => {
    let accepted: boolean;
    try {
      accepted = verifyEd25519(ed25519PublicKey(Buffer.from(c.pk, 'hex')), Buffer.from(c.msg, 'hex'), Buffer.from(c.sig, 'hex'));
    } catch {
      accepted = false;
    }
    expect(accepted).toBe(result === 'valid');
  });
});
