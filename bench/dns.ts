// `npm run bench:dns`: vcnet's DNS server against CoreDNS's kubernetes plugin (built from its Go
// module, tools/coredns), both serving the same virtual kube-apiserver (issue 5, "Measure"):
// queries/s and latency for hits, NXDOMAIN and search-path expansions with thousands of Services
// indexed, memory with those Services and their endpoints, and the answer lag after a create and
// a delete. Writes bench/results/<name>.{json,md}, prints the markdown, stops all it started.
// What each figure means: bench/README.md, "DNS".
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { COREDNS_VERSION, ensureCoreDNS } from '../src/local/build.ts';
import { benchLog, intFlag, listFlag, makeWorkDir, parseBenchFlags, runMain, stopOnSignals, usageExit } from './lib/cli.ts';
import { startBenchEnv, type BenchEnv } from './lib/env.ts';
import { runDnsLoad } from './lib/dns-load.ts';
import { createPopulation, createService, mixes, namespaceName, removePopulation, ZONE, type Mix, type MixId, type Population } from './lib/dns-population.ts';
import { DnsProbe, waitAllAnswered } from './lib/dns-probe.ts';
import { dnsMarkdown, type DnsPlan, type DnsReport, type LagFigures, type RunFigures, type ServerFigures } from './lib/dns-report.ts';
import {
  corefile, COREDNS_VARIANTS, startCoreDNS, startEcho, startVcnetDns, type DnsServerProcess,
} from './lib/dns-servers.ts';
import { machineFigures } from './lib/machine.ts';
import { endpointAgent, fromTarget, request, statusMessage, type Endpoint } from './lib/pods-http.ts';
import { logTail } from '../src/local/process.ts';
import { readMemory, RssSampler } from './lib/procstat.ts';
import { DISTURBED_SHARE, type RoundCount } from './lib/report.ts';
import { publishResults, reportHead, runStart } from './lib/results.ts';
import { interleavedRounds, type RoundRun, type RoundsCtx } from './lib/rounds.ts';

const SCRIPT = 'bench:dns';
const SERVERS = ['vcnet', ...COREDNS_VARIANTS.map((v) => v.id)];
const MIXES: readonly MixId[] = ['hits', 'nxdomain', 'search'];

const FULL: DnsPlan = {
  rounds: 5,
  // A round of one mix is about 40 s with the three servers (2 × 6.3 s each): room for two or three re-runs.
  retryBudgetMs: 90_000,
  warmupMs: 1000,
  durationMs: 5000,
  outstanding: 100,
  rateQps: 5000,
  loadgenProcesses: 1,
  lagRounds: 6,
  population: { namespaces: 50, services: 5000, endpointsPerService: 4, headlessEvery: 10 },
  mixSize: 2000,
};
const QUICK: DnsPlan = {
  ...FULL,
  rounds: 1,
  // A round of one mix is about 6 s per server here.
  retryBudgetMs: 20_000,
  warmupMs: 500,
  durationMs: 2000,
  lagRounds: 2,
  population: { ...FULL.population, services: 1000 },
};

const DESCRIPTIONS: Record<string, string> = {
  vcnet: 'vcnet\'s DnsServer + ClusterResolver + ClusterIndex (src/dns), one Node process (bench/lib/dns-vcnet.ts)',
  coredns: `CoreDNS ${COREDNS_VERSION} with vCluster's Corefile (kubernetes plugin, \`cache 30\`, loadbalance), GOMAXPROCS = all cores`,
  'coredns-nocache': `CoreDNS ${COREDNS_VERSION}, the same Corefile without \`cache\`: the kubernetes plugin alone`,
};

const USAGE = `Usage: npm run bench:dns -- [flags]

  --quick              a smaller run (about 2 minutes): 1,000 Services, 1 round, 2 s runs
  --rounds N           rounds of every (server, mix) run (default ${FULL.rounds}); disturbed rounds are run again
  --services N         Services in the virtual cluster (default ${FULL.population.services}, 4 endpoints each)
  --servers LIST       comma-separated subset of ${SERVERS.join(',')}
  --mixes LIST         comma-separated subset of ${MIXES.join(',')}
  --duration MS        measured time of each run (default ${FULL.durationMs})
  --outstanding N      queries in flight in the max runs (default ${FULL.outstanding})
  --rate QPS           rate of the fixed-rate runs (default ${FULL.rateQps})
  --loadgen N          load generator processes (default ${FULL.loadgenProcesses})
  --lag-rounds N       create/delete rounds of the lag scenario (default ${FULL.lagRounds}; 0 skips it)
  --state-dir DIR      reuse the environment of \`vcnet up --state-dir DIR\` (its namespaces are removed at the end)
  --name NAME          results file name under bench/results/ (default: dns, or dns-quick)
  --cpu-prof DIR       write a V8 CPU profile of vcnet's DNS process to DIR (open it in Chrome DevTools)

CoreDNS is built from tools/coredns on first use (a few minutes) and cached.
`;

const log = benchLog(SCRIPT);

interface Flags {
  quick: boolean;
  plan: DnsPlan;
  servers: string[];
  mixes: MixId[];
  stateDir: string | undefined;
  name: string;
  cpuProfileDir: string | undefined;
}

function parseFlags(argv: string[]): Flags | string {
  // No scenarios to pick with --only: --servers and --mixes pick what is measured.
  const flags = parseBenchFlags(argv, {
    services: { type: 'string' }, servers: { type: 'string' }, mixes: { type: 'string' }, duration: { type: 'string' },
    outstanding: { type: 'string' }, rate: { type: 'string' }, loadgen: { type: 'string' }, 'lag-rounds': { type: 'string' },
    'state-dir': { type: 'string' }, 'cpu-prof': { type: 'string' },
  }, { defaultName: 'dns' });
  if (typeof flags === 'string') return flags;
  const { values, quick } = flags;
  const plan: DnsPlan = { ...(quick ? QUICK : FULL) };
  plan.population = { ...plan.population };
  if (flags.rounds !== undefined) plan.rounds = flags.rounds;
  const ints: Array<[string | undefined, string, number, number, (n: number) => void]> = [
    [values.services, 'services', 100, 50_000, (n) => { plan.population.services = n; }],
    [values.duration, 'duration', 500, 120_000, (n) => { plan.durationMs = n; }],
    [values.outstanding, 'outstanding', 1, 10_000, (n) => { plan.outstanding = n; }],
    [values.rate, 'rate', 100, 1_000_000, (n) => { plan.rateQps = n; }],
    [values.loadgen, 'loadgen', 1, 8, (n) => { plan.loadgenProcesses = n; }],
    [values['lag-rounds'], 'lag-rounds', 0, 100, (n) => { plan.lagRounds = n; }],
  ];
  for (const [v, name, min, max, set] of ints) {
    const n = intFlag(v, name, min, max);
    if (typeof n === 'string') return n;
    if (n !== undefined) set(n);
  }
  const servers = listFlag(values.servers, 'servers', SERVERS);
  if (typeof servers === 'string') return servers;
  const mixList = listFlag(values.mixes, 'mixes', MIXES);
  if (typeof mixList === 'string') return mixList;
  const cpuProfileDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  return { quick, plan, servers, mixes: mixList, stateDir: values['state-dir'], name: flags.name, cpuProfileDir };
}

/** The generator against the trivial responder: with the run's settings, and with one more process. */
async function measureCeiling(workDir: string, plan: DnsPlan, mix: Parameters<typeof runDnsLoad>[0]['mix']): Promise<DnsReport['ceiling']> {
  const echo = await startEcho(workDir);
  try {
    const out: DnsReport['ceiling'] = [];
    for (const processes of [plan.loadgenProcesses, plan.loadgenProcesses + 1]) {
      // The echo answers NOERROR with no records: the mix's expectations do not apply to it.
      const r = await runDnsLoad({ host: '127.0.0.1', port: echo.port, mix: mix.map((q) => ({ name: q.name, type: q.type })), outstanding: plan.outstanding, processes, warmupMs: plan.warmupMs, durationMs: plan.durationMs });
      out.push({ processes, outstanding: plan.outstanding, qps: r.qps, p99: r.latency.p99, generatorCpuPercent: r.generatorCpuPercent });
      log(`ceiling, ${processes} generator process(es): ${Math.round(r.qps)} answers/s, p99 ${r.latency.p99.toFixed(2)} ms`);
    }
    return out;
  } finally {
    await echo.stop();
  }
}

async function startServers(ids: readonly string[], kubeconfig: string, workDir: string, coredns: string | undefined, warnings: string[], cpuProfileDir: string | undefined): Promise<DnsServerProcess[]> {
  const out: DnsServerProcess[] = [];
  for (const id of ids) {
    if (id === 'vcnet') {
      try {
        out.push(await startVcnetDns({ kubeconfig, workDir, ...(cpuProfileDir !== undefined ? { cpuProfileDir } : {}) }));
      } catch (err) {
        warnings.push(`vcnet's DNS server did not start, so it was left out: ${(err as Error).message.split('\n')[0]}`);
        log(`vcnet's DNS server did not start: ${(err as Error).message}`);
      }
      continue;
    }
    const variant = COREDNS_VARIANTS.find((v) => v.id === id);
    if (variant === undefined || coredns === undefined) continue;
    out.push(await startCoreDNS({ binary: coredns, variant, kubeconfig, workDir }));
  }
  for (const s of out) log(`${s.id} ready on 127.0.0.1:${s.port} (pid ${s.pid}) in ${Math.round(s.readyMs)} ms`);
  return out;
}

/** Every Service answers on every server: A for ClusterIP, all endpoints for headless. */
async function waitCaughtUp(servers: readonly DnsServerProcess[], pop: Population, timeoutMs: number): Promise<Map<string, number>> {
  const queries = pop.services.map((s) => ({
    name: `${s.name}.${s.namespace}.svc.${ZONE}`, type: 'A' as const,
    ok: (a: { rcode: string; answers: number }) => a.rcode === 'NOERROR' && (s.headless ? a.answers === pop.plan.endpointsPerService : a.answers === 1),
  }));
  const out = new Map<string, number>();
  await Promise.all(servers.map(async (s) => {
    try {
      out.set(s.id, await waitAllAnswered(s.port, queries, timeoutMs));
    } catch (err) {
      throw new Error(`${s.id}: ${(err as Error).message}${s.logFile === undefined ? '' : `\n${s.id}'s log ends:\n${logTail(s.logFile, 20)}`}`);
    }
  }));
  return out;
}

/** One Service created, then deleted, while every server is polled for it. */
async function measureLag(api: Endpoint, servers: readonly DnsServerProcess[], rounds: number, tag: string): Promise<{ lag: LagFigures[]; createRttMs: number[]; deleteRttMs: number[] }> {
  const probes = await Promise.all(servers.map((s) => DnsProbe.open(s.port)));
  const agent = endpointAgent(api, 1);
  const lag: LagFigures[] = servers.map((s) => ({ server: s.id, createMs: [], deleteMs: [] }));
  const createRttMs: number[] = [];
  const deleteRttMs: number[] = [];
  const ns = namespaceName(0);
  try {
    for (let r = 0; r < rounds; r++) {
      const name = `lag-${tag}-${r}`;
      const fqdn = `${name}.${ns}.svc.${ZONE}`;
      const t0 = performance.now();
      const created = probes.map((p) => p.until(fqdn, 'A', (a) => a.rcode === 'NOERROR' && a.answers > 0, 30_000));
      await createService(api, agent, ns, name, false);
      createRttMs.push(performance.now() - t0);
      const c = await Promise.all(created);
      c.forEach((t, i) => (lag[i] as LagFigures).createMs.push(t - t0));
      const t1 = performance.now();
      const deleted = probes.map((p) => p.until(fqdn, 'A', (a) => a.rcode === 'NXDOMAIN', 30_000));
      const d = await request(api, agent, 'DELETE', `/api/v1/namespaces/${ns}/services/${name}`);
      if (d.status !== 200) throw new Error(`deleting Service ${ns}/${name}: ${statusMessage(d)}`);
      deleteRttMs.push(performance.now() - t1);
      const g = await Promise.all(deleted);
      g.forEach((t, i) => (lag[i] as LagFigures).deleteMs.push(t - t1));
      log(`lag round ${r + 1}/${rounds}: ${lag.map((l) => `${l.server} +${Math.round(l.createMs.at(-1) as number)}/-${Math.round(l.deleteMs.at(-1) as number)} ms`).join(', ')}`);
    }
  } finally {
    agent.destroy();
    for (const p of probes) p.close();
  }
  return { lag, createRttMs, deleteRttMs };
}

function firstError(text: string): string {
  return (text.split('\n').find((l) => /\[ERROR\]|"level":50|panic/.test(l)) ?? '').slice(0, 300);
}

/** What the rounds of the load runs need: rounds.ts's context, and the outside load of every run for the machine block. */
interface DnsCtx extends RoundsCtx {
  readonly plan: DnsPlan;
  /** Per measured run: "other load" as a share of all cores. */
  readonly otherShares: number[];
}

/** One server's turn in a round of one mix: its max run, then its fixed-rate run. */
interface ServerTurn extends RoundRun {
  runs: RunFigures[];
}

/**
 * Interleaved rounds of one mix (rounds.ts): a round gives every server one turn, in an order that
 * rotates each round, so drift on the machine hits all alike. A round in which any run's other
 * load is above DISTURBED_SHARE is kept but not used, and run again while the retry budget lasts.
 */
async function measureMix(ctx: DnsCtx, mix: Mix, servers: readonly DnsServerProcess[]): Promise<{ runs: RunFigures[]; rounds: RoundCount }> {
  const { plan } = ctx;
  const byId = new Map(servers.map((s) => [s.id, s]));
  const { runs, rounds } = await interleavedRounds(ctx, `mix ${mix.id}`, servers.map((s) => s.id), async (id, round): Promise<ServerTurn> => {
    const s = byId.get(id) as DnsServerProcess;
    const turn: RunFigures[] = [];
    for (const kind of ['max', 'fixed-rate'] as const) {
      const result = await runDnsLoad({
        host: '127.0.0.1', port: s.port, mix: mix.queries, outstanding: plan.outstanding,
        ...(kind === 'fixed-rate' ? { rateQps: plan.rateQps } : {}),
        processes: plan.loadgenProcesses, warmupMs: plan.warmupMs, durationMs: plan.durationMs, serverPids: [s.pid],
      });
      ctx.otherShares.push(result.otherCpuPercent / 100);
      turn.push({ round, server: s.id, mix: mix.id, kind, result, used: true });
      ctx.log(`${mix.id} round ${round + 1}${round >= plan.rounds ? ' (again)' : ''} ${s.id} ${kind}: ${Math.round(result.qps)} q/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms, lost ${result.lost}, wrong ${result.mismatchCount}, server CPU ${result.serverCpuMsPer1k.toFixed(1)} ms/1k, other load ${Math.round(result.otherCpuPercent)}%`);
    }
    return { runs: turn, othersShare: Math.max(...turn.map((r) => r.result.otherCpuPercent)) / 100, used: true };
  }, (round) => `other load ${[...round].map(([id, t]) => `${id} ${Math.round(t.othersShare * 100)}%`).join(', ')} of all cores, the higher of each server's two runs`);
  // rounds.ts marks whole turns; each run of a turn shares its fate.
  for (const t of runs) for (const r of t.runs) r.used = t.used;
  return { runs: runs.flatMap((t) => t.runs), rounds };
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') return usageExit(SCRIPT, flags, USAGE);
  const { plan, name } = flags;
  const start = runStart();
  const warnings: string[] = [];
  const workDir = makeWorkDir('vcnet-bench-dns-', flags.stateDir === undefined, log);

  let env: BenchEnv | undefined;
  let starting: Promise<BenchEnv> | undefined;
  let servers: DnsServerProcess[] = [];
  let population: Population | undefined;
  const { stop, signal: interrupted } = stopOnSignals(async () => {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    if (env === undefined && starting !== undefined) env = await starting.catch(() => undefined);
    if (env !== undefined) {
      if (!env.ownsPlanes && population !== undefined) await removePopulation(fromTarget(env.direct, 'virtual apiserver'), population, log);
      log('stopping what this run started');
      await env.stop().catch((err: unknown) => log(`stopping failed: ${(err as Error).message}`));
    }
    rmSync(workDir, { recursive: true, force: true });
  }, log);

  try {
    const wantsCoreDNS = flags.servers.some((s) => s.startsWith('coredns'));
    const coredns = wantsCoreDNS ? (await ensureCoreDNS({ log })).coredns : undefined;
    interrupted.throwIfAborted();
    // Service sync off: the Services only need to exist in the virtual cluster for DNS, and 5,000
    // host-first creates through the webhook would make the set-up take most of the time budget.
    const off = { enabled: false };
    starting = startBenchEnv({
      workDir, log, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}),
      vcnetConfig: { sync: { toHost: { services: off, endpoints: off, endpointSlices: off } } },
    });
    env = await starting;
    interrupted.throwIfAborted();
    if (!env.ownsPlanes) warnings.push('--state-dir: the environment of `vcnet up` syncs Services to the host, so the population was created through vcnet\'s webhook.');
    const api = fromTarget(env.direct, 'virtual apiserver (direct)');
    const kubeconfig = env.state.kubeconfigs.virtualDirect;

    servers = await startServers(flags.servers, kubeconfig, workDir, coredns, warnings, flags.cpuProfileDir);
    if (servers.length === 0) throw new Error('no DNS server to measure');
    await new Promise((r) => setTimeout(r, 2000));
    const rssEmpty = new Map(servers.map((s) => [s.id, readMemory(s.pid)?.rssMiB ?? Number.NaN]));

    log(`creating ${plan.population.services} Services with ${plan.population.endpointsPerService} endpoints each in ${plan.population.namespaces} namespaces`);
    population = await createPopulation(api, plan.population, 32, log);
    log(`population created in ${population.seconds.toFixed(1)} s; waiting for every server to answer all of it`);
    const catchUp = await waitCaughtUp(servers, population, 180_000);
    await new Promise((r) => setTimeout(r, 3000));
    const rssLoaded = new Map(servers.map((s) => [s.id, readMemory(s.pid)?.rssMiB ?? Number.NaN]));
    for (const s of servers) log(`${s.id}: caught up in ${((catchUp.get(s.id) ?? Number.NaN) / 1000).toFixed(1)} s; RSS ${rssEmpty.get(s.id)?.toFixed(1)} -> ${rssLoaded.get(s.id)?.toFixed(1)} MiB`);

    const allMixes = mixes(population, plan.mixSize).filter((m) => flags.mixes.includes(m.id));
    interrupted.throwIfAborted();
    const ceiling = await measureCeiling(workDir, plan, (allMixes[0] as (typeof allMixes)[number]).queries);

    const ctx: DnsCtx = { plan, retryLeftMs: plan.retryBudgetMs, signal: interrupted, log, otherShares: [] };
    const samplers = new Map(servers.map((s) => [s.id, new RssSampler(s.pid, 100)]));
    const runs: RunFigures[] = [];
    const mixRounds: DnsReport['mixRounds'] = {};
    for (const mix of allMixes) {
      const m = await measureMix(ctx, mix, servers);
      runs.push(...m.runs);
      mixRounds[mix.id] = m.rounds;
      if (m.rounds.clean === 0) warnings.push(`${mix.id}: every round had a run with more than ${Math.round(DISTURBED_SHARE * 100)}% of the machine's CPU used by other work, so all were used: these figures are noisy; compare servers within a round, or run again on a quiet machine.`);
      else if (m.rounds.clean < m.rounds.run) log(`${mix.id}: ${m.rounds.run - m.rounds.clean} of ${m.rounds.run} rounds disturbed, not used`);
    }
    const peaks = new Map([...samplers].map(([id, s]) => [id, s.stop().peakMiB]));

    interrupted.throwIfAborted();
    const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const lagResult = plan.lagRounds > 0 ? await measureLag(api, servers, plan.lagRounds, tag) : { lag: [], createRttMs: [], deleteRttMs: [] };

    const serverFigures: ServerFigures[] = servers.map((s) => ({
      id: s.id, description: DESCRIPTIONS[s.id] ?? s.id, readyMs: s.readyMs,
      rssEmptyMiB: rssEmpty.get(s.id) ?? Number.NaN, rssLoadedMiB: rssLoaded.get(s.id) ?? Number.NaN,
      catchUpMs: catchUp.get(s.id) ?? Number.NaN, peakRssUnderLoadMiB: peaks.get(s.id) ?? Number.NaN,
      hwmMiB: readMemory(s.pid)?.hwmMiB ?? Number.NaN,
    }));
    for (const s of servers) {
      if (s.logFile === undefined) continue;
      const text = readFileSync(s.logFile, 'utf8');
      if (/\[ERROR\]|"level":50|panic/.test(text)) warnings.push(`${s.id} logged errors: ${firstError(text)}`);
    }
    const coreVariant = COREDNS_VARIANTS[0] as (typeof COREDNS_VARIANTS)[number];
    const report: DnsReport = {
      ...reportHead(start, SCRIPT, argv, name, flags.quick),
      plan,
      corefile: corefile({ port: 0, readyPort: 0, kubeconfig: '<virtual admin kubeconfig>', cache: coreVariant.cache }).replace(':0 {', ':<port> {').replace('127.0.0.1:0', '127.0.0.1:<port>'),
      population: {
        services: population.services.length, headless: population.services.filter((s) => s.headless).length,
        endpoints: population.endpoints, namespaces: population.namespaces.length, seconds: population.seconds,
      },
      ceiling, servers: serverFigures, runs, mixRounds,
      lag: lagResult.lag, createRttMs: lagResult.createRttMs, deleteRttMs: lagResult.deleteRttMs, warnings,
      machine: { ...machineFigures(start, ctx.otherShares), coredns: COREDNS_VERSION },
    };
    await publishResults(name, report, dnsMarkdown(report), stop);
    return 0;
  } finally {
    await stop();
  }
}

runMain(main, log);
