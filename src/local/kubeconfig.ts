import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export type KubeconfigUser =
  | { clientCertificate: string; clientKey: string }
  | { token: string };

export interface KubeconfigSpec {
  /** Cluster, user and context name. */
  name: string;
  server: string;
  /** Absolute path of the CA file, so the kubeconfig works from any directory. */
  caFile: string;
  user: KubeconfigUser;
}

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const user = 'token' in spec.user
    ? { token: spec.user.token }
    : { 'client-certificate': spec.user.clientCertificate, 'client-key': spec.user.clientKey };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.name, cluster: { server: spec.server, 'certificate-authority': spec.caFile } }],
    users: [{ name: spec.name, user }],
    contexts: [{ name: spec.name, context: { cluster: spec.name, user: spec.name } }],
    'current-context': spec.name,
  });
}

export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}
