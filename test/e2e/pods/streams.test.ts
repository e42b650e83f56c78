// logs, exec, attach, cp and port-forward on VIRTUAL pods, through the shared vcnet: each request is
// authorized for the user against the virtual cluster, rewritten to the host pod and streamed
// through the host kube-apiserver to kwok's kubelet API (issue 3). Also: host events on the pod.
import t from 'tap';
import { appendFileSync, readFileSync } from 'node:fs';
import { criLogLines } from '../../../src/local/kwok.ts';
import { httpCall } from '../../../src/local/net.ts';
import { clientCert, kubectl, readText, tempDir, testEnv, uniqueName, writeUserKubeconfig } from '../../harness/env.ts';
import { isReady, getJson, waitFor } from '../../harness/pods.ts';
import { followKubectl, type Followed } from '../../harness/follow.ts';
import type { Pod } from '../../../src/translate/pod.ts';

const env = await testEnv();
const kwok = env.state.host.kwok;
if (kwok === undefined) throw new Error('the host plane has no kwok kubelet endpoints');
const kc = env.proxyKubeconfig;
const dir = tempDir(t);
const ns = uniqueName('vstreams');
const pod = 'app';

let r = await kubectl(kc, ['create', 'namespace', ns]);
if (r.code !== 0) throw new Error(r.stderr);
t.teardown(async () => { await kubectl(kc, ['delete', 'namespace', ns, '--wait=false']); });
r = await kubectl(kc, ['-n', ns, 'run', pod, '--image=example.invalid/app:1']);
if (r.code !== 0) throw new Error(r.stderr);
await waitFor('the virtual pod Ready', async () => {
  const p = await getJson<Pod>(kc, ['pod', pod, '-n', ns]);
  return p !== undefined && isReady(p);
}, 60_000);

const PROTOCOLS = [
  { name: 'WebSocket', env: {} },
  { name: 'SPDY', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
] as const;

async function redirects(sub: string): Promise<number> {
  const text = (await httpCall(env.endpoints.metrics)).body;
  const m = new RegExp(`vcnet_proxy_redirects_total\\{subresource="${sub}",result="forwarded"\\} (\\d+)`).exec(text);
  return m === null ? 0 : Number(m[1]);
}

const follow = (kubeconfig: string, args: string[], extraEnv: Record<string, string> = {}): Followed => followKubectl(t, kubeconfig, args, extraEnv);

t.test('logs and logs -f of the virtual pod come from its host pod', async (t) => {
  const before = await redirects('log');
  const logs = await kubectl(kc, ['-n', ns, 'logs', pod]);
  t.equal(logs.code, 0, logs.stderr);
  t.match(logs.stdout, /simulated container log/);
  const f = follow(kc, ['-n', ns, 'logs', '-f', pod]);
  await f.waitFor(/simulated container log/);
  const marker = `virtual live line ${Date.now()}`;
  appendFileSync(kwok.logsFile, criLogLines([marker]));
  await f.waitFor(new RegExp(marker));
  t.pass('a line appended after the stream opened arrived');
  t.ok(await redirects('log') - before >= 2, 'both went through the redirect');
});

for (const p of PROTOCOLS) {
  t.test(`over ${p.name}`, async (t) => {
    t.test('exec reaches the host pod, with stdin', async (t) => {
      const before = await redirects('exec');
      const ok = await kubectl(kc, ['-n', ns, 'exec', pod, '--', 'echo', 'hello from the host pod'], { env: p.env });
      t.equal(ok.code, 0, ok.stderr);
      t.equal(ok.stdout, 'hello from the host pod\n');
      const r = await kubectl(kc, ['-n', ns, 'exec', '-i', pod, '--', 'sh', '-c', 'head -1 | tr a-z A-Z'], { env: p.env, input: 'shout\n' });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'SHOUT\n');
      t.ok(await redirects('exec') - before >= 2, 'redirected to the host pod');
    });

    t.test('cp copies a file out of the pod', async (t) => {
      const src = `${kwok.execWorkDir}/vpayload-${p.name}.txt`;
      const body = `payload ${'y'.repeat(50_000)}\n`;
      await import('node:fs').then((fs) => fs.writeFileSync(src, body));
      const dst = `${dir}/copied-${p.name}.txt`;
      const r = await kubectl(kc, ['-n', ns, 'cp', `${pod}:${src}`, dst], { env: p.env });
      t.equal(r.code, 0, r.stderr);
      t.equal(readFileSync(dst, 'utf8'), body);
    });

    t.test('attach streams what the container writes', async (t) => {
      const f = follow(kc, ['-n', ns, 'attach', pod], p.env);
      const marker = `vattached ${p.name}`;
      await f.waitFor(new RegExp(marker), () => appendFileSync(kwok.attachFile, criLogLines([marker])));
      t.pass('attached output arrived');
    });

    t.test('port-forward carries TCP to the pod', async (t) => {
      const before = await redirects('portforward');
      const f = follow(kc, ['-n', ns, 'port-forward', `pod/${pod}`, '--address=127.0.0.1', ':80'], p.env);
      await f.waitFor(/Forwarding from 127\.0\.0\.1:\d+/);
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(f.output())![1]);
      for (let i = 0; i < 3; i++) {
        const res = await httpCall(`http://127.0.0.1:${port}/healthz`);
        t.equal(res.status, 200, `request ${i + 1} through the tunnel`);
      }
      t.ok(await redirects('portforward') - before >= 1, 'redirected to the host pod');
    });
  });
}

t.test('a user without RBAC for pods/exec in the virtual cluster cannot exec, though vcnet\'s host credentials could', async (t) => {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'log-reader', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }],
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'log-reader', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'log-reader' },
    subjects: [{ kind: 'User', name: 'reader', apiGroup: 'rbac.authorization.k8s.io' }],
  };
  t.equal((await kubectl(env.virtualKubeconfig, ['apply', '-f', '-'], { input: [role, binding].map((o) => JSON.stringify(o)).join('\n') })).code, 0);
  const reader = writeUserKubeconfig(dir, 'reader', env.endpoints.proxy, readText(env.endpoints.proxyCA), await clientCert('virtual', 'reader'));
  await waitFor('RBAC to apply', async () => (await kubectl(reader, ['-n', ns, 'get', 'pod', pod])).code === 0);
  const logs = await kubectl(reader, ['-n', ns, 'logs', pod]);
  t.equal(logs.code, 0, `pods/log is granted: ${logs.stderr}`);
  for (const p of PROTOCOLS) {
    const r = await kubectl(reader, ['-n', ns, 'exec', pod, '--', 'echo', 'should not run'], { env: p.env });
    t.not(r.code, 0, `exec over ${p.name} is refused`);
    t.match(r.stderr, /forbidden: User "reader" cannot (create|get) resource "pods\/exec"/, `in the API server's words: ${r.stderr}`);
    t.equal(r.stdout, '');
  }
  const pf = await kubectl(reader, ['-n', ns, 'port-forward', `pod/${pod}`, ':80'], { timeoutMs: 20_000 });
  t.not(pf.code, 0, 'port-forward is refused too');
});

t.test('host events about the pod appear with virtual names in describe and get events', async (t) => {
  const described = await waitFor('the Scheduled event on the virtual pod', async () => {
    const d = await kubectl(kc, ['-n', ns, 'describe', 'pod', pod]);
    return /Scheduled/.test(d.stdout) ? d.stdout : undefined;
  }, 60_000);
  t.match(described, new RegExp(`Successfully assigned ${ns}/${pod} to `), 'the scheduler\'s message names the virtual pod');
  t.notMatch(described, '-x-', 'no host name shows');
  const events = await kubectl(kc, ['-n', ns, 'get', 'events', '-o', 'json']);
  const items = (JSON.parse(events.stdout) as { items: Array<{ involvedObject: { name: string; kind: string }; reason: string }> }).items;
  t.ok(items.some((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === pod && e.reason === 'Scheduled'), 'kubectl get events lists it for the virtual pod');
});
