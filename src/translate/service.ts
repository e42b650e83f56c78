// Services, virtual <-> host (§3 of /work/shared/reference/vcluster-networking.md). PURE: the
// caller (src/sync, the webhook) hands in the virtual Service and, where one exists, the host twin;
// these functions say what the host object must be, what the host allocated that the virtual object
// must carry, where the host drifted, what the virtual status must be, and what the virtual
// `default/kubernetes` must be.
//
// The invariant behind all of it (§3.1): a virtual Service's ClusterIP(s) and nodePorts are the ones
// the HOST allocated. The host spec is therefore the virtual spec as sent (a user-pinned clusterIP or
// nodePort is validated and allocated by the host, which is what catches loft-sh/vcluster#3171, a
// nodePort the host already gave away), and withHostAllocations copies the host's answer back.
import assert from 'node:assert/strict';
import { MANAGED_LABELS, RANCHER_PUBLIC_ENDPOINTS } from './keys.ts';
import { compareBytes, copyableHostLabelKey, toHostLabels, toHostSelector } from './labels.ts';
import { KINDS, toHostObjectMeta, type ToHostObjectMetaOptions } from './meta.ts';
import { compact, omitEmpty, sameJSON } from './json.ts';
import type { Translator } from './names.ts';
import type { ObjectMeta, OwnerReference, TypeMeta } from './types.ts';

// ---- Wire types (core/v1, docs abridged from k8s.io/api/core/v1/types.go) ----

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type IPFamily = 'IPv4' | 'IPv6';
export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
/** TCP (the API server's default), UDP or SCTP. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  /** Required (DNS-1123 label) when the Service has more than one port; the Endpoints port name. */
  readonly name?: string;
  readonly protocol?: Protocol;
  /** Application protocol hint, e.g. `kubernetes.io/h2c` or `https`. */
  readonly appProtocol?: string;
  readonly port: number;
  /** Number or name of the pods' port; the API server defaults it to `port`. */
  readonly targetPort?: number | string;
  /** NodePort/LoadBalancer: allocated by the (host) API server when 0 or unset. */
  readonly nodePort?: number;
  readonly [field: string]: unknown;
}

export interface SessionAffinityConfig {
  readonly clientIP?: { readonly timeoutSeconds?: number };
}

/** core/v1 ServiceSpec. Fields of a newer API pass through untouched (the index signature). */
export interface ServiceSpec {
  readonly ports?: readonly ServicePort[];
  /** Pods with these labels back the Service; nil or empty means "no selector": endpoints are managed by hand (§4). */
  readonly selector?: Readonly<Record<string, string>>;
  /** Allocated by the API server when unset; `None` makes a headless Service. */
  readonly clusterIP?: string;
  /** Primary first; dual-stack Services carry one per family. */
  readonly clusterIPs?: readonly string[];
  readonly type?: ServiceType;
  readonly externalIPs?: readonly string[];
  readonly sessionAffinity?: 'ClientIP' | 'None';
  readonly loadBalancerIP?: string;
  readonly loadBalancerSourceRanges?: readonly string[];
  /** Type ExternalName: the DNS name (CNAME target) the Service stands for. */
  readonly externalName?: string;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  /** Allocated for LoadBalancer Services with externalTrafficPolicy Local. */
  readonly healthCheckNodePort?: number;
  readonly publishNotReadyAddresses?: boolean;
  readonly sessionAffinityConfig?: SessionAffinityConfig;
  readonly ipFamilies?: readonly IPFamily[];
  readonly ipFamilyPolicy?: IPFamilyPolicy;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly loadBalancerClass?: string;
  readonly internalTrafficPolicy?: 'Cluster' | 'Local';
  /** e.g. `PreferClose`, `PreferSameZone`, `PreferSameNode`. */
  readonly trafficDistribution?: string;
  readonly [field: string]: unknown;
}

export interface PortStatus {
  readonly port: number;
  readonly protocol: Protocol;
  readonly error?: string;
}

export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  /** `VIP` (the API server's default when ip is set) or `Proxy`. */
  readonly ipMode?: string;
  readonly ports?: readonly PortStatus[];
  readonly [field: string]: unknown;
}

/** metav1.Condition. */
export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface ServiceStatus {
  readonly loadBalancer?: { readonly ingress?: readonly LoadBalancerIngress[] };
  readonly conditions?: readonly Condition[];
}

export interface Service {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec?: ServiceSpec;
  readonly status?: ServiceStatus;
}

// ---- Small helpers ----

/** `clusterIP: None` (§3.2: kept as None on the host; DNS answers with the pod IPs). */
export function isHeadless(svc: Pick<Service, 'spec'>): boolean {
  return svc.spec?.clusterIP === 'None';
}

/**
 * Whether the Service selects pods. A missing and an empty selector both mean "no selector": the
 * API server stores `{}` as nothing (protobuf omits empty maps, JSON `omitempty`), so every
 * controller reads it back as nil — the endpoints, EndpointSlice and mirroring controllers all test
 * `Spec.Selector == nil` — and the Service's endpoints are maintained by hand (§4).
 */
export function hasSelector(svc: Pick<Service, 'spec'>): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0;
}

/** `namespace/name`, for logs and messages. */
export function serviceRef(svc: Pick<Service, 'metadata'>): string {
  return `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
}

/**
 * Annotations never copied either way (§3.2): Rancher writes `field.cattle.io/publicEndpoints` on
 * both sides, and copying it would make the two writers overwrite each other forever. The host keeps
 * its own value.
 */
export const SERVICE_EXCLUDED_ANNOTATIONS: readonly string[] = Object.freeze([RANCHER_PUBLIC_ENDPOINTS]);

/**
 * Host labels of a virtual object whose host twin may carry labels of its own (§1.3's managed-keys
 * idea, applied to labels: vCluster's `vcluster.loft.sh/managed-labels`). The labels copied from the
 * virtual object (keys translated, §1.2) and the marker labels win; a host label that an earlier sync
 * copied (listed in the host's managed-labels annotation) but the virtual object no longer has is
 * removed; any other host label (added by a host controller or operator) is kept. `managedLabels` is
 * the new value of the annotation: the sorted, newline-joined copied keys, '' when none.
 */
export function toHostManagedLabels(
  tr: Translator,
  vMeta: ObjectMeta,
  hMeta?: ObjectMeta,
  fresh: Record<string, string> = toHostLabels(tr, vMeta.labels, vMeta.namespace, undefined, hMeta?.labels),
): { labels: Record<string, string>; managedLabels: string } {
  const copied = Object.keys(vMeta.labels ?? {})
    .map((k) => copyableHostLabelKey(tr, k))
    .filter((k): k is string => k !== undefined)
    .sort(compareBytes);
  const previouslyCopied = new Set((hMeta?.annotations?.[MANAGED_LABELS] ?? '').split('\n'));
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(hMeta?.labels ?? {})) {
    if (!previouslyCopied.has(k)) labels[k] = v;
  }
  Object.assign(labels, fresh);
  return { labels, managedLabels: copied.join('\n') };
}

/** Host ObjectMeta of a namespaced virtual object: toHostObjectMeta plus toHostManagedLabels. */
export function toHostMetaWithManagedLabels(
  tr: Translator,
  vMeta: ObjectMeta,
  kind: TypeMeta,
  opts: ToHostObjectMetaOptions,
): ObjectMeta {
  assert.ok((vMeta.namespace ?? '') !== '', `a ${kind.kind} is namespaced: ${vMeta.name ?? '(unnamed)'} has no namespace`);
  const meta = toHostObjectMeta(tr, vMeta, kind, opts);
  // toHostObjectMeta already translated the virtual labels: reuse them rather than translate twice.
  const { labels, managedLabels } = toHostManagedLabels(tr, vMeta, opts.hMeta, meta.labels);
  const annotations: Record<string, string> = { ...meta.annotations };
  if (managedLabels === '') delete annotations[MANAGED_LABELS];
  else annotations[MANAGED_LABELS] = managedLabels;
  return { ...meta, labels, annotations };
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The host spec of a virtual spec: everything as sent, the selector translated (see serviceToHost). */
function toHostServiceSpec(tr: Translator, vSpec: ServiceSpec | undefined, vNamespace: string): ServiceSpec {
  const { selector, ...rest } = clone(vSpec ?? {});
  const hSpec: Record<string, unknown> = compact(rest);
  if (selector !== undefined && Object.keys(selector).length > 0) hSpec['selector'] = toHostSelector(tr, selector, vNamespace);
  return hSpec as ServiceSpec;
}

export interface ServiceToHostOptions {
  /** The current host Service's metadata, when one exists (host-added annotations and labels survive). */
  readonly hMeta?: ObjectMeta;
  /** The vCluster's own host Service, owner of every synced host object (see ToHostObjectMetaOptions). */
  readonly owner?: ToHostObjectMetaOptions['owner'];
}

/**
 * The host Service of a virtual Service: for the host-first create (§3.1 path A) and as the desired
 * state when checking drift.
 * - metadata: translated name in HNS, host labels and annotations, the owner reference (toHostObjectMeta);
 *   `field.cattle.io/publicEndpoints` is never copied.
 * - spec: a deep copy of the virtual spec with every field as sent — clusterIP (pinned, `None` or
 *   empty), clusterIPs, ipFamilies, ipFamilyPolicy, nodePorts, healthCheckNodePort, externalName,
 *   and fields this code does not know — so the host validates and allocates exactly what the user
 *   asked. Only the selector changes: its keys are translated and the marker and namespace labels
 *   are added, confining it to this vCluster's pods of the namespace (§1.2). A missing or empty
 *   selector is left out: both mean "no selector" (see hasSelector), and `{}` must not become the
 *   marker selector, which would select every pod of the namespace.
 * - no status: the host's controllers own it.
 * Throws for `default/kubernetes`, which stands for the vCluster's own host Service (§3.3).
 */
export function serviceToHost(tr: Translator, vSvc: Service, opts: ServiceToHostOptions = {}): Service {
  const metadata = toHostMetaWithManagedLabels(tr, vSvc.metadata, KINDS.Service, {
    excludeAnnotations: SERVICE_EXCLUDED_ANNOTATIONS,
    ...(opts.hMeta === undefined ? {} : { hMeta: opts.hMeta }),
    ...(opts.owner === undefined ? {} : { owner: opts.owner }),
  });
  return {
    apiVersion: KINDS.Service.apiVersion,
    kind: KINDS.Service.kind,
    metadata,
    spec: toHostServiceSpec(tr, vSvc.spec, vSvc.metadata.namespace ?? ''),
  };
}

/**
 * Host owner references after an update: the host's own references are kept, except the one to
 * `owner` (matched by uid, or by kind and name when the vCluster Service was re-created), which is
 * replaced by ours. Without `owner` the host's references stay as they are.
 */
function mergeOwnerReferences(hRefs: readonly OwnerReference[] | undefined, ours: readonly OwnerReference[] | undefined): OwnerReference[] | undefined {
  if (ours === undefined) return hRefs === undefined ? undefined : [...hRefs];
  const isOurs = (r: OwnerReference): boolean => ours.some((o) => o.uid === r.uid || (o.apiVersion === r.apiVersion && o.kind === r.kind && o.name === r.name));
  return [...(hRefs ?? []).filter((r) => !isOurs(r)), ...ours];
}

/**
 * The PUT body for the host Service after a virtual update.
 * - metadata: as serviceToHost with the current host metadata (host-added annotations and labels
 *   survive, those the virtual object dropped go), plus the host's uid and resourceVersion, so the PUT
 *   fails with a Conflict instead of overwriting a change made meanwhile; the host's finalizers and
 *   the owner references vcnet did not set are kept.
 * - spec: the virtual spec translated as in serviceToHost. The host API server fills in what the PUT
 *   leaves out exactly as the virtual one did for the same update, since both run the same code: the
 *   Service REST storage (kubernetes pkg/registry/core/service/storage, patchAllocatedValues) carries
 *   an omitted clusterIP and clusterIPs over from the old object, an omitted (0) nodePort from the old
 *   port of the same NAME unless another new port uses it, and an omitted healthCheckNodePort, as long
 *   as old and new type both need them. So sending the virtual spec as it is keeps the host
 *   allocations (normally the virtual spec already carries them: withHostAllocations), and a field
 *   the virtual update really changed changes on the host.
 */
export function serviceUpdateToHost(tr: Translator, hCurrent: Service, vNew: Service, opts: Pick<ServiceToHostOptions, 'owner'> = {}): Service {
  const desired = serviceToHost(tr, vNew, { hMeta: hCurrent.metadata, ...(opts.owner === undefined ? {} : { owner: opts.owner }) });
  const hMeta = hCurrent.metadata;
  const ownerReferences = mergeOwnerReferences(hMeta.ownerReferences, desired.metadata.ownerReferences);
  const metadata: ObjectMeta = compact({
    ...desired.metadata,
    uid: hMeta.uid,
    resourceVersion: hMeta.resourceVersion,
    finalizers: hMeta.finalizers === undefined ? undefined : [...hMeta.finalizers],
    ownerReferences: ownerReferences === undefined || ownerReferences.length === 0 ? undefined : ownerReferences,
  });
  return { ...desired, metadata };
}

// ---- Host allocations -> virtual ----

function protocolOf(p: Pick<ServicePort, 'protocol'>): string {
  return p.protocol ?? 'TCP';
}

/**
 * The host port for a virtual port: the one with the same port, protocol and name; failing that, the
 * one with the same port and protocol (the API server refuses two ports with the same pair, so this
 * is unambiguous, and a renamed port keeps its allocation). Order does not matter.
 */
function matchPort(vPort: ServicePort, hPorts: readonly ServicePort[] | undefined, taken?: ReadonlySet<number>): number {
  const candidates = (hPorts ?? []).map((p, i) => [p, i] as const)
    .filter(([p, i]) => !taken?.has(i) && p.port === vPort.port && protocolOf(p) === protocolOf(vPort));
  const exact = candidates.find(([p]) => (p.name ?? '') === (vPort.name ?? ''));
  return (exact ?? candidates[0])?.[1] ?? -1;
}

/** What the host allocated: the fields withHostAllocations copies. */
const ALLOCATED_FIELDS = ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'healthCheckNodePort'] as const;

/**
 * A copy of the virtual Service carrying what the host allocated (§3.1 step 4): clusterIP,
 * clusterIPs, ipFamilies, ipFamilyPolicy and healthCheckNodePort as the host has them (removed when
 * the host has none; an ExternalName host Service never has a ClusterIP), and every port's nodePort
 * from the host port with the same (port, protocol, name) — see matchPort. A virtual port the host
 * does not have keeps what it had. Nothing else changes.
 */
export function withHostAllocations(vSvc: Service, hSvc: Service): Service {
  const hSpec = hSvc.spec ?? {};
  const spec: Record<string, unknown> = clone({ ...vSvc.spec });
  for (const f of ALLOCATED_FIELDS) {
    if (hSpec[f] === undefined) delete spec[f];
    else spec[f] = clone(hSpec[f]);
  }
  if (hSpec.type === 'ExternalName') {
    delete spec['clusterIP'];
    delete spec['clusterIPs'];
  }
  if (vSvc.spec?.ports !== undefined) {
    spec['ports'] = vSvc.spec.ports.map((vPort) => {
      const i = matchPort(vPort, hSpec.ports);
      if (i < 0) return clone(vPort);
      const { nodePort: _virtual, ...rest } = clone(vPort);
      const nodePort = hSpec.ports?.[i]?.nodePort;
      return nodePort === undefined ? rest : { ...rest, nodePort };
    });
  }
  return { ...vSvc, spec: compact(spec) as ServiceSpec };
}

/**
 * The field paths (`spec.clusterIP`, `spec.ports[1].nodePort`, ...) where the virtual Service does not
 * carry the host's allocations; empty when it does. Port indexes are the virtual ones.
 */
export function hostAllocationsDiffer(vSvc: Service, hSvc: Service): string[] {
  const want = withHostAllocations(vSvc, hSvc).spec ?? {};
  const have = vSvc.spec ?? {};
  const paths: string[] = [];
  for (const f of ALLOCATED_FIELDS) if (!sameJSON(want[f], have[f])) paths.push(`spec.${f}`);
  (have.ports ?? []).forEach((p, i) => {
    if (want.ports?.[i]?.nodePort !== p.nodePort) paths.push(`spec.ports[${i}].nodePort`);
  });
  return paths;
}

// ---- Drift ----

const isUnset = (v: unknown): boolean => v === undefined || v === '' || v === 0 || (Array.isArray(v) && v.length === 0);

/** The API server's defaults for a port (SetDefaults_Service): protocol TCP, targetPort = port. */
function defaultedPort(p: ServicePort): Record<string, unknown> {
  return compact({
    ...p,
    name: p.name === '' ? undefined : p.name,
    protocol: protocolOf(p),
    targetPort: p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '' ? p.port : p.targetPort,
    nodePort: p.nodePort === 0 ? undefined : p.nodePort,
  });
}

/** Default ClientIP affinity timeout (core/v1 DefaultClientIPServiceAffinitySeconds, 3 hours). */
const DEFAULT_CLIENT_IP_TIMEOUT = 10800;

/**
 * A spec with the API server's defaults applied (core/v1 SetDefaults_Service), so an omitted default
 * and its explicit value compare equal: type ClusterIP, sessionAffinity None (ClientIP gets a
 * timeout of 10800 s), internalTrafficPolicy Cluster (not for ExternalName), externalTrafficPolicy
 * Cluster for NodePort and LoadBalancer, allocateLoadBalancerNodePorts true for LoadBalancer,
 * publishNotReadyAddresses false, and the port defaults. The selector has no "empty" form.
 */
function defaultedSpec(spec: ServiceSpec): Record<string, unknown> {
  const type = spec.type ?? 'ClusterIP';
  const sessionAffinity = spec.sessionAffinity ?? 'None';
  const externallyRouted = type === 'NodePort' || type === 'LoadBalancer';
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  return compact({
    ...spec,
    type,
    sessionAffinity,
    sessionAffinityConfig: sessionAffinity === 'ClientIP'
      ? { ...spec.sessionAffinityConfig, clientIP: { ...spec.sessionAffinityConfig?.clientIP, timeoutSeconds: timeout ?? DEFAULT_CLIENT_IP_TIMEOUT } }
      : spec.sessionAffinityConfig,
    internalTrafficPolicy: spec.internalTrafficPolicy ?? (type === 'ExternalName' ? undefined : 'Cluster'),
    externalTrafficPolicy: spec.externalTrafficPolicy ?? (externallyRouted ? 'Cluster' : undefined),
    allocateLoadBalancerNodePorts: spec.allocateLoadBalancerNodePorts ?? (type === 'LoadBalancer' ? true : undefined),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true ? true : undefined,
    selector: Object.keys(spec.selector ?? {}).length === 0 ? undefined : spec.selector,
    ports: undefined,
  });
}

/**
 * The spec field paths where the host Service differs from what serviceToHost(vSvc) asks (only the
 * spec; serviceDrift adds the labels and annotations). Allocations the virtual side leaves unset (clusterIP
 * "", clusterIPs [], ipFamilies, ipFamilyPolicy, healthCheckNodePort 0, a port's nodePort 0) match
 * any host value; defaults the API server applies compare equal to their explicit value (see
 * defaultedSpec). Ports are matched by (port, protocol), as Kubernetes keys them (listType=map), so
 * their order does not matter: a virtual port the host lacks is `spec.ports[i]`, a host port the
 * virtual Service lacks is `spec.ports`. Other lists (externalIPs, clusterIPs, ipFamilies,
 * loadBalancerSourceRanges) are ordered and compared as lists.
 */
export function serviceSpecDrift(tr: Translator, vSvc: Service, hSvc: Service): string[] {
  return specDrift(toHostServiceSpec(tr, vSvc.spec, vSvc.metadata.namespace ?? ''), hSvc.spec ?? {});
}

/** serviceSpecDrift's comparison, of a translated spec with the host's. */
function specDrift(wantSpec: ServiceSpec, hSpec: ServiceSpec): string[] {
  const want = defaultedSpec(wantSpec);
  const have = defaultedSpec(hSpec);
  // A virtual Service may leave the allocations unset, meaning "whatever the host picks".
  for (const f of ALLOCATED_FIELDS) if (isUnset(want[f])) want[f] = have[f];

  const paths: string[] = [];
  const keys = new Set([...Object.keys(want), ...Object.keys(have)]);
  for (const k of [...keys].sort(compareBytes)) if (!sameJSON(want[k], have[k])) paths.push(`spec.${k}`);

  const taken = new Set<number>();
  (wantSpec.ports ?? []).forEach((vPort, i) => {
    const j = matchPort(vPort, hSpec.ports, taken);
    const hPort = hSpec.ports?.[j];
    if (hPort === undefined) {
      paths.push(`spec.ports[${i}]`);
      return;
    }
    taken.add(j);
    const wp = defaultedPort(vPort);
    const hp = defaultedPort(hPort);
    if (wp['nodePort'] === undefined) wp['nodePort'] = hp['nodePort'];
    const portKeys = new Set([...Object.keys(wp), ...Object.keys(hp)]);
    for (const k of [...portKeys].sort(compareBytes)) if (!sameJSON(wp[k], hp[k])) paths.push(`spec.ports[${i}].${k}`);
  });
  if (taken.size < (hSpec.ports ?? []).length) paths.push('spec.ports');
  return paths;
}

/** The metadata paths of serviceDrift. Maps compare by content, whatever their key order; a missing map equals an empty one. */
function metadataDrift(desired: ObjectMeta, hMeta: ObjectMeta): string[] {
  const paths: string[] = [];
  if (!sameJSON(desired.labels ?? {}, hMeta.labels ?? {})) paths.push('metadata.labels');
  if (!sameJSON(desired.annotations ?? {}, hMeta.annotations ?? {})) paths.push('metadata.annotations');
  return paths;
}

/**
 * Everything the reconciler repairs on a host twin: the spec paths of serviceSpecDrift followed by
 * the metadata paths (`metadata.labels`, `metadata.annotations`) where the twin's labels or
 * annotations differ from what serviceToHost asks given the twin's current metadata (host-added ones
 * survive that merge, so only a change to what vcnet writes counts). One translation serves both.
 */
export function serviceDrift(tr: Translator, vSvc: Service, hSvc: Service): string[] {
  const desired = serviceToHost(tr, vSvc, { hMeta: hSvc.metadata });
  return [...specDrift(desired.spec ?? {}, hSvc.spec ?? {}), ...metadataDrift(desired.metadata, hSvc.metadata)];
}

// ---- Status host -> virtual ----

/**
 * The status the virtual Service must have (§3.2): the host's load-balancer status and conditions
 * while the host Service is a LoadBalancer, `{ loadBalancer: {} }` otherwise. The "otherwise" clears a
 * stale ingress on the virtual side when a Service leaves type LoadBalancer: the API server refuses
 * `status.loadBalancer.ingress` on any other type (loft-sh/vcluster#2728, #2248).
 */
export function serviceStatusToVirtual(hSvc: Service): ServiceStatus {
  if (hSvc.spec?.type !== 'LoadBalancer') return { loadBalancer: {} };
  const status = hSvc.status ?? {};
  return compact({
    loadBalancer: clone(status.loadBalancer ?? {}),
    conditions: status.conditions === undefined ? undefined : clone(status.conditions),
  });
}

/** Whether two Service statuses differ; a missing status, `{}` and `{ loadBalancer: {} }` are the same. */
export function statusDiffers(a: ServiceStatus | undefined, b: ServiceStatus | undefined): boolean {
  return !sameJSON(omitEmpty(a ?? {}), omitEmpty(b ?? {}));
}

// ---- default/kubernetes (§3.3) ----

/**
 * The spec fields the virtual `default/kubernetes` Service copies from the vCluster's own host
 * Service `HNS/VC`, so in-cluster clients reach vcnet's proxy at the same IP from host and virtual.
 */
export function kubernetesServiceSpecFromHost(hSvc: Service): Pick<ServiceSpec, 'clusterIP' | 'clusterIPs' | 'ipFamilies' | 'ipFamilyPolicy'> {
  const s = hSvc.spec ?? {};
  return {
    clusterIP: s.clusterIP,
    clusterIPs: s.clusterIPs === undefined ? undefined : [...s.clusterIPs],
    ipFamilies: s.ipFamilies === undefined ? undefined : [...s.ipFamilies],
    ipFamilyPolicy: s.ipFamilyPolicy,
  };
}

/**
 * The ports the virtual `default/kubernetes` gets when vcnet creates it and has none to keep: `https`
 * on 443/TCP, as the kube-apiserver's own controller names it. The targetPort leads nowhere by
 * itself: clients reach the ClusterIP through the host Service's ports, and vcnet writes the
 * Endpoints (kubernetesEndpointsFromHost in endpoints.ts).
 */
const KUBERNETES_DEFAULT_PORTS: readonly ServicePort[] = Object.freeze([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }]);

/**
 * The virtual `default/kubernetes` Service that vcnet creates (§3.3) when the virtual one is missing
 * or has another ClusterIP than the vCluster's own host Service `hSvc` (the ClusterIP is immutable:
 * the old one is deleted first). It carries the host Service's addresses (kubernetesServiceSpecFromHost)
 * and keeps the ports and labels of the virtual Service it replaces, `vCurrent`; without one, the
 * ports and labels (`component: apiserver`, `provider: kubernetes`) the kube-apiserver gives it.
 * Type ClusterIP and sessionAffinity None, as the kube-apiserver writes it.
 * Unlike vCluster it does not take the host Service's ports: the virtual API server's own stay.
 */
export function kubernetesServiceFromHost(hSvc: Service, vCurrent: Service | undefined): Service {
  return {
    apiVersion: KINDS.Service.apiVersion,
    kind: KINDS.Service.kind,
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: clone(vCurrent?.metadata.labels ?? { component: 'apiserver', provider: 'kubernetes' }),
    },
    spec: {
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: clone(vCurrent?.spec?.ports ?? KUBERNETES_DEFAULT_PORTS),
      ...kubernetesServiceSpecFromHost(hSvc),
    },
  };
}
