// `vcnet up` / `vcnet down`: a complete local environment — a host control plane with simulated
// nodes, a virtual control plane, and vcnet in front of it — that keeps running until `down`.
import { writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { issueCert } from '../certs/index.ts';
import { upEnv, downEnv, spawnDetached, type LocalEnvState, type ProcessRecord } from '../local/env.ts';
import { freePorts, httpCall } from '../local/net.ts';
import { findKubectl } from '../local/kubectl.ts';
import { logTail, sleep, isSameProcess } from '../local/process.ts';
import type { Command } from './command.ts';
import { writeKubeconfig } from '../local/kubeconfig.ts';
import { isAlreadyExists, KubeTransport, loadKubeConfig, toApiStatus } from '../kube/index.ts';
import { APP_MANAGED_BY, APP_MANAGED_BY_VALUE } from '../translate/index.ts';
import { STATE_DIR, type Endpoints } from './paths.ts';
import { SERVING_CA } from './serve.ts';

const MAIN = resolve(import.meta.dirname, 'main.ts');

export interface UpOptions {
  stateDir: string;
  certsDir: string;
  serviceCIDR?: string;
  podCIDR?: string;
  nodes?: number;
  /** Laid over the generated vcnet config (tests shorten timings with it). */
  config?: Record<string, unknown>;
  log?: (m: string) => void;
}

export interface UpResult {
  state: LocalEnvState;
  endpoints: Endpoints;
  kubeconfig: string;
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stateDir = resolve(opts.stateDir);
  const certsDir = resolve(opts.certsDir);
  let endpoints: Endpoints | undefined;
  const state = await upEnv({
    stateDir, log,
    ...(opts.serviceCIDR !== undefined ? { serviceCIDR: opts.serviceCIDR } : {}),
    ...(opts.podCIDR !== undefined ? { podCIDR: opts.podCIDR } : {}),
    ...(opts.nodes !== undefined ? { nodes: opts.nodes } : {}),
    extraProcesses: async ({ state }) => {
      const started = await startVcnet(stateDir, certsDir, state, log, opts.config);
      endpoints = started.endpoints;
      return [started.proc];
    },
  });
  if (endpoints === undefined) throw new Error('vcnet did not start');
  const kubeconfig = join(stateDir, 'kubeconfig');
  const admin = await issueCert(state.virtual.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  writeKubeconfig(kubeconfig, {
    name: 'vcnet', server: endpoints.proxy, caPem: readFileSync(endpoints.proxyCA, 'utf8'), userName: 'admin', user: admin,
  });
  return { state, endpoints, kubeconfig };
}

/**
 * The configuration `vcnet serve` runs with in a local environment: vcnet's own identity on the
 * virtual cluster (a client certificate in system:masters; it impersonates the users it
 * authenticates), the virtual cluster's CA as the client CA, loopback listeners. Used by `up` and
 * by the benchmarks, so both run vcnet the same way.
 */
export async function writeLocalVcnetConfig(
  dir: string,
  state: LocalEnvState,
  opts: { proxyPort: number; healthPort: number; webhookPort: number; dnsPort?: number; certsDir: string; writtenBy: string; vcluster?: string; hostNamespace?: string; extra?: Record<string, unknown> },
): Promise<string> {
  const vcluster = opts.vcluster ?? LOCAL_VCLUSTER;
  const hostNamespace = opts.hostNamespace ?? LOCAL_HOST_NAMESPACE;
  await prepareHost(state.kubeconfigs.host, { vcluster, hostNamespace });
  const identity = await issueCert(state.virtual.ca, { commonName: 'vcnet', organizations: ['system:masters'], usages: ['client'] });
  const identityKubeconfig = join(dir, 'vcnet-identity.kubeconfig');
  writeKubeconfig(identityKubeconfig, { name: 'virtual', server: state.virtual.url, caPem: state.virtual.caPem, userName: 'vcnet', user: identity });
  mkdirSync(opts.certsDir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'vcnet.yaml');
  const config = deepMerge({
    networking: { serviceCIDR: state.virtual.serviceCIDR },
    controlPlane: { proxy: { bindAddress: '127.0.0.1', port: opts.proxyPort } },
    vcnet: {
      name: vcluster,
      virtual: { kubeconfig: identityKubeconfig },
      host: { kubeconfig: state.kubeconfigs.host, namespace: hostNamespace },
      webhook: { bindAddress: '127.0.0.1', port: opts.webhookPort },
      proxy: { clientCAFile: state.virtual.caFile },
      certs: { dir: opts.certsDir },
      observability: { bindAddress: '127.0.0.1', port: opts.healthPort },
      // Loopback only, like everything local: names outside the cluster zone are not forwarded to the
      // machine's resolvers (UDP port 9 is discard: the answer is SERVFAIL at once).
      dns: { bindAddress: '127.0.0.1', port: opts.dnsPort ?? (await freePorts(1))[0], upstreams: ['127.0.0.1:9'] },
    },
  }, opts.extra ?? {});
  writeFileSync(configFile, `# Written by ${opts.writtenBy}; see docs/configuration.md.\n${stringify(config)}`, { mode: 0o600 });
  return configFile;
}

/** `extra` laid over `base`, objects merged key by key, anything else replaced. */
function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** The vCluster name and host namespace of the local environment. */
export const LOCAL_VCLUSTER = 'vcluster';
export const LOCAL_HOST_NAMESPACE = 'vcluster';

/**
 * What a vCluster installation (or vcnet's manifests) puts in the host namespace before vcnet runs,
 * done here for the local environment: the namespace; the Service in front of vcnet's proxy (the
 * virtual `default/kubernetes`, whose ClusterIP pods get as KUBERNETES_SERVICE_HOST) and the one in
 * front of its DNS (the pods' nameserver), both without selector since local planes have no
 * kube-proxy; and the workload service account host pods run as. Existing objects are kept.
 */
export async function prepareHost(hostKubeconfig: string, opts: { vcluster: string; hostNamespace: string }): Promise<void> {
  const kc = loadKubeConfig(hostKubeconfig);
  const t = new KubeTransport(kc);
  const ns = opts.hostNamespace;
  const ensure = async (path: string, body: unknown): Promise<void> => {
    try {
      await t.request('POST', path, { body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`cannot prepare the host namespace ${ns}: ${toApiStatus(err).message}`, { cause: err });
    }
  };
  const labels = { [APP_MANAGED_BY]: APP_MANAGED_BY_VALUE, 'app.kubernetes.io/instance': opts.vcluster };
  try {
    await ensure('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
    await ensure(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: opts.vcluster, namespace: ns, labels },
      spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
    });
    await ensure(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `kube-dns-x-kube-system-x-${opts.vcluster}`, namespace: ns, labels },
      spec: { type: 'ClusterIP', ports: [{ name: 'dns', port: 53, targetPort: 1053, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, targetPort: 1053, protocol: 'TCP' }] },
    });
    await ensure(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `vc-workload-${opts.vcluster}`, namespace: ns, labels },
    });
  } finally {
    t.close();
  }
}

/** Polls vcnet's /readyz until it answers 200; fails early with the log tail if the process died. */
export async function waitForVcnet(healthUrl: string, alive: () => boolean, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await httpCall(`${healthUrl}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return;
    if (!alive()) throw new Error(`vcnet exited during start-up:\n${logTail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`vcnet did not become ready within ${timeoutMs / 1000} s:\n${logTail(logFile)}`);
    await sleep(50);
  }
}

async function startVcnet(stateDir: string, certsDir: string, state: LocalEnvState, log: (m: string) => void, extra?: Record<string, unknown>): Promise<{ proc: ProcessRecord; endpoints: Endpoints }> {
  const [proxyPort, healthPort, webhookPort] = await freePorts(3) as [number, number, number];
  const configFile = await writeLocalVcnetConfig(stateDir, state, { proxyPort, healthPort, webhookPort, certsDir, writtenBy: "'vcnet up'", ...(extra !== undefined ? { extra } : {}) });
  const logFile = join(state.dir, 'vcnet.log');
  const proc = spawnDetached('vcnet', process.execPath, [MAIN, 'serve', '--config', configFile], logFile, { port: proxyPort });
  const health = `http://127.0.0.1:${healthPort}`;
  await waitForVcnet(health, () => isSameProcess(proc), logFile);
  const endpoints: Endpoints = {
    proxy: `https://127.0.0.1:${proxyPort}`,
    proxyCA: join(certsDir, `${SERVING_CA}.crt`),
    health: `${health}/readyz`,
    metrics: `${health}/metrics`,
    virtualApiserver: state.virtual.url,
    hostApiserver: state.host.url,
  };
  writeFileSync(join(stateDir, 'endpoints.json'), `${JSON.stringify({ ...state.endpoints, ...endpoints }, null, 2)}\n`);
  log(`vcnet is ready at ${endpoints.proxy}`);
  return { proc, endpoints };
}

export const upCommand: Command = {
  summary: 'Builds the control-plane binaries if missing, starts a host control plane (with simulated nodes), a virtual control plane and vcnet in front of it, writes kubeconfigs under .vcnet/, and returns once all is ready. Everything keeps running until `vcnet down`.',
  options: {
    'state-dir': { type: 'string' },
    'certs-dir': { type: 'string' },
    'service-cidr': { type: 'string' },
    'pod-cidr': { type: 'string' },
    nodes: { type: 'string' },
  },
  async run(values) {
    const stateDir = resolve((values['state-dir'] as string | undefined) ?? STATE_DIR);
    const started = Date.now();
    const r = await up({
      stateDir,
      certsDir: resolve((values['certs-dir'] as string | undefined) ?? 'certs'),
      ...(values['service-cidr'] !== undefined ? { serviceCIDR: values['service-cidr'] as string } : {}),
      ...(values['pod-cidr'] !== undefined ? { podCIDR: values['pod-cidr'] as string } : {}),
      ...(values['nodes'] !== undefined ? { nodes: Number(values['nodes']) } : {}),
    });
    const kubectl = findKubectl();
    const rel = (p: string): string => (p.startsWith(`${process.cwd()}/`) ? p.slice(process.cwd().length + 1) : p);
    process.stdout.write(`
vcnet is up (${((Date.now() - started) / 1000).toFixed(1)} s).

  proxy             ${r.endpoints.proxy}
  health, metrics   ${r.endpoints.health}, ${r.endpoints.metrics}
  virtual apiserver ${r.endpoints.virtualApiserver}
  host apiserver    ${r.endpoints.hostApiserver}
  all endpoints     ${rel(join(stateDir, 'endpoints.json'))}

Next:
  export KUBECONFIG=${rel(r.kubeconfig)}      # you, as admin, through vcnet
  ${kubectl} get namespaces
  ${kubectl} --kubeconfig ${rel(r.state.kubeconfigs.host)} get nodes           # the host cluster
  ${kubectl} --kubeconfig ${rel(r.state.kubeconfigs.virtualDirect)} get ns     # the virtual apiserver, bypassing vcnet
  npm run vcnet -- kubeconfig --user jane --group dev -o jane.kubeconfig   # another user
  npm run down                                                         # stop everything
`);
    return 0;
  },
};

export const downCommand: Command = {
  summary: 'Stops every process `vcnet up` started (and only those) and removes its data.',
  options: { 'state-dir': { type: 'string' } },
  async run(values) {
    const stateDir = resolve((values['state-dir'] as string | undefined) ?? STATE_DIR);
    const { stopped } = await downEnv({ stateDir });
    for (const f of ['kubeconfig', 'vcnet-identity.kubeconfig', 'vcnet.yaml', 'endpoints.json']) rmSync(join(stateDir, f), { force: true });
    process.stdout.write(stopped.length === 0 ? 'nothing was running\n' : `stopped ${stopped.join(', ')}\n`);
    return 0;
  },
};
