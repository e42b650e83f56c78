// The pod reconciler: everything about synced pods that is not a write the webhook saw.
//   host -> virtual  status (pod IPs, phase, conditions, container states), node binding, events of
//                    deletion (§2.3): a host pod that is deleted takes its virtual pod with it, a host
//                    pod that vanished after starting makes its virtual pod go (grace 0) so that its
//                    controller replaces it;
//   virtual -> host  a virtual pod being deleted deletes its host pod (grace kept, UID precondition)
//                    and is itself released once the host pod is gone; a virtual pod without host pod
//                    gets one (a create the webhook missed); label and image drift is repaired;
//   garbage          host pods without a virtual twin (older than vcnet.sync.orphanGraceSeconds, so
//                    an admission still in flight is not hit) and host ConfigMaps and Secrets no host
//                    pod refers to any more are deleted.
// It works on keys (`<virtual namespace>/<name>`) from a WorkQueue fed by two watches, and a full
// resync every vcnet.sync.resyncSeconds and after every start, so nothing missed while vcnet was
// down or a watch was cut stays missed. Only the Lease holder writes (setLeading).
import { isConflict, isNotFound, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  hostMarkerSelector, hostPodReferences, KINDS, notManagedReason, podConditionsToHost, podStatusToVirtual, podUpdateToHost, POD_TOKEN_PREFIX,
  POD_UID, virtualPodOf, type Pod, type PodTranslateOptions, type Translator,
} from '../translate/index.ts';
import { Informer } from './informers.ts';
import type { PodFactsSource } from './facts.ts';
import type { SyncSettings } from './options.ts';
import { TOKENS_ANNOTATION, type PodSync } from './pods.ts';
import type { RefKind, ReferenceSync } from './refs.ts';
import { WorkQueue } from './queue.ts';
import type { SyncMetrics } from './metrics.ts';

/** Namespaces vcnet never syncs (the webhook skips them too). */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** What the reconciler needs from the node mirror (src/sync/nodes.ts). */
export interface NodeBinder {
  ensureNode(name: string): Promise<void>;
  setUsedNodes(names: Iterable<string>): void;
}

export interface PodReconcilerOptions {
  readonly tr: Translator;
  readonly settings: SyncSettings;
  readonly podOptions: PodTranslateOptions;
  readonly sync: PodSync;
  readonly refs: ReferenceSync;
  readonly facts: PodFactsSource;
  readonly virtual: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly host: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly nodes?: NodeBinder;
  readonly metrics?: SyncMetrics;
  readonly logger: Logger;
  readonly concurrency?: number;
}

const HOST_KEY = 'host:';

export class PodReconciler {
  readonly vPods: Informer<Pod>;
  readonly hPods: Informer<Pod>;
  readonly #o: PodReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #tokenQueue: WorkQueue;
  readonly #log: Logger;
  /** When the host change a key is queued for was seen, for the status-lag metric. */
  readonly #seenAt = new Map<string, number>();
  #leading = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #collectTimer: NodeJS.Timeout | undefined;
  #nodesTimer: NodeJS.Timeout | undefined;

  constructor(opts: PodReconcilerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'pod-reconciler' });
    this.vPods = new Informer<Pod>(opts.virtual.kubeConfig, { cluster: 'virtual', resource: { version: 'v1', plural: 'pods' } }, opts.logger);
    this.hPods = new Informer<Pod>(opts.host.kubeConfig, {
      cluster: 'host', resource: { version: 'v1', plural: 'pods' }, namespace: opts.tr.hostNamespace,
      labelSelector: hostMarkerSelector(opts.tr),
    }, opts.logger);
    this.#queue = new WorkQueue((key) => this.#reconcile(key), opts.concurrency ?? 8);
    this.#tokenQueue = new WorkQueue((key) => this.#rebindTokens(key), 2);

    const onVirtual = (p: Pod): void => { if (!SYSTEM_NAMESPACES.has(p.metadata.namespace ?? '')) this.#queue.add(virtualKey(p)); };
    this.vPods.reflector.on('add', onVirtual);
    this.vPods.reflector.on('update', onVirtual);
    this.vPods.reflector.on('delete', (_obj, old) => onVirtual(old));
    const onHost = (p: Pod): void => {
      const key = this.#keyOfHost(p);
      if (!this.#seenAt.has(key)) this.#seenAt.set(key, performance.now());
      this.#queue.add(key);
      this.#scheduleNodes();
    };
    this.hPods.reflector.on('add', onHost);
    this.hPods.reflector.on('update', onHost);
    this.hPods.reflector.on('delete', (_obj, old) => { onHost(old); this.#scheduleCollect(); });

    for (const kind of ['ConfigMap', 'Secret'] as const) {
      const onRef = (o: { metadata: { name?: string; namespace?: string } }): void => { if (this.#leading) void this.#syncRef(kind, o); };
      opts.refs.virtual[kind].reflector.on('update', onRef);
      opts.refs.virtual[kind].reflector.on('add', onRef);
      opts.refs.virtual[kind].reflector.on('delete', (_obj, old) => onRef(old));
    }
  }

  async start(): Promise<void> {
    this.vPods.start();
    this.hPods.start();
    await Promise.all([this.vPods.synced(), this.hPods.synced()]);
    this.#resyncTimer = setInterval(() => this.resync(), this.#o.settings.resyncMs);
    this.#resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    clearTimeout(this.#nodesTimer);
    clearTimeout(this.#collectTimer);
    this.#queue.stop();
    this.#tokenQueue.stop();
    await Promise.all([this.vPods.stop(), this.hPods.stop()]);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Called by the leader election: only the Lease holder writes. Becoming leader starts a full resync. */
  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) {
      this.resync();
      this.#scheduleNodes();
    }
  }

  /** Queues every known pod, both sides, and collects unreferenced ConfigMaps and Secrets. */
  resync(): void {
    if (!this.#leading) return;
    for (const p of this.vPods.store.values()) if (!SYSTEM_NAMESPACES.has(p.metadata.namespace ?? '')) this.#queue.add(virtualKey(p));
    for (const p of this.hPods.store.values()) this.#queue.add(this.#keyOfHost(p));
    void this.collectReferences().catch((err: unknown) => this.#log.warn({ err }, 'garbage collection of host ConfigMaps and Secrets failed; retried at the next resync'));
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await this.#tokenQueue.idle();
  }

  #keyOfHost(p: Pod): string {
    const v = virtualPodOf(this.#o.tr, p);
    return v === undefined ? `${HOST_KEY}${p.metadata.name ?? ''}` : `${v.namespace}/${v.name}`;
  }


  /** After a host pod went away, its ConfigMaps and Secrets may be unreferenced: collect them soon. */
  #scheduleCollect(): void {
    if (this.#collectTimer !== undefined) return;
    this.#collectTimer = setTimeout(() => {
      this.#collectTimer = undefined;
      void this.collectReferences().catch((err: unknown) => this.#log.warn({ err }, 'garbage collection of host ConfigMaps and Secrets failed; retried at the next resync'));
    }, 1000);
    this.#collectTimer.unref();
  }

  #scheduleNodes(): void {
    if (this.#o.nodes === undefined || this.#nodesTimer !== undefined) return;
    this.#nodesTimer = setTimeout(() => {
      this.#nodesTimer = undefined;
      const used = new Set<string>();
      for (const p of this.hPods.store.values()) if (p.spec.nodeName) used.add(p.spec.nodeName);
      this.#o.nodes?.setUsedNodes(used);
    }, 200);
    this.#nodesTimer.unref();
  }

  async #reconcile(key: string): Promise<void> {
    if (!this.#leading) return;
    const seen = this.#seenAt.get(key);
    this.#seenAt.delete(key);
    try {
      if (key.startsWith(HOST_KEY)) await this.#reconcileStray(key.slice(HOST_KEY.length));
      else await this.#reconcilePod(key, seen);
      this.#queue.forget(key);
    } catch (err) {
      const conflict = isConflict(err);
      const delay = this.#queue.retry(key, conflict);
      (conflict ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ err, key, retryInMs: delay }, 'pod reconcile failed; retrying');
      this.#o.metrics?.failures.inc({ kind: 'Pod', operation: 'reconcile' });
    }
  }

  /** A host pod whose annotations do not name a virtual pod (edited by hand, or not ours after all). */
  async #reconcileStray(hName: string): Promise<void> {
    const hPod = this.hPods.get(this.#o.tr.hostNamespace, hName);
    if (hPod === undefined || hPod.metadata.deletionTimestamp !== undefined) return;
    if (notManagedReason(this.#o.tr, hPod.metadata, KINDS.Pod) !== undefined) {
      this.#log.warn({ host: `${this.#o.tr.hostNamespace}/${hName}` }, 'host pod carries vcnet\'s marker label but no valid virtual reference; left alone');
      return;
    }
  }

  async #reconcilePod(key: string, hostSeenAt: number | undefined): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const tr = this.#o.tr;
    const hName = tr.hostName(name, ns);
    const vPod = this.vPods.get(ns, name);
    const hPod = this.hPods.get(tr.hostNamespace, hName);
    const log = this.#log.child({ virtual: key, host: `${tr.hostNamespace}/${hName}` });

    if (vPod === undefined) {
      if (hPod !== undefined && hPod.metadata.deletionTimestamp === undefined) await this.#collectOrphan(key, ns, name, hPod, log);
      return;
    }
    const vUid = vPod.metadata.uid ?? '';
    if (hPod !== undefined && (hPod.metadata.annotations?.[POD_UID] ?? '') !== vUid) {
      // The host pod of an earlier virtual pod of this name. It goes first; this pod follows.
      if (hPod.metadata.deletionTimestamp === undefined) {
        log.info({ staleUid: hPod.metadata.annotations?.[POD_UID] }, 'deleting the host pod of an earlier virtual pod of the same name');
        await this.#o.sync.deleteOrphan(hPod);
      }
      return;
    }
    if (vPod.metadata.deletionTimestamp !== undefined) {
      if (hPod === undefined) {
        log.debug('host pod gone: releasing the virtual pod');
        await this.#forceDeleteVirtual(vPod);
      } else {
        if (hPod.metadata.deletionTimestamp === undefined) {
          await this.#o.sync.delete(vPod, vPod.metadata.deletionGracePeriodSeconds as number | undefined);
        }
        await this.#writeStatus(vPod, hPod, hostSeenAt);
      }
      return;
    }
    if (hPod === undefined) {
      if (hasStarted(vPod)) {
        // §2.3: the host pod vanished after the virtual pod had started. Its controller replaces it.
        log.info('host pod disappeared: deleting the virtual pod (grace 0) so that its controller replaces it');
        await this.#forceDeleteVirtual(vPod);
      } else {
        log.info('virtual pod has no host pod: creating it');
        await this.#o.sync.create(vPod);
      }
      return;
    }
    if (hPod.metadata.deletionTimestamp !== undefined) {
      // §2.3: a host pod being deleted takes the virtual pod with it, with the pod's own grace period.
      const grace = (vPod.spec['terminationGracePeriodSeconds'] as number | undefined) ?? 30;
      log.info({ grace }, 'host pod is being deleted: deleting the virtual pod');
      await this.#deleteVirtual(vPod, grace);
      await this.#writeStatus(vPod, hPod, hostSeenAt);
      return;
    }
    if (hPod.spec.nodeName && !vPod.spec.nodeName) {
      await this.#o.nodes?.ensureNode(hPod.spec.nodeName);
      await this.#bind(vPod, hPod.spec.nodeName);
      // The binding changed the virtual pod, so a status write from this (older) copy would only
      // conflict: the binding's watch event queues the pod again, and the status goes then.
      if (hostSeenAt !== undefined) this.#seenAt.set(key, hostSeenAt);
      return;
    }
    await this.#writeStatus(vPod, hPod, hostSeenAt);
    await this.#writeHostConditions(vPod, hPod);
    // Off the status path: a TokenRequest and a host write that status updates must not wait for.
    if (hPod.metadata.annotations?.[TOKENS_ANNOTATION] === 'bootstrap') this.#tokenQueue.add(key);
    const drift = podUpdateToHost(this.#o.tr, undefined, vPod, hPod, this.#o.podOptions, this.#o.facts.namespaceLabels(ns));
    if (drift !== undefined) {
      log.info('host pod drifted from the virtual pod: repairing');
      await this.#o.sync.update(undefined, vPod);
    }
  }

  async #collectOrphan(key: string, ns: string, name: string, hPod: Pod, log: Logger): Promise<void> {
    const created = Date.parse(hPod.metadata.creationTimestamp ?? '');
    const age = Number.isFinite(created) ? Date.now() - created : Infinity;
    const grace = this.#o.settings.orphanGraceMs;
    if (age < grace) { this.#queue.addAfter(key, grace - age + 100); return; }
    // The cache may lag: ask the virtual API server before deleting anything.
    try {
      const live = await this.#o.virtual.transport.request<Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
      if (live.metadata.uid === hPod.metadata.annotations?.[POD_UID]) return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    log.info({ ageMs: age }, 'host pod has no virtual pod: deleting it');
    await this.#o.sync.deleteOrphan(hPod);
    this.#o.metrics?.orphans.inc({ kind: 'Pod' });
  }

  async #writeStatus(vPod: Pod, hPod: Pod, hostSeenAt: number | undefined): Promise<void> {
    const status = podStatusToVirtual(vPod, hPod);
    if (JSON.stringify(status) === JSON.stringify(vPod.status ?? {})) return;
    const path = `/api/v1/namespaces/${vPod.metadata.namespace}/pods/${vPod.metadata.name}/status`;
    await this.#o.virtual.transport.request('PUT', path, { body: { ...vPod, status } });
    if (hostSeenAt !== undefined) this.#o.metrics?.statusLag.observe((performance.now() - hostSeenAt) / 1000);
  }

  /**
   * Custom conditions set inside the virtual cluster (readiness gates) go to the host pod, whose
   * kubelet counts them for Ready (§2.3: conditions are merged both ways).
   */
  async #writeHostConditions(vPod: Pod, hPod: Pod): Promise<void> {
    const conditions = podConditionsToHost(vPod, hPod);
    if (conditions === undefined) return;
    const path = `/api/v1/namespaces/${this.#o.tr.hostNamespace}/pods/${hPod.metadata.name}/status`;
    await this.#o.host.transport.request('PUT', path, { body: { ...hPod, status: { ...hPod.status, conditions } } });
  }

  async #bind(vPod: Pod, nodeName: string): Promise<void> {
    const path = `/api/v1/namespaces/${vPod.metadata.namespace}/pods/${vPod.metadata.name}/binding`;
    const body = {
      apiVersion: 'v1', kind: 'Binding',
      metadata: { name: vPod.metadata.name, namespace: vPod.metadata.namespace, uid: vPod.metadata.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    };
    try {
      await this.#o.virtual.transport.request('POST', path, { body });
    } catch (err) {
      // Already bound (a retry after a lost answer): the watch shows the node.
      if (isConflict(err)) return;
      throw err;
    }
  }

  /** Replaces a host pod's bootstrap tokens by tokens bound to its virtual pod (docs/pods.md). */
  async #rebindTokens(key: string): Promise<void> {
    if (!this.#leading) return;
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const vPod = this.vPods.get(ns, name);
    const hPod = this.hPods.get(this.#o.tr.hostNamespace, this.#o.tr.hostName(name, ns));
    if (vPod === undefined || hPod === undefined || vPod.metadata.deletionTimestamp !== undefined || hPod.metadata.deletionTimestamp !== undefined) return;
    if (hPod.metadata.annotations?.[TOKENS_ANNOTATION] !== 'bootstrap' || hPod.metadata.annotations?.[POD_UID] !== vPod.metadata.uid) return;
    try {
      await this.#bindTokens(vPod, hPod, this.#log.child({ virtual: key }));
    } catch (err) {
      this.#log.warn({ err, key }, 'binding the service-account tokens to the virtual pod failed; retrying');
      this.#tokenQueue.addAfter(key, 2000);
    }
  }

  async #bindTokens(vPod: Pod, hPod: Pod, log: Logger): Promise<void> {
    const desired = await this.#o.sync.desired(vPod, { boundTokens: true });
    const want = desired.hPod.metadata.annotations ?? {};
    const patch: Record<string, string> = {};
    for (const [k, v] of Object.entries(want)) if (k.startsWith(POD_TOKEN_PREFIX) || k === TOKENS_ANNOTATION) patch[k] = v;
    const path = `/api/v1/namespaces/${this.#o.tr.hostNamespace}/pods/${hPod.metadata.name}`;
    await this.#o.host.transport.request('PATCH', path, {
      body: { metadata: { annotations: patch, resourceVersion: hPod.metadata.resourceVersion } },
      contentType: 'application/merge-patch+json',
    });
    log.debug('service-account tokens bound to the virtual pod');
  }

  async #deleteVirtual(vPod: Pod, grace: number): Promise<void> {
    const path = `/api/v1/namespaces/${vPod.metadata.namespace}/pods/${vPod.metadata.name}`;
    await this.#o.virtual.transport.deleteIfSame(path, { uid: vPod.metadata.uid }, { gracePeriodSeconds: grace });
  }

  #forceDeleteVirtual(vPod: Pod): Promise<void> {
    return this.#deleteVirtual(vPod, 0);
  }

  /** Keeps the host copy of a referenced ConfigMap or Secret equal to the virtual one (only copies that exist). */
  async #syncRef(kind: RefKind, o: { metadata: { name?: string; namespace?: string } }): Promise<void> {
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name ?? '';
    if (ns === '' || name === '' || SYSTEM_NAMESPACES.has(ns)) return;
    const hName = this.#o.tr.hostName(name, ns);
    if (this.#o.refs.host[kind].get(this.#o.tr.hostNamespace, hName) === undefined) return;
    try {
      await this.#o.refs.syncOne(kind, ns, name, { deleteIfGone: true });
    } catch (err) {
      this.#log.warn({ err, kind, virtual: `${ns}/${name}` }, 'keeping the host copy in sync failed; retried at the next resync');
    }
  }

  /** Deletes host ConfigMaps and Secrets that no host pod refers to any more (older than the orphan grace). */
  async collectReferences(): Promise<void> {
    if (!this.#leading) return;
    const used = { ConfigMap: new Set<string>(), Secret: new Set<string>() };
    for (const p of this.hPods.store.values()) {
      const r = hostPodReferences(p);
      for (const n of r.configMaps) used.ConfigMap.add(n);
      for (const n of r.secrets) used.Secret.add(n);
    }
    const now = Date.now();
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      for (const hObj of this.#o.refs.host[kind].store.values()) {
        const name = hObj.metadata.name ?? '';
        if (used[kind].has(name)) continue;
        const created = Date.parse(hObj.metadata.creationTimestamp ?? '');
        if (Number.isFinite(created) && now - created < this.#o.settings.orphanGraceMs) continue;
        // A pod write in flight may have just checked this copy and be about to create its pod.
        if (now - this.#o.refs.lastEnsured(kind, name) < this.#o.settings.orphanGraceMs) continue;
        await this.#o.refs.deleteHost(kind, hObj);
        this.#o.metrics?.orphans.inc({ kind });
        this.#log.info({ kind, host: `${this.#o.tr.hostNamespace}/${name}` }, 'host copy is no longer referenced by any pod: deleted');
      }
    }
    // Also re-sync every existing host copy with its virtual object (a change missed while down).
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      for (const hObj of this.#o.refs.host[kind].store.values()) {
        const ref = this.#o.refs.virtualOf(kind, hObj);
        if (ref !== undefined) await this.#syncRef(kind, { metadata: ref });
      }
    }
  }
}

function virtualKey(p: Pod): string {
  return `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
}

/** vCluster's test: the pod ran (or was placed) somewhere. */
function hasStarted(vPod: Pod): boolean {
  return vPod.status?.startTime !== undefined || (vPod.spec.nodeName ?? '') !== '';
}
