// The create-latency scenario of the pod and service benchmarks (bench/README.md, "Pods" and
// "Services"): the same object created on four paths (pods-report.ts PathId) in a closed loop at
// each concurrency of the plan, in interleaved rounds (rounds.ts), and per path the medians of
// the used rounds, with the ratios against "direct". What is created, and how it is removed after
// each run, is the caller's (pods-scenarios.ts, services-scenarios.ts).
import type https from 'node:https';
import { performance } from 'node:perf_hooks';
import { CpuMeter, othersShareOf } from './procstat.ts';
import { endpointAgent, type Endpoint } from './pods-http.ts';
import { PATHS, type CreateRun, type LatencyFigures, type PathId, type PathLatency } from './pods-report.ts';
import { interleavedRounds } from './rounds.ts';
import { median, summarize } from './stats.ts';
import type { SyncCtx } from './sync-ctx.ts';
import { scrapeHistogram } from './vcnet-metrics.ts';

/** A namespace vcnet's webhook and reconciler leave alone (src/webhook/register.ts SYSTEM_NAMESPACES). */
export const EXCLUDED_NAMESPACE = 'kube-system';

/** What the scenario needs of the pod or service benchmark's context. */
export type LatencyCtx = SyncCtx<{ readonly rounds: number; readonly latency: Readonly<Record<number, number>> }, unknown>;

/** The figures of one concurrency, without the pod benchmark's target. */
export type CreateLatencyFigures = Omit<LatencyFigures, 'targetMet'>;

export interface CreatePath {
  id: PathId;
  endpoint: Endpoint;
  namespace: string;
  /** A virtual object with a host twin (its cleanup waits for the twin to go too). */
  synced: boolean;
  /** Created on the host kube-apiserver (the reference path). */
  onHost: boolean;
}

/**
 * direct: the virtual kube-apiserver in EXCLUDED_NAMESPACE (no vcnet anywhere on the path);
 * webhook: the same API server in the synced namespace (the webhook creates the host twin);
 * proxy: the synced namespace through vcnet's proxy; host: the host kube-apiserver (a reference).
 */
export function createPaths(ctx: LatencyCtx): Record<PathId, CreatePath> {
  return {
    direct: { id: 'direct', endpoint: ctx.env.direct, namespace: EXCLUDED_NAMESPACE, synced: false, onHost: false },
    webhook: { id: 'webhook', endpoint: ctx.env.direct, namespace: ctx.namespace, synced: true, onHost: false },
    proxy: { id: 'proxy', endpoint: ctx.env.proxy, namespace: ctx.namespace, synced: true, onHost: false },
    host: { id: 'host', endpoint: ctx.env.host, namespace: ctx.hostScratchNamespace, synced: false, onHost: true },
  };
}

/** One create as the closed loop counts it. */
export interface CreateOutcome {
  ok: boolean;
  ms: number;
  error?: string;
}

/** `n` creates by `concurrency` workers, each sending the next when its last is answered; `lat` gets the successful ones' latencies. */
export async function closedLoop(n: number, concurrency: number, create: () => Promise<CreateOutcome>, lat?: number[]): Promise<{ ok: number; errors: number; firstError?: string }> {
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (sent < n) {
      sent++;
      const r = await create();
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
}

export interface CreateRunSpec {
  path: CreatePath;
  /** The kind label of vcnet_sync_duration_seconds, for the time vcnet's webhook spent per create. */
  kind: 'Pod' | 'Service';
  /** vcnet idles through this path: its timers are not the path's cost, so its CPU is left out. */
  vcnetIdle: boolean;
  /** One create, over `agent` (as many connections to the path's endpoint as the concurrency). */
  create: (agent: https.Agent) => Promise<CreateOutcome>;
  /** Removes what the run created and waits until it is gone, so nothing of one run is left when the next starts. */
  cleanup: () => Promise<unknown>;
  /** A pause after the cleanup. */
  pauseMs: number;
}

/** Warm-up creates (every connection opened), then `creates` measured at `concurrency`, then all removed. */
export async function measuredCreateRun(ctx: LatencyCtx, spec: CreateRunSpec, concurrency: number, creates: number): Promise<CreateRun> {
  const agent = endpointAgent(spec.path.endpoint, concurrency);
  const create = (): Promise<CreateOutcome> => spec.create(agent);
  const histogram = (): ReturnType<typeof scrapeHistogram> => scrapeHistogram(ctx.env.metricsUrl, 'vcnet_sync_duration_seconds', { kind: spec.kind, operation: 'CREATE' });
  try {
    await closedLoop(Math.max(5, 2 * concurrency), concurrency, create);
    const before = await histogram();
    const meter = new CpuMeter(ctx.env.pids);
    const lat: number[] = [];
    const t0 = performance.now();
    const r = await closedLoop(creates, concurrency, create, lat);
    const elapsedMs = performance.now() - t0;
    const cpu = meter.stop();
    const after = await histogram();
    if (spec.vcnetIdle) delete cpu.byProcess['vcnet'];
    const hooks = before !== undefined && after !== undefined ? after.count - before.count : 0;
    agent.destroy();
    const c0 = performance.now();
    await spec.cleanup();
    const cleanupMs = performance.now() - c0;
    await new Promise((res) => setTimeout(res, spec.pauseMs));
    return {
      path: spec.path.id, concurrency, ok: r.ok, errors: r.errors, ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
      elapsedMs, createsPerSec: r.ok / (elapsedMs / 1000), latencyMs: summarize(lat),
      ...(hooks > 0 && before !== undefined && after !== undefined ? { webhookMeanMs: ((after.sum - before.sum) * 1000) / hooks } : {}),
      cleanupMs, cpu, othersShare: othersShareOf(cpu), used: true,
    };
  } finally {
    agent.destroy();
  }
}

/**
 * The scenario: for each concurrency of the plan, interleaved rounds of one `createRun` per path,
 * then the figures. `note` adds to the summary line logged per concurrency.
 */
export async function measureCreateLatencyRounds(
  ctx: LatencyCtx,
  createRun: (path: PathId, concurrency: number, creates: number) => Promise<CreateRun>,
  note: (f: CreateLatencyFigures) => string = () => '',
): Promise<CreateLatencyFigures[]> {
  const out: CreateLatencyFigures[] = [];
  for (const [conc, creates] of Object.entries(ctx.plan.latency)) {
    const concurrency = Number(conc);
    const label = `create c=${concurrency}`;
    const { runs, byPath, rounds } = await interleavedRounds(ctx, label, PATHS, async (id, round) => {
      const r = await createRun(id, concurrency, creates);
      ctx.otherShares.push(r.othersShare);
      ctx.log(`${label} ${id} round ${round + 1}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.createsPerSec.toFixed(1)} creates/s${r.webhookMeanMs !== undefined ? `, webhook ${r.webhookMeanMs.toFixed(2)} ms/create` : ''}${r.errors > 0 ? `, ${r.errors} errors (${r.firstError})` : ''}; cleanup ${(r.cleanupMs / 1000).toFixed(1)} s`);
      return r;
    });
    const paths = Object.fromEntries(PATHS.map((id) => [id, pathLatency(byPath[id].filter((r) => r.used))])) as Record<PathId, PathLatency>;
    const f: CreateLatencyFigures = {
      concurrency, createsPerRun: creates, rounds, paths,
      p50Ratio: paths.proxy.p50 / paths.direct.p50,
      p99Ratio: paths.proxy.p99 / paths.direct.p99,
      webhookP50Ratio: paths.webhook.p50 / paths.direct.p50,
      webhookP99Ratio: paths.webhook.p99 / paths.direct.p99,
      runs,
    };
    ctx.log(`=> ${label}: proxy ÷ direct p50 ×${f.p50Ratio.toFixed(2)}, p99 ×${f.p99Ratio.toFixed(2)} (webhook alone ×${f.webhookP50Ratio.toFixed(2)} / ×${f.webhookP99Ratio.toFixed(2)}${note(f)})`);
    out.push(f);
  }
  return out;
}

/** Medians over the used runs of one path; CPU per create per process group. */
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
