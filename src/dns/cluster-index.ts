// The virtual cluster's DNS facts, in memory: Services, EndpointSlices and Pods of every namespace,
// each projected on arrival to the few strings DNS needs (a 5,000-Service cluster should not keep
// 5,000 whole objects with their managedFields), with O(1) lookups by `<svc>.<ns>`, by IP (PTR) and
// by pod `<hostname>.<subdomain>.<ns>`.
//
// Fed by kube/'s Reflector (LIST+WATCH, re-list on 410). The reflector keeps its own copy of every
// object for its re-list diff, so each one is given a transform (slimService, slimEndpointSlice,
// slimPod) that cuts an object down to what the projections read before it is stored, the way
// client-go informers use SetTransform. The apply* methods are public so unit tests can drive the
// index with objects without an API server; `start()` wires them to the reflectors.
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Reflector, type ResourceRef } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import { ENDPOINTSLICE_SERVICE_NAME } from '../translate/keys.ts';
import { canonicalIp, ipFamily } from './records.ts';

export interface PortRecord {
  readonly name: string;
  /** Lower case (`tcp`, `udp`, `sctp`), as it appears in SRV names. */
  readonly protocol: string;
  readonly port: number;
}

export interface ServiceRecord {
  readonly ns: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'Headless' | 'ExternalName';
  /** The allocated ClusterIPs (both families on dual-stack); empty for headless and ExternalName. */
  readonly clusterIPs: readonly string[];
  readonly externalName: string | undefined;
  readonly ports: readonly PortRecord[];
  readonly publishNotReadyAddresses: boolean;
}

interface SliceEndpoint {
  readonly ips: readonly string[];
  readonly hostname: string | undefined;
  /** `conditions.ready`: nil means ready (discovery.k8s.io/v1 API docs). */
  readonly ready: boolean;
  readonly serving: boolean;
}

interface SliceRecord {
  readonly ns: string;
  readonly service: string;
  readonly ports: readonly PortRecord[];
  readonly endpoints: readonly SliceEndpoint[];
}

export interface PodRecord {
  readonly ns: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
  readonly ready: boolean;
}

/** One address of a headless Service, deduplicated across its slices. */
export interface EndpointAddress {
  readonly ip: string;
  readonly hostname: string | undefined;
}

export type IndexKind = 'service' | 'endpointslice' | 'pod';
export type ChangeListener = (kind: IndexKind, key: string) => void;

export interface ClusterIndexOptions {
  /** The VIRTUAL cluster (admin or a user with list/watch on services, endpointslices, pods). */
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** Server-side timeout of each watch (tests); the Reflector's default otherwise. */
  watchTimeoutSeconds?: number;
}

const SERVICES: ResourceRef = { version: 'v1', plural: 'services' };
const ENDPOINT_SLICES: ResourceRef = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' };
const PODS: ResourceRef = { version: 'v1', plural: 'pods' };


export class ClusterIndex {
  readonly #opts: ClusterIndexOptions | undefined;
  readonly #services = new Map<string, ServiceRecord>(); // `svc.ns`
  readonly #servicesPerNamespace = new Map<string, number>();
  readonly #serviceByIP = new KeySets(); // ip -> `svc.ns`
  readonly #slices = new Map<string, SliceRecord>(); // `ns/slice`
  readonly #slicesByService = new KeySets(); // `svc.ns` -> slice keys
  readonly #slicesByIP = new KeySets(); // ip -> slice keys
  readonly #endpointCache = new Map<string, readonly EndpointAddress[]>(); // `svc.ns`, dropped on change
  readonly #pods = new Map<string, PodRecord>(); // `ns/name`
  readonly #podsPerNamespace = new Map<string, number>();
  readonly #podsByIP = new KeySets();
  readonly #podsByHost = new KeySets(); // `hostname.subdomain.ns`
  readonly #listeners = new Set<ChangeListener>();
  #reflectors: Reflector[] = [];

  /** Without options the index is fed only through apply* (unit tests). */
  constructor(opts?: ClusterIndexOptions) {
    this.#opts = opts;
  }

  /** LIST+WATCH Services, EndpointSlices and Pods of all namespaces; resolves once all three listed. */
  async start(): Promise<void> {
    const opts = this.#opts;
    if (opts === undefined) throw new Error('ClusterIndex.start() needs a kubeConfig');
    const watch = <T extends KubernetesObject>(resource: ResourceRef, transform: (obj: T) => T, apply: (obj: T | undefined, old: T | undefined) => void): Reflector<T> => {
      const r = new Reflector<T>(opts.kubeConfig, { resource, transform, watchTimeoutSeconds: opts.watchTimeoutSeconds });
      r.on('add', (obj) => apply(obj, undefined));
      r.on('update', (obj, old) => apply(obj, old));
      r.on('delete', (_obj, old) => apply(undefined, old));
      r.on('error', (status, retryInMs) => opts.logger?.warn({ resource: resource.plural, code: status.code, reason: status.reason, retryInMs }, `dns index: watch of ${resource.plural} failed: ${status.message}`));
      this.#reflectors.push(r as unknown as Reflector);
      return r.start();
    };
    const reflectors = [
      watch<KubernetesObject>(SERVICES, slimService, (o, old) => this.applyService(o, old)),
      watch<KubernetesObject>(ENDPOINT_SLICES, slimEndpointSlice, (o, old) => this.applyEndpointSlice(o, old)),
      watch<KubernetesObject>(PODS, slimPod, (o, old) => this.applyPod(o, old)),
    ];
    await Promise.all(reflectors.map((r) => r.waitForSync()));
    opts.logger?.info({ services: this.#services.size, endpointSlices: this.#slices.size, pods: this.#pods.size }, 'dns index synced');
  }

  async stop(): Promise<void> {
    const reflectors = this.#reflectors;
    this.#reflectors = [];
    await Promise.all(reflectors.map((r) => r.stop()));
  }

  /** Called after every change the index applies (for lag measurement and metrics). Returns an unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get counts(): { services: number; endpointSlices: number; pods: number } {
    return { services: this.#services.size, endpointSlices: this.#slices.size, pods: this.#pods.size };
  }

  // --- lookups -------------------------------------------------------------------------------------

  service(ns: string, name: string): ServiceRecord | undefined {
    return this.#services.get(`${name}.${ns}`);
  }

  /** Whether `<ns>.svc.<domain>` exists: the namespace has at least one Service. */
  hasServiceNamespace(ns: string): boolean {
    return (this.#servicesPerNamespace.get(ns) ?? 0) > 0;
  }

  hasPodNamespace(ns: string): boolean {
    return (this.#podsPerNamespace.get(ns) ?? 0) > 0;
  }

  /**
   * The addresses a headless Service publishes: endpoints that are ready (`conditions.ready` nil or
   * true), or serving when the Service sets publishNotReadyAddresses; one per IP across all slices.
   */
  endpoints(ns: string, name: string): readonly EndpointAddress[] {
    const key = `${name}.${ns}`;
    const cached = this.#endpointCache.get(key);
    if (cached !== undefined) return cached;
    const svc = this.#services.get(key);
    const publishNotReady = svc?.publishNotReadyAddresses ?? false;
    const byIP = new Map<string, EndpointAddress>();
    for (const sliceKey of this.#slicesByService.get(key)) {
      for (const ep of this.#slices.get(sliceKey)?.endpoints ?? []) {
        if (!(ep.ready || (publishNotReady && ep.serving))) continue;
        for (const ip of ep.ips) {
          const known = byIP.get(ip);
          if (known === undefined || (known.hostname === undefined && ep.hostname !== undefined)) byIP.set(ip, { ip, hostname: ep.hostname });
        }
      }
    }
    const list = [...byIP.values()];
    this.#endpointCache.set(key, list);
    return list;
  }

  /** The ports the slices of a Service carry (the target ports of a headless Service), deduplicated. */
  endpointPorts(ns: string, name: string): readonly PortRecord[] {
    const seen = new Map<string, PortRecord>();
    for (const sliceKey of this.#slicesByService.get(`${name}.${ns}`)) {
      for (const p of this.#slices.get(sliceKey)?.ports ?? []) seen.set(`${p.name}/${p.protocol}/${p.port}`, p);
    }
    return [...seen.values()];
  }

  /** Pods whose spec.hostname and spec.subdomain are `hostname` and `subdomain`, in `ns`. */
  podsByHostname(hostname: string, subdomain: string, ns: string): readonly PodRecord[] {
    return this.#lookupPods(this.#podsByHost.get(`${hostname}.${subdomain}.${ns}`));
  }

  servicesByIP(ip: string): readonly ServiceRecord[] {
    return [...this.#serviceByIP.get(canonicalIp(ip))].flatMap((k) => this.#services.get(k) ?? []);
  }

  podsByIP(ip: string): readonly PodRecord[] {
    return this.#lookupPods(this.#podsByIP.get(canonicalIp(ip)));
  }

  /** Headless endpoints with a hostname at `ip`: `<hostname>.<svc>.<ns>.svc.<domain>` answers its PTR. */
  endpointHostnamesByIP(ip: string): Array<{ ns: string; service: string; hostname: string }> {
    const out = new Map<string, { ns: string; service: string; hostname: string }>();
    for (const sliceKey of this.#slicesByIP.get(canonicalIp(ip))) {
      const slice = this.#slices.get(sliceKey);
      if (slice === undefined || this.service(slice.ns, slice.service)?.type !== 'Headless') continue;
      for (const ep of this.endpoints(slice.ns, slice.service)) {
        if (ep.ip === canonicalIp(ip) && ep.hostname !== undefined) out.set(`${ep.hostname}.${slice.service}.${slice.ns}`, { ns: slice.ns, service: slice.service, hostname: ep.hostname });
      }
    }
    return [...out.values()];
  }

  #lookupPods(keys: Iterable<string>): readonly PodRecord[] {
    return [...keys].flatMap((k) => this.#pods.get(k) ?? []);
  }

  // --- feeding -------------------------------------------------------------------------------------

  /** Add (old undefined), update, or delete (obj undefined) a Service. */
  applyService(obj: KubernetesObject | undefined, old: KubernetesObject | undefined): void {
    const prev = old === undefined ? undefined : projectService(old);
    const next = obj === undefined ? undefined : projectService(obj);
    if (unchanged(prev, next)) return;
    if (prev !== undefined) this.#removeService(`${prev.name}.${prev.ns}`);
    if (next !== undefined) {
      const key = `${next.name}.${next.ns}`;
      this.#removeService(key);
      this.#services.set(key, next);
      this.#servicesPerNamespace.set(next.ns, (this.#servicesPerNamespace.get(next.ns) ?? 0) + 1);
      for (const ip of next.clusterIPs) this.#serviceByIP.add(ip, key);
    }
    this.#changed('service', next ?? prev);
  }

  #removeService(key: string): void {
    this.#endpointCache.delete(key);
    const stored = this.#services.get(key);
    if (stored === undefined) return;
    this.#services.delete(key);
    decrement(this.#servicesPerNamespace, stored.ns);
    for (const ip of stored.clusterIPs) this.#serviceByIP.delete(ip, key);
  }

  applyEndpointSlice(obj: KubernetesObject | undefined, old: KubernetesObject | undefined): void {
    const next = obj === undefined ? undefined : projectEndpointSlice(obj);
    if (obj !== undefined && old !== undefined && unchanged(projectEndpointSlice(old), next)) return;
    if (old !== undefined) this.#removeSlice(`${old.metadata?.namespace}/${old.metadata?.name}`);
    if (obj !== undefined) {
      const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
      this.#removeSlice(key);
      if (next !== undefined) {
        this.#slices.set(key, next);
        this.#slicesByService.add(`${next.service}.${next.ns}`, key);
        for (const ep of next.endpoints) for (const ip of ep.ips) this.#slicesByIP.add(ip, key);
        this.#endpointCache.delete(`${next.service}.${next.ns}`);
      }
    }
    this.#changed('endpointslice', next);
  }

  #removeSlice(key: string): void {
    const stored = this.#slices.get(key);
    if (stored === undefined) return;
    this.#slices.delete(key);
    this.#slicesByService.delete(`${stored.service}.${stored.ns}`, key);
    for (const ep of stored.endpoints) for (const ip of ep.ips) this.#slicesByIP.delete(ip, key);
    this.#endpointCache.delete(`${stored.service}.${stored.ns}`);
  }

  applyPod(obj: KubernetesObject | undefined, old: KubernetesObject | undefined): void {
    const next = obj === undefined ? undefined : projectPod(obj);
    if (obj !== undefined && old !== undefined && unchanged(projectPod(old), next)) return;
    if (old !== undefined) this.#removePod(`${old.metadata?.namespace}/${old.metadata?.name}`);
    if (obj !== undefined) {
      const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
      this.#removePod(key);
      if (next !== undefined) {
        this.#pods.set(key, next);
        this.#podsPerNamespace.set(next.ns, (this.#podsPerNamespace.get(next.ns) ?? 0) + 1);
        for (const ip of next.ips) this.#podsByIP.add(ip, key);
        if (next.hostname !== undefined && next.subdomain !== undefined) this.#podsByHost.add(`${next.hostname}.${next.subdomain}.${next.ns}`, key);
      }
    }
    this.#changed('pod', next);
  }

  #removePod(key: string): void {
    const stored = this.#pods.get(key);
    if (stored === undefined) return;
    this.#pods.delete(key);
    decrement(this.#podsPerNamespace, stored.ns);
    for (const ip of stored.ips) this.#podsByIP.delete(ip, key);
    if (stored.hostname !== undefined && stored.subdomain !== undefined) this.#podsByHost.delete(`${stored.hostname}.${stored.subdomain}.${stored.ns}`, key);
  }

  #changed(kind: IndexKind, rec: { ns: string; name?: string; service?: string } | undefined): void {
    const key = rec === undefined ? '' : `${rec.ns}/${rec.name ?? rec.service ?? ''}`;
    for (const l of this.#listeners) l(kind, key);
  }
}

/**
 * An update that leaves what DNS reads as it was (a pod's container statuses, a Service's labels) is
 * not a change: nothing is re-indexed and no listener runs, so the DNS server's answer cache, which
 * every change empties, survives the status churn of a busy cluster.
 */
function unchanged<T>(prev: T | undefined, next: T | undefined): boolean {
  return prev !== undefined && next !== undefined && isDeepStrictEqual(prev, next);
}

const NO_KEYS: readonly string[] = [];

/**
 * Keys by another key (an IP, a Service), as `Map<string, Set<string>>` would hold them, but with a
 * lone key stored as the string itself: nearly every IP and Service has exactly one, and a Set per
 * entry was a quarter of the index's memory (12,000 one-entry Sets with 2,000 Services).
 */
class KeySets {
  readonly #map = new Map<string, string | Set<string>>();

  get(key: string): Iterable<string> {
    const v = this.#map.get(key);
    return v === undefined ? NO_KEYS : typeof v === 'string' ? [v] : v;
  }

  add(key: string, value: string): void {
    const v = this.#map.get(key);
    if (v === undefined) this.#map.set(key, value);
    else if (typeof v === 'string') { if (v !== value) this.#map.set(key, new Set([v, value])); }
    else v.add(value);
  }

  delete(key: string, value: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    if (typeof v === 'string') {
      if (v === value) this.#map.delete(key);
      return;
    }
    v.delete(value);
    if (v.size === 1) this.#map.set(key, v.values().next().value as string);
    else if (v.size === 0) this.#map.delete(key);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

// --- projections (pure) -----------------------------------------------------------------------------

/**
 * The metadata every slim object keeps: what the Reflector's store is keyed by (namespace/name) and
 * what its re-list diff compares (resourceVersion: unchanged or not; uid: re-created or not).
 */
interface WireMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
}

interface WirePort { name?: string | null; protocol?: string | null; port?: number | null }

interface WireService {
  metadata?: WireMeta;
  spec?: {
    type?: string; clusterIP?: string; clusterIPs?: string[]; externalName?: string; publishNotReadyAddresses?: boolean;
    ports?: WirePort[] | null;
  };
}

export function slimMeta(m: WireMeta | undefined): WireMeta {
  return { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, uid: m?.uid };
}

function slimPorts(ports: readonly WirePort[] | null | undefined): WirePort[] | undefined {
  return ports?.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port }));
}

/**
 * What the reflector stores of a Service: the identity (slimMeta) and the spec fields projectService
 * reads. managedFields, annotations, labels, selector, status, the rest of the spec are dropped.
 */
export function slimService(obj: KubernetesObject): KubernetesObject {
  const s = obj as WireService;
  const spec = s.spec;
  const slim: WireService = {
    metadata: slimMeta(s.metadata),
    spec: spec === undefined ? undefined : {
      type: spec.type, clusterIP: spec.clusterIP, clusterIPs: spec.clusterIPs, externalName: spec.externalName,
      publishNotReadyAddresses: spec.publishNotReadyAddresses, ports: slimPorts(spec.ports),
    },
  };
  return slim as KubernetesObject;
}

function projectPorts(ports: readonly WirePort[] | undefined | null): PortRecord[] {
  return (ports ?? []).flatMap((p) => typeof p.port === 'number'
    ? [{ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port }]
    : []);
}

/** The DNS view of a Service. */
export function projectService(obj: KubernetesObject): ServiceRecord | undefined {
  const s = obj as WireService;
  const ns = s.metadata?.namespace;
  const name = s.metadata?.name;
  if (ns === undefined || name === undefined) return undefined;
  const spec = s.spec ?? {};
  const ports = projectPorts(spec.ports);
  const publishNotReadyAddresses = spec.publishNotReadyAddresses === true;
  if (spec.type === 'ExternalName') {
    return { ns, name, type: 'ExternalName', clusterIPs: [], externalName: spec.externalName, ports, publishNotReadyAddresses };
  }
  if (spec.clusterIP === 'None') {
    return { ns, name, type: 'Headless', clusterIPs: [], externalName: undefined, ports, publishNotReadyAddresses };
  }
  const ips = (spec.clusterIPs ?? (spec.clusterIP === undefined || spec.clusterIP === '' ? [] : [spec.clusterIP]))
    .filter((ip) => ipFamily(ip) !== undefined).map(canonicalIp);
  return { ns, name, type: 'ClusterIP', clusterIPs: ips, externalName: undefined, ports, publishNotReadyAddresses };
}

interface WireSlice {
  metadata?: WireMeta & { labels?: Record<string, string> };
  addressType?: string;
  ports?: WirePort[] | null;
  endpoints?: Array<{ addresses?: string[]; hostname?: string; conditions?: { ready?: boolean | null; serving?: boolean | null } }> | null;
}

/**
 * What the reflector stores of an EndpointSlice: the identity, the `kubernetes.io/service-name`
 * label (the only one projectEndpointSlice reads), the address type, the ports, and per endpoint its
 * addresses, hostname and ready/serving conditions. Other labels, annotations, managedFields,
 * ownerReferences, and the endpoints' nodeName, zone, targetRef and hints are dropped.
 */
export function slimEndpointSlice(obj: KubernetesObject): KubernetesObject {
  const s = obj as WireSlice;
  const service = s.metadata?.labels?.[ENDPOINTSLICE_SERVICE_NAME];
  const slim: WireSlice = {
    metadata: { ...slimMeta(s.metadata), labels: service === undefined ? undefined : { [ENDPOINTSLICE_SERVICE_NAME]: service } },
    addressType: s.addressType,
    ports: slimPorts(s.ports),
    endpoints: s.endpoints?.map((ep) => ({
      addresses: ep.addresses, hostname: ep.hostname,
      conditions: ep.conditions === undefined || ep.conditions === null ? undefined : { ready: ep.conditions.ready, serving: ep.conditions.serving },
    })),
  };
  return slim as KubernetesObject;
}

/** The DNS view of an EndpointSlice; undefined for slices of no Service and FQDN slices. */
export function projectEndpointSlice(obj: KubernetesObject): SliceRecord | undefined {
  const s = obj as WireSlice;
  const ns = s.metadata?.namespace;
  const service = s.metadata?.labels?.[ENDPOINTSLICE_SERVICE_NAME];
  if (ns === undefined || service === undefined || service === '') return undefined;
  if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') return undefined;
  const endpoints = (s.endpoints ?? []).map((ep): SliceEndpoint => {
    const ready = ep.conditions?.ready !== false;
    return {
      ips: (ep.addresses ?? []).filter((ip) => ipFamily(ip) !== undefined).map(canonicalIp),
      hostname: ep.hostname === undefined || ep.hostname === '' ? undefined : ep.hostname.toLowerCase(),
      ready,
      // serving is nil on old writers; it then follows ready (discovery.k8s.io/v1 docs).
      serving: ep.conditions?.serving === undefined || ep.conditions.serving === null ? ready : ep.conditions.serving,
    };
  });
  return { ns, service, ports: projectPorts(s.ports), endpoints };
}

interface WirePod {
  metadata?: WireMeta;
  spec?: { hostname?: string; subdomain?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }>; conditions?: Array<{ type?: string; status?: string }> };
}

/**
 * What the reflector stores of a Pod: the identity, spec.hostname/subdomain/hostNetwork, and of the
 * status the phase, the IPs and the Ready condition (projectPod reads no other). Containers,
 * volumes, the rest of the spec and status, labels, annotations and managedFields are dropped:
 * most of a pod's bytes.
 */
export function slimPod(obj: KubernetesObject): KubernetesObject {
  const p = obj as WirePod;
  const { spec, status } = p;
  const slim: WirePod = {
    metadata: slimMeta(p.metadata),
    spec: spec === undefined ? undefined : { hostname: spec.hostname, subdomain: spec.subdomain, hostNetwork: spec.hostNetwork },
    status: status === undefined ? undefined : {
      phase: status.phase, podIP: status.podIP, podIPs: status.podIPs?.map((x) => ({ ip: x.ip })),
      conditions: status.conditions?.flatMap((c) => c.type === 'Ready' ? [{ type: c.type, status: c.status }] : []),
    },
  };
  return slim as KubernetesObject;
}

/**
 * The DNS view of a Pod; undefined for pods that DNS never answers: finished pods (Succeeded,
 * Failed) and host-network pods (their IP is the node's).
 */
export function projectPod(obj: KubernetesObject): PodRecord | undefined {
  const p = obj as WirePod;
  const ns = p.metadata?.namespace;
  const name = p.metadata?.name;
  if (ns === undefined || name === undefined) return undefined;
  if (p.spec?.hostNetwork === true) return undefined;
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const listed = (p.status?.podIPs ?? []).flatMap((x) => x.ip === undefined ? [] : [x.ip]);
  const ips = (listed.length > 0 ? listed : p.status?.podIP === undefined ? [] : [p.status.podIP])
    .filter((ip) => ipFamily(ip) !== undefined).map(canonicalIp);
  const hostname = p.spec?.hostname === undefined || p.spec.hostname === '' ? undefined : p.spec.hostname.toLowerCase();
  const subdomain = p.spec?.subdomain === undefined || p.spec.subdomain === '' ? undefined : p.spec.subdomain.toLowerCase();
  const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return { ns, name, ips, hostname, subdomain, ready };
}

