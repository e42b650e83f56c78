// A reflector: LIST, then WATCH from the list's resourceVersion, keeping an in-memory store keyed by
// namespace/name, and never giving up until stop(). It mirrors client-go's Reflector
// (k8s.io/client-go/tools/cache/reflector.go) where @kubernetes/client-node's informer falls short:
// that one re-lists on 410 but stops for good on any other error, and its Watch has a 30 s idle timeout.
//
//   normal end of a watch (the server's timeoutSeconds) -> watch again from the last resourceVersion
//   410 Gone / ERROR event with code 410                -> LIST again, emit the diff against the store
//   anything else (refused, reset, 5xx, 403, cut)       -> capped exponential backoff with jitter, retry
//
// Bookmarks (allowWatchBookmarks) keep the last resourceVersion fresh on quiet watches, so a
// reconnect rarely lands on an expired one (https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks).
// An optional transform cuts each object down before it is stored, like client-go's
// SharedIndexInformer.SetTransform, so a consumer that reads a few fields does not keep whole objects.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { KubeApiError, toApiStatus, type ApiStatus } from './errors.ts';
import { KubeTransport, type Query } from './http.ts';
import { applyDeltas, deltasForEvent, diffRelist, objectKey, type Delta } from './store.ts';

/** Which resource to watch: `{ version: 'v1', plural: 'configmaps' }`, `{ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' }`. */
export interface ResourceRef {
  group?: string;
  version: string;
  plural: string;
}

export interface ReflectorOptions<T extends KubernetesObject> {
  resource: ResourceRef;
  /** Watch one namespace only; all namespaces (or a cluster-scoped resource) when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of each LIST (`limit`); 500 like client-go. */
  pageSize?: number;
  /** Server-side timeout of each watch; default a random 300–600 s, like client-go, to spread reconnects. */
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  /**
   * Start from a state the caller already holds instead of a first LIST: the store is seeded with
   * `objects` (no events for them) and the first watch starts at `resourceVersion`. If that is too
   * old (410), the reflector re-lists and emits the difference, like after any expired watch.
   */
  resume?: { resourceVersion: string; objects: readonly T[] };
  /**
   * Applied to every object as it arrives (LIST items, ADDED/MODIFIED/DELETED watch objects, the
   * `resume` objects) BEFORE it is stored or emitted, so the store holds only what it returns; like
   * client-go's SharedIndexInformer.SetTransform, whose main use is the same: dropping fields a
   * consumer never reads (managedFields, annotations, most of a pod spec) to save memory.
   *
   * It must keep `metadata.name`, `metadata.namespace`, `metadata.resourceVersion` and
   * `metadata.uid`: the store is keyed by namespace/name, and the re-list diff (store.ts diffRelist)
   * tells an unchanged object by its resourceVersion and a re-created one by its uid. The reflector
   * checks this on every object; a transform that loses one is a bug and fails with an
   * AssertionError. It may return a new object or change the given one in place (the reflector owns
   * what it parsed; `resume` objects are the caller's). Like client-go's TransformFunc it should be
   * idempotent: resumed objects may come from a store that was already transformed.
   */
  transform?: (obj: T) => T;
}

export interface ReflectorEvents<T> {
  add: [obj: T];
  update: [obj: T, old: T];
  /** `obj` is the final state the server reported (the stored one after a re-list); `old` the stored one. */
  delete: [obj: T, old: T];
  /** Once, when the store first holds a complete LIST (or the resumed state). */
  synced: [];
  /** After every LIST (the first one and each re-list after a 410). */
  listed: [resourceVersion: string, count: number];
  /** Every failure the reflector recovers from (it retries after `retryInMs`); for logs and metrics. */
  error: [status: ApiStatus, retryInMs: number];
}

// A watch that the server closes this quickly without any event is treated as a failure, not as a
// normal end, so a misbehaving server cannot make the reflector spin (client-go: "very short watch").
const SHORT_WATCH_MS = 1000;

export class Reflector<T extends KubernetesObject = KubernetesObject> extends EventEmitter<ReflectorEvents<T>> {
  readonly #opts: ReflectorOptions<T>;
  readonly #transport: KubeTransport;
  readonly #path: string;
  readonly #backoff: Backoff;
  readonly #random: () => number;
  readonly #store = new Map<string, T>();
  #resourceVersion: string | undefined;
  #synced = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #response: http.IncomingMessage | undefined;
  #syncWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(kc: KubeConfig, opts: ReflectorOptions<T>) {
    super();
    this.#opts = opts;
    this.#transport = new KubeTransport(kc);
    this.#path = resourcePath(opts.resource, opts.namespace);
    this.#random = opts.backoff?.random ?? Math.random;
    this.#backoff = new Backoff({ ...opts.backoff, random: this.#random });
  }

  /** The objects as last seen, keyed `namespace/name` (or `name` when cluster-scoped). */
  get store(): ReadonlyMap<string, T> {
    return this.#store;
  }

  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** What is being watched, for messages: `https://127.0.0.1:6443/api/v1/namespaces/x/configmaps`. */
  get description(): string {
    return `${this.#transport.server.origin}${this.#path}`;
  }

  start(): this {
    if (this.#stopped) throw new Error(`the reflector for ${this.description} was stopped; create a new one`);
    if (this.#running === undefined) this.#running = this.#run();
    return this;
  }

  /** Stops watching, closes every connection, and resolves once nothing is left running. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    this.#response?.destroy();
    this.#transport.close();
    for (const w of this.#syncWaiters.splice(0)) w.reject(this.#stoppedError());
    await this.#running;
  }

  #stoppedError(): Error {
    return new Error(`the reflector for ${this.description} stopped before it synced`);
  }

  /** Resolves once synced; rejects if the reflector stops first. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#stopped) return Promise.reject(this.#stoppedError());
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  async #run(): Promise<void> {
    let needList = true;
    const resume = this.#opts.resume;
    if (resume !== undefined) {
      for (const obj of resume.objects) {
        const kept = this.#transform(obj);
        this.#store.set(objectKey(kept), kept);
      }
      this.#resourceVersion = resume.resourceVersion;
      needList = false;
      this.#markSynced();
    }
    let expiredInARow = 0;
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#list();
          needList = false;
        }
        const { end, delivered } = await this.#watch();
        if (delivered) expiredInARow = 0;
        if (end === 'expired') {
          needList = true;
          // Expiring again at once, right after a fresh LIST, means something is wrong upstream:
          // back off rather than list in a tight loop.
          if (++expiredInARow > 1) await this.#retryAfter(expiredStatus(this.description));
          continue;
        }
        expiredInARow = 0;
      } catch (err) {
        // A bug (a transform that drops the object's identity), not a failure to retry: end the run
        // (an unhandled rejection, or stop() rejects), as the same bug in a watch event would throw.
        if (err instanceof assert.AssertionError) throw err;
        if (this.#stopped) break;
        const status = toApiStatus(err);
        if (status.code === 410) needList = true;
        await this.#retryAfter(status);
      }
    }
  }

  async #list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#transport.getJson<WireList<T>>(this.#path, {
        ...this.#selectors(), limit: this.#opts.pageSize ?? 500, continue: cont,
      });
      // LIST items carry no kind/apiVersion; watch events do. Give consumers one shape.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items) items.push(this.#transform({ apiVersion: page.apiVersion, kind, ...item }));
      cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (cont !== undefined && !this.#stopped);
    if (this.#stopped) return;
    this.#deliver(diffRelist(this.#store, items));
    this.#resourceVersion = resourceVersion;
    this.#backoff.reset();
    this.emit('listed', resourceVersion, items.length);
    this.#markSynced();
  }

  /** One watch, until it ends: 'ended' (normal end; watch again) or 'expired' (re-list). Throws on failure. */
  async #watch(): Promise<{ end: 'ended' | 'expired'; delivered: boolean }> {
    const timeoutSeconds = this.#opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.#random()));
    const res = await this.#transport.open(this.#path, {
      ...this.#selectors(), watch: 1, resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds,
    });
    this.#response = res;
    const opened = Date.now();
    let delivered = false;
    return new Promise<{ end: 'ended' | 'expired'; delivered: boolean }>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.#response = undefined;
        fn();
      };
      const fail = (err: unknown): void => settle(() => { res.destroy(); reject(err); });
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0 && !settled; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          let event: { type?: string; object?: T };
          try {
            event = JSON.parse(line) as typeof event;
          } catch (err) {
            fail(new KubeApiError({ code: 500, reason: 'InternalError', message: `invalid JSON in the watch of ${this.description}`, details: undefined, retryable: true }, { cause: err }));
            return;
          }
          const outcome = this.#onEvent(event.type, event.object);
          if (outcome === 'expired') { settle(() => { res.destroy(); resolve({ end: 'expired', delivered }); }); return; }
          if (outcome instanceof KubeApiError) { fail(outcome); return; }
          delivered = true;
          this.#backoff.reset();
        }
      });
      res.once('end', () => {
        if (!delivered && Date.now() - opened < SHORT_WATCH_MS) {
          fail(new KubeApiError({ code: 503, reason: 'ServiceUnavailable', message: `the API server closed the watch of ${this.description} at once, without any event`, details: undefined, retryable: true }));
        } else {
          settle(() => resolve({ end: 'ended', delivered }));
        }
      });
      res.on('error', fail);
      res.once('close', () => {
        if (!res.complete) fail(Object.assign(new Error(`the watch connection to ${this.description} was cut`), { code: 'ECONNRESET' }));
      });
    });
  }

  #onEvent(type: string | undefined, obj: T | undefined): 'ok' | 'expired' | KubeApiError {
    if (type === 'ERROR') {
      const status = toApiStatus(obj);
      return status.code === 410 ? 'expired' : new KubeApiError(status);
    }
    // Read before the transform: the watch position must not depend on what the caller keeps.
    const rv = obj?.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      if (obj !== undefined) this.#deliver(deltasForEvent(this.#store, type, this.#transform(obj)));
    }
    // BOOKMARK carries only a resourceVersion; unknown types are ignored but still move it on.
    if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
    return 'ok';
  }

  /** The caller's transform, checked to keep what the store and the re-list diff depend on. */
  #transform(obj: T): T {
    const transform = this.#opts.transform;
    if (transform === undefined) return obj;
    const before = obj.metadata;
    const identity = [before?.name, before?.namespace, before?.resourceVersion, before?.uid];
    const kept = transform(obj);
    const after = kept.metadata;
    // A transform that loses these would corrupt the store silently (objects under the wrong key,
    // re-lists delivering everything again or missing re-creations): a bug in the caller, so an
    // assertion rather than something to retry. Plain comparisons: this runs for every object.
    if (after?.name !== identity[0] || after?.namespace !== identity[1] || after?.resourceVersion !== identity[2] || after?.uid !== identity[3]) {
      assert.fail(`the transform of ${this.description} must keep metadata.name, namespace, resourceVersion and uid`);
    }
    return kept;
  }

  /** Applies each delta to the store, then emits it, so a listener reading the store sees the event's state. */
  #deliver(deltas: Delta<T>[]): void {
    for (const d of deltas) {
      if (this.#stopped) return;
      applyDeltas(this.#store, [d]);
      if (d.type === 'add') this.emit('add', d.object);
      else if (d.type === 'update') this.emit('update', d.object, d.old as T);
      else this.emit('delete', d.object, d.old as T);
    }
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w.resolve();
    this.emit('synced');
  }

  #selectors(): Query {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  async #retryAfter(status: ApiStatus): Promise<void> {
    const serverHint = (status.details?.retryAfterSeconds ?? 0) * 1000;
    const delay = Math.max(this.#backoff.next(), serverHint);
    // 'error' is special to EventEmitter (it throws when nobody listens); report only to listeners.
    if (this.listenerCount('error') > 0) this.emit('error', status, delay);
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, delay);
    });
    this.#wake = undefined;
  }
}

/** The collection URL of a resource: `/api/v1/namespaces/ns/configmaps`, `/apis/discovery.k8s.io/v1/endpointslices`. */
export function resourcePath(ref: ResourceRef, namespace?: string): string {
  const root = ref.group === undefined || ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = namespace === undefined || namespace === '' ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${root}${ns}/${ref.plural}`;
}

/** A LIST as it comes off the wire (the generated V1ListMeta calls `continue` `_continue`). */
interface WireList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

function expiredStatus(what: string): ApiStatus {
  return { code: 410, reason: 'Expired', message: `the watch of ${what} expired again right after a fresh LIST`, details: undefined, retryable: false };
}
