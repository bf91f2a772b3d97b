import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The API adapters: each an island over the session core, so that one API's wire format never leaks into another's. */
const ADAPTERS = ['fib', 'wallet', 'service-account', 'oauth'];
/** Only src/chain talks to the Ethereum node, so one place holds its timeouts and trust: nothing else makes a viem transport or client. */
const NODE_CLIENT = { name: 'viem', importNames: ['createPublicClient', 'createWalletClient', 'createClient', 'http', 'webSocket', 'fallback', 'custom'], message: 'Only src/chain talks to the Ethereum node: use ChainClient or ContractSignatures.' };
const NO_ADAPTERS = { group: ['**/apis/**', '**/apis'], message: 'Only the composition root (app.module.ts, app.factory.ts) imports an API adapter: move the shared piece down into sessions, http or common.' };

/**
 * The import rule of a module below the adapters that also may not import `folders` (folders under
 * src/), `message` saying why. It repeats the adapters and node-client rules: a later block's
 * options for a rule replace an earlier block's, they do not add to them.
 */
function importsNone(files, folders, message) {
  const group = folders.flatMap((folder) => [`**/${folder}/**`, `**/${folder}`]);
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: [NO_ADAPTERS, { group, message }], paths: [NODE_CLIENT] }] } };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'coverage/**', 'data/**', 'examples/**/dist/**', 'packages/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', TextEncoder: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through AppConfig (src/config).' }],
    },
  },
  {
    // Arrows point one way: adapters -> core -> repositories. Nothing below the adapters (auth, sessions,
    // tokens and the rest) imports one: only the composition root puts them together.
    files: ['src/**/*.ts'],
    ignores: ['src/apis/**', 'src/app.module.ts', 'src/app.factory.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ADAPTERS], paths: [NODE_CLIENT] }] },
  },
  {
    // The chain module is the node's client.
    files: ['src/chain/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ADAPTERS] }] },
  },
  ...ADAPTERS.map((adapter) => ({
    // An adapter imports no other adapter.
    files: [`src/apis/${adapter}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ADAPTERS.filter((other) => other !== adapter).map((other) => ({ group: [`**/apis/${other}/**`, `../${other}/**`, `../../${other}/**`], message: `The ${adapter} adapter may not import the ${other} adapter.` })),
          paths: [NODE_CLIENT],
        },
      ],
    },
  })),
  // Tokens are signed and verified the same for every session and every login: the signing keys
  // learn how long tokens live from the clients the APIs register, not from the code that issues them.
  importsNone(['src/tokens/**/*.ts'], ['sessions', 'auth'], 'tokens imports neither the session core nor the login pipeline.'),
  // The session core opens, rotates and ends sessions for a login already proven; how it was proven is the login pipeline's.
  importsNone(['src/sessions/**/*.ts'], ['auth'], 'sessions does not import the login pipeline (src/auth): it runs after it.'),
  // The limiter raises its own errors and knows no API, no login and no session.
  importsNone(['src/rate-limit/**/*.ts'], ['auth', 'sessions'], 'rate-limit imports neither the login code nor the session core.'),
  {
    // Configuration loading, tests, benchmarks and scripts may read the environment.
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**', 'prisma/**', 'prisma.config.ts', 'examples/**', '**/*.spec.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
