// Health, readiness and metrics on their own port; an upstream that is down; graceful shutdown
// that ends watches cleanly and cuts upgraded tunnels.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/index.ts';
import { freePorts, httpCall } from '../../../src/local/net.ts';
import { serve } from '../../../src/cli/serve.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { kubeconfigYaml } from '../../../src/local/kubeconfig.ts';
import { testEnv, kubectl, uniqueName, tempDir, clientCert } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';

const env = await testEnv();

t.test('health, readiness and metrics are served on the separate port', async (t) => {
  const proxy = await startTestProxy(t);
  const base = proxy.healthUrl.replace(/\/$/, '');
  t.equal((await httpCall(`${base}/healthz`)).body, 'ok');
  t.equal((await httpCall(`${base}/livez`)).body, 'ok');
  const ready = await httpCall(`${base}/readyz`);
  t.equal(ready.status, 200, ready.body);
  const kc = await proxy.kubeconfig('admin', { groups: ['system:masters'] });
  await kubectl(kc, ['get', 'namespaces']);
  const metrics = (await httpCall(`${base}/metrics`)).body;
  t.match(metrics, /vcnet_proxy_request_duration_seconds_count\{method="GET",class="read",code="200"\} [1-9]/);
  t.match(metrics, /vcnet_certificate_expiry_timestamp_seconds\{certificate="proxy-serving"\} \d+/);
  t.match(metrics, /vcnet_process_resident_memory_bytes/);
  const tls = await httpCall(`${proxy.url}/metrics`).catch((e: Error) => e);
  t.ok(tls instanceof Error || tls.status !== 200, 'metrics are not on the proxy port');
});

t.test('with the upstream down: not ready, and requests get a 503 Status', async (t) => {
  const dir = tempDir(t);
  const [deadPort, port, healthPort] = await freePorts(3) as [number, number, number];
  const identity = await clientCert('virtual', 'vcnet', ['system:masters']);
  const kubeconfig = join(dir, 'dead.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml({ name: 'dead', server: `https://127.0.0.1:${deadPort}`, caPem: env.state.virtual.caPem, userName: 'vcnet', user: identity }));
  const config = parseConfig({
    // The proxy alone: its upstream is down on purpose, and the pod sync would not start against it.
    sync: { toHost: { pods: { enabled: false }, services: { enabled: false } } },
    controlPlane: { proxy: { bindAddress: '127.0.0.1', port } },
    vcnet: {
      dns: { enabled: false },
      virtual: { kubeconfig }, proxy: { clientCAFile: env.state.virtual.caFile },
      certs: { dir: join(dir, 'certs') }, observability: { bindAddress: '127.0.0.1', port: healthPort },
    },
  });
  const s = await serve(config, { logger: createLogger('silent') });
  t.teardown(() => s.close(500));
  const ready = await httpCall(`http://127.0.0.1:${healthPort}/readyz`);
  t.equal(ready.status, 503);
  t.match(ready.body, /upstream/);
  const kc = join(dir, 'admin.kubeconfig');
  writeFileSync(kc, kubeconfigYaml({ name: 'p', server: `https://127.0.0.1:${port}`, caPem: s.ca.certPem, userName: 'admin', user: await clientCert('virtual', 'admin', ['system:masters']) }));
  const r = await kubectl(kc, ['get', '--raw', '/api/v1/namespaces']);
  t.not(r.code, 0);
  t.match(r.stderr, /ServiceUnavailable|unavailable/i);
  t.match(r.stderr, /ECONNREFUSED/);
});

t.test('graceful shutdown ends watches, cuts upgraded tunnels and stops listening', async (t) => {
  const proxy = await startTestProxy(t, { upstream: 'host' });
  const kc = await proxy.kubeconfig('admin', { groups: ['system:masters'] });
  const ns = uniqueName('shutdown');
  await kubectl(env.hostKubeconfig, ['create', 'namespace', ns]);
  t.teardown(async () => { await kubectl(env.hostKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
  await kubectl(env.hostKubeconfig, ['-n', ns, 'run', 'p', '--image=example.invalid/p:1']);
  await kubectl(env.hostKubeconfig, ['-n', ns, 'wait', '--for=condition=Ready', 'pod/p', '--timeout=60s']);

  const watch = spawn(env.kubectl, ['--kubeconfig', kc, '-n', ns, 'get', 'pods', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const attach = spawn(env.kubectl, ['--kubeconfig', kc, '-n', ns, 'attach', 'p'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { watch.kill('SIGKILL'); attach.kill('SIGKILL'); });
  const exited = (c: typeof watch): Promise<number | null> => new Promise((r) => { if (c.exitCode !== null) r(c.exitCode); else c.once('exit', (code) => r(code)); });
  const deadline = Date.now() + 20_000;
  while (proxy.serving.proxy.state.openStreams < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.ok(proxy.serving.proxy.state.openStreams >= 2, 'a watch and an attach tunnel are open');

  const started = Date.now();
  await proxy.serving.close(5_000);
  t.ok(Date.now() - started < 5_000, `close() returned within the grace period (${Date.now() - started} ms)`);
  await Promise.all([exited(watch), exited(attach)]);
  t.pass('kubectl watch and attach both ended');
  t.equal(proxy.serving.proxy.state.openStreams, 0, 'no stream is left open');
  const after = await kubectl(kc, ['get', '--raw', '/version']);
  t.not(after.code, 0, 'the port no longer accepts requests');
});
