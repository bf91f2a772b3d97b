// Compiles contracts/Factory.sol with solc (wasm) and writes contracts/Factory.json, the fixture the
// tests and examples deploy: `node scripts/compile-contracts.mjs`. test/chain/contracts.e2e-spec.ts
// recompiles and checks the fixture still matches the source.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE_PATH = join(ROOT, 'contracts', 'Factory.sol');
export const FIXTURE_PATH = join(ROOT, 'contracts', 'Factory.json');
/** ganache 7 implements the EVM up to Shanghai; a newer target emits opcodes it rejects. */
const EVM_VERSION = 'shanghai';

/** The fixture as solc makes it from the source: the ABIs, and the Factory's creation bytecode. */
export async function compileContracts() {
  const { default: solc } = await import('solc');
  const input = {
    language: 'Solidity',
    sources: { 'Factory.sol': { content: readFileSync(SOURCE_PATH, 'utf8') } },
    settings: { evmVersion: EVM_VERSION, optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const { Factory, Wallet } = output.contracts['Factory.sol'];
  // The Factory's bytecode holds the Wallet's creation code; the Wallet needs only its ABI here.
  return {
    compiler: solc.version(),
    evmVersion: EVM_VERSION,
    contracts: { Factory: { abi: Factory.abi, bytecode: `0x${Factory.evm.bytecode.object}` }, Wallet: { abi: Wallet.abi } },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const compiled = JSON.stringify(await compileContracts(), null, 2) + '\n';
  // --print: to stdout, for the test that checks the fixture (solc's wasm runtime installs a
  // process-wide unhandledRejection handler that throws, so it is kept out of the test process).
  if (process.argv.includes('--print')) process.stdout.write(compiled);
  else {
    writeFileSync(FIXTURE_PATH, compiled);
    console.log(`wrote ${FIXTURE_PATH}`);
  }
}
