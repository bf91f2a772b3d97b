/** The longest string an audit field keeps. */
const MAX_LENGTH = 1024;

/**
 * Strings as PostgreSQL text and jsonb can hold them: well-formed UTF-16 (a lone surrogate, which
 * a client can put in a claimed email, has no UTF-8 form, and jsonb refuses its escape), without
 * U+0000 (which text cannot hold), and at most 1,024 characters (cut before repairing, so the cut
 * cannot split a pair). `onRepair` is told each time a string had to be changed.
 */
export class StorableStrings {
  constructor(private readonly onRepair: () => void) {}

  text<T extends string | null | undefined>(value: T): T {
    if (typeof value !== 'string') return value;
    const cut = value.length > MAX_LENGTH ? value.slice(0, MAX_LENGTH) : value;
    if (cut.isWellFormed() && !cut.includes('\u0000')) return cut as T;
    this.onRepair();
    return cut.toWellFormed().replaceAll('\u0000', '\uFFFD') as T;
  }

  json(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.json(v));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k), this.json(v)]));
    return value;
  }
}
