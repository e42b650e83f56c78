// The virtual cluster the DNS benchmark resolves: Services spread over namespaces, each without a
// selector and with one hand-written EndpointSlice (the cheap way to thousands of endpoints: no
// pods, no controllers involved), a tenth of them headless with hostnames on their endpoints. The
// slices carry no `endpointslice.kubernetes.io/managed-by` label, so the EndpointSlice controllers
// leave them alone (KEP-0752); `kubernetes.io/service-name` ties each to its Service, which is what
// both CoreDNS's kubernetes plugin and vcnet index by. Also the query mixes asked of that cluster.
import type https from 'node:https';
import { endpointAgent, request, statusMessage, type Endpoint } from './pods-http.ts';
import type { MixQuery } from './dns-load.ts';
import { pool } from './client.ts';

export const ZONE = 'cluster.local';
export const NAMESPACE_PREFIX = 'bench-dns-';

export interface PopulationPlan {
  namespaces: number;
  services: number;
  endpointsPerService: number;
  /** Every n-th Service is headless. */
  headlessEvery: number;
}

export interface Population {
  plan: PopulationPlan;
  namespaces: string[];
  /** `${namespace}/${name}`, in creation order. */
  services: Array<{ namespace: string; name: string; headless: boolean }>;
  endpoints: number;
  seconds: number;
}

export function namespaceName(i: number): string {
  return `${NAMESPACE_PREFIX}${i}`;
}

function serviceName(i: number, headless: boolean): string {
  return headless ? `hl-${i}` : `svc-${i}`;
}

/** The i-th endpoint IP: 10.200.0.0/14, unique per (service, endpoint). */
function endpointIp(service: number, k: number, perService: number): string {
  const n = service * perService + k + 1;
  return `10.${200 + ((n >> 16) & 3)}.${(n >> 8) & 255}.${n & 255}`;
}

export async function createPopulation(api: Endpoint, plan: PopulationPlan, concurrency: number, log: (m: string) => void): Promise<Population> {
  const agent = endpointAgent(api, concurrency);
  const t0 = Date.now();
  try {
    const namespaces = Array.from({ length: plan.namespaces }, (_, i) => namespaceName(i));
    for (const ns of namespaces) {
      const r = await request(api, agent, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${ns}: ${statusMessage(r)}`);
    }
    const services: Population['services'] = [];
    let lastNote = Date.now();
    await pool(Array.from({ length: plan.services }, (_, i) => i), concurrency, async (i) => {
      const headless = i % plan.headlessEvery === plan.headlessEvery - 1;
      const namespace = namespaces[i % namespaces.length] as string;
      const name = serviceName(i, headless);
      await createService(api, agent, namespace, name, headless);
      await createSlice(api, agent, namespace, name, i, plan.endpointsPerService, headless);
      services.push({ namespace, name, headless });
      if (Date.now() - lastNote > 10_000) {
        lastNote = Date.now();
        log(`  ${services.length} of ${plan.services} Services created`);
      }
    });
    return { plan, namespaces, services, endpoints: plan.services * plan.endpointsPerService, seconds: (Date.now() - t0) / 1000 };
  } finally {
    agent.destroy();
  }
}

export async function createService(api: Endpoint, agent: https.Agent, namespace: string, name: string, headless: boolean): Promise<void> {
  const body = {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    spec: { ...(headless ? { clusterIP: 'None' } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
  const r = await request(api, agent, 'POST', `/api/v1/namespaces/${namespace}/services`, body);
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating Service ${namespace}/${name}: ${statusMessage(r)}`);
}

async function createSlice(api: Endpoint, agent: https.Agent, namespace: string, service: string, index: number, count: number, hostnames: boolean): Promise<void> {
  const body = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${service}-bench`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: count }, (_, k) => ({
      addresses: [endpointIp(index, k, count)],
      conditions: { ready: true },
      ...(hostnames ? { hostname: `ep-${k}` } : {}),
    })),
  };
  const r = await request(api, agent, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, body);
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating EndpointSlice of ${namespace}/${service}: ${statusMessage(r)}`);
}

/** Deletes the benchmark's namespaces (only needed in an environment this run does not own). */
export async function removePopulation(api: Endpoint, pop: Pick<Population, 'namespaces'>, log: (m: string) => void): Promise<void> {
  const agent = endpointAgent(api, 4);
  try {
    for (const ns of pop.namespaces) {
      const r = await request(api, agent, 'DELETE', `/api/v1/namespaces/${ns}`).catch((err: unknown) => ({ status: 0, body: (err as Error).message }));
      if (r.status !== 200 && r.status !== 202 && r.status !== 404) log(`could not delete namespace ${ns}: ${statusMessage(r)}`);
    }
  } finally {
    agent.destroy();
  }
}

export type MixId = 'hits' | 'nxdomain' | 'search';

export interface Mix {
  id: MixId;
  title: string;
  queries: MixQuery[];
}

/**
 * The three query mixes, each a fixed list cycled in order. The client is a pod in the first
 * namespace with the resolv.conf kubelet writes (search <ns>.svc.cluster.local svc.cluster.local
 * cluster.local, options ndots:5): glibc and musl try every search suffix first for any name with
 * fewer than 5 dots, and ask A and AAAA for each.
 */
export function mixes(pop: Population, size: number): Mix[] {
  const client = pop.namespaces[0] as string;
  const search = [`${client}.svc.${ZONE}`, `svc.${ZONE}`, ZONE];
  const pick = (k: number) => pop.services[(k * 7919) % pop.services.length] as Population['services'][number];
  const hits: MixQuery[] = [];
  const nx: MixQuery[] = [];
  const expanded: MixQuery[] = [];
  for (let k = 0; hits.length < size; k++) {
    const s = pick(k);
    const fqdn = `${s.name}.${s.namespace}.svc.${ZONE}`;
    // A ClusterIP Service: one A record; headless: one per ready endpoint. AAAA: NODATA (IPv4 only).
    hits.push({ name: fqdn, type: 'A', expect: { rcode: 'NOERROR', answers: true } });
    if (k % 4 === 0) hits.push({ name: fqdn, type: 'AAAA', expect: { rcode: 'NOERROR', answers: false } });
    if (k % 4 === 1) hits.push({ name: `_http._tcp.${fqdn}`, type: 'SRV', expect: { rcode: 'NOERROR', answers: true } });
    if (s.headless && k % 2 === 0) hits.push({ name: `ep-${k % pop.plan.endpointsPerService}.${fqdn}`, type: 'A', expect: { rcode: 'NOERROR', answers: true } });
  }
  for (let k = 0; nx.length < size; k++) {
    const s = pick(k);
    // Missing Service in an existing namespace, and in a namespace that does not exist.
    nx.push({ name: `missing-${k}.${s.namespace}.svc.${ZONE}`, type: 'A', expect: { rcode: 'NXDOMAIN' } });
    nx.push({ name: `${s.name}.no-such-ns-${k % 50}.svc.${ZONE}`, type: 'A', expect: { rcode: 'NXDOMAIN' } });
  }
  for (let k = 0; expanded.length < size; k++) {
    const s = pick(k);
    // `web.shop` from another namespace: the first suffix misses, the second hits.
    const short = `${s.name}.${s.namespace}`;
    expanded.push({ name: `${short}.${search[0]}`, type: 'A', expect: { rcode: 'NXDOMAIN' } });
    expanded.push({ name: `${short}.${search[1]}`, type: 'A', expect: { rcode: 'NOERROR', answers: true } });
    // `web.shop.svc.cluster.local` without the trailing dot (4 dots < ndots 5): all three suffixes miss.
    const fqdn = `${short}.svc.${ZONE}`;
    for (const suffix of search) expanded.push({ name: `${fqdn}.${suffix}`, type: 'A', expect: { rcode: 'NXDOMAIN' } });
    // `example.com` inside the cluster zone: every suffix misses (the query would then leave the cluster).
    for (const suffix of search) expanded.push({ name: `example-${k % 20}.com.${suffix}`, type: 'A', expect: { rcode: 'NXDOMAIN' } });
  }
  return [
    { id: 'hits', title: 'hits (A, AAAA, SRV, headless, endpoint hostnames)', queries: hits },
    { id: 'nxdomain', title: 'NXDOMAIN under cluster.local', queries: nx },
    { id: 'search', title: 'search-path expansions (ndots:5)', queries: expanded },
  ];
}
