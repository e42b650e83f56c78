// CA and certificates for vcnet and the local control planes. Imports only node:* and node-forge.
//
//   types.ts    KeyPair, CertSpec, CertInfo
//   issue.ts    createCA, renewCA, issueCert: node-forge builds, Node's crypto makes keys and signs
//   inspect.ts  certInfo, isSignedBy, coversSpec, keyMatchesCert: crypto.X509Certificate only, never forge
//   renewal.ts  when a leaf or a CA is due for renewal (the rules are documented there)
//   store.ts    CertStore: <dir>/<name>.crt|.key on disk, atomic writes, ensureCA / ensureCert
//   rotator.ts  CertRotator: timer-driven renewal, 'renewed' events for server.setSecureContext()
//   sans.ts     servingSANs: the proxy's default DNS and IP SANs
//   ip.ts       IP literal parsing and encoding shared by the above
export type { CertInfo, CertSpec, KeyPair } from './types.ts';
export {
  createCA, DEFAULT_CA_VALIDITY_DAYS, DEFAULT_CERT_VALIDITY_DAYS, issueCert, randomSerial, renewCA, validateSpec,
} from './issue.ts';
export { certInfo, coversSpec, isSignedBy, keyMatchesCert } from './inspect.ts';
export { caRenewalTime, DEFAULT_RENEW_BEFORE_DAYS, isDue, leafRenewalTime } from './renewal.ts';
export { CertStore } from './store.ts';
export { CertRotator } from './rotator.ts';
export type { CertRotatorOptions } from './rotator.ts';
export { servingSANs } from './sans.ts';
export { canonicalIP, isIPLiteral } from './ip.ts';
