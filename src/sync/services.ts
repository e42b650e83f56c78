// The sync engine for Services: host first. A virtual Service is admitted only once its host twin
// exists, and the virtual object is stored with exactly what the host allocated — ClusterIP(s), IP
// families, nodePorts, healthCheckNodePort — so both sides carry the same ClusterIP from the first
// moment and the virtual UID never changes (vCluster instead deletes and re-creates virtual Services
// whose IP differs, §3.1 of /work/shared/reference/vcluster-networking.md). The webhook calls it while
// the virtual write is being admitted; the reconciler calls it to repair what a write path missed.
// It is the only code that writes host Services.
import { VcnetError } from '../errors.ts';
import { isAlreadyExists, isConflict, isNotFound, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  KINDS, notManagedReason, serviceRef, serviceToHost, serviceUpdateToHost, withHostAllocations,
  type Service, type Translator,
} from '../translate/index.ts';
import { hostCallError, type WriteOptions } from './pods.ts';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export interface ServiceSyncOptions {
  readonly tr: Translator;
  readonly host: KubeTransport;
  readonly virtual: KubeTransport;
  /**
   * Makes sure the virtual kube-apiserver accepts the host's ClusterIPs (its service ranges cover
   * them) before the virtual object is stored with them. Absent in tests that share one range.
   */
  readonly cidrs?: { ensureCovers(ips: readonly string[], signal?: AbortSignal): Promise<void> };
  readonly logger: Logger;
}

export interface ServiceWriteOutcome {
  /** The virtual Service as it must be stored: with the host's allocations. */
  readonly object: Service;
  /** The host twin as the host answered the write (absent when nothing was written). */
  readonly host?: Service;
}

/** The alphabet and length of the API server's generateName suffix (apiserver names.SimpleNameGenerator). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const NAME_SUFFIX = 5;
const MAX_NAME = 63;

/**
 * A create is "in flight" from the host create until the virtual object is stored, normally a few
 * milliseconds later. Another create of the same name meanwhile must not take its host twin; after
 * this long, a host twin without a virtual Service is the leftover of a create the API server
 * refused after admission (quota, another webhook), and a retry replaces it. Misjudging a very slow
 * create is repaired by the reconciler (the host twin is re-created with the stored virtual IP).
 */
const IN_FLIGHT_MS = 2_000;

/**
 * An update or delete writes the host before the virtual object is stored. Until the virtual cache
 * shows the write (its resourceVersion moves on, or the object goes), the reconciler must not take
 * the host's new state for drift and put the old one back. After this long, a virtual write that
 * never came (refused after admission) no longer holds the reconciler back.
 */
const WRITE_IN_FLIGHT_MS = 5_000;

function clusterIPsOf(s: Service): string[] {
  const ips = s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : []);
  return ips.filter((ip) => ip !== '' && ip !== 'None');
}

export class ServiceSync {
  readonly #o: ServiceSyncOptions;
  /** `ns/name` → host UID and time of creates whose virtual object is not stored yet. */
  /** `hostUid` is '' from just before the host create until it answered (the host watch may be faster). */
  readonly #inFlight = new Map<string, { hostUid: string; at: number; check: NodeJS.Timeout | undefined }>();
  /**
   * `ns/name` → the virtual resourceVersions recent updates and deletes were written to the host from
   * (newest last), and when the last one was: any of them in the virtual cache means the cache is
   * older than what the host holds.
   */
  readonly #writes = new Map<string, { rvs: string[]; at: number }>();

  constructor(opts: ServiceSyncOptions) {
    this.#o = opts;
  }

  hostName(vSvc: Service): string {
    return this.#o.tr.hostName(vSvc.metadata.name ?? '', vSvc.metadata.namespace ?? '');
  }

  #path(hName = ''): string {
    return `/api/v1/namespaces/${this.#o.tr.hostNamespace}/services${hName === '' ? '' : `/${hName}`}`;
  }

  /** The virtual object of this create/update has been seen stored: it is no longer in flight. */
  settled(vNamespace: string, vName: string): void {
    const k = `${vNamespace}/${vName}`;
    clearTimeout(this.#inFlight.get(k)?.check);
    this.#inFlight.delete(k);
  }

  /**
   * After a host create, the virtual object should be stored within moments. If it is not there once
   * the in-flight window has passed, the API server refused the create after admission (quota,
   * another webhook, a lost race): the host twin is rolled back now, without waiting for the
   * reconciler's orphan grace. The UID precondition spares a newer twin of the same name.
   */
  #track(vSvc: Service, hSvc: Service): void {
    const k = serviceRef(vSvc);
    this.settled(vSvc.metadata.namespace ?? '', vSvc.metadata.name ?? '');
    const hostUid = hSvc.metadata.uid ?? '';
    const check = setTimeout(() => {
      if (this.#inFlight.get(k)?.hostUid !== hostUid) return;
      this.#inFlight.delete(k);
      void this.#virtualExists(vSvc).then(async (exists) => {
        if (exists) return;
        this.#o.logger.info({ virtual: k, host: `${this.#o.tr.hostNamespace}/${hSvc.metadata.name}` }, 'the virtual service was not stored after its host service was created: removing the host service');
        await this.#deleteHost(hSvc.metadata.name ?? '', hostUid);
      }).catch((err: unknown) => this.#o.logger.warn({ err, virtual: k }, 'checking a service create failed; the reconciler collects the host service if it is an orphan'));
    }, IN_FLIGHT_MS);
    check.unref();
    this.#inFlight.set(k, { hostUid, at: Date.now(), check });
  }

  /**
   * Creates the host twin of a virtual Service being created and returns the virtual Service with
   * the host's allocations. A mutating webhook runs before the API server turns generateName into a
   * name, so the name is chosen here the way the API server would choose it.
   */
  async create(vIn: Service, opts: WriteOptions = {}): Promise<ServiceWriteOutcome> {
    const vSvc = withName(vIn);
    const key = serviceRef(vSvc);
    const hBody = serviceToHost(this.#o.tr, vSvc);
    const hName = hBody.metadata.name ?? '';
    const query = opts.dryRun ? { dryRun: 'All' } : {};
    const signal = opts.signal ? { signal: opts.signal } : {};
    // In flight from before the host create: its watch event may reach the reconciler before the
    // create's answer reaches this request, and the twin must not look like an orphan then.
    const placeholder = opts.dryRun || this.#inFlight.has(key) ? undefined : { hostUid: '', at: Date.now(), check: undefined };
    if (placeholder !== undefined) this.#inFlight.set(key, placeholder);
    const unmark = (): void => { if (placeholder !== undefined && this.#inFlight.get(key) === placeholder) this.#inFlight.delete(key); };
    let hSvc: Service;
    try {
      hSvc = await this.#o.host.request<Service>('POST', this.#path(), { query, body: hBody, ...signal });
    } catch (err) {
      if (!isAlreadyExists(err)) { unmark(); throw this.#hostError(vSvc, err, hName); }
      const existing = await this.#existing(vSvc, hBody, opts, placeholder).catch((e: unknown) => { unmark(); throw e; });
      // The name is taken in the virtual cluster: the API server answers AlreadyExists itself, as it
      // would without vcnet, once the object passes admission unchanged.
      if (existing === undefined) { unmark(); return { object: vIn }; }
      hSvc = existing;
    }
    if (!opts.dryRun) this.#track(vSvc, hSvc);
    await this.#ensureCovers(vSvc, hSvc, opts);
    this.#o.logger.debug({ virtual: key, host: `${this.#o.tr.hostNamespace}/${hName}`, clusterIP: hSvc.spec?.clusterIP, dryRun: opts.dryRun === true }, 'host service created');
    return { object: allocated(vSvc, hSvc, opts), host: hSvc };
  }

  /**
   * A host Service of that name exists already. Foreign: refused. Ours, with a virtual Service of
   * that name stored: undefined, the twin is left alone and the API server refuses the create as
   * AlreadyExists. Ours without a virtual Service: either a create still in flight (its virtual
   * object is about to be stored: wait for it, briefly) or the leftover of a create the API server
   * refused after admission (quota, another webhook), which is replaced, so the new Service gets
   * what this request asks for and a retry right after a refusal succeeds.
   */
  async #existing(vSvc: Service, hBody: Service, opts: WriteOptions, own?: object): Promise<Service | undefined> {
    const hName = hBody.metadata.name ?? '';
    const signal = opts.signal ? { signal: opts.signal } : {};
    const current = await this.#o.host.request<Service>('GET', this.#path(hName), signal)
      .catch((err: unknown) => { throw this.#hostError(vSvc, err, hName); });
    const why = notManagedReason(this.#o.tr, current.metadata, KINDS.Service);
    if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`service ${this.#o.tr.hostNamespace}/${hName}`, why]);
    for (;;) {
      if (await this.#virtualExists(vSvc, opts.signal)) return undefined;
      // Another request's create of this name, still in flight (its host create may not have answered yet).
      const pending = this.#inFlight.get(serviceRef(vSvc));
      const other = pending !== undefined && pending !== own && (pending.hostUid === '' || pending.hostUid === current.metadata.uid);
      if (!other || Date.now() - pending.at >= IN_FLIGHT_MS) break;
      await sleep(100, opts.signal);
    }
    if (current.metadata.deletionTimestamp !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_TERMINATING', ['service']);
    // A dry run cannot replace it; the leftover's allocations are what a real create would most likely get.
    if (opts.dryRun) return current;
    this.#o.logger.info({ virtual: serviceRef(vSvc), host: `${this.#o.tr.hostNamespace}/${hName}` }, 'replacing the host service left by a create that did not complete');
    await this.#deleteHost(hName, current.metadata.uid ?? '');
    try {
      return await this.#o.host.request<Service>('POST', this.#path(), { body: hBody, ...signal });
    } catch (err) {
      if (isAlreadyExists(err)) throw new VcnetError('VCN_ERR_SYNC_HOST_TERMINATING', ['service']);
      throw this.#hostError(vSvc, err, hName);
    }
  }

  async #virtualExists(vSvc: Service, signal?: AbortSignal): Promise<boolean> {
    const path = `/api/v1/namespaces/${vSvc.metadata.namespace}/services/${vSvc.metadata.name}`;
    return await this.#o.virtual.getIfExists(path, signal ? { signal } : {}) !== undefined;
  }

  /**
   * Applies an update of the virtual Service to its host twin first, and returns the virtual Service
   * with the host's allocations: a type change to NodePort or LoadBalancer gets the host's nodePorts,
   * a change away from ExternalName the host's ClusterIP, and a nodePort the host has given to
   * another Service is refused now, not found later by a reconcile loop (vCluster #3171).
   * A missing host twin is created (the virtual Service existed before vcnet, or its host twin was
   * deleted out of band).
   */
  async update(vOld: Service | undefined, vNew: Service, opts: WriteOptions = {}): Promise<ServiceWriteOutcome> {
    const hName = this.hostName(vNew);
    const signal = opts.signal ? { signal: opts.signal } : {};
    const query = opts.dryRun ? { dryRun: 'All' } : {};
    for (let attempt = 0; ; attempt++) {
      let current: Service;
      try {
        current = await this.#o.host.request<Service>('GET', this.#path(hName), signal);
      } catch (err) {
        if (!isNotFound(err)) throw this.#hostError(vNew, err, hName);
        if (!opts.dryRun && vOld !== undefined) this.#wrote(vOld);
        return this.#recreate(vNew, opts);
      }
      const why = notManagedReason(this.#o.tr, current.metadata, KINDS.Service);
      if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`service ${this.#o.tr.hostNamespace}/${hName}`, why]);
      if (current.metadata.deletionTimestamp !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_TERMINATING', ['service']);
      // The ClusterIP is immutable on both sides except to and from ExternalName. A host twin with
      // another ClusterIP than the virtual Service (replaced out of band) cannot be updated into
      // the right one: it is re-created with the virtual Service's IP.
      if (ipMismatch(vOld ?? vNew, current)) {
        if (opts.dryRun) return { object: vNew };
        this.#o.logger.warn({ virtual: serviceRef(vNew), host: `${this.#o.tr.hostNamespace}/${hName}`, virtualIP: vNew.spec?.clusterIP, hostIP: current.spec?.clusterIP }, 'host service has another ClusterIP: re-creating it with the virtual one');
        await this.#deleteHost(hName, current.metadata.uid ?? '');
        if (vOld !== undefined) this.#wrote(vOld);
        return this.#recreate(vNew, opts);
      }
      const body = serviceUpdateToHost(this.#o.tr, current, vNew);
      // A repair (no vOld: the reconciler's call) from a virtual object the webhook has since moved
      // past would put an older state back: leave it to the next reconcile, which sees the new one.
      if (vOld === undefined && this.writeInFlight(vNew.metadata.namespace ?? '', vNew.metadata.name ?? '', vNew.metadata.resourceVersion)) {
        throw new Error(`a newer write of service ${serviceRef(vNew)} is on its way to the virtual cluster; the repair waits for it`);
      }
      // Marked before the write: the host's watch event may reach the reconciler before this answer.
      if (!opts.dryRun && vOld !== undefined) this.#wrote(vOld);
      let hSvc: Service;
      try {
        hSvc = await this.#o.host.request<Service>('PUT', this.#path(hName), { query, body, ...signal });
      } catch (err) {
        if (isConflict(err) && attempt < 4) continue;
        throw this.#hostError(vNew, err, hName);
      }
      await this.#ensureCovers(vNew, hSvc, opts);
      return { object: keepImmutable(vOld, allocated(vNew, hSvc, opts)), host: hSvc };
    }
  }

  /** Creates a missing host twin for an existing virtual Service, keeping its ClusterIP and nodePorts. */
  async #recreate(vSvc: Service, opts: WriteOptions): Promise<ServiceWriteOutcome> {
    const hBody = serviceToHost(this.#o.tr, vSvc);
    const hName = hBody.metadata.name ?? '';
    try {
      const hSvc = await this.#o.host.request<Service>('POST', this.#path(), {
        query: opts.dryRun ? { dryRun: 'All' } : {}, body: hBody, ...(opts.signal ? { signal: opts.signal } : {}),
      });
      await this.#ensureCovers(vSvc, hSvc, opts);
      return { object: allocated(vSvc, hSvc, opts), host: hSvc };
    } catch (err) {
      if (isAlreadyExists(err)) throw new VcnetError('VCN_ERR_SYNC_HOST_TERMINATING', ['service']);
      throw this.#hostError(vSvc, err, hName);
    }
  }

  /** Deletes the host twin of a virtual Service being deleted. Gone already is success. */
  async delete(vSvc: Service, opts: WriteOptions = {}): Promise<void> {
    const hName = this.hostName(vSvc);
    const current = await this.#o.host.getIfExists<Service>(this.#path(hName), opts.signal ? { signal: opts.signal } : {});
    if (current === undefined || notManagedReason(this.#o.tr, current.metadata, KINDS.Service) !== undefined) return;
    if (opts.dryRun) return;
    this.settled(vSvc.metadata.namespace ?? '', vSvc.metadata.name ?? '');
    this.#wrote(vSvc);
    await this.#deleteHost(hName, current.metadata.uid ?? '');
  }

  /** Deletes a host Service found without a virtual twin (the reconciler's garbage collection). */
  async deleteOrphan(hSvc: Service): Promise<void> {
    await this.#deleteHost(hSvc.metadata.name ?? '', hSvc.metadata.uid ?? '');
  }

  /** Remembers that the host took a write of this virtual Service whose virtual object is at `rv` before it. */
  #wrote(vSvc: Service): void {
    const k = serviceRef(vSvc);
    const w = this.#writes.get(k);
    const fresh = w !== undefined && Date.now() - w.at < WRITE_IN_FLIGHT_MS;
    const rvs = [...(fresh ? w.rvs : []), vSvc.metadata.resourceVersion ?? ''].slice(-16);
    this.#writes.set(k, { rvs, at: Date.now() });
  }

  /**
   * Whether the host already holds a write of this virtual Service that the virtual cache, still at
   * `cachedRV`, does not show yet (the reconciler then leaves the pair alone for a moment).
   */
  writeInFlight(vNamespace: string, vName: string, cachedRV: string | undefined): boolean {
    const k = `${vNamespace}/${vName}`;
    const w = this.#writes.get(k);
    if (w === undefined) return false;
    if (Date.now() - w.at >= WRITE_IN_FLIGHT_MS) {
      this.#writes.delete(k);
      return false;
    }
    // The cache holds a state some write of ours started from: the host is ahead of it.
    return w.rvs.includes(cachedRV ?? '');
  }

  /** Whether a create of this virtual name is in flight (its host twin may exist before the virtual Service). */
  inFlight(vNamespace: string, vName: string): boolean {
    const p = this.#inFlight.get(`${vNamespace}/${vName}`);
    return p !== undefined && Date.now() - p.at < IN_FLIGHT_MS;
  }

  /** DELETE with a UID precondition; NotFound and a failed precondition (another Service now) are success. */
  async #deleteHost(hName: string, hUid: string): Promise<void> {
    await this.#o.host.deleteIfSame(this.#path(hName), { uid: hUid });
  }

  async #ensureCovers(vSvc: Service, hSvc: Service, opts: WriteOptions): Promise<void> {
    const ips = clusterIPsOf(hSvc);
    if (this.#o.cidrs === undefined || ips.length === 0 || opts.dryRun) return;
    try {
      await this.#o.cidrs.ensureCovers(ips, opts.signal);
    } catch (err) {
      // The virtual API server would refuse the host's IP: the host twin must not outlive this refusal.
      await this.#deleteHost(hSvc.metadata.name ?? '', hSvc.metadata.uid ?? '').catch(() => undefined);
      this.settled(vSvc.metadata.namespace ?? '', vSvc.metadata.name ?? '');
      throw err;
    }
  }

  /** A host failure as the virtual client should read it. */
  #hostError(vSvc: Service, err: unknown, hName: string): Error {
    return hostCallError(err, this.#o.tr, 'service', vSvc, hName);
  }
}

/**
 * The virtual Service with the host's allocations. Not for a dry run: the host's dry-run allocators
 * answer placeholders (the ClusterIP comes back as the range's network address, which no API server
 * accepts), so a dry run only checks that the host would take the Service, and the virtual API
 * server's own dry run fills in its usual stand-ins.
 */
function allocated(vSvc: Service, hSvc: Service, opts: WriteOptions): Service {
  return opts.dryRun ? vSvc : withHostAllocations(vSvc, hSvc);
}

/** The object with generateName turned into a name, as the API server's SimpleNameGenerator does. */
function withName(vSvc: Service): Service {
  const { name, generateName } = vSvc.metadata;
  if ((name ?? '') !== '' || (generateName ?? '') === '') return vSvc;
  const base = (generateName ?? '').slice(0, MAX_NAME - NAME_SUFFIX);
  let suffix = '';
  for (let i = 0; i < NAME_SUFFIX; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return { ...vSvc, metadata: { ...vSvc.metadata, name: base + suffix } };
}

/** Both sides hold a ClusterIP, and they differ. ExternalName and headless have none to compare. */
function ipMismatch(vSvc: Service, hSvc: Service): boolean {
  const v = vSvc.spec?.clusterIP ?? '';
  const h = hSvc.spec?.clusterIP ?? '';
  if (v === '' || v === 'None' || h === '' || h === 'None') return false;
  if (vSvc.spec?.type === 'ExternalName' || hSvc.spec?.type === 'ExternalName') return false;
  return v !== h;
}

/**
 * The virtual API server refuses a changed ClusterIP unless the type moves to or from ExternalName.
 * When both sides agree (the invariant), the host's value is the old one anyway; this only guards
 * an update that would otherwise be refused for a field the user did not touch.
 */
function keepImmutable(vOld: Service | undefined, next: Service): Service {
  if (vOld === undefined) return next;
  const oldIP = vOld.spec?.clusterIP ?? '';
  const wasExternal = vOld.spec?.type === 'ExternalName';
  const isExternal = next.spec?.type === 'ExternalName';
  if (oldIP === '' || wasExternal || isExternal || next.spec?.clusterIP === oldIP) return next;
  return { ...next, spec: { ...next.spec, clusterIP: oldIP, ...(vOld.spec?.clusterIPs ? { clusterIPs: [...vOld.spec.clusterIPs] } : {}) } };
}
