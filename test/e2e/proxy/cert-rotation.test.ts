// A forced renewal of the serving certificate while a watch is open: the watch keeps delivering
// events, and new connections are served the new certificate.
import t from 'tap';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { certInfo, CertStore } from '../../../src/certs/index.ts';
import { ensureServingCert, SERVING_CERT } from '../../../src/cli/serve.ts';
import { testEnv, kubectl, uniqueName } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';

const env = await testEnv();

function servedSerial(url: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: caPem, servername: 'localhost' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

function watchLines(kubeconfig: string, args: string[]): { lines: string[]; next(match: RegExp, timeoutMs?: number): Promise<string>; stop(): void } {
  const child = spawn(env.kubectl, ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  return {
    lines,
    async next(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find((l) => match.test(l));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`no line matching ${match} within ${timeoutMs} ms; got:\n${lines.join('\n')}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 250); });
      }
    },
    stop() { child.kill(); },
  };
}

t.test('forced renewal keeps an open watch alive and new connections see the new certificate', async (t) => {
  const proxy = await startTestProxy(t);
  const ns = uniqueName('rotate');
  await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns]);
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });
  const kc = await proxy.kubeconfig('admin', { groups: ['system:masters'] });

  const before = await servedSerial(proxy.url, proxy.caPem);
  const w = watchLines(kc, ['-n', ns, 'get', 'configmaps', '-w', '-o', 'name']);
  t.teardown(() => w.stop());
  await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'configmap', 'before-renewal']);
  await w.next(/configmap\/before-renewal/);

  const renewed = await proxy.serving.rotator.forceRenew();
  const newSerial = certInfo(renewed.certPem).serial;
  t.not(newSerial.toUpperCase(), before.toUpperCase(), 'a new certificate was issued');

  await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'configmap', 'after-renewal']);
  await w.next(/configmap\/after-renewal/);
  t.pass('the open watch delivered an event after the renewal');

  t.equal((await servedSerial(proxy.url, proxy.caPem)).toUpperCase(), newSerial.toUpperCase(), 'a new connection gets the new certificate');
  const r = await kubectl(kc, ['-n', ns, 'get', 'configmaps', '-o', 'name']);
  t.match(r.stdout, /after-renewal/, 'kubectl on a new connection works');
});

t.test('a certificate replaced on disk (vcnet certs --renew) is picked up by the running proxy', async (t) => {
  const proxy = await startTestProxy(t, { checkIntervalMs: 200 });
  const before = await servedSerial(proxy.url, proxy.caPem);
  // What `vcnet certs --renew` does, against the running proxy's certificate directory.
  const { pair: fresh } = await ensureServingCert(proxy.config, true);
  t.ok(new CertStore(proxy.config.vcnet.certs.dir).load(SERVING_CERT), 'the new certificate is on disk');
  const want = certInfo(fresh.certPem).serial.toUpperCase();
  let got = before.toUpperCase();
  for (let i = 0; i < 50 && got !== want; i++) {
    await new Promise((r) => setTimeout(r, 100));
    got = (await servedSerial(proxy.url, proxy.caPem)).toUpperCase();
  }
  t.equal(got, want);
});
