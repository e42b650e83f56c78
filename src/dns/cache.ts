// The cache of forwarded answers: positive and negative (RFC 2308), bounded by entry count (least
// recently used goes first), keyed by (name, type). TTLs are capped, and on a hit the records carry
// the time they have left, as any caching resolver answers (RFC 1035 §7.3). Only the forwarder uses
// it: the cluster zone and the rules answer from memory that is always current.
import type { Answer, Question, Resolution } from './types.ts';

export interface DnsCacheOptions {
  /** 0 turns the cache off. */
  readonly maxEntries: number;
  /** The longest a positive answer is kept, in seconds, whatever its records say. */
  readonly maxTTLSeconds: number;
  /** The longest an NXDOMAIN or NODATA answer is kept, in seconds; 0 keeps none. */
  readonly negativeTTLSeconds: number;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
}

interface Entry {
  readonly resolution: Resolution;
  readonly storedAt: number;
  readonly expiresAt: number;
}

export class DnsCache {
  readonly #opts: DnsCacheOptions;
  readonly #now: () => number;
  // A Map iterates in insertion order; re-inserting on every hit makes its first key the least recently used.
  readonly #entries = new Map<string, Entry>();

  constructor(opts: DnsCacheOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached answer with TTLs lowered by its age, or undefined on a miss or an expired entry. */
  get(q: Question): Resolution | undefined {
    const key = keyOf(q);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.#now();
    if (now >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const age = Math.floor((now - entry.storedAt) / 1000);
    return mapTTL(entry.resolution, (t) => Math.max(0, t - age));
  }

  /** Stores `r` for as long as its TTLs allow, capped; SERVFAIL and other failures are never stored. */
  set(q: Question, r: Resolution): void {
    if (this.#opts.maxEntries <= 0) return;
    const ttl = this.ttlOf(r);
    if (ttl === undefined || ttl <= 0) return;
    const key = keyOf(q);
    const now = this.#now();
    this.#entries.delete(key);
    this.#entries.set(key, { resolution: mapTTL(r, (t) => Math.min(t, ttl)), storedAt: now, expiresAt: now + ttl * 1000 });
    while (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** How long `r` may be kept, in seconds; undefined when it must not be cached. */
  ttlOf(r: Resolution): number | undefined {
    const negative = r.rcode === 'NXDOMAIN' || (r.rcode === 'NOERROR' && r.answers.length === 0);
    if (negative) {
      // RFC 2308 §5: the negative TTL is the SOA record's TTL, bounded by its MINIMUM field.
      const soa = r.authorities?.find((a) => a.type === 'SOA');
      let ttl = this.#opts.negativeTTLSeconds;
      if (soa !== undefined && soa.type === 'SOA') ttl = Math.min(ttl, soa.ttl ?? ttl, soa.data.minimum ?? ttl);
      return ttl;
    }
    if (r.rcode !== 'NOERROR') return undefined;
    const ttls = r.answers.map((a) => (a.type === 'OPT' ? Infinity : a.ttl ?? 0));
    return Math.min(this.#opts.maxTTLSeconds, ...ttls);
  }

  clear(): void {
    this.#entries.clear();
  }
}

function keyOf(q: Question): string {
  return `${q.name.toLowerCase()}\u0000${q.type}`;
}

/** `r` with `ttl(t)` as each record's TTL, OPT records left alone. */
function mapTTL(r: Resolution, ttl: (t: number) => number): Resolution {
  const map = (records: readonly Answer[]): Answer[] =>
    records.map((a) => (a.type === 'OPT' ? a : { ...a, ttl: ttl(a.ttl ?? 0) }) as Answer);
  return {
    ...r,
    answers: map(r.answers),
    ...(r.authorities === undefined ? {} : { authorities: map(r.authorities) }),
    ...(r.additionals === undefined ? {} : { additionals: map(r.additionals) }),
  };
}
