// The pod benchmark's figures and their markdown summary (bench/README.md, "Pods" explains each).
import type { MachineFigures } from './machine.ts';
import type { PodsEnv } from './pods-env.ts';
import type { WatchRestart } from './pods-watch.ts';
import type { CpuSample } from './procstat.ts';
import { DISTURBED_SHARE, type RoundCount } from './report.ts';
import type { LatencySummary } from './stats.ts';

export const POD_TARGETS = {
  /** Pod create through vcnet (proxy + webhook) ÷ direct without vcnet, p50 and p99, at most. */
  createLatencyRatio: 2,
  /** Host pod Ready → virtual pod Ready, p99, at most (ms). */
  statusLagP99Ms: 100,
} as const;

/**
 * How a create reaches the virtual kube-apiserver:
 *   direct   straight to it, in a namespace vcnet's webhook excludes (no vcnet anywhere on the path);
 *   webhook  straight to it, in a synced namespace (the webhook creates the host pod; no proxy);
 *   proxy    through vcnet's proxy, in a synced namespace (proxy + webhook: what users get);
 *   host     (a reference) the same pod created straight on the *host* kube-apiserver, in a
 *            namespace of its own: what the webhook's synchronous host create costs at the least.
 */
export type PathId = 'direct' | 'webhook' | 'proxy' | 'host';
export const PATHS: readonly PathId[] = ['direct', 'webhook', 'proxy', 'host'];

export interface PodsPlan {
  rounds: number;
  /** Measured creates per run, by concurrency. */
  latency: Record<number, number>;
  /** Time all extra rounds (disturbed ones run again) may take together. */
  retryBudgetMs: number;
  churn: { population: number; durationMs: number; ratePerSec: number };
  throughput: { pods: number; concurrency: number[] };
  memory: { pods: number; concurrency: number };
}

export interface CreateRun {
  path: PathId;
  concurrency: number;
  ok: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  createsPerSec: number;
  latencyMs: LatencySummary;
  /** Mean time vcnet's webhook spent per pod CREATE in this run (vcnet_sync_duration_seconds), if scraped. */
  webhookMeanMs?: number;
  /** From the first DELETE to every virtual (and host) pod gone. */
  cleanupMs: number;
  cpu: CpuSample;
  othersShare: number;
  used: boolean;
}

export interface PathLatency {
  p50: number;
  p99: number;
  createsPerSec: number;
  errors: number;
  webhookMeanMs: number;
  /** CPU ms per create (median of used runs) per process group, during the measured creates. */
  cpuMsPerCreate: Record<string, number>;
}

export interface LatencyFigures {
  concurrency: number;
  createsPerRun: number;
  rounds: RoundCount;
  paths: Record<PathId, PathLatency>;
  /** proxy ÷ direct. */
  p50Ratio: number;
  p99Ratio: number;
  /** webhook ÷ direct: the share of the webhook alone. */
  webhookP50Ratio: number;
  webhookP99Ratio: number;
  targetMet: boolean;
  runs: CreateRun[];
}

export interface ChurnFigures {
  population: number;
  durationSeconds: number;
  plannedPerSec: number;
  createsPerSec: number;
  deletesPerSec: number;
  created: number;
  deleted: number;
  errors: number;
  firstError?: string;
  /** Host pod seen Ready → virtual pod seen Ready, for pods created during the churn. */
  lagMs: LatencySummary;
  /** The same for the pods that filled the population (a burst of creates, before the churn). */
  fillLagMs: LatencySummary;
  /** Create sent → virtual pod seen Ready. */
  createToReadyMs: LatencySummary;
  /** DELETE sent → virtual pod gone (host pod deleted, kwok finishes it, vcnet releases the virtual pod). */
  deleteToGoneMs: LatencySummary;
  /** Churn pods whose host pod was Ready but whose virtual pod never was (within the wait). */
  notConverged: number;
  /** vcnet's own vcnet_sync_status_lag_seconds over the churn: observations and mean (ms). */
  vcnetStatusLag?: { count: number; meanMs: number };
  cpu: CpuSample;
  othersShare: number;
  targetMet: boolean;
}

export interface ThroughputFigures {
  concurrency: number;
  pods: number;
  accepted: number;
  errors: number;
  firstError?: string;
  /** First create sent → last 201. */
  acceptSeconds: number;
  acceptedPerSec: number;
  /** Virtual pods seen Ready, and first create sent → last of them Ready. */
  ready: number;
  readySeconds: number;
  readyPerSec: number;
  /** Host pods seen Ready (scheduler + kwok): the ceiling for the virtual side. */
  hostReady: number;
  hostReadyPerSec: number;
  createToReadyMs: LatencySummary;
  /** The same creates straight to the virtual kube-apiserver in the excluded namespace. */
  direct: { accepted: number; errors: number; acceptedPerSec: number };
  acceptedRatio: number;
  cpu: CpuSample;
  othersShare: number;
}

export interface PodMemoryFigures {
  pods: number;
  /** Of those, with a host pod and a Ready virtual pod when RSS was read. */
  synced: number;
  /** Virtual pods deleted by something other than the benchmark during this scenario. */
  lost: number;
  idleMiB: number;
  beforeMiB: number;
  peakMiB: number;
  steadyMiB: number;
  perPodKiB: number;
  /** vcnet's own V8 heap in use (vcnet_nodejs_heap_size_used_bytes), which unlike RSS shrinks again. */
  heapBeforeMiB: number;
  heapSteadyMiB: number;
  /** The V8 heap vcnet has reserved (vcnet_nodejs_heap_size_total_bytes) at steady state: RSS follows this, not the heap in use. */
  heapTotalSteadyMiB: number;
  heapPerPodKiB: number;
  heapAfterCleanupMiB: number;
  afterCleanupMiB: number;
  hwmMiB: number;
  createSeconds: number;
  readySeconds: number;
  cleanupSeconds: number;
}

export interface PodsReport {
  name: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
  plan: PodsPlan;
  targets: typeof POD_TARGETS;
  baseline: string;
  warnings: string[];
  latency: LatencyFigures[];
  churn?: ChurnFigures;
  throughput: ThroughputFigures[];
  memory?: PodMemoryFigures;
  /** Virtual pods of this run deleted by something other than the benchmark (all scenarios). */
  lostPods: number;
  watchRestarts: WatchRestart[];
  machine: MachineFigures;
  startup: PodsEnv['startup'];
}

// Number formats and sections of the markdown, shared with the services benchmark (services-report.ts).

/** Milliseconds with 3 significant digits or so. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0);
}

export function x(v: number): string {
  return Number.isFinite(v) ? `×${v.toFixed(2)}` : '—';
}

export function rate(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '—';
}

export function mib(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} MiB` : '—';
}

export function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—';
}

export function rounds(c: RoundCount): string {
  if (c.clean === c.run) return String(c.run);
  return c.clean === 0 ? `${c.run}, all disturbed ⚠` : `${c.clean} of ${c.run}`;
}

export function summary(s: LatencySummary): string {
  return s.count === 0 ? '—' : `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`;
}

/** The run's warnings, if any, as a list under a bold heading. */
export function warningLines(warnings: readonly string[]): string[] {
  if (warnings.length === 0) return [];
  return ['**Warnings**', '', ...warnings.map((w) => `- ⚠ ${w}`), ''];
}

/** ` ⚠ N errors` after a latency row's concurrency when any path had errors. */
export function errorsNote(l: Pick<LatencyFigures, 'paths'>): string {
  const errs = PATHS.reduce((n, id) => n + l.paths[id].errors, 0);
  return errs > 0 ? ` ⚠ ${errs} errors` : '';
}

/** CPU ms per create by path and process group, one row per concurrency and path (median of rounds). */
export function cpuPerCreateLines(latency: ReadonlyArray<Pick<LatencyFigures, 'concurrency' | 'paths'>>): string[] {
  const out = ['| concurrency | path | vcnet | virtual apiserver | virtual etcd | host plane | client |', '|--:|---|--:|--:|--:|--:|--:|'];
  for (const l of latency) {
    for (const id of PATHS) {
      const c = l.paths[id].cpuMsPerCreate;
      out.push(`| ${l.concurrency} | ${id} | ${ms(c['vcnet'] ?? Number.NaN)} | ${ms(c['apiserver'] ?? Number.NaN)} | ${ms(c['etcd'] ?? Number.NaN)} | ${ms(c['host'] ?? Number.NaN)} | ${ms(c['loadgen'] ?? Number.NaN)} |`);
    }
  }
  out.push('');
  return out;
}

/** The "Machine" section; `more` ends its paragraph (what else the run counted). */
export function machineLines(mc: MachineFigures, more: string): string[] {
  return ['## Machine', '', `${mc.cpus} × ${mc.cpuModel}, ${Math.round(mc.memoryMiB).toLocaleString('en-US')} MiB; Node ${mc.node}; Kubernetes ${mc.kubernetes}. Load average at start ${mc.loadAverageStart.map((v) => v.toFixed(2)).join(', ')}, at end ${mc.loadAverageEnd.map((v) => v.toFixed(2)).join(', ')}. Outside load during measured runs: median ${pct(mc.otherCpuShare.median)}, max ${pct(mc.otherCpuShare.max)} of all cores (a latency round above ${pct(DISTURBED_SHARE)} is run again). ${more}`, ''];
}

export function podsMarkdown(r: PodsReport): string {
  const out: string[] = [];
  out.push(`# vcnet pod sync benchmark: ${r.name}`, '');
  out.push(`${r.startedAt}, ${r.durationSeconds.toFixed(0)} s, ${r.quick ? 'quick run' : 'full run'}. Command: \`${r.command}\``, '');
  out.push(...warningLines(r.warnings));

  out.push('## Pod create latency: through vcnet vs without vcnet', '');
  out.push(`Target: proxy ÷ direct ≤ ${POD_TARGETS.createLatencyRatio} at p50 and p99. Latency in ms from sending POST /api/v1/namespaces/<ns>/pods to the end of the 201 response; medians of ${r.plan.rounds} interleaved rounds. ${r.baseline}`, '');
  out.push('| concurrency | direct p50 | direct p99 | proxy p50 | proxy p99 | **proxy ÷ direct p50** | **proxy ÷ direct p99** | target met? | webhook p50 | webhook p99 | webhook ÷ direct p50 / p99 | host create p50 / p99 | webhook handler time per create | creates/s direct / webhook / proxy / host | rounds |');
  out.push('|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const l of r.latency) {
    const { direct: d, webhook: w, proxy: p, host: h } = l.paths;
    out.push(`| ${l.concurrency}${errorsNote(l)} | ${ms(d.p50)} | ${ms(d.p99)} | ${ms(p.p50)} | ${ms(p.p99)} | **${x(l.p50Ratio)}** | **${x(l.p99Ratio)}** | ${l.targetMet ? 'yes' : 'no'} | ${ms(w.p50)} | ${ms(w.p99)} | ${x(l.webhookP50Ratio)} / ${x(l.webhookP99Ratio)} | ${ms(h.p50)} / ${ms(h.p99)} | ${ms(p.webhookMeanMs)} | ${rate(d.createsPerSec)} / ${rate(w.createsPerSec)} / ${rate(p.createsPerSec)} / ${rate(h.createsPerSec)} | ${rounds(l.rounds)} |`);
  }
  out.push('');
  out.push('"host create" is the same pod created straight on the host kube-apiserver (a reference: the webhook makes one such create, synchronously, inside every virtual create). "webhook handler time" is vcnet_sync_duration_seconds{kind="Pod",operation="CREATE"} over the proxy runs: the time vcnet\'s webhook spends building and creating the host pod.', '');
  out.push('CPU ms per create during the measured creates (median of rounds; the reconciler\'s binding and status writes that follow a create are partly outside this window):', '');
  out.push(...cpuPerCreateLines(r.latency));

  if (r.churn !== undefined) {
    const c = r.churn;
    out.push(`## Status lag with ${c.population} pods churning`, '');
    out.push(`Lag = virtual pod seen Ready − its host pod seen Ready, both on this process's watches (virtual pods directly on the virtual kube-apiserver, host pods on the host one). Target: p99 ≤ ${POD_TARGETS.statusLagP99Ms} ms. ${c.population} pods are created first, then for ${c.durationSeconds.toFixed(0)} s a new pod is created and the oldest deleted (default grace period) ${c.plannedPerSec} times a second, all through vcnet. Figures: p50 / p99 / max, ms.`, '');
    out.push('| what | samples | p50 / p99 / max |');
    out.push('|---|--:|--:|');
    out.push(`| **status lag, pods created during the churn** | ${c.lagMs.count} | **${summary(c.lagMs)}** |`);
    out.push(`| status lag, the ${c.population} pods of the initial fill (a burst) | ${c.fillLagMs.count} | ${summary(c.fillLagMs)} |`);
    out.push(`| create sent → virtual pod Ready | ${c.createToReadyMs.count} | ${summary(c.createToReadyMs)} |`);
    out.push(`| DELETE sent → virtual pod gone | ${c.deleteToGoneMs.count} | ${summary(c.deleteToGoneMs)} |`);
    if (c.vcnetStatusLag !== undefined) out.push(`| vcnet's own vcnet_sync_status_lag_seconds (host event → status written), mean | ${c.vcnetStatusLag.count} | ${ms(c.vcnetStatusLag.meanMs)} (mean) |`);
    out.push('');
    out.push(`Achieved ${rate(c.createsPerSec)} creates/s and ${rate(c.deletesPerSec)} deletes/s (${c.created} and ${c.deleted}); ${c.errors} errors${c.firstError !== undefined ? ` (first: ${c.firstError})` : ''}; ${c.notConverged} pods whose host pod was Ready never showed Ready in the virtual cluster. Outside load ${pct(c.othersShare)} of all cores. Target met: ${c.targetMet ? 'yes' : 'no'}.`, '');
  }

  if (r.throughput.length > 0) {
    out.push('## Sustained pod creation through vcnet', '');
    out.push('Closed loop of creates through vcnet; "accepted" = 201s per second from the first create sent to the last 201; "Ready" = virtual pods seen Ready per second from the first create to the last Ready; the host column is the same for host pods (host scheduler and kwok), the ceiling for the virtual side. "direct" = the same number of creates straight to the virtual kube-apiserver in the namespace vcnet excludes.', '');
    out.push('| concurrency | pods | accepted/s | virtual Ready/s | host Ready/s | create → virtual Ready p50 / p99 / max (ms) | direct accepted/s | accepted ÷ direct | errors |');
    out.push('|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const t of r.throughput) {
      out.push(`| ${t.concurrency} | ${t.pods} | ${rate(t.acceptedPerSec)} | ${rate(t.readyPerSec)}${t.ready < t.accepted ? ` (${t.ready} of ${t.accepted} Ready ⚠)` : ''} | ${rate(t.hostReadyPerSec)} | ${summary(t.createToReadyMs)} | ${rate(t.direct.acceptedPerSec)} | ${pct(t.acceptedRatio)} | ${t.errors + t.direct.errors}${t.firstError !== undefined ? ` (${t.firstError})` : ''} |`);
    }
    out.push('');
  }

  if (r.memory !== undefined) {
    const m = r.memory;
    out.push(`## vcnet memory with ${m.pods.toLocaleString('en-US')} synced pods`, '');
    out.push('RSS (VmRSS) of the vcnet process, sampled every 100 ms, and the V8 heap in use as vcnet reports it (vcnet_nodejs_heap_size_used_bytes; unlike RSS it shrinks once the pods are gone). "before" = just before the creates; "steady" = every pod Ready, then 5 s of quiet; per pod = (steady − before) ÷ synced pods.', '');
    out.push('| | idle (start of run) | before the pods | peak while creating | steady, pods synced | per pod | after deleting them | VmHWM |');
    out.push('|---|--:|--:|--:|--:|--:|--:|--:|');
    const kib = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} KiB` : '—');
    out.push(`| RSS | ${mib(m.idleMiB)} | ${mib(m.beforeMiB)} | ${mib(m.peakMiB)} | ${mib(m.steadyMiB)} | ${kib(m.perPodKiB)} | ${mib(m.afterCleanupMiB)} | ${mib(m.hwmMiB)} |`);
    out.push(`| V8 heap used | | ${mib(m.heapBeforeMiB)} | | ${mib(m.heapSteadyMiB)} | ${kib(m.heapPerPodKiB)} | ${mib(m.heapAfterCleanupMiB)} | |`);
    out.push(`| V8 heap reserved | | | | ${mib(m.heapTotalSteadyMiB)} | | | |`, '');
    out.push(`Synced when read: ${m.synced} of ${m.pods} pods (host pod there, virtual pod Ready)${m.lost > 0 ? `; ⚠ ${m.lost} virtual pods were deleted by something other than the benchmark (see the warnings)` : ''}.`, '');
    out.push(`Creating took ${m.createSeconds.toFixed(1)} s, all Ready after ${m.readySeconds.toFixed(1)} s, deleting them ${m.cleanupSeconds.toFixed(1)} s.`, '');
  }

  out.push(...machineLines(r.machine, `Virtual pods lost (deleted by something other than the benchmark): ${r.lostPods}. Watch restarts: ${r.watchRestarts.length}.`));
  return out.join('\n');
}
