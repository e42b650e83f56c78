// resolveDNS rule matching (vcluster-networking.md §7.2 table), table-driven.
import t from 'tap';
import type { ResolveDNSRule } from '../../../src/config/resolve-dns.ts';
import { RuleSet, serviceNameParts } from '../../../src/dns/rules.ts';
import { safeConcatName } from '../../../src/translate/names.ts';

const cases: Array<{ name: string; rules: ResolveDNSRule[]; question: string; domain?: string; expected: unknown }> = [
  { name: 'an exact hostname becomes an alias of the target', rules: [{ hostname: 'a.com', target: { hostname: 'b.org' } }], question: 'a.com', expected: { index: 0, target: { kind: 'hostname', name: 'b.org' } } },
  { name: 'hostnames match in any case and with a final dot', rules: [{ hostname: 'A.com.', target: { hostname: 'B.org' } }], question: 'a.COM.', expected: { index: 0, target: { kind: 'hostname', name: 'b.org' } } },
  { name: 'an exact hostname does not match a subdomain', rules: [{ hostname: 'a.com', target: { hostname: 'b.org' } }], question: 'x.a.com', expected: undefined },
  { name: 'a leading wildcard carries the matched text (the §7.2 example)', rules: [{ hostname: '*.svc.kubernetes', target: { hostname: '*.svc.cluster.local' } }], question: 'test.svc.kubernetes', expected: { index: 0, target: { kind: 'hostname', name: 'test.svc.cluster.local' } } },
  { name: 'a leading wildcard spans several labels', rules: [{ hostname: '*.svc.kubernetes', target: { hostname: '*.svc.cluster.local' } }], question: 'web.shop.svc.kubernetes', expected: { index: 0, target: { kind: 'hostname', name: 'web.shop.svc.cluster.local' } } },
  { name: 'a wildcard matches at least one character', rules: [{ hostname: '*.a.com', target: { hostname: '*.b.com' } }], question: '.a.com', expected: undefined },
  { name: 'a leading wildcard does not match the bare suffix', rules: [{ hostname: '*.a.com', target: { hostname: '*.b.com' } }], question: 'a.com', expected: undefined },
  { name: 'a trailing wildcard carries the rest of the name', rules: [{ hostname: 'db.*', target: { hostname: 'db.prod.*' } }], question: 'db.example.com', expected: { index: 0, target: { kind: 'hostname', name: 'db.prod.example.com' } } },
  { name: 'a wildcard within a label', rules: [{ hostname: '*example.com', target: { hostname: '*example.org' } }], question: 'myexample.com', expected: { index: 0, target: { kind: 'hostname', name: 'myexample.org' } } },
  { name: 'a carried name longer than 253 characters does not match', rules: [{ hostname: '*.a', target: { hostname: '*.bbbbbbbbbb' } }], question: `${'x'.repeat(60)}.${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}.a`, expected: undefined },
  { name: 'a hostname to a fixed IPv4 address', rules: [{ hostname: 'fixed.example.com', target: { ip: '10.0.0.1' } }], question: 'fixed.example.com', expected: { index: 0, target: { kind: 'ip', ip: '10.0.0.1', family: 4 } } },
  { name: 'a hostname to a fixed IPv6 address', rules: [{ hostname: 'fixed.example.com', target: { ip: 'fd00::1' } }], question: 'fixed.example.com', expected: { index: 0, target: { kind: 'ip', ip: 'fd00::1', family: 6 } } },
  { name: 'a hostname to a host Service', rules: [{ hostname: 'api.internal', target: { hostService: 'infra/api' } }], question: 'api.internal', expected: { index: 0, target: { kind: 'hostService', via: 'hostService', namespace: 'infra', name: 'api' } } },
  { name: 'a service matches its short name', rules: [{ service: 'shop/web', target: { hostService: 'infra/web' } }], question: 'web.shop', expected: { index: 0, target: { kind: 'hostService', via: 'hostService', namespace: 'infra', name: 'web' } } },
  { name: 'a service matches name.ns.svc', rules: [{ service: 'shop/web', target: { hostService: 'infra/web' } }], question: 'web.shop.svc', expected: { index: 0, target: { kind: 'hostService', via: 'hostService', namespace: 'infra', name: 'web' } } },
  { name: 'a service matches its FQDN', rules: [{ service: 'shop/web', target: { hostService: 'infra/web' } }], question: 'web.shop.svc.cluster.local', expected: { index: 0, target: { kind: 'hostService', via: 'hostService', namespace: 'infra', name: 'web' } } },
  { name: 'a service matches its FQDN under a custom cluster domain', rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }], question: 'web.shop.svc.corp.internal', domain: 'corp.internal', expected: { index: 0, target: { kind: 'ip', ip: '10.1.1.1', family: 4 } } },
  { name: 'a service does not match another cluster domain', rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }], question: 'web.shop.svc.other.local', expected: undefined },
  { name: 'a service does not match another Service of the namespace', rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }], question: 'api.shop.svc.cluster.local', expected: undefined },
  { name: 'a service does not match a pod-style or SRV name', rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }], question: '_http._tcp.web.shop.svc.cluster.local', expected: undefined },
  { name: 'a service does not match a name with a search domain appended', rules: [{ service: 'shop/web', target: { ip: '10.1.1.1' } }], question: 'web.shop.default.svc.cluster.local', expected: undefined },
  {
    name: 'a service to another vCluster\'s Service: its host twin svc-x-ns-x-vc in that host namespace',
    rules: [{ service: 'shop/db', target: { vClusterService: 'team-b/vc2/data/postgres' } }], question: 'db.shop.svc.cluster.local',
    expected: { index: 0, target: { kind: 'hostService', via: 'vClusterService', namespace: 'team-b', name: 'postgres-x-data-x-vc2' } },
  },
  {
    name: 'another vCluster\'s long Service name is hashed past 63 characters exactly as vCluster does',
    rules: [{ service: 'shop/db', target: { vClusterService: 'team-b/my-second-vcluster/production/my-very-long-application-service-name' } }], question: 'db.shop',
    expected: { index: 0, target: { kind: 'hostService', via: 'vClusterService', namespace: 'team-b', name: safeConcatName('my-very-long-application-service-name', 'x', 'production', 'x', 'my-second-vcluster') } },
  },
  {
    name: 'another vCluster\'s default/kubernetes is that vCluster\'s own host Service',
    rules: [{ service: 'shop/api', target: { vClusterService: 'team-b/vc2/default/kubernetes' } }], question: 'api.shop',
    expected: { index: 0, target: { kind: 'hostService', via: 'vClusterService', namespace: 'team-b', name: 'vc2' } },
  },
  { name: 'a namespace maps each of its Services to the host namespace', rules: [{ namespace: 'shared', target: { hostNamespace: 'shared-host' } }], question: 'cache.shared.svc.cluster.local', expected: { index: 0, target: { kind: 'hostService', via: 'hostNamespace', namespace: 'shared-host', name: 'cache' } } },
  { name: 'a namespace rule matches the short form', rules: [{ namespace: 'shared', target: { hostNamespace: 'shared-host' } }], question: 'cache.shared', expected: { index: 0, target: { kind: 'hostService', via: 'hostNamespace', namespace: 'shared-host', name: 'cache' } } },
  { name: 'a namespace rule does not match the namespace itself', rules: [{ namespace: 'shared', target: { hostNamespace: 'shared-host' } }], question: 'shared.svc.cluster.local', expected: undefined },
  { name: 'a namespace rule does not match another namespace', rules: [{ namespace: 'shared', target: { hostNamespace: 'shared-host' } }], question: 'cache.other.svc.cluster.local', expected: undefined },
  {
    name: 'the first matching rule wins',
    rules: [{ hostname: 'web.shop.svc.cluster.local', target: { ip: '10.0.0.1' } }, { service: 'shop/web', target: { ip: '10.0.0.2' } }], question: 'web.shop.svc.cluster.local',
    expected: { index: 0, target: { kind: 'ip', ip: '10.0.0.1', family: 4 } },
  },
  {
    name: 'a later rule answers what the earlier ones do not match',
    rules: [{ hostname: 'a.com', target: { ip: '10.0.0.1' } }, { service: 'shop/web', target: { ip: '10.0.0.2' } }], question: 'web.shop',
    expected: { index: 1, target: { kind: 'ip', ip: '10.0.0.2', family: 4 } },
  },
  { name: 'no rules, no match', rules: [], question: 'a.com', expected: undefined },
];

t.test('matches names to rule targets', async (t) => {
  for (const c of cases) {
    t.same(new RuleSet(c.rules).match(c.question, c.domain ?? 'cluster.local'), c.expected, c.name);
  }
});

t.test('splits service names in the three forms a search path gives', async (t) => {
  t.same(serviceNameParts('web.shop', 'cluster.local'), ['web', 'shop']);
  t.same(serviceNameParts('web.shop.svc', 'cluster.local'), ['web', 'shop']);
  t.same(serviceNameParts('web.shop.svc.cluster.local', 'cluster.local'), ['web', 'shop']);
  t.equal(serviceNameParts('web', 'cluster.local'), undefined);
  t.equal(serviceNameParts('a.web.shop', 'cluster.local'), undefined);
  t.equal(serviceNameParts('svc.cluster.local', 'cluster.local'), undefined);
});

t.test('names the host namespaces the rules may read Services from', async (t) => {
  t.same([...RuleSet.hostNamespaces([
    { hostname: 'a.com', target: { ip: '10.0.0.1' } },
    { service: 'a/b', target: { hostService: 'infra/web' } },
    { namespace: 'x', target: { hostNamespace: 'shared-host' } },
    { service: 'a/c', target: { vClusterService: 'team-b/vc2/ns/svc' } },
    { service: 'a/d', target: { hostService: 'infra/other' } },
  ])].sort(), ['infra', 'shared-host', 'team-b']);
});
