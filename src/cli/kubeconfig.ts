// Self-contained kubeconfigs (credentials embedded as *-data fields), written 0600.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export type KubeconfigUser = { certPem: string; keyPem: string } | { token: string };

export function kubeconfigYaml(opts: { name: string; server: string; caPem: string; userName: string; user: KubeconfigUser }): string {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const user = 'token' in opts.user
    ? { token: opts.user.token }
    : { 'client-certificate-data': b64(opts.user.certPem), 'client-key-data': b64(opts.user.keyPem) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: opts.name, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [{ name: opts.userName, user }],
    contexts: [{ name: opts.name, context: { cluster: opts.name, user: opts.userName } }],
    'current-context': opts.name,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, yaml: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, yaml, { mode: 0o600 });
}
