import { ConfigValidationError, loadConfig } from './app-config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, DATA_DIR: './data', MIGRATE_ON_START: true, ACCESS_TOKEN_TTL: 300, REFRESH_TOKEN_TTL: 86400, REFRESH_REUSE_GRACE: 10, WORKERS: 1, SHUTDOWN_TIMEOUT_MS: 10000 });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('parses numbers and booleans', () => {
    expect(loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', DATABASE_URL: 'postgresql://u@h/db' })).toMatchObject({
      PORT: 8080,
      MIGRATE_ON_START: false,
      DATABASE_URL: 'postgresql://u@h/db',
    });
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
  ])('refuses %s=%s and names it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain(`${name}=`);
  });
});
