// The four pod scenarios of issue 3 (bench/README.md, "Pods"): create latency against a path
// without vcnet, status lag under churn, sustained creation, and vcnet's memory with many pods.
// Every pod carries the run's label, so the PodTracker's two watches see exactly this run's pods.
import type https from 'node:https';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CpuMeter, readMemory, RssSampler, type CpuSample } from './procstat.ts';
import { endpointAgent, request, statusMessage, type Endpoint } from './pods-http.ts';
import type { PodsEnv } from './pods-env.ts';
import {
  PATHS, POD_TARGETS,
  type ChurnFigures, type CreateRun, type LatencyFigures, type PathId, type PathLatency, type PodMemoryFigures, type PodsPlan, type ThroughputFigures,
} from './pods-report.ts';
import { DISTURBED_SHARE } from './report.ts';
import { median, summarize } from './stats.ts';
import type { PodTracker } from './pods-watch.ts';

export const RUN_LABEL_KEY = 'vcnet.dev/bench-run';
/** A namespace vcnet's webhook and reconciler leave alone (src/webhook/register.ts SYSTEM_NAMESPACES). */
export const EXCLUDED_NAMESPACE = 'kube-system';
const RSS_INTERVAL_MS = 100;

export interface PodsCtx {
  env: PodsEnv;
  plan: PodsPlan;
  tracker: PodTracker;
  runLabel: string;
  /** The synced namespace this run created. */
  namespace: string;
  /** A namespace of the host cluster, outside vcnet's, for the host-create reference. */
  hostScratchNamespace: string;
  signal: AbortSignal;
  log: (m: string) => void;
  retryLeftMs: number;
  otherShares: number[];
  warnings: string[];
  /** Every pod name of the run is unique: `<prefix>-<seq>`. */
  seq: number;
}

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

interface CreateOutcome {
  key: string;
  ok: boolean;
  ms: number;
  error?: string;
}

async function createPod(ctx: PodsCtx, e: Endpoint, agent: https.Agent, namespace: string, name: string): Promise<CreateOutcome> {
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

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
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
  const agent = endpointAgent(ctx.env.host, 1);
  try {
    const path = `/api/v1/namespaces/${namespace}/pods?limit=1&labelSelector=${encodeURIComponent(`${RUN_LABEL_KEY}=${ctx.runLabel}`)}`;
    const deadline = performance.now() + 60_000;
    for (;;) {
      const r = await request(ctx.env.host, agent, 'GET', path);
      if (r.status === 200 && (JSON.parse(r.body) as { items: unknown[] }).items.length === 0) break;
      if (performance.now() > deadline) {
        ctx.warnings.push(`${what}: host pods in ${namespace} still there 60 s after deleting them`);
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    agent.destroy();
  }
  return performance.now() - t0;
}

/** The value of a gauge without labels in vcnet's /metrics (e.g. vcnet_nodejs_heap_size_used_bytes). */
export async function scrapeGauge(url: string | undefined, name: string): Promise<number> {
  if (url === undefined) return Number.NaN;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return Number.NaN;
    const m = new RegExp(`^${name}\\s+(\\S+)$`, 'm').exec(await r.text());
    return m === null ? Number.NaN : Number(m[1]);
  } catch {
    return Number.NaN;
  }
}

/** Sum and count of a histogram in vcnet's /metrics, over the series whose labels include `match`. */
export async function scrapeHistogram(url: string | undefined, name: string, match: Record<string, string> = {}): Promise<{ sum: number; count: number } | undefined> {
  if (url === undefined) return undefined;
  let text: string;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return undefined;
    text = await r.text();
  } catch {
    return undefined;
  }
  let sum = 0;
  let count = 0;
  const wanted = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^(\w+?)_(sum|count)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels = m[3] ?? '';
    if (!wanted.every((w) => labels.includes(w))) continue;
    if (m[2] === 'sum') sum += Number(m[4]);
    else count += Number(m[4]);
  }
  return { sum, count };
}

function othersShare(cpu: CpuSample): number {
  return cpu.othersMs / (cpu.wallMs * cpus().length);
}

// ---------------------------------------------------------------------------------------------
// 1. Create latency

interface PathSpec {
  id: PathId;
  endpoint: Endpoint;
  namespace: string;
  /** A virtual pod that gets a host pod. */
  synced: boolean;
  /** Created on the host kube-apiserver (the reference path). */
  onHost?: boolean;
}

function pathSpecs(ctx: PodsCtx): Record<PathId, PathSpec> {
  return {
    direct: { id: 'direct', endpoint: ctx.env.direct, namespace: EXCLUDED_NAMESPACE, synced: false },
    webhook: { id: 'webhook', endpoint: ctx.env.direct, namespace: ctx.namespace, synced: true },
    proxy: { id: 'proxy', endpoint: ctx.env.proxy, namespace: ctx.namespace, synced: true },
    host: { id: 'host', endpoint: ctx.env.host, namespace: ctx.hostScratchNamespace, synced: false, onHost: true },
  };
}

/** Warm-up creates (every connection opened), then `creates` measured at `concurrency`, then all removed. */
async function createRun(ctx: PodsCtx, path: PathSpec, concurrency: number, creates: number): Promise<CreateRun> {
  const agent = endpointAgent(path.endpoint, concurrency);
  const keys: string[] = [];
  const closedLoop = async (n: number, lat?: number[]): Promise<{ ok: number; errors: number; firstError?: string }> => {
    let sent = 0;
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (sent < n) {
        sent++;
        const name = nextName(ctx, `lat-${path.id[0]}`);
        const r = await createPod(ctx, path.endpoint, agent, path.namespace, name);
        keys.push(r.key);
        if (r.ok) {
          ok++;
          lat?.push(r.ms);
        } else {
          errors++;
          firstError ??= r.error;
        }
      }
    }));
    return { ok, errors, ...(firstError !== undefined ? { firstError } : {}) };
  };
  try {
    await closedLoop(Math.max(5, 2 * concurrency));
    const before = await scrapeHistogram(ctx.env.metricsUrl, 'vcnet_sync_duration_seconds', { kind: 'Pod', operation: 'CREATE' });
    const meter = new CpuMeter(ctx.env.pids);
    const lat: number[] = [];
    const t0 = performance.now();
    const r = await closedLoop(creates, lat);
    const elapsedMs = performance.now() - t0;
    const cpu = meter.stop();
    const after = await scrapeHistogram(ctx.env.metricsUrl, 'vcnet_sync_duration_seconds', { kind: 'Pod', operation: 'CREATE' });
    // vcnet idles through a direct run; its timers are not the direct path's cost.
    if (path.id === 'direct') delete cpu.byProcess['vcnet'];
    const hooks = before !== undefined && after !== undefined ? after.count - before.count : 0;
    agent.destroy();
    const cleanupMs = path.onHost === true
      ? await removeFromHost(ctx, path.namespace, keys, `create latency ${path.id} c=${concurrency}`)
      : await removeAll(ctx, keys, path.synced, `create latency ${path.id} c=${concurrency}`);
    await new Promise((res) => setTimeout(res, 500));
    return {
      path: path.id, concurrency, ok: r.ok, errors: r.errors, ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
      elapsedMs, createsPerSec: r.ok / (elapsedMs / 1000), latencyMs: summarize(lat),
      ...(hooks > 0 ? { webhookMeanMs: ((after!.sum - before!.sum) * 1000) / hooks } : {}),
      cleanupMs, cpu, othersShare: othersShare(cpu), used: true,
    };
  } finally {
    agent.destroy();
  }
}

/**
 * Rounds of one run per path; the order rotates every round (direct, webhook, proxy; then webhook,
 * proxy, direct; ...) so drift hits all alike. A round during which outside load took more than
 * DISTURBED_SHARE of the cores is kept but not used and run again, within the retry budget.
 */
export async function measureCreateLatency(ctx: PodsCtx): Promise<LatencyFigures[]> {
  const specs = pathSpecs(ctx);
  const out: LatencyFigures[] = [];
  for (const [conc, creates] of Object.entries(ctx.plan.latency)) {
    const concurrency = Number(conc);
    const runs: CreateRun[] = [];
    let clean = 0;
    let round = 0;
    const { rounds } = ctx.plan;
    while (clean < rounds && (round < rounds || (round < 2 * rounds && ctx.retryLeftMs > 0))) {
      const started = performance.now();
      const order = PATHS.map((_, i) => PATHS[(i + round) % PATHS.length] as PathId);
      const these: CreateRun[] = [];
      for (const id of order) {
        ctx.signal.throwIfAborted();
        const r = await createRun(ctx, specs[id], concurrency, creates);
        ctx.otherShares.push(r.othersShare);
        ctx.log(`create c=${concurrency} ${id} round ${round + 1}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.createsPerSec.toFixed(1)} creates/s${r.webhookMeanMs !== undefined ? `, webhook ${r.webhookMeanMs.toFixed(2)} ms/create` : ''}${r.errors > 0 ? `, ${r.errors} errors (${r.firstError})` : ''}; cleanup ${(r.cleanupMs / 1000).toFixed(1)} s`);
        these.push(r);
      }
      if (round >= rounds) ctx.retryLeftMs -= performance.now() - started;
      round++;
      if (these.some((r) => r.othersShare > DISTURBED_SHARE)) {
        for (const r of these) r.used = false;
        ctx.log(`create c=${concurrency} round ${round}: disturbed (outside load up to ${(Math.max(...these.map((r) => r.othersShare)) * 100).toFixed(0)}% of all cores); kept in the JSON, not used`);
      } else {
        clean++;
      }
      runs.push(...these);
    }
    if (clean === 0) for (const r of runs) r.used = true;
    const paths = Object.fromEntries(PATHS.map((id) => [id, pathLatency(runs.filter((r) => r.path === id && r.used))])) as Record<PathId, PathLatency>;
    const f: LatencyFigures = {
      concurrency, createsPerRun: creates, rounds: { run: round, clean }, paths,
      p50Ratio: paths.proxy.p50 / paths.direct.p50,
      p99Ratio: paths.proxy.p99 / paths.direct.p99,
      webhookP50Ratio: paths.webhook.p50 / paths.direct.p50,
      webhookP99Ratio: paths.webhook.p99 / paths.direct.p99,
      targetMet: false,
      runs,
    };
    f.targetMet = f.p50Ratio <= POD_TARGETS.createLatencyRatio && f.p99Ratio <= POD_TARGETS.createLatencyRatio;
    ctx.log(`=> create c=${concurrency}: proxy ÷ direct p50 ×${f.p50Ratio.toFixed(2)}, p99 ×${f.p99Ratio.toFixed(2)} (webhook alone ×${f.webhookP50Ratio.toFixed(2)} / ×${f.webhookP99Ratio.toFixed(2)})`);
    out.push(f);
  }
  return out;
}

function pathLatency(runs: CreateRun[]): PathLatency {
  const cpuMsPerCreate: Record<string, number> = {};
  for (const p of new Set(runs.flatMap((r) => Object.keys(r.cpu.byProcess)))) {
    cpuMsPerCreate[p] = median(runs.map((r) => (r.cpu.byProcess[p] ?? Number.NaN) / Math.max(1, r.ok)));
  }
  return {
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    createsPerSec: median(runs.map((r) => r.createsPerSec)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    webhookMeanMs: median(runs.map((r) => r.webhookMeanMs ?? Number.NaN)),
    cpuMsPerCreate,
  };
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
  const bulk: Bulk = { keys: [], accepted: 0, errors: 0, startedAt: performance.now(), lastAcceptedAt: Number.NaN };
  let sent = 0;
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (sent < n) {
        sent++;
        ctx.signal.throwIfAborted();
        const r = await createPod(ctx, e, agent, namespace, nextName(ctx, prefix));
        bulk.keys.push(r.key);
        if (r.ok) {
          bulk.accepted++;
          bulk.lastAcceptedAt = performance.now();
        } else {
          bulk.errors++;
          bulk.firstError ??= r.error;
        }
      }
    }));
  } finally {
    agent.destroy();
  }
  return bulk;
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
    cpu, othersShare: othersShare(cpu),
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
    ctx.otherShares.push(othersShare(cpu));
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
      cpu, othersShare: othersShare(cpu),
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
  // The heap in use includes garbage not yet collected; the lowest of a few seconds of readings is
  // close to what is live (prom-client reads it when /metrics is scraped).
  const heapMiB = async (forMs: number): Promise<number> => {
    let low = Number.NaN;
    for (const end = performance.now() + forMs; performance.now() < end;) {
      const v = (await scrapeGauge(ctx.env.metricsUrl, 'vcnet_nodejs_heap_size_used_bytes')) / 2 ** 20;
      if (Number.isFinite(v) && !(v >= low)) low = v;
      await new Promise((r) => setTimeout(r, 250));
    }
    return low;
  };
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
