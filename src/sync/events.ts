// EventSync: host Events about synced pods, copied into the virtual cluster, so `kubectl describe
// pod` and `kubectl get events` in the virtual cluster show what the host's scheduler and kubelets
// did with the pod (vCluster's events syncer does the same). The translation is pure
// (translate/event.ts); this file watches, decides when, writes and retries.
//
//   host Events in the host namespace (involvedObject.kind=Pod, a field selector the API server
//   supports for events) --Reflector--> work queue keyed by host event --> lookup(host pod name)
//   --> hostEventToVirtual --> create, or replace the copy when the host event counted again.
//
// Restart without a flood and without a gap. On start, one LIST of the virtual copies (labelled
// HOST_EVENT_LABEL) fills a cache of what the virtual cluster already has. For host events from the
// first LIST of the host:
//   - a host event that already has a copy is updated only if the copy is behind (count, time);
//   - one without a copy is copied when it was last seen after the newest copy in the virtual cluster
//     (minus a minute of slack for clock skew) — i.e. what happened while vcnet was down — or, when
//     the virtual cluster has no copies at all, after start minus `backfillMs` (default 5 minutes).
// Everything the watch delivers after that first LIST (including a re-list after an expired watch)
// is new and copied. Host event deletions (the host's event TTL) are not mirrored: the virtual
// kube-apiserver expires its copies by its own --event-ttl.
//
// Failures never crash: transient ones (5xx, timeouts, conflicts) are retried with capped backoff,
// up to maxAttempts; permanent ones (the virtual namespace is gone or terminating, invalid) are
// logged and dropped. Events whose pod `lookup` does not know yet (the pod cache may lag the host's
// first events by milliseconds) are tried again a few times, then skipped.
import { EventEmitter } from 'node:events';
import type { CoreV1Event, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { backoffDelay, type BackoffOptions } from '../kube/backoff.ts';
import type { KubeClients } from '../kube/client.ts';
import { isAlreadyExists, isConflict, isNotFound, toApiStatus, type ApiStatus } from '../kube/errors.ts';
import { KubeTransport } from '../kube/http.ts';
import { objectKey } from '../kube/store.ts';
import { Reflector } from '../kube/watch.ts';
import type { Logger } from '../observability/logger.ts';
import {
  HOST_EVENT_LABEL, OBJECT_HOST_NAME, OBJECT_HOST_NAMESPACE, eventLastSeenMs, hostEventToVirtual, virtualEventAction, type EventJson,
} from '../translate/index.ts';
import { WorkQueue } from './queue.ts';

/** The virtual pod a host pod stands for; `hostUid` (the host pod's UID), when given, keeps events of an earlier host pod of the same name out. */
export interface VirtualPodRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly hostUid?: string;
}

export interface EventSyncOptions {
  virtual: KubeClients;
  host: KubeClients;
  hostKubeConfig: KubeConfig;
  hostNamespace: string;
  /** Resolves a host pod name to its virtual pod; undefined for pods vcnet does not sync. */
  lookup: (hostPodName: string) => VirtualPodRef | undefined;
  logger: Logger;
  /** When given, `vcnet_event_sync_total{result}` is registered there. */
  registry?: Registry;
  /** With no copies in the virtual cluster at all, how far back the first host LIST is copied (ms); default 5 minutes. */
  backfillMs?: number;
  /** How often an event whose pod `lookup` does not resolve is tried again, and the first delay (doubling); default 3 and 1000 ms. */
  unresolvedRetries?: number;
  unresolvedDelayMs?: number;
  /** Write failures: attempts per host event before it is dropped (default 10), and their backoff. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Parallel writes (default 4); one host event is never written by two at once. */
  concurrency?: number;
}

/** Why a host event was not (or not again) written to the virtual cluster. */
export type SkipReason = 'unknown-pod' | 'not-copyable' | 'before-cutoff' | 'current' | 'stale' | 'foreign';

export interface EventSyncEvents {
  /** A virtual copy was created or replaced. */
  copied: [vEvent: EventJson, action: 'created' | 'updated', hEvent: EventJson];
  skipped: [hEvent: EventJson, reason: SkipReason];
  /** A host event was given up on after `maxAttempts` or a permanent failure. */
  failed: [hEvent: EventJson, status: ApiStatus];
}

const DEFAULT_BACKFILL_MS = 5 * 60_000;
// Host and virtual timestamps come from different clocks (the host's components vs. the host's
// again, for copies): a minute of slack below the newest copy keeps a skewed event from being lost.
const WATERMARK_SLACK_MS = 60_000;
const MAX_WRITE_ROUNDS = 3;

interface Pending {
  readonly event: EventJson;
  /** From the first LIST (or a requeue): subject to the cutoff. */
  readonly initial: boolean;
  attempts: number;
  unresolved: number;
}

/** At most this many events wait for a pod vcnet does not know yet. */
const UNKNOWN_POD_EVENTS_MAX = 10_000;

type Outcome = { kind: 'copied'; action: 'created' | 'updated'; vEvent: EventJson } | { kind: 'skipped'; reason: SkipReason } | { kind: 'unresolved' };

export class EventSync extends EventEmitter<EventSyncEvents> {
  readonly #opts: EventSyncOptions;
  readonly #log: Logger;
  readonly #vTransport: KubeTransport;
  readonly #reflector: Reflector<KubernetesObject>;
  readonly #queue: WorkQueue;
  readonly #counter: Counter<'result'> | undefined;
  readonly #pending = new Map<string, Pending>();
  /** Events skipped because their pod was unknown, by host pod name (see requeuePod). */
  readonly #unknownPod = new Map<string, Map<string, EventJson>>();
  #unknownCount = 0;
  /** Virtual copies as last written or read, by `namespace/name`: the base of the next replace. */
  readonly #copies = new Map<string, EventJson>();
  /** Host event key -> virtual copy key, to forget copies whose host event is gone. */
  readonly #hostToVirtual = new Map<string, string>();
  #cutoffMs = 0;
  #running: Promise<void> | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #syncWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #synced = false;

  constructor(opts: EventSyncOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'event-sync', hostNamespace: opts.hostNamespace });
    this.#vTransport = new KubeTransport(opts.virtual.kubeConfig);
    this.#reflector = new Reflector<KubernetesObject>(opts.hostKubeConfig, {
      resource: { version: 'v1', plural: 'events' },
      namespace: opts.hostNamespace,
      fieldSelector: 'involvedObject.kind=Pod',
      ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
    });
    this.#queue = new WorkQueue((key) => this.#work(key), opts.concurrency ?? 4);
    if (opts.registry !== undefined) {
      const existing = opts.registry.getSingleMetric('vcnet_event_sync_total') as Counter<'result'> | undefined;
      this.#counter = existing ?? new Counter({
        name: 'vcnet_event_sync_total',
        help: 'Host events about synced pods, by what happened to their virtual copy (created, updated, failed, or the reason it was skipped).',
        labelNames: ['result'],
        registers: [opts.registry],
      });
    }
    this.#reflector.on('add', (obj) => this.#enqueue(obj as EventJson, !this.#reflector.hasSynced));
    this.#reflector.on('update', (obj) => this.#enqueue(obj as EventJson, false));
    this.#reflector.on('delete', (obj) => this.#forget(objectKey(obj)));
    this.#reflector.on('error', (status, retryInMs) => {
      this.#log.warn({ code: status.code, reason: status.reason, retryInMs }, `watch of host events failed: ${status.message}`);
    });
  }

  /** Lists the existing virtual copies, then watches host events; returns at once, retrying in the background. */
  start(): this {
    if (this.#stopped) throw new Error('the event sync was stopped; create a new one');
    this.#running ??= this.#run();
    return this;
  }

  /** Resolves once the existing copies are known and the first host LIST is queued; rejects if stopped first. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new Error('the event sync stopped before it synced'));
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  /**
   * Tries the host events about one host pod again, e.g. when the pod cache learns a pod whose first
   * events came earlier than it. The cutoff applies, as to the first LIST.
   */
  requeuePod(hostPodName: string): void {
    // Only the events given up on for want of their pod (indexed by pod name) need another try;
    // scanning every event per new pod would cost O(events) per pod.
    const waiting = this.#unknownPod.get(hostPodName);
    if (waiting === undefined) return;
    this.#unknownPod.delete(hostPodName);
    for (const ev of waiting.values()) this.#enqueue(ev, true);
  }

  /** Remembers an event skipped because its pod was unknown, bounded so a flood cannot grow memory. */
  #rememberUnknown(key: string, ev: EventJson): void {
    const pod = ev.involvedObject?.name ?? '';
    if (pod === '') return;
    if (this.#unknownCount >= UNKNOWN_POD_EVENTS_MAX) {
      const oldest = this.#unknownPod.keys().next().value;
      if (oldest !== undefined) { this.#unknownCount -= this.#unknownPod.get(oldest)?.size ?? 0; this.#unknownPod.delete(oldest); }
    }
    const m = this.#unknownPod.get(pod) ?? new Map<string, EventJson>();
    if (!m.has(key)) this.#unknownCount++;
    m.set(key, ev);
    this.#unknownPod.set(pod, m);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    this.#queue.stop();
    for (const w of this.#syncWaiters.splice(0)) w.reject(new Error('the event sync stopped before it synced'));
    // Close the connections first: a request in flight would otherwise hold up the end of #run.
    this.#vTransport.close();
    await this.#reflector.stop();
    await this.#running;
  }

  async #run(): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const watermark = await this.#loadCopies();
        this.#cutoffMs = watermark !== undefined ? watermark - WATERMARK_SLACK_MS : started - (this.#opts.backfillMs ?? DEFAULT_BACKFILL_MS);
        this.#log.info({ copies: this.#copies.size, cutoff: new Date(this.#cutoffMs).toISOString(), watermark: watermark === undefined ? undefined : new Date(watermark).toISOString() },
          'existing virtual event copies loaded; copying host events seen after the cutoff');
        break;
      } catch (err) {
        const status = toApiStatus(err);
        const delay = backoffDelay(attempt, this.#opts.backoff);
        this.#log.warn({ code: status.code, reason: status.reason, retryInMs: delay }, `cannot list the virtual event copies: ${status.message}`);
        await this.#sleep(delay);
      }
    }
    if (this.#stopped) return;
    this.#reflector.start();
    try {
      await this.#reflector.waitForSync();
    } catch {
      return; // stopped
    }
    // Copies whose host event is gone (the host's event TTL) will never be written again: forget them.
    for (const [vKey, copy] of this.#copies) {
      const hName = copy.metadata?.annotations?.[OBJECT_HOST_NAME];
      if (hName === undefined || !this.#reflector.store.has(`${this.#opts.hostNamespace}/${hName}`)) this.#copies.delete(vKey);
    }
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w.resolve();
  }

  /** Lists the virtual copies of this host namespace's events into the cache; returns the newest last-seen time among them. */
  async #loadCopies(): Promise<number | undefined> {
    const copies = new Map<string, EventJson>();
    let watermark: number | undefined;
    let cont: string | undefined;
    do {
      const page = await this.#vTransport.getJson<{ items: EventJson[]; metadata?: { continue?: string } }>('/api/v1/events', {
        labelSelector: `${HOST_EVENT_LABEL}=true`, limit: 500, continue: cont,
      });
      for (const ev of page.items) {
        if (ev.metadata?.annotations?.[OBJECT_HOST_NAMESPACE] !== this.#opts.hostNamespace) continue;
        copies.set(`${ev.metadata.namespace ?? ''}/${ev.metadata.name ?? ''}`, ev);
        const seen = eventLastSeenMs(ev);
        if (seen !== undefined && (watermark === undefined || seen > watermark)) watermark = seen;
      }
      cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (cont !== undefined && !this.#stopped);
    for (const [k, v] of copies) this.#copies.set(k, v);
    return watermark;
  }

  #enqueue(event: EventJson, initial: boolean): void {
    if (this.#stopped) return;
    const key = hostKey(event);
    this.#pending.set(key, { event, initial, attempts: 0, unresolved: 0 });
    this.#queue.add(key);
  }

  #forget(key: string): void {
    this.#pending.delete(key);
    const vKey = this.#hostToVirtual.get(key);
    if (vKey !== undefined) this.#copies.delete(vKey);
    this.#hostToVirtual.delete(key);
  }

  async #work(key: string): Promise<void> {
    const item = this.#pending.get(key);
    if (item === undefined || this.#stopped) return;
    // A newer state of the same host event may arrive while this one is written; it replaces the
    // pending item and the queue runs the key again afterwards, so only an unchanged item is settled here.
    const current = (): boolean => this.#pending.get(key) === item;
    let outcome: Outcome;
    try {
      outcome = await this.#sync(key, item);
    } catch (err) {
      if (this.#stopped || !current()) return;
      const status = toApiStatus(err);
      item.attempts++;
      const max = this.#opts.maxAttempts ?? 10;
      if (isPermanent(status) || item.attempts >= max) {
        this.#pending.delete(key);
        this.#count('failed');
        this.#log.warn({ hostEvent: key, pod: item.event.involvedObject?.name, code: status.code, reason: status.reason, attempts: item.attempts },
          `giving up copying a host event to the virtual cluster: ${status.message}`);
        this.emit('failed', item.event, status);
        return;
      }
      const delay = backoffDelay(item.attempts - 1, this.#opts.backoff);
      this.#log.debug({ hostEvent: key, code: status.code, retryInMs: delay }, `copying a host event failed; retrying: ${status.message}`);
      this.#queue.addAfter(key, delay);
      return;
    }
    if (!current()) return;
    if (outcome.kind === 'unresolved') {
      const retries = this.#opts.unresolvedRetries ?? 3;
      if (item.unresolved < retries) {
        this.#queue.addAfter(key, (this.#opts.unresolvedDelayMs ?? 1000) * 2 ** item.unresolved++);
        return;
      }
      outcome = { kind: 'skipped', reason: 'unknown-pod' };
      this.#rememberUnknown(key, item.event);
    }
    this.#pending.delete(key);
    if (outcome.kind === 'copied') {
      this.#count(outcome.action);
      this.#log.debug({ hostEvent: key, virtualEvent: `${outcome.vEvent.metadata?.namespace}/${outcome.vEvent.metadata?.name}`, reason: item.event.reason },
        `host event ${outcome.action} in the virtual cluster`);
      this.emit('copied', outcome.vEvent, outcome.action, item.event);
    } else {
      this.#count(outcome.reason);
      this.emit('skipped', item.event, outcome.reason);
    }
  }

  /** One host event: resolve its pod, translate, and create or replace the virtual copy. Throws on API failures. */
  async #sync(key: string, item: Pending): Promise<Outcome> {
    const hEvent = item.event;
    const target = this.#opts.lookup(hEvent.involvedObject?.name ?? '');
    if (target === undefined) return { kind: 'unresolved' };
    const desired = hostEventToVirtual(hEvent, { name: target.name, namespace: target.namespace, uid: target.uid, kind: 'Pod' }, {
      hostNamespace: this.#opts.hostNamespace, ...(target.hostUid !== undefined ? { hostPodUid: target.hostUid } : {}),
    });
    if (desired === undefined) return { kind: 'skipped', reason: 'not-copyable' };
    const namespace = target.namespace;
    const name = desired.metadata?.name ?? '';
    const vKey = `${namespace}/${name}`;
    this.#hostToVirtual.set(key, vKey);
    let existing = this.#copies.get(vKey);
    if (item.initial && existing === undefined && (eventLastSeenMs(hEvent) ?? 0) < this.#cutoffMs) {
      return { kind: 'skipped', reason: 'before-cutoff' };
    }
    const core = this.#opts.virtual.core;
    for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
      const action = virtualEventAction(desired, existing);
      if (action === 'current' || action === 'stale' || action === 'foreign') return { kind: 'skipped', reason: action };
      if (action === 'create') {
        try {
          // The generated client passes the wire strings of the timestamps through unchanged.
          const created = await core.createNamespacedEvent({ namespace, body: desired as unknown as CoreV1Event });
          this.#copies.set(vKey, withResourceVersion(desired, created.metadata?.resourceVersion));
          return { kind: 'copied', action: 'created', vEvent: desired };
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          existing = await this.#readVirtual(namespace, name);
          continue;
        }
      }
      const body = withResourceVersion(desired, existing?.metadata?.resourceVersion);
      try {
        const replaced = await core.replaceNamespacedEvent({ name, namespace, body: body as unknown as CoreV1Event });
        this.#copies.set(vKey, withResourceVersion(desired, replaced.metadata?.resourceVersion));
        return { kind: 'copied', action: 'updated', vEvent: desired };
      } catch (err) {
        if (isConflict(err)) {
          existing = await this.#readVirtual(namespace, name);
        } else if (isNotFound(err)) {
          // The copy expired (the virtual --event-ttl) or was deleted: create it again.
          this.#copies.delete(vKey);
          existing = undefined;
        } else {
          throw err;
        }
      }
    }
    throw new Error(`the virtual event ${vKey} kept changing while vcnet wrote it (${MAX_WRITE_ROUNDS} rounds)`);
  }

  async #readVirtual(namespace: string, name: string): Promise<EventJson | undefined> {
    try {
      const ev = await this.#vTransport.getJson<EventJson>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(name)}`);
      this.#copies.set(`${namespace}/${name}`, ev);
      return ev;
    } catch (err) {
      if (isNotFound(err)) {
        this.#copies.delete(`${namespace}/${name}`);
        return undefined;
      }
      throw err;
    }
  }

  #count(result: string): void {
    this.#counter?.inc({ result });
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    }).finally(() => { this.#wake = undefined; });
  }
}

function hostKey(ev: EventJson): string {
  return `${ev.metadata?.namespace ?? ''}/${ev.metadata?.name ?? ''}`;
}

function withResourceVersion(ev: EventJson, resourceVersion: string | undefined): EventJson {
  return { ...ev, metadata: { ...ev.metadata, ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
}

/**
 * Failures that will not go away by retrying the same write: the virtual namespace is gone (404 on
 * create) or terminating (403 "is being terminated"), or the copy is invalid (400, 422).
 */
function isPermanent(s: ApiStatus): boolean {
  return s.code === 400 || s.code === 403 || s.code === 404 || s.code === 422;
}
