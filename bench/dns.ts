// `npm run bench:dns`: vcnet's DNS server against CoreDNS's kubernetes plugin (built from its Go
// module, tools/coredns), both serving the same virtual kube-apiserver (issue 5, "Measure"):
// queries/s and latency for hits, NXDOMAIN and search-path expansions with thousands of Services
// indexed, memory with those Services and their endpoints, and the answer lag after a create and
// a delete. Writes bench/results/<name>.{json,md}, prints the markdown, stops all it started.
// What each figure means: bench/README.md, "DNS".
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { COREDNS_VERSION, ensureCoreDNS, KUBE_VERSION } from '../src/local/build.ts';
import { startBenchEnv, type BenchEnv } from './lib/env.ts';
import { runDnsLoad } from './lib/dns-load.ts';
import { createPopulation, createService, mixes, namespaceName, removePopulation, ZONE, type MixId, type Population } from './lib/dns-population.ts';
import { DnsProbe, waitAllAnswered } from './lib/dns-probe.ts';
import { dnsMarkdown, type DnsPlan, type DnsReport, type LagFigures, type RunFigures, type ServerFigures } from './lib/dns-report.ts';
import {
  corefile, COREDNS_VARIANTS, startCoreDNS, startEcho, startVcnetDns, vcnetDnsAvailable, type DnsServerProcess,
} from './lib/dns-servers.ts';
import { endpointAgent, fromTarget, request, statusMessage, type Endpoint } from './lib/pods-http.ts';
import { logTail } from '../src/local/process.ts';
import { readMemory, RssSampler } from './lib/procstat.ts';
import { median } from './lib/stats.ts';

const RESULTS = resolve(import.meta.dirname, 'results');
const SERVERS = ['vcnet', ...COREDNS_VARIANTS.map((v) => v.id)];
const MIXES: readonly MixId[] = ['hits', 'nxdomain', 'search'];

const FULL: DnsPlan = {
  rounds: 2,
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
  --rounds N           rounds of every (server, mix) run (default ${FULL.rounds})
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

const log = (m: string): void => { process.stderr.write(`[bench:dns ${new Date().toISOString().slice(11, 19)}] ${m}\n`); };

interface Flags {
  quick: boolean;
  plan: DnsPlan;
  servers: string[];
  mixes: MixId[];
  stateDir: string | undefined;
  name: string;
  cpuProfileDir: string | undefined;
}

function intFlag(v: string | undefined, name: string, min: number, max: number): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be an integer from ${min} to ${max}, got "${v}"`;
}

function listFlag<T extends string>(v: string | undefined, name: string, all: readonly T[]): T[] | string {
  const items = (v ?? all.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of items) if (!(all as readonly string[]).includes(s)) return `--${name}: unknown "${s}" (choose from ${all.join(', ')})`;
  return items.length === 0 ? `--${name} is empty` : items as T[];
}

function parseFlags(argv: string[]): Flags | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' }, rounds: { type: 'string' }, services: { type: 'string' }, servers: { type: 'string' },
        mixes: { type: 'string' }, duration: { type: 'string' }, outstanding: { type: 'string' }, rate: { type: 'string' },
        loadgen: { type: 'string' }, 'lag-rounds': { type: 'string' }, 'state-dir': { type: 'string' }, name: { type: 'string' }, 'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return (err as Error).message;
  }
  if (values.help === true) return '';
  const quick = values.quick === true;
  const plan: DnsPlan = { ...(quick ? QUICK : FULL) };
  plan.population = { ...plan.population };
  const ints: Array<[string | undefined, string, number, number, (n: number) => void]> = [
    [values.rounds, 'rounds', 1, 20, (n) => { plan.rounds = n; }],
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
  const name = values.name ?? (quick ? 'dns-quick' : 'dns');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return `--name must be a plain file name (letters, digits, . _ -), got "${name}"`;
  const cpuProfileDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  return { quick, plan, servers, mixes: mixList, stateDir: values['state-dir'], name, cpuProfileDir };
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
      if (!vcnetDnsAvailable()) { warnings.push('vcnet: src/dns/server.ts is not in this checkout yet; only CoreDNS was measured.'); continue; }
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

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') {
    if (flags === '') { process.stdout.write(USAGE); return 0; }
    process.stderr.write(`bench:dns: ${flags}\n\n${USAGE}`);
    return 2;
  }
  const { plan, name } = flags;
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAverageStart = loadavg();
  const warnings: string[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'vcnet-bench-dns-'));
  log(`working directory ${workDir}; should this run be killed with SIGKILL, stop its control planes with \`npx vcnet down --state-dir ${join(workDir, 'env-state')}\``);

  let env: BenchEnv | undefined;
  let starting: Promise<BenchEnv> | undefined;
  let servers: DnsServerProcess[] = [];
  let population: Population | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
      if (env === undefined && starting !== undefined) env = await starting.catch(() => undefined);
      if (env !== undefined) {
        if (!env.ownsPlanes && population !== undefined) await removePopulation(fromTarget(env.direct, 'virtual apiserver'), population, log);
        log('stopping what this run started');
        await env.stop().catch((err: unknown) => log(`stopping failed: ${(err as Error).message}`));
      }
      rmSync(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    process.once(signal, () => process.exit(130));
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const wantsCoreDNS = flags.servers.some((s) => s.startsWith('coredns'));
    const coredns = wantsCoreDNS ? (await ensureCoreDNS({ log })).coredns : undefined;
    // Service sync off: the Services only need to exist in the virtual cluster for DNS, and 5,000
    // host-first creates through the webhook would make the set-up take most of the time budget.
    const off = { enabled: false };
    starting = startBenchEnv({
      workDir, log, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}),
      vcnetConfig: { sync: { toHost: { services: off, endpoints: off, endpointSlices: off } } },
    });
    env = await starting;
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
    const ceiling = await measureCeiling(workDir, plan, (allMixes[0] as (typeof allMixes)[number]).queries);

    const samplers = new Map(servers.map((s) => [s.id, new RssSampler(s.pid, 100)]));
    const runs: RunFigures[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      for (const mix of allMixes) {
        // Rotate which server goes first, so drift on the machine hits all alike.
        const order = servers.map((_, i) => servers[(i + round) % servers.length] as DnsServerProcess);
        for (const s of order) {
          for (const kind of ['max', 'fixed-rate'] as const) {
            const result = await runDnsLoad({
              host: '127.0.0.1', port: s.port, mix: mix.queries, outstanding: plan.outstanding,
              ...(kind === 'fixed-rate' ? { rateQps: plan.rateQps } : {}),
              processes: plan.loadgenProcesses, warmupMs: plan.warmupMs, durationMs: plan.durationMs, serverPids: [s.pid],
            });
            runs.push({ round, server: s.id, mix: mix.id, kind, result });
            log(`round ${round + 1}/${plan.rounds} ${mix.id} ${s.id} ${kind}: ${Math.round(result.qps)} q/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms, lost ${result.lost}, wrong ${result.mismatchCount}, server CPU ${result.serverCpuMsPer1k.toFixed(1)} ms/1k, other load ${Math.round(result.otherCpuPercent)}%`);
          }
        }
      }
    }
    const disturbed = runs.filter((r) => r.result.otherCpuPercent > 10);
    if (disturbed.length > 0) {
      warnings.push(`${disturbed.length} of ${runs.length} runs had more than 10% of the machine's CPU used by other work (median ${Math.round(median(disturbed.map((r) => r.result.otherCpuPercent)))}%): their figures are noisy; compare servers within a round, or run again on a quiet machine.`);
    }
    const peaks = new Map([...samplers].map(([id, s]) => [id, s.stop().peakMiB]));

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
      name,
      command: `npm run bench:dns${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      startedAt: startedAt.toISOString(),
      durationSeconds: (performance.now() - t0) / 1000,
      quick: flags.quick,
      plan,
      corefile: corefile({ port: 0, readyPort: 0, kubeconfig: '<virtual admin kubeconfig>', cache: coreVariant.cache }).replace(':0 {', ':<port> {').replace('127.0.0.1:0', '127.0.0.1:<port>'),
      population: {
        services: population.services.length, headless: population.services.filter((s) => s.headless).length,
        endpoints: population.endpoints, namespaces: population.namespaces.length, seconds: population.seconds,
      },
      ceiling, servers: serverFigures, runs,
      lag: lagResult.lag, createRttMs: lagResult.createRttMs, deleteRttMs: lagResult.deleteRttMs, warnings,
      machine: {
        cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryMiB: totalmem() / 2 ** 20, node: process.version,
        kubernetes: KUBE_VERSION, coredns: COREDNS_VERSION, loadAverageStart, loadAverageEnd: loadavg(),
      },
    };
    const md = dnsMarkdown(report);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, `${name}.md`), `${md}\n`);
    await stop();
    process.stdout.write(`\n${md}\n\nWritten: bench/results/${name}.json, bench/results/${name}.md\n`);
    return 0;
  } finally {
    await stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
