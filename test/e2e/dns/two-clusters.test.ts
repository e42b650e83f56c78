// Two virtual clusters on one host: a name in the first resolves a Service of the second through a
// `vClusterService` rule (vcluster-networking.md §7.2), and a rule added to the first one's config
// file takes effect without a restart. Each virtual cluster is real: its own control plane and its
// own `vcnet serve`, syncing Services to its own host namespace.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { kubectl } from '../../harness/env.ts';
import { waitFor } from '../../harness/pods.ts';
import { startTestVcluster } from '../../harness/vcluster.ts';

function dnsPort(configFile: string): number {
  const config = parse(readFileSync(configFile, 'utf8')) as { vcnet: { dns: { port: number } } };
  return config.vcnet.dns.port;
}

function resolverFor(port: number): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

t.test('two virtual clusters, each with its own vcnet, on one host', async (t) => {
  const vc2 = await startTestVcluster(t);
  t.equal((await kubectl(vc2.kubeconfig, ['create', 'namespace', 'data'])).code, 0);
  const created = await kubectl(vc2.kubeconfig, ['-n', 'data', 'create', 'service', 'clusterip', 'postgres', '--tcp=5432:5432', '-o', 'jsonpath={.spec.clusterIP}']);
  t.equal(created.code, 0, created.stderr);
  const postgresIP = created.stdout.trim();

  const vc1 = await startTestVcluster(t, {
    sync: { networking: { resolveDNS: [{ service: 'app/db', target: { vClusterService: `${vc2.hostNamespace}/${vc2.name}/data/postgres` } }] } },
  });
  const configFile = join(dirname(vc1.logFile), 'vcnet.yaml');
  const dns = resolverFor(dnsPort(configFile));

  await t.test('a Service of the second virtual cluster answers a name of the first (vClusterService)', async (t) => {
    for (const name of ['db.app.svc.cluster.local', 'db.app.svc', 'db.app']) {
      const ips = await waitFor(`${name} resolves`, async () => (await dns.resolve4(name).catch(() => undefined)) ?? false, 20_000);
      t.strictSame(ips, [postgresIP], `${name} -> the ClusterIP vc2's vcnet gave data/postgres (${postgresIP})`);
    }
    const other = await dns.resolve4('other.app.svc.cluster.local').catch((e: NodeJS.ErrnoException) => e.code);
    t.equal(other, 'ENOTFOUND', 'other names of the namespace stay the first cluster\'s own (NXDOMAIN)');
  });

  await t.test('a rule added to the config file is applied without a restart', async (t) => {
    const pid = vc1.vcnet()?.pid;
    const config = parse(readFileSync(configFile, 'utf8')) as { networking?: { resolveDNS?: unknown[] } };
    config.networking = { ...config.networking, resolveDNS: [...(config.networking?.resolveDNS ?? []), { hostname: 'legacy.example.com', target: { ip: '192.0.2.44' } }] };
    writeFileSync(configFile, stringify(config));
    const ips = await waitFor('the new rule answers', async () => (await dns.resolve4('legacy.example.com').catch(() => undefined)) ?? false, 20_000);
    t.strictSame(ips, ['192.0.2.44']);
    t.equal(vc1.vcnet()?.pid, pid, 'the same vcnet process');
    t.strictSame(await dns.resolve4('db.app.svc.cluster.local'), [postgresIP], 'the earlier rule still answers');
  });
});
