// networking.resolveDNS: every validation rule of vcluster-networking.md §7.2 (vCluster's
// pkg/config/coredns_plugin_validation.go), each error named by the entry and field it is about.
import t from 'tap';
import { ConfigErrors, parseConfig } from '../../../src/config/index.ts';

function problems(rules: unknown): Array<[string, string]> {
  try {
    parseConfig({ networking: { resolveDNS: rules } });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => [e.path, e.message]);
  }
}

const R = 'networking.resolveDNS';

t.test('accepts every source and target vCluster documents', async (t) => {
  const valid: unknown[] = [
    { hostname: 'a.com', target: { hostname: 'b.org' } },
    { hostname: 'A.Example.com.', target: { hostname: 'en.wikipedia.org' } },
    { hostname: '*.svc.kubernetes', target: { hostname: '*.svc.cluster.local' } },
    { hostname: 'db.*', target: { hostname: 'db.prod.*' } },
    { hostname: '*example.com', target: { hostname: '*example.org' } },
    { hostname: 'fixed.example.com', target: { ip: '10.0.0.1' } },
    { hostname: 'fixed6.example.com', target: { ip: 'fd00::1' } },
    { hostname: '_http._tcp.example.com', target: { hostname: 'example.org' } },
    { service: 'shop/web', target: { hostService: 'infra/web' } },
    { service: 'shop/web', target: { vClusterService: 'team-b/vc2/default/web' } },
    { service: 'shop/web', target: { ip: '10.1.2.3' } },
    { service: 'shop/web', target: { hostname: 'web.example.com' } },
    { hostname: 'api.internal', target: { hostService: 'infra/api' } },
    { namespace: 'shared', target: { hostNamespace: 'shared-host' } },
    { hostname: 'a.com', service: '', namespace: null, target: { ip: '10.0.0.1', hostname: '' } },
  ];
  for (const rule of valid) t.same(problems([rule]), [], JSON.stringify(rule));
  const config = parseConfig({ networking: { resolveDNS: valid } });
  t.equal(config.networking.resolveDNS.length, valid.length, 'keeps every rule, in order');
  t.same(config.networking.resolveDNS[14], { hostname: 'a.com', target: { ip: '10.0.0.1' } }, 'empty strings and nulls are unset, as in Go');
  t.ok(Object.isFrozen(config.networking.resolveDNS[0]), 'rules are read-only');
});

const rows: Array<{ name: string; rule: unknown; path: string; message: RegExp; index?: number }> = [
  // source
  { name: 'a rule without a source', rule: { target: { ip: '10.0.0.1' } }, path: `${R}[0]`, message: /needs exactly one of hostname, service or namespace; it has none$/ },
  { name: 'a rule with two sources', rule: { hostname: 'a.com', service: 'a/b', target: { ip: '10.0.0.1' } }, path: `${R}[0]`, message: /it has hostname and service$/ },
  { name: 'a rule with three sources', rule: { hostname: 'a.com', service: 'a/b', namespace: 'c', target: { hostNamespace: 'd' } }, path: `${R}[0]`, message: /it has hostname and service and namespace$/ },
  { name: 'service without a slash', rule: { service: 'web', target: { ip: '10.0.0.1' } }, path: `${R}[0].service`, message: /"web" must be namespace\/name of a virtual Service, with exactly one "\/"; it has 0$/ },
  { name: 'service with two slashes', rule: { service: 'a/b/c', target: { ip: '10.0.0.1' } }, path: `${R}[0].service`, message: /exactly one "\/"; it has 2$/ },
  { name: 'service with an invalid namespace', rule: { service: 'Shop/web', target: { ip: '10.0.0.1' } }, path: `${R}[0].service`, message: /"Shop" is not a valid DNS-1123 label/ },
  { name: 'service with an invalid name', rule: { service: 'shop/1web', target: { ip: '10.0.0.1' } }, path: `${R}[0].service`, message: /"1web" is not a valid DNS-1035 label/ },
  { name: 'hostname with two wildcards', rule: { hostname: '*.a.*', target: { hostname: '*.b' } }, path: `${R}[0].hostname`, message: /has 2 wildcards; at most one "\*" is allowed/ },
  { name: 'hostname with a wildcard in the middle', rule: { hostname: 'a.*.com', target: { hostname: '*.b' } }, path: `${R}[0].hostname`, message: /has a "\*" in the middle; a wildcard may only be the first or the last character/ },
  { name: 'hostname that is only a wildcard', rule: { hostname: '*', target: { hostname: '*.b' } }, path: `${R}[0].hostname`, message: /"\*" alone would match every name/ },
  { name: 'hostname that is not a DNS name', rule: { hostname: 'a b.com', target: { ip: '10.0.0.1' } }, path: `${R}[0].hostname`, message: /"a b\.com" is not a DNS name/ },
  { name: 'a wildcard hostname without target.hostname', rule: { hostname: '*.a.com', target: { ip: '10.0.0.1' } }, path: `${R}[0].target.hostname`, message: /is required when hostname "\*\.a\.com" has a "\*"/ },
  { name: 'a wildcard hostname with a target.hostname without a wildcard', rule: { hostname: '*.a.com', target: { hostname: 'b.com' } }, path: `${R}[0].target.hostname`, message: /"b\.com" must contain exactly one "\*" when hostname "\*\.a\.com" has one/ },
  { name: 'namespace that is not a namespace name', rule: { namespace: 'Shared', target: { hostNamespace: 'x' } }, path: `${R}[0].namespace`, message: /"Shared" is not a valid DNS-1123 label/ },
  { name: 'namespace without target.hostNamespace', rule: { namespace: 'shared', target: { hostService: 'a/b' } }, path: `${R}[0].target.hostNamespace`, message: /is required with namespace "shared"/ },
  { name: 'target.hostNamespace without namespace', rule: { hostname: 'a.com', target: { hostNamespace: 'x' } }, path: `${R}[0].namespace`, message: /is required with target\.hostNamespace "x"/ },
  // target
  { name: 'a rule without target', rule: { hostname: 'a.com' }, path: `${R}[0].target`, message: /is required: one of hostname, ip, hostService, hostNamespace, vClusterService$/ },
  { name: 'an empty target', rule: { hostname: 'a.com', target: {} }, path: `${R}[0].target`, message: /needs exactly one of hostname, ip, hostService, hostNamespace, vClusterService; it has none$/ },
  { name: 'a target that is not a mapping', rule: { hostname: 'a.com', target: '10.0.0.1' }, path: `${R}[0].target`, message: /expected a mapping with one of .*, got a string/ },
  { name: 'a target with two kinds', rule: { hostname: 'a.com', target: { ip: '10.0.0.1', hostname: 'b.com' } }, path: `${R}[0].target`, message: /it has hostname and ip$/ },
  { name: 'target.hostname with two wildcards', rule: { hostname: '*.a.com', target: { hostname: '*.b.*' } }, path: `${R}[0].target.hostname`, message: /has 2 wildcards/ },
  { name: 'target.hostname with a wildcard in the middle', rule: { hostname: '*.a.com', target: { hostname: 'b.*.com' } }, path: `${R}[0].target.hostname`, message: /in the middle/ },
  { name: 'target.hostname with a wildcard but a plain source', rule: { hostname: 'a.com', target: { hostname: '*.b.com' } }, path: `${R}[0].target.hostname`, message: /the rule's source is not a wildcard hostname/ },
  { name: 'target.hostname that is not a DNS name', rule: { hostname: 'a.com', target: { hostname: 'b..com' } }, path: `${R}[0].target.hostname`, message: /"b\.\.com" is not a DNS name/ },
  { name: 'hostService without a slash', rule: { service: 'a/b', target: { hostService: 'web' } }, path: `${R}[0].target.hostService`, message: /"web" must be hostNamespace\/name of a host Service, with exactly one "\/"; it has 0$/ },
  { name: 'hostService with two slashes', rule: { service: 'a/b', target: { hostService: 'a/b/c' } }, path: `${R}[0].target.hostService`, message: /it has 2$/ },
  { name: 'hostService with an invalid name', rule: { service: 'a/b', target: { hostService: 'infra/Web' } }, path: `${R}[0].target.hostService`, message: /"Web" is not a valid DNS-1035 label/ },
  { name: 'vClusterService with two slashes', rule: { service: 'a/b', target: { vClusterService: 'hns/vc2/svc' } }, path: `${R}[0].target.vClusterService`, message: /must be hostNamespace\/vCluster\/namespace\/service, with exactly three "\/"; it has 2$/ },
  { name: 'vClusterService with four slashes', rule: { service: 'a/b', target: { vClusterService: 'a/b/c/d/e' } }, path: `${R}[0].target.vClusterService`, message: /it has 4$/ },
  { name: 'vClusterService with an invalid vCluster name', rule: { service: 'a/b', target: { vClusterService: 'hns/2vc/ns/svc' } }, path: `${R}[0].target.vClusterService`, message: /"2vc" is not a valid DNS-1035 label/ },
  { name: 'ip that is not an address', rule: { hostname: 'a.com', target: { ip: '10.0.0.300' } }, path: `${R}[0].target.ip`, message: /"10\.0\.0\.300" is not an IPv4 or IPv6 address/ },
  { name: 'hostNamespace that is not a namespace name', rule: { namespace: 'a', target: { hostNamespace: 'B_C' } }, path: `${R}[0].target.hostNamespace`, message: /"B_C" is not a valid DNS-1123 label/ },
  // shape
  { name: 'an entry that is not a mapping', rule: 'a.com', path: `${R}[0]`, message: /expected a rule \(a mapping with hostname, service or namespace, and target\), got a string/ },
  { name: 'an unknown field in an entry', rule: { hostname: 'a.com', hostnames: 'b', target: { ip: '10.0.0.1' } }, path: `${R}[0].hostnames`, message: /unknown field; the fields here are hostname, service, namespace, target$/ },
  { name: 'an unknown field in a target', rule: { hostname: 'a.com', target: { ip: '10.0.0.1', port: 53 } }, path: `${R}[0].target.port`, message: /unknown field; the fields here are hostname, ip, hostService, hostNamespace, vClusterService$/ },
  { name: 'vCluster\'s legacy "to"', rule: { hostname: 'a.com', to: { ip: '10.0.0.1' }, target: { ip: '10.0.0.1' } }, path: `${R}[0].to`, message: /vcnet calls the target "target"/ },
  { name: 'a value that is not a string', rule: { hostname: 'a.com', target: { ip: 167772161 } }, path: `${R}[0].target.ip`, message: /expected a string, got a number/ },
];

t.test('refuses each broken rule with one error naming its entry and field', async (t) => {
  for (const row of rows) {
    // The broken rule sits at index 2, behind two good ones, so the index in the path is checked too.
    const good = { hostname: 'ok.example.com', target: { ip: '10.0.0.1' } };
    const found = problems([good, good, row.rule]);
    const path = row.path.replace(`${R}[0]`, `${R}[2]`);
    t.equal(found.length, 1, `${row.name}: one error (${JSON.stringify(found)})`);
    t.equal(found[0]?.[0], path, `${row.name}: names ${path}`);
    t.match(found[0]?.[1], row.message, `${row.name}: says why`);
    t.ok(found[0]?.[1].startsWith(`${path}: `), `${row.name}: the message starts with the path`);
  }
});

t.test('reports the problems of every rule at once', async (t) => {
  const found = problems([
    { service: 'web', target: { ip: '10.0.0.1' } },
    { hostname: 'a.com', target: { hostService: 'x' } },
    { namespace: 'n', target: { ip: '10.0.0.1' } },
  ]);
  t.same(found.map(([path]) => path), [`${R}[0].service`, `${R}[1].target.hostService`, `${R}[2].target.hostNamespace`]);
});
