// NodeMirror: host Nodes in the virtual cluster (vCluster's `sync.fromHost.nodes` with real nodes;
// reference §8 and §11 row 33; loft-sh/vcluster pkg/controllers/resources/nodes/syncer.go).
//
// Why: a virtual pod is bound to the node its host pod runs on (§2.3), and the virtual
// kube-controller-manager's pod garbage collector deletes pods bound to a node that does not exist
// (pkg/controller/podgc gcOrphaned, after a 40 s quarantine). So before the reconciler binds a pod it
// calls ensureNode(), and the nodes this vCluster's pods run on stay mirrored while they do.
//
// What is mirrored (translate/node.ts nodeSelected): nodes the pods use (setUsedNodes), plus all
// nodes (`selector.all`) or those carrying `selector.labels`. A mirrored node follows its host node
// (labels, annotations, taints, status; heartbeat-only changes throttled) and goes when the host node
// goes, or when nothing selects it and no virtual pod is bound to it any more. Only Nodes carrying
// vcnet's MIRRORED_BY label are ever updated or deleted: a Node created by hand in the virtual
// cluster is left alone, with a warning. The virtual cluster runs no node-lifecycle controller
// (src/local/controlplane.ts VIRTUAL_DISABLED_CONTROLLERS), so nothing there evicts or taints.
//
// Work is per node name and serialized per name; event-driven reconciles coalesce, failures retry
// with backoff. Writes use raw JSON (KubeTransport), so status timestamps stay wire strings.
import { EventEmitter } from 'node:events';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Gauge, Counter, type Registry } from 'prom-client';
import {
  Backoff, isAlreadyExists, isConflict, isNotFound, KubeTransport, Reflector, toApiStatus, type KubeClients,
} from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  hostNodeToVirtual, isMirroredNode, MIRRORED_BY, markerValue, nodeNeedsUpdate, nodeSelected, virtualPodKeepsNode,
  type OwnerReference, type VirtualNode, type WireNode,
} from '../translate/index.ts';

export interface NodeMirrorOptions {
  /** `sync.fromHost.nodes.selector.all`: mirror every host node, with or without pods. */
  readonly all: boolean;
  /** `sync.fromHost.nodes.selector.labels`: also mirror every host node carrying all of these. */
  readonly labels: Readonly<Record<string, string>>;
  /** `sync.fromHost.nodes.clearImageStatus`. */
  readonly clearImageStatus: boolean;
  /** Heartbeat-only status changes are written at most this often per node (default 60 s). */
  readonly heartbeatMinIntervalMs?: number;
  /** The vCluster name, the value of the MIRRORED_BY label (default `vcnet`). */
  readonly vcluster?: string;
  /**
   * After ensureNode(), the node stays even if nothing else selects it for this long (default 60 s),
   * so it cannot be removed between ensureNode() and the pod binding that will keep it.
   */
  readonly ensureGraceMs?: number;
  /** A node kept only because virtual pods are still bound to it is checked again after this (default 10 s). */
  readonly recheckMs?: number;
}

export interface NodeMirrorDeps {
  readonly virtual: KubeClients;
  readonly host: KubeClients;
  /** The host credentials the watch uses; `host.kubeConfig` when absent. */
  readonly hostKubeConfig?: KubeConfig;
  readonly options: NodeMirrorOptions;
  readonly logger: Logger;
  /** Where `vcnet_node_mirror_*` metrics go; none when absent. */
  readonly registry?: Registry;
}

export type NodeMirrorAction = 'created' | 'updated' | 'status' | 'deleted';

/**
 * What one reconcile of a node name found or did: `kept` means not selected but kept (and updated)
 * because virtual pods are still bound to it; `foreign`, a virtual Node vcnet did not create, left
 * alone; `absent`, nothing to mirror and nothing there.
 */
export type NodeMirrorOutcome = 'created' | 'updated' | 'unchanged' | 'kept' | 'deleted' | 'foreign' | 'absent';

export interface NodeMirrorEvents {
  /** A write vcnet made to a virtual Node (`status`: only the status subresource). */
  mirrored: [name: string, action: NodeMirrorAction];
  /** After every successful reconcile of a node name (for logs, metrics and tests). */
  reconciled: [name: string, outcome: NodeMirrorOutcome];
}

/** ensureNode() for a node the host does not have. */
export class HostNodeNotFoundError extends Error {
  readonly node: string;

  constructor(node: string, opts?: { cause?: unknown }) {
    super(`host node "${node}" does not exist, so it cannot be mirrored into the virtual cluster`, opts);
    this.name = 'HostNodeNotFoundError';
    this.node = node;
  }
}

type Node = WireNode & KubernetesObject;
type Outcome = NodeMirrorOutcome;

const DEFAULTS = Object.freeze({ heartbeatMinIntervalMs: 60_000, vcluster: 'vcnet', ensureGraceMs: 60_000, recheckMs: 10_000 });
const NODES = '/api/v1/nodes';
/** Attempts of one reconcile when the virtual Node changed under it (409): re-read and decide again. */
const CONFLICT_ATTEMPTS = 3;

export class NodeMirror extends EventEmitter<NodeMirrorEvents> {
  readonly #deps: NodeMirrorDeps;
  readonly #opts: Required<Omit<NodeMirrorOptions, 'labels'>> & { labels: Readonly<Record<string, string>> };
  readonly #log: Logger;
  readonly #writes: Counter<'action'> | undefined;

  #hostNodes: Reflector<Node> | undefined;
  #virtualNodes: Reflector<Node> | undefined;
  #vt: KubeTransport | undefined;
  #ht: KubeTransport | undefined;
  #running = false;
  /** Both watches have listed: only then may a missing host node mean "gone". */
  #synced = false;
  #starting: Promise<void> | undefined;

  #used = new Set<string>();
  /** Whether the reconciler has told us the used nodes yet: until then nothing is removed for lack of use. */
  #usedKnown = false;
  readonly #ensuredAt = new Map<string, number>();
  /** The tail of each node's serial chain; every reconcile of a name runs after the previous one. */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** Names with an event-driven reconcile queued and not yet started (coalescing). */
  readonly #queued = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #backoffs = new Map<string, Backoff>();
  readonly #warnedForeign = new Set<string>();

  constructor(deps: NodeMirrorDeps) {
    super();
    this.#deps = deps;
    const o = deps.options;
    this.#opts = {
      all: o.all, labels: { ...o.labels }, clearImageStatus: o.clearImageStatus,
      heartbeatMinIntervalMs: o.heartbeatMinIntervalMs ?? DEFAULTS.heartbeatMinIntervalMs,
      vcluster: o.vcluster ?? DEFAULTS.vcluster,
      ensureGraceMs: o.ensureGraceMs ?? DEFAULTS.ensureGraceMs,
      recheckMs: o.recheckMs ?? DEFAULTS.recheckMs,
    };
    this.#log = deps.logger.child({ component: 'node-mirror' });
    if (deps.registry !== undefined) this.#writes = this.#registerMetrics(deps.registry);
  }

  /** Watches host and virtual nodes; resolves once both are listed and the first pass is done. */
  start(): Promise<void> {
    if (this.#starting !== undefined) return this.#starting;
    this.#running = true;
    const hostNodes = new Reflector<Node>(this.#deps.hostKubeConfig ?? this.#deps.host.kubeConfig, { resource: { version: 'v1', plural: 'nodes' } });
    const virtualNodes = new Reflector<Node>(this.#deps.virtual.kubeConfig, { resource: { version: 'v1', plural: 'nodes' } });
    this.#hostNodes = hostNodes;
    this.#virtualNodes = virtualNodes;
    for (const [cluster, r] of [['host', hostNodes], ['virtual', virtualNodes]] as const) {
      r.on('error', (status, retryInMs) => {
        this.#log.warn({ cluster, code: status.code, reason: status.reason, retryInMs }, `watch of ${cluster} nodes failed: ${status.message}`);
      });
      const onEvent = (obj: Node): void => { this.#enqueue(nameOf(obj)); };
      r.on('add', onEvent);
      r.on('update', onEvent);
      r.on('delete', onEvent);
    }
    this.#starting = (async () => {
      hostNodes.start();
      virtualNodes.start();
      await Promise.all([hostNodes.waitForSync(), virtualNodes.waitForSync()]);
      this.#synced = true;
      // The first pass: every host node (the selected ones appear) and every node we mirrored (those
      // whose host node is gone disappear). It also covers the events of the LISTs, not acted on.
      const names = new Set<string>(hostNodes.store.keys());
      for (const v of virtualNodes.store.values()) if (this.#ours(v)) names.add(nameOf(v));
      await Promise.all([...names].map((n) => this.#enqueue(n)));
    })();
    this.#starting.catch(() => undefined);
    return this.#starting;
  }

  /** Stops watching and retrying; virtual nodes stay as they are (a restart must not delete them). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#synced = false;
    this.#starting = undefined;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#queued.clear();
    const reflectors = [this.#hostNodes, this.#virtualNodes];
    this.#hostNodes = undefined;
    this.#virtualNodes = undefined;
    // Close the connections first: writes in flight end at once instead of holding up the stop.
    this.#vt?.close();
    this.#ht?.close();
    this.#vt = undefined;
    this.#ht = undefined;
    await Promise.all(reflectors.map((r) => r?.stop()));
    await Promise.allSettled([...this.#tails.values()]);
  }

  /**
   * The host node names this vCluster's pods run on (the reconciler computes them from the host pods
   * and calls this on every change). Nodes that join are mirrored; nodes that leave are removed once
   * nothing else selects them and no virtual pod is bound to them.
   */
  setUsedNodes(names: Iterable<string>): void {
    const next = new Set(names);
    const changed = new Set<string>();
    for (const n of next) if (!this.#used.has(n)) changed.add(n);
    for (const n of this.#used) if (!next.has(n)) changed.add(n);
    if (!this.#usedKnown) {
      // The first report: our nodes that are not in it may be unused since before a restart.
      for (const v of this.#virtualNodes?.store.values() ?? []) if (this.#ours(v)) changed.add(nameOf(v));
    }
    this.#used = next;
    this.#usedKnown = true;
    if (!this.#running) return;
    for (const n of changed) void this.#enqueue(n);
  }

  /**
   * Makes sure the virtual node `name` exists now (created from the host node, with its status), so
   * a virtual pod can be bound to it. Idempotent. A Node of that name created by someone else is
   * left alone and is enough. Throws HostNodeNotFoundError when the host has no such node.
   */
  async ensureNode(name: string): Promise<void> {
    let hNode = this.#hostNodes?.store.get(name);
    if (hNode === undefined) {
      // A node that joined moments ago may not be on the watch yet.
      try {
        hNode = await this.#hostApi.request<Node>('GET', nodePath(name));
      } catch (err) {
        if (isNotFound(err)) throw new HostNodeNotFoundError(name, { cause: err });
        throw err;
      }
    }
    this.#ensuredAt.set(name, Date.now());
    const outcome = await this.#serial(name, () => this.#reconcile(name, hNode));
    if (outcome === 'absent' || outcome === 'deleted') {
      throw new Error(`virtual node "${name}" could not be ensured (${outcome})`);
    }
  }

  /** The names of the virtual nodes this mirror manages, as last seen on the watch. */
  mirroredNodes(): string[] {
    return [...(this.#virtualNodes?.store.values() ?? [])].filter((v) => this.#ours(v)).map(nameOf).sort();
  }

  // ---- scheduling ----

  /** Queues a reconcile of `name` unless one is already queued; failures are retried with backoff. */
  #enqueue(name: string): Promise<unknown> {
    // Events that arrive while the watches are still listing are covered by the first pass.
    if (!this.#running || !this.#synced || name === '') return Promise.resolve();
    if (this.#queued.has(name)) return this.#tails.get(name) ?? Promise.resolve();
    this.#queued.add(name);
    return this.#serial(name, async () => {
      this.#queued.delete(name);
      if (!this.#running || !this.#synced) return 'absent';
      try {
        const outcome = await this.#reconcile(name);
        this.#backoffs.delete(name);
        return outcome;
      } catch (err) {
        const backoff = this.#backoffs.get(name) ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
        this.#backoffs.set(name, backoff);
        const retryInMs = backoff.next();
        const status = toApiStatus(err);
        this.#log.warn({ node: name, code: status.code, reason: status.reason, retryInMs }, `mirroring node ${name} failed: ${status.message}`);
        this.#after(name, retryInMs);
        return 'absent';
      }
    }).catch(() => undefined);
  }

  #after(name: string, ms: number): void {
    if (!this.#running || this.#timers.has(name)) return;
    const timer = setTimeout(() => { this.#timers.delete(name); void this.#enqueue(name); }, ms);
    timer.unref();
    this.#timers.set(name, timer);
  }

  /** Runs `fn` after every earlier piece of work on the same node name. */
  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(name, tail);
    void tail.then(() => { if (this.#tails.get(name) === tail) this.#tails.delete(name); });
    return run;
  }

  // ---- the decision ----

  /** Brings the virtual node `name` to what the host node and the selection say. */
  async #reconcile(name: string, hostOverride?: Node): Promise<Outcome> {
    const hNode = hostOverride ?? this.#hostNodes?.store.get(name);
    let vNode: Node | undefined = this.#virtualNodes?.store.get(name);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.#reconcileOnce(name, hNode, vNode);
        this.emit('reconciled', name, outcome);
        return outcome;
      } catch (err) {
        // The virtual node changed under us (the watch was behind): read it and decide again.
        if (!(isConflict(err) || isAlreadyExists(err)) || attempt >= CONFLICT_ATTEMPTS) throw err;
        vNode = await this.#getVirtual(name);
      }
    }
  }

  async #reconcileOnce(name: string, hNode: Node | undefined, vNode: Node | undefined): Promise<Outcome> {
    const ours = vNode !== undefined && this.#ours(vNode);
    if (vNode !== undefined && !ours) this.#warnForeign(name, hNode !== undefined && this.#wanted(name, hNode));
    else this.#warnedForeign.delete(name);

    if (hNode === undefined) {
      // The host node is gone: so are its pods (host pod GC), and the virtual ones follow.
      if (!ours) return vNode === undefined ? 'absent' : 'foreign';
      await this.#delete(vNode, 'the host node is gone');
      return 'deleted';
    }
    let outcome: Outcome = 'unchanged';
    if (!this.#wanted(name, hNode)) {
      if (!ours) return vNode === undefined ? 'absent' : 'foreign';
      if (await this.#hasBoundPods(name)) {
        // Keep it (and current) while pods are bound; look again later, as nothing else tells us
        // when the last virtual pod is gone.
        this.#after(name, this.#opts.recheckMs);
        outcome = 'kept';
      } else {
        await this.#delete(vNode, 'no pod of this vCluster uses it and no selector selects it');
        return 'deleted';
      }
    }
    if (vNode !== undefined && !ours) return 'foreign';

    const desired = hostNodeToVirtual(hNode, { vcluster: this.#opts.vcluster, clearImageStatus: this.#opts.clearImageStatus });
    let current = vNode;
    if (current === undefined) {
      current = await this.#create(desired);
      outcome = 'created';
      // The TaintNodesByCondition admission plugin gives every new Node the
      // node.kubernetes.io/not-ready:NoSchedule taint; the node-lifecycle controller that would lift
      // it does not run in the virtual cluster, so the update below puts the host's taints back.
    }
    const need = nodeNeedsUpdate(desired, current, { heartbeatMinIntervalMs: this.#opts.heartbeatMinIntervalMs });
    if (need.meta) {
      current = await this.#virtualApi.request<Node>('PUT', nodePath(name), {
        body: { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion }, status: current.status },
      });
      this.#wrote(name, 'updated', 'labels, annotations or spec changed on the host');
      if (outcome === 'unchanged') outcome = 'updated';
    }
    if (need.status) {
      // Node create keeps the status, but an update of the Node ignores it
      // (pkg/registry/core/node/strategy.go PrepareForUpdate): status goes through its subresource.
      await this.#virtualApi.request<Node>('PUT', `${nodePath(name)}/status`, { body: { ...current, status: desired.status } });
      this.#wrote(name, 'status', outcome === 'created' ? 'status after create' : 'status changed on the host');
      if (outcome === 'unchanged') outcome = 'updated';
    }
    return outcome;
  }

  /** Selected by the pods or the selector, or asked for by ensureNode() a moment ago. */
  #wanted(name: string, hNode: Node): boolean {
    // Until the reconciler reports the used nodes, a node we mirrored counts as used.
    const used = this.#used.has(name) || (!this.#usedKnown && this.#ours(this.#virtualNodes?.store.get(name)));
    if (nodeSelected(hNode, this.#opts, used)) return true;
    const at = this.#ensuredAt.get(name);
    if (at === undefined) return false;
    const left = at + this.#opts.ensureGraceMs - Date.now();
    if (left > 0) {
      // Look again once the grace is over, in case no pod was bound to it after all.
      this.#after(name, left + 1);
      return true;
    }
    this.#ensuredAt.delete(name);
    return false;
  }

  #ours(vNode: WireNode | undefined): vNode is Node {
    return vNode !== undefined && isMirroredNode(vNode, this.#opts.vcluster);
  }

  #warnForeign(name: string, wanted: boolean): void {
    if (!wanted || this.#warnedForeign.has(name)) return;
    this.#warnedForeign.add(name);
    this.#log.warn({ node: name, label: MIRRORED_BY }, `virtual node ${name} was not created by vcnet (no ${MIRRORED_BY}=${markerValue(this.#opts.vcluster)} label); it is left as it is and not kept in step with the host node`);
  }

  // ---- API calls ----

  async #create(desired: VirtualNode): Promise<Node> {
    // AlreadyExists goes up to #reconcile, which re-reads the node and decides again.
    const created = await this.#virtualApi.request<Node>('POST', NODES, { body: desired });
    this.#wrote(desired.metadata.name, 'created', 'selected on the host');
    return created;
  }

  async #delete(vNode: Node, why: string): Promise<void> {
    const name = nameOf(vNode);
    try {
      // Preconditions: delete exactly the Node we looked at (ours, in that state), never a newer one.
      await this.#virtualApi.request('DELETE', nodePath(name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: vNode.metadata?.uid, resourceVersion: vNode.metadata?.resourceVersion } },
      });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.#ensuredAt.delete(name);
    this.#wrote(name, 'deleted', why);
  }

  #getVirtual(name: string): Promise<Node | undefined> {
    return this.#virtualApi.getIfExists<Node>(nodePath(name));
  }

  /** Whether a virtual pod that keeps a node (virtualPodKeepsNode) is bound to `name`. */
  async #hasBoundPods(name: string): Promise<boolean> {
    let cont: string | undefined;
    do {
      const page = await this.#virtualApi.request<PodList>('GET', '/api/v1/pods', {
        query: { fieldSelector: `spec.nodeName=${name}`, limit: 100, continue: cont },
      });
      if (page.items.some(virtualPodKeepsNode)) return true;
      cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (cont !== undefined);
    return false;
  }

  #wrote(name: string, action: NodeMirrorAction, why: string): void {
    this.#writes?.inc({ action });
    this.#log.info({ node: name, action }, `virtual node ${name} ${action === 'status' ? 'status updated' : action}: ${why}`);
    this.emit('mirrored', name, action);
  }

  // Opened on first use (ensureNode may come before start()), closed by stop().
  get #virtualApi(): KubeTransport {
    this.#vt ??= new KubeTransport(this.#deps.virtual.kubeConfig);
    return this.#vt;
  }

  get #hostApi(): KubeTransport {
    this.#ht ??= new KubeTransport(this.#deps.hostKubeConfig ?? this.#deps.host.kubeConfig);
    return this.#ht;
  }

  #registerMetrics(registry: Registry): Counter<'action'> {
    // One mirror per registry; a new one (a test, a restart in process) replaces the old metrics.
    for (const n of ['vcnet_node_mirror_nodes', 'vcnet_node_mirror_writes_total']) registry.removeSingleMetric(n);
    const mirror = this;
    new Gauge({
      name: 'vcnet_node_mirror_nodes',
      help: 'Virtual nodes vcnet mirrors from the host (carrying its vcnet.dev/mirrored-by label).',
      registers: [registry],
      collect() { this.set(mirror.mirroredNodes().length); },
    });
    return new Counter({
      name: 'vcnet_node_mirror_writes_total',
      help: 'Writes to virtual nodes by the node mirror, by action (created, updated, status, deleted).',
      labelNames: ['action'],
      registers: [registry],
    });
  }
}

interface PodList {
  items: Array<{ metadata?: { name?: string; ownerReferences?: OwnerReference[] } }>;
  metadata?: { continue?: string };
}

function nameOf(obj: WireNode): string {
  return obj.metadata?.name ?? '';
}

function nodePath(name: string): string {
  return `${NODES}/${encodeURIComponent(name)}`;
}
