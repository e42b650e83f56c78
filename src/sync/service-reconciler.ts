// The reconciler for Services, Endpoints and EndpointSlices: everything about them that is not the
// synchronous write path (§3.2, §3.3 and §4 of /work/shared/reference/vcluster-networking.md).
//   - load-balancer status (and its clearing when a Service leaves LoadBalancer) host -> virtual
//   - drift: a host twin changed or deleted out of band is put back as the virtual Service says,
//     keeping the virtual ClusterIP and nodePorts (vCluster deletes the virtual Service instead)
//   - garbage: a host twin whose virtual Service is gone, after the orphan grace
//   - Endpoints and EndpointSlices of selector-less Services -> host copies, whatever the order in
//     which the Service and its endpoints were created (vCluster #2719), with the hashed host
//     Service name in `kubernetes.io/service-name` (vCluster #4142)
//   - the virtual `default/kubernetes`: the ClusterIP of vcnet's host Service and its endpoints, so
//     clients in host pods reach the virtual API through vcnet (§3.3)
// Only the Lease holder writes (lease.ts); every replica keeps its caches warm.
import type { KubeConfig } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  endpointSliceDrift, endpointSliceToHost, endpointsDrift, endpointsToHost, hostAllocationsDiffer, hostEndpointSliceSelector,
  hostMarkerSelector, isControllerManagedSlice, isKubernetesService, KINDS, kubernetesEndpointsFromHost, kubernetesServiceFromHost,
  kubernetesServiceSpecFromHost, notManagedReason, serviceDrift, serviceStatusToVirtual, shouldSyncEndpoints, sliceServiceName,
  statusDiffers, virtualRefOf, withHostAllocations,
  type EndpointSlice, type Endpoints, type Service, type Translator,
} from '../translate/index.ts';
import type { PodFactsSource } from './facts.ts';
import { Informer } from './informers.ts';
import type { SyncMetrics } from './metrics.ts';
import type { SyncSettings } from './options.ts';
import { WorkQueue } from './queue.ts';
import { SYSTEM_NAMESPACES } from './reconciler.ts';
import type { ServiceSync } from './services.ts';

interface Side {
  readonly kubeConfig: KubeConfig;
  readonly transport: KubeTransport;
}

export interface ServiceReconcilerOptions {
  readonly tr: Translator;
  readonly settings: SyncSettings;
  readonly sync: ServiceSync;
  /** Its virtual and host Service caches are shared with the pod translation. */
  readonly facts: PodFactsSource;
  readonly virtual: Side;
  readonly host: Side;
  readonly metrics?: SyncMetrics;
  readonly logger: Logger;
  readonly concurrency?: number;
}

const KUBERNETES_KEY = 'kubernetes';
const SLICE_KEY = 'slice:';
const API = { discovery: '/apis/discovery.k8s.io/v1', core: '/api/v1' };
/** How long the reconciler waits for the host cache to show its own write before judging anyway. */
const CACHE_CATCH_UP_MS = 2_000;

function key(ns: string, name: string): string {
  return `${ns}/${name}`;
}

function split(k: string): [string, string] {
  const slash = k.indexOf('/');
  return [k.slice(0, slash), k.slice(slash + 1)];
}

export class ServiceReconciler {
  readonly vServices: Informer<Service>;
  readonly hServices: Informer<Service>;
  readonly vEndpoints: Informer<Endpoints>;
  readonly vSlices: Informer<EndpointSlice>;
  readonly hEndpoints: Informer<Endpoints>;
  readonly hSlices: Informer<EndpointSlice>;
  /** The host Endpoints of vcnet's own Service (§3.3): the addresses of `default/kubernetes`. */
  readonly hKubeEndpoints: Informer<Endpoints>;
  readonly #o: ServiceReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #log: Logger;
  /** `ns/service` → names of the virtual EndpointSlices labelled with that service. */
  readonly #slicesOf = new Map<string, Set<string>>();
  /** `ns/name` → when the reconciler first saw that Service's host twin without a virtual Service. */
  readonly #orphanSince = new Map<string, number>();
  /** `ns/name` → the host resourceVersion the reconciler's last write produced, until the cache shows it. */
  readonly #hostWritten = new Map<string, { rv: string; at: number }>();
  #leading = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #warnedNoKubeService = false;

  constructor(opts: ServiceReconcilerOptions) {
    this.#o = opts;
    const { tr } = opts;
    this.#log = opts.logger.child({ component: 'service-reconciler' });
    this.vServices = opts.facts.services as unknown as Informer<Service>;
    this.hServices = opts.facts.hostServices as unknown as Informer<Service>;
    this.vEndpoints = new Informer<Endpoints>(opts.virtual.kubeConfig, { cluster: 'virtual', resource: { version: 'v1', plural: 'endpoints' } }, opts.logger);
    this.vSlices = new Informer<EndpointSlice>(opts.virtual.kubeConfig, { cluster: 'virtual', resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' } }, opts.logger);
    // The host endpoints controller copies a Service's labels (our marker among them) onto the
    // Endpoints it makes, so the label alone does not tell ours; notManagedReason does.
    this.hEndpoints = new Informer<Endpoints>(opts.host.kubeConfig, { cluster: 'host', resource: { version: 'v1', plural: 'endpoints' }, namespace: tr.hostNamespace, labelSelector: hostMarkerSelector(tr) }, opts.logger);
    this.hSlices = new Informer<EndpointSlice>(opts.host.kubeConfig, {
      cluster: 'host', resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' }, namespace: tr.hostNamespace,
      labelSelector: hostEndpointSliceSelector(tr),
    }, opts.logger);
    this.hKubeEndpoints = new Informer<Endpoints>(opts.host.kubeConfig, {
      cluster: 'host', resource: { version: 'v1', plural: 'endpoints' }, namespace: tr.hostNamespace, fieldSelector: `metadata.name=${opts.settings.kubeService}`,
    }, opts.logger);
    this.#queue = new WorkQueue((k) => this.#reconcile(k), opts.concurrency ?? 8);

    for (const inf of [this.vServices, this.vEndpoints] as const) {
      inf.reflector.on('add', (o) => this.#onVirtual(o));
      inf.reflector.on('update', (o) => this.#onVirtual(o));
      inf.reflector.on('delete', (_o, old) => this.#onVirtual(old));
    }
    this.vSlices.reflector.on('add', (s) => this.#onVirtualSlice(s, false));
    this.vSlices.reflector.on('update', (s) => this.#onVirtualSlice(s, false));
    this.vSlices.reflector.on('delete', (_s, old) => this.#onVirtualSlice(old, true));
    this.hServices.reflector.on('add', (s) => this.#onHostService(s));
    this.hServices.reflector.on('update', (s) => this.#onHostService(s));
    this.hServices.reflector.on('delete', (_s, old) => this.#onHostService(old));
    this.hEndpoints.reflector.on('update', (e) => this.#onHostEndpoints(e));
    this.hEndpoints.reflector.on('delete', (_e, old) => this.#onHostEndpoints(old));
    this.hSlices.reflector.on('update', (s) => this.#onHostSlice(s));
    this.hSlices.reflector.on('delete', (_s, old) => this.#onHostSlice(old));
    const onKube = (): void => this.#queue.add(KUBERNETES_KEY);
    this.hKubeEndpoints.reflector.on('add', onKube);
    this.hKubeEndpoints.reflector.on('update', onKube);
    this.hKubeEndpoints.reflector.on('delete', onKube);
  }

  /** Starts the caches it owns (the Service caches belong to the facts source) and waits for them. */
  async start(): Promise<void> {
    for (const inf of [this.vEndpoints, this.vSlices, this.hEndpoints, this.hSlices, this.hKubeEndpoints]) inf.start();
    await Promise.all([this.vEndpoints, this.vSlices, this.hEndpoints, this.hSlices, this.hKubeEndpoints].map((i) => i.synced()));
    this.#resyncTimer = setInterval(() => this.resync(), this.#o.settings.resyncMs);
    this.#resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    this.#queue.stop();
    await Promise.all([this.vEndpoints, this.vSlices, this.hEndpoints, this.hSlices, this.hKubeEndpoints].map((i) => i.stop()));
  }

  get leading(): boolean {
    return this.#leading;
  }

  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) this.resync();
  }

  /** Queues every Service, endpoints object and slice of both sides, as their watch events would. */
  resync(): void {
    if (!this.#leading) return;
    this.#queue.add(KUBERNETES_KEY);
    for (const s of this.vServices.store.values()) this.#onVirtual(s);
    for (const e of this.vEndpoints.store.values()) this.#onVirtual(e);
    for (const s of this.vSlices.store.values()) this.#onVirtualSlice(s, false);
    for (const s of this.hServices.store.values()) this.#onHostService(s);
    for (const e of this.hEndpoints.store.values()) this.#onHostEndpoints(e);
    for (const s of this.hSlices.store.values()) this.#onHostSlice(s);
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // Watch event handlers, also called by resync for every cached object: queuing a key twice is
  // harmless (the queue holds it once), and so is recording a slice that is already recorded.

  /** A virtual Service or Endpoints: its Service's key. */
  #onVirtual(o: { metadata: { namespace?: string; name?: string } }): void {
    this.#enqueueService(o.metadata.namespace ?? '', o.metadata.name ?? '');
  }

  /** A virtual EndpointSlice: recorded under its Service (`removed`: it is gone), then its own key. */
  #onVirtualSlice(s: EndpointSlice, removed: boolean): void {
    const ns = s.metadata.namespace ?? '';
    const svc = sliceServiceName(s);
    if (svc !== undefined) {
      const set = this.#slicesOf.get(key(ns, svc)) ?? new Set<string>();
      if (removed) set.delete(s.metadata.name ?? ''); else set.add(s.metadata.name ?? '');
      if (set.size === 0) this.#slicesOf.delete(key(ns, svc)); else this.#slicesOf.set(key(ns, svc), set);
    }
    if (svc !== undefined && isKubernetesService(svc, ns)) this.#queue.add(KUBERNETES_KEY);
    else if (!SYSTEM_NAMESPACES.has(ns)) this.#queue.add(SLICE_KEY + key(ns, s.metadata.name ?? ''));
  }

  /** A host Service: vcnet's own stands for `default/kubernetes`; a synced one queues its virtual Service. */
  #onHostService(s: Service): void {
    if (s.metadata.name === this.#o.settings.kubeService) { this.#queue.add(KUBERNETES_KEY); return; }
    const v = virtualRefOf(this.#o.tr, s.metadata, KINDS.Service);
    if (v !== undefined) this.#enqueueService(v.namespace ?? '', v.name);
  }

  #onHostEndpoints(e: Endpoints): void {
    const v = virtualRefOf(this.#o.tr, e.metadata, KINDS.Endpoints);
    if (v !== undefined) this.#enqueueService(v.namespace ?? '', v.name);
  }

  #onHostSlice(s: EndpointSlice): void {
    const v = virtualRefOf(this.#o.tr, s.metadata, KINDS.EndpointSlice);
    if (v !== undefined) this.#queue.add(SLICE_KEY + key(v.namespace ?? '', v.name));
  }

  #enqueueService(ns: string, name: string): void {
    if (ns === '' || name === '' || SYSTEM_NAMESPACES.has(ns)) return;
    if (isKubernetesService(name, ns)) { this.#queue.add(KUBERNETES_KEY); return; }
    this.#queue.add(key(ns, name));
    // The slices of a Service follow its selector: a selector added or removed changes their fate.
    for (const slice of this.#slicesOf.get(key(ns, name)) ?? []) this.#queue.add(SLICE_KEY + key(ns, slice));
  }

  async #reconcile(k: string): Promise<void> {
    if (!this.#leading) return;
    try {
      if (k === KUBERNETES_KEY) await this.#reconcileKubernetes();
      else if (k.startsWith(SLICE_KEY)) await this.#reconcileSlice(...split(k.slice(SLICE_KEY.length)));
      else {
        const [ns, name] = split(k);
        await this.#reconcileService(ns, name);
        await this.#reconcileEndpoints(ns, name);
      }
      this.#queue.forget(k);
    } catch (err) {
      const conflict = isConflict(err);
      const delay = this.#queue.retry(k, conflict);
      (conflict ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ err, key: k, retryInMs: delay }, 'service reconcile failed; retrying');
      this.#o.metrics?.failures.inc({ kind: 'Service', operation: 'reconcile' });
    }
  }

  async #reconcileService(ns: string, name: string): Promise<void> {
    const { tr } = this.#o;
    const hName = tr.hostName(name, ns);
    const vSvc = this.vServices.get(ns, name);
    const hSvc = this.hServices.get(tr.hostNamespace, hName);
    const log = this.#log.child({ virtual: key(ns, name), host: key(tr.hostNamespace, hName) });
    const ours = hSvc !== undefined && notManagedReason(tr, hSvc.metadata, KINDS.Service) === undefined;

    if (vSvc === undefined) {
      if (hSvc !== undefined && ours && hSvc.metadata.deletionTimestamp === undefined) await this.#collectOrphan(ns, name, hSvc, log);
      else this.#orphanSince.delete(key(ns, name));
      return;
    }
    this.#orphanSince.delete(key(ns, name));
    this.#o.sync.settled(ns, name);
    if (vSvc.metadata.deletionTimestamp !== undefined) return;
    // The webhook has written the host ahead of the virtual object (an update or delete being
    // stored): the pair only looks out of step. The virtual watch event queues the key again.
    if (this.#o.sync.writeInFlight(ns, name, vSvc.metadata.resourceVersion)) {
      this.#queue.addAfter(key(ns, name), 1000);
      return;
    }
    if (hSvc !== undefined && !ours) {
      log.warn('the host name of this service is taken by a service vcnet does not manage; left alone');
      return;
    }
    // The host cache has not caught up with a write of ours yet: judging drift now would only
    // repeat that write.
    const written = this.#hostWritten.get(key(ns, name));
    if (written !== undefined) {
      if (hSvc?.metadata.resourceVersion !== written.rv && Date.now() - written.at < CACHE_CATCH_UP_MS) { this.#queue.addAfter(key(ns, name), 100); return; }
      this.#hostWritten.delete(key(ns, name));
    }
    if (hSvc === undefined || hSvc.metadata.deletionTimestamp !== undefined) {
      if (hSvc !== undefined) return; // its deletion event queues the Service again
      // Both caches may lag: the host one behind a create that just made the twin, the virtual one
      // behind a delete. Re-create only what the API servers themselves say is missing.
      if (await this.#o.host.transport.getIfExists<Service>(`${API.core}/namespaces/${tr.hostNamespace}/services/${hName}`) !== undefined) { this.#queue.addAfter(key(ns, name), 200); return; }
      const live = await this.#o.virtual.transport.getIfExists<Service>(`${API.core}/namespaces/${ns}/services/${name}`);
      if (live === undefined || live.metadata.deletionTimestamp !== undefined) return;
      if (live.metadata.resourceVersion !== vSvc.metadata.resourceVersion) { this.#queue.addAfter(key(ns, name), 200); return; }
      log.info({ clusterIP: vSvc.spec?.clusterIP }, 'virtual service has no host service: creating it with the virtual ClusterIP');
      const out = await this.#o.sync.update(undefined, vSvc);
      this.#noteWritten(ns, name, out.host);
      // A delete may have slipped in between the check and the create: then the new twin goes too.
      const after = await this.#o.virtual.transport.getIfExists<Service>(`${API.core}/namespaces/${ns}/services/${name}`);
      if (after === undefined || after.metadata.deletionTimestamp !== undefined) {
        if (out.host !== undefined) await this.#o.sync.deleteOrphan(out.host);
        return;
      }
      await this.#writeAllocations(vSvc, out.object, log);
      return;
    }
    const drift = serviceDrift(tr, vSvc, hSvc);
    if (drift.length > 0) {
      log.info({ fields: drift }, 'host service drifted from the virtual service: repairing');
      const out = await this.#o.sync.update(undefined, vSvc);
      this.#noteWritten(ns, name, out.host);
      await this.#writeAllocations(vSvc, out.object, log);
      return; // the host update's watch event queues the Service again for the status
    }
    if (hostAllocationsDiffer(vSvc, hSvc).length > 0) {
      await this.#writeAllocations(vSvc, withHostAllocations(vSvc, hSvc), log);
      return;
    }
    const status = serviceStatusToVirtual(hSvc);
    if (statusDiffers(status, vSvc.status)) {
      await this.#o.virtual.transport.request('PUT', `${API.core}/namespaces/${ns}/services/${name}/status`, { body: { ...vSvc, status } });
    }
  }

  #noteWritten(ns: string, name: string, hSvc: Service | undefined): void {
    const rv = hSvc?.metadata.resourceVersion;
    if (rv !== undefined) this.#hostWritten.set(key(ns, name), { rv, at: Date.now() });
  }

  /** The virtual Service takes what the host allocated (a nodePort the host re-assigned, for one). */
  async #writeAllocations(vSvc: Service, next: Service, log: Logger): Promise<void> {
    const differs = hostAllocationsDiffer(vSvc, next);
    if (differs.length === 0) return;
    log.info({ fields: differs }, 'virtual service does not carry the host\'s allocations: updating it');
    await this.#o.virtual.transport.request('PUT', `${API.core}/namespaces/${vSvc.metadata.namespace}/services/${vSvc.metadata.name}`, { body: next });
  }

  async #collectOrphan(ns: string, name: string, hSvc: Service, log: Logger): Promise<void> {
    if (this.#o.sync.inFlight(ns, name)) { this.#queue.addAfter(key(ns, name), 1000); return; }
    // Aged on vcnet's own clock from when it first saw the twin without a virtual Service:
    // creationTimestamp has one-second resolution, and another replica's create may be in flight.
    const k = key(ns, name);
    const since = this.#orphanSince.get(k) ?? Date.now();
    this.#orphanSince.set(k, since);
    const age = Date.now() - since;
    const grace = this.#o.settings.orphanGraceMs;
    if (age < grace) { this.#queue.addAfter(key(ns, name), grace - age + 100); return; }
    // The cache may lag: ask the virtual API server before deleting anything.
    if (await this.#o.virtual.transport.getIfExists(`${API.core}/namespaces/${ns}/services/${name}`) !== undefined) return;
    log.info({ ageMs: age }, 'host service has no virtual service: deleting it');
    await this.#o.sync.deleteOrphan(hSvc);
    this.#orphanSince.delete(k);
    this.#o.metrics?.orphans.inc({ kind: 'Service' });
  }

  /** Endpoints of a selector-less virtual Service -> host copy; any other host copy of ours goes. */
  async #reconcileEndpoints(ns: string, name: string): Promise<void> {
    if (!this.#o.settings.services.endpoints) return;
    const { tr } = this.#o;
    const hName = tr.hostName(name, ns);
    const vSvc = this.vServices.get(ns, name);
    const vEp = this.vEndpoints.get(ns, name);
    const hEp = this.hEndpoints.get(tr.hostNamespace, hName);
    const hOurs = hEp !== undefined && notManagedReason(tr, hEp.metadata, KINDS.Endpoints) === undefined;
    const path = `${API.core}/namespaces/${tr.hostNamespace}/endpoints`;
    if (vEp !== undefined && shouldSyncEndpoints(vSvc)) {
      if (hEp !== undefined && !hOurs) {
        // The host endpoints controller's object from when the Service had a selector: ours replaces it.
        await this.#o.host.transport.deleteIfSame(`${path}/${hName}`, { uid: hEp.metadata.uid });
        return;
      }
      const desired = endpointsToHost(tr, vEp, hEp !== undefined ? { hMeta: hEp.metadata } : {});
      await apply(this.#o.host.transport, path, hName, desired, hEp, endpointsDrift);
      return;
    }
    if (hEp !== undefined && hOurs) await this.#o.host.transport.deleteIfSame(`${path}/${hName}`, { uid: hEp.metadata.uid });
  }

  /** A user-made EndpointSlice of a selector-less virtual Service -> host copy; other copies of ours go. */
  async #reconcileSlice(ns: string, name: string): Promise<void> {
    if (!this.#o.settings.services.endpointSlices) return;
    const { tr } = this.#o;
    const hName = tr.hostName(name, ns);
    const vSlice = this.vSlices.get(ns, name);
    const hSlice = this.hSlices.get(tr.hostNamespace, hName);
    const path = `${API.discovery}/namespaces/${tr.hostNamespace}/endpointslices`;
    const svc = vSlice === undefined ? undefined : sliceServiceName(vSlice);
    const wanted = vSlice !== undefined && svc !== undefined && !isControllerManagedSlice(vSlice)
      && !isKubernetesService(svc, ns) && shouldSyncEndpoints(this.vServices.get(ns, svc));
    if (wanted) {
      const desired = endpointSliceToHost(tr, vSlice, hSlice !== undefined ? { hMeta: hSlice.metadata } : {});
      await apply(this.#o.host.transport, path, hName, desired, hSlice, endpointSliceDrift);
      return;
    }
    if (hSlice !== undefined && notManagedReason(tr, hSlice.metadata, KINDS.EndpointSlice) === undefined) {
      await this.#o.host.transport.deleteIfSame(`${path}/${hName}`, { uid: hSlice.metadata.uid });
    }
  }

  /**
   * §3.3: the virtual `default/kubernetes` gets the ClusterIP of vcnet's host Service and, as its
   * endpoints, that Service's endpoints (the vcnet pods), so a client in a host pod that follows
   * KUBERNETES_SERVICE_HOST or `kubernetes.default.svc` reaches the virtual API through vcnet.
   * The ClusterIP is immutable, so a virtual Service with another one is deleted and re-created once
   * (its UID changes then; the API server created it before vcnet could say anything).
   */
  async #reconcileKubernetes(): Promise<void> {
    const hSvc = this.hServices.get(this.#o.tr.hostNamespace, this.#o.settings.kubeService);
    if (hSvc === undefined) {
      if (!this.#warnedNoKubeService) {
        this.#log.warn({ host: key(this.#o.tr.hostNamespace, this.#o.settings.kubeService) }, 'vcnet\'s host service does not exist: the virtual default/kubernetes service keeps the virtual API server\'s own address');
        this.#warnedNoKubeService = true;
      }
      return;
    }
    this.#warnedNoKubeService = false;
    const want = kubernetesServiceSpecFromHost(hSvc);
    const vSvc = this.vServices.get('default', 'kubernetes');
    const base = `${API.core}/namespaces/default`;
    if (vSvc === undefined || (vSvc.spec?.clusterIP ?? '') !== want.clusterIP) {
      if (vSvc !== undefined) {
        this.#log.info({ from: vSvc.spec?.clusterIP, to: want.clusterIP }, 'giving the virtual default/kubernetes service the ClusterIP of vcnet\'s host service');
        await this.#o.virtual.transport.deleteIfSame(`${base}/services/kubernetes`, { uid: vSvc.metadata.uid });
      }
      try {
        await this.#o.virtual.transport.request('POST', `${base}/services`, { body: kubernetesServiceFromHost(hSvc, vSvc) });
      } catch (err) {
        // The API server's own controller re-created it first: the next event tries again.
        if (!isAlreadyExists(err)) throw err;
        throw new Error('the virtual API server re-created default/kubernetes first; retrying');
      }
    }
    const { endpoints, slice } = kubernetesEndpointsFromHost(this.hKubeEndpoints.get(this.#o.tr.hostNamespace, this.#o.settings.kubeService), hSvc);
    await apply(this.#o.virtual.transport, `${base}/endpoints`, 'kubernetes', endpoints, this.vEndpoints.get('default', 'kubernetes'), endpointsDrift);
    const sliceBase = `${API.discovery}/namespaces/default/endpointslices`;
    await apply(this.#o.virtual.transport, sliceBase, 'kubernetes', slice, this.vSlices.get('default', 'kubernetes'), endpointSliceDrift);
    // Slices of default/kubernetes that vcnet did not write (the API server's, before vcnet) go.
    for (const name of this.#slicesOf.get(key('default', 'kubernetes')) ?? []) {
      if (name === 'kubernetes') continue;
      await this.#o.virtual.transport.deleteIfSame(`${sliceBase}/${name}`, { uid: this.vSlices.get('default', name)?.metadata.uid });
    }
  }
}

/**
 * Creates `desired` in `collection` when there is no `current` (one created meanwhile is fine: its
 * watch event brings the next comparison), or replaces `current` with it when they differ.
 */
async function apply<T extends { readonly metadata: { readonly resourceVersion?: string | undefined } }>(
  t: KubeTransport, collection: string, name: string, desired: T, current: T | undefined, differ: (desired: T, current: T) => boolean,
): Promise<void> {
  if (current === undefined) {
    try {
      await t.request('POST', collection, { body: desired });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    return;
  }
  if (!differ(desired, current)) return;
  await t.request('PUT', `${collection}/${name}`, { body: { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata.resourceVersion } } });
}
