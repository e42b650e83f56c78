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
import { STATE_DIR, type Endpoints } from './paths.ts';
import { SERVING_CA } from './serve.ts';

const MAIN = resolve(import.meta.dirname, 'main.ts');

export interface UpOptions {
  stateDir: string;
  certsDir: string;
  serviceCIDR?: string;
  podCIDR?: string;
  nodes?: number;
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
      const started = await startVcnet(stateDir, certsDir, state, log);
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
export async function writeLocalVcnetConfig(dir: string, state: LocalEnvState, opts: { proxyPort: number; healthPort: number; certsDir: string; writtenBy: string }): Promise<string> {
  const identity = await issueCert(state.virtual.ca, { commonName: 'vcnet', organizations: ['system:masters'], usages: ['client'] });
  const identityKubeconfig = join(dir, 'vcnet-identity.kubeconfig');
  writeKubeconfig(identityKubeconfig, { name: 'virtual', server: state.virtual.url, caPem: state.virtual.caPem, userName: 'vcnet', user: identity });
  mkdirSync(opts.certsDir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'vcnet.yaml');
  writeFileSync(configFile, `# Written by ${opts.writtenBy}; see docs/configuration.md.\n${stringify({
    networking: { serviceCIDR: state.virtual.serviceCIDR },
    controlPlane: { proxy: { bindAddress: '127.0.0.1', port: opts.proxyPort } },
    vcnet: {
      virtual: { kubeconfig: identityKubeconfig },
      host: { kubeconfig: state.kubeconfigs.host },
      proxy: { clientCAFile: state.virtual.caFile },
      certs: { dir: opts.certsDir },
      observability: { bindAddress: '127.0.0.1', port: opts.healthPort },
    },
  })}`, { mode: 0o600 });
  return configFile;
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

async function startVcnet(stateDir: string, certsDir: string, state: LocalEnvState, log: (m: string) => void): Promise<{ proc: ProcessRecord; endpoints: Endpoints }> {
  const [proxyPort, healthPort] = await freePorts(2) as [number, number];
  const configFile = await writeLocalVcnetConfig(stateDir, state, { proxyPort, healthPort, certsDir, writtenBy: "'vcnet up'" });
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
