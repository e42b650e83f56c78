// Streams through vcnet to real (kwok-simulated) pods: `logs -f`, `exec`, `attach`, `cp` and
// `port-forward`, over WebSocket (kubectl's default) and over SPDY (its fallback), with the proxy
// in front of the HOST control plane, whose kube-apiserver reaches kwok's kubelet API.
import t from 'tap';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criLogLines } from '../../../src/local/kwok.ts';
import { httpCall } from '../../../src/local/net.ts';
import { testEnv, kubectl, uniqueName, tempDir } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';
import { followKubectl, type Followed } from '../../harness/follow.ts';

const env = await testEnv();
const kwok = env.state.host.kwok;
if (kwok === undefined) throw new Error('the host plane has no kwok kubelet endpoints');
const proxy = await startTestProxy(t, { upstream: 'host' });
const kc = await proxy.kubeconfig('admin', { groups: ['system:masters'] });
const dir = tempDir(t);
const ns = uniqueName('streams');
const pod = 'debug';

let r = await kubectl(env.hostKubeconfig, ['create', 'namespace', ns]);
if (r.code !== 0) throw new Error(r.stderr);
t.teardown(async () => { await kubectl(env.hostKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
r = await kubectl(env.hostKubeconfig, ['-n', ns, 'run', pod, '--image=example.invalid/debug:1']);
if (r.code !== 0) throw new Error(r.stderr);
r = await kubectl(env.hostKubeconfig, ['-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=60s']);
if (r.code !== 0) throw new Error(r.stderr);

const PROTOCOLS = [
  { name: 'WebSocket', env: {}, label: 'websocket' },
  { name: 'SPDY', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, label: 'spdy/3.1' },
] as const;

async function upgrades(protocol: string): Promise<number> {
  const text = (await httpCall(proxy.healthUrl.replace(/\/?$/, '/metrics'))).body;
  const m = new RegExp(`vcnet_proxy_upgrades_total\\{protocol="${protocol.replace('/', '\\/').replace('.', '\\.')}",result="spliced"\\} (\\d+)`).exec(text);
  return m === null ? 0 : Number(m[1]);
}

const follow = (args: string[], extraEnv: Record<string, string> = {}): Followed => followKubectl(t, kc, args, extraEnv);

t.test('logs -f streams lines as they are written, without buffering', async (t) => {
  const f = follow(['-n', ns, 'logs', '-f', pod]);
  await f.waitFor(/simulated container log/);
  const marker = `live line ${Date.now()}`;
  appendFileSync(kwok.logsFile, criLogLines([marker]));
  await f.waitFor(new RegExp(marker));
  t.pass('a line appended after the stream opened arrived');
});

for (const p of PROTOCOLS) {
  t.test(`over ${p.name}`, async (t) => {
    const before = await upgrades(p.label);

    t.test('exec returns the command output and exit code', async (t) => {
      const ok = await kubectl(kc, ['-n', ns, 'exec', pod, '--', 'echo', 'hello from the pod'], { env: p.env });
      t.equal(ok.code, 0, ok.stderr);
      t.equal(ok.stdout, 'hello from the pod\n');
      // kwok reports a failed command as an error carrying the exit status (a kubelet would send
      // the code itself); either way it must reach the user through vcnet.
      const fail = await kubectl(kc, ['-n', ns, 'exec', pod, '--', 'sh', '-c', 'exit 3'], { env: p.env });
      t.not(fail.code, 0);
      t.match(fail.stderr, /exit status 3/);
    });

    t.test('exec -i carries stdin', async (t) => {
      // `head -1`: kwok's exec does not pass on the end of stdin, so `tr` alone would wait forever.
      const r = await kubectl(kc, ['-n', ns, 'exec', '-i', pod, '--', 'sh', '-c', 'head -1 | tr a-z A-Z'], { env: p.env, input: 'shout\n' });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'SHOUT\n');
    });

    t.test('cp copies a file out of the pod', async (t) => {
      const src = join(kwok.execWorkDir, `payload-${p.label.replace('/', '-')}.txt`);
      const body = `payload ${'x'.repeat(100_000)}\n`;
      writeFileSync(src, body);
      const dst = join(dir, `copied-${p.label.replace('/', '-')}.txt`);
      const r = await kubectl(kc, ['-n', ns, 'cp', `${pod}:${src}`, dst], { env: p.env });
      t.equal(r.code, 0, r.stderr);
      t.equal(readFileSync(dst, 'utf8'), body);
    });

    t.test('attach streams what the container writes', async (t) => {
      const f = follow(['-n', ns, 'attach', pod], p.env);
      const marker = `attached ${p.label}`;
      await f.waitFor(new RegExp(marker), () => appendFileSync(kwok.attachFile, criLogLines([marker])));
      t.pass('attached output arrived');
    });

    t.test('port-forward carries TCP to the pod', async (t) => {
      const f = follow(['-n', ns, 'port-forward', `pod/${pod}`, '--address=127.0.0.1', ':80'], p.env);
      await f.waitFor(/Forwarding from 127\.0\.0\.1:\d+/);
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(f.output())![1]);
      for (let i = 0; i < 3; i++) {
        const res = await httpCall(`http://127.0.0.1:${port}/healthz`);
        t.equal(res.status, 200, `request ${i + 1} through the tunnel`);
        t.equal(res.body, 'ok');
      }
    });

    t.test(`the proxy spliced these as ${p.label} upgrades`, async (t) => {
      t.ok(await upgrades(p.label) - before >= 5, 'exec, exec -i, cp, attach and port-forward went through the upgrade path');
    });
  });
}

t.test('a user without RBAC for pods/exec is refused by the API server, not served with vcnet\'s identity', async (t) => {
  const nobody = await proxy.kubeconfig('nobody', { groups: [] });
  const r = await kubectl(nobody, ['-n', ns, 'exec', pod, '--', 'echo', 'hi']);
  t.not(r.code, 0);
  t.match(r.stderr, /forbidden/i);
  t.equal(r.stdout, '');
});
