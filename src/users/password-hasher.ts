import { Injectable } from '@nestjs/common';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { AppConfig } from '../config/app-config.js';

@Injectable()
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly config: AppConfig) {}

  hash(password: string): Promise<string> {
    return hash(password, {
      algorithm: Algorithm.Argon2id,
      memoryCost: this.config.ARGON2_MEMORY_KIB,
      timeCost: this.config.ARGON2_ITERATIONS,
      parallelism: this.config.ARGON2_PARALLELISM,
    });
  }

  async verify(storedHash: string | null, password: string): Promise<boolean> {
    // With no stored hash, still do the same work against a dummy, so the answer for an unknown
    // user takes as long as the answer for a wrong password.
    const target = storedHash ?? (await (this.dummyHash ??= this.hash('sigauth-timing-equaliser')));
    try {
      const ok = await verify(target, password);
      return ok && storedHash !== null;
    } catch {
      return false;
    }
  }
}
