import t from 'tap';
import { certInfo, coversSpec, createCA, isSignedBy, issueCert, keyMatchesCert } from '../../../src/certs/index.ts';
import type { CertSpec } from '../../../src/certs/index.ts';

const ca = await createCA('vcnet-ca');
const otherCA = await createCA('vcnet-ca'); // same name, different key: must not pass for ca
const spec: CertSpec = {
  commonName: 'vcnet',
  organizations: ['a', 'b'],
  dnsNames: ['localhost', 'vcnet.ns.svc'],
  ipAddresses: ['127.0.0.1', '::1'],
  usages: ['server', 'client'],
};
const leaf = await issueCert(ca, spec);

const coverCases: Array<{ name: string; spec: CertSpec; covered: boolean }> = [
  { name: 'covers its own spec', spec, covered: true },
  { name: 'covers a spec with fewer SANs (extra SANs are harmless)', spec: { ...spec, dnsNames: ['localhost'], ipAddresses: [] }, covered: true },
  { name: 'covers the same SANs written differently', spec: { ...spec, dnsNames: ['LOCALHOST.'], ipAddresses: ['0:0:0:0:0:0:0:1'] }, covered: true },
  { name: 'covers the groups in another order', spec: { ...spec, organizations: ['b', 'a'] }, covered: true },
  { name: 'covers a single requested usage of a two-usage cert', spec: { ...spec, usages: ['client'] }, covered: true },
  { name: 'does not cover a new DNS SAN', spec: { ...spec, dnsNames: [...spec.dnsNames!, 'vcluster.example.com'] }, covered: false },
  { name: 'does not cover a new IP SAN', spec: { ...spec, ipAddresses: [...spec.ipAddresses!, '10.96.0.1'] }, covered: false },
  { name: 'does not cover another common name', spec: { ...spec, commonName: 'other' }, covered: false },
  { name: 'does not cover an extra group (it would grant more than the cert does)', spec: { ...spec, organizations: ['a', 'b', 'c'] }, covered: false },
  { name: 'does not cover fewer groups (the cert would grant more than asked)', spec: { ...spec, organizations: ['a'] }, covered: false },
];

for (const c of coverCases) {
  t.test(c.name, async (t) => {
    t.equal(coversSpec(leaf.certPem, c.spec), c.covered);
  });
}

t.test('does not cover a usage the cert lacks', async (t) => {
  const serverOnly = await issueCert(ca, { commonName: 'vcnet', usages: ['server'] });
  t.notOk(coversSpec(serverOnly.certPem, { commonName: 'vcnet', usages: ['server', 'client'] }));
});

t.test('never takes a CA for a leaf', async (t) => {
  t.notOk(coversSpec(ca.certPem, { commonName: 'vcnet-ca', usages: ['server'] }));
});

const signedCases = [
  { name: 'accepts a leaf signed by its CA', cert: leaf.certPem, ca: ca.certPem, signed: true },
  { name: 'accepts a self-signed CA as its own issuer', cert: ca.certPem, ca: ca.certPem, signed: true },
  { name: 'rejects a CA with the same name but another key', cert: leaf.certPem, ca: otherCA.certPem, signed: false },
  { name: 'rejects a leaf as the issuer of itself', cert: leaf.certPem, ca: leaf.certPem, signed: false },
  { name: 'rejects garbage without throwing', cert: 'not a cert', ca: ca.certPem, signed: false },
];

for (const c of signedCases) {
  t.test(c.name, async (t) => {
    t.equal(isSignedBy(c.cert, c.ca), c.signed);
  });
}

t.test('tells a matching key from a foreign one', async (t) => {
  t.ok(keyMatchesCert(leaf));
  t.notOk(keyMatchesCert({ certPem: leaf.certPem, keyPem: ca.keyPem }));
  t.notOk(keyMatchesCert({ certPem: leaf.certPem, keyPem: 'garbage' }));
});

t.test('reports the serial as 32 upper-case hex digits, the SHA-256 fingerprint and one RDN per subject line', async (t) => {
  const info = certInfo(leaf.certPem);
  t.match(info.serial, /^[0-9A-F]{32}$/);
  t.match(info.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.equal(info.subject, 'O=a\nO=b\nCN=vcnet');
});

t.test('names the problem when given something that is not a certificate', async (t) => {
  t.throws(() => certInfo('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), { message: /^not a PEM X\.509 certificate: / });
});
