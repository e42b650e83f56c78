// A work queue of object keys, like client-go's workqueue: a key is queued at most once however
// often it is added, is never processed by two workers at once (an add during processing queues it
// again afterwards), and can be re-added after a delay. Reconcilers work on keys, not events, so a
// burst of events for one object becomes one reconcile of its latest state.

export type Worker = (key: string) => Promise<void>;

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
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

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
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
