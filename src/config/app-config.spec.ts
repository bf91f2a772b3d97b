import { ConfigValidationError, loadConfig } from './app-config.js';


/** The message of the configuration error `env` is refused with; fails the test when it is accepted. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, DATA_DIR: './data', MIGRATE_ON_START: true, ACCESS_TOKEN_TTL: 300, REFRESH_TOKEN_TTL: 86400, REFRESH_REUSE_GRACE: 10, WORKERS: 1, SHUTDOWN_TIMEOUT_MS: 10000 });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('defaults PUBLIC_URL to localhost on PORT and JWT_ISSUER to PUBLIC_URL; either may be set', () => {
    expect(loadConfig({})).toMatchObject({ PUBLIC_URL: 'http://localhost:3000', JWT_ISSUER: 'http://localhost:3000', DPOP_PROOF_WINDOW_SECONDS: 60 });
    expect(loadConfig({ PORT: '8080' })).toMatchObject({ PUBLIC_URL: 'http://localhost:8080', JWT_ISSUER: 'http://localhost:8080' });
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.org/sigauth/' })).toMatchObject({ PUBLIC_URL: 'https://auth.example.org/sigauth', JWT_ISSUER: 'https://auth.example.org/sigauth' });
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.org', JWT_ISSUER: 'sigauth' })).toMatchObject({ PUBLIC_URL: 'https://auth.example.org', JWT_ISSUER: 'sigauth' });
  });

  it.each(['auth.example.org', 'ftp://auth.example.org', 'https://auth.example.org/?x=1', 'https://user:pw@auth.example.org'])('refuses PUBLIC_URL=%s', (value) => {
    expect(() => loadConfig({ PUBLIC_URL: value })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ PUBLIC_URL: value })).toThrow(/PUBLIC_URL=.*must be an http\(s\) URL without query, fragment or credentials/);
  });

  it('parses numbers and booleans', () => {
    expect(loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', DATABASE_URL: 'postgresql://u@h/db' })).toMatchObject({
      PORT: 8080,
      MIGRATE_ON_START: false,
      DATABASE_URL: 'postgresql://u@h/db',
    });
  });

  it('bounds growth by default: a cleanup every minute, ended sessions kept 7 days, audit events 90', () => {
    expect(loadConfig({})).toMatchObject({ CLEANUP_INTERVAL_MS: 60000, SESSION_RETENTION: 604800, AUDIT_RETENTION_DAYS: 90 });
    expect(loadConfig({ CLEANUP_INTERVAL_MS: '500', SESSION_RETENTION: '0', AUDIT_RETENTION_DAYS: '1' })).toMatchObject({ CLEANUP_INTERVAL_MS: 500, SESSION_RETENTION: 0, AUDIT_RETENTION_DAYS: 1 });
  });

  it('reads TRUST_PROXY as false, a hop count, or proxy addresses and CIDRs', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 172.28.0.10,fd00::/8, loopback' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '172.28.0.10', 'fd00::/8', 'loopback']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0/8'],
    ['TRUST_PROXY', 'proxy.internal'],
    ['TRUST_PROXY', '11'],
    ['TRUST_PROXY', '10.0.0.1,'],
    ['PORT', '70000'],
    ['SHUTDOWN_TIMEOUT_MS', '0'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['ACCESS_TOKEN_TTL', '1.5'],
    ['MIGRATE_ON_START', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['SIGNING_KEY_ENCRYPTION_KEY', 'abc'],
    ['LOG_LEVEL', 'loud'],
    ['CLEANUP_INTERVAL_MS', '99'],
    ['CLEANUP_INTERVAL_MS', 'hourly'],
    ['SESSION_RETENTION', '-1'],
    ['SESSION_RETENTION', '7d'],
    ['AUDIT_RETENTION_DAYS', '0'],
    ['AUDIT_RETENTION_DAYS', '36501'],
  ])('refuses %s=%s and names it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid configuration: ${name}[= ]`));
  });

  describe('secrets', () => {

    it.each([
      ['SIGNING_KEY_ENCRYPTION_KEY', 'a'.repeat(63), 'a'.repeat(63), /must be 64 hex digits/],
      ['SIGNING_KEY_ENCRYPTION_KEY', `${'0f'.repeat(32)}\n`, '0f'.repeat(32), /must be 64 hex digits/],
      ['SIGNING_KEY_ENCRYPTION_KEY', 'correct horse battery staple', 'correct horse', /must be 64 hex digits/],
      ['DATABASE_URL', 'mysql://sigauth:db-hunter2@db.internal/sigauth', 'db-hunter2', /must be a postgresql:\/\/ URL/],
      ['DATABASE_URL', 'db-hunter2-pasted-alone', 'db-hunter2', /must be a postgresql:\/\/ URL/],
      ['REDIS_URL', 'http://:redis-hunter2@cache.internal:6379', 'redis-hunter2', /must be a redis:\/\/ or rediss:\/\/ URL/],
      ['ETH_RPC_URL', 'wss://mainnet.example-rpc.io/v3/0123456789abcdef0123456789abcdef', '0123456789abcdef', /must be an http:\/\/ or https:\/\/ URL/],
    ])('refuses a bad %s by its name and what is wrong, without its value', (name, value, secret, wrong) => {
      const message = refusal({ [name]: value });
      expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} \\(a secret, not shown\\): `));
      expect(message).toMatch(wrong);
      expect(message).not.toContain(secret);
    });

    it('shows no secret that sits beside another bad variable', () => {
      const message = refusal({ PORT: 'eighty', SIGNING_KEY_ENCRYPTION_KEY: 'key-hunter2', DATABASE_URL: 'postgresql://u:db-hunter2@h/db' });
      expect(message).toMatch(/^Invalid configuration: PORT="eighty": .*; SIGNING_KEY_ENCRYPTION_KEY \(a secret, not shown\): /);
      expect(message).not.toMatch(/hunter2/);
    });

    it.each([
      [{ PUBLIC_URL: 'https://admin:public-hunter2@auth.example.org' }, 'PUBLIC_URL="https://…@auth.example.org": must be an http(s) URL without query, fragment or credentials'],
      [{ SIWE_URIS: 'ftp://u:siwe-hunter2@files.example.com' }, 'SIWE_URIS: "ftp://…@files.example.com" is not an http(s) origin'],
      [{ SIWE_DOMAINS: 'u:domain-hunter2@app example.com' }, 'SIWE_DOMAINS: "…@app example.com" is not an RFC 3986 authority'],
      [{ JWT_AUDIENCE: '' }, 'JWT_AUDIENCE="": '],
    ])('shows another variable without the userinfo of a URL in it: %p', (env, shown) => {
      const message = refusal(env as NodeJS.ProcessEnv);
      expect(message).toContain(shown);
      expect(message).not.toMatch(/hunter2/);
    });
  });

  describe('Ethereum', () => {
    const FACTORY = { ETH_RPC_URL: 'http://127.0.0.1:8545', ETH_FACTORY_ADDRESS: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' };

    it('gives the documented defaults', () => {
      expect(loadConfig({})).toMatchObject({
        ETH_FACTORY_EVENT: 'WalletCreated(address indexed owner, address wallet)',
        ETH_FACTORY_OWNER_ARG: 'owner',
        ETH_FACTORY_CONTRACT_ARG: 'wallet',
        ETH_CONFIRMATIONS: 12,
        ETH_START_BLOCK: 0,
        ETH_POLL_INTERVAL_MS: 4000,
        ETH_CHAIN_ID: 1,
        SIWE_DOMAINS: [],
        SIWE_URIS: [],
      });
    });

    it('lists domains and derives their https origins; SIWE_URIS overrides them', () => {
      expect(loadConfig({ SIWE_DOMAINS: 'app.example.com, localhost:3000' })).toMatchObject({ SIWE_DOMAINS: ['app.example.com', 'localhost:3000'], SIWE_URIS: ['https://app.example.com', 'https://localhost:3000'] });
      expect(loadConfig({ SIWE_DOMAINS: 'localhost:3000', SIWE_URIS: 'http://localhost:3000/' }).SIWE_URIS).toEqual(['http://localhost:3000']);
    });

    it.each(['https://mainnet.example-rpc.io/v3/key', 'http://127.0.0.1:8545', 'http://127.3.2.1:8545', 'http://localhost:8545', 'http://[::1]:8545'])('accepts the node at %s', (url) => {
      expect(loadConfig({ ETH_RPC_URL: url }).ETH_RPC_URL).toBe(url);
    });

    it('accepts an event with other argument names when they are named', () => {
      expect(loadConfig({ ...FACTORY, ETH_FACTORY_EVENT: 'event Deployed(address indexed creator, address indexed account, uint256 salt)', ETH_FACTORY_OWNER_ARG: 'creator', ETH_FACTORY_CONTRACT_ARG: 'account' })).toMatchObject({ ETH_FACTORY_OWNER_ARG: 'creator' });
    });

    it.each([
      [{ ETH_FACTORY_EVENT: 'WalletCreated(address indexed owner, address wallet' }, /^Invalid configuration: ETH_FACTORY_EVENT=.*not an event signature/],
      [{ ETH_FACTORY_OWNER_ARG: 'creator' }, /ETH_FACTORY_OWNER_ARG="creator": ETH_FACTORY_EVENT has no argument of that name/],
      [{ ETH_FACTORY_EVENT: 'WalletCreated(address indexed owner, uint256 wallet)' }, /ETH_FACTORY_CONTRACT_ARG="wallet": the argument is of type uint256, not address/],
      [{ ETH_FACTORY_ADDRESS: FACTORY.ETH_FACTORY_ADDRESS }, /ETH_FACTORY_ADDRESS: following the Factory needs ETH_RPC_URL/],
      [{ ...FACTORY, ETH_FACTORY_ADDRESS: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD' }, /ETH_FACTORY_ADDRESS=.*checksum/],
      [{ ETH_FACTORY_ADDRESS: '0x123' }, /ETH_FACTORY_ADDRESS="0x123"/],
      [{ ETH_RPC_URL: 'ws://127.0.0.1:8546' }, /ETH_RPC_URL \(a secret, not shown\): ETH_RPC_URL must be an http:\/\/ or https:\/\/ URL/],
      [{ ETH_RPC_URL: 'http://node.example.com:8545/v3/key' }, /ETH_RPC_URL \(a secret, not shown\): must be an https:\/\/ URL, or http:\/\/ only to a loopback address/],
      [{ ETH_RPC_URL: 'http://10.0.0.7:8545' }, /ETH_RPC_URL \(a secret, not shown\): must be an https:\/\/ URL/],
      [{ ETH_RPC_URL: 'http://127.0.0.1.nip.io:8545' }, /ETH_RPC_URL \(a secret, not shown\): must be an https:\/\/ URL/],
      [{ ETH_CONFIRMATIONS: '-1' }, /ETH_CONFIRMATIONS=-1:/],
      [{ ETH_CHAIN_ID: '0' }, /ETH_CHAIN_ID=0:/],
      [{ ETH_POLL_INTERVAL_MS: 'soon' }, /ETH_POLL_INTERVAL_MS="soon"/],
      [{ SIWE_DOMAINS: 'app.example.com,#fragment' }, /SIWE_DOMAINS: "#fragment" is not an RFC 3986 authority/],
      [{ SIWE_URIS: 'ftp://files.example.com' }, /SIWE_URIS: "ftp:\/\/files.example.com" is not an http\(s\) origin/],
    ])('refuses %p and names the variable', (env, message) => {
      expect(refusal(env as NodeJS.ProcessEnv)).toMatch(message);
    });
  });
});
