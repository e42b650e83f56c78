// What the benchmark runs against: a local environment (started here with upEnv, or one that is
// already up, reused read-only) and a `vcnet serve` of its own as a separate child process, so its
// memory and CPU can be read from /proc. Everything started here is stopped by `stop()`.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { issueCert } from '../../src/certs/index.ts';
import { writeLocalVcnetConfig, waitForVcnet } from '../../src/cli/up.ts';
import { SERVING_CA } from '../../src/cli/serve.ts';
import { downEnv, readEnvState, upEnv, type LocalEnvState } from '../../src/local/env.ts';
import { freePorts } from '../../src/local/net.ts';
import { isSameProcess, spawnLogged, stopProcesses, type SpawnedProcess } from '../../src/local/process.ts';
import type { Target } from './client.ts';

const MAIN = resolve(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface BenchEnv {
  state: LocalEnvState;
  /** True when this run started the control planes (and so stops them). */
  ownsPlanes: boolean;
  /** Wall time of upEnv when this run started the planes (binaries check included). */
  upEnvMs?: number;
  vcnet: SpawnedProcess;
  /** From spawning `vcnet serve` to its /readyz answering 200. */
  vcnetReadyMs: number;
  direct: Target;
  proxy: Target;
  /** pid of the virtual kube-apiserver and its etcd, for CPU figures. */
  apiserverPid: number | undefined;
  etcdPid: number | undefined;
  stop(): Promise<void>;
}

export async function startBenchEnv(opts: { workDir: string; stateDir?: string; log: (m: string) => void; vcnetConfig?: Record<string, unknown> }): Promise<BenchEnv> {
  const { workDir, log } = opts;
  let state: LocalEnvState;
  let ownsPlanes = false;
  let upEnvMs: number | undefined;
  const envStateDir = opts.stateDir === undefined ? join(workDir, 'env-state') : resolve(opts.stateDir);
  if (opts.stateDir !== undefined) {
    const found = readEnvState(envStateDir);
    if (found === undefined) throw new Error(`--state-dir ${envStateDir} holds no environment (no state.json); start one with \`npx vcnet up --state-dir ${envStateDir}\` or leave --state-dir out`);
    const dead = found.virtual.processes.filter((p) => !isSameProcess(p));
    if (dead.length > 0) throw new Error(`the environment in ${envStateDir} is not running (${dead.map((p) => `${p.name} pid ${p.pid}`).join(', ')} gone)`);
    state = found;
    log(`reusing the control planes in ${envStateDir} (left running at the end)`);
  } else {
    const t0 = performance.now();
    state = await upEnv({ stateDir: envStateDir, log });
    upEnvMs = performance.now() - t0;
    ownsPlanes = true;
  }

  const stopPlanes = async (): Promise<void> => {
    if (ownsPlanes) await downEnv({ stateDir: envStateDir, log });
  };
  let vcnet: SpawnedProcess | undefined;
  try {
    const admin = await issueCert(state.virtual.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
    const started = await startVcnet(workDir, state, opts.vcnetConfig);
    vcnet = started.proc;
    const proc = vcnet;
    const apiserver = state.virtual.processes.find((p) => p.name === 'kube-apiserver');
    const etcd = state.virtual.processes.find((p) => p.name === 'etcd');
    return {
      state, ownsPlanes, vcnet: proc, vcnetReadyMs: started.readyMs,
      ...(upEnvMs !== undefined ? { upEnvMs } : {}),
      direct: { name: 'direct', url: state.virtual.url, caPem: state.virtual.caPem, client: admin },
      proxy: { name: 'proxy', url: started.url, caPem: readFileSync(join(workDir, 'certs', `${SERVING_CA}.crt`), 'utf8'), client: admin },
      apiserverPid: apiserver?.pid,
      etcdPid: etcd?.pid,
      async stop() {
        await stopProcesses([proc], { timeoutMs: 10_000, log });
        await stopPlanes();
      },
    };
  } catch (err) {
    if (vcnet !== undefined) await stopProcesses([vcnet], { timeoutMs: 10_000, log });
    await stopPlanes();
    throw err;
  }
}

/**
 * `vcnet serve` configured the way `vcnet up` does it (src/cli/up.ts), in a child that dies with us;
 * `extra` is laid over that configuration (the services benchmark shortens the orphan grace with it).
 */
async function startVcnet(workDir: string, state: LocalEnvState, extra?: Record<string, unknown>): Promise<{ proc: SpawnedProcess; url: string; readyMs: number }> {
  const [proxyPort, healthPort, webhookPort] = await freePorts(3) as [number, number, number];
  const configFile = await writeLocalVcnetConfig(workDir, state, { proxyPort, healthPort, webhookPort, certsDir: join(workDir, 'certs'), writtenBy: 'bench/run.ts', ...(extra !== undefined ? { extra } : {}) });
  const { proc, readyMs } = await launchVcnet({ configFile, logFile: join(workDir, 'vcnet.log'), healthPort, proxyPort });
  return { proc, url: `https://127.0.0.1:${proxyPort}`, readyMs };
}

/**
 * Spawns `vcnet serve --config configFile` (log appended to `logFile`) and resolves once its /readyz
 * on `healthPort` answers 200, with the time from the spawn. `onSpawn` sees the process as soon as
 * it exists. Also how a benchmark restarts the vcnet it started, with the same configuration and ports.
 */
export async function launchVcnet(opts: {
  configFile: string; logFile: string; healthPort: number; proxyPort?: number; onSpawn?: (proc: SpawnedProcess) => void;
}): Promise<{ proc: SpawnedProcess; readyMs: number }> {
  const { logFile } = opts;
  const t0 = performance.now();
  // Not detached: setpriv's parent-death signal stops it even if this run is killed with SIGKILL.
  const proc = spawnLogged({ name: 'vcnet', binary: process.execPath, args: [MAIN, 'serve', '--config', opts.configFile], logFile, ...(opts.proxyPort !== undefined ? { port: opts.proxyPort } : {}) });
  opts.onSpawn?.(proc);
  try {
    await waitForVcnet(`http://127.0.0.1:${opts.healthPort}`, () => proc.exit === undefined, logFile);
  } catch (err) {
    await stopProcesses([proc], { timeoutMs: 5_000 });
    throw err;
  }
  return { proc, readyMs: performance.now() - t0 };
}
