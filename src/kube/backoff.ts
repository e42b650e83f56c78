// Capped exponential backoff with jitter, for retrying a failed watch or list without a thundering
// herd: every replica of vcnet reconnects when an API server restarts, and jitter spreads them out
// (client-go's reflector does the same: k8s.io/client-go/tools/cache/reflector.go, wait.Backoff).

export interface BackoffOptions {
  /** First delay, in ms. */
  initialMs?: number;
  /** Ceiling of any delay, in ms. */
  maxMs?: number;
  factor?: number;
  /** Fraction (0..1) of each delay that is randomised downwards. */
  jitter?: number;
  /** Source of randomness in [0, 1); injectable so tests get a known schedule. */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = Object.freeze({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 });

/** The delay before retry number `attempt` (0-based): min(max, initial·factor^attempt), minus up to `jitter` of it. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const { initialMs, maxMs, factor, jitter } = { ...BACKOFF_DEFAULTS, ...definedOnly(opts) };
  const random = opts.random ?? Math.random;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base * (1 - Math.min(Math.max(jitter, 0), 1) * r));
}

/** The running state: each `next()` lengthens the delay until `reset()` after a success. */
export class Backoff {
  readonly #opts: BackoffOptions;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#opts = opts;
  }

  next(): number {
    return backoffDelay(this.#attempt++, this.#opts);
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}

function definedOnly(o: BackoffOptions): Partial<typeof BACKOFF_DEFAULTS> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'random'));
}
