import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FACTORY_FIXTURE } from '../support/ethereum-node.js';

interface Compiled {
  compiler: string;
  evmVersion: string;
  contracts: unknown;
}

/** contracts/Factory.json is what solc 0.8.37 makes of contracts/Factory.sol (shanghai, as ganache runs). */
describe('the Factory fixture', () => {
  it('matches a fresh compilation of contracts/Factory.sol', async () => {
    // In a process of its own: solc's wasm runtime installs a process-wide unhandledRejection
    // handler that throws, which would turn any later stray rejection in this process (ganache's
    // own promises emit some) into an uncaught exception and Jest's exit code into 1.
    const { stdout } = await promisify(execFile)(process.execPath, [join(process.cwd(), 'scripts', 'compile-contracts.mjs'), '--print'], { timeout: 60_000 });
    const compiled = JSON.parse(stdout) as Compiled;
    expect(compiled.compiler).toMatch(/^0\.8\.37\+/);
    expect(compiled.evmVersion).toBe('shanghai');
    expect(compiled).toEqual(FACTORY_FIXTURE);
  });
});
