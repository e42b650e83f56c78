import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import t from 'tap';
import {
  certInfo, createCA, isSignedBy, issueCert, randomSerial, renewCA, validateSpec,
} from '../../../src/certs/index.ts';
import type { CertSpec, KeyPair } from '../../../src/certs/index.ts';

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

// forge is used here only to READ extensions that crypto.X509Certificate does not expose.
function extension(certPem: string, name: string): Record<string, unknown> | undefined {
  return forge.pki.certificateFromPem(certPem).getExtension(name) as Record<string, unknown> | undefined;
}

/** keyIdentifier [0] of the AuthorityKeyIdentifier SEQUENCE (RFC 5280 §4.2.1.1), which forge leaves raw. */
function authorityKeyId(certPem: string): string | undefined {
  const raw = extension(certPem, 'authorityKeyIdentifier')?.['value'];
  if (typeof raw !== 'string') return undefined;
  const [keyId] = forge.asn1.fromDer(raw).value as forge.asn1.Asn1[];
  return keyId && typeof keyId.value === 'string' ? forge.util.bytesToHex(keyId.value) : undefined;
}

const ca = await createCA('vcnet-ca');

t.test('creates a self-signed CA with CA:TRUE and certificate-signing key usage, both critical', async (t) => {
  const info = certInfo(ca.certPem);
  t.equal(info.commonName, 'vcnet-ca');
  t.ok(info.isCA);
  t.ok(isSignedBy(ca.certPem, ca.certPem), 'self-signed');
  t.match(extension(ca.certPem, 'basicConstraints'), { critical: true, cA: true });
  t.match(extension(ca.certPem, 'keyUsage'), { critical: true, keyCertSign: true, cRLSign: true });
  t.ok(extension(ca.certPem, 'subjectKeyIdentifier'), 'has a subjectKeyIdentifier');
  t.equal(new X509Certificate(ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength, 2048);
});

const validityCases = [
  { name: 'makes a CA valid for 3650 days by default', make: () => createCA('ca'), days: 3650 },
  { name: 'makes a CA valid for the requested days', make: () => createCA('ca', { validityDays: 30 }), days: 30 },
  { name: 'makes a leaf valid for 365 days by default', make: () => issueCert(ca, { commonName: 'x', usages: ['server'] }), days: 365 },
  { name: 'makes a leaf valid for the requested days', make: () => issueCert(ca, { commonName: 'x', usages: ['server'], validityDays: 7 }), days: 7 },
  // Past 2049 X.509 switches from UTCTime to GeneralizedTime (RFC 5280 §4.1.2.5).
  { name: 'encodes a notAfter beyond 2049 correctly', make: () => createCA('ca', { validityDays: 36500 }), days: 36500 },
];

for (const c of validityCases) {
  t.test(c.name, async (t) => {
    const before = Date.now();
    const info = certInfo((await c.make()).certPem);
    t.ok(Math.abs(info.notAfter.getTime() - (before + c.days * DAY)) < 5000, `notAfter ${info.notAfter.toISOString()} is ${c.days} days out`);
    t.ok(Math.abs(info.notBefore.getTime() - (before - HOUR)) < 5000, 'notBefore is an hour back, for clock skew');
  });
}

t.test('never lets a leaf outlive its CA', async (t) => {
  const shortCA = await createCA('short', { validityDays: 10 });
  const leaf = await issueCert(shortCA, { commonName: 'x', usages: ['server'], validityDays: 365 });
  t.equal(certInfo(leaf.certPem).notAfter.getTime(), certInfo(shortCA.certPem).notAfter.getTime());
});

const leafCases: Array<{ name: string; spec: CertSpec; expected: Record<string, unknown>; eku: Record<string, unknown> }> = [
  {
    name: 'issues a serving cert with DNS and IP SANs, IPv6 written any way',
    spec: { commonName: 'vcnet', dnsNames: ['localhost', 'VCNET.ns.svc.', '*.example.com'], ipAddresses: ['127.0.0.1', '0:0::1', 'fd00::10'], usages: ['server'] },
    expected: { commonName: 'vcnet', organizations: [], dnsNames: ['localhost', 'vcnet.ns.svc', '*.example.com'], ipAddresses: ['127.0.0.1', '::1', 'fd00::10'], isCA: false },
    eku: { serverAuth: true, clientAuth: undefined },
  },
  {
    name: 'issues a client cert whose CN is the user and whose O entries are the groups',
    spec: { commonName: 'jane_doe@example.com', organizations: ['system:masters', 'dev team', 'ünïcode'], usages: ['client'] },
    expected: { commonName: 'jane_doe@example.com', organizations: ['system:masters', 'dev team', 'ünïcode'], dnsNames: [], ipAddresses: [], isCA: false },
    eku: { serverAuth: undefined, clientAuth: true },
  },
  {
    name: 'issues a cert for both usages',
    spec: { commonName: 'webhook', ipAddresses: ['127.0.0.1'], usages: ['server', 'client'] },
    expected: { commonName: 'webhook', ipAddresses: ['127.0.0.1'] },
    eku: { serverAuth: true, clientAuth: true },
  },
];

for (const c of leafCases) {
  t.test(c.name, async (t) => {
    const leaf = await issueCert(ca, c.spec);
    t.match(certInfo(leaf.certPem), { ...c.expected, issuer: 'CN=vcnet-ca' });
    t.ok(isSignedBy(leaf.certPem, ca.certPem));
    t.match(extension(leaf.certPem, 'basicConstraints'), { critical: true, cA: false });
    t.match(extension(leaf.certPem, 'keyUsage'), { critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: false });
    t.match(extension(leaf.certPem, 'extKeyUsage'), c.eku);
    t.equal(authorityKeyId(leaf.certPem), extension(ca.certPem, 'subjectKeyIdentifier')?.['subjectKeyIdentifier'],
      'the authorityKeyIdentifier is the CA subjectKeyIdentifier');
  });
}

t.test('gives every certificate a random positive 16-byte serial that Go can parse', async (t) => {
  const serials = await Promise.all(Array.from({ length: 8 }, () => issueCert(ca, { commonName: 'x', usages: ['client'] })))
    .then((pairs) => pairs.map((p) => certInfo(p.certPem).serial));
  t.equal(new Set(serials).size, serials.length, 'certificate serials are distinct');
  const many = Array.from({ length: 2000 }, randomSerial);
  t.equal(new Set(many).size, many.length, 'generated serials are distinct');
  for (const serial of [...many, ...serials]) {
    const firstByte = parseInt(serial.slice(0, 2), 16);
    if (serial.length !== 32 || firstByte === 0 || firstByte >= 0x80) {
      t.fail(`serial ${serial} is not a minimal positive 16-byte INTEGER`);
      return;
    }
  }
  t.pass('all serials are minimal positive 16-byte INTEGERs');
});

/** A CA made the way other tools make them: forge's defaults (PrintableString names), signed by forge. */
function foreignCA(): KeyPair {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - HOUR);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY);
  const name = [{ shortName: 'C', value: 'US' }, { shortName: 'O', value: 'Acme Corp' }, { shortName: 'CN', value: 'acme root' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([{ name: 'basicConstraints', critical: true, cA: true }, { name: 'keyUsage', critical: true, keyCertSign: true }, { name: 'subjectKeyIdentifier' }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

const caCases: Array<{ name: string; make: () => Promise<KeyPair> | KeyPair; subject: string }> = [
  { name: 'a CA made by vcnet', make: () => ca, subject: 'CN=vcnet-ca' },
  { name: 'a CA with a non-ASCII name', make: () => createCA('Zürich Ünïcode CA'), subject: 'CN=Zürich Ünïcode CA' },
  { name: 'a CA made elsewhere with PrintableString names', make: foreignCA, subject: 'C=US\nO=Acme Corp\nCN=acme root' },
];

for (const c of caCases) {
  t.test(`issues from ${c.name} with the issuer name exactly as the CA wrote it`, async (t) => {
    const issuer = await c.make();
    const leaf = await issueCert(issuer, { commonName: 'x', usages: ['server'] });
    t.equal(certInfo(leaf.certPem).issuer, c.subject);
    t.ok(isSignedBy(leaf.certPem, issuer.certPem));
  });

  t.test(`re-signs ${c.name} with the same key, so what it issued stays valid`, async (t) => {
    const original = await c.make();
    const leaf = await issueCert(original, { commonName: 'x', usages: ['server'] });
    const renewed = renewCA(original, { validityDays: 100 });
    const [before, after] = [certInfo(original.certPem), certInfo(renewed.certPem)];
    t.equal(renewed.keyPem, original.keyPem);
    t.equal(after.subject, c.subject);
    t.equal(after.subject, before.subject);
    t.not(after.serial, before.serial);
    t.ok(after.isCA);
    t.ok(new X509Certificate(renewed.certPem).publicKey.equals(new X509Certificate(original.certPem).publicKey), 'same public key');
    t.equal(extension(renewed.certPem, 'subjectKeyIdentifier')?.['subjectKeyIdentifier'], extension(original.certPem, 'subjectKeyIdentifier')?.['subjectKeyIdentifier'], 'same subjectKeyIdentifier');
    t.ok(isSignedBy(leaf.certPem, renewed.certPem), 'a leaf of the old copy verifies against the new copy');
    const later = await issueCert(renewed, { commonName: 'y', usages: ['server'] });
    t.ok(isSignedBy(later.certPem, original.certPem), 'a leaf of the new copy verifies against the old copy');
  });
}

const invalidSpecs: Array<{ name: string; spec: unknown; message: RegExp }> = [
  { name: 'refuses an empty commonName', spec: { commonName: ' ', usages: ['server'] }, message: /commonName must be a non-empty string/ },
  { name: 'refuses a spec without usages', spec: { commonName: 'x', usages: [] }, message: /usages must list 'server' and\/or 'client'/ },
  { name: 'refuses an unknown usage', spec: { commonName: 'x', usages: ['codeSigning'] }, message: /usages entry "codeSigning"/ },
  { name: 'refuses an IP address among dnsNames', spec: { commonName: 'x', dnsNames: ['10.0.0.1'], usages: ['server'] }, message: /dnsNames entry "10.0.0.1" is an IP address; put it in ipAddresses/ },
  { name: 'refuses a wildcard that is not the leftmost label', spec: { commonName: 'x', dnsNames: ['a.*.example.com'], usages: ['server'] }, message: /dnsNames entry "a.\*.example.com" is not a DNS name/ },
  { name: 'refuses a DNS name with a space', spec: { commonName: 'x', dnsNames: ['my host'], usages: ['server'] }, message: /dnsNames entry "my host"/ },
  { name: 'refuses an IPv6 address with a zone', spec: { commonName: 'x', ipAddresses: ['fe80::1%eth0'], usages: ['server'] }, message: /ipAddresses entry "fe80::1%eth0" is not an IPv4 or IPv6 address/ },
  { name: 'refuses a host name among ipAddresses', spec: { commonName: 'x', ipAddresses: ['localhost'], usages: ['server'] }, message: /ipAddresses entry "localhost"/ },
  { name: 'refuses a zero validity', spec: { commonName: 'x', usages: ['server'], validityDays: 0 }, message: /validityDays must be a positive number of days, got 0/ },
  { name: 'refuses an empty organization', spec: { commonName: 'x', organizations: [''], usages: ['client'] }, message: /organizations entries must be non-empty strings/ },
];

for (const c of invalidSpecs) {
  t.test(c.name, async (t) => {
    t.throws(() => validateSpec(c.spec as CertSpec), { message: c.message });
    await t.rejects(issueCert(ca, c.spec as CertSpec), { message: c.message });
  });
}

t.test('refuses to issue from a CA whose key is not its own', async (t) => {
  const other = await createCA('other');
  await t.rejects(issueCert({ certPem: ca.certPem, keyPem: other.keyPem }, { commonName: 'x', usages: ['server'] }), {
    message: /the CA key does not belong to the CA certificate "CN=vcnet-ca"/,
  });
});

t.test('refuses to issue from a leaf certificate', async (t) => {
  const leaf = await issueCert(ca, { commonName: 'leaf', usages: ['server'] });
  await t.rejects(issueCert(leaf, { commonName: 'x', usages: ['server'] }), { message: /"CN=leaf" is not a CA/ });
});
