// Helpers of the Service sync e2e tests (test/e2e/services/): kubectl with JSON answers on either
// side, the host twin of a virtual Service, host objects made by hand (a port or an IP taken on the
// host, a quota), and the wire types of Endpoints and EndpointSlices as the tests read them.
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import type { Service } from '../../src/translate/service.ts';
import type { Translator } from '../../src/translate/names.ts';
import { kubectl, uniqueName, type Run } from './env.ts';
import { getJson, waitFor } from './pods.ts';

export type { Service };

/** core/v1 Endpoints, as far as the tests read it. */
export interface Endpoints {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  subsets?: Array<{
    addresses?: Array<{ ip: string; hostname?: string; nodeName?: string; targetRef?: { kind?: string; name?: string; namespace?: string } }>;
    notReadyAddresses?: Array<{ ip: string }>;
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  }>;
}

/** discovery.k8s.io/v1 EndpointSlice, as far as the tests read it. */
export interface EndpointSlice {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  addressType: string;
  endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string; namespace?: string } }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

/** A kubectl run whose stdout is JSON (`-o json`); `obj` is undefined when kubectl failed. */
export interface JsonRun<T> extends Run {
  obj: T | undefined;
}

export async function kubectlJson<T>(kubeconfig: string, args: string[], input?: string): Promise<JsonRun<T>> {
  const r = await kubectl(kubeconfig, [...args, '-o', 'json'], input === undefined ? {} : { input });
  return { ...r, obj: r.code === 0 ? JSON.parse(r.stdout) as T : undefined };
}

/** A virtual namespace created through `kubeconfig` (the proxy), deleted when the test ends. */
export async function virtualNamespace(t: Test, kubeconfig: string, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  const r = await kubectl(kubeconfig, ['create', 'namespace', ns]);
  t.equal(r.code, 0, `namespace ${ns}: ${r.stderr}`);
  t.teardown(async () => { await kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
  return ns;
}

/** A host namespace of the test's own (for objects made directly on the host), deleted at the end. */
export async function hostNamespace(t: Test, hostKubeconfig: string, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  const r = await kubectl(hostKubeconfig, ['create', 'namespace', ns]);
  t.equal(r.code, 0, `host namespace ${ns}: ${r.stderr}`);
  t.teardown(async () => { await kubectl(hostKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
  return ns;
}

/** Reads Services, Endpoints and EndpointSlices of one virtual cluster and its host namespace. */
export class ServiceSides {
  readonly virtual: string;
  readonly host: string;
  readonly tr: Translator;

  constructor(opts: { virtual: string; host: string; tr: Translator }) {
    this.virtual = opts.virtual;
    this.host = opts.host;
    this.tr = opts.tr;
  }

  get hostNamespace(): string {
    return this.tr.hostNamespace;
  }

  hostName(vName: string, vNamespace: string): string {
    return this.tr.hostName(vName, vNamespace);
  }

  vService(ns: string, name: string): Promise<Service | undefined> {
    return getJson<Service>(this.virtual, ['service', name, '-n', ns]);
  }

  /** The host twin of virtual Service `ns/name`. */
  hService(ns: string, name: string): Promise<Service | undefined> {
    return getJson<Service>(this.host, ['service', this.hostName(name, ns), '-n', this.hostNamespace]);
  }

  vEndpoints(ns: string, name: string): Promise<Endpoints | undefined> {
    return getJson<Endpoints>(this.virtual, ['endpoints', name, '-n', ns]);
  }

  hEndpoints(ns: string, name: string): Promise<Endpoints | undefined> {
    return getJson<Endpoints>(this.host, ['endpoints', this.hostName(name, ns), '-n', this.hostNamespace]);
  }

  async vSlices(ns: string, service: string): Promise<EndpointSlice[]> {
    const list = await getJson<{ items: EndpointSlice[] }>(this.virtual, ['endpointslices.discovery.k8s.io', '-n', ns, '-l', `kubernetes.io/service-name=${service}`]);
    return list?.items ?? [];
  }

  /** Host slices labelled with the host name of virtual Service `ns/service`. */
  async hSlices(ns: string, service: string): Promise<EndpointSlice[]> {
    const list = await getJson<{ items: EndpointSlice[] }>(this.host, ['endpointslices.discovery.k8s.io', '-n', this.hostNamespace, '-l', `kubernetes.io/service-name=${this.hostName(service, ns)}`]);
    return list?.items ?? [];
  }

  /** The host copy of virtual EndpointSlice `ns/name`. */
  hSlice(ns: string, name: string): Promise<EndpointSlice | undefined> {
    return getJson<EndpointSlice>(this.host, ['endpointslices.discovery.k8s.io', this.hostName(name, ns), '-n', this.hostNamespace]);
  }

  /** Waits until the host twin of `ns/name` exists and satisfies `ok`. */
  waitHost(what: string, ns: string, name: string, ok: (h: Service) => boolean = () => true, timeoutMs = 30_000): Promise<Service> {
    return waitFor(what, async () => {
      const h = await this.hService(ns, name);
      return h !== undefined && ok(h) ? h : undefined;
    }, timeoutMs);
  }

  waitVirtual(what: string, ns: string, name: string, ok: (v: Service) => boolean = () => true, timeoutMs = 30_000): Promise<Service> {
    return waitFor(what, async () => {
      const v = await this.vService(ns, name);
      return v !== undefined && ok(v) ? v : undefined;
    }, timeoutMs);
  }
}

/** The ClusterIPs of a Service: clusterIPs, or clusterIP alone; [] for ExternalName. */
export function clusterIPs(svc: Service | undefined): string[] {
  const s = svc?.spec;
  if (s === undefined) return [];
  if (s.clusterIPs !== undefined) return [...s.clusterIPs];
  return s.clusterIP === undefined || s.clusterIP === '' ? [] : [s.clusterIP];
}

/** `port/protocol -> nodePort` of every port, for comparing both sides whatever the port order. */
export function nodePorts(svc: Service | undefined): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const p of svc?.spec?.ports ?? []) out[`${p.port}/${p.protocol ?? 'TCP'}`] = p.nodePort;
  return out;
}

/** The sorted ready addresses of an Endpoints object. */
export function endpointIPs(ep: Endpoints | undefined): string[] {
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

/** The sorted addresses of EndpointSlices (ready or unknown readiness, as kube-proxy counts them). */
export function sliceIPs(slices: readonly EndpointSlice[]): string[] {
  return slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)).sort();
}

/** `name:port/protocol` of the ports of an Endpoints object or slice, sorted. */
export function portKeys(ports: ReadonlyArray<{ name?: string; port?: number; protocol?: string }> | undefined): string[] {
  return (ports ?? []).map((p) => `${p.name ?? ''}:${p.port ?? ''}/${p.protocol ?? 'TCP'}`).sort();
}

/**
 * A NodePort Service made directly on the host in `hostNs` (not synced by anyone), so its nodePort
 * and ClusterIP are taken on the host. Returns them.
 */
export async function takeOnHost(t: Test, hostKubeconfig: string, hostNs: string, name: string): Promise<{ nodePort: number; clusterIP: string }> {
  const body = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: hostNs }, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 80 }] } };
  const r = await kubectlJson<Service>(hostKubeconfig, ['create', '-f', '-'], JSON.stringify(body));
  t.equal(r.code, 0, `blocker service on the host: ${r.stderr}`);
  t.teardown(async () => { await kubectl(hostKubeconfig, ['delete', 'service', name, '-n', hostNs, '--wait=false']); });
  const nodePort = r.obj?.spec?.ports?.[0]?.nodePort ?? 0;
  const clusterIP = r.obj?.spec?.clusterIP ?? '';
  t.ok(nodePort > 0 && clusterIP !== '', `the host allocated nodePort ${nodePort} and ClusterIP ${clusterIP}`);
  return { nodePort, clusterIP };
}

/** Creates a ResourceQuota on the host and waits until the quota controller has counted it (admission needs status.hard). */
export async function hostQuota(t: Test, hostKubeconfig: string, hostNs: string, name: string, hard: Record<string, string>): Promise<void> {
  const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace: hostNs }, spec: { hard } };
  const r = await kubectl(hostKubeconfig, ['apply', '-f', '-'], { input: JSON.stringify(quota) });
  t.equal(r.code, 0, `quota ${name}: ${r.stderr}`);
  t.teardown(async () => { await kubectl(hostKubeconfig, ['delete', 'resourcequota', name, '-n', hostNs, '--ignore-not-found']); });
  await waitFor(`quota ${name} counted`, async () => {
    const q = await getJson<{ status?: { hard?: Record<string, string>; used?: Record<string, string> } }>(hostKubeconfig, ['resourcequota', name, '-n', hostNs]);
    return Object.entries(hard).every(([k, v]) => q?.status?.hard?.[k] === v && q.status.used?.[k] !== undefined);
  });
}

/** Sleeps (only ever before checking that something did NOT happen, never to time anything). */
export function settle(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The orphan grace of the shared environment and of the test vclusters here (seconds, see shared-env.ts). */
export const ORPHAN_GRACE_MS = 3_000;
/** "A little longer than the orphan grace": what the reconciler needs to collect an orphan it was told about. */
export const AFTER_GRACE_MS = ORPHAN_GRACE_MS + 3_000;

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * `kubectl get <args> --watch --output-watch-events -o json` in the background: every event the API
 * server sends about the object(s), in order, for checking what a cluster went through (not only
 * where it ended). `stop()` ends kubectl and returns the events.
 */
export function watchEvents<T>(kubectlPath: string, kubeconfig: string, args: string[]): { stop(): Promise<Array<WatchEvent<T>>> } {
  const child = spawn(kubectlPath, ['--kubeconfig', kubeconfig, 'get', ...args, '--watch', '--output-watch-events', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => { out += d; });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      // Let the last events arrive before cutting the watch.
      await settle(500);
      child.kill('SIGTERM');
      await exited;
      return parseJsonStream(out) as Array<WatchEvent<T>>;
    },
  };
}

/** Concatenated JSON values (kubectl prints one pretty-printed object per event) -> the values. */
export function parseJsonStream(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0 && start >= 0) {
        values.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return values;
}

export interface Refusal extends Run {
  /** The HTTP status of the last write (POST, PUT, PATCH, DELETE) kubectl sent, from its `-v=6` log. */
  status: number | undefined;
  /** stderr without kubectl's log lines: what the user reads. */
  message: string;
}

/**
 * kubectl at `-v=6`, which logs every response's HTTP status: a test can check the status of a
 * refused write exactly (kubectl prints 422 as "The request is invalid" without the reason).
 */
export async function kubectlWrite(kubeconfig: string, args: string[], input?: string): Promise<Refusal> {
  const r = await kubectl(kubeconfig, [...args, '-v=6'], input === undefined ? {} : { input });
  let status: number | undefined;
  for (const m of r.stderr.matchAll(/"Response" verb="(POST|PUT|PATCH|DELETE)" url="[^"]*" status="(\d+)/g)) status = Number(m[2]);
  const message = r.stderr.split('\n').filter((l) => !/^[IWE]\d{4} /.test(l)).join('\n');
  return { ...r, status, message };
}
