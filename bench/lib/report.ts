// Turns the figures of one run into the two result files: JSON (everything, per run) and a
// markdown summary (medians of runs, ratios against the direct path, targets).
import type { LoadResult } from './load.ts';
import type { MachineFigures } from './machine.ts';
import type { CpuSample } from './procstat.ts';
import type { WatchResult } from './watch.ts';
import { median } from './stats.ts';

/** Outside load above this share of all cores during a round marks the round as disturbed. */
export const DISTURBED_SHARE = 0.1;

export const TARGETS = {
  /** Proxy p50 − direct p50, at most. */
  p50OverheadMs: 0.3,
  /** Proxy requests/s ÷ direct requests/s, at least. */
  throughputRatio: 0.85,
} as const;

/** What a run does: rounds, measured requests per run by concurrency, the time cap, the watches. */
export interface Plan {
  rounds: number;
  get: Record<number, number>;
  list: Record<number, number>;
  maxRunMs: number;
  /** Time all extra rounds (disturbed ones run again) may take together in one run. */
  retryBudgetMs: number;
  watch: { watchers: number; events: number; spacingMs: number; timeoutMs: number };
}

/** What every measured run carries besides its own figures. */
export interface RunMeta {
  cpu: CpuSample;
  /** Share of all cores used during the run by processes outside the benchmark. */
  othersShare: number;
  /** Whether the figures use this run: false when outside load disturbed its round and clean rounds replaced it. */
  used: boolean;
}

export type LoadRun = LoadResult & RunMeta;
export type WatchRun = WatchResult & RunMeta;

/** Rounds run, and how many were undisturbed by outside load (those are used; all are if none was). */
export interface RoundCount {
  run: number;
  clean: number;
}

export interface PathFigures {
  p50: number;
  p99: number;
  rps: number;
  /** CPU µs per request of each process group (median of runs); "loadgen" is the client. */
  cpuUsPerRequest: Record<string, number>;
  errors: number;
  capped: boolean;
  /** Every run, used or not. */
  runs: LoadRun[];
}

export interface ScenarioFigures {
  id: 'get' | 'list';
  title: string;
  path: string;
  concurrency: number;
  requestsPerRun: number;
  rounds: RoundCount;
  direct: PathFigures;
  proxy: PathFigures;
  p50OverheadMs: number;
  throughputRatio: number;
  targetMet: boolean;
}

export interface WatchSide {
  p50: number;
  p99: number;
  delivered: number;
  expected: number;
  createP50: number;
  /** CPU ms per run (opening the watches included), median of runs. */
  cpuMsPerRun: Record<string, number>;
  runs: WatchRun[];
}

export interface WatchFigures {
  watchers: number;
  events: number;
  spacingMs: number;
  rounds: RoundCount;
  direct: WatchSide;
  proxy: WatchSide;
  p50DiffMs: number;
  p99DiffMs: number;
  p99Ratio: number;
}

export interface MemoryFigures {
  idleMiB: number;
  peakLoadMiB: number;
  peakWatchMiB: number;
  afterMiB: number;
  /** VmHWM at the end: the highest RSS the process ever had, a cross-check of the sampled peaks. */
  hwmMiB: number;
  sampleIntervalMs: number;
}

export interface BuildRecord {
  unit: string;
  version: string;
  seconds: number;
  packagesCompiled: number;
  kind: 'cold' | 'warm';
  goVersion: string;
  finishedAt: string;
}

export interface BuildFigures {
  cacheDir: string;
  buildTimesFile: string;
  /** The latest cold and warm record per unit, as build-times.json has them (none if never recorded). */
  latest: Record<string, { cold?: BuildRecord; warm?: BuildRecord }>;
  /** ensureBinaries() timed here with every binary cached (it checks each one's --version). */
  ensureBinariesCachedMs: number;
  note: string;
}

export interface StartupFigures {
  host: Record<string, number>;
  virtual: Record<string, number>;
  /** upEnv wall time in this run (both planes in parallel plus the binaries check); absent when reused. */
  upEnvMs?: number;
  vcnetReadyMs: number;
}

export interface Machine extends MachineFigures {
  note: string;
}

export interface BenchReport {
  name: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
  rounds: number;
  plan: Plan;
  targets: typeof TARGETS;
  machine: Machine;
  scenarios: ScenarioFigures[];
  watch?: WatchFigures;
  memory: MemoryFigures;
  build: BuildFigures;
  startup: StartupFigures;
}

export function pathFigures(all: LoadRun[]): PathFigures {
  const runs = all.filter((r) => r.used);
  const procs = new Set(runs.flatMap((r) => Object.keys(r.cpu.byProcess)));
  const cpuUsPerRequest: Record<string, number> = {};
  for (const p of procs) cpuUsPerRequest[p] = median(runs.map((r) => ((r.cpu.byProcess[p] ?? Number.NaN) * 1000) / Math.max(1, r.ok)));
  return {
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    rps: median(runs.map((r) => r.rps)),
    cpuUsPerRequest,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    capped: runs.some((r) => r.capped),
    runs: all,
  };
}

export function scenarioFigures(base: Omit<ScenarioFigures, 'p50OverheadMs' | 'throughputRatio' | 'targetMet'>): ScenarioFigures {
  const p50OverheadMs = base.proxy.p50 - base.direct.p50;
  const throughputRatio = base.proxy.rps / base.direct.rps;
  return {
    ...base, p50OverheadMs, throughputRatio,
    targetMet: p50OverheadMs <= TARGETS.p50OverheadMs && throughputRatio >= TARGETS.throughputRatio,
  };
}

export function watchFigures(spec: { watchers: number; events: number; spacingMs: number }, rounds: RoundCount, direct: WatchRun[], proxy: WatchRun[]): WatchFigures {
  const side = (all: WatchRun[]): WatchSide => {
    const runs = all.filter((r) => r.used);
    const cpuMsPerRun: Record<string, number> = {};
    for (const p of new Set(runs.flatMap((r) => Object.keys(r.cpu.byProcess)))) cpuMsPerRun[p] = median(runs.map((r) => r.cpu.byProcess[p] ?? Number.NaN));
    return {
      p50: median(runs.map((r) => r.lagMs.p50)),
      p99: median(runs.map((r) => r.lagMs.p99)),
      delivered: runs.reduce((n, r) => n + r.delivered, 0),
      expected: runs.reduce((n, r) => n + r.expected, 0),
      createP50: median(runs.map((r) => r.createMs.p50)),
      cpuMsPerRun,
      runs: all,
    };
  };
  const d = side(direct);
  const p = side(proxy);
  return { ...spec, rounds, direct: d, proxy: p, p50DiffMs: p.p50 - d.p50, p99DiffMs: p.p99 - d.p99, p99Ratio: p.p99 / d.p99 };
}

/** Milliseconds with precision where it matters: 0.123, 12.35, 123.4. */
function ms(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return v.toFixed(a < 10 ? 3 : a < 100 ? 2 : 1);
}

function signedMs(v: number): string {
  return Number.isFinite(v) && v > 0 ? `+${ms(v)}` : ms(v);
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—';
}

function int(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—';
}

function mib(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} MiB` : '—';
}

function verdict(s: ScenarioFigures): string {
  const why: string[] = [];
  if (!(s.p50OverheadMs <= TARGETS.p50OverheadMs)) why.push(`p50 ${signedMs(s.p50OverheadMs)} ms`);
  if (!(s.throughputRatio >= TARGETS.throughputRatio)) why.push(`${pct(s.throughputRatio)} rps`);
  return why.length === 0 ? 'yes' : `no (${why.join(', ')})`;
}

export function markdown(r: BenchReport): string {
  const out: string[] = [];
  out.push(`# vcnet proxy benchmark: ${r.name}`, '');
  out.push(`${r.startedAt}, ${r.durationSeconds.toFixed(0)} s, ${r.quick ? 'quick run' : 'full run'}, ${r.rounds} round${r.rounds === 1 ? '' : 's'} per scenario: direct and proxy interleaved, figures are medians of the rounds. A round during which processes outside the benchmark used more than ${pct(DISTURBED_SHARE)} of all cores counts as disturbed and is run again (up to ${r.rounds} more, ${(r.plan.retryBudgetMs / 1000).toFixed(0)} s in all); "rounds" says how many were used of those run. Command: \`${r.command}\``, '');
  out.push(`> ${r.machine.note}`, '');

  out.push('## Requests: proxy vs direct', '');
  out.push(`Targets: p50 overhead ≤ ${TARGETS.p50OverheadMs} ms and throughput ≥ ${TARGETS.throughputRatio * 100}% of direct. Latencies in ms; HTTP/1.1, keep-alive, client certificate CN=admin O=system:masters on both paths.`, '');
  out.push('| scenario | concurrency | direct p50 | direct p99 | direct rps | proxy p50 | proxy p99 | proxy rps | p50 overhead (ms) | throughput ratio | target met? | rounds |');
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|');
  for (const s of r.scenarios) {
    const flags = [s.direct.errors + s.proxy.errors > 0 ? ` ⚠ ${s.direct.errors + s.proxy.errors} errors` : '', s.direct.capped || s.proxy.capped ? ' ⚠ time cap hit' : ''].join('');
    out.push(`| ${s.title}${flags} | ${s.concurrency} | ${ms(s.direct.p50)} | ${ms(s.direct.p99)} | ${int(s.direct.rps)} | ${ms(s.proxy.p50)} | ${ms(s.proxy.p99)} | ${int(s.proxy.rps)} | ${signedMs(s.p50OverheadMs)} | ${pct(s.throughputRatio)} | ${verdict(s)} | ${rounds(s.rounds)} |`);
  }
  out.push('');

  out.push('CPU time per request in µs (median of rounds; /proc/<pid>/stat, 10 ms resolution per round). When the cores are saturated, throughput can be at most about direct total ÷ proxy total of direct:', '');
  out.push('| scenario | concurrency | direct: apiserver | etcd | client | total | proxy: vcnet | apiserver | etcd | client | total | direct ÷ proxy |');
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of r.scenarios) {
    const d = s.direct.cpuUsPerRequest;
    const p = s.proxy.cpuUsPerRequest;
    const dTotal = (d['apiserver'] ?? 0) + (d['etcd'] ?? 0) + (d['loadgen'] ?? 0);
    const pTotal = (p['vcnet'] ?? 0) + (p['apiserver'] ?? 0) + (p['etcd'] ?? 0) + (p['loadgen'] ?? 0);
    out.push(`| ${s.title} | ${s.concurrency} | ${int(d['apiserver'] ?? Number.NaN)} | ${int(d['etcd'] ?? Number.NaN)} | ${int(d['loadgen'] ?? Number.NaN)} | ${int(dTotal)} | ${int(p['vcnet'] ?? Number.NaN)} | ${int(p['apiserver'] ?? Number.NaN)} | ${int(p['etcd'] ?? Number.NaN)} | ${int(p['loadgen'] ?? Number.NaN)} | ${int(pTotal)} | ${pct(dTotal / pTotal)} |`);
  }
  out.push('');

  if (r.watch !== undefined) {
    const w = r.watch;
    out.push(`## Watches: ${w.watchers} concurrent watches, ${w.events} ConfigMaps created ${w.spacingMs} ms apart (rounds ${rounds(w.rounds)})`, '');
    out.push('Lag = ADDED event at the watcher − create call sent (the create goes direct on both paths; its own p50 is shown). No target was set; the difference is the proxy\'s cost.', '');
    out.push('| path | lag p50 (ms) | lag p99 (ms) | events delivered | create p50 (ms) | CPU ms per round: vcnet / apiserver / client |');
    out.push('|---|--:|--:|--:|--:|--:|');
    for (const [label, side] of [['direct', w.direct], ['proxy', w.proxy]] as const) {
      const c = side.cpuMsPerRun;
      out.push(`| ${label} | ${ms(side.p50)} | ${ms(side.p99)} | ${int(side.delivered)} / ${int(side.expected)} | ${ms(side.createP50)} | ${c['vcnet'] === undefined ? '—' : int(c['vcnet'])} / ${int(c['apiserver'] ?? Number.NaN)} / ${int(c['loadgen'] ?? Number.NaN)} |`);
    }
    out.push(`| proxy − direct | ${signedMs(w.p50DiffMs)} | ${signedMs(w.p99DiffMs)} (×${w.p99Ratio.toFixed(2)}) | | | |`, '');
  }

  const m = r.memory;
  out.push('## vcnet memory (RSS of the `vcnet serve` process)', '');
  out.push('| idle | peak under GET/LIST load | peak with the watches open | after the load | VmHWM (lifetime peak) |');
  out.push('|--:|--:|--:|--:|--:|');
  out.push(`| ${mib(m.idleMiB)} | ${mib(m.peakLoadMiB)} | ${mib(m.peakWatchMiB)} | ${mib(m.afterMiB)} | ${mib(m.hwmMiB)} |`, '');

  out.push('## Build and start-up', '');
  out.push('| what | time | source |');
  out.push('|---|--:|---|');
  for (const [unit, recs] of Object.entries(r.build.latest)) {
    for (const kind of ['cold', 'warm'] as const) {
      const rec = recs[kind];
      out.push(`| ${kind} build of ${unit}${rec === undefined ? '' : ` ${rec.version}`} | ${rec === undefined ? 'not recorded' : `${rec.seconds.toFixed(1)} s`} | ${rec === undefined ? 'build-times.json' : `build-times.json, ${rec.finishedAt}, ${rec.packagesCompiled} packages compiled, ${rec.goVersion}`} |`);
    }
  }
  out.push(`| ensureBinaries(), all cached | ${(r.build.ensureBinariesCachedMs / 1000).toFixed(2)} s | measured in this run |`);
  out.push(`| host control plane start-up | ${(r.startup.host['total'] ?? Number.NaN) / 1000} s | state.host.timings: ${timingList(r.startup.host)} |`);
  out.push(`| virtual control plane start-up | ${(r.startup.virtual['total'] ?? Number.NaN) / 1000} s | state.virtual.timings: ${timingList(r.startup.virtual)} |`);
  if (r.startup.upEnvMs !== undefined) out.push(`| upEnv (both planes in parallel, binaries check included) | ${(r.startup.upEnvMs / 1000).toFixed(2)} s | measured in this run |`);
  out.push(`| vcnet serve, spawn to /readyz 200 | ${(r.startup.vcnetReadyMs / 1000).toFixed(2)} s | measured in this run |`, '');
  out.push(r.build.note, '');

  out.push('## Machine', '');
  out.push(`${r.machine.cpus} × ${r.machine.cpuModel}, ${int(r.machine.memoryMiB)} MiB; Node ${r.machine.node}; Kubernetes ${r.machine.kubernetes}. Load average (1, 5, 15 min) at start ${r.machine.loadAverageStart.map((v) => v.toFixed(2)).join(', ')}, at end ${r.machine.loadAverageEnd.map((v) => v.toFixed(2)).join(', ')}. During the measured runs, processes outside this benchmark (neither the client, vcnet nor the control planes) used a median ${pct(r.machine.otherCpuShare.median)} (at most ${pct(r.machine.otherCpuShare.max)}) of all cores; ${disturbedRuns(r)} measured runs were disturbed (over ${pct(DISTURBED_SHARE)}).`, '');
  return out.join('\n');
}

function disturbedRuns(r: BenchReport): string {
  const runs: RunMeta[] = [...r.scenarios.flatMap((s) => [...s.direct.runs, ...s.proxy.runs]), ...(r.watch === undefined ? [] : [...r.watch.direct.runs, ...r.watch.proxy.runs])];
  return `${runs.filter((x) => x.othersShare > DISTURBED_SHARE).length} of ${runs.length}`;
}

function rounds(c: RoundCount): string {
  if (c.clean === c.run) return String(c.run);
  return c.clean === 0 ? `${c.run}, all disturbed ⚠` : `${c.clean} of ${c.run}`;
}

function timingList(t: Record<string, number>): string {
  return Object.entries(t).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v} ms`).join(', ');
}
