// Endpoints and EndpointSlices, virtual <-> host (§4 of /work/shared/reference/vcluster-networking.md),
// and the endpoints of the virtual `default/kubernetes` (§3.3). PURE.
//
// Which endpoints are synced: only those of Services WITHOUT a selector (hand-made endpoints). For a
// Service with a selector the host's own controllers compute the endpoints from the translated host
// selector, which matches the translated host pod labels; copying the virtual ones as well would
// duplicate them. The same reasoning drops the virtual slices the virtual controllers made (see
// isControllerManagedSlice): the host controllers make their host equivalents.
import { ENDPOINTSLICE_MANAGED_BY, ENDPOINTSLICE_MANAGER_VCNET, ENDPOINTSLICE_SERVICE_NAME, ENDPOINTSLICE_SKIP_MIRROR, LEADER_ANNOTATION, MANAGED_ANNOTATIONS, MANAGED_LABELS } from './keys.ts';
import { compact, omitEmpty, sameJSON } from './json.ts';
import { KINDS, type ToHostObjectMetaOptions } from './meta.ts';
import { isKubernetesService, type Translator } from './names.ts';
import { hasSelector, toHostMetaWithManagedLabels, type IPFamily, type Protocol, type Service } from './service.ts';
import type { ObjectMeta } from './types.ts';

// ---- Wire types (core/v1 and discovery.k8s.io/v1, docs abridged from k8s.io/api) ----

/** core/v1 ObjectReference: what an endpoint address points at (a Pod, for controller-made endpoints). */
export interface ObjectReference {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly apiVersion?: string;
  readonly resourceVersion?: string;
  readonly fieldPath?: string;
}

export interface EndpointAddress {
  readonly ip: string;
  /** Used by DNS for `<hostname>.<service>.<ns>.svc` records of headless Services. */
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly targetRef?: ObjectReference;
  readonly [field: string]: unknown;
}

export interface EndpointPort {
  /** Equals the name of the Service port it serves; optional for single-port Services. */
  readonly name?: string;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly appProtocol?: string;
  readonly [field: string]: unknown;
}

/** A set of addresses that all serve the same ports. */
export interface EndpointSubset {
  readonly addresses?: readonly EndpointAddress[];
  readonly notReadyAddresses?: readonly EndpointAddress[];
  readonly ports?: readonly EndpointPort[];
}

export interface Endpoints {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly subsets?: readonly EndpointSubset[];
}

/** discovery/v1 EndpointConditions: unset `ready` means "unknown", which consumers read as ready. */
export interface EndpointConditions {
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface EndpointHints {
  readonly forZones?: readonly { readonly name: string }[];
  readonly forNodes?: readonly { readonly name: string }[];
}

/** discovery/v1 Endpoint: one backend of an EndpointSlice. */
export interface EndpointSliceEndpoint {
  /** One address (IPs of the slice's addressType, or an FQDN); consumers use the first. */
  readonly addresses: readonly string[];
  readonly conditions?: EndpointConditions;
  readonly hostname?: string;
  readonly targetRef?: ObjectReference;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hints?: EndpointHints;
  readonly deprecatedTopology?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** discovery/v1 EndpointPort: unlike core/v1, `port` may be unset (meaning "all ports"). */
export interface EndpointSlicePort {
  readonly name?: string;
  readonly protocol?: Protocol;
  readonly port?: number;
  readonly appProtocol?: string;
}

export type AddressType = IPFamily | 'FQDN';

export interface EndpointSlice {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly addressType: AddressType;
  readonly endpoints?: readonly EndpointSliceEndpoint[];
  readonly ports?: readonly EndpointSlicePort[];
}

// ---- Which endpoints are synced ----

/** The ENDPOINTSLICE_MANAGED_BY values of the Kubernetes controllers (discovery/v1 well-known labels). */
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const ENDPOINTSLICE_MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

/**
 * Whether the Endpoints and EndpointSlices of this virtual Service are synced to the host (§4): the
 * Service exists and has no selector. The reconciler calls this whenever a Service, an Endpoints or a
 * slice changes, so the order in which they were created does not matter (loft-sh/vcluster#2719,
 * where Endpoints created before their Service were never synced), and adding or removing a selector
 * later is picked up. `default/kubernetes` is never synced: vcnet writes its endpoints from the host
 * (kubernetesEndpointsFromHost).
 */
export function shouldSyncEndpoints(vSvc: Service | undefined): boolean {
  if (vSvc === undefined) return false;
  if (isKubernetesService(vSvc.metadata.name ?? '', vSvc.metadata.namespace ?? '')) return false;
  return !hasSelector(vSvc);
}

/**
 * Whether a virtual slice was made by a Kubernetes controller of the virtual cluster: the
 * EndpointSlice controller (from a Service selector) or the mirroring controller (from an Endpoints
 * object of a selector-less Service). Such slices are not copied: the host's EndpointSlice controller
 * makes the equivalent from the translated selector, and the host's mirroring controller from the
 * host Endpoints vcnet writes, so a copy would list every endpoint twice for kube-proxy. A virtual
 * Endpoints with `endpointslice.kubernetes.io/skip-mirror: "true"` keeps that label on the host, so
 * neither side mirrors it. Slices made by anyone else (operators, users) are copied.
 */
export function isControllerManagedSlice(vSlice: Pick<EndpointSlice, 'metadata'>): boolean {
  const managedBy = vSlice.metadata.labels?.[ENDPOINTSLICE_MANAGED_BY];
  return managedBy === ENDPOINTSLICE_CONTROLLER || managedBy === ENDPOINTSLICE_MIRRORING_CONTROLLER;
}

/** The virtual Service a slice belongs to (its `kubernetes.io/service-name` label), or undefined without one. */
export function sliceServiceName(vSlice: Pick<EndpointSlice, 'metadata'>): string | undefined {
  const name = vSlice.metadata.labels?.[ENDPOINTSLICE_SERVICE_NAME];
  return name === undefined || name === '' ? undefined : name;
}

// ---- Virtual -> host ----

/**
 * Annotations never copied to the host (§4): the leader-election record some components keep on
 * Endpoints; on the host it would describe a leader that does not exist there, and the host's
 * mirroring controller skips Endpoints that carry it.
 */
export const ENDPOINTS_EXCLUDED_ANNOTATIONS: readonly string[] = Object.freeze([LEADER_ANNOTATION]);

export interface EndpointsToHostOptions {
  /** The current host object's metadata, when one exists (host-added annotations and labels survive). */
  readonly hMeta?: ObjectMeta;
  /** The vCluster's own host Service, owner of every synced host object (see ToHostObjectMetaOptions). */
  readonly owner?: ToHostObjectMetaOptions['owner'];
}

function hostMeta(tr: Translator, vMeta: ObjectMeta, kind: typeof KINDS.Endpoints | typeof KINDS.EndpointSlice, opts: EndpointsToHostOptions): ObjectMeta {
  return toHostMetaWithManagedLabels(tr, vMeta, kind, {
    excludeAnnotations: ENDPOINTS_EXCLUDED_ANNOTATIONS,
    ...(opts.hMeta === undefined ? {} : { hMeta: opts.hMeta }),
    ...(opts.owner === undefined ? {} : { owner: opts.owner }),
  });
}

/**
 * The host form of an address's target: a Pod reference names the host pod (translated name, in HNS;
 * a pod of another virtual namespace is translated with that namespace), without uid and
 * resourceVersion, which belong to the virtual pod. A reference to anything else is dropped: it names
 * a virtual object the host does not have (or a host object of the same name that is not it), and
 * consumers treat a missing targetRef as "not a pod" anyway.
 */
function toHostTargetRef(tr: Translator, ref: ObjectReference | undefined, vNamespace: string): ObjectReference | undefined {
  if (ref === undefined || ref.kind !== 'Pod' || (ref.apiVersion || 'v1') !== 'v1') return undefined;
  const { uid: _uid, resourceVersion: _rv, ...rest } = ref;
  const name = tr.hostName(ref.name ?? '', ref.namespace || vNamespace);
  return compact({ ...rest, name: name === '' ? undefined : name, namespace: tr.hostNamespace });
}

function toHostAddress(tr: Translator, a: EndpointAddress, vNamespace: string): EndpointAddress {
  const { targetRef, ...rest } = structuredClone(a);
  const hRef = toHostTargetRef(tr, targetRef, vNamespace);
  return compact({ ...rest, targetRef: hRef });
}

/**
 * The host Endpoints of a virtual Endpoints (§4): translated name in HNS (so it belongs to the host
 * twin of the Service of the same name), host labels and annotations without the leader-election
 * annotation, and the subsets copied — IPs, ports, hostnames and nodeNames as they are (pod IPs and
 * node names are the same on both sides), Pod targetRefs translated (see toHostTargetRef), other
 * targetRefs dropped. Ready and not-ready addresses alike.
 */
export function endpointsToHost(tr: Translator, vEp: Endpoints, opts: EndpointsToHostOptions = {}): Endpoints {
  const vNamespace = vEp.metadata.namespace ?? '';
  const metadata = hostMeta(tr, vEp.metadata, KINDS.Endpoints, opts);
  const subsets = vEp.subsets?.map((s) => compact({
    addresses: s.addresses?.map((a) => toHostAddress(tr, a, vNamespace)),
    notReadyAddresses: s.notReadyAddresses?.map((a) => toHostAddress(tr, a, vNamespace)),
    ports: s.ports === undefined ? undefined : structuredClone(s.ports),
  }));
  return compact({ apiVersion: KINDS.Endpoints.apiVersion, kind: KINDS.Endpoints.kind, metadata, subsets });
}

/**
 * The host EndpointSlice of a virtual one (§4).
 * - name translated; labels and annotations as for any object (leader annotation excluded);
 * - `kubernetes.io/service-name` = the host name of the virtual Service, through Translator.hostName,
 *   so it is the HASHED name when the host Service's name is (vCluster builds it by plain
 *   concatenation, which detaches slices of long-named Services; loft-sh/vcluster#4142);
 * - `endpointslice.kubernetes.io/managed-by` = `vcnet.dev`, whatever the virtual slice said: no host
 *   controller adopts or deletes a slice with a value not its own, and vcnet's garbage collection
 *   recognises its slices by it. The virtual value is not kept; the virtual slice stays the truth and
 *   nothing is ever copied from a host slice to a virtual one (§4);
 * - endpoints copied with Pod targetRefs translated and other targetRefs dropped (as endpointsToHost);
 *   addressType, ports, conditions, hints, nodeName and zone as they are.
 * Throws when the slice has no `kubernetes.io/service-name` label (check sliceServiceName first) or
 * belongs to `default/kubernetes`, whose endpoints vcnet writes from the host.
 */
export function endpointSliceToHost(tr: Translator, vSlice: EndpointSlice, opts: EndpointsToHostOptions = {}): EndpointSlice {
  const vNamespace = vSlice.metadata.namespace ?? '';
  const vService = sliceServiceName(vSlice);
  if (vService === undefined) {
    throw new Error(`EndpointSlice ${vNamespace}/${vSlice.metadata.name ?? ''} has no ${ENDPOINTSLICE_SERVICE_NAME} label: ` +
      'it belongs to no Service, so it is not synced to the host');
  }
  if (isKubernetesService(vService, vNamespace)) {
    throw new Error(`EndpointSlice ${vNamespace}/${vSlice.metadata.name ?? ''} belongs to default/kubernetes, whose endpoints ` +
      'vcnet writes from its host Service; it is not synced to the host');
  }
  const meta = hostMeta(tr, vSlice.metadata, KINDS.EndpointSlice, opts);
  const labels = {
    ...meta.labels,
    [ENDPOINTSLICE_SERVICE_NAME]: tr.hostName(vService, vNamespace),
    [ENDPOINTSLICE_MANAGED_BY]: ENDPOINTSLICE_MANAGER_VCNET,
  };
  const endpoints = vSlice.endpoints?.map((e) => {
    const { targetRef, ...rest } = structuredClone(e);
    return compact({ ...rest, targetRef: toHostTargetRef(tr, targetRef, vNamespace) });
  });
  return compact({
    apiVersion: KINDS.EndpointSlice.apiVersion,
    kind: KINDS.EndpointSlice.kind,
    metadata: { ...meta, labels },
    addressType: vSlice.addressType,
    endpoints,
    ports: vSlice.ports === undefined ? undefined : structuredClone(vSlice.ports),
  });
}

// ---- Drift ----

/**
 * Whether `actual` lacks a label or annotation `desired` carries, or still carries one that vcnet
 * copied earlier (listed in its own managed-labels / managed-annotations annotation) and `desired`
 * no longer has. Keys someone else added on the host are not vcnet's business; server-set metadata
 * (uid, resourceVersion, timestamps, managedFields) is ignored.
 */
function metaDrift(desired: ObjectMeta, actual: ObjectMeta): boolean {
  const mapDrift = (want: Readonly<Record<string, string>> | undefined, have: Readonly<Record<string, string>> | undefined, listKey: string): boolean => {
    const w = want ?? {};
    const h = have ?? {};
    if (Object.entries(w).some(([k, v]) => h[k] !== v)) return true;
    const copied = (actual.annotations?.[listKey] ?? '').split('\n').filter((k) => k !== '');
    return copied.some((k) => Object.hasOwn(h, k) && !Object.hasOwn(w, k));
  };
  return mapDrift(desired.labels, actual.labels, MANAGED_LABELS) || mapDrift(desired.annotations, actual.annotations, MANAGED_ANNOTATIONS);
}

/** Ports with the API server's default applied (SetDefaults_EndpointPort: protocol TCP, name ""). */
function defaultedPorts(ports: readonly (EndpointPort | EndpointSlicePort)[] | undefined): unknown {
  return ports?.map((p) => compact({ ...p, name: p.name === '' ? undefined : p.name, protocol: p.protocol ?? 'TCP' }));
}

/**
 * Whether the Endpoints `actual` differs from `desired` in what vcnet syncs: the subsets (addresses,
 * not-ready addresses and ports, in order; a port's protocol defaults to TCP) and the labels and
 * annotations vcnet manages (see metaDrift).
 */
export function endpointsDrift(desired: Endpoints, actual: Endpoints): boolean {
  const subsets = (e: Endpoints): unknown => omitEmpty({ s: e.subsets?.map((s) => ({ ...s, ports: defaultedPorts(s.ports) })) });
  return metaDrift(desired.metadata, actual.metadata) || !sameJSON(subsets(desired), subsets(actual));
}

/**
 * Whether the EndpointSlice `actual` differs from `desired` in what vcnet syncs: addressType,
 * endpoints and ports (in order; a port's protocol defaults to TCP) and the labels and annotations
 * vcnet manages (see metaDrift).
 */
export function endpointSliceDrift(desired: EndpointSlice, actual: EndpointSlice): boolean {
  const content = (s: EndpointSlice): unknown => omitEmpty({ a: s.addressType, e: s.endpoints, p: defaultedPorts(s.ports) });
  return metaDrift(desired.metadata, actual.metadata) || !sameJSON(content(desired), content(actual));
}

// ---- default/kubernetes (§3.3) ----

/** The port of the vCluster's host Service that reaches the API (vcnet's proxy): `https` 443 -> 8443. */
const HTTPS_PORT_NAME = 'https';

function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

/**
 * The virtual `default/kubernetes` Endpoints and EndpointSlice (§3.3), made from the host Endpoints
 * of vcnet's own host Service, so in-cluster clients of the virtual API reach vcnet's proxy pods.
 * - addresses: the host's, ready ones as ready and not-ready ones as not ready, with only their IP:
 *   hostname, nodeName and targetRef describe host pods the virtual cluster does not have;
 * - ports: only the host port named `https`, under that name; its number is the pods' port (8443),
 *   which is what an endpoint carries. Host subsets without it contribute nothing;
 * - the Endpoints carries `endpointslice.kubernetes.io/skip-mirror: "true"` so the virtual mirroring
 *   controller leaves it alone; vcnet writes the slice (name `kubernetes`, managed-by `vcnet.dev`)
 *   itself. The slice's addressType is the host Service's primary IP family, and it lists the
 *   addresses of that family of the first subset (all vcnet pods listen on the same port, so there is
 *   one subset in practice; a slice has one port list).
 * Without host Endpoints (or without an `https` port) the result has no subsets and an empty slice;
 * never an error: the Service simply has no endpoints yet.
 */
export function kubernetesEndpointsFromHost(hEndpoints: Endpoints | undefined, hSvc: Service): { endpoints: Endpoints; slice: EndpointSlice } {
  interface Group { readonly port: number; readonly protocol: Protocol; readonly ready: string[]; readonly notReady: string[] }
  const groups: Group[] = [];
  for (const s of hEndpoints?.subsets ?? []) {
    const https = s.ports?.find((p) => p.name === HTTPS_PORT_NAME);
    if (https === undefined) continue;
    const protocol = https.protocol ?? 'TCP';
    let g = groups.find((x) => x.port === https.port && x.protocol === protocol);
    if (g === undefined) {
      g = { port: https.port, protocol, ready: [], notReady: [] };
      groups.push(g);
    }
    for (const a of s.addresses ?? []) if (!g.ready.includes(a.ip)) g.ready.push(a.ip);
    for (const a of s.notReadyAddresses ?? []) if (!g.notReady.includes(a.ip)) g.notReady.push(a.ip);
  }

  const portOf = (g: Group) => ({ name: HTTPS_PORT_NAME, port: g.port, protocol: g.protocol });
  const subsets = groups
    .filter((g) => g.ready.length + g.notReady.length > 0)
    .map((g) => compact({
      addresses: g.ready.length === 0 ? undefined : g.ready.map((ip) => ({ ip })),
      notReadyAddresses: g.notReady.length === 0 ? undefined : g.notReady.map((ip) => ({ ip })),
      ports: [portOf(g)],
    }));
  const endpoints: Endpoints = compact({
    apiVersion: KINDS.Endpoints.apiVersion,
    kind: KINDS.Endpoints.kind,
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [ENDPOINTSLICE_SKIP_MIRROR]: 'true' } },
    subsets: subsets.length === 0 ? undefined : subsets,
  });

  const first = groups.find((g) => g.ready.length + g.notReady.length > 0);
  const firstIP = first?.ready[0] ?? first?.notReady[0];
  const addressType: IPFamily = hSvc.spec?.ipFamilies?.[0] ?? (firstIP === undefined ? 'IPv4' : familyOf(firstIP));
  const sliceEndpoint = (ip: string, ready: boolean): EndpointSliceEndpoint => ({ addresses: [ip], conditions: { ready } });
  const slice: EndpointSlice = {
    apiVersion: KINDS.EndpointSlice.apiVersion,
    kind: KINDS.EndpointSlice.kind,
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { [ENDPOINTSLICE_SERVICE_NAME]: 'kubernetes', [ENDPOINTSLICE_MANAGED_BY]: ENDPOINTSLICE_MANAGER_VCNET },
    },
    addressType,
    endpoints: first === undefined ? [] : [
      ...first.ready.filter((ip) => familyOf(ip) === addressType).map((ip) => sliceEndpoint(ip, true)),
      ...first.notReady.filter((ip) => familyOf(ip) === addressType).map((ip) => sliceEndpoint(ip, false)),
    ],
    ports: first === undefined ? [] : [portOf(first)],
  };
  return { endpoints, slice };
}
