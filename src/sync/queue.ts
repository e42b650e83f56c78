// A work queue of object keys, like client-go's workqueue: a key is queued at most once however
// often it is added, is never processed by two workers at once (an add during processing queues it
// again afterwards), and can be re-added after a delay. Reconcilers work on keys, not events, so a
// burst of events for one object becomes one reconcile of its latest state. Like client-go's
// rate-limited queue (AddRateLimited / Forget with an ItemExponentialFailureRateLimiter), it counts a
// key's failures in a row and backs off exponentially: `retry` after a failure, `forget` after a success.

/** Back-off after the n-th failure in a row: 100 ms · 2^n (n at most 9), at most 30 s. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_EXPONENT = 9;
const RETRY_MAX_MS = 30_000;
/**
 * A Conflict means someone else wrote the object since it was read: the next attempt reads it anew
 * and will most likely succeed, so it comes at once rather than after the back-off.
 */
const CONFLICT_RETRY_MS = 50;

export type Worker = (key: string) => Promise<void>;

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Failures in a row per key, for retry's back-off; cleared by forget. */
  readonly #failures = new Map<string, number>();
  readonly #worker: Worker;
  readonly #concurrency: number;
  #running = 0;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(worker: Worker, concurrency: number) {
    this.#worker = worker;
    this.#concurrency = Math.max(1, concurrency);
  }

  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) { this.#dirty.add(key); return; }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /** Adds the key after `ms`, unless an earlier delayed add is already pending (the earlier one wins). */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) { this.add(key); return; }
    if (this.#timers.has(key)) return;
    const timer = setTimeout(() => { this.#timers.delete(key); this.add(key); }, ms);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /**
   * Queues a key again after its processing failed, and returns the back-off for this failure
   * (for the caller's log line). A conflict is re-queued after 50 ms instead; it still counts as a
   * failure, so later failures of another kind back off further.
   */
  retry(key: string, conflict: boolean): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(n, RETRY_MAX_EXPONENT));
    this.addAfter(key, conflict ? CONFLICT_RETRY_MS : delay);
    return delay;
  }

  /** The key was processed successfully: its next failure backs off from the start again. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#failures.clear();
    this.#queue.length = 0;
    this.#queued.clear();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#concurrency && this.#queue.length > 0) {
      const key = this.#queue.shift() as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#running++;
      this.#worker(key).catch(() => undefined).finally(() => {
        this.#running--;
        this.#processing.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
        this.#pump();
        if (this.#running === 0 && this.#queue.length === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }
}
