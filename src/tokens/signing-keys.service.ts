import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { firstLine } from '../common/first-line.js';
import { AppConfig } from '../config/app-config.js';
import { SigningKeyCipher } from './signing-key-cipher.js';
import { SigningKeyError } from './signing-key.errors.js';
import { SigningKeyRepository, type StoredSigningKey } from './signing-key.repository.js';
import { TokenClients } from './token-clients.js';

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

/** A key that signs: its kid goes into the token header. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

interface LoadedKey extends SigningKey {
  publicKey: KeyObject;
  jwk: PublicJwk;
  retiredAt: Date | null;
}

/** How often an instance re-reads the key table, so a rotation by another instance reaches it. */
const RELOAD_INTERVAL_MS = 30_000;
/** An unknown kid triggers a re-read at most this often, so forged kids cannot flood the database. */
const UNKNOWN_KID_RELOAD_MS = 1_000;

/** RFC 7638 thumbprint of an OKP key: the kid, stable for the key and meaningless otherwise. */
function thumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/**
 * The service's Ed25519 signing keys: stored in the database (shared by every instance, surviving
 * restarts), private parts encrypted at rest when SIGNING_KEY_ENCRYPTION_KEY is set.
 */
@Injectable()
export class SigningKeysService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeysService.name);
  private readonly cipher: SigningKeyCipher;
  private keys = new Map<string, LoadedKey>();
  private current?: LoadedKey;
  private loading?: Promise<void>;
  private loadingAgain?: Promise<void>;
  private unsubscribe?: Promise<() => Promise<void>>;
  private lastReload = -Infinity;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: SigningKeyRepository,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly clients: TokenClients,
  ) {
    this.cipher = new SigningKeyCipher(config.SIGNING_KEY_ENCRYPTION_KEY ? Buffer.from(config.SIGNING_KEY_ENCRYPTION_KEY, 'hex') : undefined);
  }

  /** The longest any token we sign can live, as the clients' APIs registered it: a retired key stays published this long. */
  private get retention(): number {
    return this.clients.longestLifetime() * 1000;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Only loads: the first signature creates a key if there is none, so a CLI command that signs
    // nothing writes nothing. Without its tables (migrations pending) the service still starts,
    // unready, and loads the keys on first use.
    await this.reload().catch((e: unknown) => this.logger.warn(`signing keys not loaded yet: ${firstLine(e)}`));
    this.timer = setInterval(() => void this.reload().catch((e: Error) => this.logger.warn(`signing key reload failed: ${e.message}`)), RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await (await this.unsubscribe?.catch(() => undefined))?.();
  }

  async signingKey(): Promise<SigningKey> {
    this.subscribe();
    if (!this.current) await this.ensureActiveKey();
    return this.current!;
  }

  /** A key that may sign again what it signed before (a grace answer), while it is still published. */
  async privateKey(kid: string): Promise<SigningKey | undefined> {
    return (await this.loaded(kid)) ?? undefined;
  }

  /** The public key for a kid, re-reading the table once when the kid is new to this instance. */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    return (await this.loaded(kid))?.publicKey;
  }

  /**
   * The first signature or verification subscribes this instance to key changes, so that a
   * revocation made anywhere (another instance, the CLI) reaches it at once, not at the next
   * periodic reload. The command line, which signs and verifies nothing, never listens.
   */
  private subscribe(): void {
    this.unsubscribe ??= this.repository.onChange(() => void this.reload().catch((e: Error) => this.logger.warn(`signing key reload failed: ${e.message}`)));
  }

  private async loaded(kid: string): Promise<LoadedKey | undefined> {
    this.subscribe();
    const known = this.keys.get(kid);
    if (known) return known;
    if (performance.now() - this.lastReload < UNKNOWN_KID_RELOAD_MS) return undefined;
    await this.reload();
    return this.keys.get(kid);
  }

  async jwks(): Promise<{ keys: PublicJwk[] }> {
    if (!this.current) await this.ensureActiveKey();
    return { keys: [...this.keys.values()].map((k) => k.jwk) };
  }

  /** Creates a new active key and retires the others; retired keys still verify until their tokens expire. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    await this.reload();
    const retired = [...this.keys.values()].filter((k) => k.retiredAt === null).map((k) => k.kid);
    const kid = await this.create(true);
    return { kid, retired };
  }

  /**
   * A compromised key: gone from the JWKS, and every token it signed refused, on every instance
   * at once (each reloads its keys when told). When it is the key that signs, a new one takes over
   * first, so that logins go on.
   */
  async revoke(kid: string): Promise<{ revoked: string; signing: string }> {
    await this.reload();
    const key = await this.repository.find(kid);
    if (!key) throw new SigningKeyError('UNKNOWN_KEY', `no signing key with kid ${kid}`);
    if (key.revokedAt) throw new SigningKeyError('ALREADY_REVOKED', `signing key ${kid} was already revoked`);
    if (this.current?.kid === kid || key.retiredAt === null) await this.create(true);
    await this.repository.revoke(kid, new Date(this.clock.now()));
    this.logger.warn(`revoked signing key ${kid}: the tokens it signed are refused from now on`);
    await this.reload();
    return { revoked: kid, signing: this.current!.kid };
  }

  private async ensureActiveKey(): Promise<void> {
    await this.reload();
    if (!this.current) {
      // Two instances starting on an empty table may both create one: both stay valid, the newer signs.
      await this.create(false);
    }
  }

  private async create(retireOthers: boolean): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const x = publicKey.export({ format: 'jwk' }).x!;
    const kid = thumbprint(x);
    const sealed = this.cipher.seal(kid, privateKey.export({ format: 'der', type: 'pkcs8' }));
    await this.repository.insert(
      { kid, publicKeyHex: Buffer.from(x, 'base64url').toString('hex'), privateKey: sealed.value, encrypted: sealed.encrypted },
      retireOthers ? new Date(this.clock.now()) : undefined,
    );
    this.logger.log(`created signing key ${kid}${sealed.encrypted ? ' (encrypted at rest)' : ''}`);
    await this.reload();
    return kid;
  }

  private reload(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => {
        this.loading = undefined;
      });
      return this.loading;
    }
    // A load under way may have read the table before the change this call is about: one more follows it.
    this.loadingAgain ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.loadingAgain = undefined;
        return this.reload();
      });
    return this.loadingAgain;
  }

  private async load(): Promise<void> {
    // Throttling counts elapsed time; which keys are still needed is a question for the clock.
    this.lastReload = performance.now();
    const rows = await this.repository.findUsable(new Date(this.clock.now() - this.retention));
    if (this.cipher.enabled) await this.encryptInPlace(rows);
    const next = new Map<string, LoadedKey>();
    for (const row of rows) next.set(row.kid, this.keys.get(row.kid) ? { ...this.keys.get(row.kid)!, retiredAt: row.retiredAt } : this.loadKey(row));
    this.keys = next;
    // Rows come newest first: the newest active key signs.
    this.current = [...next.values()].find((k) => k.retiredAt === null);
  }

  /** Keys written before SIGNING_KEY_ENCRYPTION_KEY was set are encrypted where they are stored, the first time they are read with one. */
  private async encryptInPlace(rows: StoredSigningKey[]): Promise<void> {
    for (const row of rows.filter((r) => !r.encrypted)) {
      const sealed = this.cipher.seal(row.kid, this.cipher.open(row.kid, row.privateKey, false));
      if (await this.repository.seal(row.kid, sealed.value)) this.logger.log(`encrypted signing key ${row.kid} at rest`);
      row.privateKey = sealed.value;
      row.encrypted = true;
    }
  }

  private loadKey(row: StoredSigningKey): LoadedKey {
    const privateKey = createPrivateKey({ key: this.cipher.open(row.kid, row.privateKey, row.encrypted), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const x = publicKey.export({ format: 'jwk' }).x!;
    return { kid: row.kid, privateKey, publicKey, retiredAt: row.retiredAt, jwk: { kty: 'OKP', crv: 'Ed25519', x, kid: row.kid, use: 'sig', alg: 'EdDSA' } };
  }
}
