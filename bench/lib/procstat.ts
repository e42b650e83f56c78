// Memory and CPU of the processes under test, read from /proc (Linux only): VmRSS and VmHWM
// from /proc/<pid>/status, utime + stime from /proc/<pid>/stat (proc(5)).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

// USER_HZ: the unit of utime/stime. It is 100 on every Linux architecture Node supports
// (the kernel's ABI value, independent of CONFIG_HZ; `getconf CLK_TCK`).
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident memory of `pid` in MiB: now (VmRSS) and its high-water mark (VmHWM). */
export function readMemory(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m === null ? Number.NaN : Number(m[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** CPU time (user + system) `pid` has used so far, in milliseconds, at 10 ms resolution. */
export function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses; the fields after the last ')' split cleanly.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 overall: indexes 11 and 12 after pid and comm.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU time all cores have spent running processes (or lost to the hypervisor) so far, in milliseconds. */
export function readMachineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (proc(5)). Guest time
    // is already in user and nice. irq and softirq are left out: they are mostly the loopback
    // traffic of the benchmark itself, which no process's utime/stime accounts for.
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0);
    return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of one process on an interval and keeps the peak and the last value. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #peak = 0;
  #last = Number.NaN;
  #samples = 0;

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    // The sampler must never be what keeps a finished benchmark alive.
    this.#timer.unref();
  }

  #sample(): void {
    const m = readMemory(this.#pid);
    if (m === undefined || !Number.isFinite(m.rssMiB)) return;
    this.#samples++;
    this.#last = m.rssMiB;
    if (m.rssMiB > this.#peak) this.#peak = m.rssMiB;
  }

  /** Stops sampling (after one last sample) and returns what was seen, in MiB. */
  stop(): { peakMiB: number; lastMiB: number; samples: number } {
    clearInterval(this.#timer);
    this.#sample();
    return { peakMiB: this.#peak, lastMiB: this.#last, samples: this.#samples };
  }
}

/** The RSS of `pid` at rest, in MiB: the last of `forMs` of samples. */
export async function restingRssMiB(pid: number, forMs: number, intervalMs = 100): Promise<number> {
  const sampler = new RssSampler(pid, intervalMs);
  await new Promise((r) => setTimeout(r, forMs));
  return sampler.stop().lastMiB;
}

export interface CpuSample {
  /** CPU ms per named group of processes, plus "loadgen" (this process). */
  byProcess: Record<string, number>;
  /** CPU ms of everything else on the machine in the same interval. */
  othersMs: number;
  wallMs: number;
}

/** The share of all `cores` that processes outside the benchmark used during `cpu`'s interval (DISTURBED_SHARE is judged on it). */
export function othersShareOf(cpu: CpuSample, cores = cpus().length): number {
  return cpu.othersMs / (cpu.wallMs * cores);
}

/**
 * CPU milliseconds used between `start()` (also run by the constructor) and `stop()`: by each
 * named group of processes, by this process ("loadgen", the load generator), and by everything
 * else on the machine ("others").
 */
export class CpuMeter {
  readonly #pids: ReadonlyMap<string, readonly number[]>;
  readonly #start = new Map<string, number>();
  #selfStart: NodeJS.CpuUsage = process.cpuUsage();
  #machineStart = Number.NaN;
  #wallStart = 0;

  constructor(pids: ReadonlyMap<string, readonly number[]>) {
    this.#pids = pids;
    this.start();
  }

  start(): void {
    this.#selfStart = process.cpuUsage();
    this.#machineStart = readMachineBusyMs() ?? Number.NaN;
    this.#wallStart = performance.now();
    for (const [name, pids] of this.#pids) this.#start.set(name, groupCpuMs(pids));
  }

  stop(): CpuSample {
    const byProcess: Record<string, number> = {};
    for (const [name, pids] of this.#pids) byProcess[name] = groupCpuMs(pids) - (this.#start.get(name) ?? Number.NaN);
    const self = process.cpuUsage(this.#selfStart);
    byProcess['loadgen'] = (self.user + self.system) / 1000;
    const machine = (readMachineBusyMs() ?? Number.NaN) - this.#machineStart;
    const ours = Object.values(byProcess).reduce((a, b) => a + b, 0);
    return { byProcess, othersMs: Math.max(0, machine - ours), wallMs: performance.now() - this.#wallStart };
  }
}

// A process that exits mid-run would make its group's figure wrong, so it poisons it (NaN).
function groupCpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readCpuMs(pid) ?? Number.NaN), 0);
}
