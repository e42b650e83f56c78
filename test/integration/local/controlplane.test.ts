// Real host and virtual control planes on loopback, checked with kubectl as a user would.
import { spawn } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ensureBinaries } from '../../../src/local/build.ts';
import { freshDir, startControlPlane } from '../../../src/local/controlplane.ts';
import type { ControlPlane } from '../../../src/local/controlplane.ts';
import { criLogLines } from '../../../src/local/kwok.ts';
import { findKubectl } from '../../../src/local/kubectl.ts';
import { httpCall } from '../../../src/local/net.ts';
import { isPidAlive, runCapture } from '../../../src/local/process.ts';

// Start-up of both planes takes ~10 s on 2 cores; kubectl waits add up to a minute more.
t.setTimeout(240_000);

const SERVICE_CIDR = '10.96.0.0/16';
const POD_CIDR = '10.244.0.0/16';
const kubectlBin = findKubectl();

function inCIDR(ip: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (toInt(ip) & mask) === (toInt(base) & mask);
}

async function kubectl(plane: ControlPlane, ...args: string[]): Promise<string> {
  const { stdout } = await runCapture(kubectlBin, ['--kubeconfig', plane.adminKubeconfig, ...args], { timeoutMs: 90_000 });
  return stdout;
}

async function kubectlJson<T>(plane: ControlPlane, ...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(plane, ...args, '-o', 'json')) as T;
}

const binaries = await ensureBinaries({ build: false, log: (m) => t.comment(m) });
const root = freshDir('vcnet-it-local');
const started = Date.now();
const [host, virtual] = await Promise.all([
  startControlPlane({ name: 'host', role: 'host', dir: join(root, 'host'), binaries, serviceCIDR: SERVICE_CIDR, podCIDR: POD_CIDR, nodes: 2 }),
  startControlPlane({ name: 'virtual', role: 'virtual', dir: join(root, 'virtual'), binaries, serviceCIDR: SERVICE_CIDR }),
]);
t.comment(`both planes ready in ${Date.now() - started} ms; host ${JSON.stringify(host.timings)}; virtual ${JSON.stringify(virtual.timings)}`);
t.teardown(async () => {
  await Promise.all([host.stop(), virtual.stop()]);
  rmSync(root, { recursive: true, force: true });
});

t.test('both planes report server version v1.34.4 to kubectl', async (t) => {
  for (const plane of [host, virtual]) {
    const v = await kubectlJson<{ serverVersion: { gitVersion: string } }>(plane, 'version');
    t.equal(v.serverVersion.gitVersion, 'v1.34.4', plane.name);
  }
});

t.test('the admin token and the admin client certificate both authenticate as system:masters', async (t) => {
  for (const plane of [host, virtual]) {
    const byToken = JSON.parse((await runCapture(kubectlBin, [
      '--server', plane.url, '--certificate-authority', plane.caFile, '--token', plane.tokens.admin, 'auth', 'whoami', '-o', 'json',
    ])).stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    t.equal(byToken.status.userInfo.username, 'admin', `${plane.name} token user`);
    t.ok(byToken.status.userInfo.groups.includes('system:masters'), `${plane.name} token groups`);
    const byCert = await kubectlJson<typeof byToken>(plane, 'auth', 'whoami');
    t.equal(byCert.status.userInfo.username, 'admin', `${plane.name} cert user`);
    t.ok(byCert.status.userInfo.groups.includes('system:masters'), `${plane.name} cert groups`);
  }
});

t.test('the host has at least 2 Ready kwok nodes and the virtual plane has none', async (t) => {
  type NodeList = { items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }> };
  const nodes = await kubectlJson<NodeList>(host, 'get', 'nodes');
  const ready = nodes.items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  t.ok(ready.length >= 2, `${ready.length} Ready nodes: ${ready.map((n) => n.metadata.name).join(', ')}`);
  t.same((await kubectlJson<NodeList>(virtual, 'get', 'nodes')).items, []);
});

t.test('a Deployment of 2 replicas on the host becomes Available with pod IPs from the pod CIDR', async (t) => {
  await kubectl(host, 'create', 'deployment', 'web', '--image=example.invalid/web:1', '--replicas=2');
  await kubectl(host, 'wait', '--for=condition=Available', 'deployment/web', '--timeout=60s');
  type PodList = { items: Array<{ spec: { nodeName?: string }; status: { phase: string; podIP?: string } }> };
  const pods = await kubectlJson<PodList>(host, 'get', 'pods', '-l', 'app=web');
  t.equal(pods.items.length, 2);
  const ips = pods.items.map((p) => p.status.podIP ?? '');
  for (const p of pods.items) {
    t.equal(p.status.phase, 'Running');
    t.ok(p.spec.nodeName?.startsWith('kwok-node-'), `scheduled to ${p.spec.nodeName}`);
    t.ok(inCIDR(p.status.podIP ?? '', POD_CIDR), `pod IP ${p.status.podIP} in ${POD_CIDR}`);
  }
  t.equal(new Set(ips).size, 2, 'pod IPs are distinct');
});

t.test('a Service gets a ClusterIP in the shared service CIDR on both planes', async (t) => {
  for (const plane of [host, virtual]) {
    await kubectl(plane, 'create', 'service', 'clusterip', 'svc-check', '--tcp=80:8080');
    const svc = await kubectlJson<{ spec: { clusterIP: string } }>(plane, 'get', 'service', 'svc-check');
    t.ok(inCIDR(svc.spec.clusterIP, SERVICE_CIDR), `${plane.name}: ${svc.spec.clusterIP} in ${SERVICE_CIDR}`);
  }
});

t.test('kubectl logs, exec, attach and port-forward reach a kwok pod through the host kube-apiserver', async (t) => {
  await kubectl(host, 'run', 'debug', '--image=example.invalid/debug:1');
  await kubectl(host, 'wait', '--for=condition=Ready', 'pod/debug', '--timeout=60s');

  t.test('logs return the lines of kwok\'s log file, including appended ones', async (t) => {
    appendFileSync(host.kwok!.logsFile, criLogLines(['appended by the test']));
    const out = await kubectl(host, 'logs', 'debug');
    t.match(out, /vcnet: simulated container log \(kwok\)/);
    t.match(out, /appended by the test/);
  });

  t.test('exec runs the command and returns its output', async (t) => {
    t.equal(await kubectl(host, 'exec', 'debug', '--', 'echo', 'hi'), 'hi\n');
  });

  t.test('attach streams the lines appended to kwok\'s attach file after attaching', async (t) => {
    const attach = spawn(kubectlBin, ['--kubeconfig', host.adminKubeconfig, 'attach', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { attach.kill('SIGTERM'); });
    let out = '';
    attach.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    // kwok tails the file from its end (TailLines 0), so keep appending until the stream is up.
    const deadline = Date.now() + 30_000;
    while (!out.includes('attach line') && Date.now() < deadline && attach.exitCode === null) {
      appendFileSync(host.kwok!.attachFile, criLogLines(['attach line']));
      await new Promise((r) => setTimeout(r, 500));
    }
    t.match(out, /attach line/);
  });

  t.test('port-forward connects to the loopback target (kwok\'s own server)', async (t) => {
    const pf = spawn(kubectlBin, ['--kubeconfig', host.adminKubeconfig, 'port-forward', 'pod/debug', '--address=127.0.0.1', ':80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { pf.kill('SIGTERM'); });
    const localPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      };
      pf.stdout.on('data', onData);
      pf.stderr.on('data', onData);
      pf.on('exit', (code) => { clearTimeout(timer); reject(new Error(`port-forward exited ${code}: ${out}`)); });
    });
    const r = await httpCall(`http://127.0.0.1:${localPort}/healthz`);
    t.equal(r.status, 200);
    t.equal(r.body, 'ok');
  });
});

t.test('stop() leaves none of the processes alive', async (t) => {
  const pids = [...host.processes, ...virtual.processes].map((p) => ({ name: p.name, pid: p.pid }));
  t.equal(pids.length, 8, 'host runs 5 processes, virtual 3');
  await Promise.all([host.stop(), virtual.stop()]);
  for (const p of pids) t.notOk(isPidAlive(p.pid), `${p.name} (pid ${p.pid}) is gone`);
});
