// Reading and checking certificates. Only Node's crypto (OpenSSL) decides here: node-forge has a history
// of signature-verification CVEs (e.g. CVE-2022-24771, CVE-2022-24772) and must never verify anything.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { canonicalIP } from './ip.ts';
import type { CertInfo, CertSpec, KeyPair } from './types.ts';

const EKU_OID = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;

function parse(certPem: string): X509Certificate {
  try {
    return new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`not a PEM X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

function asList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * Splits Node's subjectAltName text ("DNS:a, IP Address:127.0.0.1, DNS:\"odd, name\""). Since Node
 * 17.3.1 (CVE-2021-44532) a value that could be mistaken for a separator is printed as a JSON string.
 */
function parseSubjectAltName(text: string | undefined): Array<{ kind: string; value: string }> {
  const entries: Array<{ kind: string; value: string }> = [];
  const entry = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  for (let m = entry.exec(text ?? ''); m !== null && m[0] !== ''; m = entry.exec(text ?? '')) {
    const raw = m[2]!;
    entries.push({ kind: m[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return entries;
}

/** Subject, validity, SANs and fingerprint of `certPem` (the first certificate when it holds a chain). */
export function certInfo(certPem: string): CertInfo {
  const x509 = parse(certPem);
  const subject = x509.toLegacyObject().subject as unknown as Record<string, unknown> | undefined;
  const sans = parseSubjectAltName(x509.subjectAltName);
  return {
    subject: x509.subject,
    commonName: asList(subject?.['CN'])[0] ?? '',
    organizations: asList(subject?.['O']),
    issuer: x509.issuer,
    serial: x509.serialNumber.toUpperCase(),
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    dnsNames: sans.filter((s) => s.kind === 'DNS').map((s) => s.value.toLowerCase()),
    ipAddresses: sans.filter((s) => s.kind === 'IP Address').map((s) => canonicalIP(s.value)),
    fingerprint256: x509.fingerprint256,
    isCA: x509.ca,
  };
}

/** True when `caPem` is a CA whose key signed `certPem` and whose subject is its issuer. False for garbage. */
export function isSignedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True when `pair.keyPem` is the private key of `pair.certPem`. False for garbage. */
export function keyMatchesCert(pair: KeyPair): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/**
 * True when the leaf `certPem` says what `spec` asks: the same CN, the same set of O (they are Kubernetes
 * groups, so an extra one would grant more than asked), every requested DNS and IP SAN (extra SANs are
 * harmless), and every requested usage. A certificate without extKeyUsage is valid for any usage
 * (RFC 5280 §4.2.1.12), as Go treats it. Validity is not checked here; see renewal.ts.
 */
export function coversSpec(certPem: string, spec: CertSpec): boolean {
  let info: CertInfo;
  let eku: string[] | undefined;
  try {
    info = certInfo(certPem);
    eku = new X509Certificate(certPem).keyUsage;
  } catch {
    return false;
  }
  if (info.isCA || info.commonName !== spec.commonName) return false;
  const wantOrgs = new Set(spec.organizations ?? []);
  const haveOrgs = new Set(info.organizations);
  if (wantOrgs.size !== haveOrgs.size || [...wantOrgs].some((o) => !haveOrgs.has(o))) return false;
  const dns = new Set(info.dnsNames);
  if (!(spec.dnsNames ?? []).every((name) => dns.has(name.toLowerCase().replace(/\.$/, '')))) return false;
  const ips = new Set(info.ipAddresses);
  try {
    if (!(spec.ipAddresses ?? []).every((ip) => ips.has(canonicalIP(ip)))) return false;
  } catch {
    return false;
  }
  return eku === undefined || spec.usages.every((usage) => eku.includes(EKU_OID[usage]));
}
