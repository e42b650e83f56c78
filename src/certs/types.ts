/** A PEM certificate and its PEM private key (PKCS#1 "RSA PRIVATE KEY" when vcnet generated it). */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** What a leaf certificate must say. Serving certs need SANs; client certs need CN (user) and O (groups). */
export interface CertSpec {
  commonName: string;
  /** Subject O= entries; for client certs Kubernetes reads them as the user's groups. */
  organizations?: string[];
  dnsNames?: string[];
  /** IPv4 and IPv6 literals, without brackets or zone. */
  ipAddresses?: string[];
  usages: Array<'server' | 'client'>;
  /** Default 365. Fractions are allowed (short-lived certs in tests). */
  validityDays?: number;
}

export interface CertInfo {
  /** One RDN per line, as crypto.X509Certificate prints it ("CN=admin\nO=system:masters"). */
  subject: string;
  commonName: string;
  organizations: string[];
  issuer: string;
  /** Upper-case hex, the same form tls.TLSSocket#getPeerCertificate().serialNumber uses. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** Lower-cased. */
  dnsNames: string[];
  /** Canonical text form (IPv6 compressed per RFC 5952, e.g. "::1"). */
  ipAddresses: string[];
  fingerprint256: string;
  isCA: boolean;
}
