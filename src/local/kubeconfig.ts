// Kubeconfig files: one cluster, one user, one context. Credentials either as file paths (the
// control planes' own kubeconfigs) or embedded as *-data fields (self-contained files for users).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export type KubeconfigUser =
  | { clientCertificate: string; clientKey: string }
  | { certPem: string; keyPem: string }
  | { token: string };

export interface KubeconfigSpec {
  /** Cluster and context name (and the user name unless userName is given). */
  name: string;
  server: string;
  /** The CA as an absolute file path (so the kubeconfig works from any directory) or as PEM. */
  caFile?: string;
  caPem?: string;
  userName?: string;
  user: KubeconfigUser;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const user = 'token' in spec.user
    ? { token: spec.user.token }
    : 'certPem' in spec.user
      ? { 'client-certificate-data': b64(spec.user.certPem), 'client-key-data': b64(spec.user.keyPem) }
      : { 'client-certificate': spec.user.clientCertificate, 'client-key': spec.user.clientKey };
  if ((spec.caFile === undefined) === (spec.caPem === undefined)) throw new Error(`kubeconfig ${spec.name}: give exactly one of caFile and caPem`);
  const ca = spec.caFile !== undefined ? { 'certificate-authority': spec.caFile } : { 'certificate-authority-data': b64(spec.caPem as string) };
  const userName = spec.userName ?? spec.name;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.name, cluster: { server: spec.server, ...ca } }],
    users: [{ name: userName, user }],
    contexts: [{ name: spec.name, context: { cluster: spec.name, user: userName } }],
    'current-context': spec.name,
  });
}

/** Writes the kubeconfig 0600 (it holds credentials), creating its directory 0700; returns the path. */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}
