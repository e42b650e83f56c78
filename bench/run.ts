// `npm run bench`: vcnet's proxy against the direct path to the virtual kube-apiserver, in one run.
// Starts (or reuses) a local environment and a `vcnet serve` child, measures GET and LIST latency
// and throughput, watch event lag and vcnet's memory, gathers build and start-up times, then
// writes bench/results/<name>.{json,md}, prints the markdown and stops everything it started.
// What each figure means: bench/README.md.
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { isSameProcess } from '../src/local/process.ts';
import { buildFigures } from './lib/build-times.ts';
import { benchLog, makeWorkDir, parseBenchFlags, runMain, stopOnSignals, usageExit } from './lib/cli.ts';
import type { Target } from './lib/client.ts';
import { startBenchEnv, type BenchEnv } from './lib/env.ts';
import { runLoad, type LoadSpec } from './lib/load.ts';
import { machineFigures } from './lib/machine.ts';
import { CpuMeter, othersShareOf, readMemory, restingRssMiB, RssSampler } from './lib/procstat.ts';
import {
  markdown, pathFigures, scenarioFigures, TARGETS, watchFigures,
  type BenchReport, type Plan, type RoundCount, type RunMeta, type ScenarioFigures, type WatchFigures, type WatchRun,
} from './lib/report.ts';
import { publishResults, reportHead, runStart } from './lib/results.ts';
import { interleavedRounds } from './lib/rounds.ts';
import { removeSeeded, seed, type Seeded } from './lib/seed.ts';
import { runWatchLag } from './lib/watch.ts';

const SCRIPT = 'bench';
const SCENARIOS = ['get', 'list', 'watch'] as const;
const TARGET_NAMES: ReadonlyArray<Target['name']> = ['direct', 'proxy'];
const LIST_SIZE = 1000;
const RSS_INTERVAL_MS = 100;

// Request counts are fixed (not a duration), so every run does the same work; the time cap only
// guards against a machine far slower than expected. On the 2-core reference machine the full plan
// takes about 5 minutes, the quick one about 1, plus at most the retry budget for disturbed rounds.
const FULL: Plan = {
  rounds: 5,
  get: { 1: 3000, 16: 10000, 64: 10000 },
  list: { 1: 300, 16: 600, 64: 600 },
  maxRunMs: 60_000,
  retryBudgetMs: 150_000,
  watch: { watchers: 200, events: 50, spacingMs: 50, timeoutMs: 30_000 },
};
const QUICK: Plan = {
  rounds: 2,
  get: { 1: 500, 16: 1500, 64: 1500 },
  list: { 1: 40, 16: 80, 64: 80 },
  maxRunMs: 20_000,
  retryBudgetMs: 30_000,
  watch: { watchers: 200, events: 20, spacingMs: 50, timeoutMs: 20_000 },
};

const USAGE = `Usage: npm run bench -- [flags]

  --quick            a smaller run (about 1 minute): fewer requests and events, two rounds
  --rounds N         rounds per scenario (direct and proxy interleaved; medians reported)
  --only LIST        comma-separated subset of get,list,watch (build and start-up figures always)
  --state-dir DIR    reuse the running environment of \`vcnet up --state-dir DIR\` (left running)
  --name NAME        results file name under bench/results/ (default: proxy, or proxy-quick)
`;

const log = benchLog(SCRIPT);

interface Flags {
  quick: boolean;
  plan: Plan;
  only: ReadonlySet<string>;
  stateDir: string | undefined;
  name: string;
}

/** The flags, or a message for the user when they are wrong. */
function parseFlags(argv: string[]): Flags | string {
  const flags = parseBenchFlags(argv, { 'state-dir': { type: 'string' } }, { scenarios: SCENARIOS, defaultName: 'proxy' });
  if (typeof flags === 'string') return flags;
  const plan: Plan = { ...(flags.quick ? QUICK : FULL) };
  if (flags.rounds !== undefined) plan.rounds = flags.rounds;
  return { quick: flags.quick, plan, only: flags.only, stateDir: flags.values['state-dir'], name: flags.name };
}

/** What every measured run needs. */
interface Ctx {
  env: BenchEnv;
  plan: Plan;
  /** Process groups whose CPU is read around each run. */
  pids: ReadonlyMap<string, readonly number[]>;
  signal: AbortSignal;
  log: (m: string) => void;
  /** Time left for running disturbed rounds again, shared by all scenarios of the run. */
  retryLeftMs: number;
  /** Per run: the share of all cores used by processes outside the benchmark. */
  otherShares: number[];
}

/** Runs `measure` between CPU readings; the meter starts when `measure` calls its argument. */
async function metered<R>(ctx: Ctx, target: Target, measure: (startMeter: () => void) => Promise<R>): Promise<R & RunMeta> {
  const meter = new CpuMeter(ctx.pids);
  const r = await measure(() => meter.start());
  const cpu = meter.stop();
  // vcnet idles through a direct run; its few ms of timers are not the direct path's cost.
  if (target.name === 'direct') delete cpu.byProcess['vcnet'];
  const othersShare = othersShareOf(cpu);
  ctx.otherShares.push(othersShare);
  return { ...r, cpu, othersShare, used: true };
}

/**
 * Rounds of one direct and one proxy run, which goes first alternating; disturbed rounds are run
 * again (rounds.ts).
 */
async function interleaved<R extends RunMeta>(ctx: Ctx, label: string, run: (target: Target, round: number) => Promise<R>): Promise<{ direct: R[]; proxy: R[]; rounds: RoundCount }> {
  const { byPath, rounds } = await interleavedRounds(ctx, label, TARGET_NAMES, (name, round) => run(ctx.env[name], round), (pair) => {
    const share = (name: Target['name']): string => ((pair.get(name)?.othersShare ?? Number.NaN) * 100).toFixed(0);
    return `outside load ${share('direct')}% / ${share('proxy')}% of all cores during the direct / proxy run`;
  });
  return { direct: byPath.direct, proxy: byPath.proxy, rounds };
}

async function measureRequests(ctx: Ctx, seeded: Seeded, only: ReadonlySet<string>): Promise<ScenarioFigures[]> {
  const cases: Array<{ id: 'get' | 'list'; title: string; path: string; counts: Record<number, number> }> = [
    { id: 'get', title: 'GET one ConfigMap', path: seeded.getPath, counts: ctx.plan.get },
    { id: 'list', title: `LIST ${LIST_SIZE.toLocaleString('en-US')} ConfigMaps`, path: seeded.listPath, counts: ctx.plan.list },
  ];
  const scenarios: ScenarioFigures[] = [];
  for (const c of cases) {
    if (!only.has(c.id)) continue;
    for (const [conc, requests] of Object.entries(c.counts)) {
      const concurrency = Number(conc);
      const spec: LoadSpec = {
        path: c.path, concurrency, requests, maxMs: ctx.plan.maxRunMs,
        // Enough to open every connection and warm both servers' caches.
        warmup: c.id === 'get' ? Math.max(200, 4 * concurrency) : concurrency + 5,
      };
      const label = `${c.title} c=${concurrency}`;
      const runs = await interleaved(ctx, label, async (target, round) => {
        const r = await metered(ctx, target, (startMeter) => runLoad(target, spec, startMeter));
        log(`${label} ${target.name} round ${round + 1}: p50 ${r.latencyMs.p50.toFixed(3)} ms, p99 ${r.latencyMs.p99.toFixed(3)} ms, ${Math.round(r.rps)} req/s${r.errors > 0 ? `, ${r.errors} errors (${r.firstError})` : ''}${r.capped ? ', time cap hit' : ''}`);
        return r;
      });
      const s = scenarioFigures({ id: c.id, title: c.title, path: c.path, concurrency, requestsPerRun: requests, rounds: runs.rounds, direct: pathFigures(runs.direct), proxy: pathFigures(runs.proxy) });
      scenarios.push(s);
      log(`=> ${c.title} c=${concurrency}: p50 overhead ${s.p50OverheadMs.toFixed(3)} ms, throughput ${(s.throughputRatio * 100).toFixed(1)}% of direct`);
    }
  }
  return scenarios;
}

async function measureWatches(ctx: Ctx, seeded: Seeded): Promise<{ watch: WatchFigures; peakMiB: number }> {
  const { env, plan } = ctx;
  let peakMiB = 0;
  // Let the last LIST run's garbage and connections settle, then open and close one unmeasured
  // round per path: the first 200 handshakes after a heavy load are not what a watch costs.
  await sleepMs(3000);
  for (const target of [env.direct, env.proxy]) {
    await runWatchLag(target, env.direct, { namespace: seeded.watch, ...plan.watch, events: 5, prefix: `warm-${target.name}` });
  }
  const label = `${plan.watch.watchers} watches`;
  const runs = await interleaved<WatchRun>(ctx, label, async (target, round) => {
    const rss = target.name === 'proxy' ? new RssSampler(env.vcnet.pid, RSS_INTERVAL_MS) : undefined;
    const r = await metered(ctx, target, () => runWatchLag(target, env.direct, { namespace: seeded.watch, ...plan.watch, prefix: `w${round}-${target.name}` }));
    if (rss !== undefined) peakMiB = Math.max(peakMiB, rss.stop().peakMiB);
    log(`${label} ${target.name} round ${round + 1}: opened ${r.opened} in ${r.openMs.toFixed(0)} ms, lag p50 ${r.lagMs.p50.toFixed(3)} ms, p99 ${r.lagMs.p99.toFixed(3)} ms, ${r.delivered}/${r.expected} events`);
    return r;
  });
  return { watch: watchFigures(plan.watch, runs.rounds, runs.direct, runs.proxy), peakMiB };
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') return usageExit(SCRIPT, flags, USAGE);
  const { plan, only, name } = flags;
  const start = runStart();
  const workDir = makeWorkDir('vcnet-bench-', flags.stateDir === undefined, log);

  let env: BenchEnv | undefined;
  let starting: Promise<BenchEnv> | undefined;
  const { stop, signal: interrupted } = stopOnSignals(async () => {
    // Interrupted while starting: the detached planes are only recorded once both are up, so
    // let the start finish (or fail and clean up after itself), then stop what it started.
    if (env === undefined && starting !== undefined) env = await starting.catch(() => undefined);
    if (env !== undefined) {
      log('stopping what this run started');
      await env.stop().catch((err: unknown) => log(`stopping failed: ${(err as Error).message}`));
    }
    rmSync(workDir, { recursive: true, force: true });
  }, log);

  try {
    const build = await buildFigures(log);
    starting = startBenchEnv({ workDir, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}), log });
    env = await starting;
    interrupted.throwIfAborted();
    log(`vcnet ready in ${(env.vcnetReadyMs / 1000).toFixed(2)} s at ${env.proxy.url} (pid ${env.vcnet.pid}); virtual kube-apiserver at ${env.direct.url}`);
    const seeded = await seed(env.direct, LIST_SIZE);
    log(`seeded ${LIST_SIZE} ConfigMaps in ${seeded.seedSeconds.toFixed(1)} s (namespaces ${seeded.get}, ${seeded.list}, ${seeded.watch})`);

    // CPU is read per group: what serves the requests, and the rest of the environment apart, so
    // "others" is only what runs on the machine besides this benchmark.
    const { apiserverPid, etcdPid } = env;
    const pids = new Map<string, number[]>([['vcnet', [env.vcnet.pid]]]);
    if (apiserverPid !== undefined) pids.set('apiserver', [apiserverPid]);
    if (etcdPid !== undefined) pids.set('etcd', [etcdPid]);
    pids.set('environment', env.state.processes.filter((p) => isSameProcess(p) && p.pid !== apiserverPid && p.pid !== etcdPid).map((p) => p.pid));
    const ctx: Ctx = { env, plan, pids, signal: interrupted, log, otherShares: [], retryLeftMs: plan.retryBudgetMs };

    // Idle: after start-up and the seeding (which went direct), before any request reaches vcnet.
    await sleepMs(2000);
    const idleMiB = await restingRssMiB(env.vcnet.pid, 3000, RSS_INTERVAL_MS);
    log(`vcnet RSS idle ${idleMiB.toFixed(1)} MiB`);

    const loadRss = new RssSampler(env.vcnet.pid, RSS_INTERVAL_MS);
    const scenarios = await measureRequests(ctx, seeded, only);
    const loadPeak = loadRss.stop().peakMiB;
    const peakLoadMiB = scenarios.length === 0 ? Number.NaN : loadPeak;
    const watched = only.has('watch') ? await measureWatches(ctx, seeded) : undefined;

    await sleepMs(2000);
    const mem = readMemory(env.vcnet.pid);
    if (!env.ownsPlanes) await removeSeeded(env.direct, seeded, log);

    const report: BenchReport = {
      ...reportHead(start, SCRIPT, argv, name, flags.quick),
      rounds: plan.rounds,
      plan,
      targets: TARGETS,
      machine: {
        ...machineFigures(start, ctx.otherShares),
        note: `One machine with ${cpus().length} CPU cores shared by everything: the load generator, vcnet, both control planes (etcd, kube-apiserver, controllers, kwok) and whatever else runs there. The proxy's TLS termination and re-encryption compete for the same cores as the API server it fronts, so throughput ratios at concurrency 16 and 64 mostly measure CPU contention; compare ratios within this run, not absolute figures across machines.`,
      },
      scenarios,
      ...(watched !== undefined ? { watch: watched.watch } : {}),
      memory: {
        idleMiB,
        peakLoadMiB,
        peakWatchMiB: watched?.peakMiB ?? Number.NaN,
        afterMiB: mem?.rssMiB ?? Number.NaN,
        hwmMiB: mem?.hwmMiB ?? Number.NaN,
        sampleIntervalMs: RSS_INTERVAL_MS,
      },
      build,
      startup: {
        host: env.state.host.timings,
        virtual: env.state.virtual.timings,
        ...(env.upEnvMs !== undefined ? { upEnvMs: env.upEnvMs } : {}),
        vcnetReadyMs: env.vcnetReadyMs,
      },
    };
    await publishResults(name, report, markdown(report), stop);
    return 0;
  } finally {
    await stop();
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

runMain(main, log);
