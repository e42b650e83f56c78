// The services benchmark's figures and their markdown summary (bench/README.md, "Services", says
// what each one means and how it is measured). The create-latency figures have the pod
// benchmark's shape (pods-report.ts): the same four paths, runs and medians.
import type { MachineFigures } from './machine.ts';
import {
  cpuPerCreateLines, errorsNote, machineLines, mib, ms, rate, rounds, warningLines, x, type LatencyFigures,
} from './pods-report.ts';
import type { PodsEnv } from './pods-env.ts';
import type { WatchRestart } from './pods-watch.ts';
import type { LatencySummary } from './stats.ts';

export interface ServicesPlan {
  rounds: number;
  /** Measured creates per latency run, by concurrency. */
  latency: Record<number, number>;
  /** Time all extra latency rounds (disturbed ones run again) may take together. */
  retryBudgetMs: number;
  /** Services created through vcnet for the memory and restart scenarios. */
  services: number;
  populateConcurrency: number;
  /** Of each kind of damage done while vcnet is down: host twins deleted, host orphans created, host specs changed. */
  damage: number;
  signals: Array<'SIGTERM' | 'SIGKILL'>;
  /** vcnet.sync.orphanGraceSeconds of the vcnet under test (--orphan-grace). */
  orphanGraceSeconds: number;
  /** How long to wait for a consistent state after a restart before giving up. */
  restartTimeoutMs: number;
}

/** The pod benchmark's latency figures, without its target (issue 4 sets none for Services). */
export type ServiceLatencyFigures = Omit<LatencyFigures, 'targetMet'>;

export interface ServiceMemoryFigures {
  services: number;
  accepted: number;
  errors: number;
  firstError?: string;
  /** First create sent → last 201, and creates per second over that. */
  createSeconds: number;
  createsPerSec: number;
  /** Latency of those creates through vcnet (closed loop at populateConcurrency). */
  createLatencyMs: LatencySummary;
  /**
   * Host twins of the population deleted while the benchmark only created Services (its watches),
   * and vcnet's own vcnet_sync_orphans_deleted_total{kind="Service"} over the same time: both should
   * be 0. A twin taken for an orphan is deleted and then re-created from the virtual Service.
   */
  twinsDeleted: number;
  orphansCollected: number;
  /** First create sent → every virtual Service with a consistent host twin (the benchmark's watches). */
  consistentSeconds: number;
  /** Consistent when read (twins with the same ClusterIP and spec, no orphans). */
  consistent: boolean;
  idleMiB: number;
  beforeMiB: number;
  peakMiB: number;
  steadyMiB: number;
  perServiceKiB: number;
  heapBeforeMiB: number;
  heapSteadyMiB: number;
  heapTotalSteadyMiB: number;
  heapPerServiceKiB: number;
  hwmMiB: number;
}

export interface DamageCounts {
  missing: number;
  orphans: number;
  clusterIP: number;
  spec: number;
}

export interface RestartFigures {
  signal: 'SIGTERM' | 'SIGKILL';
  services: number;
  /** Signal sent → process gone. */
  exitMs: number;
  /** Process gone → new process spawned (the damage was done meanwhile). */
  downSeconds: number;
  /** What the benchmark did while vcnet was down, and what a LIST of both sides showed before the restart. */
  damage: { deleted: number; orphans: number; drifted: number; errors: number; firstError?: string; seen: DamageCounts };
  /** From the spawn of the new process, in ms: */
  readyMs: number;
  /** vcnet's own log lines (NaN when it did not log them). */
  milestones: Record<string, number>;
  /** Host Services of the run deleted from the stop to consistent (the benchmark's own deletes and vcnet's orphan collection included). */
  hostDeletes: number;
  /** The first damaged Service repaired, and the last of each kind. */
  firstRepairMs: number;
  lastRepairMs: { missing: number; orphans: number; drift: number };
  /** Every virtual Service with a consistent host twin, no orphans (watches), then confirmed by two LISTs. */
  consistentMs: number;
  confirmed: boolean;
  /** The LIST check after the wait (all zero when consistent). */
  final: DamageCounts;
  /** vcnet after the repair: RSS and V8 heap in use (lowest of 3 s), new process. */
  rssAfterMiB: number;
  heapAfterMiB: number;
  cpuMs: Record<string, number>;
}

export interface ServicesReport {
  name: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
  plan: ServicesPlan;
  baseline: string;
  warnings: string[];
  latency: ServiceLatencyFigures[];
  memory?: ServiceMemoryFigures;
  restarts: RestartFigures[];
  /** vcnet_sync_orphans_deleted_total{kind="Service"} over the latency runs: host twins of creates taken for orphans (should be 0). */
  latencyOrphansCollected?: number;
  /** Deleting the population at the end, through the webhook (host twins go with it). */
  cleanup?: { services: number; seconds: number };
  watchRestarts: WatchRestart[];
  machine: MachineFigures;
  startup: PodsEnv['startup'];
}

function s(v: number): string {
  return Number.isFinite(v) ? `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s` : '—';
}

function kib(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)} KiB` : '—';
}

export const MILESTONES = {
  caches: 'sync caches filled',
  webhooks: 'sync webhooks registered',
  lease: 'this replica holds the Lease',
} as const;

export function servicesMarkdown(r: ServicesReport): string {
  const out: string[] = [];
  out.push(`# vcnet service sync benchmark: ${r.name}`, '');
  out.push(`${r.startedAt}, ${r.durationSeconds.toFixed(0)} s, ${r.quick ? 'quick run' : 'full run'}. Command: \`${r.command}\``, '');
  out.push(`vcnet ran with \`vcnet.sync.orphanGraceSeconds: ${r.plan.orphanGraceSeconds}\` (default 30), so the host orphans of the restart scenario, made while vcnet is down, are past their grace when it starts; everything else at its default (pod sync on, \`leaseDurationSeconds: 15\`).${r.latencyOrphansCollected !== undefined ? ` Host twins vcnet took for orphans during the latency runs: ${r.latencyOrphansCollected}${r.latencyOrphansCollected > 0 ? ' ⚠' : ''}.` : ''}`, '');
  out.push(...warningLines(r.warnings));

  if (r.latency.length > 0) {
    out.push('## Service create latency: through vcnet vs without vcnet', '');
    out.push(`Latency in ms from sending POST /api/v1/namespaces/<ns>/services to the end of the 201 response; medians of ${r.plan.rounds} interleaved rounds. ${r.baseline}`, '');
    out.push('| concurrency | direct p50 / p99 | webhook p50 / p99 | proxy p50 / p99 | **proxy ÷ direct p50 / p99** | webhook ÷ direct p50 / p99 | host create p50 / p99 | webhook handler time per create | creates/s direct / webhook / proxy / host | rounds |');
    out.push('|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const l of r.latency) {
      const { direct: d, webhook: w, proxy: p, host: h } = l.paths;
      out.push(`| ${l.concurrency}${errorsNote(l)} | ${ms(d.p50)} / ${ms(d.p99)} | ${ms(w.p50)} / ${ms(w.p99)} | ${ms(p.p50)} / ${ms(p.p99)} | **${x(l.p50Ratio)} / ${x(l.p99Ratio)}** | ${x(l.webhookP50Ratio)} / ${x(l.webhookP99Ratio)} | ${ms(h.p50)} / ${ms(h.p99)} | ${ms(p.webhookMeanMs)} | ${rate(d.createsPerSec)} / ${rate(w.createsPerSec)} / ${rate(p.createsPerSec)} / ${rate(h.createsPerSec)} | ${rounds(l.rounds)} |`);
    }
    out.push('');
    out.push('Where the time goes: a synced create is the virtual create ("direct") + the API server calling vcnet\'s mutating webhook + vcnet\'s host create ("host create" is one bare POST of the same Service on the host kube-apiserver) + the proxy hop ("proxy" − "webhook"). "webhook handler time" is vcnet_sync_duration_seconds{kind="Service",operation="CREATE"} over the proxy runs: the time vcnet\'s hook spends per create, its host create included.', '');
    out.push('CPU ms per create during the measured creates (median of rounds):', '');
    out.push(...cpuPerCreateLines(r.latency));
  }

  if (r.memory !== undefined) {
    const m = r.memory;
    out.push(`## vcnet memory with ${m.services.toLocaleString('en-US')} synced Services`, '');
    out.push(`${m.accepted} Services created through vcnet at concurrency ${r.plan.populateConcurrency} in ${m.createSeconds.toFixed(1)} s (${rate(m.createsPerSec)}/s, ${m.errors} errors${m.firstError !== undefined ? `, first: ${m.firstError}` : ''}); create latency p50 / p99 / max ${ms(m.createLatencyMs.p50)} / ${ms(m.createLatencyMs.p99)} / ${ms(m.createLatencyMs.max)} ms; every one had a consistent host twin ${m.consistentSeconds.toFixed(1)} s after the first create${m.consistent ? '' : ' ⚠ not consistent when memory was read'}. Host twins vcnet deleted meanwhile (taken for orphans, then re-created): ${m.twinsDeleted}${m.twinsDeleted > 0 ? ' ⚠' : ''} (vcnet's own count of orphans collected: ${m.orphansCollected}). RSS (VmRSS) sampled every 100 ms; V8 heap in use = vcnet_nodejs_heap_size_used_bytes from vcnet's /metrics, the lowest reading over 3 s ("before") or 5 s ("steady"). "steady" = consistent, then 5 s of quiet; per Service = (steady − before) ÷ Services.`, '');
    out.push('| | idle (start of run) | before the Services | peak while creating | steady, Services synced | per Service | VmHWM |');
    out.push('|---|--:|--:|--:|--:|--:|--:|');
    out.push(`| RSS | ${mib(m.idleMiB)} | ${mib(m.beforeMiB)} | ${mib(m.peakMiB)} | ${mib(m.steadyMiB)} | ${kib(m.perServiceKiB)} | ${mib(m.hwmMiB)} |`);
    out.push(`| V8 heap used | | ${mib(m.heapBeforeMiB)} | | ${mib(m.heapSteadyMiB)} | ${kib(m.heapPerServiceKiB)} | |`);
    out.push(`| V8 heap reserved | | | | ${mib(m.heapTotalSteadyMiB)} | | |`, '');
  }

  if (r.restarts.length > 0) {
    const n = r.restarts[0]?.services ?? 0;
    out.push(`## Restart with ${n.toLocaleString('en-US')} Services: time to a consistent state`, '');
    out.push(`vcnet is stopped; while it is down the benchmark deletes ${r.plan.damage} host twins, creates ${r.plan.damage} host orphans (labels and annotations as vcnet writes them, for virtual Services that do not exist) and changes the spec of ${r.plan.damage} other host twins (port and selector); then it starts vcnet again with the same configuration. Times are from the spawn of the new process. "consistent" = every virtual Service has a host twin with the same ClusterIP(s) and spec, and no host orphan is left, as seen on the benchmark's watches of both sides and then confirmed by listing both sides.`, '');
    out.push('| stop | signal → exit | down | damage seen before restart (missing / orphans / spec) | ready (/readyz) | caches filled | webhooks registered | Lease taken | first repair | last twin re-created | last orphan deleted | last spec repaired | **consistent** | Lease taken → consistent | confirmed by LIST |');
    out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
    for (const rs of r.restarts) {
      const seen = rs.damage.seen;
      out.push(`| ${rs.signal} | ${ms(rs.exitMs)} ms | ${rs.downSeconds.toFixed(1)} s | ${seen.missing} / ${seen.orphans} / ${seen.spec}${seen.clusterIP > 0 ? ` (+${seen.clusterIP} ClusterIP)` : ''} | ${s(rs.readyMs)} | ${s(rs.milestones['caches'] ?? Number.NaN)} | ${s(rs.milestones['webhooks'] ?? Number.NaN)} | ${s(rs.milestones['lease'] ?? Number.NaN)} | ${s(rs.firstRepairMs)} | ${s(rs.lastRepairMs.missing)} | ${s(rs.lastRepairMs.orphans)} | ${s(rs.lastRepairMs.drift)} | **${s(rs.consistentMs)}** | ${s(rs.consistentMs - (rs.milestones['lease'] ?? Number.NaN))} | ${rs.confirmed ? 'yes' : `no ⚠ (missing ${rs.final.missing}, orphans ${rs.final.orphans}, ClusterIP ${rs.final.clusterIP}, spec ${rs.final.spec})`} |`);
    }
    out.push('');
    out.push('"caches filled", "webhooks registered" and "Lease taken" are when vcnet logged them. After SIGTERM vcnet releases its Lease on the way out, so the new process takes it at once; after SIGKILL the Lease stays held by the dead process, and the new one may take it only after `leaseDurationSeconds` without a renewal (client-go\'s rule, src/sync/lease.ts), so nothing is reconciled before then. "Lease taken → consistent" is the reconciler\'s own repair time.', '');
    out.push('| stop | host Services of the run deleted, stop → consistent (expected: deleted twins + orphans) | vcnet RSS after the repair | V8 heap used after the repair | CPU ms, spawn → consistent: vcnet / virtual apiserver / host plane |');
    out.push('|---|--:|--:|--:|--:|');
    for (const rs of r.restarts) {
      const expected = rs.damage.deleted + rs.damage.orphans;
      out.push(`| ${rs.signal} | ${rs.hostDeletes} (${expected})${rs.hostDeletes > expected ? ' ⚠' : ''} | ${mib(rs.rssAfterMiB)} | ${mib(rs.heapAfterMiB)} | ${ms(rs.cpuMs['vcnet'] ?? Number.NaN)} / ${ms(rs.cpuMs['apiserver'] ?? Number.NaN)} / ${ms(rs.cpuMs['host'] ?? Number.NaN)} |`);
    }
    out.push('');
  }

  if (r.cleanup !== undefined) out.push(`Deleting the ${r.cleanup.services} Services afterwards (directly on the virtual API server, so the webhook deletes each host twin) took ${r.cleanup.seconds.toFixed(1)} s.`, '');

  out.push(...machineLines(r.machine, `Watch restarts: ${r.watchRestarts.length}.`));
  return out.join('\n');
}
