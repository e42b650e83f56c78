// The four pod scenarios of issue 3 (bench/README.md, "Pods"): create latency against a path
// without vcnet, status lag under churn, sustained creation, and vcnet's memory with many pods.
// Every pod carries the run's label, so the PodTracker's two watches see exactly this run's pods.
import type https from 'node:https';
import { performance } from 'node:perf_hooks';
import { pool } from './client.ts';
import {
  closedLoop, createPaths, EXCLUDED_NAMESPACE, measureCreateLatencyRounds, measuredCreateRun, type CreateOutcome, type CreatePath,
} from './create-latency.ts';
import { CpuMeter, othersShareOf, readMemory, RssSampler } from './procstat.ts';
import { endpointAgent, request, statusMessage, waitListEmpty, type Endpoint } from './pods-http.ts';
import {
  POD_TARGETS,
  type ChurnFigures, type CreateRun, type LatencyFigures, type PodMemoryFigures, type PodsPlan, type ThroughputFigures,
} from './pods-report.ts';
import { summarize } from './stats.ts';
import type { PodTracker } from './pods-watch.ts';
import type { SyncCtx } from './sync-ctx.ts';
import { heapUsedMiB, scrapeGauge, scrapeHistogram } from './vcnet-metrics.ts';

export const RUN_LABEL_KEY = 'vcnet.dev/bench-run';
const RSS_INTERVAL_MS = 100;

/** Every pod name of the run is unique: `<prefix>-<seq>`. */
export type PodsCtx = SyncCtx<PodsPlan, PodTracker>;

/** The smallest realistic pod: one container, the default service account (its token volume included). */
function podBody(name: string, runLabel: string): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { [RUN_LABEL_KEY]: runLabel, app: 'vcnet-bench' } },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

function nextName(ctx: PodsCtx, prefix: string): string {
  return `${prefix}-${(ctx.seq++).toString(36)}`;
}

interface PodCreateOutcome extends CreateOutcome {
  key: string;
}

async function createPod(ctx: PodsCtx, e: Endpoint, agent: https.Agent, namespace: string, name: string): Promise<PodCreateOutcome> {
  const key = `${namespace}/${name}`;
  const rec = ctx.tracker.note(key);
  const t0 = performance.now();
  rec.createSentAt = t0;
  try {
    const r = await request(e, agent, 'POST', `/api/v1/namespaces/${namespace}/pods`, podBody(name, ctx.runLabel));
    const t1 = performance.now();
    if (r.status === 201) {
      rec.createdAt = t1;
      return { key, ok: true, ms: t1 - t0 };
    }
    return { key, ok: false, ms: t1 - t0, error: statusMessage(r) };
  } catch (err) {
    return { key, ok: false, ms: performance.now() - t0, error: (err as Error).message };
  }
}

/** DELETEs `keys` (`grace` undefined: the pod's own grace period); gone already is fine. Returns errors. */
async function deletePods(ctx: PodsCtx, e: Endpoint, keys: readonly string[], grace: number | undefined, concurrency: number): Promise<string[]> {
  const agent = endpointAgent(e, concurrency);
  const errors: string[] = [];
  try {
    await pool(keys, concurrency, async (key) => {
      const r = await deletePod(ctx, e, agent, key, grace);
      if (r !== undefined) errors.push(r);
    });
  } finally {
    agent.destroy();
  }
  return errors;
}

async function deletePod(ctx: PodsCtx, e: Endpoint, agent: https.Agent, key: string, grace: number | undefined): Promise<string | undefined> {
  const [ns, name] = key.split('/') as [string, string];
  ctx.tracker.note(key).deleteSentAt ??= performance.now();
  const body = grace === undefined ? undefined : { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: grace };
  try {
    const r = await request(e, agent, 'DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, body);
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) return `DELETE ${key}: ${statusMessage(r)}`;
  } catch (err) {
    return `DELETE ${key}: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Deletes `keys` (grace 0, directly: the webhook still deletes the host pods) and waits until every
 * virtual pod is gone and, for synced pods, its host pod too, so nothing of one run is left when
 * the next starts. Returns how long that took.
 */
async function removeAll(ctx: PodsCtx, keys: readonly string[], synced: boolean, what: string): Promise<number> {
  const t0 = performance.now();
  const errors = await deletePods(ctx, ctx.env.direct, keys, 0, 32);
  if (errors.length > 0) ctx.warnings.push(`${what}: ${errors.length} deletes failed (first: ${errors[0]})`);
  const created = keys.filter((k) => ctx.tracker.pods.get(k)?.createdAt !== undefined);
  // Every accepted pod's DELETED event must have been seen, on the host side too for synced pods
  // (their host pod exists before the create returns: the webhook made it).
  const gone = (k: string): boolean => {
    const r = ctx.tracker.pods.get(k);
    return r?.vGoneAt !== undefined && (!synced || r.hGoneAt !== undefined);
  };
  const timeoutMs = 60_000 + keys.length * 20;
  const ok = await ctx.tracker.waitFor(() => created.every(gone), timeoutMs, ctx.signal);
  if (!ok) {
    const left = created.filter((k) => !gone(k));
    ctx.warnings.push(`${what}: ${left.length} pods not seen gone (virtual${synced ? ' and host' : ''}) ${(timeoutMs / 1000).toFixed(0)} s after deleting them (e.g. ${left.slice(0, 3).join(', ')})`);
  }
  return performance.now() - t0;
}

/** Deletes pods the benchmark created straight on the host (no watch sees them) and polls until they are gone. */
async function removeFromHost(ctx: PodsCtx, namespace: string, keys: readonly string[], what: string): Promise<number> {
  const t0 = performance.now();
  const errors = await deletePods(ctx, ctx.env.host, keys, 0, 16);
  if (errors.length > 0) ctx.warnings.push(`${what}: ${errors.length} deletes failed (first: ${errors[0]})`);
  const path = `/api/v1/namespaces/${namespace}/pods?limit=1&labelSelector=${encodeURIComponent(`${RUN_LABEL_KEY}=${ctx.runLabel}`)}`;
  if (!await waitListEmpty(ctx.env.host, path, 60_000)) ctx.warnings.push(`${what}: host pods in ${namespace} still there 60 s after deleting them`);
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// 1. Create latency

/** The measured creates of one path (create-latency.ts), then every pod removed and seen gone. */
function createRun(ctx: PodsCtx, path: CreatePath, concurrency: number, creates: number): Promise<CreateRun> {
  const keys: string[] = [];
  const what = `create latency ${path.id} c=${concurrency}`;
  return measuredCreateRun(ctx, {
    path, kind: 'Pod', vcnetIdle: path.id === 'direct', pauseMs: 500,
    create: async (agent) => {
      const r = await createPod(ctx, path.endpoint, agent, path.namespace, nextName(ctx, `lat-${path.id[0]}`));
      keys.push(r.key);
      return r;
    },
    cleanup: () => (path.onHost ? removeFromHost(ctx, path.namespace, keys, what) : removeAll(ctx, keys, path.synced, what)),
  }, concurrency, creates);
}

/**
 * Rounds of one run per path, the order rotating every round (rounds.ts); the figures carry the
 * target (POD_TARGETS.createLatencyRatio) at p50 and p99.
 */
export async function measureCreateLatency(ctx: PodsCtx): Promise<LatencyFigures[]> {
  const paths = createPaths(ctx);
  const figures = await measureCreateLatencyRounds(ctx, (id, concurrency, creates) => createRun(ctx, paths[id], concurrency, creates));
  return figures.map(({ runs, ...f }) => ({
    ...f,
    targetMet: f.p50Ratio <= POD_TARGETS.createLatencyRatio && f.p99Ratio <= POD_TARGETS.createLatencyRatio,
    runs,
  }));
}

// ---------------------------------------------------------------------------------------------
// Bulk creation, shared by the churn fill, the throughput and the memory scenarios

interface Bulk {
  keys: string[];
  accepted: number;
  errors: number;
  firstError?: string;
  startedAt: number;
  lastAcceptedAt: number;
}

async function createMany(ctx: PodsCtx, e: Endpoint, namespace: string, n: number, concurrency: number, prefix: string): Promise<Bulk> {
  const agent = endpointAgent(e, concurrency);
  const keys: string[] = [];
  const startedAt = performance.now();
  let lastAcceptedAt = Number.NaN;
  try {
    const r = await closedLoop(n, concurrency, async () => {
      ctx.signal.throwIfAborted();
      const c = await createPod(ctx, e, agent, namespace, nextName(ctx, prefix));
      keys.push(c.key);
      if (c.ok) lastAcceptedAt = performance.now();
      return c;
    });
    return { keys, accepted: r.ok, errors: r.errors, ...(r.firstError !== undefined ? { firstError: r.firstError } : {}), startedAt, lastAcceptedAt };
  } finally {
    agent.destroy();
  }
}

function accepted(ctx: PodsCtx, keys: readonly string[]): string[] {
  return keys.filter((k) => ctx.tracker.pods.get(k)?.createdAt !== undefined);
}

/** Waits until each accepted pod is Ready in the virtual cluster or gone; returns whether all got there. */
function waitReady(ctx: PodsCtx, keys: readonly string[], timeoutMs: number): Promise<boolean> {
  return ctx.tracker.waitFor(() => keys.every((k) => {
    const r = ctx.tracker.pods.get(k);
    return r !== undefined && (r.vReadyAt !== undefined || r.vGoneAt !== undefined);
  }), timeoutMs, ctx.signal);
}

function readyTimeout(n: number): number {
  return 60_000 + n * 40;
}

/** Host Ready → virtual Ready for `keys` that have both. */
function lags(ctx: PodsCtx, keys: readonly string[]): number[] {
  const out: number[] = [];
  for (const k of keys) {
    const r = ctx.tracker.pods.get(k);
    if (r?.hReadyAt !== undefined && r.vReadyAt !== undefined) out.push(r.vReadyAt - r.hReadyAt);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. Status lag under churn

export async function measureChurn(ctx: PodsCtx): Promise<ChurnFigures> {
  const { population, durationMs, ratePerSec } = ctx.plan.churn;
  const e = ctx.env.proxy;
  const ns = ctx.namespace;
  const fill = await createMany(ctx, e, ns, population, 16, 'churn');
  const filled = accepted(ctx, fill.keys);
  if (!await waitReady(ctx, filled, readyTimeout(population))) ctx.warnings.push(`status lag: not all ${filled.length} pods of the initial fill were Ready in the virtual cluster within ${(readyTimeout(population) / 1000).toFixed(0)} s`);
  ctx.log(`status lag: ${filled.length} pods Ready in ${((performance.now() - fill.startedAt) / 1000).toFixed(1)} s; churning ${ratePerSec}/s for ${durationMs / 1000} s`);

  const live = [...filled];
  const created: string[] = [];
  const deleted: string[] = [];
  let errors = fill.errors;
  let firstError = fill.firstError;
  const agent = endpointAgent(e, 32);
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const lagBefore = await scrapeHistogram(ctx.env.metricsUrl, 'vcnet_sync_status_lag_seconds');
  const meter = new CpuMeter(ctx.env.pids);
  const t0 = performance.now();
  try {
    // A fixed schedule: one create and one delete every 1/rate s, whatever the answers take
    // (at most 32 calls in flight; the schedule slips, and the achieved rate shows it, beyond that).
    for (let i = 0; ; i++) {
      const at = t0 + (i * 1000) / ratePerSec;
      if (at - t0 >= durationMs) break;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      ctx.signal.throwIfAborted();
      while (inFlight.size >= 32) await Promise.race(inFlight);
      const name = nextName(ctx, 'churn');
      track(createPod(ctx, e, agent, ns, name).then((r) => {
        if (r.ok) {
          created.push(r.key);
          live.push(r.key);
        } else {
          errors++;
          firstError ??= r.error;
        }
      }));
      const victim = live.shift();
      if (victim !== undefined) {
        track(deletePod(ctx, e, agent, victim, undefined).then((err) => {
          if (err === undefined) deleted.push(victim);
          else {
            errors++;
            firstError ??= err;
          }
        }));
      }
    }
    await Promise.all(inFlight);
  } finally {
    agent.destroy();
  }
  const elapsed = performance.now() - t0;
  const cpu = meter.stop();
  // The last pods created need a moment to get Ready; the deleted ones to go.
  await waitReady(ctx, created, 30_000);
  await ctx.tracker.waitFor(() => deleted.every((k) => ctx.tracker.pods.get(k)?.vGoneAt !== undefined), 30_000, ctx.signal);
  const lagAfter = await scrapeHistogram(ctx.env.metricsUrl, 'vcnet_sync_status_lag_seconds');

  const createToReady: number[] = [];
  let notConverged = 0;
  for (const k of created) {
    const r = ctx.tracker.pods.get(k);
    if (r?.vReadyAt !== undefined && r.createSentAt !== undefined) createToReady.push(r.vReadyAt - r.createSentAt);
    if (r?.hReadyAt !== undefined && r.vReadyAt === undefined && r.vGoneAt === undefined) notConverged++;
  }
  const deleteToGone: number[] = [];
  for (const k of deleted) {
    const r = ctx.tracker.pods.get(k);
    if (r?.vGoneAt !== undefined && r.deleteSentAt !== undefined) deleteToGone.push(r.vGoneAt - r.deleteSentAt);
  }
  const lagMs = summarize(lags(ctx, created));
  const vcnetLag = lagBefore !== undefined && lagAfter !== undefined && lagAfter.count > lagBefore.count
    ? { count: lagAfter.count - lagBefore.count, meanMs: ((lagAfter.sum - lagBefore.sum) * 1000) / (lagAfter.count - lagBefore.count) }
    : undefined;
  const f: ChurnFigures = {
    population, durationSeconds: elapsed / 1000, plannedPerSec: ratePerSec,
    createsPerSec: created.length / (elapsed / 1000), deletesPerSec: deleted.length / (elapsed / 1000),
    created: created.length, deleted: deleted.length, errors, ...(firstError !== undefined ? { firstError } : {}),
    lagMs, fillLagMs: summarize(lags(ctx, filled)), createToReadyMs: summarize(createToReady), deleteToGoneMs: summarize(deleteToGone),
    notConverged, ...(vcnetLag !== undefined ? { vcnetStatusLag: vcnetLag } : {}),
    cpu, othersShare: othersShareOf(cpu),
    targetMet: lagMs.count > 0 && lagMs.p99 <= POD_TARGETS.statusLagP99Ms,
  };
  ctx.otherShares.push(f.othersShare);
  ctx.log(`=> status lag under churn: p50 ${lagMs.p50.toFixed(1)} ms, p99 ${lagMs.p99.toFixed(1)} ms over ${lagMs.count} pods (${f.createsPerSec.toFixed(1)} creates/s, ${f.deletesPerSec.toFixed(1)} deletes/s, ${errors} errors, ${notConverged} not converged)`);
  const cleanupMs = await removeAll(ctx, [...fill.keys, ...created], true, 'status lag cleanup');
  ctx.log(`status lag: removed the pods in ${(cleanupMs / 1000).toFixed(1)} s`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// 3. Sustained creation

export async function measureThroughput(ctx: PodsCtx): Promise<ThroughputFigures[]> {
  const out: ThroughputFigures[] = [];
  const { pods } = ctx.plan.throughput;
  for (const concurrency of ctx.plan.throughput.concurrency) {
    const meter = new CpuMeter(ctx.env.pids);
    const bulk = await createMany(ctx, ctx.env.proxy, ctx.namespace, pods, concurrency, 'tp');
    const ok = accepted(ctx, bulk.keys);
    if (!await waitReady(ctx, ok, readyTimeout(pods))) ctx.warnings.push(`throughput c=${concurrency}: not all ${ok.length} pods were Ready in the virtual cluster within ${(readyTimeout(pods) / 1000).toFixed(0)} s`);
    const cpu = meter.stop();
    ctx.otherShares.push(othersShareOf(cpu));
    const recs = ok.map((k) => ctx.tracker.pods.get(k)!);
    const vReady = recs.filter((r) => r.vReadyAt !== undefined);
    const hReady = recs.filter((r) => r.hReadyAt !== undefined);
    const lastV = Math.max(...vReady.map((r) => r.vReadyAt!));
    const lastH = Math.max(...hReady.map((r) => r.hReadyAt!));
    const acceptSeconds = (bulk.lastAcceptedAt - bulk.startedAt) / 1000;
    const readySeconds = (lastV - bulk.startedAt) / 1000;
    const cleanupMs = await removeAll(ctx, bulk.keys, true, `throughput c=${concurrency} cleanup`);

    // The same creates without vcnet, for scale.
    const direct = await createMany(ctx, ctx.env.direct, EXCLUDED_NAMESPACE, pods, concurrency, 'tpd');
    const directPerSec = direct.accepted / ((direct.lastAcceptedAt - direct.startedAt) / 1000);
    await removeAll(ctx, direct.keys, false, `throughput c=${concurrency} direct cleanup`);

    const f: ThroughputFigures = {
      concurrency, pods, accepted: bulk.accepted, errors: bulk.errors, ...(bulk.firstError !== undefined ? { firstError: bulk.firstError } : {}),
      acceptSeconds, acceptedPerSec: bulk.accepted / acceptSeconds,
      ready: vReady.length, readySeconds, readyPerSec: vReady.length / readySeconds,
      hostReady: hReady.length, hostReadyPerSec: hReady.length / ((lastH - bulk.startedAt) / 1000),
      createToReadyMs: summarize(vReady.map((r) => r.vReadyAt! - r.createSentAt!)),
      direct: { accepted: direct.accepted, errors: direct.errors, acceptedPerSec: directPerSec },
      acceptedRatio: (bulk.accepted / acceptSeconds) / directPerSec,
      cpu, othersShare: othersShareOf(cpu),
    };
    ctx.log(`=> throughput c=${concurrency}: ${f.acceptedPerSec.toFixed(1)} creates/s accepted (direct ${directPerSec.toFixed(1)}), ${f.readyPerSec.toFixed(1)} virtual pods Ready/s (host ${f.hostReadyPerSec.toFixed(1)}/s); cleanup ${(cleanupMs / 1000).toFixed(1)} s`);
    out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. Memory with many synced pods

export async function measureMemory(ctx: PodsCtx, idleMiB: number): Promise<PodMemoryFigures> {
  const { pods, concurrency } = ctx.plan.memory;
  const pid = ctx.env.vcnetPid;
  const heapMiB = (forMs: number): Promise<number> => heapUsedMiB(ctx.env.metricsUrl, forMs);
  const before = new RssSampler(pid, RSS_INTERVAL_MS);
  const heapBeforeMiB = await heapMiB(3000);
  const beforeMiB = before.stop().lastMiB;

  const peak = new RssSampler(pid, RSS_INTERVAL_MS);
  const bulk = await createMany(ctx, ctx.env.proxy, ctx.namespace, pods, concurrency, 'mem');
  const createSeconds = (performance.now() - bulk.startedAt) / 1000;
  if (bulk.errors > 0) ctx.warnings.push(`memory: ${bulk.errors} of ${pods} creates failed (first: ${bulk.firstError})`);
  ctx.log(`memory: ${bulk.accepted} pods created in ${createSeconds.toFixed(1)} s; waiting for them to be Ready`);
  const ok = accepted(ctx, bulk.keys);
  if (!await waitReady(ctx, ok, readyTimeout(pods))) ctx.warnings.push(`memory: not all ${ok.length} pods were Ready in the virtual cluster within ${(readyTimeout(pods) / 1000).toFixed(0)} s`);
  const readySeconds = (performance.now() - bulk.startedAt) / 1000;
  // Let the reconciler's follow-up writes (token binding) and the caches settle.
  await new Promise((r) => setTimeout(r, 5000));
  const steady = new RssSampler(pid, RSS_INTERVAL_MS);
  const heapSteadyMiB = await heapMiB(5000);
  const steadyMiB = steady.stop().lastMiB;
  const heapTotalSteadyMiB = (await scrapeGauge(ctx.env.metricsUrl, 'vcnet_nodejs_heap_size_total_bytes')) / 2 ** 20;
  const peakMiB = peak.stop().peakMiB;
  const synced = ok.filter((k) => {
    const r = ctx.tracker.pods.get(k);
    return r?.vReadyAt !== undefined && r.vGoneAt === undefined && ctx.tracker.hostLive.has(k);
  }).length;
  const lost = ok.filter((k) => ctx.tracker.pods.get(k)?.vGoneAt !== undefined).length;
  ctx.log(`memory: vcnet RSS ${steadyMiB.toFixed(1)} MiB, V8 heap used ${heapSteadyMiB.toFixed(1)} MiB with ${synced} synced pods (before ${beforeMiB.toFixed(1)} / ${heapBeforeMiB.toFixed(1)} MiB, RSS peak ${peakMiB.toFixed(1)} MiB)${lost > 0 ? `; ${lost} virtual pods lost` : ''}`);

  const t0 = performance.now();
  await removeAll(ctx, bulk.keys, true, 'memory cleanup');
  const cleanupSeconds = (performance.now() - t0) / 1000;
  const mem = readMemory(pid);
  return {
    pods, synced, lost, idleMiB, beforeMiB, peakMiB, steadyMiB,
    perPodKiB: synced > 0 ? ((steadyMiB - beforeMiB) * 1024) / synced : Number.NaN,
    heapBeforeMiB, heapSteadyMiB, heapTotalSteadyMiB,
    heapPerPodKiB: synced > 0 ? ((heapSteadyMiB - heapBeforeMiB) * 1024) / synced : Number.NaN,
    afterCleanupMiB: mem?.rssMiB ?? Number.NaN, hwmMiB: mem?.hwmMiB ?? Number.NaN,
    heapAfterCleanupMiB: await heapMiB(3000),
    createSeconds, readySeconds, cleanupSeconds,
  };
}

/** Virtual pods of this run that went away without the benchmark deleting them (PodGC, for one). */
export function lostCount(ctx: PodsCtx): number {
  let n = 0;
  for (const r of ctx.tracker.pods.values()) if (r.vGoneAt !== undefined && (r.deleteSentAt === undefined || r.vGoneAt < r.deleteSentAt)) n++;
  return n;
}
