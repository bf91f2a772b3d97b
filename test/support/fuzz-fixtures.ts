import { hashMessage, Signature, Wallet } from 'ethers';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { UsersService } from '../../src/users/users.service.js';
import { newClientKey, signEmail, type ClientKey } from './fib-client.js';
import { FuzzClient, jsonRequest, type FuzzRequest, type FuzzResponse } from './fuzz-http.js';

export const FIB = '/auth/api/v1/authentication-management';
export const INTROSPECT = '/auth/api/v1/token/introspect';

export const basicAuth = (email: string, password: string): string => `Basic ${Buffer.from(`${email}:${password}`, 'utf8').toString('base64')}`;

export interface FibIdentity {
  email: string;
  key: ClientKey;
  /** Spellings of the email that name this user, each with a signature over that exact string. */
  logins: { email: string; signature: string }[];
}

export interface TokenPairStrings {
  accessToken: string;
  refreshToken: string;
}

/** Real tokens of every kind, for "a real token where another kind belongs". */
export interface TokenPool {
  fibAccess: string;
  fibRefresh: string;
  walletAccess: string;
  walletRefresh: string;
  serviceAccess: string;
}

/**
 * Tokens that each successful request replaces (a refresh rotates them); only valid cases present
 * them. Requests run in lanes side by side, each lane with chains of its own, so that no two
 * requests in flight present the same live token.
 */
export interface Lane {
  fibRefresh: string;
  walletPair: TokenPairStrings;
  serviceToken: string;
}

/** The users, keys and live tokens the fuzzers build valid requests from. */
export interface FuzzWorld {
  client: FuzzClient;
  fib: FibIdentity[];
  wallets: Wallet[];
  service: { email: string; password: string };
  introspector: string;
  pool: TokenPool;
  lanes: Lane[];
  /** Requests made to obtain tokens for a case (not generated themselves). */
  helperRequests: number;
  nextTimestamp(): number;
}

function expectOk(res: FuzzResponse, what: string): Record<string, unknown> {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${res.text}`);
  return res.json as Record<string, unknown>;
}

/** A fresh EIP-191 login body; every call uses a timestamp no earlier call used (replays are refused). */
export function walletLoginBody(world: FuzzWorld, wallet: Wallet, form: 'rsv' | 'v01' | 'compact' = 'rsv', lowerSigner = false): { signer: string; timestampInMs: number; signature: string } {
  const timestampInMs = world.nextTimestamp();
  const rsv = wallet.signingKey.sign(hashMessage(String(timestampInMs))).serialized;
  const signature = form === 'rsv' ? rsv : form === 'compact' ? Signature.from(rsv).compactSerialized : rsv.slice(0, 130) + (parseInt(rsv.slice(130), 16) - 27).toString(16).padStart(2, '0');
  return { signer: lowerSigner ? wallet.address.toLowerCase() : wallet.address, timestampInMs, signature };
}

export async function fibLogin(world: FuzzWorld, who: FibIdentity, helper = true): Promise<TokenPairStrings> {
  if (helper) world.helperRequests += 1;
  const login = who.logins[0]!;
  const res = await world.client.send(jsonRequest('POST', `${FIB}/session`, { email: login.email, signature: login.signature, authPublicKeyHex: who.key.publicKeyHex }));
  return expectOk(res, 'FIB login').data as TokenPairStrings;
}

export async function walletLogin(world: FuzzWorld, wallet: Wallet, helper = true): Promise<TokenPairStrings> {
  if (helper) world.helperRequests += 1;
  const res = await world.client.send(jsonRequest('POST', '/api/auth/login', walletLoginBody(world, wallet)));
  return expectOk(res, 'wallet login').data as TokenPairStrings;
}

export async function serviceToken(world: FuzzWorld, email: string, password: string, ttl = 86400, helper = true): Promise<string> {
  if (helper) world.helperRequests += 1;
  const req: FuzzRequest = jsonRequest('POST', '/v1/users/authorize', { ttl }, { authorization: basicAuth(email, password) });
  return expectOk(await world.client.send(req), 'service authorize').access_token as string;
}

/** Creates the users (directly, through UsersService) and logs each kind in once over HTTP. */
export async function createFuzzWorld(app: NestFastifyApplication, client: FuzzClient, lanes: number): Promise<FuzzWorld> {
  const users = app.get(UsersService);
  const spellings: [string, string[]][] = [
    ['fuzz0@example.org', ['fuzz0@example.org', 'FUZZ0@example.org', '  fuzz0@example.org ']],
    ['Mixed.Case@Example.org', ['Mixed.Case@Example.org', 'mixed.case@example.org']],
    // Upper case and the decomposed (NFD) spelling name the same user; each is signed as sent.
    ['ünïcode@example.org', ['ünïcode@example.org', 'ÜNÏCODE@example.org', 'u\u0308ni\u0308code@example.org']],
    ['alice@wonderland', ['alice@wonderland', 'Alice@Wonderland']],
  ];
  const fib: FibIdentity[] = [];
  for (const [email, forms] of spellings) {
    const key = newClientKey();
    await users.create({ email, account: email.split('@')[0]!.toLowerCase() + '@fuzz', publicKeys: [key.publicKeyHex] });
    fib.push({ email, key, logins: [...new Set(forms)].map((form) => ({ email: form, signature: signEmail(key, form) })) });
  }
  const wallets = [Wallet.createRandom(), Wallet.createRandom()] as unknown as Wallet[];
  for (const [i, wallet] of wallets.entries()) await users.create({ email: `wallet${i}@example.org`, account: `wallet${i}@fuzz`, wallets: [wallet.address] });
  const service = { email: 'fuzz-billing@svc.example', password: 'correct horse battery staple' };
  await users.create({ email: service.email, account: 'billing@svc', role: 'ROLE_SERVICE', password: service.password });
  await users.create({ email: 'introspector@svc.example', account: 'introspector@svc', role: 'ROLE_SERVICE', password: 'introspector-secret' });
  await users.create({ email: 'pool@svc.example', account: 'pool@svc', role: 'ROLE_SERVICE', password: 'pool-secret' });

  // Timestamps count down from now, one millisecond apart: unique, and inside the 5-minute window for 100,000 logins.
  const start = Date.now();
  let offset = 0;
  const world = {
    client,
    fib,
    wallets,
    service,
    helperRequests: 0,
    nextTimestamp: () => start - offset++,
  } as FuzzWorld;
  const fibPair = await fibLogin(world, fib[0]!);
  const walletPair = await walletLogin(world, wallets[1]!);
  world.pool = {
    fibAccess: fibPair.accessToken,
    fibRefresh: fibPair.refreshToken,
    walletAccess: walletPair.accessToken,
    walletRefresh: walletPair.refreshToken,
    serviceAccess: await serviceToken(world, 'pool@svc.example', 'pool-secret'),
  };
  world.introspector = await serviceToken(world, 'introspector@svc.example', 'introspector-secret');
  world.lanes = await Promise.all(
    Array.from({ length: lanes }, async () => ({
      fibRefresh: (await fibLogin(world, fib[2]!)).refreshToken,
      walletPair: await walletLogin(world, wallets[0]!),
      serviceToken: await serviceToken(world, service.email, service.password),
    })),
  );
  return world;
}
