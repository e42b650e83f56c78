import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { issueCert } from './issue.ts';
import type { CertStore } from './store.ts';
import type { CertSpec, KeyPair } from './types.ts';

const DEFAULT_CHECK_INTERVAL_MS = 60 * 60 * 1000;
/** setInterval fires at once for delays above 2^31-1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CertRotatorOptions {
  store: CertStore;
  name: string;
  ca: KeyPair;
  spec: CertSpec;
  /** See renewal.ts; default 30. */
  renewBeforeDays?: number;
  /** How often the stored certificate is checked; default one hour. */
  checkIntervalMs?: number;
  /** Time source for the renewal decision and the new cert's validity (tests move it forward). */
  clock?: () => Date;
}

/**
 * Keeps a serving certificate fresh. Every check runs `store.ensureCert`; when that yields a different
 * certificate (renewed here, or replaced on disk by `vcnet certs`), the rotator emits
 * 'renewed' (pair: KeyPair). The server swaps it in with `server.setSecureContext({ cert, key })`:
 * Node keeps existing TLS connections on the context they were accepted with, so nothing is dropped,
 * and new handshakes get the new certificate.
 *
 * Events: 'renewed' (pair), 'error' (err). A failed check is retried at the next interval; without an
 * 'error' listener it becomes a process warning rather than an uncaught exception that would take the
 * still-working server down.
 */
export class CertRotator extends EventEmitter {
  readonly #opts: Required<Omit<CertRotatorOptions, 'renewBeforeDays'>> & { renewBeforeDays?: number };
  #pair: KeyPair | undefined;
  #fingerprint = '';
  #timer: NodeJS.Timeout | undefined;
  // Checks and forced renewals run one at a time, so two of them never issue two certs concurrently.
  #tail: Promise<unknown> = Promise.resolve();

  constructor(opts: CertRotatorOptions) {
    super();
    const checkIntervalMs = opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    if (!Number.isFinite(checkIntervalMs) || checkIntervalMs <= 0) {
      throw new RangeError(`CertRotator "${opts.name}": checkIntervalMs must be a positive number, got ${String(checkIntervalMs)}`);
    }
    this.#opts = { ...opts, checkIntervalMs: Math.min(checkIntervalMs, MAX_TIMER_MS), clock: opts.clock ?? (() => new Date()) };
  }

  /** Loads or issues the certificate, starts the (unref'd) timer, and returns the current pair. */
  async start(): Promise<KeyPair> {
    if (this.#pair && this.#timer) return this.#pair;
    await this.#serial(() => this.#ensure(false));
    this.#timer ??= setInterval(() => void this.check().catch(() => {}), this.#opts.checkIntervalMs);
    this.#timer.unref();
    return this.current();
  }

  current(): KeyPair {
    if (!this.#pair) throw new Error(`CertRotator "${this.#opts.name}": current() called before start() resolved`);
    return this.#pair;
  }

  /** Runs one check now; resolves to the pair in use afterwards. Failures are emitted and rethrown. */
  check(): Promise<KeyPair> {
    return this.#serial(async () => {
      try {
        await this.#ensure(true);
        return this.current();
      } catch (err) {
        this.#report(err);
        throw err;
      }
    });
  }

  /** Issues a new certificate now (new key, new serial), saves it and emits 'renewed'. */
  forceRenew(): Promise<KeyPair> {
    return this.#serial(async () => {
      const { store, name, ca, spec, clock } = this.#opts;
      const pair = await issueCert(ca, spec, { now: clock() });
      store.save(name, pair);
      this.#adopt(pair, true);
      return pair;
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #ensure(emit: boolean): Promise<void> {
    const { store, name, ca, spec, renewBeforeDays, clock } = this.#opts;
    const { pair } = await store.ensureCert(name, ca, spec, { renewBeforeDays, now: clock() });
    this.#adopt(pair, emit);
  }

  #adopt(pair: KeyPair, emit: boolean): void {
    const fingerprint = new X509Certificate(pair.certPem).fingerprint256;
    if (fingerprint === this.#fingerprint) return;
    this.#pair = pair;
    this.#fingerprint = fingerprint;
    if (emit) this.emit('renewed', pair);
  }

  #report(err: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', err);
    } else {
      process.emitWarning(`certificate "${this.#opts.name}" could not be checked or renewed: ${(err as Error)?.message ?? String(err)}`, 'VcnetCertRotationWarning');
    }
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => {});
    return run;
  }
}
