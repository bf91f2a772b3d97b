// Creates a wallet through the Factory contract and logs in to sigauth with it, as a client would.
// See README.md beside this file. Plain JavaScript on viem; run from the repository root:
//
//   node examples/factory-wallet/create-and-login.mjs deploy   # once: deploys a Factory, prints its address
//   node examples/factory-wallet/create-and-login.mjs          # creates a wallet, waits for sigauth, logs in
import { readFileSync } from 'node:fs';
import { createPublicClient, createWalletClient, decodeEventLog, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const RPC_URL = process.env.ETH_RPC_URL ?? 'http://127.0.0.1:8545';
const SIGAUTH_URL = process.env.SIGAUTH_URL ?? 'http://localhost:3000';
// ganache --wallet.deterministic's first account: only ever use it on a local test node.
const PRIVATE_KEY = process.env.PRIVATE_KEY ?? '0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d';
const SIWE_DOMAIN = process.env.SIWE_DOMAIN;
const WAIT_MS = Number(process.env.WAIT_MS ?? 120_000);

const { contracts } = JSON.parse(readFileSync(new URL('../../contracts/Factory.json', import.meta.url), 'utf8'));
const { abi, bytecode } = contracts.Factory;
const account = privateKeyToAccount(PRIVATE_KEY);
const node = createPublicClient({ transport: http(RPC_URL), cacheTime: 0 });
const chainId = await node.getChainId();
const chain = { id: chainId, name: `chain ${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [RPC_URL] } } };
const wallet = createWalletClient({ account, chain, transport: http(RPC_URL) });

async function post(path, body) {
  const res = await fetch(new URL(path, SIGAUTH_URL), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
}

/** The timestamp login: personal_sign over the decimal milliseconds. `signer` may be the contract wallet. */
async function timestampLogin(signer) {
  const timestampInMs = Date.now();
  return post('/api/auth/login', { signer, timestampInMs, signature: await account.signMessage({ message: String(timestampInMs) }) });
}

/** Sign-In with Ethereum: a nonce from sigauth, an EIP-4361 message, the owner's signature. */
async function siweLogin(address) {
  const { body } = await post('/api/auth/siwe/nonce');
  const message = [
    `${SIWE_DOMAIN} wants you to sign in with your Ethereum account:`,
    address,
    '',
    'Sign in to sigauth with a Factory wallet.',
    '',
    `URI: https://${SIWE_DOMAIN}/login`,
    'Version: 1',
    `Chain ID: ${chainId}`,
    `Nonce: ${body.data.nonce}`,
    `Issued At: ${new Date().toISOString()}`,
  ].join('\n');
  return post('/api/auth/siwe/login', { message, signature: await account.signMessage({ message }) });
}

const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

if (process.argv[2] === 'deploy') {
  const hash = await wallet.deployContract({ abi, bytecode });
  const receipt = await node.waitForTransactionReceipt({ hash });
  console.log(`Factory deployed at ${receipt.contractAddress} (block ${receipt.blockNumber}, chain ${chainId})`);
  console.log(`start sigauth with ETH_RPC_URL=${RPC_URL} ETH_FACTORY_ADDRESS=${receipt.contractAddress} ETH_CHAIN_ID=${chainId}`);
  process.exit(0);
}

const factory = process.env.ETH_FACTORY_ADDRESS;
if (!factory) {
  console.error('set ETH_FACTORY_ADDRESS (the address `deploy` printed, as sigauth is given it)');
  process.exit(2);
}
const hash = await wallet.writeContract({ address: factory, abi, functionName: 'create' });
const receipt = await node.waitForTransactionReceipt({ hash });
const log = receipt.logs.find((l) => l.address.toLowerCase() === factory.toLowerCase());
const { args } = decodeEventLog({ abi, data: log.data, topics: log.topics });
console.log(`created wallet ${args.wallet} for ${args.owner} in block ${receipt.blockNumber}`);

// sigauth registers the wallets once the block is ETH_CONFIRMATIONS deep: until then, 404. The
// contract is the wallet this creation adds (a creator registered before has its own already).
const deadline = Date.now() + WAIT_MS;
let asContract;
for (;;) {
  asContract = await timestampLogin(args.wallet);
  if (asContract.status !== 404 || Date.now() > deadline) break;
  console.log(`not registered yet (block ${receipt.blockNumber}, head ${await node.getBlockNumber()}); waiting for confirmations...`);
  await new Promise((resolve) => setTimeout(resolve, 2000));
}
if (asContract.status !== 200) {
  console.error(`login as the contract wallet failed: ${asContract.status} ${JSON.stringify(asContract.body)}`);
  process.exit(1);
}
console.log('logged in as the contract wallet (ERC-1271: the owner signed, the contract said yes):', claims(asContract.body.data.accessToken));

const asCreator = await timestampLogin(account.address);
console.log(`logged in as the creator (EIP-191): ${asCreator.status}`, asCreator.status === 200 ? claims(asCreator.body.data.accessToken) : asCreator.body);

if (SIWE_DOMAIN) {
  const siwe = await siweLogin(args.wallet);
  console.log(`Sign-In with Ethereum as the contract wallet: ${siwe.status}`, siwe.status === 200 ? claims(siwe.body.data.accessToken) : siwe.body);
}
