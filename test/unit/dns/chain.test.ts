// The resolver chain (rules -> cluster zone -> host fallback / forward) and the rule resolver's
// answers, with small in-memory resolvers standing in for the cluster zone and the forwarder.
import t from 'tap';
import type { V1Service } from '@kubernetes/client-node';
import { createResolverChain, MAX_DEPTH } from '../../../src/dns/chain.ts';
import { slimHostService, type HostServiceLookup, type HostServices } from '../../../src/dns/host-index.ts';
import { RuleResolver } from '../../../src/dns/rule-resolver.ts';
import type { ResolveDNSRule } from '../../../src/config/resolve-dns.ts';
import type { Question, Resolution, Resolver } from '../../../src/dns/types.ts';

const ctx = { depth: 0 };

/**
 * Answers A for the names it knows, NXDOMAIN for other names under `zone` (or, with `fallthrough`,
 * leaves them to the next resolver, as ClusterResolver does for fallbackHostCluster), and nothing elsewhere.
 */
function zone(zoneName: string, records: Record<string, string>, fallthrough = false): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolve(q: Question): Promise<Resolution | undefined> {
      asked.push(q.name);
      const ip = records[q.name];
      if (ip !== undefined) return { rcode: 'NOERROR', answers: q.type === 'A' ? [{ type: 'A', name: q.name, ttl: 5, data: ip }] : [], authoritative: true };
      if (q.name.endsWith(`.${zoneName}`) && !fallthrough) return { rcode: 'NXDOMAIN', answers: [], authoritative: true };
      return undefined;
    },
  };
}

function forwarder(records: Record<string, string>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolve(q: Question): Promise<Resolution> {
      asked.push(q.name);
      const ip = records[q.name];
      return ip === undefined ? { rcode: 'NXDOMAIN', answers: [], authoritative: false } : { rcode: 'NOERROR', answers: [{ type: 'A', name: q.name, ttl: 30, data: ip }], authoritative: false };
    },
  };
}

function hostServices(services: Record<string, Partial<V1Service['spec']> | 'unknown'>): HostServices {
  return {
    lookup(namespace: string, name: string): HostServiceLookup {
      const spec = services[`${namespace}/${name}`];
      if (spec === 'unknown') return { state: 'unknown' };
      return spec === undefined ? { state: 'missing' } : { state: 'found', service: { metadata: { name, namespace }, spec } as V1Service };
    },
  };
}

function setup(opts: { rules?: ResolveDNSRule[]; fallbackHostCluster?: boolean; services?: Record<string, Partial<V1Service['spec']> | 'unknown'> } = {}) {
  const cluster = zone('cluster.local', { 'web.shop.svc.cluster.local': '10.96.0.10' }, opts.fallbackHostCluster ?? false);
  const forward = forwarder({ 'example.com': '192.0.2.1', 'db.infra.svc.cluster.local': '10.96.5.5', 'en.wikipedia.org': '198.51.100.7' });
  let rules: RuleResolver | undefined;
  const chain = createResolverChain({
    rules: (follow) => (rules = new RuleResolver({ rules: opts.rules ?? [], clusterDomain: 'cluster.local', hostServices: hostServices(opts.services ?? {}), follow })),
    cluster, forward, fallbackHostCluster: opts.fallbackHostCluster ?? false, clusterDomain: 'cluster.local',
  });
  return { chain, cluster, forward, rules: rules as unknown as RuleResolver };
}

const ips = (r: Resolution) => r.answers.map((a) => `${a.type} ${a.name} ${String((a as { data: unknown }).data)}`);

t.test('the cluster zone answers its names; other names are forwarded', async (t) => {
  const { chain, forward } = setup();
  t.same(ips(await chain.resolve({ name: 'web.shop.svc.cluster.local', type: 'A' }, ctx)), ['A web.shop.svc.cluster.local 10.96.0.10']);
  t.same(ips(await chain.resolve({ name: 'example.com', type: 'A' }, ctx)), ['A example.com 192.0.2.1']);
  t.same(forward.asked, ['example.com'], 'only the external name went to the forwarder');
});

t.test('without fallbackHostCluster a cluster-domain miss is NXDOMAIN and never forwarded', async (t) => {
  const { chain, forward } = setup();
  const r = await chain.resolve({ name: 'db.infra.svc.cluster.local', type: 'A' }, ctx);
  t.equal(r.rcode, 'NXDOMAIN');
  t.same(forward.asked, []);
});

t.test('with fallbackHostCluster a cluster-domain miss is asked of the host cluster DNS (§7.3)', async (t) => {
  const { chain, forward } = setup({ fallbackHostCluster: true });
  t.same(ips(await chain.resolve({ name: 'db.infra.svc.cluster.local', type: 'A' }, ctx)), ['A db.infra.svc.cluster.local 10.96.5.5']);
  t.same(forward.asked, ['db.infra.svc.cluster.local']);
  const miss = await chain.resolve({ name: 'none.infra.svc.cluster.local', type: 'A' }, ctx);
  t.equal(miss.rcode, 'NXDOMAIN', 'a miss on both sides stays NXDOMAIN');
  t.same(ips(await chain.resolve({ name: 'web.shop.svc.cluster.local', type: 'A' }, ctx)), ['A web.shop.svc.cluster.local 10.96.0.10'], 'virtual names still win');
});

t.test('rules come before the cluster zone', async (t) => {
  const { chain, cluster } = setup({ rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }] });
  t.same(ips(await chain.resolve({ name: 'web.shop.svc.cluster.local', type: 'A' }, ctx)), ['A web.shop.svc.cluster.local 10.1.1.1']);
  t.same(cluster.asked, []);
});

t.test('a hostname target is a CNAME plus the addresses of the target (loft#261)', async (t) => {
  const { chain } = setup({ rules: [{ hostname: 'wiki.local', target: { hostname: 'en.wikipedia.org' } }, { hostname: '*.svc.kubernetes', target: { hostname: '*.svc.cluster.local' } }] });
  const r = await chain.resolve({ name: 'wiki.local', type: 'A' }, ctx);
  t.equal(r.rcode, 'NOERROR');
  t.equal(r.authoritative, true);
  t.same(ips(r), ['CNAME wiki.local en.wikipedia.org', 'A en.wikipedia.org 198.51.100.7']);
  t.same(ips(await chain.resolve({ name: 'web.shop.svc.kubernetes', type: 'A' }, ctx)), ['CNAME web.shop.svc.kubernetes web.shop.svc.cluster.local', 'A web.shop.svc.cluster.local 10.96.0.10'], 'through the cluster zone');
  const cnameOnly = await chain.resolve({ name: 'wiki.local', type: 'CNAME' }, ctx);
  t.same(ips(cnameOnly), ['CNAME wiki.local en.wikipedia.org'], 'a CNAME question gets the CNAME alone');
  const nx = await chain.resolve({ name: 'nope.svc.kubernetes', type: 'A' }, ctx);
  t.equal(nx.rcode, 'NXDOMAIN', 'the target\'s rcode');
  t.same(ips(nx), ['CNAME nope.svc.kubernetes nope.svc.cluster.local'], 'with the CNAME');
});

t.test('alias loops end in SERVFAIL', async (t) => {
  const { chain } = setup({ rules: [{ hostname: 'a.loop', target: { hostname: 'b.loop' } }, { hostname: 'b.loop', target: { hostname: 'a.loop' } }, { hostname: 'self.loop', target: { hostname: 'self.loop' } }] });
  t.equal((await chain.resolve({ name: 'a.loop', type: 'A' }, ctx)).rcode, 'SERVFAIL');
  t.equal((await chain.resolve({ name: 'self.loop', type: 'A' }, ctx)).rcode, 'SERVFAIL');
  t.equal((await chain.resolve({ name: 'example.com', type: 'A' }, { depth: MAX_DEPTH })).rcode, 'SERVFAIL', 'too deep');
});

t.test('ip targets answer A or AAAA by family, NODATA otherwise', async (t) => {
  const { chain } = setup({ rules: [{ hostname: 'v4.local', target: { ip: '10.0.0.1' } }, { hostname: 'v6.local', target: { ip: 'fd00::1' } }] });
  t.same(ips(await chain.resolve({ name: 'v4.local', type: 'A' }, ctx)), ['A v4.local 10.0.0.1']);
  t.same(ips(await chain.resolve({ name: 'v6.local', type: 'AAAA' }, ctx)), ['AAAA v6.local fd00::1']);
  const nodata = await chain.resolve({ name: 'v4.local', type: 'AAAA' }, ctx);
  t.equal(nodata.rcode, 'NOERROR');
  t.same(nodata.answers, []);
  t.equal(nodata.authorities?.[0]?.type, 'SOA', 'with a SOA so it is cached');
});

t.test('host Service targets answer the host ClusterIPs', async (t) => {
  const { chain } = setup({
    rules: [
      { service: 'shop/db', target: { hostService: 'infra/postgres' } },
      { namespace: 'shared', target: { hostNamespace: 'shared-host' } },
      { service: 'shop/other', target: { vClusterService: 'team-b/vc2/data/api' } },
      { service: 'shop/ext', target: { hostService: 'infra/ext' } },
      { service: 'shop/headless', target: { hostService: 'infra/headless' } },
      { service: 'shop/pending', target: { hostService: 'slow/svc' } },
    ],
    services: {
      'infra/postgres': { clusterIP: '10.96.7.7', clusterIPs: ['10.96.7.7', 'fd00::7'] },
      'shared-host/cache': { clusterIP: '10.96.8.8' },
      'team-b/api-x-data-x-vc2': { clusterIP: '10.96.9.9' },
      'infra/ext': { type: 'ExternalName', externalName: 'example.com' },
      'infra/headless': { clusterIP: 'None' },
      'slow/svc': 'unknown',
    },
  });
  t.same(ips(await chain.resolve({ name: 'db.shop.svc.cluster.local', type: 'A' }, ctx)), ['A db.shop.svc.cluster.local 10.96.7.7']);
  t.same(ips(await chain.resolve({ name: 'db.shop', type: 'AAAA' }, ctx)), ['AAAA db.shop fd00::7']);
  t.same(ips(await chain.resolve({ name: 'cache.shared.svc.cluster.local', type: 'A' }, ctx)), ['A cache.shared.svc.cluster.local 10.96.8.8']);
  t.equal((await chain.resolve({ name: 'gone.shared.svc.cluster.local', type: 'A' }, ctx)).rcode, 'NXDOMAIN', 'a Service missing from the host namespace');
  t.same(ips(await chain.resolve({ name: 'other.shop.svc.cluster.local', type: 'A' }, ctx)), ['A other.shop.svc.cluster.local 10.96.9.9'], 'the other vCluster\'s twin');
  t.same(ips(await chain.resolve({ name: 'ext.shop', type: 'A' }, ctx)), ['CNAME ext.shop example.com', 'A example.com 192.0.2.1'], 'ExternalName: CNAME and its address');
  const headless = await chain.resolve({ name: 'headless.shop', type: 'A' }, ctx);
  t.same([headless.rcode, headless.answers.length], ['NOERROR', 0], 'headless: NODATA');
  t.equal((await chain.resolve({ name: 'pending.shop', type: 'A' }, ctx)).rcode, 'SERVFAIL', 'not yet listed: SERVFAIL');
});

t.test('setRules swaps the rules without a restart', async (t) => {
  const { chain, rules } = setup({ rules: [{ hostname: 'x.local', target: { ip: '10.0.0.1' } }] });
  t.same(ips(await chain.resolve({ name: 'x.local', type: 'A' }, ctx)), ['A x.local 10.0.0.1']);
  rules.setRules([{ hostname: 'x.local', target: { ip: '10.0.0.2' } }]);
  t.same(ips(await chain.resolve({ name: 'x.local', type: 'A' }, ctx)), ['A x.local 10.0.0.2']);
  rules.setRules([]);
  t.equal((await chain.resolve({ name: 'x.local', type: 'A' }, ctx)).rcode, 'NXDOMAIN', 'without the rule the name is forwarded');
});

t.test('onChange: the chain announces the changes of its rules and cluster zone, so the server may keep answers', async (t) => {
  const withChanges = (r: Resolver): Resolver & { fire: () => void } => {
    const listeners = new Set<() => void>();
    return {
      resolve: (q, c) => r.resolve(q, c),
      onChange: (l) => { listeners.add(l); return () => listeners.delete(l); },
      fire: () => { for (const l of listeners) l(); },
    };
  };
  const cluster = withChanges(zone('cluster.local', {}));
  const host: HostServices & { fire: () => void } = (() => {
    const listeners = new Set<() => void>();
    return { lookup: () => ({ state: 'missing' as const }), onChange: (l: () => void) => { listeners.add(l); return () => listeners.delete(l); }, fire: () => { for (const l of listeners) l(); } };
  })();
  let rules: RuleResolver | undefined;
  const chain = createResolverChain({
    rules: (follow) => (rules = new RuleResolver({ rules: [], clusterDomain: 'cluster.local', hostServices: host, follow })),
    cluster, forward: forwarder({}), fallbackHostCluster: false, clusterDomain: 'cluster.local',
  });
  let changes = 0;
  const off = chain.onChange?.(() => { changes++; });
  t.ok(off !== undefined, 'the chain has onChange when its rules and zone have it');
  cluster.fire();
  t.equal(changes, 1, 'a cluster zone change');
  rules?.setRules([{ hostname: 'x.example', target: { ip: '10.9.9.9' } } as ResolveDNSRule]);
  t.equal(changes, 2, 'new rules');
  host.fire();
  t.equal(changes, 3, 'a host Service the rules name');
  off?.();
  cluster.fire();
  host.fire();
  rules?.setRules([]);
  t.equal(changes, 3, 'nothing after unsubscribing');

  const without = createResolverChain({ cluster: zone('cluster.local', {}), forward: forwarder({}), fallbackHostCluster: false, clusterDomain: 'cluster.local' });
  t.equal(without.onChange, undefined, 'a zone without onChange: the chain has none, so nothing it answers is kept');
});

t.test('slimHostService keeps what the rules answer from, and the identity the reflector needs', async (t) => {
  const whole: V1Service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'api', namespace: 'infra', uid: 'u1', resourceVersion: '42', labels: { app: 'api' }, annotations: { big: 'x'.repeat(1000) }, managedFields: [{ manager: 'kubectl' }] },
    spec: { type: 'ClusterIP', clusterIP: '10.96.7.7', clusterIPs: ['10.96.7.7'], selector: { app: 'api' }, ports: [{ port: 80 }] },
    status: { loadBalancer: {} },
  };
  const slim = slimHostService(whole);
  t.same(slim.metadata, { name: 'api', namespace: 'infra', uid: 'u1', resourceVersion: '42' }, 'identity only');
  t.same(slim.spec, { type: 'ClusterIP', externalName: undefined, clusterIP: '10.96.7.7', clusterIPs: ['10.96.7.7'] }, 'the fields the rules read');
  t.equal(slim.status, undefined);
  t.same(slimHostService(slim), slim, 'idempotent');
  const answer = async (svc: V1Service): Promise<Resolution | undefined> => {
    const rules = new RuleResolver({
      rules: [{ service: 'shop/api', target: { hostService: 'infra/api' } } as ResolveDNSRule], clusterDomain: 'cluster.local',
      hostServices: { lookup: () => ({ state: 'found', service: svc }) }, follow: forwarder({}),
    });
    return rules.resolve({ name: 'api.shop.svc.cluster.local', type: 'A' }, ctx);
  };
  t.same(await answer(slim), await answer(whole), 'a rule answers the same from the slim Service');
  const ext = slimHostService({ metadata: { name: 'e', namespace: 'infra' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
  t.equal(ext.spec?.externalName, 'db.example.com', 'ExternalName kept');
});
