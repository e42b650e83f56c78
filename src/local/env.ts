// The local environment behind `vcnet up` / `vcnet down`: one host and one virtual control
// plane, detached from the process that started them, described by <stateDir>/state.json so
// that a later `vcnet down` stops exactly those processes.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBinaries } from './build.ts';
import type { BinarySet } from './build.ts';
import { startControlPlane } from './controlplane.ts';
import type { ControlPlane, ControlPlaneInfo } from './controlplane.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { isSameProcess, spawnLogged, stopProcesses } from './process.ts';
import type { ProcessRecord } from './process.ts';

export type { ProcessRecord } from './process.ts';

export interface LocalEnvState {
  version: 1;
  /** Data directory holding both planes (etcd data, pki, logs); removed by downEnv. */
  dir: string;
  host: ControlPlaneInfo;
  virtual: ControlPlaneInfo;
  /** Every process of the environment in start order; downEnv stops them in reverse. */
  processes: ProcessRecord[];
  /** "<plane>.<component>" (and names added by recordProcess) → URL. */
  endpoints: Record<string, string>;
  kubeconfigs: { host: string; virtualDirect: string };
  binaries: BinarySet;
  createdAt: string;
}

export interface UpEnvOptions {
  stateDir: string;
  /** Default <stateDir>/env. */
  dataDir?: string;
  /** Shared by host and virtual; default 10.96.0.0/16. */
  serviceCIDR?: string;
  /** Default 10.244.0.0/16. */
  podCIDR?: string;
  /** kwok nodes on the host; default 2. */
  nodes?: number;
  log?: (msg: string) => void;
  /** Skip ensureBinaries (tests that already hold a BinarySet). */
  binaries?: BinarySet;
  cacheDir?: string;
  /**
   * Starts more detached processes (the vcnet proxy...) once both planes are ready and
   * state.json exists; the records returned are appended to it, so downEnv stops them first.
   */
  extraProcesses?: (ctx: { stateDir: string; state: LocalEnvState }) => Promise<ProcessRecord[] | void>;
}

const STATE_FILE = 'state.json';
const HOST_KUBECONFIG = 'host.kubeconfig';
const VIRTUAL_DIRECT_KUBECONFIG = 'virtual-direct.kubeconfig';
// Marks a data dir as created by upEnv, so only such a dir is ever deleted recursively.
const MARKER = '.vcnet-env';

export function readEnvState(stateDir: string): LocalEnvState | undefined {
  const file = join(resolve(stateDir), STATE_FILE);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); remove it after stopping any processes listed in it`);
  }
  const state = parsed as Partial<LocalEnvState>;
  if (state.version !== 1 || !Array.isArray(state.processes) || !state.host || !state.virtual) {
    throw new Error(`${file} is not a vcnet environment state (version 1)`);
  }
  return state as LocalEnvState;
}

function writeState(stateDir: string, state: LocalEnvState): void {
  const file = join(stateDir, STATE_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export async function upEnv(opts: UpEnvOptions): Promise<LocalEnvState> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const previous = readEnvState(stateDir);
  if (previous) {
    const alive = previous.processes.filter(isSameProcess);
    if (alive.length > 0) {
      throw new Error(`the local environment in ${stateDir} is already up (${alive.map((p) => `${p.name} pid ${p.pid}`).join(', ')}); run 'vcnet down' first`);
    }
    log(`removing the state of a previous environment whose processes are gone (${stateDir}/${STATE_FILE})`);
    await downEnv({ stateDir, log });
  }
  const dir = resolve(opts.dataDir ?? join(stateDir, 'env'));
  removeDataDir(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), `created by vcnet up at ${new Date().toISOString()}\n`);

  const binaries = opts.binaries ?? await ensureBinaries({ log, ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}) });
  const serviceCIDR = opts.serviceCIDR ?? '10.96.0.0/16';
  const common = { binaries, serviceCIDR, detached: true, log };
  // Both planes start at once: they share nothing, and the apiservers' start-up is mostly waiting.
  const results = await Promise.allSettled([
    startControlPlane({ ...common, name: 'host', role: 'host', dir: join(dir, 'host'), podCIDR: opts.podCIDR ?? '10.244.0.0/16', nodes: opts.nodes ?? 2 }),
    startControlPlane({ ...common, name: 'virtual', role: 'virtual', dir: join(dir, 'virtual') }),
  ]);
  const planes = results.filter((r): r is PromiseFulfilledResult<ControlPlane> => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(planes.map((p) => p.stop()));
    throw failed.reason;
  }
  const [host, virtual] = planes as [ControlPlane, ControlPlane];

  const kubeconfigs = {
    host: writeKubeconfig(join(stateDir, HOST_KUBECONFIG), adminKubeconfig(host, 'vcnet-host')),
    virtualDirect: writeKubeconfig(join(stateDir, VIRTUAL_DIRECT_KUBECONFIG), adminKubeconfig(virtual, 'vcnet-virtual-direct')),
  };
  const endpoints: Record<string, string> = {};
  for (const p of [host, virtual]) for (const [k, v] of Object.entries(p.endpoints)) endpoints[`${p.name}.${k}`] = v;
  const state: LocalEnvState = {
    version: 1, dir,
    host: planeInfo(host), virtual: planeInfo(virtual),
    processes: [...host.processes, ...virtual.processes],
    endpoints, kubeconfigs, binaries,
    createdAt: new Date().toISOString(),
  };
  writeState(stateDir, state);

  if (opts.extraProcesses) {
    try {
      const extra = await opts.extraProcesses({ stateDir, state });
      for (const p of extra ?? []) recordProcess(stateDir, p);
    } catch (err) {
      await downEnv({ stateDir, log });
      throw err;
    }
  }
  return readEnvState(stateDir)!;
}

function planeInfo(p: ControlPlane): ControlPlaneInfo {
  const { stop: _stop, ...info } = p;
  return info;
}

function adminKubeconfig(p: ControlPlane, name: string) {
  return {
    name, server: p.url, caFile: p.caFile,
    user: { clientCertificate: join(p.dir, 'pki', 'admin.crt'), clientKey: join(p.dir, 'pki', 'admin.key') },
  };
}

export async function downEnv(opts: { stateDir: string; log?: (msg: string) => void }): Promise<{ stopped: string[] }> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stateDir = resolve(opts.stateDir);
  const state = readEnvState(stateDir);
  let stopped: string[] = [];
  if (state) {
    // Only pids that are still the recorded processes (/proc/<pid>/cmdline and start time).
    stopped = await stopProcesses(state.processes, { log, timeoutMs: 15_000 });
    removeDataDir(state.dir);
  }
  removeDataDir(join(stateDir, 'env'));
  for (const f of [STATE_FILE, HOST_KUBECONFIG, VIRTUAL_DIRECT_KUBECONFIG]) rmSync(join(stateDir, f), { force: true });
  return { stopped };
}

function removeDataDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!existsSync(join(dir, MARKER))) {
    throw new Error(`${dir} exists but was not created by vcnet up (no ${MARKER}); move it away or choose another data dir`);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Starts a process that outlives this one, logging to `logFile`; record it with recordProcess(). */
export function spawnDetached(name: string, cmd: string, args: string[], logFile: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; port?: number } = {}): ProcessRecord {
  const p = spawnLogged({ name, binary: cmd, args, logFile, detached: true, ...opts });
  const rec: ProcessRecord = { name: p.name, pid: p.pid, logFile: p.logFile, binary: p.binary };
  if (p.startTime !== undefined) rec.startTime = p.startTime;
  if (p.port !== undefined) rec.port = p.port;
  return rec;
}

/** Appends a process (and optional endpoints) to state.json so that downEnv stops it, before the planes. */
export function recordProcess(stateDir: string, proc: ProcessRecord, endpoints: Record<string, string> = {}): LocalEnvState {
  const dir = resolve(stateDir);
  const state = readEnvState(dir);
  if (!state) throw new Error(`no environment state in ${dir}; start one with upEnv first`);
  state.processes.push(proc);
  Object.assign(state.endpoints, endpoints);
  writeState(dir, state);
  return state;
}
