import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { certInfo, CertStore, createCA, isSignedBy, issueCert } from '../../../src/certs/index.ts';
import type { CertSpec, KeyPair } from '../../../src/certs/index.ts';

const DAY = 24 * 60 * 60 * 1000;
const serial = (pair: KeyPair) => certInfo(pair.certPem).serial;

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'vcnet-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ca = await createCA('vcnet-ca');
const spec: CertSpec = { commonName: 'vcnet', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], usages: ['server'] };

for (const umask of [0o022, 0o077, 0o000]) {
  t.test(`writes the key 0600, the cert 0644 and a new directory 0700 (umask ${umask.toString(8).padStart(3, '0')})`, async (t) => {
    const previous = process.umask(umask);
    t.teardown(() => process.umask(previous));
    const dir = join(tempDir(t), 'nested', 'certs');
    const store = new CertStore(dir);
    await store.ensureCert('proxy', ca, spec);
    t.equal(statSync(dir).mode & 0o777, 0o700, 'directory');
    t.equal(statSync(store.paths('proxy').key).mode & 0o777, 0o600, 'key');
    t.equal(statSync(store.paths('proxy').cert).mode & 0o777, 0o644, 'cert');
    t.same(readdirSync(dir).sort(), ['proxy.crt', 'proxy.key'], 'no temp files left behind');
  });
}

t.test('reuses the stored cert and CA across CertStore instances (a restart)', async (t) => {
  const dir = tempDir(t);
  const firstCA = await new CertStore(dir).ensureCA('ca', 'vcnet-ca');
  const first = await new CertStore(dir).ensureCert('proxy', firstCA, spec);
  const secondCA = await new CertStore(dir).ensureCA('ca', 'vcnet-ca');
  const second = await new CertStore(dir).ensureCert('proxy', secondCA, spec);
  t.equal(serial(secondCA), serial(firstCA));
  t.equal(secondCA.keyPem, firstCA.keyPem);
  t.equal(first.issued, true);
  t.equal(second.issued, false);
  t.equal(serial(second.pair), serial(first.pair));
  t.same(new CertStore(dir).load('proxy'), first.pair);
});

const reissueCases: Array<{ name: string; spec?: CertSpec; ca?: 'other'; now?: number; renewBeforeDays?: number; first?: Partial<CertSpec>; issued: boolean }> = [
  { name: 'reuses the cert when nothing changed', issued: false },
  { name: 'reuses the cert when a SAN was dropped', spec: { ...spec, dnsNames: [] }, issued: false },
  { name: 're-issues when a DNS SAN is added', spec: { ...spec, dnsNames: ['localhost', 'vcnet.example.com'] }, issued: true },
  { name: 're-issues when an IP SAN is added', spec: { ...spec, ipAddresses: ['127.0.0.1', '::1', '10.96.0.1'] }, issued: true },
  { name: 're-issues when the groups change', spec: { ...spec, organizations: ['system:masters'] }, issued: true },
  { name: 're-issues when a usage is added', spec: { ...spec, usages: ['server', 'client'] }, issued: true },
  { name: 're-issues when the CA changed', ca: 'other', issued: true },
  { name: 'reuses a one-year cert 300 days in', now: 300, issued: false },
  { name: 're-issues a one-year cert within 30 days of expiry', now: 336, issued: true },
  { name: 're-issues within a custom renewBeforeDays', now: 300, renewBeforeDays: 90, issued: true },
  { name: 're-issues an expired cert', now: 400, issued: true },
  { name: 'reuses a 30-day cert before 2/3 of its lifetime', first: { validityDays: 30 }, now: 19, issued: false },
  { name: 're-issues a 30-day cert past 2/3 of its lifetime', first: { validityDays: 30 }, now: 21, issued: true },
  { name: 're-issues a cert that is not valid yet (the clock went back)', now: -1, issued: true },
];

const otherCA = await createCA('another-ca');

for (const c of reissueCases) {
  t.test(c.name, async (t) => {
    const store = new CertStore(tempDir(t));
    const start = Date.now();
    const first = await store.ensureCert('proxy', ca, { ...spec, ...c.first }, { now: new Date(start) });
    const signer = c.ca === 'other' ? otherCA : ca;
    const now = new Date(start + (c.now ?? 0) * DAY);
    const second = await store.ensureCert('proxy', signer, c.spec ?? spec, { now, renewBeforeDays: c.renewBeforeDays });
    t.equal(second.issued, c.issued);
    t.equal(serial(second.pair) !== serial(first.pair), c.issued, c.issued ? 'new serial' : 'same serial');
    t.ok(isSignedBy(second.pair.certPem, signer.certPem), 'signed by the current CA');
    t.same(store.load('proxy'), second.pair, 'what is returned is what is stored');
  });
}

t.test('re-signs a CA in the last fifth of its life with the same key, so issued certs stay valid', async (t) => {
  const store = new CertStore(tempDir(t));
  const start = Date.now();
  const original = await store.ensureCA('ca', 'vcnet-ca', { validityDays: 100, now: new Date(start) });
  const leaf = await issueCert(original, spec);
  const kept = await store.ensureCA('ca', 'vcnet-ca', { validityDays: 100, now: new Date(start + 75 * DAY) });
  t.equal(serial(kept), serial(original), 'kept 75 days in');
  const renewed = await store.ensureCA('ca', 'vcnet-ca', { validityDays: 100, now: new Date(start + 85 * DAY) });
  t.not(serial(renewed), serial(original), 'renewed 85 days in');
  t.equal(renewed.keyPem, original.keyPem, 'same key');
  t.ok(isSignedBy(leaf.certPem, renewed.certPem), 'an old leaf verifies against the renewed CA');
  t.ok(certInfo(renewed.certPem).notAfter.getTime() > start + 180 * DAY, 'the renewed CA runs 100 days from the renewal');
  t.same(store.load('ca'), renewed);
});

t.test('keeps an existing CA even when asked for another common name', async (t) => {
  const store = new CertStore(tempDir(t));
  const first = await store.ensureCA('ca', 'first-name');
  const second = await store.ensureCA('ca', 'second-name');
  t.equal(serial(second), serial(first));
  t.equal(certInfo(second.certPem).commonName, 'first-name');
});

const brokenCases: Array<{ name: string; breakIt: (store: CertStore, pair: KeyPair) => void }> = [
  { name: 'the cert file is missing', breakIt: (store) => rmSync(store.paths('ca').cert) },
  { name: 'the key file is missing', breakIt: (store) => rmSync(store.paths('ca').key) },
  { name: 'the cert file is garbage', breakIt: (store) => writeFileSync(store.paths('ca').cert, 'garbage') },
  { name: 'the key file is truncated', breakIt: (store, pair) => writeFileSync(store.paths('ca').key, pair.keyPem.slice(0, 200)) },
];

for (const c of brokenCases) {
  t.test(`treats a pair as missing and re-creates the CA when ${c.name}`, async (t) => {
    const store = new CertStore(tempDir(t));
    const first = await store.ensureCA('ca', 'vcnet-ca');
    c.breakIt(store, first);
    t.equal(store.load('ca'), undefined);
    const second = await store.ensureCA('ca', 'vcnet-ca');
    t.not(serial(second), serial(first));
    t.same(store.load('ca'), second);
  });
}

t.test('treats a key that belongs to another cert as missing', async (t) => {
  const store = new CertStore(tempDir(t));
  const { pair } = await store.ensureCert('proxy', ca, spec);
  writeFileSync(store.paths('proxy').key, ca.keyPem);
  t.equal(store.load('proxy'), undefined);
  const again = await store.ensureCert('proxy', ca, spec);
  t.equal(again.issued, true);
  t.not(serial(again.pair), serial(pair));
});

t.test('refuses to save a key that does not belong to the cert', async (t) => {
  const store = new CertStore(tempDir(t));
  t.throws(() => store.save('proxy', { certPem: ca.certPem, keyPem: otherCA.keyPem }), {
    message: /refusing to save "proxy" in .*: the key does not belong to the certificate/,
  });
  t.equal(store.load('proxy'), undefined);
});

t.test('refuses names that would leave the directory', async (t) => {
  const store = new CertStore(tempDir(t));
  for (const name of ['../ca', 'a/b', '', '.hidden']) {
    t.throws(() => store.paths(name), { message: /must be a plain file name/ }, name);
  }
});

t.test('names the file it could not read, rather than replacing what it cannot see', async (t) => {
  const store = new CertStore(tempDir(t));
  await store.ensureCA('ca', 'vcnet-ca');
  rmSync(store.paths('ca').key);
  mkdirSync(store.paths('ca').key); // unreadable as a file, like a key we lack permission for
  t.throws(() => store.load('ca'), { message: /^cannot read .*ca\.key: EISDIR/ });
  await t.rejects(store.ensureCA('ca', 'vcnet-ca'), { message: /^cannot read .*ca\.key: / });
});

t.test('names the file it could not write', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'certs'), 'a file where the directory should be');
  const store = new CertStore(join(dir, 'certs'));
  await t.rejects(store.ensureCert('proxy', ca, spec), { message: /^cannot write .*certs\/proxy\.key: ENOTDIR/ });
  t.same(readdirSync(dir), ['certs'], 'no temp file left behind');
});

t.test('replaces the stored files by rename, so a reader that opened the old cert reads it whole', async (t) => {
  const store = new CertStore(tempDir(t));
  const { pair } = await store.ensureCert('proxy', ca, spec);
  const fd = openSync(store.paths('proxy').cert, 'r');
  t.teardown(() => closeSync(fd));
  const next = await issueCert(ca, spec);
  store.save('proxy', next);
  t.equal(readFileSync(fd, 'utf8'), pair.certPem, 'the open file still holds the old cert');
  t.same(store.load('proxy'), next, 'the path holds the new pair');
});
