// Two watches held by the benchmark for its whole run: the virtual pods it creates (all namespaces,
// by its run label) and their host pods (the host namespace, same label: vcnet keeps a virtual
// pod's labels on its host pod). Every event is stamped with this process's clock when the bytes
// that complete it arrive, before parsing, so host and virtual times are comparable: the status lag
// is (virtual pod seen Ready) − (host pod seen Ready) on one clock, both seen the same way.
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { POD_NAME, POD_NAMESPACE } from '../../src/translate/index.ts';
import { endpointAgent, mustCall, type Endpoint } from './pods-http.ts';
import { pollUntil } from './poll.ts';

/** A watch stream that ended or failed and was reopened: when (s since the tracker started), during what phase, why. */
export interface WatchRestart {
  atSeconds: number;
  phase: string;
  message: string;
}

/** What was seen of one pod (key `<virtual namespace>/<name>`), in performance.now() milliseconds. */
export interface PodTimes {
  readonly key: string;
  /** The create was sent / answered 201. */
  createSentAt?: number;
  createdAt?: number;
  /** The benchmark sent its DELETE. */
  deleteSentAt?: number;
  /** Virtual pod: first event, first event with Ready=True, DELETED event. */
  vAddedAt?: number;
  vReadyAt?: number;
  vGoneAt?: number;
  /** Host pod: the same. */
  hAddedAt?: number;
  hReadyAt?: number;
  hGoneAt?: number;
  /** The node the virtual pod was bound to. */
  node?: string;
}

interface WirePod {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

interface WatchEvent {
  type?: string;
  object?: WirePod & { code?: number; message?: string };
}

function isReady(p: WirePod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Runs scenarios with a tracker's `phase` set to the scenario's name while it runs, so what the
 * watches record (restarts, host deletes) says when it happened.
 */
export function phaseRunner(tracker: { phase: string }): <T>(id: string, run: () => Promise<T>) => Promise<T> {
  return async (id, run) => {
    tracker.phase = id;
    try {
      return await run();
    } finally {
      tracker.phase = 'between scenarios';
    }
  };
}

/** The report's warning when the watches of `kind` objects were reopened during the run; `why` ends its last sentence. */
export function watchRestartsWarning(restarts: readonly WatchRestart[], kind: string, why = ''): string | undefined {
  if (restarts.length === 0) return undefined;
  const list = restarts.slice(0, 5).map((r) => `${r.atSeconds} s, ${r.phase}: ${r.message}`).join('; ');
  return `the benchmark's ${kind} watches were reopened ${restarts.length} times (${list}${restarts.length > 5 ? '; ...' : ''}). They resume from the last resourceVersion seen, so no event is lost, but events around a reopen arrive late${why}.`;
}

export class PodTracker {
  readonly pods = new Map<string, PodTimes>();
  /** Keys whose virtual / host pod exists now (as far as the watches have told). */
  readonly virtualLive = new Set<string>();
  readonly hostLive = new Set<string>();
  /** Watch streams that ended or failed and were reopened. */
  readonly restarts: WatchRestart[] = [];
  /** What the benchmark is doing now, set by the scenarios, for the restart records. */
  phase = 'setup';
  readonly #t0 = performance.now();
  readonly #loops: WatchLoop[];

  constructor(opts: { virtual: Endpoint; host: Endpoint; hostNamespace: string; runLabel: { key: string; value: string } }) {
    const selector = encodeURIComponent(`${opts.runLabel.key}=${opts.runLabel.value}`);
    this.#loops = [
      new WatchLoop(opts.virtual, `/api/v1/pods?labelSelector=${selector}`, (t, p, at) => this.#onVirtual(t, p, at), (m) => this.#restarted(m)),
      new WatchLoop(opts.host, `/api/v1/namespaces/${encodeURIComponent(opts.hostNamespace)}/pods?labelSelector=${selector}`, (t, p, at) => this.#onHost(t, p, at), (m) => this.#restarted(m)),
    ];
  }

  /** Lists both sides and opens both watches; resolves once both streams are open. */
  async start(): Promise<void> {
    await Promise.all(this.#loops.map((l) => l.start()));
  }

  stop(): void {
    for (const l of this.#loops) l.stop();
  }

  /** The record of `key`, created on first use. */
  note(key: string): PodTimes {
    let r = this.pods.get(key);
    if (r === undefined) {
      r = { key };
      this.pods.set(key, r);
    }
    return r;
  }

  /** Polls `done` every 50 ms until it is true (true) or `timeoutMs` passed (false). */
  waitFor(done: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return pollUntil(done, timeoutMs, 50, signal);
  }

  #restarted(message: string): void {
    this.restarts.push({ atSeconds: Math.round((performance.now() - this.#t0) / 100) / 10, phase: this.phase, message });
  }

  #onVirtual(type: string, p: WirePod, at: number): void {
    const ns = p.metadata?.namespace;
    const name = p.metadata?.name;
    if (ns === undefined || name === undefined) return;
    const key = `${ns}/${name}`;
    const r = this.note(key);
    if (type === 'DELETED') {
      r.vGoneAt ??= at;
      this.virtualLive.delete(key);
      return;
    }
    r.vAddedAt ??= at;
    this.virtualLive.add(key);
    if (p.spec?.nodeName) r.node ??= p.spec.nodeName;
    if (r.vReadyAt === undefined && isReady(p)) r.vReadyAt = at;
  }

  #onHost(type: string, p: WirePod, at: number): void {
    const ann = p.metadata?.annotations ?? {};
    const ns = ann[POD_NAMESPACE];
    const name = ann[POD_NAME];
    if (ns === undefined || name === undefined) return;
    const key = `${ns}/${name}`;
    const r = this.note(key);
    if (type === 'DELETED') {
      r.hGoneAt ??= at;
      this.hostLive.delete(key);
      return;
    }
    r.hAddedAt ??= at;
    this.hostLive.add(key);
    if (r.hReadyAt === undefined && isReady(p)) r.hReadyAt = at;
  }
}

/**
 * LIST, then WATCH from the list's resourceVersion, reopening the watch from the last version seen
 * (bookmarks keep it fresh) when the server ends it, and listing again after 410 Gone. Objects
 * found on a list are reported as ADDED; objects gone by a relist as DELETED (at relist time, with
 * only the name, namespace and annotations of the object). Any kind: the services benchmark
 * watches Services with it.
 */
export class WatchLoop {
  readonly #e: Endpoint;
  readonly #path: string;
  readonly #onEvent: (type: string, p: WirePod, at: number) => void;
  readonly #onRestart: (message: string) => void;
  readonly #agent: https.Agent;
  #rv = '';
  #known = new Map<string, WirePod>();
  #req: ClientRequest | undefined;
  #stopped = false;

  constructor(e: Endpoint, path: string, onEvent: (type: string, p: WirePod, at: number) => void, onRestart: (message: string) => void) {
    this.#e = e;
    this.#path = path;
    this.#onEvent = onEvent;
    this.#onRestart = onRestart;
    this.#agent = endpointAgent(e, 2);
  }

  async start(): Promise<void> {
    await this.#list();
    await this.#watch();
  }

  stop(): void {
    this.#stopped = true;
    this.#req?.destroy();
    this.#agent.destroy();
  }

  #emit(type: string, p: WirePod, at: number): void {
    const id = `${p.metadata?.namespace}/${p.metadata?.name}`;
    if (type === 'DELETED') this.#known.delete(id);
    else this.#known.set(id, { metadata: { ...(p.metadata?.namespace !== undefined ? { namespace: p.metadata.namespace } : {}), ...(p.metadata?.name !== undefined ? { name: p.metadata.name } : {}), ...(p.metadata?.annotations !== undefined ? { annotations: p.metadata.annotations } : {}) } });
    this.#onEvent(type, p, at);
  }

  async #list(): Promise<void> {
    const list = await mustCall<{ metadata: { resourceVersion: string }; items: WirePod[] }>(this.#e, this.#agent, 'GET', this.#path);
    const at = performance.now();
    const seen = new Set<string>();
    for (const p of list.items) {
      seen.add(`${p.metadata?.namespace}/${p.metadata?.name}`);
      this.#emit('ADDED', p, at);
    }
    for (const [id, p] of [...this.#known]) if (!seen.has(id)) this.#emit('DELETED', p, at);
    this.#rv = list.metadata.resourceVersion;
  }

  /** Opens the watch again (after listing, when the version is gone), retrying while the benchmark runs. */
  async #resume(relist: boolean): Promise<void> {
    while (!this.#stopped) {
      try {
        if (relist) await this.#list();
        await this.#watch();
        return;
      } catch (err) {
        this.#onRestart(`${this.#e.label}: reopening failed: ${(err as Error).message}`);
        relist = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Resolves when the stream's 200 headers arrived; reopens itself when it ends. */
  #watch(): Promise<void> {
    const u = new URL(this.#e.url);
    const path = `${this.#path}&watch=true&allowWatchBookmarks=true&timeoutSeconds=1800&resourceVersion=${this.#rv}`;
    return new Promise((resolve, reject) => {
      const req = https.request({ agent: this.#agent, host: u.hostname, port: u.port, method: 'GET', path, headers: { Accept: 'application/json' } });
      this.#req = req;
      let opened = false;
      let gone = false;
      let reopened = false;
      const reopen = (why: string): void => {
        // 'end' and 'error' may both come for one stream: reopen once.
        if (this.#stopped || reopened) return;
        reopened = true;
        this.#onRestart(`${this.#e.label}: ${why}`);
        void this.#resume(gone);
      };
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          const err = new Error(`watch ${this.#path} on ${this.#e.label} answered ${res.statusCode}`);
          if (!opened) reject(err);
          return;
        }
        opened = true;
        resolve();
        let partial = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // Stamped before parsing: decoding cost is not counted as lag.
          const at = performance.now();
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (line === '') continue;
            const ev = JSON.parse(line) as WatchEvent;
            const obj = ev.object ?? {};
            if (ev.type === 'ERROR') {
              // 410 Gone: the version is too old to resume from; list again.
              if (obj.code === 410) gone = true;
              continue;
            }
            if (obj.metadata?.resourceVersion !== undefined) this.#rv = obj.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') continue;
            this.#emit(ev.type ?? '', obj, at);
          }
        });
        res.on('end', () => reopen(gone ? 'resourceVersion too old (410), listing again' : 'stream ended by the server'));
        res.on('error', () => { /* 'close' follows */ });
      });
      req.on('error', (err) => {
        if (!opened) reject(err);
        else reopen(`stream failed: ${err.message}`);
      });
      req.end();
    });
  }
}
