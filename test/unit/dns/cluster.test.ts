// ClusterResolver over a ClusterIndex fed with objects directly (applyService/applyEndpointSlice/
// applyPod, the same entry points the reflectors use): every record kind, NXDOMAIN vs NODATA,
// ExternalName chasing, fallthrough. The real API server path is test/integration/dns/cluster.test.ts.
import t from 'tap';
import { ClusterIndex } from '../../../src/dns/cluster-index.ts';
import { ClusterResolver } from '../../../src/dns/cluster.ts';
import type { Question, Resolution, Resolver } from '../../../src/dns/types.ts';

const index = new ClusterIndex();
const svc = (ns: string, name: string, spec: Record<string, unknown>): void => index.applyService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec } as never, undefined);
svc('shop', 'web', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }] });
svc('shop', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] });
svc('shop', 'ext', { type: 'ExternalName', externalName: 'web.shop.svc.cluster.local' });
svc('shop', 'loop', { type: 'ExternalName', externalName: 'loop.shop.svc.cluster.local' });
index.applyEndpointSlice({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'shop', name: 'db-1', labels: { 'kubernetes.io/service-name': 'db' } },
  addressType: 'IPv4', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
  endpoints: [{ addresses: ['10.0.0.1'], hostname: 'db-0' }, { addresses: ['10.0.0.2'], conditions: { ready: false } }],
} as never, undefined);
index.applyPod({
  apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name: 'db-1' },
  spec: { hostname: 'db-1', subdomain: 'db' }, status: { phase: 'Running', podIP: '10.0.0.3', conditions: [{ type: 'Ready', status: 'True' }] },
} as never, undefined);
index.applyPod({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'other', name: 'p' }, status: { phase: 'Running', podIP: '10.0.0.9' } } as never, undefined);

const r = new ClusterResolver({ index });
const ask = (name: string, type: string, resolver: Resolver = r): Promise<Resolution | undefined> => resolver.resolve({ name, type: type as Question['type'] }, { depth: 0 });
const data = (res: Resolution | undefined): unknown[] => (res?.answers ?? []).map((a) => (a as { data: unknown }).data);

t.test('records', async (t) => {
  const cases: Array<{ name: string; q: string; type: string; rcode?: string; data?: unknown[]; mine?: false }> = [
    { name: 'ClusterIP A', q: 'web.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: ['10.96.0.10'] },
    { name: 'ClusterIP AAAA on dual-stack', q: 'web.shop.svc.cluster.local', type: 'AAAA', rcode: 'NOERROR', data: ['fd00::10'] },
    { name: 'ClusterIP TXT: NODATA', q: 'web.shop.svc.cluster.local', type: 'TXT', rcode: 'NOERROR', data: [] },
    { name: 'SRV of a named port', q: '_http._tcp.web.shop.svc.cluster.local', type: 'SRV', rcode: 'NOERROR', data: [{ priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' }] },
    { name: 'A at an SRV name: NODATA', q: '_http._tcp.web.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: [] },
    { name: 'SRV of the wrong protocol: NXDOMAIN', q: '_http._udp.web.shop.svc.cluster.local', type: 'SRV', rcode: 'NXDOMAIN' },
    { name: 'headless: ready endpoints and ready hostname pods', q: 'db.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: ['10.0.0.1'] },
    { name: 'headless endpoint hostname', q: 'db-0.db.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: ['10.0.0.1'] },
    { name: 'a pod hostname.subdomain not yet in the slice', q: 'db-1.db.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: ['10.0.0.3'] },
    { name: 'a not-ready endpoint by dashed IP: NXDOMAIN', q: '10-0-0-2.db.shop.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN' },
    { name: 'headless SRV: target by hostname', q: '_pg._tcp.db.shop.svc.cluster.local', type: 'SRV', rcode: 'NOERROR', data: [{ priority: 0, weight: 100, port: 5432, target: 'db-0.db.shop.svc.cluster.local' }] },
    { name: 'an endpoint name under a ClusterIP Service: NXDOMAIN', q: 'x.web.shop.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN' },
    { name: 'ExternalName: CNAME plus the in-zone target\'s A', q: 'ext.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: ['web.shop.svc.cluster.local', '10.96.0.10'] },
    { name: 'ExternalName asked CNAME: the CNAME alone', q: 'ext.shop.svc.cluster.local', type: 'CNAME', rcode: 'NOERROR', data: ['web.shop.svc.cluster.local'] },
    { name: 'a self-referencing ExternalName stops at the depth limit', q: 'loop.shop.svc.cluster.local', type: 'A', rcode: 'NOERROR' },
    { name: 'a namespace with Services: NODATA', q: 'shop.svc.cluster.local', type: 'A', rcode: 'NOERROR', data: [] },
    { name: 'a namespace without Services: NXDOMAIN', q: 'empty.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN' },
    { name: 'an unknown Service: NXDOMAIN', q: 'nope.shop.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN' },
    { name: 'a search-path expansion: NXDOMAIN', q: 'web.shop.svc.cluster.local.shop.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN' },
    { name: 'pod record', q: '10-0-0-9.other.pod.cluster.local', type: 'A', rcode: 'NOERROR', data: ['10.0.0.9'] },
    { name: 'IPv6 pod record', q: 'fd00--9.other.pod.cluster.local', type: 'AAAA', rcode: 'NOERROR', data: ['fd00::9'] },
    { name: 'pod namespace with pods: NODATA', q: 'other.pod.cluster.local', type: 'A', rcode: 'NOERROR', data: [] },
    { name: 'the apex SOA', q: 'cluster.local', type: 'SOA', rcode: 'NOERROR' },
    { name: 'PTR of a ClusterIP', q: '10.0.96.10.in-addr.arpa', type: 'PTR', rcode: 'NOERROR', data: ['web.shop.svc.cluster.local'] },
    { name: 'PTR of an IPv6 ClusterIP', q: '0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', type: 'PTR', rcode: 'NOERROR', data: ['web.shop.svc.cluster.local'] },
    { name: 'PTR of an endpoint hostname', q: '1.0.0.10.in-addr.arpa', type: 'PTR', rcode: 'NOERROR', data: ['db-0.db.shop.svc.cluster.local'] },
    { name: 'PTR of a pod with hostname.subdomain', q: '3.0.0.10.in-addr.arpa', type: 'PTR', rcode: 'NOERROR', data: ['db-1.db.shop.svc.cluster.local'] },
    { name: 'PTR of a plain pod', q: '9.0.0.10.in-addr.arpa', type: 'PTR', rcode: 'NOERROR', data: ['10-0-0-9.other.pod.cluster.local'] },
    { name: 'A of a known reverse name: NODATA', q: '9.0.0.10.in-addr.arpa', type: 'A', rcode: 'NOERROR', data: [] },
    { name: 'PTR of an unknown IP: not mine', q: '1.2.0.192.in-addr.arpa', type: 'PTR', mine: false },
    { name: 'outside the zone: not mine', q: 'example.com', type: 'A', mine: false },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const res = await ask(c.q, c.type);
      if (c.mine === false) { t.equal(res, undefined); return; }
      t.equal(res?.rcode, c.rcode);
      t.equal(res?.authoritative, true);
      if (c.data !== undefined) t.strictSame(data(res), c.data);
      if (res?.answers.length === 0) t.equal(res.authorities?.[0]?.type, 'SOA', 'negative answers carry the SOA');
    });
  }
});

t.test('ExternalName follows the whole chain for outside targets; a bare CNAME only when the target does not resolve', async (t) => {
  svc('shop', 'out', { type: 'ExternalName', externalName: 'db.example.com.' });
  const chain: Resolver = { resolve: async (q) => q.name === 'db.example.com' ? { rcode: 'NOERROR', answers: [{ name: q.name, type: 'A', ttl: 30, data: '192.0.2.7' }], authoritative: false } : undefined };
  const withFollow = new ClusterResolver({ index, follow: chain });
  t.strictSame(data(await ask('out.shop.svc.cluster.local', 'A', withFollow)), ['db.example.com', '192.0.2.7']);
  t.strictSame(data(await ask('out.shop.svc.cluster.local', 'A')), ['db.example.com'], 'without a chain: the CNAME alone');
});

t.test('fallthrough hands cluster-zone misses to the next resolver', async (t) => {
  const ft = new ClusterResolver({ index, fallthrough: true });
  t.equal(await ask('nope.shop.svc.cluster.local', 'A', ft), undefined);
  t.equal((await ask('web.shop.svc.cluster.local', 'A', ft))?.rcode, 'NOERROR');
});

t.test('the index follows deletes', async (t) => {
  index.applyService(undefined, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'out' } } as never);
  t.equal((await ask('out.shop.svc.cluster.local', 'A'))?.rcode, 'NXDOMAIN');
  index.applyPod(undefined, { metadata: { namespace: 'other', name: 'p' } } as never);
  t.equal(await ask('9.0.0.10.in-addr.arpa', 'PTR'), undefined, 'a deleted pod\'s IP is unknown again');
});

t.test('a custom cluster domain also answers cluster.local, each in its own zone', async (t) => {
  const custom = new ClusterResolver({ index, clusterDomain: 'corp.internal' });
  const soaZone = (res: Resolution | undefined): string | undefined => res?.authorities?.[0]?.name;
  t.same(data(await ask('web.shop.svc.corp.internal', 'A', custom)), ['10.96.0.10'], 'the custom domain');
  t.same(data(await ask('web.shop.svc.cluster.local', 'A', custom)), ['10.96.0.10'], 'cluster.local as well, like CoreDNS serving both zones');
  t.same(data(await ask('_http._tcp.web.shop.svc.cluster.local', 'SRV', custom)), [{ priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' }], 'SRV targets in the zone asked');
  t.same(data(await ask('_http._tcp.web.shop.svc.corp.internal', 'SRV', custom)), [{ priority: 0, weight: 100, port: 80, target: 'web.shop.svc.corp.internal' }]);
  t.equal(soaZone(await ask('nope.shop.svc.cluster.local', 'A', custom)), 'cluster.local', 'a miss under cluster.local carries that zone\'s SOA');
  t.equal(soaZone(await ask('nope.shop.svc.corp.internal', 'A', custom)), 'corp.internal');
  t.equal((await ask('cluster.local', 'SOA', custom))?.answers[0]?.name, 'cluster.local', 'both apexes');
  t.same(data(await ask('10.0.96.10.in-addr.arpa', 'PTR', custom)), ['web.shop.svc.corp.internal'], 'reverse names point into the cluster domain');
  t.equal(await ask('web.shop.svc.cluster.example', 'A', custom), undefined, 'other domains are not ours');
  t.equal(await ask('web.shop.svc.corp.internal', 'A'), undefined, 'the default resolver does not answer a custom domain');
});
