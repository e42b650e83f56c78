// Leader election on a coordination.k8s.io/v1 Lease in the host namespace, so exactly one vcnet
// replica runs the reconcilers. It follows client-go's leaderelection package
// (k8s.io/client-go/tools/leaderelection/leaderelection.go, resourcelock/leaselock.go):
//
//   candidate  every retryPeriod (jittered by up to 1.2×, like wait.JitterUntil), read the Lease;
//              take it when it is free (no holderIdentity) or expired, else wait.
//   leader     every retryPeriod, write a fresh renewTime; when no renewal succeeds for
//              renewDeadline, or the Lease turns out to be held by someone else, stop leading.
//   stop()     stop leading, then release: write holderIdentity "" so a successor takes over at
//              once instead of waiting for the lease to expire (client-go ReleaseOnCancel).
//
// "Expired" is judged as client-go judges it: leaseDurationSeconds after this replica last SAW the
// record change, on its own monotonic clock — not renewTime + leaseDurationSeconds against the wall
// clock, which would let a replica whose clock runs ahead steal a live lease. A dead holder's lease
// is therefore taken over leaseDuration after a candidate first sees it unchanged. Since a leader
// gives up after renewDeadline < leaseDuration without a renewal, it has stopped before anyone can
// take over. Every write carries the resourceVersion it was based on (optimistic concurrency), so of
// two candidates racing for a free lease exactly one wins; the other gets 409 and reads again.
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { Gauge, type Registry } from 'prom-client';
import { VcnetError } from '../errors.ts';
import type { KubeClients } from '../kube/client.ts';
import { isAlreadyExists, isConflict, isNotFound, toApiStatus } from '../kube/errors.ts';
import type { Logger } from '../observability/logger.ts';

export interface LeaderElectorOptions {
  clients: KubeClients;
  /** The host namespace holding the Lease. */
  namespace: string;
  name: string;
  /** Unique per replica (the pod name plus something random); written as holderIdentity. */
  identity: string;
  /** How long a holder's lease stays valid without renewal, as seen by the others (client-go default 15 s). */
  leaseDurationMs: number;
  /** How long a leader keeps trying to renew before it steps down; default ⅔ of leaseDurationMs (client-go 10 s of 15 s). */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew; default leaseDurationMs / 7.5 (client-go 2 s of 15 s). */
  retryPeriodMs?: number;
  logger: Logger;
  /** When given, the gauge `vcnet_leader{lease}` (1 while leading) is registered there. */
  registry?: Registry;
}

/** Runs when this replica starts leading; `signal` aborts when it stops (like client-go's ctx). */
export type StartedLeadingFn = (signal: AbortSignal) => void | Promise<void>;
/** Runs when this replica stops leading; leadership is only released once these have settled. */
export type StoppedLeadingFn = () => void | Promise<void>;

// client-go's JitterFactor: candidates wait retryPeriod × [1, 2.2) between attempts.
const JITTER_FACTOR = 1.2;

type Attempt =
  | { readonly ok: true }
  | { readonly ok: false; readonly heldBy?: string; readonly reason: string };

/** The fields of a Lease that make up client-go's LeaderElectionRecord. */
interface Observed {
  readonly key: string;
  readonly holder: string;
  readonly durationMs: number;
  /** performance.now() when this record was first seen. */
  readonly at: number;
}

export class LeaderElector {
  readonly #opts: LeaderElectorOptions;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #leaseSeconds: number;
  readonly #log: Logger;
  readonly #gauge: Gauge<'lease'> | undefined;
  readonly #started: StartedLeadingFn[] = [];
  readonly #stoppedFns: StoppedLeadingFn[] = [];
  /** The Lease as last read or written: its resourceVersion is the base of the next write. */
  #lease: V1Lease | undefined;
  #observed: Observed | undefined;
  #leading = false;
  #term: AbortController | undefined;
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(opts: LeaderElectorOptions) {
    const lease = opts.leaseDurationMs;
    const renew = opts.renewDeadlineMs ?? Math.round((lease * 2) / 3);
    const retry = opts.retryPeriodMs ?? Math.round(lease / 7.5);
    // The same checks as client-go's NewLeaderElector: without them two leaders can overlap.
    const problem =
      opts.identity === '' ? 'identity must not be empty'
      : opts.name === '' || opts.namespace === '' ? 'the Lease name and namespace must not be empty'
      : !(lease >= 1000) ? `leaseDurationMs (${lease}) must be at least 1000 (the Lease counts whole seconds)`
      : !(retry > 0) ? `retryPeriodMs (${retry}) must be positive`
      : !(lease > renew) ? `leaseDurationMs (${lease}) must be greater than renewDeadlineMs (${renew})`
      : !(renew > JITTER_FACTOR * retry) ? `renewDeadlineMs (${renew}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${retry})`
      : undefined;
    if (problem !== undefined) throw new VcnetError('VCN_ERR_CONFIG_INVALID', [`leader election on Lease ${opts.namespace}/${opts.name}: ${problem}`]);
    this.#opts = opts;
    this.#renewDeadlineMs = renew;
    this.#retryPeriodMs = retry;
    this.#leaseSeconds = Math.ceil(lease / 1000);
    this.#log = opts.logger.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    if (opts.registry !== undefined) {
      const existing = opts.registry.getSingleMetric('vcnet_leader');
      this.#gauge = (existing as Gauge<'lease'> | undefined) ?? new Gauge({
        name: 'vcnet_leader',
        help: '1 while this replica holds the leader Lease, else 0.',
        labelNames: ['lease'],
        registers: [opts.registry],
      });
      this.#gauge.set({ lease: this.#leaseLabel() }, 0);
    }
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holderIdentity last seen on the Lease ('' when free, undefined before the first read). */
  get observedHolder(): string | undefined {
    return this.#observed?.holder;
  }

  onStartedLeading(fn: StartedLeadingFn): this {
    this.#started.push(fn);
    return this;
  }

  onStoppedLeading(fn: StoppedLeadingFn): this {
    this.#stoppedFns.push(fn);
    return this;
  }

  start(): this {
    if (this.#stopped) throw new Error(`the leader elector for Lease ${this.#opts.namespace}/${this.#opts.name} was stopped; create a new one`);
    this.#running ??= this.#run();
    return this;
  }

  /** Stops competing; a leader first stops leading (its callbacks settle), then releases the Lease. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
    await this.#stepDown('stopping');
    // Also when the last attempt won the Lease just as stop() came: the record names us either way.
    await this.#release();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const attempt = await this.#tryAcquireOrRenew(performance.now() + this.#renewDeadlineMs);
      if (this.#stopped) return;
      if (!attempt.ok) {
        this.#log.debug({ reason: attempt.reason }, 'not leading yet');
        await this.#sleep(this.#retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
        continue;
      }
      this.#startLeading();
      const lost = await this.#renewUntilLost();
      if (lost !== undefined) await this.#stepDown(lost);
    }
  }

  /** Renews every retryPeriod while leading; resolves with the reason when leadership is lost, or undefined on stop. */
  async #renewUntilLost(): Promise<string | undefined> {
    let lastRenewal = performance.now();
    for (;;) {
      await this.#sleep(this.#retryPeriodMs);
      if (this.#stopped) return undefined;
      const attempt = await this.#tryAcquireOrRenew(lastRenewal + this.#renewDeadlineMs);
      if (this.#stopped) return undefined;
      if (attempt.ok) {
        lastRenewal = performance.now();
        continue;
      }
      if (attempt.heldBy !== undefined) return `the Lease is now held by "${attempt.heldBy}"`;
      if (performance.now() - lastRenewal >= this.#renewDeadlineMs) {
        return `no renewal succeeded within renewDeadline (${this.#renewDeadlineMs} ms): ${attempt.reason}`;
      }
      this.#log.warn({ reason: attempt.reason }, 'failed to renew the leader Lease; retrying');
    }
  }

  /** client-go's tryAcquireOrRenew: one read-decide-write round, given up at `deadline` (performance.now() time). */
  async #tryAcquireOrRenew(deadline: number): Promise<Attempt> {
    const { namespace, name, identity } = this.#opts;
    const coordination = this.#opts.clients.coordination;
    const now = new V1MicroTime(Date.now());
    const bounded = <T>(p: Promise<T>, what: string): Promise<T> => withTimeout(p, Math.max(deadline - performance.now(), 1), what);

    // Fast path for a leader: write on top of the Lease we last wrote, without reading it first. A
    // 409 means someone else wrote in between; fall back to reading it.
    if (this.#leading && this.#lease !== undefined) {
      try {
        const body = withSpec(this.#lease, { ...this.#lease.spec, holderIdentity: identity, leaseDurationSeconds: this.#leaseSeconds, renewTime: now });
        this.#remember(await bounded(coordination.replaceNamespacedLease({ namespace, name, body }), 'renew the Lease'));
        return { ok: true };
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) return { ok: false, reason: describe(err) };
      }
    }

    let lease: V1Lease;
    try {
      lease = await bounded(coordination.readNamespacedLease({ namespace, name }), 'read the Lease');
    } catch (err) {
      if (!isNotFound(err)) return { ok: false, reason: describe(err) };
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.#leaseSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      };
      try {
        this.#remember(await bounded(coordination.createNamespacedLease({ namespace, body }), 'create the Lease'));
        return { ok: true };
      } catch (createErr) {
        // AlreadyExists: another candidate created it first; it leads, we read it next round.
        return { ok: false, reason: isAlreadyExists(createErr) ? 'another candidate created the Lease first' : describe(createErr) };
      }
    }

    this.#remember(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && this.#validForOthers()) {
      return { ok: false, heldBy: holder, reason: `held by "${holder}"` };
    }
    // Renewing our own lease keeps its acquireTime and transition count; taking a free or expired
    // one starts a new term: a new acquireTime and one more transition.
    const ours = holder === identity;
    const next: V1LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.#leaseSeconds,
      renewTime: now,
      acquireTime: ours && spec.acquireTime !== undefined ? spec.acquireTime : now,
      leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      this.#remember(await bounded(coordination.replaceNamespacedLease({ namespace, name, body: withSpec(lease, next) }), 'update the Lease'));
      if (!ours) this.#log.info({ previousHolder: holder, leaseTransitions: next.leaseTransitions }, 'took over the leader Lease');
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: isConflict(err) ? 'the Lease changed while we wrote it (409 Conflict)' : describe(err) };
    }
  }

  /** Records the Lease as the base of the next write, and when its record last changed. */
  #remember(lease: V1Lease): void {
    this.#lease = lease;
    const s = lease.spec ?? {};
    const key = JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds ?? 0, String(s.acquireTime ?? ''), String(s.renewTime ?? ''), s.leaseTransitions ?? 0]);
    if (this.#observed?.key === key) return;
    const holder = s.holderIdentity ?? '';
    if (this.#observed !== undefined && this.#observed.holder !== holder && holder !== this.#opts.identity) {
      this.#log.info({ holder }, holder === '' ? 'the leader Lease was released' : 'the leader Lease changed hands');
    }
    this.#observed = { key, holder: s.holderIdentity ?? '', durationMs: (s.leaseDurationSeconds ?? 0) * 1000, at: performance.now() };
  }

  /** Whether the record last seen is still valid: it changed less than its leaseDuration ago (client-go isLeaseValid). */
  #validForOthers(): boolean {
    const o = this.#observed;
    return o !== undefined && o.at + o.durationMs > performance.now();
  }

  #startLeading(): void {
    this.#leading = true;
    this.#term = new AbortController();
    this.#gauge?.set({ lease: this.#leaseLabel() }, 1);
    this.#log.info({ leaseTransitions: this.#lease?.spec?.leaseTransitions }, 'started leading');
    const signal = this.#term.signal;
    for (const fn of this.#started) {
      // Run beside the renew loop, like client-go's `go OnStartedLeading(ctx)`; a failing callback
      // is a bug in the caller, logged, and does not cost the lease.
      void Promise.resolve().then(() => fn(signal)).catch((err: unknown) => {
        this.#log.error({ err }, 'an onStartedLeading callback failed');
      });
    }
  }

  async #stepDown(reason: string): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.#term?.abort(new Error(`stopped leading: ${reason}`));
    this.#term = undefined;
    this.#gauge?.set({ lease: this.#leaseLabel() }, 0);
    if (reason === 'stopping') this.#log.info('stopped leading');
    else this.#log.warn({ reason }, 'lost leadership');
    const results = await Promise.allSettled(this.#stoppedFns.map(async (fn) => fn()));
    for (const r of results) {
      if (r.status === 'rejected') this.#log.error({ err: r.reason as unknown }, 'an onStoppedLeading callback failed');
    }
  }

  /** Clears holderIdentity (client-go release(): leaseDurationSeconds 1, transitions kept) so a candidate takes over at once. */
  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#opts;
    const coordination = this.#opts.clients.coordination;
    for (let attempt = 0; attempt < 2 && this.#lease !== undefined; attempt++) {
      const spec = this.#lease.spec ?? {};
      if ((spec.holderIdentity ?? '') !== identity) return;
      const now = new V1MicroTime(Date.now());
      const body = withSpec(this.#lease, { ...spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now });
      try {
        this.#remember(await withTimeout(coordination.replaceNamespacedLease({ namespace, name, body }), this.#renewDeadlineMs, 'release the Lease'));
        this.#log.info('released the leader Lease');
        return;
      } catch (err) {
        if (!isConflict(err)) {
          this.#log.warn({ reason: describe(err) }, 'could not release the leader Lease; it expires on its own');
          return;
        }
        try {
          this.#remember(await withTimeout(coordination.readNamespacedLease({ namespace, name }), this.#renewDeadlineMs, 'read the Lease'));
        } catch (readErr) {
          this.#log.warn({ reason: describe(readErr) }, 'could not release the leader Lease; it expires on its own');
          return;
        }
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    }).finally(() => { this.#wake = undefined; });
  }

  #leaseLabel(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }
}

/** The Lease with a new spec, keeping its metadata (and so its resourceVersion: the write is conditional on it). */
function withSpec(lease: V1Lease, spec: V1LeaseSpec): V1Lease {
  // managedFields left out: a PUT that carries them would replace the server's bookkeeping.
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...lease.metadata, managedFields: undefined }, spec };
}

/**
 * Bounds a call: a leader must notice at renewDeadline that it cannot renew even when a request
 * hangs. The request itself is not cancelled; if it lands later, the Lease still names this replica,
 * which then simply renews or re-acquires it.
 */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${Math.round(ms)} ms trying to ${what}`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function describe(err: unknown): string {
  const s = toApiStatus(err);
  return `${s.code} ${s.reason}: ${s.message}`;
}
