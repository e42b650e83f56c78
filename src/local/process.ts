// Child processes of the local environment: start with output to a log file, detached or
// tied to this process, recognise them again by pid later (another `vcnet` run), and stop
// exactly those, never anything matched by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export interface ProcessRecord {
  name: string;
  pid: number;
  logFile: string;
  /** Absolute path of the executable; its presence in /proc/<pid>/cmdline proves the pid was not reused. */
  binary: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22), a second guard against pid reuse. */
  startTime?: number;
  port?: number;
}

export interface SpawnedProcess extends ProcessRecord {
  child: ChildProcess;
  /** Set once the process has exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<void>;
}

export interface SpawnOptions {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  /** Survive this process (own session, no pipes to us); default false. */
  detached?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  port?: number;
}

// Non-detached children still alive, killed when this process exits.
const attached = new Set<SpawnedProcess>();
let exitHookInstalled = false;

// setpriv (util-linux) sets PR_SET_PDEATHSIG and then execs the binary under the same pid,
// so attached children die with us even when we are SIGKILLed or a test runner times out,
// which a JS 'exit' handler cannot catch.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function spawnLogged(opts: SpawnOptions): SpawnedProcess {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    const [cmd, args] = !opts.detached && SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', opts.binary, ...opts.args]]
      : [opts.binary, opts.args];
    child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: opts.detached ?? false,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    // spawn() reports ENOENT/EACCES asynchronously, but leaves pid unset synchronously.
    throw new Error(`cannot start ${opts.name}: ${opts.binary} could not be executed`);
  }
  let resolveExited!: () => void;
  const proc: SpawnedProcess = {
    name: opts.name, pid: child.pid, logFile: opts.logFile, binary: opts.binary, child,
    exited: new Promise<void>((r) => { resolveExited = r; }),
  };
  if (opts.port !== undefined) proc.port = opts.port;
  child.on('exit', (code, signal) => {
    proc.exit = { code, signal };
    attached.delete(proc);
    resolveExited();
  });
  child.on('error', () => { /* reported through 'exit' and the log tail */ });
  const startTime = procStartTime(child.pid);
  if (startTime !== undefined) proc.startTime = startTime;
  if (opts.detached) {
    child.unref();
  } else {
    attached.add(proc);
    installExitHook();
  }
  return proc;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of attached) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; it only waits for a parent (possibly a non-reaping pid 1) to reap it.
  return procState(pid) !== 'Z';
}

function readStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may contain spaces; fields after it split cleanly.
    const close = stat.lastIndexOf(')');
    return stat.slice(close + 2).split(' ');
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  return readStat(pid)?.[0];
}

export function procStartTime(pid: number): number | undefined {
  // Field 22 overall; index 19 after dropping pid and comm.
  const v = readStat(pid)?.[19];
  return v === undefined ? undefined : Number(v);
}

export function procCmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

/** True when `rec.pid` is alive and still the process that was recorded. */
export function isSameProcess(rec: ProcessRecord): boolean {
  if (!isPidAlive(rec.pid)) return false;
  const cmdline = procCmdline(rec.pid);
  if (!cmdline || !cmdline.includes(rec.binary)) return false;
  if (rec.startTime !== undefined) {
    const st = procStartTime(rec.pid);
    if (st !== undefined && st !== rec.startTime) return false;
  }
  return true;
}

export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitGone(p: ProcessRecord | SpawnedProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  if ('child' in p) {
    if (p.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), timeoutMs); });
    // A pending timer would keep the caller's process alive for the whole timeout.
    return Promise.race([p.exited.then(() => true), timedOut]).finally(() => clearTimeout(timer));
  }
  while (Date.now() < deadline) {
    if (!isPidAlive(p.pid)) return true;
    await sleep(100);
  }
  return !isPidAlive(p.pid);
}

/**
 * Stops processes in reverse start order: SIGTERM, wait up to `timeoutMs`, then SIGKILL.
 * Records not started by this process are signalled only while they are still the same
 * process (cmdline and start time), so a reused pid is never hit. Returns the names signalled.
 */
export async function stopProcesses(procs: ReadonlyArray<ProcessRecord | SpawnedProcess>, opts: { timeoutMs?: number; log?: (m: string) => void } = {}): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const stopped: string[] = [];
  for (const p of [...procs].reverse()) {
    const ours = 'child' in p;
    const alive = ours ? p.exit === undefined && isPidAlive(p.pid) : isSameProcess(p);
    if (!alive) continue;
    try { process.kill(p.pid, 'SIGTERM'); } catch { continue; }
    stopped.push(p.name);
    if (!(await waitGone(p, timeoutMs))) {
      opts.log?.(`${p.name} (pid ${p.pid}) did not stop within ${timeoutMs / 1000}s of SIGTERM; sending SIGKILL`);
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      await waitGone(p, 5_000);
    }
  }
  return stopped;
}

export interface CaptureResult { stdout: string; stderr: string }

/** Runs a command to completion; rejects with its stderr when it fails or times out. */
export function runCapture(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CaptureResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => { if (timer) clearTimeout(timer); reject(new Error(`cannot run ${cmd}: ${err.message}`)); });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else {
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' && opts.timeoutMs ? ` after ${opts.timeoutMs} ms` : ''}` : `exit ${code}`;
        const err = new Error(`${cmd} ${args.join(' ')} failed (${why}): ${(stderr || stdout).trim().slice(-2000)}`);
        Object.assign(err, { stdout, stderr, code });
        reject(err);
      }
    });
    if (child.stdin) {
      // A command may exit without reading its input; that EPIPE is not our failure.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });
}
