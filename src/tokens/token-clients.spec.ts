import { TokenClients } from './token-clients.js';

describe('TokenClients', () => {
  it('knows a client as public only when its API registered it so', () => {
    const clients = new TokenClients();
    clients.register({ clientId: 'device', accessTtl: 300, refreshTtl: 86_400, publicClient: true });
    clients.register({ clientId: 'backend', accessTtl: 3600, refreshTtl: 0, publicClient: false });
    expect(clients.isPublic('device')).toBe(true);
    expect(clients.isPublic('backend')).toBe(false);
    expect(clients.isPublic('someone@example.com')).toBe(false);
  });

  it('gives the longest lifetime of any registered token, and none before a registration', () => {
    const clients = new TokenClients();
    expect(clients.longestLifetime()).toBe(0);
    clients.register({ accessTtl: 900, refreshTtl: 7200, publicClient: false });
    clients.register({ clientId: 'device', accessTtl: 300, refreshTtl: 3600, publicClient: true });
    expect(clients.longestLifetime()).toBe(7200);
  });

  it('returns what it registers, and refuses a client id twice or a public client without one', () => {
    const clients = new TokenClients();
    const policy = { clientId: 'device', accessTtl: 300, refreshTtl: 3600, publicClient: true };
    expect(clients.register(policy)).toBe(policy);
    expect(() => clients.register({ ...policy })).toThrow('client device is registered twice');
    expect(() => clients.register({ accessTtl: 1, refreshTtl: 1, publicClient: true })).toThrow('a public client is registered with its client id');
  });
});
