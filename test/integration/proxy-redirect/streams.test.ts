// `kubectl logs [-f]`, `exec`, `attach` and `port-forward` on a VIRTUAL pod through vcnet reach its
// HOST pod (the virtual kube-apiserver has no kubelet to ask), over WebSocket (kubectl's default)
// and over SPDY (its fallback). Real kubectl, real control planes, kwok's simulated kubelet.
import t from 'tap';
import { appendFileSync } from 'node:fs';
import { followKubectl, type Followed } from '../../harness/follow.ts';
import { criLogLines } from '../../../src/local/kwok.ts';
import { httpCall } from '../../../src/local/net.ts';
import { kubectl } from '../../harness/env.ts';
import { redirectFixture, redirects } from './fixture.ts';

const f = await redirectFixture(t);
const kwok = f.env.state.host.kwok;
if (kwok === undefined) throw new Error('the host plane has no kwok kubelet endpoints');
const pod = 'web';
await f.pod(pod);

const PROTOCOLS = [
  { name: 'WebSocket', env: {}, label: 'websocket' },
  { name: 'SPDY', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, label: 'spdy/3.1' },
] as const;

async function upgrades(protocol: string): Promise<number> {
  const text = (await httpCall(f.proxy.healthUrl.replace(/\/?$/, '/metrics'))).body;
  const m = new RegExp(`vcnet_proxy_upgrades_total\\{protocol="${protocol.replace('/', '\\/').replace('.', '\\.')}",result="spliced"\\} (\\d+)`).exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** A long-running kubectl whose output is watched. */
const follow = (args: string[], extraEnv: Record<string, string> = {}): Followed => followKubectl(t, f.admin, args, extraEnv);

t.test('logs come from the host pod', async (t) => {
  const before = await redirects(f.proxy, 'log', 'forwarded');
  const r = await kubectl(f.admin, ['-n', f.vns, 'logs', pod]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /simulated container log \(kwok\)/);
  t.match(r.stdout, /plane host/, 'the host plane\'s kubelet answered');
  const c = await kubectl(f.admin, ['-n', f.vns, 'logs', pod, '-c', 'app', '--tail=1']);
  t.equal(c.code, 0, c.stderr);
  t.equal(c.stdout.split('\n').filter(Boolean).length, 1, 'the query string (tailLines) reached the host');
  t.equal(await redirects(f.proxy, 'log', 'forwarded') - before, 2, 'both were redirected');
});

t.test('logs -f streams a line written after the stream opened', async (t) => {
  const stream = follow(['-n', f.vns, 'logs', '-f', pod]);
  await stream.waitFor(/simulated container log/);
  const marker = `redirected live line ${Date.now()}`;
  appendFileSync(kwok.logsFile, criLogLines([marker]));
  await stream.waitFor(new RegExp(marker));
  t.pass('the appended line arrived through the open stream');
});

for (const p of PROTOCOLS) {
  t.test(`over ${p.name}`, async (t) => {
    const before = { websocket: await upgrades('websocket'), spdy: await upgrades('spdy/3.1') };

    t.test('exec returns the output of a command run in the host pod', async (t) => {
      const r = await kubectl(f.admin, ['-n', f.vns, 'exec', pod, '-c', 'app', '--', 'sh', '-c', 'echo "from $VCNET_KWOK_EXEC"'], { env: p.env });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'from 1\n', 'kwok\'s exec ran it (it sets VCNET_KWOK_EXEC)');
    });

    t.test('exec -i carries stdin', async (t) => {
      // `head -1`: kwok's exec does not pass on the end of stdin.
      const r = await kubectl(f.admin, ['-n', f.vns, 'exec', '-i', pod, '--', 'sh', '-c', 'head -1 | tr a-z A-Z'], { env: p.env, input: 'redirected\n' });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'REDIRECTED\n');
    });

    t.test('attach streams what the container writes', async (t) => {
      const a = follow(['-n', f.vns, 'attach', pod], p.env);
      const marker = `attached to the host pod over ${p.name} ${Date.now()}`;
      await a.waitFor(new RegExp(marker), () => appendFileSync(kwok.attachFile, criLogLines([marker])));
      t.pass('attached output arrived');
    });

    t.test('port-forward carries TCP to the host pod', async (t) => {
      const pf = follow(['-n', f.vns, 'port-forward', `pod/${pod}`, '--address=127.0.0.1', ':80'], p.env);
      await pf.waitFor(/Forwarding from 127\.0\.0\.1:\d+/);
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(pf.output())![1]);
      for (let i = 0; i < 2; i++) {
        const res = await httpCall(`http://127.0.0.1:${port}/healthz`);
        t.equal(res.status, 200, `request ${i + 1} through the tunnel`);
        t.equal(res.body, 'ok');
      }
    });

    t.test(`the streams were ${p.label} upgrades, with no fallback`, async (t) => {
      const after = { websocket: await upgrades('websocket'), spdy: await upgrades('spdy/3.1') };
      const [used, other] = p.label === 'websocket' ? ['websocket', 'spdy'] as const : ['spdy', 'websocket'] as const;
      t.ok(after[used] - before[used] >= 4, `exec, exec -i, attach and port-forward were ${p.label} upgrades`);
      t.equal(after[other] - before[other], 0, 'kubectl never had to fall back to the other protocol');
    });
  });
}

t.test('every stream was redirected, none refused', async (t) => {
  for (const sub of ['exec', 'attach', 'portforward']) {
    t.ok(await redirects(f.proxy, sub, 'forwarded') >= 2, `${sub} was forwarded to the host`);
  }
  for (const code of ['400', '401', '403', '404', '503']) {
    t.equal(await redirects(f.proxy, 'exec', code), 0, `no exec refused with ${code}`);
  }
});
