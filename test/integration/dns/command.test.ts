// `vcnet dns`: the DNS server alone, in a process of its own (docs/dns.md, "DNS in pods of its
// own"), against the real virtual kube-apiserver: it becomes ready, answers a Service created after
// it started and NXDOMAIN once it is deleted, serves its metrics (the answer cache's included) on the
// health port, and exits 0 on SIGTERM. Without a virtual kubeconfig it refuses to start, saying why.
import { spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { waitForVcnet } from '../../../src/cli/up.ts';
import { freePorts } from '../../../src/local/net.ts';
import { spawnLogged, stopProcesses } from '../../../src/local/process.ts';
import { kubectl, tempDir, testEnv, uniqueName } from '../../harness/env.ts';

const MAIN = resolve(import.meta.dirname, '../../../src/cli/main.ts');

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('vcnet dns serves the virtual cluster\'s names on its own', async (t) => {
  const env = await testEnv();
  const dir = tempDir(t);
  const [dnsPort, healthPort] = await freePorts(2) as [number, number];
  const configFile = join(dir, 'vcnet.yaml');
  writeFileSync(configFile, stringify({
    vcnet: {
      virtual: { kubeconfig: env.virtualKubeconfig },
      observability: { bindAddress: '127.0.0.1', port: healthPort },
      // Whether `vcnet serve` runs DNS; `vcnet dns` always does.
      dns: { enabled: false, bindAddress: '127.0.0.1', port: dnsPort, upstreams: ['127.0.0.1:9'] },
    },
  }));
  const logFile = join(dir, 'vcnet-dns.log');
  const proc = spawnLogged({ name: 'vcnet-dns', binary: process.execPath, args: [MAIN, 'dns', '--config', configFile], logFile });
  t.teardown(() => stopProcesses([proc], { timeoutMs: 5_000 }));
  await waitForVcnet(`http://127.0.0.1:${healthPort}`, () => proc.exit === undefined, logFile);
  t.pass('ready on its health port');

  const ns = uniqueName('dnscmd');
  t.equal((await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns])).code, 0);
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
  const created = await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'service', 'clusterip', 'web', '--tcp=80:80', '-o', 'jsonpath={.spec.clusterIP}']);
  t.equal(created.code, 0, created.stderr);
  const ip = created.stdout.trim();

  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${dnsPort}`]);
  const name = `web.${ns}.svc.cluster.local`;
  const answered = await until('the new Service to resolve', async () => (await resolver.resolve4(name).catch(() => undefined)));
  t.same(answered, [ip], 'a Service created after start resolves to its ClusterIP');
  t.same(await resolver.resolve4(name), [ip], 'and again (from the answer cache)');

  const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  t.match(metrics, /vcnet_dns_queries_total\{type="A",rcode="NOERROR"\} [1-9]/, 'DNS metrics on the health port');
  t.match(metrics, /vcnet_dns_answer_cache_hits_total [1-9]/, 'the answer cache counted its hit');
  t.match(metrics, /vcnet_process_cpu_seconds_total/, 'process metrics too');

  t.equal((await kubectl(env.virtualKubeconfig, ['-n', ns, 'delete', 'service', 'web'])).code, 0);
  const gone = await until('NXDOMAIN after the delete', async () => {
    const code = await resolver.resolve4(name).then(() => undefined, (err: NodeJS.ErrnoException) => err.code);
    return code === 'ENOTFOUND' ? code : undefined;
  });
  t.equal(gone, 'ENOTFOUND', 'the deleted Service is NXDOMAIN, the kept answer notwithstanding');

  process.kill(proc.pid, 'SIGTERM');
  await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 10_000))]);
  t.same(proc.exit, { code: 0, signal: null }, 'SIGTERM: exits 0');
  t.match(readFileSync(logFile, 'utf8'), /shutting down/);
});

t.test('vcnet dns without a virtual kubeconfig refuses to start and says why', async (t) => {
  const out = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, [MAIN, 'dns'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => done({ code, stderr }));
  });
  t.not(out.code, 0, 'a non-zero exit');
  t.match(out.stderr, /vcnet\.virtual\.kubeconfig is required/);
});
