// kwok configuration for the host plane: simulated nodes, and the kubelet API (logs, exec,
// attach, port-forward) that kwok serves for its pods. The bare kwok binary reads Cluster*
// objects from --config files (pkg/kwok/cmd/root.go@v0.8.0, startServer); without them the
// kubelet endpoints answer "not found" for every pod.
import { stringify } from 'yaml';

export interface KwokDebugConfig {
  /** CRI-format log file (`<RFC3339Nano> stdout F <line>`) served as every container's log. */
  logsFile: string;
  /** CRI-format file replayed to `kubectl attach`. */
  attachFile: string;
  /** Working directory of commands run by `kubectl exec`. */
  execWorkDir: string;
  /** Where `kubectl port-forward` to any pod port connects; must be loopback. */
  portForwardTarget: { address: string; port: number };
}

export function kwokDebugConfigYaml(c: KwokDebugConfig): string {
  if (!['127.0.0.1', '::1', 'localhost'].includes(c.portForwardTarget.address)) {
    throw new Error(`kwok port-forward target ${c.portForwardTarget.address} is not loopback; the local environment must only connect to 127.0.0.1`);
  }
  const meta = (name: string) => ({ name });
  const docs = [
    {
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterLogs', metadata: meta('vcnet-logs'),
      // No selector: every pod in every namespace.
      spec: { logs: [{ logsFile: c.logsFile, follow: true }] },
    },
    {
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterAttach', metadata: meta('vcnet-attach'),
      spec: { attaches: [{ logsFile: c.attachFile }] },
    },
    {
      // `local` runs the requested command on this machine (kwok has no containers), in execWorkDir.
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterExec', metadata: meta('vcnet-exec'),
      spec: { execs: [{ local: { workDir: c.execWorkDir, envs: [{ name: 'VCNET_KWOK_EXEC', value: '1' }] } }] },
    },
    {
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterPortForward', metadata: meta('vcnet-port-forward'),
      spec: { forwards: [{ target: { address: c.portForwardTarget.address, port: c.portForwardTarget.port } }] },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

export function criLogLines(lines: string[], at = new Date()): string {
  const ts = at.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  return lines.map((l) => `${ts} stdout F ${l}\n`).join('');
}

export function kwokNodeName(i: number): string {
  return `kwok-node-${i}`;
}

/** A Node as kubelet would register it; kwok's node-initialize stage fills in the rest of the status. */
export function kwokNode(i: number): Record<string, unknown> {
  const name = kwokNodeName(i);
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      // ttl 0: the ttl controller would otherwise annotate nodes itself; kwok.x-k8s.io/node marks kwok's nodes.
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
        'kubernetes.io/role': 'agent', 'node-role.kubernetes.io/agent': '', type: 'kwok',
      },
    },
    // Nodes may set status on create (pkg/registry/core/node/strategy.go PrepareForCreate).
    status: { allocatable: resources, capacity: resources },
  };
}
