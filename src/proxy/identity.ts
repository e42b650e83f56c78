// Who is calling? Exactly one of:
// - a client certificate that Node's TLS stack verified against the cluster's client CA
//   (never node-forge: it only parses). vcnet forwards it as impersonation: CN is the user, each O a
//   group — the same identity kube-apiserver would derive from the certificate itself;
// - a bearer token, forwarded untouched on a connection without vcnet's identity, so the API server
//   authenticates and authorizes the caller itself (including any Impersonate-* the caller sends).
// Anything else is refused with 401 before a byte goes upstream.
import type { TLSSocket } from 'node:tls';
import { VcnetError } from '../errors.ts';

export type Caller =
  | { readonly kind: 'certificate'; readonly user: string; readonly groups: readonly string[] }
  | { readonly kind: 'token'; readonly authorization: string };

type CertResult = { readonly kind: 'certificate'; readonly user: string; readonly groups: readonly string[] } | VcnetError | null;

// One TLS connection carries many requests; its certificate is verified and parsed once.
const bySocket = new WeakMap<TLSSocket, CertResult>();

export function authenticate(socket: TLSSocket, authorization: string | undefined): Caller {
  let cert = bySocket.get(socket);
  if (cert === undefined) {
    cert = certificateIdentity(socket);
    bySocket.set(socket, cert);
  }
  if (cert instanceof VcnetError) throw cert;
  if (cert !== null) return cert;
  if (authorization !== undefined && /^bearer\s+\S+/i.test(authorization)) {
    return { kind: 'token', authorization };
  }
  throw new VcnetError('VCN_ERR_PROXY_UNAUTHENTICATED');
}

function certificateIdentity(socket: TLSSocket): CertResult {
  const peer = socket.getPeerCertificate();
  if (peer === null || peer === undefined || Object.keys(peer).length === 0) return null;
  if (!socket.authorized) {
    const why = socket.authorizationError instanceof Error ? socket.authorizationError.message : String(socket.authorizationError);
    return new VcnetError('VCN_ERR_PROXY_CLIENT_CERT_INVALID', [why]);
  }
  const user = first(peer.subject?.CN);
  if (user === undefined || user === '') {
    return new VcnetError('VCN_ERR_PROXY_CLIENT_CERT_INVALID', ['the certificate has no common name (CN) to use as the user name']);
  }
  return { kind: 'certificate', user, groups: all(peer.subject?.O) };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function all(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
