// The environment of the pod benchmark: a host plane (kwok nodes), a virtual plane and one vcnet
// with pod sync on. Started here (startBenchEnv: `vcnet serve` as our child, so its /proc can be
// read), or the one `vcnet up --state-dir DIR` left running, used with the vcnet *it* started: a
// second vcnet would register the same webhook configuration and reconcile the same pods.
// Also: extra host nodes with room for thousands of pods (kwok runs every node: --manage-all-nodes).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { issueCert } from '../../src/certs/index.ts';
import { LOCAL_HOST_NAMESPACE, LOCAL_VCLUSTER } from '../../src/cli/up.ts';
import { readEndpoints } from '../../src/cli/paths.ts';
import { readEnvState, type LocalEnvState } from '../../src/local/env.ts';
import { kwokNode } from '../../src/local/kwok.ts';
import { isSameProcess } from '../../src/local/process.ts';
import { startBenchEnv } from './env.ts';
import { endpointAgent, fromTarget, mustCall, request, statusMessage, type Endpoint } from './pods-http.ts';

export interface PodsEnv {
  state: LocalEnvState;
  /** True when this run started everything (and stops it); false with --state-dir. */
  ownsPlanes: boolean;
  vcnetPid: number;
  /** The virtual kube-apiserver, directly (admin: CN=admin, O=system:masters). */
  direct: Endpoint;
  /** The same API server through vcnet's proxy, same client certificate. */
  proxy: Endpoint;
  /** The host kube-apiserver (admin). */
  host: Endpoint;
  hostNamespace: string;
  /** The vCluster name vcnet runs as (`vcnet.name`): the `<vcluster>` of host names and the marker label's value. */
  vcluster: string;
  /** vcnet's /metrics, when known. */
  metricsUrl: string | undefined;
  /** Process groups for CPU figures. */
  pids: Map<string, number[]>;
  startup: { host: Record<string, number>; virtual: Record<string, number>; upEnvMs?: number; vcnetReadyMs?: number };
  stop(): Promise<void>;
}

/** `vcnetConfig` is laid over the configuration of the vcnet started here (not with `stateDir`). */
export async function startPodsEnv(opts: { workDir: string; stateDir?: string; log: (m: string) => void; vcnetConfig?: Record<string, unknown> }): Promise<PodsEnv> {
  const { log } = opts;
  if (opts.stateDir !== undefined) return attach(resolve(opts.stateDir), log);
  const env = await startBenchEnv({ workDir: opts.workDir, log, ...(opts.vcnetConfig !== undefined ? { vcnetConfig: opts.vcnetConfig } : {}) });
  try {
    const config = readVcnetConfig(join(opts.workDir, 'vcnet.yaml'));
    return {
      state: env.state, ownsPlanes: true, vcnetPid: env.vcnet.pid,
      direct: fromTarget(env.direct, 'virtual apiserver (direct)'),
      proxy: fromTarget(env.proxy, 'vcnet proxy'),
      host: await hostEndpoint(env.state),
      hostNamespace: config.hostNamespace,
      vcluster: config.vcluster,
      metricsUrl: config.metricsUrl,
      pids: processGroups(env.state, env.vcnet.pid),
      startup: { host: env.state.host.timings, virtual: env.state.virtual.timings, ...(env.upEnvMs !== undefined ? { upEnvMs: env.upEnvMs } : {}), vcnetReadyMs: env.vcnetReadyMs },
      stop: () => env.stop(),
    };
  } catch (err) {
    await env.stop();
    throw err;
  }
}

/** The running environment of `vcnet up --state-dir dir`, with its own vcnet; nothing is stopped at the end. */
async function attach(stateDir: string, log: (m: string) => void): Promise<PodsEnv> {
  const state = readEnvState(stateDir);
  if (state === undefined) throw new Error(`--state-dir ${stateDir} holds no environment (no state.json); start one with \`npx vcnet up --state-dir ${stateDir}\` or leave --state-dir out`);
  const dead = state.processes.filter((p) => !isSameProcess(p));
  if (dead.length > 0) throw new Error(`the environment in ${stateDir} is not running (${dead.map((p) => `${p.name} pid ${p.pid}`).join(', ')} gone)`);
  const vcnet = state.processes.find((p) => p.name === 'vcnet');
  const endpoints = readEndpoints(stateDir);
  if (vcnet === undefined || endpoints === undefined) throw new Error(`${stateDir} has control planes but no vcnet (state.json lists none, or endpoints.json is missing): the pod benchmark needs the vcnet of \`vcnet up\``);
  const config = readVcnetConfig(join(stateDir, 'vcnet.yaml'));
  const admin = await issueCert(state.virtual.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  log(`reusing the environment in ${stateDir} and its vcnet (pid ${vcnet.pid}); left running at the end`);
  return {
    state, ownsPlanes: false, vcnetPid: vcnet.pid,
    direct: { label: 'virtual apiserver (direct)', url: state.virtual.url, caPem: state.virtual.caPem, client: admin },
    proxy: { label: 'vcnet proxy', url: endpoints.proxy, caPem: readFileSync(endpoints.proxyCA, 'utf8'), client: admin },
    host: await hostEndpoint(state),
    hostNamespace: config.hostNamespace,
    vcluster: config.vcluster,
    metricsUrl: config.metricsUrl ?? endpoints.metrics,
    pids: processGroups(state, vcnet.pid),
    startup: { host: state.host.timings, virtual: state.virtual.timings },
    async stop() { /* not ours */ },
  };
}

async function hostEndpoint(state: LocalEnvState): Promise<Endpoint> {
  const admin = await issueCert(state.host.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  return { label: 'host apiserver', url: state.host.url, caPem: state.host.caPem, client: admin };
}

function readVcnetConfig(file: string): { hostNamespace: string; vcluster: string; metricsUrl: string | undefined } {
  if (!existsSync(file)) return { hostNamespace: LOCAL_HOST_NAMESPACE, vcluster: LOCAL_VCLUSTER, metricsUrl: undefined };
  const c = parse(readFileSync(file, 'utf8')) as { vcnet?: { name?: string; host?: { namespace?: string }; observability?: { bindAddress?: string; port?: number } } };
  const o = c.vcnet?.observability;
  return {
    hostNamespace: c.vcnet?.host?.namespace ?? LOCAL_HOST_NAMESPACE,
    vcluster: c.vcnet?.name ?? LOCAL_VCLUSTER,
    metricsUrl: o?.port !== undefined ? `http://${o.bindAddress ?? '127.0.0.1'}:${o.port}/metrics` : undefined,
  };
}

/**
 * CPU groups: vcnet; the virtual kube-apiserver and its etcd (what every create costs on both
 * paths); the host plane (host pods, scheduling, kwok); and the rest of the environment.
 */
function processGroups(state: LocalEnvState, vcnetPid: number): Map<string, number[]> {
  const alive = (ps: LocalEnvState['processes']) => ps.filter((p) => isSameProcess(p));
  const v = alive(state.virtual.processes);
  const apiserver = v.filter((p) => p.name === 'kube-apiserver').map((p) => p.pid);
  const etcd = v.filter((p) => p.name === 'etcd').map((p) => p.pid);
  const host = alive(state.host.processes).map((p) => p.pid);
  const taken = new Set([vcnetPid, ...apiserver, ...etcd, ...host]);
  return new Map([
    ['vcnet', [vcnetPid]],
    ['apiserver', apiserver],
    ['etcd', etcd],
    ['host', host],
    ['environment', alive(state.processes).map((p) => p.pid).filter((pid) => !taken.has(pid))],
  ]);
}

/** Label on every host Node the benchmark adds, so it removes only those. */
export const BENCH_NODE_LABEL = 'vcnet.dev/bench';

/**
 * Host nodes with room for `podsPerNode` pods each: kwok's default nodes take 110 (kubelet's
 * default --max-pods). Shaped like kwokNode(); kwok (--manage-all-nodes) makes them Ready. Resolves
 * once all are Ready; returns the names created (existing ones are kept and reused).
 */
export async function addHostNodes(host: Endpoint, count: number, podsPerNode: number, log: (m: string) => void): Promise<string[]> {
  const agent = endpointAgent(host, 4);
  try {
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const node = kwokNode(i) as { metadata: { name: string; labels: Record<string, string> }; status: { capacity: Record<string, string>; allocatable: Record<string, string> } };
      const name = `vcnet-bench-node-${i}`;
      node.metadata.name = name;
      node.metadata.labels = { ...node.metadata.labels, 'kubernetes.io/hostname': name, [BENCH_NODE_LABEL]: 'true' };
      const resources = { cpu: '1000', memory: '4Ti', pods: String(podsPerNode) };
      node.status = { capacity: resources, allocatable: resources };
      const r = await request(host, agent, 'POST', '/api/v1/nodes', node);
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating host node ${name}: ${statusMessage(r)}`);
      names.push(name);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const list = await mustCall<{ items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> }>(host, agent, 'GET', `/api/v1/nodes?labelSelector=${encodeURIComponent(`${BENCH_NODE_LABEL}=true`)}`);
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= count) break;
      if (Date.now() > deadline) throw new Error(`host nodes ${names.join(', ')}: ${ready} of ${count} Ready after 60 s (is kwok running with --manage-all-nodes?)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`added ${count} host node(s) with room for ${podsPerNode} pods each: ${names.join(', ')}`);
    return names;
  } finally {
    agent.destroy();
  }
}

/** Deletes the named nodes; gone already is fine. Best effort: failures are logged. */
export async function removeNodes(e: Endpoint, names: readonly string[], log: (m: string) => void): Promise<void> {
  const agent = endpointAgent(e, 4);
  try {
    for (const name of names) {
      const r = await request(e, agent, 'DELETE', `/api/v1/nodes/${name}`).catch((err: unknown) => ({ status: 0, body: (err as Error).message }));
      if (r.status !== 200 && r.status !== 404) log(`could not delete node ${name} (${e.label}): ${statusMessage(r)}`);
    }
  } finally {
    agent.destroy();
  }
}
