// Host Nodes mirrored into the virtual cluster: vCluster's `sync.fromHost.nodes` (reference §8,
// §11 row 33; loft-sh/vcluster pkg/controllers/resources/nodes). A virtual pod runs as a host pod
// and is bound to the host pod's node name (§2.3), and the virtual kube-controller-manager's pod
// garbage collector deletes pods bound to a node that does not exist
// (pkg/controller/podgc/gc_controller.go gcOrphaned), so every node a virtual pod is bound to must
// exist in the virtual cluster. Node names are never translated (§9.3).
//
// The rules here are pure: the caller (src/sync/nodes.ts) gathers the host node, the virtual node
// and whether pods use it, and these functions say what the virtual node must be and whether a
// write is due.
import type { ObjectMeta, OwnerReference } from './types.ts';
import { POD_OWNER_SET_KIND } from './keys.ts';
import { safeConcatName } from './names.ts';

/**
 * Label on every virtual Node that vcnet mirrored, valued with the vCluster name (markerValue).
 * vcnet updates and deletes only Nodes that carry it with its own value: a Node a user created by
 * hand in the virtual cluster (or another vcnet's) is never touched. A label, not an annotation, so
 * `kubectl get nodes -l vcnet.dev/mirrored-by` shows what vcnet mirrors.
 */
export const MIRRORED_BY = 'vcnet.dev/mirrored-by';

/**
 * Host annotations never copied: kubectl's record of the last apply on the host describes the host
 * object, and a `kubectl apply` inside the virtual cluster would compute its three-way diff from it.
 */
export const NODE_ANNOTATIONS_NOT_COPIED: readonly string[] = Object.freeze([
  'kubectl.kubernetes.io/last-applied-configuration',
]);

// ---- Wire types (core/v1 Node as JSON; timestamps are RFC 3339 strings) ----

/** core/v1 Taint. */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  /** NoSchedule, PreferNoSchedule or NoExecute. */
  readonly effect: string;
  readonly timeAdded?: string;
}

/** core/v1 NodeSpec: the fields vcnet reads. */
export interface NodeSpec {
  readonly podCIDR?: string;
  readonly podCIDRs?: readonly string[];
  readonly providerID?: string;
  readonly unschedulable?: boolean;
  readonly taints?: readonly NodeTaint[];
  readonly [field: string]: unknown;
}

/** core/v1 NodeCondition. */
export interface NodeCondition {
  /** Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable, ... */
  readonly type: string;
  /** True, False or Unknown. */
  readonly status: string;
  /** When the kubelet last reported this condition; changes on every status report. */
  readonly lastHeartbeatTime?: string;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

/** core/v1 NodeAddress. */
export interface NodeAddress {
  /** Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS. */
  readonly type: string;
  readonly address: string;
}

/** core/v1 NodeStatus: the fields vcnet reads. */
export interface NodeStatus {
  readonly capacity?: Readonly<Record<string, string>>;
  readonly allocatable?: Readonly<Record<string, string>>;
  readonly phase?: string;
  readonly conditions?: readonly NodeCondition[];
  readonly addresses?: readonly NodeAddress[];
  readonly daemonEndpoints?: { readonly kubeletEndpoint?: { readonly Port?: number } };
  readonly nodeInfo?: Readonly<Record<string, string>>;
  readonly images?: ReadonlyArray<{ readonly names?: readonly string[]; readonly sizeBytes?: number }>;
  readonly volumesInUse?: readonly string[];
  readonly volumesAttached?: ReadonlyArray<{ readonly name: string; readonly devicePath: string }>;
  readonly [field: string]: unknown;
}

/** A core/v1 Node as JSON. */
export interface WireNode {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly spec?: NodeSpec;
  readonly status?: NodeStatus;
}

/** The virtual Node vcnet writes: only what it owns (no uid, resourceVersion, owners, finalizers). */
export interface VirtualNode {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
  readonly metadata: {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: NodeSpec;
  readonly status: NodeStatus;
}

export interface HostNodeToVirtualOptions {
  /** The vCluster name: the value of the MIRRORED_BY label. */
  readonly vcluster: string;
  /** `sync.fromHost.nodes.clearImageStatus`: drop status.images (often hundreds of entries nobody in the tenant needs). */
  readonly clearImageStatus: boolean;
}

/** `sync.fromHost.nodes.selector`. */
export interface NodeSelector {
  /** Mirror every host node, used or not. */
  readonly all: boolean;
  /** Also mirror every host node that carries all of these labels. */
  readonly labels: Readonly<Record<string, string>>;
}

// NodeSpec and NodeStatus fields copied from the host: an explicit list, so a field a newer host
// API server adds is not sent to a virtual API server that would drop it (and then differ forever).
// Not copied: spec.configSource and spec.externalID (deprecated, ignored by the API server),
// status.volumesInUse and status.volumesAttached (they name host volumes; the virtual cluster has no
// such volumes and runs no attach-detach controller: src/local/controlplane.ts).
const SPEC_FIELDS = ['podCIDR', 'podCIDRs', 'providerID', 'unschedulable', 'taints'] as const;
const STATUS_FIELDS = [
  'capacity', 'allocatable', 'phase', 'conditions', 'addresses', 'daemonEndpoints', 'nodeInfo', 'images',
  'config', 'runtimeHandlers', 'features',
] as const;

/** The MIRRORED_BY value for a vCluster: its name, hashed to 63 characters if longer (SafeConcatName). */
export function markerValue(vcluster: string): string {
  return safeConcatName(vcluster);
}

/** True when vcnet for `vcluster` mirrored this virtual Node (and may therefore update or delete it). */
export function isMirroredNode(vNode: WireNode, vcluster: string): boolean {
  return vNode.metadata?.labels?.[MIRRORED_BY] === markerValue(vcluster);
}

/**
 * The virtual Node for a host Node: same name; the host's labels (plus the MIRRORED_BY marker) and
 * annotations; its taints, unschedulable, pod CIDRs and provider ID; and its status (conditions,
 * addresses, capacity and allocatable, nodeInfo, daemon endpoints, images unless cleared), as
 * vCluster copies them (translate.go translateUpdateBackwards/translateUpdateStatus without the
 * virtual scheduler). Never the host's uid, resourceVersion, ownerReferences or finalizers: an owner
 * that does not exist in the virtual cluster makes its garbage collector delete the Node, and a host
 * finalizer would block its deletion forever.
 */
export function hostNodeToVirtual(hNode: WireNode, opts: HostNodeToVirtualOptions): VirtualNode {
  const name = hNode.metadata?.name;
  if (name === undefined || name === '') throw new TypeError('hostNodeToVirtual: the host node has no metadata.name');
  const labels: Record<string, string> = { ...hNode.metadata?.labels, [MIRRORED_BY]: markerValue(opts.vcluster) };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(hNode.metadata?.annotations ?? {})) {
    if (!NODE_ANNOTATIONS_NOT_COPIED.includes(k)) annotations[k] = v;
  }
  const status: Record<string, unknown> = pick(hNode.status, STATUS_FIELDS);
  if (opts.clearImageStatus) delete status['images'];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: pick(hNode.spec, SPEC_FIELDS),
    status: status as NodeStatus,
  };
}

export interface NodeUpdateOptions {
  /**
   * A change of the conditions' lastHeartbeatTime alone is written only once the host's heartbeat
   * is at least this far ahead of the virtual copy's. Comparing two host timestamps (not the
   * caller's clock with one of them) keeps the throttle right whatever the clock skew between vcnet
   * and the kubelets; the virtual copy never lags the host by this much or more.
   */
  readonly heartbeatMinIntervalMs: number;
}

export interface NodeUpdate {
  /** Labels, annotations or spec differ: update the Node. */
  readonly meta: boolean;
  /** The status differs beyond the heartbeat throttle: update the status subresource. */
  readonly status: boolean;
}

/**
 * Whether the current virtual Node must be written to become `desired` (from hostNodeToVirtual).
 * Only what vcnet owns is compared: labels, annotations, the copied spec and status fields; never
 * resourceVersion, uid, managedFields or timestamps of the object itself. Missing, empty lists and
 * empty maps are equal, as Go's omitempty writes them.
 */
export function nodeNeedsUpdate(desired: VirtualNode, current: WireNode, opts: NodeUpdateOptions): NodeUpdate {
  const meta = !jsonEqual(desired.metadata.labels, current.metadata?.labels)
    || !jsonEqual(desired.metadata.annotations, current.metadata?.annotations)
    || !jsonEqual(desired.spec, pick(current.spec, SPEC_FIELDS));
  return { meta, status: statusNeedsUpdate(desired.status, pick(current.status, STATUS_FIELDS), opts.heartbeatMinIntervalMs) };
}

function statusNeedsUpdate(desired: NodeStatus, current: NodeStatus, minIntervalMs: number): boolean {
  if (!jsonEqual(withoutHeartbeats(desired), withoutHeartbeats(current))) return true;
  // Equal but for heartbeats: the conditions line up one to one.
  const dConds = desired.conditions ?? [];
  const cConds = current.conditions ?? [];
  for (let i = 0; i < dConds.length; i++) {
    const d = dConds[i]?.lastHeartbeatTime;
    const c = cConds[i]?.lastHeartbeatTime;
    if (d === c) continue;
    if (d === undefined || c === undefined) return true;
    const ahead = Date.parse(d) - Date.parse(c);
    // Not a number (unparseable) or backwards (the host node was re-created): write it.
    if (!(ahead >= 0) || ahead >= minIntervalMs) return true;
  }
  return false;
}

function withoutHeartbeats(s: NodeStatus): NodeStatus {
  if (s.conditions === undefined) return s;
  return { ...s, conditions: s.conditions.map(({ lastHeartbeatTime: _, ...rest }) => rest) };
}

/**
 * Whether a host node must be mirrored. vCluster: with `selector.all` every node; otherwise only
 * nodes that run this vCluster's pods (syncer.go shouldSync, isNodeNeededByPod); `selector.labels`
 * adds every node carrying those labels. Unlike vCluster, which with `labels` set mirrors only
 * matching nodes (it also forces the labels into each pod's nodeSelector, so pods land nowhere
 * else), a node that runs this vCluster's pods is always mirrored: otherwise the virtual pod garbage
 * collector deletes a pod bound to it.
 */
export function nodeSelected(hNode: WireNode, selector: NodeSelector, usedByPods: boolean): boolean {
  if (usedByPods || selector.all) return true;
  const want = Object.entries(selector.labels);
  if (want.length === 0) return false;
  const have = hNode.metadata?.labels ?? {};
  return want.every(([k, v]) => have[k] === v);
}

/**
 * Whether a virtual pod bound to a node keeps that node mirrored. Pods owned by a DaemonSet do not,
 * as in vCluster (syncer.go filterOutVirtualDaemonSets): the virtual DaemonSet controller places a
 * pod on every node, so counting them would keep every node forever once mirrored.
 */
export function virtualPodKeepsNode(vPod: { readonly metadata?: { readonly ownerReferences?: readonly OwnerReference[] } }): boolean {
  return !(vPod.metadata?.ownerReferences ?? []).some((o) => o.apiVersion === 'apps/v1' && o.kind === 'DaemonSet');
}

/**
 * The same for a host pod of this vCluster, when computing the nodes its pods use: the host pod
 * records its virtual owner's kind in `vcluster.loft.sh/owner-set-kind` (filterOutPhysicalDaemonSets).
 */
export function hostPodKeepsNode(hPod: { readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> } }): boolean {
  return hPod.metadata?.annotations?.[POD_OWNER_SET_KIND] !== 'DaemonSet';
}

// ---- helpers ----

function pick<K extends string>(obj: { readonly [field: string]: unknown } | undefined, keys: readonly K[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (obj === undefined) return out;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/** Structural JSON equality: object key order ignored, array order kept; undefined, [] and {} count as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (isAbsent(a) && isAbsent(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isAbsent(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.values(v).every(isAbsent);
}
