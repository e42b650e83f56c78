import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Test } from 'tap';
import { certInfo, CertRotator, CertStore, createCA, issueCert } from '../../../src/certs/index.ts';
import type { CertSpec, KeyPair } from '../../../src/certs/index.ts';
import { connect, echo, listen } from './fixtures/loopback.ts';

const DAY = 24 * 60 * 60 * 1000;
const serial = (pair: KeyPair) => certInfo(pair.certPem).serial;

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'vcnet-rotator-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function rotator(t: Test, opts: Partial<ConstructorParameters<typeof CertRotator>[0]> = {}): CertRotator {
  const r = new CertRotator({ store: new CertStore(tempDir(t)), name: 'proxy', ca, spec, ...opts });
  t.teardown(() => r.stop());
  return r;
}

const ca = await createCA('vcnet-ca');
const spec: CertSpec = { commonName: 'vcnet', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], usages: ['server'] };

t.test('swaps in a renewed cert without dropping an open connection; new connections see the new serial', async (t) => {
  const r = rotator(t);
  const first = await r.start();
  const listening = await listen(t, '127.0.0.1', { key: first.keyPem, cert: first.certPem });
  r.on('renewed', (pair: KeyPair) => listening.server.setSecureContext({ key: pair.keyPem, cert: pair.certPem }));

  const before = await connect(t, { host: '127.0.0.1', port: listening.port, ca: ca.certPem });
  t.equal(before.socket?.getPeerCertificate().serialNumber, serial(first), 'the first connection sees the first cert');

  const renewed = once(r, 'renewed') as Promise<[KeyPair]>;
  const second = await r.forceRenew();
  const [emitted] = await renewed;
  t.same(emitted, second, "'renewed' carries the new pair");
  t.not(serial(second), serial(first), 'the new cert has a new serial');
  t.same(r.current(), second);

  t.equal(await echo(before.socket!, 'still there?'), 'still there?', 'the open connection keeps working');
  t.equal(before.socket?.getPeerCertificate().serialNumber, serial(first), 'and keeps its original cert');
  const after = await connect(t, { host: '127.0.0.1', port: listening.port, ca: ca.certPem });
  t.equal(after.socket?.getPeerCertificate().serialNumber, serial(second), 'a new connection sees the new cert');
});

t.test('saves a forced renewal, so a restart picks it up', async (t) => {
  const store = new CertStore(tempDir(t));
  const r = rotator(t, { store });
  await r.start();
  const renewed = await r.forceRenew();
  t.same(store.load('proxy'), renewed);
  const restarted = rotator(t, { store });
  t.equal(serial(await restarted.start()), serial(renewed));
});

t.test('reuses a valid stored cert on start, without emitting', async (t) => {
  const store = new CertStore(tempDir(t));
  const { pair } = await store.ensureCert('proxy', ca, spec);
  const r = rotator(t, { store });
  let emitted = 0;
  r.on('renewed', () => emitted++);
  t.equal(serial(await r.start()), serial(pair));
  t.equal(serial(await r.check()), serial(pair), 'a check of a fresh cert keeps it');
  t.equal(emitted, 0);
});

t.test('renews on its timer once the cert is due', async (t) => {
  let now = Date.now();
  const r = rotator(t, { checkIntervalMs: 20, clock: () => new Date(now) });
  const first = await r.start();
  now += 340 * DAY; // inside the default 30-day window of a 365-day cert
  // The rotator's timer is unref'd by design, so this ref'd timeout is what keeps the test process alive.
  const timeout = new AbortController();
  const renewed = await Promise.race([
    once(r, 'renewed').then(([pair]) => pair as KeyPair),
    sleep(5000, undefined, { signal: timeout.signal }).catch(() => undefined),
  ]);
  timeout.abort();
  t.ok(renewed, "'renewed' was emitted by the timer");
  t.not(renewed && serial(renewed), serial(first));
  t.ok(renewed && certInfo(renewed.certPem).notAfter.getTime() > now + 300 * DAY, 'the new cert is valid from the current time');
});

t.test('adopts a cert replaced on disk (by `vcnet certs` or another process) at the next check', async (t) => {
  const store = new CertStore(tempDir(t));
  const r = rotator(t, { store });
  await r.start();
  const replacement = await issueCert(ca, spec);
  store.save('proxy', replacement);
  const renewed = once(r, 'renewed') as Promise<[KeyPair]>;
  t.equal(serial(await r.check()), serial(replacement));
  t.equal(serial((await renewed)[0]), serial(replacement));
});

t.test("reports a failed check as 'error' and keeps serving the current cert", async (t) => {
  const dir = tempDir(t);
  let now = Date.now();
  const r = rotator(t, { store: new CertStore(join(dir, 'certs')), clock: () => new Date(now) });
  const first = await r.start();
  rmSync(join(dir, 'certs'), { recursive: true });
  writeFileSync(join(dir, 'certs'), 'not a directory'); // renewal cannot be saved
  now += 340 * DAY;
  const errors: Error[] = [];
  r.on('error', (err: Error) => errors.push(err));
  await t.rejects(r.check(), { message: /cannot write/ });
  t.equal(errors.length, 1);
  t.match(errors[0]?.message, /cannot write .*proxy\.key/);
  t.equal(serial(r.current()), serial(first));
});

t.test('turns a failed check into a process warning when nobody listens for errors', async (t) => {
  const dir = tempDir(t);
  let now = Date.now();
  const r = rotator(t, { store: new CertStore(join(dir, 'certs')), clock: () => new Date(now) });
  await r.start();
  rmSync(join(dir, 'certs'), { recursive: true });
  writeFileSync(join(dir, 'certs'), 'not a directory');
  now += 340 * DAY;
  const warning = once(process, 'warning') as Promise<[Error]>;
  await t.rejects(r.check());
  const [w] = await warning;
  t.equal(w.name, 'VcnetCertRotationWarning');
  t.match(w.message, /certificate "proxy" could not be checked or renewed: cannot write/);
});

t.test('runs a check and a forced renewal one after the other, never together', async (t) => {
  const r = rotator(t);
  await r.start();
  const serials = new Set<string>();
  r.on('renewed', (pair: KeyPair) => serials.add(serial(pair)));
  const results = await Promise.all([r.forceRenew(), r.check(), r.forceRenew(), r.check()]);
  t.equal(serial(results[1]), serial(results[0]), 'the check after a renewal keeps the renewed cert');
  t.equal(serial(results[3]), serial(results[2]), 'and again');
  t.equal(serials.size, 2, 'exactly the two forced renewals were emitted');
});

const badOptions = [
  { name: 'refuses a zero check interval', checkIntervalMs: 0 },
  { name: 'refuses a negative check interval', checkIntervalMs: -5 },
];

for (const c of badOptions) {
  t.test(c.name, async (t) => {
    t.throws(() => rotator(t, { checkIntervalMs: c.checkIntervalMs }), { message: /CertRotator "proxy": checkIntervalMs must be a positive number/ });
  });
}

t.test('says current() was called too early rather than returning nothing', async (t) => {
  t.throws(() => rotator(t).current(), { message: /current\(\) called before start\(\) resolved/ });
});
