// The DNS benchmark's results: the JSON shape written to bench/results/<name>.json and its markdown.
// The head (which run, command, when) and the machine block are the ones every benchmark here
// writes (results.ts, machine.ts); rounds are counted as rounds.ts counts them.
import type { LoadResult, Mismatch } from './dns-load.ts';
import type { MixId, PopulationPlan } from './dns-population.ts';
import type { MachineFigures } from './machine.ts';
import { rounds as roundsText } from './pods-report.ts';
import { DISTURBED_SHARE, type RoundCount } from './report.ts';
import type { ReportHead } from './results.ts';
import { median } from './stats.ts';

export interface DnsPlan {
  /** Clean rounds wanted of every mix: one max and one fixed-rate run per server each. */
  rounds: number;
  /** Time all extra rounds (disturbed ones run again) may take together, over all mixes. */
  retryBudgetMs: number;
  warmupMs: number;
  durationMs: number;
  /** Queries in flight in the closed-loop runs (dnsperf's default -q is 100). */
  outstanding: number;
  /** Rate of the fixed-load latency runs. */
  rateQps: number;
  loadgenProcesses: number;
  lagRounds: number;
  population: PopulationPlan;
  mixSize: number;
}

export interface RunFigures {
  round: number;
  server: string;
  mix: MixId;
  kind: 'max' | 'fixed-rate';
  result: LoadResult;
  /** Whether the figures use this run: false when outside load disturbed its round and a clean round replaced it. */
  used: boolean;
}

export interface ServerFigures {
  id: string;
  description: string;
  /** Spawn to ready, empty cluster. */
  readyMs: number;
  rssEmptyMiB: number;
  /** After every Service of the population answered, 3 s later. */
  rssLoadedMiB: number;
  /** From the end of the population's creation until this server answered all of it. */
  catchUpMs: number;
  peakRssUnderLoadMiB: number;
  hwmMiB: number;
}

export interface LagFigures {
  server: string;
  /** Per round: from sending the create to the first answer with the Service's address, ms. */
  createMs: number[];
  /** Per round: from sending the delete to the first NXDOMAIN, ms. */
  deleteMs: number[];
}

export interface DnsReport extends ReportHead {
  plan: DnsPlan;
  corefile: string;
  population: { services: number; headless: number; endpoints: number; namespaces: number; seconds: number };
  ceiling: Array<{ processes: number; outstanding: number; qps: number; p99: number; generatorCpuPercent: number }>;
  servers: ServerFigures[];
  /** Every run, in the order run, disturbed ones included (`used: false`). */
  runs: RunFigures[];
  /** Rounds run and clean, per mix measured. */
  mixRounds: Partial<Record<MixId, RoundCount>>;
  lag: LagFigures[];
  createRttMs: number[];
  deleteRttMs: number[];
  warnings: string[];
  /**
   * machine.ts's figures; `otherCpuShare` is from the runs' "other load" (dns-load.ts), which
   * counts the idle control planes too, unlike the other benchmarks' outside load.
   */
  machine: MachineFigures & { coredns: string };
}

const MIX_TITLES: Record<MixId, string> = {
  hits: 'hits',
  nxdomain: 'NXDOMAIN',
  search: 'search-path expansions',
};

/** A max-run figure this close to the generator's ceiling may be the generator's limit, not the server's. */
const GENERATOR_BOUND = 0.8;

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

interface Cell { qps: number; p50: number; p99: number; cpuPer1k: number; other: number; lost: number; mismatches: number; rounds: number }

/**
 * Medians over the used runs (rounds.ts: the clean ones, or all when none was clean); lost queries
 * and wrong answers are counted over every run, since a wrong answer is wrong however busy the
 * machine was.
 */
function cell(runs: readonly RunFigures[]): Cell {
  const used = runs.filter((r) => r.used);
  return {
    qps: median(used.map((r) => r.result.qps)),
    p50: median(used.map((r) => r.result.latency.p50)),
    p99: median(used.map((r) => r.result.latency.p99)),
    cpuPer1k: median(used.map((r) => r.result.serverCpuMsPer1k)),
    other: median(used.map((r) => r.result.otherCpuPercent)),
    lost: runs.reduce((n, r) => n + r.result.lost, 0),
    mismatches: runs.reduce((n, r) => n + r.result.mismatchCount, 0),
    rounds: used.length,
  };
}

export function dnsMarkdown(r: DnsReport): string {
  const out: string[] = [];
  const p = r.plan;
  const servers = r.servers.map((s) => s.id);
  out.push(`# DNS: vcnet against CoreDNS ${r.machine.coredns} (${r.name})`, '');
  const mc = r.machine;
  out.push(`\`${r.command}\`, ${r.startedAt}, ${f0(r.durationSeconds)} s. ${mc.cpus} × ${mc.cpuModel}, ${f0(mc.memoryMiB)} MiB, Node ${mc.node}, Kubernetes ${mc.kubernetes}. Load average ${mc.loadAverageStart.map(f2).join(' ')} at the start, ${mc.loadAverageEnd.map(f2).join(' ')} at the end. Other load during the measured runs: median ${f1(mc.otherCpuShare.median * 100)}%, max ${f1(mc.otherCpuShare.max * 100)}% of all cores.`, '');
  out.push(`Virtual cluster: ${f0(r.population.services)} Services (${f0(r.population.headless)} headless) in ${r.population.namespaces} namespaces, ${f0(r.population.endpoints)} endpoints in hand-written EndpointSlices, created in ${f1(r.population.seconds)} s. Every server reads the same virtual kube-apiserver with the same admin kubeconfig and listens on 127.0.0.1 (UDP).`, '');
  out.push('Servers:', '');
  for (const s of r.servers) out.push(`- **${s.id}**: ${s.description}`);
  out.push('');
  out.push(`Each run: ${p.warmupMs} ms warm-up, ${p.durationMs} ms measured, ${p.rounds} round(s) per mix, servers in a rotating order; figures are medians over the rounds used. **max**: closed loop with ${p.outstanding} queries in flight (like dnsperf -q ${p.outstanding}), so p99 there includes queueing. **fixed rate**: ${f0(p.rateQps)} queries/s paced (dnsperf -Q), latency without saturation. ${p.loadgenProcesses} generator process(es), separate from every server. CPU ms/1k = the server's utime+stime per 1,000 answers.`, '');

  out.push('## Load generator ceiling', '');
  out.push('| generator processes | in flight | answers/s | p99 ms | generator CPU % |', '|---|---|---|---|---|');
  for (const c of r.ceiling) out.push(`| ${c.processes} | ${c.outstanding} | ${f0(c.qps)} | ${f2(c.p99)} | ${f0(c.generatorCpuPercent)} |`);
  out.push('', 'Against a trivial responder (a Node process that flips QR and sends the query back). A server measured well below this is not held back by the generator.', '');

  const ceiling = r.ceiling[0]?.qps ?? Number.POSITIVE_INFINITY;
  const disturbed = `${f0(DISTURBED_SHARE * 100)}%`;
  out.push(`"other load": CPU used during the measured window by everything except the server and the generator (the control planes, other work on the machine), in % of all ${r.machine.cpus} cores. A round in which any run's other load was above ${disturbed} is disturbed: kept in the JSON (\`used: false\`), not used, and run again, up to ${p.rounds} extra round(s) per mix while the run's retry budget (${f0(p.retryBudgetMs / 1000)} s) lasts. "lost" and "wrong answers" count every run, disturbed ones included. ‡: at least ${GENERATOR_BOUND * 100}% of the generator's ceiling, so that server may be faster than shown.`, '');
  for (const mix of ['hits', 'nxdomain', 'search'] as const) {
    const mixRuns = r.runs.filter((x) => x.mix === mix);
    if (mixRuns.length === 0) continue;
    out.push(`## ${MIX_TITLES[mix]}`, '');
    const mixRounds = r.mixRounds[mix];
    if (mixRounds !== undefined) out.push(`Rounds: ${roundsText(mixRounds)}.`, '');
    out.push('| server | max: queries/s | p50 ms | p99 ms | CPU ms/1k | fixed rate: queries/s | p50 ms | p99 ms | CPU ms/1k | lost | wrong answers | other load % |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of servers) {
      const m = cell(mixRuns.filter((x) => x.server === s && x.kind === 'max'));
      const fx = cell(mixRuns.filter((x) => x.server === s && x.kind === 'fixed-rate'));
      if (m.rounds === 0 && fx.rounds === 0) continue;
      const bound = m.qps >= GENERATOR_BOUND * ceiling ? ' ‡' : '';
      out.push(`| ${s} | ${f0(m.qps)}${bound} | ${f2(m.p50)} | ${f2(m.p99)} | ${f1(m.cpuPer1k)} | ${f0(fx.qps)} | ${f2(fx.p50)} | ${f2(fx.p99)} | ${f1(fx.cpuPer1k)} | ${m.lost + fx.lost} | ${m.mismatches + fx.mismatches} | ${f0(median([m.other, fx.other]))} |`);
    }
    out.push('');
  }

  const vcnetRuns = r.runs.filter((x) => x.server === 'vcnet' && x.kind === 'max');
  if (vcnetRuns.length > 0) {
    out.push('## vcnet against CoreDNS (target: at least its queries/s, p99 no worse)', '');
    out.push('| mix | against | queries/s ratio | p99 ratio (fixed rate) | p99 ratio (max) | met |', '|---|---|---|---|---|---|');
    for (const mix of ['hits', 'nxdomain', 'search'] as const) {
      for (const other of servers.filter((s) => s.startsWith('coredns'))) {
        const v = cell(r.runs.filter((x) => x.mix === mix && x.server === 'vcnet' && x.kind === 'max'));
        const c = cell(r.runs.filter((x) => x.mix === mix && x.server === other && x.kind === 'max'));
        const vf = cell(r.runs.filter((x) => x.mix === mix && x.server === 'vcnet' && x.kind === 'fixed-rate'));
        const cf = cell(r.runs.filter((x) => x.mix === mix && x.server === other && x.kind === 'fixed-rate'));
        if (v.rounds === 0 || c.rounds === 0) continue;
        const qpsRatio = v.qps / c.qps;
        const p99Fixed = vf.p99 / cf.p99;
        const met = qpsRatio >= 1 && p99Fixed <= 1;
        out.push(`| ${MIX_TITLES[mix]} | ${other} | ${f2(qpsRatio)} | ${f2(p99Fixed)} | ${f2(v.p99 / c.p99)} | ${met ? 'yes' : 'no'} |`);
      }
    }
    out.push('', 'Ratios are vcnet ÷ CoreDNS: above 1 for queries/s is better, below 1 for p99 is better.', '');
  }

  out.push('## Memory and start-up', '');
  out.push(`| server | ready, empty cluster (ms) | RSS empty (MiB) | catch-up after creating the population (s) | RSS with ${f0(r.population.services)} Services + ${f0(r.population.endpoints)} endpoints (MiB) | peak RSS under load (MiB) | VmHWM (MiB) |`, '|---|---|---|---|---|---|---|');
  for (const s of r.servers) out.push(`| ${s.id} | ${f0(s.readyMs)} | ${f1(s.rssEmptyMiB)} | ${f1(s.catchUpMs / 1000)} | ${f1(s.rssLoadedMiB)} | ${f1(s.peakRssUnderLoadMiB)} | ${f1(s.hwmMiB)} |`);
  out.push('', 'Catch-up: every server was running while the population was created; from the last create returning until that server answered every Service (A; headless: all 4 endpoints).', '');

  if (r.lag.length > 0) {
    out.push('## Answer lag after a change', '');
    out.push(`| server | create → first answer p50 ms | max ms | delete → first NXDOMAIN p50 ms | max ms | rounds |`, '|---|---|---|---|---|---|');
    for (const l of r.lag) out.push(`| ${l.server} | ${f1(median(l.createMs))} | ${f1(Math.max(...l.createMs))} | ${f1(median(l.deleteMs))} | ${f1(Math.max(...l.deleteMs))} | ${l.createMs.length} |`);
    out.push('', `From sending the request to the virtual kube-apiserver (its own round trip: create p50 ${f1(median(r.createRttMs))} ms, delete p50 ${f1(median(r.deleteRttMs))} ms) to the first matching answer, polling every server every 2 ms from the moment the request is sent. A name asked before the server knows it is a cached NXDOMAIN for \`cache 30\` (the kubernetes plugin's SOA minimum is its TTL, 5 s), as a client asking right away would see.`, '');
  }

  const wrong = r.runs.filter((x) => x.result.mismatchCount > 0);
  if (wrong.length > 0) {
    out.push('## Answers that differ from the expected ones', '');
    const seen = new Set<string>();
    for (const w of wrong) {
      for (const m of w.result.mismatches as Mismatch[]) {
        const key = `${w.server} ${m.name} ${m.type}`;
        if (seen.has(key) || seen.size >= 20) continue;
        seen.add(key);
        out.push(`- ${w.server}: \`${m.name} ${m.type}\` answered ${m.rcode} with ${m.answers} answer(s); expected ${m.expected.rcode}${m.expected.answers === undefined ? '' : m.expected.answers ? ' with answers' : ' without answers'}`);
      }
    }
    out.push('');
  }
  if (r.warnings.length > 0) {
    out.push('## Warnings', '');
    for (const w of r.warnings) out.push(`- ${w}`);
    out.push('');
  }
  return out.join('\n');
}
