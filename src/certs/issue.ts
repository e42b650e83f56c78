import { createPrivateKey, generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { canonicalIP, isIPLiteral, ipOctets } from './ip.ts';
import type { CertSpec, KeyPair } from './types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
export const DEFAULT_CERT_VALIDITY_DAYS = 365;
/** notBefore is backdated so that a peer whose clock runs behind ours still accepts a fresh cert. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

const generateKeyPairAsync = promisify(generateKeyPair);

// node-forge builds the certificate; Node's native crypto generates keys and signs (constant-time,
// and node-forge's pure-JS RSA would be the slow part). forge only ever PARSES here, never verifies.
const { pki, asn1 } = forge;
// getTBSCertificate is public in node-forge's x509.js but missing from @types/node-forge.
const getTBSCertificate = (pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 })
  .getTBSCertificate;

/** RSA-2048: node-forge parses RSA keys only, and 2048 bits is what kubeadm issues. */
async function newKey(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * A positive serial of 16 random bytes (RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B Forum asks
 * for 64+ random bits). The high bit is cleared so the INTEGER is positive, and the first octet is never
 * zero because Go's x509 parser rejects a non-minimal INTEGER encoding ("x509: malformed serial number").
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** X.509 times have whole seconds; rounding here keeps certInfo() equal to what was asked for. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function validityDays(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${what}: validityDays must be a positive number of days, got ${String(value)}`);
  }
  return value;
}

const DNS_LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/i;

/** Throws an error naming the offending field when `spec` cannot become a certificate. */
export function validateSpec(spec: CertSpec): void {
  const where = `certificate spec for "${String(spec?.commonName)}"`;
  if (typeof spec?.commonName !== 'string' || spec.commonName.trim() === '') {
    throw new TypeError('certificate spec: commonName must be a non-empty string');
  }
  if (!Array.isArray(spec.usages) || spec.usages.length === 0) {
    throw new TypeError(`${where}: usages must list 'server' and/or 'client'`);
  }
  for (const usage of spec.usages) {
    if (usage !== 'server' && usage !== 'client') {
      throw new TypeError(`${where}: usages entry "${String(usage)}" is neither 'server' nor 'client'`);
    }
  }
  for (const org of spec.organizations ?? []) {
    if (typeof org !== 'string' || org === '') throw new TypeError(`${where}: organizations entries must be non-empty strings`);
  }
  for (const dns of spec.dnsNames ?? []) {
    if (typeof dns === 'string' && isIPLiteral(dns)) {
      // Go matches IP hosts against IP SANs only, so an IP in a DNS SAN would silently never match.
      throw new TypeError(`${where}: dnsNames entry "${dns}" is an IP address; put it in ipAddresses`);
    }
    const labels = typeof dns === 'string' ? dns.replace(/\.$/, '').split('.') : [];
    const wildcardOk = labels[0] === '*' && labels.length > 1;
    if (labels.length === 0 || !labels.every((label, i) => DNS_LABEL.test(label) || (i === 0 && wildcardOk))) {
      throw new TypeError(`${where}: dnsNames entry "${String(dns)}" is not a DNS name (a wildcard may only be the whole leftmost label)`);
    }
  }
  for (const ip of spec.ipAddresses ?? []) {
    if (typeof ip !== 'string' || !isIPLiteral(ip)) {
      throw new TypeError(`${where}: ipAddresses entry "${String(ip)}" is not an IPv4 or IPv6 address`);
    }
  }
  validityDays(spec.validityDays, DEFAULT_CERT_VALIDITY_DAYS, where);
}

// UTF8String rather than forge's default PrintableString: PrintableString has no "_" or "@", and Go's
// parser refuses such a certificate outright (user names like "jane_doe@example.com" must work).
function subjectAttrs(commonName: string, organizations: string[] = []): forge.pki.CertificateField[] {
  const utf8 = asn1.Type.UTF8 as unknown as forge.asn1.Class;
  return [
    ...organizations.map((value) => ({ shortName: 'O', value, valueTagClass: utf8 })),
    { shortName: 'CN', value: commonName, valueTagClass: utf8 },
  ];
}

type Asn1 = forge.asn1.Asn1;

/** Names spliced into the TBSCertificate as already encoded (see rawSubject). */
interface RawNames {
  issuer?: Asn1;
  subject?: Asn1;
}

/** Signs with Node's crypto (PKCS#1 v1.5, SHA-256), the algorithm Go and every TLS stack accept. */
function signWith(cert: forge.pki.Certificate, caKeyPem: string, names: RawNames = {}): string {
  cert.signatureOid = cert.siginfo.algorithmOid = pki.oids['sha256WithRSAEncryption']!;
  const tbs = getTBSCertificate(cert);
  // TBSCertificate (RFC 5280 §4.1): [0] version, serialNumber, signature, issuer, validity, subject, ...
  const fields = tbs.value as Asn1[];
  if (names.issuer) fields[3] = names.issuer;
  if (names.subject) fields[5] = names.subject;
  cert.tbsCertificate = tbs;
  const der = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', der, createPrivateKey(caKeyPem)).toString('binary');
  return pki.certificateToPem(cert);
}

/**
 * The subject Name of a certificate exactly as it is encoded. A child's issuer must match it, and Go
 * looks parents up by the raw bytes (crypto/x509 CertPool.findPotentialParents). Re-encoding the parsed
 * attributes with forge is not safe: it writes PrintableString by default, and it UTF-8-encodes an
 * already encoded UTF8String a second time, which breaks any non-ASCII CA name.
 */
function rawSubject(certPem: string): Asn1 {
  const block = forge.pem.decode(certPem).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block in the PEM');
  const [tbs] = asn1.fromDer(block.body).value as Asn1[];
  const fields = (tbs?.value ?? []) as Asn1[];
  const hasVersion = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC;
  const subject = fields[(hasVersion ? 1 : 0) + 4];
  if (!subject) throw new Error('the certificate has no subject');
  return subject;
}

interface Validity {
  now?: Date;
}

function selfSignedCA(opts: {
  subject: forge.pki.CertificateField[] | Asn1;
  key: { publicKeyPem: string; privateKeyPem: string };
  /** Kept on renewal: leaves carry it as their authorityKeyIdentifier, and OpenSSL matches them. */
  keyIdentifier?: string;
  days: number;
  now: Date;
}): KeyPair {
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(opts.key.publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = wholeSeconds(opts.now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = wholeSeconds(opts.now.getTime() + opts.days * DAY_MS);
  const raw = Array.isArray(opts.subject) ? undefined : opts.subject;
  if (Array.isArray(opts.subject)) {
    cert.setSubject(opts.subject);
    cert.setIssuer(opts.subject);
  }
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true },
    // digitalSignature as well, like client-go's NewSelfSignedCACert (k8s.io/client-go/util/cert/cert.go).
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    opts.keyIdentifier === undefined
      ? { name: 'subjectKeyIdentifier' }
      : { name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, opts.keyIdentifier) },
  ]);
  const certPem = signWith(cert, opts.key.privateKeyPem, raw ? { issuer: raw, subject: raw } : {});
  return { certPem, keyPem: opts.key.privateKeyPem };
}

/** A new self-signed CA with a fresh RSA-2048 key, valid `validityDays` (default 3650). */
export async function createCA(commonName: string, opts: { validityDays?: number } & Validity = {}): Promise<KeyPair> {
  if (typeof commonName !== 'string' || commonName.trim() === '') throw new TypeError('createCA: commonName must be a non-empty string');
  const days = validityDays(opts.validityDays, DEFAULT_CA_VALIDITY_DAYS, `CA "${commonName}"`);
  return selfSignedCA({ subject: subjectAttrs(commonName), key: await newKey(), days, now: opts.now ?? new Date() });
}

/**
 * The same CA re-signed with its own key: byte-identical subject, same key and subjectKeyIdentifier,
 * new serial and validity. Certificates it issued keep verifying against either copy, and clients that
 * trust the old copy trust leaves issued after the renewal, because chain building matches name and key.
 */
export function renewCA(ca: KeyPair, opts: { validityDays?: number } & Validity = {}): KeyPair {
  const caCert = checkCA(ca, 'renewCA');
  const days = validityDays(opts.validityDays, DEFAULT_CA_VALIDITY_DAYS, 'renewCA');
  return selfSignedCA({
    subject: rawSubject(ca.certPem),
    key: { publicKeyPem: pki.publicKeyToPem(caCert.publicKey), privateKeyPem: ca.keyPem },
    keyIdentifier: keyIdentifier(caCert),
    days,
    now: opts.now ?? new Date(),
  });
}

/** Checks with Node's crypto that `ca` is a usable RSA CA, then parses it with forge to read its fields. */
function checkCA(ca: KeyPair, what: string): forge.pki.Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(ca.certPem);
  } catch (err) {
    throw new Error(`${what}: the CA certificate is not a PEM X.509 certificate (${(err as Error).message})`, { cause: err });
  }
  if (!x509.ca) throw new Error(`${what}: the CA certificate "${x509.subject}" is not a CA (basicConstraints CA:TRUE is missing)`);
  let keyMatches: boolean;
  try {
    const key = createPrivateKey(ca.keyPem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`the key is ${String(key.asymmetricKeyType)}, vcnet signs with RSA only`);
    keyMatches = x509.checkPrivateKey(key);
  } catch (err) {
    throw new Error(`${what}: the CA key is unusable: ${(err as Error).message}`, { cause: err });
  }
  if (!keyMatches) throw new Error(`${what}: the CA key does not belong to the CA certificate "${x509.subject}"`);
  return pki.certificateFromPem(ca.certPem);
}

/** The octets of the CA's subjectKeyIdentifier, which every issued cert repeats as authorityKeyIdentifier. */
function keyIdentifier(caCert: forge.pki.Certificate): string {
  const ext = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return ext?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ext.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();
}

/**
 * A leaf certificate signed by `ca` with a fresh RSA-2048 key. It never outlives the CA: notAfter is
 * capped at the CA's notAfter (a leaf past its CA fails verification anyway; the cap makes renewal see it).
 */
export async function issueCert(ca: KeyPair, spec: CertSpec, opts: Validity = {}): Promise<KeyPair> {
  validateSpec(spec);
  const caCert = checkCA(ca, `issueCert "${spec.commonName}"`);
  const now = (opts.now ?? new Date()).getTime();
  const days = validityDays(spec.validityDays, DEFAULT_CERT_VALIDITY_DAYS, spec.commonName);
  const key = await newKey();

  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(key.publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = wholeSeconds(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = wholeSeconds(Math.min(now + days * DAY_MS, caCert.validity.notAfter.getTime()));
  cert.setSubject(subjectAttrs(spec.commonName, spec.organizations));

  // Go compares host names case-insensitively and without a trailing dot; store them that way, once each.
  const dnsNames = new Set((spec.dnsNames ?? []).map((name) => name.toLowerCase().replace(/\.$/, '')));
  const ipAddresses = new Set((spec.ipAddresses ?? []).map(canonicalIP));
  const altNames = [
    ...[...dnsNames].map((value) => ({ type: 2, value })),
    ...[...ipAddresses].map((ip) => ({ type: 7, value: ipOctets(ip).toString('binary') })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    // keyEncipherment: RSA key exchange in TLS 1.2 (RFC 5246 §7.4.2); digitalSignature: (EC)DHE and TLS 1.3.
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: spec.usages.includes('server'), clientAuth: spec.usages.includes('client') },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifier(caCert) },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  return { certPem: signWith(cert, ca.keyPem, { issuer: rawSubject(ca.certPem) }), keyPem: key.privateKeyPem };
}
