// resolveDNS rules against the REAL host control plane: host Services are created with kubectl, the
// host Services index (host-index.ts) lists and watches them, and the chain answers with their real
// ClusterIPs: hostService, hostNamespace, and vClusterService (the host twin another vCluster `vc2`
// has in its host namespace, named `<svc>-x-<ns>-x-vc2` as vCluster and vcnet name it).
import t from 'tap';
import { loadKubeConfig } from '../../../src/kube/client.ts';
import { createResolverChain } from '../../../src/dns/chain.ts';
import { HostServiceIndex } from '../../../src/dns/host-index.ts';
import { DnsServer } from '../../../src/dns/server.ts';
import * as dnsPacket from 'dns-packet';
import { createLogger } from '../../../src/observability/logger.ts';
import { RuleResolver } from '../../../src/dns/rule-resolver.ts';
import { RuleSet } from '../../../src/dns/rules.ts';
import type { ResolveDNSRule } from '../../../src/config/resolve-dns.ts';
import type { Question, Resolution, Resolver } from '../../../src/dns/types.ts';
import { Translator } from '../../../src/translate/names.ts';
import { kubectl, testEnv, uniqueName } from '../../harness/env.ts';

const ctx = { depth: 0 };

async function must(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function serviceYaml(namespace: string, name: string, extra = ''): string {
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  ports: [{port: 80, targetPort: 8080}]\n  selector: {app: ${name}}\n${extra}`;
}

async function clusterIP(kubeconfig: string, namespace: string, name: string): Promise<string> {
  return must(kubeconfig, ['get', 'service', '-n', namespace, name, '-o', 'jsonpath={.spec.clusterIP}']);
}

/** Resolves until `check` holds (the index learns of changes through its watch), at most 30 s. */
async function resolveUntil(chain: Resolver, q: Question, check: (r: Resolution) => boolean): Promise<Resolution> {
  let last: Resolution | undefined;
  for (let i = 0; i < 150; i++) {
    last = await chain.resolve(q, ctx);
    if (last !== undefined && check(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last as Resolution;
}

const addresses = (r: Resolution | undefined): string[] => (r?.answers ?? []).filter((a) => a.type === 'A').map((a) => String((a as { data: unknown }).data));

t.test('rules resolve to real host Service ClusterIPs, and follow rule and Service changes', async (t) => {
  const env = await testEnv();
  const kc = env.hostKubeconfig;
  const infra = uniqueName('dns-infra');
  const shared = uniqueName('dns-shared');
  const teamB = uniqueName('dns-team-b');
  for (const ns of [infra, shared, teamB]) {
    await must(kc, ['create', 'namespace', ns]);
    t.teardown(() => kubectl(kc, ['delete', 'namespace', ns, '--wait=false']).then(() => undefined));
  }
  // vc2's twin of its virtual Service data/postgres, named as vCluster (and vcnet) name host twins.
  const twin = new Translator({ vcluster: 'vc2', hostNamespace: teamB }).hostServiceName('postgres', 'data');
  t.equal(twin, 'postgres-x-data-x-vc2');
  await must(kc, ['apply', '-f', '-'], [
    serviceYaml(infra, 'api'), serviceYaml(shared, 'cache'), serviceYaml(teamB, twin),
    serviceYaml(infra, 'ext', '  type: ExternalName\n  externalName: api.' + infra + '.svc.cluster.local\n'),
  ].join('---\n'));
  const ip = {
    api: await clusterIP(kc, infra, 'api'),
    cache: await clusterIP(kc, shared, 'cache'),
    twin: await clusterIP(kc, teamB, twin),
  };
  t.ok(Object.values(ip).every((v) => /^\d+\.\d+\.\d+\.\d+$/.test(v)), `the host allocated ClusterIPs ${JSON.stringify(ip)}`);

  const rules: ResolveDNSRule[] = [
    { service: 'shop/api', target: { hostService: `${infra}/api` } },
    { namespace: 'shared', target: { hostNamespace: shared } },
    { service: 'shop/db', target: { vClusterService: `${teamB}/vc2/data/postgres` } },
    { hostname: 'ext.example.internal', target: { hostService: `${infra}/ext` } },
  ];
  const index = new HostServiceIndex(loadKubeConfig(kc));
  t.teardown(() => index.stop());
  await index.setNamespaces(RuleSet.hostNamespaces(rules));

  const forwarded: string[] = [];
  let ruleResolver: RuleResolver | undefined;
  const chain = createResolverChain({
    rules: (follow) => (ruleResolver = new RuleResolver({ rules, clusterDomain: 'cluster.local', hostServices: index, follow })),
    // No cluster zone here; the forwarder stands in for the upstreams and answers NXDOMAIN.
    forward: { resolve: async (q) => { forwarded.push(q.name); return { rcode: 'NXDOMAIN', answers: [], authoritative: false }; } },
    fallbackHostCluster: false, clusterDomain: 'cluster.local',
  });

  t.same(addresses(await chain.resolve({ name: 'api.shop.svc.cluster.local', type: 'A' }, ctx)), [ip.api], 'hostService');
  t.same(addresses(await chain.resolve({ name: 'api.shop', type: 'A' }, ctx)), [ip.api], 'hostService, short name');
  t.same(addresses(await chain.resolve({ name: 'cache.shared.svc.cluster.local', type: 'A' }, ctx)), [ip.cache], 'hostNamespace');
  t.same(addresses(await chain.resolve({ name: 'db.shop.svc.cluster.local', type: 'A' }, ctx)), [ip.twin], 'vClusterService: the other vCluster\'s twin');
  const ext = await chain.resolve({ name: 'ext.example.internal', type: 'A' }, ctx);
  t.equal(ext.answers[0]?.type, 'CNAME', 'an ExternalName host Service is a CNAME');
  t.equal(ext.rcode, 'NXDOMAIN', 'whose target (a cluster name, no cluster zone in this test) is NXDOMAIN: never a made-up address');
  const missing = await chain.resolve({ name: 'nothere.shared.svc.cluster.local', type: 'A' }, ctx);
  t.equal(missing.rcode, 'NXDOMAIN', 'a Service the host namespace does not have');
  t.same(forwarded, [], 'nothing the rules own was forwarded');

  // A Service created after the index synced is found through the watch, also by a server that
  // kept the NXDOMAIN it answered before: the host index announces the change (onChange).
  const server = new DnsServer({ port: 0, resolver: chain, logger: createLogger('silent') });
  const ask = async (name: string): Promise<string> => {
    const out = await server.handle(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), 'udp');
    return (dnsPacket.decode(out ?? Buffer.alloc(0)) as { rcode?: string }).rcode ?? '';
  };
  t.equal(await ask('late.shared.svc.cluster.local'), 'NXDOMAIN', 'the server answers NXDOMAIN before the Service exists');
  t.equal(server.cachedAnswers, 1, 'and keeps that answer');
  await must(kc, ['apply', '-f', '-'], serviceYaml(shared, 'late'));
  const lateIP = await clusterIP(kc, shared, 'late');
  const late = await resolveUntil(chain, { name: 'late.shared', type: 'A' }, (r) => r.rcode === 'NOERROR');
  t.same(addresses(late), [lateIP], 'a new host Service is answered');
  t.equal(await ask('late.shared.svc.cluster.local'), 'NOERROR', 'the server no longer answers its kept NXDOMAIN');

  // Deleting the host Service makes the name NXDOMAIN.
  await must(kc, ['delete', 'service', '-n', shared, 'late']);
  const gone = await resolveUntil(chain, { name: 'late.shared', type: 'A' }, (r) => r.rcode === 'NXDOMAIN');
  t.equal(gone.rcode, 'NXDOMAIN', 'a deleted host Service is NXDOMAIN');

  // New rules, without a restart: the index watches the new namespace set.
  const next: ResolveDNSRule[] = [{ service: 'shop/api', target: { hostService: `${shared}/cache` } }];
  ruleResolver?.setRules(next);
  await index.setNamespaces(RuleSet.hostNamespaces(next));
  t.same(addresses(await chain.resolve({ name: 'api.shop', type: 'A' }, ctx)), [ip.cache], 'the new rule answers');
  t.equal((await chain.resolve({ name: 'db.shop', type: 'A' }, ctx)).rcode, 'NXDOMAIN', 'the removed rule no longer does (the name is forwarded)');
  t.same(index.lookup(teamB, twin), { state: 'unknown' }, 'the namespace no rule names is no longer watched');
});
