// What "consistent" means for the services benchmark, and two watches that say when it is reached.
//
// Consistent = every virtual Service of the run has a host twin with the same ClusterIP(s) and the
// spec the virtual Service asks for, and no host Service of the run is left without a virtual one.
// The check is the benchmark's own, from both sides' objects as the API servers return them; it
// does not use vcnet's drift code (serviceSpecDrift) or trust its logs. Only the naming and selector
// rules come from src/translate (hostName, toHostSelector, virtualRefOf): they define what the twin
// is called and which pods it selects, they judge nothing.
//
// The ServiceTracker holds a watch on the run's virtual Services (all namespaces, by the run label)
// and one on their host twins (the host namespace, same label: host Services keep the virtual
// labels, §1.2). Each event is stamped on arrival, like the pod benchmark's (pods-watch.ts), and
// re-checks only the Service it concerns, so the moment the last problem goes away is known to
// within one event, without polling two 2,000-object lists.
import { performance } from 'node:perf_hooks';
import { hasSelector, KINDS, toHostSelector, virtualRefOf, type Service, type ServicePort, type Translator } from '../../src/translate/index.ts';
import type { Endpoint } from './pods-http.ts';
import { WatchLoop, type WatchRestart } from './pods-watch.ts';
import { pollUntil } from './poll.ts';

export type Problem = 'missing' | 'orphan' | 'clusterIP' | 'spec';

export interface ConsistencyReport {
  virtual: number;
  host: number;
  /** Virtual Services (`ns/name`) without a host twin. */
  missing: string[];
  /** Host Services of the run whose virtual Service does not exist (by host name). */
  orphans: string[];
  /** Twins whose ClusterIP(s) differ from the virtual Service's. */
  clusterIP: string[];
  /** Twins whose spec differs, with the fields: `ns/name: spec.ports, spec.selector`. */
  spec: string[];
}

export function isConsistent(r: ConsistencyReport): boolean {
  return r.missing.length + r.orphans.length + r.clusterIP.length + r.spec.length === 0;
}

export function describeReport(r: ConsistencyReport): string {
  const ex = (l: string[]): string => (l.length === 0 ? '' : ` (e.g. ${l.slice(0, 2).join('; ')})`);
  return `${r.virtual} virtual, ${r.host} host; ${r.missing.length} without host twin${ex(r.missing)}, ${r.orphans.length} host orphans${ex(r.orphans)}, ${r.clusterIP.length} ClusterIP differs${ex(r.clusterIP)}, ${r.spec.length} spec differs${ex(r.spec)}`;
}

function key(s: Service): string {
  return `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`;
}

/** Ports as Kubernetes keys them (port, protocol), with the API server's defaults applied. */
function portsOf(s: Service): string {
  const norm = (p: ServicePort): string => JSON.stringify([p.port, p.protocol ?? 'TCP', p.name ?? '', p.targetPort ?? p.port, p.nodePort ?? 0]);
  return JSON.stringify((s.spec?.ports ?? []).map(norm).sort());
}

function sortedMap(m: Readonly<Record<string, string>> | undefined): string {
  return JSON.stringify(Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The spec fields where the host twin is not what the virtual Service asks: the same type, ports
 * (with nodePorts), session affinity and external name, and the virtual selector in host form
 * (keys translated, marker and namespace labels added; none when the virtual Service has none).
 */
export function specDifferences(tr: Translator, vSvc: Service, hSvc: Service): string[] {
  const v = vSvc.spec ?? {};
  const h = hSvc.spec ?? {};
  const out: string[] = [];
  if ((v.type ?? 'ClusterIP') !== (h.type ?? 'ClusterIP')) out.push('spec.type');
  if (portsOf(vSvc) !== portsOf(hSvc)) out.push('spec.ports');
  const want = hasSelector(vSvc) ? toHostSelector(tr, v.selector, vSvc.metadata.namespace ?? '') : undefined;
  if (sortedMap(want) !== sortedMap(h.selector)) out.push('spec.selector');
  if ((v.sessionAffinity ?? 'None') !== (h.sessionAffinity ?? 'None')) out.push('spec.sessionAffinity');
  if ((v.externalName ?? '') !== (h.externalName ?? '')) out.push('spec.externalName');
  return out;
}

/** What is wrong with one virtual Service and its host twin (either may be missing); undefined: nothing. */
export function checkPair(tr: Translator, vSvc: Service | undefined, hSvc: Service | undefined): { problem: Problem; detail?: string } | undefined {
  if (vSvc === undefined) return hSvc === undefined ? undefined : { problem: 'orphan' };
  if (hSvc === undefined) return { problem: 'missing' };
  const vIPs = JSON.stringify(vSvc.spec?.clusterIPs ?? [vSvc.spec?.clusterIP ?? '']);
  const hIPs = JSON.stringify(hSvc.spec?.clusterIPs ?? [hSvc.spec?.clusterIP ?? '']);
  if ((vSvc.spec?.clusterIP ?? '') !== (hSvc.spec?.clusterIP ?? '') || vIPs !== hIPs) {
    return { problem: 'clusterIP', detail: `virtual ${vSvc.spec?.clusterIP}, host ${hSvc.spec?.clusterIP}` };
  }
  const fields = specDifferences(tr, vSvc, hSvc);
  return fields.length === 0 ? undefined : { problem: 'spec', detail: fields.join(', ') };
}

/** The virtual key (`ns/name`) a host Service of ours stands for, or `host:<name>` when it names none. */
function virtualKeyOf(tr: Translator, hSvc: Service): string {
  const ref = virtualRefOf(tr, hSvc.metadata, KINDS.Service);
  return ref === undefined ? `host:${hSvc.metadata.name ?? ''}` : `${ref.namespace ?? ''}/${ref.name}`;
}

/** Both sides compared from scratch (two LISTs, or the tracker's caches). */
export function checkAll(tr: Translator, virtual: Iterable<Service>, host: Iterable<Service>): ConsistencyReport {
  const vByKey = new Map<string, Service>();
  for (const v of virtual) vByKey.set(key(v), v);
  const hByKey = new Map<string, Service>();
  for (const h of host) hByKey.set(virtualKeyOf(tr, h), h);
  const r: ConsistencyReport = { virtual: vByKey.size, host: hByKey.size, missing: [], orphans: [], clusterIP: [], spec: [] };
  for (const k of new Set([...vByKey.keys(), ...hByKey.keys()])) {
    const p = checkPair(tr, vByKey.get(k), hByKey.get(k));
    if (p === undefined) continue;
    if (p.problem === 'orphan') r.orphans.push(hByKey.get(k)?.metadata.name ?? k);
    else if (p.problem === 'missing') r.missing.push(k);
    else if (p.problem === 'clusterIP') r.clusterIP.push(`${k}: ${p.detail}`);
    else r.spec.push(`${k}: ${p.detail}`);
  }
  return r;
}

export class ServiceTracker {
  /** The run's virtual Services by `ns/name`, and their host twins by the same virtual key. */
  readonly virtual = new Map<string, Service>();
  readonly host = new Map<string, Service>();
  /** Virtual keys with a problem now, as far as the watches have told. */
  readonly bad = new Map<string, Problem>();
  /** When each key last went from a problem to none (performance.now() ms). */
  readonly fixedAt = new Map<string, number>();
  /** When the last problem went away; undefined while there is one. */
  consistentAt: number | undefined;
  /** Watch streams that were reopened: when (s since start), during what, why. */
  readonly restarts: WatchRestart[] = [];
  phase = 'setup';
  /**
   * Host Services of the run deleted (DELETED events), by phase. Nothing of vcnet's should delete
   * one while the benchmark only creates: a count there is a twin vcnet took for an orphan.
   */
  readonly hostDeletes = new Map<string, number>();
  readonly #tr: Translator;
  readonly #hostKey = new Map<string, string>();
  readonly #loops: WatchLoop[];
  readonly #t0 = performance.now();

  constructor(opts: { virtual: Endpoint; host: Endpoint; tr: Translator; runLabel: { key: string; value: string } }) {
    this.#tr = opts.tr;
    const selector = encodeURIComponent(`${opts.runLabel.key}=${opts.runLabel.value}`);
    const restarted = (message: string): void => {
      this.restarts.push({ atSeconds: Math.round((performance.now() - this.#t0) / 100) / 10, phase: this.phase, message });
    };
    this.#loops = [
      new WatchLoop(opts.virtual, `/api/v1/services?labelSelector=${selector}`, (t, o: unknown, at) => this.#onVirtual(t, o as Service, at), restarted),
      new WatchLoop(opts.host, `/api/v1/namespaces/${encodeURIComponent(opts.tr.hostNamespace)}/services?labelSelector=${selector}`, (t, o: unknown, at) => this.#onHost(t, o as Service, at), restarted),
    ];
  }

  async start(): Promise<void> {
    await Promise.all(this.#loops.map((l) => l.start()));
  }

  stop(): void {
    for (const l of this.#loops) l.stop();
  }

  /** The caches compared from scratch (the incremental `bad` set must agree with it). */
  report(): ConsistencyReport {
    return checkAll(this.#tr, this.virtual.values(), this.host.values());
  }

  /** Polls `done` every 20 ms until it is true (true) or `timeoutMs` passed (false). */
  waitFor(done: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return pollUntil(done, timeoutMs, 20, signal);
  }

  #onVirtual(type: string, vSvc: Service, at: number): void {
    const k = key(vSvc);
    if (type === 'DELETED') this.virtual.delete(k);
    else this.virtual.set(k, vSvc);
    this.#recheck(k, at);
  }

  #onHost(type: string, hSvc: Service, at: number): void {
    const name = hSvc.metadata.name ?? '';
    // A relist reports a vanished object with its name and annotations only: find it by name.
    const k = type === 'DELETED' ? this.#hostKey.get(name) ?? virtualKeyOf(this.#tr, hSvc) : virtualKeyOf(this.#tr, hSvc);
    if (type === 'DELETED') {
      this.host.delete(k);
      this.#hostKey.delete(name);
      this.hostDeletes.set(this.phase, (this.hostDeletes.get(this.phase) ?? 0) + 1);
    } else {
      this.host.set(k, hSvc);
      this.#hostKey.set(name, k);
    }
    this.#recheck(k, at);
  }

  #recheck(k: string, at: number): void {
    const p = checkPair(this.#tr, this.virtual.get(k), this.host.get(k));
    const wasBad = this.bad.has(k);
    if (p === undefined) {
      if (wasBad) {
        this.bad.delete(k);
        this.fixedAt.set(k, at);
      }
    } else {
      this.bad.set(k, p.problem);
    }
    if (this.bad.size === 0) this.consistentAt ??= at;
    else this.consistentAt = undefined;
  }
}
