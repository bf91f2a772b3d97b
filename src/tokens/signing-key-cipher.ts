import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const FORMAT = 'v1';
/** GCM's full tag: Node would otherwise accept a tag cut to 4 bytes, which a forger can guess. */
const TAG_BYTES = 16;

/**
 * Encrypts signing keys at rest with AES-256-GCM under SIGNING_KEY_ENCRYPTION_KEY. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` in base64url; the key id is bound as associated data, so a
 * ciphertext moved to another row does not decrypt.
 */
export class SigningKeyCipher {
  constructor(private readonly key: Buffer | undefined) {}

  get enabled(): boolean {
    return this.key !== undefined;
  }

  seal(kid: string, plaintext: Buffer): { value: string; encrypted: boolean } {
    if (!this.key) return { value: plaintext.toString('base64url'), encrypted: false };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES }).setAAD(Buffer.from(kid));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { value: [FORMAT, iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.'), encrypted: true };
  }

  open(kid: string, value: string, encrypted: boolean): Buffer {
    if (!encrypted) return Buffer.from(value, 'base64url');
    if (!this.key) throw new Error(`signing key ${kid} is encrypted and SIGNING_KEY_ENCRYPTION_KEY is not set`);
    const [format, iv, tag, body] = value.split('.');
    if (format !== FORMAT || !iv || !tag || body === undefined) throw new Error(`signing key ${kid} has an unknown format`);
    const authTag = Buffer.from(tag, 'base64url');
    if (authTag.length !== TAG_BYTES) throw new Error(`signing key ${kid} has an authentication tag of ${authTag.length} bytes, not ${TAG_BYTES}`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES }).setAAD(Buffer.from(kid));
    decipher.setAuthTag(authTag);
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch {
      throw new Error(`signing key ${kid} does not decrypt with SIGNING_KEY_ENCRYPTION_KEY`);
    }
  }
}
