// The DNS load generator: UDP queries from a fixed mix to one server on loopback, many outstanding,
// measuring queries/s and latency percentiles. The sending happens in child processes
// (dns-loadgen.ts), so the generator never shares an event loop (or, with several, a core) with
// what it measures or with this process. This file forks them, hands each its share of the work
// and merges what they report. dnsperf does the same job; it is not on this machine.
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import type { RecordType } from 'dns-packet';
import { assertLoopback } from './client.ts';
import { readCpuMs, readMachineBusyMs } from './procstat.ts';
import { summarize, type LatencySummary } from './stats.ts';

const CHILD = resolve(import.meta.dirname, 'dns-loadgen.ts');

export interface MixQuery {
  /** Fully qualified, without the trailing dot. */
  readonly name: string;
  readonly type: RecordType;
  /** What a correct server answers; responses that differ are counted (and a few kept) as mismatches. */
  readonly expect?: { readonly rcode: string; readonly answers?: boolean };
}

export interface LoadOptions {
  /** 127.0.0.1 (loopback only). */
  host: string;
  port: number;
  mix: readonly MixQuery[];
  /** Queries kept in flight in all (closed loop), or the cap on them when `rateQps` is set. */
  outstanding: number;
  /** Paced sending at this total rate instead of the closed loop (latency at a fixed load). */
  rateQps?: number;
  warmupMs: number;
  durationMs: number;
  /** A query not answered in this time is counted lost (default 2,000 ms, dnsperf's -t is 5 s). */
  timeoutMs?: number;
  /** Generator processes (default 1); each gets an equal share of `outstanding` and `rateQps`. */
  processes?: number;
  /** UDP sockets (source ports) per process (default 4), as a resolver spreads its queries. */
  sockets?: number;
  /** The server's pids: their CPU time over the measured window is reported per 1,000 answers. */
  serverPids?: readonly number[];
}

export interface LoadgenJob {
  host: string;
  port: number;
  mix: readonly MixQuery[];
  offset: number;
  outstanding: number;
  rateQps?: number;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  sockets: number;
  startAtWallMs: number;
}

export interface Mismatch {
  name: string;
  type: string;
  expected: { rcode: string; answers?: boolean };
  rcode: string;
  answers: number;
}

export interface LoadgenResult {
  sent: number;
  sentMeasured: number;
  /** Responses that arrived inside the measured window. */
  answered: number;
  timeouts: number;
  lateOrUnknown: number;
  windowMs: number;
  latenciesMs: Float64Array;
  rcodes: Record<string, number>;
  mismatchCount: number;
  mismatches: Mismatch[];
  cpuMs: number;
}

export interface LoadResult {
  /** Answers received in the measured window per second, all generator processes together. */
  qps: number;
  /** Latency from send to response, of the queries sent in the window that were answered. */
  latency: LatencySummary;
  sentMeasured: number;
  answered: number;
  /** Queries sent in the window and not answered within the timeout. */
  lost: number;
  rcodes: Record<string, number>;
  mismatchCount: number;
  mismatches: Mismatch[];
  /** CPU of the generator processes over the window, in % of one core. */
  generatorCpuPercent: number;
  /** CPU of the server over the window (its pids), in % of one core and in ms per 1,000 answers. */
  serverCpuPercent: number;
  serverCpuMsPer1k: number;
  /**
   * CPU used over the window by everything on the machine except the server and the generator, in %
   * of all cores: other work (another test suite, a build, the control planes) competing for them.
   */
  otherCpuPercent: number;
  outstanding: number;
  rateQps?: number;
  processes: number;
}

/** Runs one measurement: warm-up, then `durationMs` measured, then the stragglers are waited for. */
export async function runDnsLoad(opts: LoadOptions): Promise<LoadResult> {
  assertLoopback(`udp://${opts.host}:${opts.port}`);
  if (opts.mix.length === 0) throw new Error('the query mix is empty');
  const processes = opts.processes ?? 1;
  const startAtWallMs = Date.now() + 300;
  const jobs: LoadgenJob[] = [];
  for (let i = 0; i < processes; i++) {
    jobs.push({
      host: opts.host, port: opts.port, mix: opts.mix,
      // Children start at different places of the mix so they do not ask the same name at once.
      offset: Math.floor((i * opts.mix.length) / processes),
      outstanding: Math.max(1, Math.round(opts.outstanding / processes)),
      ...(opts.rateQps !== undefined ? { rateQps: opts.rateQps / processes } : {}),
      warmupMs: opts.warmupMs, durationMs: opts.durationMs, timeoutMs: opts.timeoutMs ?? 2000,
      sockets: opts.sockets ?? 4, startAtWallMs,
    });
  }
  const pids = opts.serverPids ?? [];
  let serverCpuStart = Number.NaN;
  let machineStart = Number.NaN;
  const windowTimer = setTimeout(() => { serverCpuStart = sumCpu(pids); machineStart = readMachineBusyMs() ?? Number.NaN; }, startAtWallMs - Date.now() + opts.warmupMs);
  let serverCpuEnd = Number.NaN;
  let machineEnd = Number.NaN;
  const endTimer = setTimeout(() => { serverCpuEnd = sumCpu(pids); machineEnd = readMachineBusyMs() ?? Number.NaN; }, startAtWallMs - Date.now() + opts.warmupMs + opts.durationMs);
  let results: LoadgenResult[];
  try {
    results = await Promise.all(jobs.map(runChild));
  } finally {
    clearTimeout(windowTimer);
    clearTimeout(endTimer);
  }

  const all = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
  let at = 0;
  for (const r of results) { all.set(r.latenciesMs, at); at += r.latenciesMs.length; }
  const rcodes: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
  const answered = results.reduce((n, r) => n + r.answered, 0);
  const seconds = opts.durationMs / 1000;
  const serverCpuMs = serverCpuEnd - serverCpuStart;
  const generatorCpuMs = results.reduce((n, r) => n + r.cpuMs, 0);
  const otherMs = machineEnd - machineStart - generatorCpuMs - (pids.length === 0 ? 0 : serverCpuMs);
  return {
    qps: answered / seconds,
    latency: summarize(all),
    sentMeasured: results.reduce((n, r) => n + r.sentMeasured, 0),
    answered,
    lost: results.reduce((n, r) => n + r.timeouts, 0),
    rcodes,
    mismatchCount: results.reduce((n, r) => n + r.mismatchCount, 0),
    mismatches: results.flatMap((r) => r.mismatches).slice(0, 10),
    generatorCpuPercent: (generatorCpuMs / opts.durationMs) * 100,
    serverCpuPercent: pids.length === 0 ? Number.NaN : (serverCpuMs / opts.durationMs) * 100,
    serverCpuMsPer1k: pids.length === 0 || answered === 0 ? Number.NaN : (serverCpuMs / answered) * 1000,
    otherCpuPercent: Math.max(0, otherMs) / (opts.durationMs * cpus().length) * 100,
    outstanding: opts.outstanding,
    ...(opts.rateQps !== undefined ? { rateQps: opts.rateQps } : {}),
    processes,
  };
}

function sumCpu(pids: readonly number[]): number {
  return pids.reduce((n, pid) => n + (readCpuMs(pid) ?? Number.NaN), 0);
}

function runChild(job: LoadgenJob): Promise<LoadgenResult> {
  return new Promise((resolvePromise, reject) => {
    // process.execPath is the Node 24 that runs the benchmark (npx node), which strips the types.
    const child = fork(CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (m: { ok: true; result: LoadgenResult } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolvePromise(m.result);
      else reject(new Error(`DNS load generator failed: ${m.error}`));
    });
    child.once('error', (err) => { if (!settled) { settled = true; reject(err); } });
    child.once('exit', (code, signal) => {
      if (!settled) { settled = true; reject(new Error(`DNS load generator exited (${signal ?? `code ${code}`}) without a result`)); }
    });
    child.send(job);
  });
}
