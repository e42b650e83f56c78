// The Service scenarios of issue 4 (bench/README.md, "Services"): create latency through vcnet
// against the same API server without vcnet, vcnet's memory with thousands of synced Services, and
// the time to a consistent state after a restart during which the host side was damaged.
import type https from 'node:https';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { serviceToHost, type Service, type Translator } from '../../src/translate/index.ts';
import { pool } from './client.ts';
import { createPaths, measureCreateLatencyRounds, measuredCreateRun, type CreateOutcome, type CreatePath } from './create-latency.ts';
import { CpuMeter, othersShareOf, readCpuMs, readMemory, RssSampler } from './procstat.ts';
import { endpointAgent, mustCall, request, statusMessage, waitListEmpty, type Endpoint } from './pods-http.ts';
import type { CreateRun } from './pods-report.ts';
import type { VcnetProcess } from './services-env.ts';
import {
  MILESTONES,
  type DamageCounts, type RestartFigures, type ServiceLatencyFigures, type ServiceMemoryFigures, type ServicesPlan,
} from './services-report.ts';
import { checkAll, describeReport, isConsistent, type ConsistencyReport, type ServiceTracker } from './services-watch.ts';
import { summarize } from './stats.ts';
import type { SyncCtx } from './sync-ctx.ts';
import { heapUsedMiB, scrapeGauge } from './vcnet-metrics.ts';

/** vcnet's count of host Services it deleted as orphans (vcnet_sync_orphans_deleted_total{kind="Service"}); NaN when unreadable. */
export async function orphansCollected(url: string | undefined): Promise<number> {
  if (url === undefined) return Number.NaN;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return Number.NaN;
    const m = /^vcnet_sync_orphans_deleted_total\{[^}]*kind="Service"[^}]*\}\s+(\S+)$/m.exec(await r.text());
    return m === null ? 0 : Number(m[1]);
  } catch {
    return Number.NaN;
  }
}

/** On the Services of the memory and restart population (and their host twins and orphans): what the tracker watches. */
export const RUN_LABEL_KEY = 'vcnet.dev/bench-services-run';
/** On the latency scenario's Services instead, so the tracker does not see them; plus a batch label per run. */
const LATENCY_LABEL_KEY = 'vcnet.dev/bench-services-latency';
const BATCH_LABEL_KEY = 'vcnet.dev/bench-batch';
const RSS_INTERVAL_MS = 100;

export interface ServicesCtx extends SyncCtx<ServicesPlan, ServiceTracker> {
  /** The naming rules of the vcnet under test, for the host names of twins and orphans. */
  tr: Translator;
}

/** An ordinary Service: one TCP port, a selector. The host allocates its ClusterIP (and vcnet copies it back). */
function serviceBody(name: string, labels: Record<string, string>): Service {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, labels: { ...labels, app: 'vcnet-bench' } },
    spec: { type: 'ClusterIP', selector: { app: 'vcnet-bench' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

function servicesPath(namespace: string, name = ''): string {
  return `/api/v1/namespaces/${namespace}/services${name === '' ? '' : `/${name}`}`;
}

async function createService(e: Endpoint, agent: https.Agent, namespace: string, body: Service): Promise<CreateOutcome> {
  const t0 = performance.now();
  try {
    const r = await request(e, agent, 'POST', servicesPath(namespace), body);
    const ms = performance.now() - t0;
    return r.status === 201 ? { ok: true, ms } : { ok: false, ms, error: statusMessage(r) };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: (err as Error).message };
  }
}

/** DELETEs `namespace/name` for every name; gone already is fine. Returns the errors. */
async function deleteServices(e: Endpoint, namespace: string, names: readonly string[], concurrency: number): Promise<string[]> {
  const agent = endpointAgent(e, concurrency);
  const errors: string[] = [];
  try {
    await pool(names, concurrency, async (name) => {
      try {
        const r = await request(e, agent, 'DELETE', servicesPath(namespace, name));
        if (r.status !== 200 && r.status !== 202 && r.status !== 404) errors.push(`DELETE ${namespace}/${name} (${e.label}): ${statusMessage(r)}`);
      } catch (err) {
        errors.push(`DELETE ${namespace}/${name} (${e.label}): ${(err as Error).message}`);
      }
    });
  } finally {
    agent.destroy();
  }
  return errors;
}

/** Polls a labelled LIST until it is empty; false after `timeoutMs`. */
function waitEmpty(e: Endpoint, namespace: string, selector: string, timeoutMs: number): Promise<boolean> {
  return waitListEmpty(e, `${servicesPath(namespace)}?limit=1&labelSelector=${encodeURIComponent(selector)}`, timeoutMs);
}

async function listServices(e: Endpoint, path: string): Promise<Service[]> {
  const agent = endpointAgent(e, 1);
  try {
    return (await mustCall<{ items: Service[] }>(e, agent, 'GET', path)).items;
  } finally {
    agent.destroy();
  }
}

/** Both sides of the run's population, LISTed now and compared (the authoritative check). */
export async function listCheck(ctx: ServicesCtx): Promise<ConsistencyReport> {
  const selector = encodeURIComponent(`${RUN_LABEL_KEY}=${ctx.runLabel}`);
  const [virtual, host] = await Promise.all([
    listServices(ctx.env.direct, `/api/v1/services?labelSelector=${selector}`),
    listServices(ctx.env.host, `${servicesPath(ctx.env.hostNamespace)}?labelSelector=${selector}`),
  ]);
  return checkAll(ctx.tr, virtual, host);
}

function counts(r: ConsistencyReport): DamageCounts {
  return { missing: r.missing.length, orphans: r.orphans.length, clusterIP: r.clusterIP.length, spec: r.spec.length };
}

// ---------------------------------------------------------------------------------------------
// 1. Create latency

/**
 * The measured creates of one path (create-latency.ts), each run's Services under a batch label of
 * their own; then all deleted and LISTed until gone, on the host too for synced ones.
 */
function createRun(ctx: ServicesCtx, path: CreatePath, concurrency: number, creates: number): Promise<CreateRun> {
  const batch = `b${(ctx.seq++).toString(36)}`;
  const labels = { [LATENCY_LABEL_KEY]: ctx.runLabel, [BATCH_LABEL_KEY]: batch };
  const names: string[] = [];
  const cleanup = async (): Promise<void> => {
    const what = `create latency ${path.id} c=${concurrency}`;
    const errors = await deleteServices(path.endpoint, path.namespace, names, 16);
    if (errors.length > 0) ctx.warnings.push(`${what}: ${errors.length} deletes failed (first: ${errors[0]})`);
    const selector = `${BATCH_LABEL_KEY}=${batch}`;
    if (!await waitEmpty(path.endpoint, path.namespace, selector, 60_000)) ctx.warnings.push(`${what}: Services still listed 60 s after deleting them`);
    // The webhook deletes the host twin before the virtual DELETE returns; this proves it.
    if (path.synced && !await waitEmpty(ctx.env.host, ctx.env.hostNamespace, selector, 60_000)) ctx.warnings.push(`${what}: host twins still listed 60 s after deleting their virtual Services`);
  };
  return measuredCreateRun(ctx, {
    // vcnet idles through a direct or host run.
    path, kind: 'Service', vcnetIdle: !path.synced, pauseMs: 300, cleanup,
    create: (agent) => {
      const name = `lat-${path.id[0]}-${(ctx.seq++).toString(36)}`;
      names.push(name);
      return createService(path.endpoint, agent, path.namespace, serviceBody(name, labels));
    },
  }, concurrency, creates);
}

/**
 * Rounds of one run per path, the order rotating every round so drift on the machine hits all
 * paths alike (rounds.ts), as the pod benchmark does.
 */
export function measureCreateLatency(ctx: ServicesCtx): Promise<ServiceLatencyFigures[]> {
  const paths = createPaths(ctx);
  return measureCreateLatencyRounds(ctx, (id, concurrency, creates) => createRun(ctx, paths[id], concurrency, creates), (f) => `; host create p50 ${f.paths.host.p50.toFixed(2)} ms`);
}

// ---------------------------------------------------------------------------------------------
// 2. Memory with the population (which the restart scenario then uses)

/** The population's names, in a fixed order: the restart scenario picks its victims by index. */
export function populationNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(5, '0')}`);
}

export async function measureMemory(ctx: ServicesCtx, idleMiB: number): Promise<ServiceMemoryFigures> {
  const { services, populateConcurrency } = ctx.plan;
  const pid = ctx.env.vcnetPid;
  const before = new RssSampler(pid, RSS_INTERVAL_MS);
  const heapBeforeMiB = await heapUsedMiB(ctx.env.metricsUrl, 3000);
  const beforeMiB = before.stop().lastMiB;

  const collectedBefore = await orphansCollected(ctx.env.metricsUrl);
  const peak = new RssSampler(pid, RSS_INTERVAL_MS);
  const agent = endpointAgent(ctx.env.proxy, populateConcurrency);
  const latencies: number[] = [];
  const t0 = performance.now();
  let accepted = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastAcceptedAt = t0;
  try {
    await pool(populationNames(services), populateConcurrency, async (name) => {
      ctx.signal.throwIfAborted();
      const r = await createService(ctx.env.proxy, agent, ctx.namespace, serviceBody(name, { [RUN_LABEL_KEY]: ctx.runLabel }));
      if (r.ok) {
        accepted++;
        latencies.push(r.ms);
        lastAcceptedAt = performance.now();
      } else {
        errors++;
        firstError ??= r.error;
      }
    });
  } finally {
    agent.destroy();
  }
  const createSeconds = (lastAcceptedAt - t0) / 1000;
  if (errors > 0) ctx.warnings.push(`memory: ${errors} of ${services} creates failed (first: ${firstError})`);
  ctx.log(`memory: ${accepted} Services created through vcnet in ${createSeconds.toFixed(1)} s; waiting for a consistent state`);
  const { tracker } = ctx;
  const timeoutMs = 60_000 + services * 20;
  const consistent = await tracker.waitFor(() => tracker.virtual.size >= accepted && tracker.consistentAt !== undefined, timeoutMs, ctx.signal);
  const consistentSeconds = consistent ? ((tracker.consistentAt ?? Number.NaN) - t0) / 1000 : Number.NaN;
  if (!consistent) ctx.warnings.push(`memory: no consistent state within ${timeoutMs / 1000} s of the first create (${describeReport(tracker.report())})`);
  // Let the reconciler's follow-up work (status, endpoints) and the caches settle.
  await new Promise((r) => setTimeout(r, 5000));
  const steady = new RssSampler(pid, RSS_INTERVAL_MS);
  const heapSteadyMiB = await heapUsedMiB(ctx.env.metricsUrl, 5000);
  const steadyMiB = steady.stop().lastMiB;
  const heapTotalSteadyMiB = (await scrapeGauge(ctx.env.metricsUrl, 'vcnet_nodejs_heap_size_total_bytes')) / 2 ** 20;
  const peakMiB = peak.stop().peakMiB;
  const check = await listCheck(ctx);
  if (!isConsistent(check)) ctx.warnings.push(`memory: the LIST check after the wait found ${describeReport(check)}`);
  const twinsDeleted = tracker.hostDeletes.get(tracker.phase) ?? 0;
  const collected = (await orphansCollected(ctx.env.metricsUrl)) - collectedBefore;
  if (twinsDeleted > 0 || collected > 0) {
    ctx.warnings.push(`memory: while the benchmark only created Services, ${twinsDeleted} host twins were deleted (vcnet counted ${collected} orphans collected) and re-created from their virtual Services: vcnet's orphan collection took twins of creates in flight for orphans (orphan grace ${ctx.plan.orphanGraceSeconds} s). See bench/README.md, "Services".`);
  }
  ctx.log(`memory: vcnet RSS ${steadyMiB.toFixed(1)} MiB, V8 heap used ${heapSteadyMiB.toFixed(1)} MiB with ${check.virtual} synced Services (before ${beforeMiB.toFixed(1)} / ${heapBeforeMiB.toFixed(1)} MiB, RSS peak ${peakMiB.toFixed(1)} MiB)`);
  const n = check.virtual;
  return {
    services, accepted, errors, ...(firstError !== undefined ? { firstError } : {}),
    createSeconds, createsPerSec: accepted / createSeconds, createLatencyMs: summarize(latencies), twinsDeleted, orphansCollected: collected,
    consistentSeconds, consistent: isConsistent(check) && n === accepted,
    idleMiB, beforeMiB, peakMiB, steadyMiB,
    perServiceKiB: n > 0 ? ((steadyMiB - beforeMiB) * 1024) / n : Number.NaN,
    heapBeforeMiB, heapSteadyMiB, heapTotalSteadyMiB,
    heapPerServiceKiB: n > 0 ? ((heapSteadyMiB - heapBeforeMiB) * 1024) / n : Number.NaN,
    hwmMiB: readMemory(pid)?.hwmMiB ?? Number.NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Restart with damage done while vcnet is down

interface Damage {
  deleted: string[];
  drifted: string[];
  orphans: string[];
  errors: number;
  firstError?: string;
}

/**
 * The damage a reconciler must repair, done on the host while vcnet is down:
 *   orphans  host Services exactly as vcnet would write them (serviceToHost) for virtual Services
 *            that do not exist — what a create the virtual API server refused after admission leaves;
 *   drifted  host twins whose port and selector someone changed;
 *   deleted  host twins deleted.
 * Orphans first: a deleted twin's ClusterIP must still be taken when the orphans get theirs, or an
 * orphan could take it, and the twin's re-creation with its virtual ClusterIP would wait for the
 * orphan's collection — a collision this scenario does not mean to measure.
 */
async function damageHost(ctx: ServicesCtx, round: number): Promise<Damage> {
  const names = populationNames(ctx.plan.services);
  const d = ctx.plan.damage;
  const step = Math.floor(names.length / d);
  const pick = (offset: number): string[] => Array.from({ length: d }, (_, i) => names[i * step + offset] as string);
  const dmg: Damage = { deleted: pick(2 * round), drifted: pick(2 * round + 1), orphans: [], errors: 0 };
  const host = ctx.env.host;
  const hns = ctx.env.hostNamespace;
  const agent = endpointAgent(host, 16);
  const fail = (what: string, err: string): void => {
    dmg.errors++;
    dmg.firstError ??= `${what}: ${err}`;
  };
  try {
    const orphans = Array.from({ length: d }, (_, i) => `orphan-${round}-${String(i).padStart(4, '0')}`);
    await pool(orphans, 16, async (name) => {
      // A virtual Service that never made it (its uid included, as the API server had assigned one).
      const vSvc = serviceBody(name, { [RUN_LABEL_KEY]: ctx.runLabel });
      const hSvc = serviceToHost(ctx.tr, { ...vSvc, metadata: { ...vSvc.metadata, namespace: ctx.namespace, uid: randomUUID() } });
      const r = await request(host, agent, 'POST', servicesPath(hns), hSvc);
      if (r.status === 201) dmg.orphans.push(`${ctx.namespace}/${name}`);
      else fail(`creating orphan ${name}`, statusMessage(r));
    });
    await pool(dmg.drifted, 16, async (vName) => {
      const hName = ctx.tr.hostName(vName, ctx.namespace);
      const r = await request(host, agent, 'GET', servicesPath(hns, hName));
      if (r.status !== 200) { fail(`reading ${hName}`, statusMessage(r)); return; }
      const hSvc = JSON.parse(r.body) as { spec: { ports: Array<{ port: number }>; selector?: Record<string, string> } };
      const port = hSvc.spec.ports[0];
      if (port !== undefined) port.port = 8081;
      hSvc.spec.selector = { ...hSvc.spec.selector, 'vcnet.dev/bench-drift': 'true' };
      const u = await request(host, agent, 'PUT', servicesPath(hns, hName), hSvc);
      if (u.status !== 200) fail(`changing ${hName}`, statusMessage(u));
    });
    await pool(dmg.deleted, 16, async (vName) => {
      const hName = ctx.tr.hostName(vName, ctx.namespace);
      const r = await request(host, agent, 'DELETE', servicesPath(hns, hName));
      if (r.status !== 200 && r.status !== 202) fail(`deleting ${hName}`, statusMessage(r));
    });
  } finally {
    agent.destroy();
  }
  dmg.deleted = dmg.deleted.map((n) => `${ctx.namespace}/${n}`);
  dmg.drifted = dmg.drifted.map((n) => `${ctx.namespace}/${n}`);
  return dmg;
}

/**
 * Stops vcnet with `signal`, damages the host side, starts vcnet again and measures, from the new
 * process's spawn, until the run's Services are consistent again (watches), confirmed by LISTs.
 */
export async function measureRestart(ctx: ServicesCtx, vcnet: VcnetProcess, signal: 'SIGTERM' | 'SIGKILL', round: number): Promise<RestartFigures> {
  const { tracker } = ctx;
  const pre = await listCheck(ctx);
  if (!isConsistent(pre)) {
    ctx.warnings.push(`restart ${signal}: not consistent before the stop (${describeReport(pre)}); waiting up to 60 s`);
    await tracker.waitFor(() => tracker.consistentAt !== undefined, 60_000, ctx.signal);
  }
  const deletesBefore = tracker.hostDeletes.get(tracker.phase) ?? 0;
  const stopped = await vcnet.stop(signal);
  const downAt = performance.now();
  ctx.log(`restart ${signal}: vcnet gone ${stopped.exitMs.toFixed(0)} ms after the signal; damaging the host side`);

  const dmg = await damageHost(ctx, round);
  if (dmg.errors > 0) ctx.warnings.push(`restart ${signal}: ${dmg.errors} host writes of the damage failed (first: ${dmg.firstError})`);
  const expected = dmg.deleted.length + dmg.drifted.length + dmg.orphans.length;
  await tracker.waitFor(() => tracker.bad.size >= expected, 10_000, ctx.signal);
  const seenReport = await listCheck(ctx);
  const seen = counts(seenReport);
  ctx.log(`restart ${signal}: damage seen by LIST: ${describeReport(seenReport)}`);
  if (seen.missing !== dmg.deleted.length || seen.orphans !== dmg.orphans.length || seen.spec !== dmg.drifted.length) {
    ctx.warnings.push(`restart ${signal}: the LIST before the restart does not show the damage done (${describeReport(seenReport)})`);
  }

  const damaged = [...dmg.deleted, ...dmg.drifted, ...dmg.orphans];
  let meter: CpuMeter | undefined;
  let spawnedAt = Number.NaN;
  const starting = vcnet.start((at) => {
    spawnedAt = at;
    meter = new CpuMeter(ctx.env.pids);
  });
  let startFailed = false;
  starting.catch(() => { startFailed = true; });
  // The spawn is synchronous inside start(): spawnedAt is set now.
  const downSeconds = (spawnedAt - downAt) / 1000;
  const deadline = spawnedAt + ctx.plan.restartTimeoutMs;
  let consistentAt = Number.NaN;
  let final: ConsistencyReport | undefined;
  for (;;) {
    const left = deadline - performance.now();
    const ok = left > 0 && await tracker.waitFor(() => startFailed || (tracker.consistentAt !== undefined && tracker.consistentAt > spawnedAt), left, ctx.signal);
    if (startFailed) break; // `await starting` below throws vcnet's start-up error
    final = await listCheck(ctx);
    if (ok && isConsistent(final)) {
      consistentAt = tracker.consistentAt ?? Number.NaN;
      break;
    }
    if (!ok || performance.now() > deadline) {
      ctx.warnings.push(`restart ${signal}: no consistent state within ${ctx.plan.restartTimeoutMs / 1000} s of the spawn (LIST: ${describeReport(final)}; watches: ${tracker.bad.size} with a problem)`);
      break;
    }
    // The watches said consistent but the LISTs did not (an event not delivered yet): keep waiting.
    ctx.log(`restart ${signal}: watches consistent, LIST not yet (${describeReport(final)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const cpu = meter?.stop();
  const hostDeletes = (tracker.hostDeletes.get(tracker.phase) ?? 0) - deletesBefore;
  const restarted = await starting;
  // The new vcnet's CPU since its spawn is all of its CPU.
  const cpuMs: Record<string, number> = { ...(cpu?.byProcess ?? {}), vcnet: readCpuMs(restarted.pid) ?? Number.NaN };

  const fixed = (keys: readonly string[]): number[] => keys.map((k) => (tracker.fixedAt.get(k) ?? Number.NaN) - spawnedAt).filter((v) => v >= 0);
  const last = (keys: readonly string[]): number => {
    const f = fixed(keys);
    return f.length === keys.length && f.length > 0 ? Math.max(...f) : Number.NaN;
  };
  const all = fixed(damaged);
  const milestones = vcnet.milestones(restarted.logFrom, restarted.spawnedWallMs, MILESTONES);
  await new Promise((r) => setTimeout(r, 2000));
  const heapAfterMiB = await heapUsedMiB(ctx.env.metricsUrl, 3000);
  const rssAfterMiB = readMemory(restarted.pid)?.rssMiB ?? Number.NaN;
  const f: RestartFigures = {
    signal, services: pre.virtual, exitMs: stopped.exitMs, downSeconds,
    damage: { deleted: dmg.deleted.length, orphans: dmg.orphans.length, drifted: dmg.drifted.length, errors: dmg.errors, ...(dmg.firstError !== undefined ? { firstError: dmg.firstError } : {}), seen },
    readyMs: restarted.readyMs, milestones, hostDeletes,
    firstRepairMs: all.length > 0 ? Math.min(...all) : Number.NaN,
    lastRepairMs: { missing: last(dmg.deleted), orphans: last(dmg.orphans), drift: last(dmg.drifted) },
    consistentMs: consistentAt - spawnedAt,
    confirmed: Number.isFinite(consistentAt),
    final: counts(final ?? await listCheck(ctx)),
    rssAfterMiB, heapAfterMiB, cpuMs,
  };
  if (cpu !== undefined) ctx.otherShares.push(othersShareOf(cpu));
  if (hostDeletes > dmg.deleted.length + dmg.orphans.length) {
    ctx.warnings.push(`restart ${signal}: ${hostDeletes} host Services of the run were deleted from the stop to a consistent state, ${dmg.deleted.length} by the benchmark and ${dmg.orphans.length} orphans expected: vcnet deleted ${hostDeletes - dmg.deleted.length - dmg.orphans.length} twins it should have kept (and re-created them).`);
  }
  ctx.log(`=> restart ${signal}: consistent ${(f.consistentMs / 1000).toFixed(2)} s after the spawn (ready ${(f.readyMs / 1000).toFixed(2)} s, Lease ${((milestones['lease'] ?? Number.NaN) / 1000).toFixed(2)} s, first repair ${(f.firstRepairMs / 1000).toFixed(2)} s)`);
  return f;
}

/** Deletes the population directly (the webhook deletes each host twin) and waits until both sides are empty. */
export async function removePopulation(ctx: ServicesCtx): Promise<{ services: number; seconds: number }> {
  const { tracker } = ctx;
  const names = [...tracker.virtual.keys()].map((k) => k.slice(k.indexOf('/') + 1));
  const t0 = performance.now();
  const errors = await deleteServices(ctx.env.direct, ctx.namespace, names, 16);
  if (errors.length > 0) ctx.warnings.push(`cleanup: ${errors.length} deletes failed (first: ${errors[0]})`);
  const ok = await tracker.waitFor(() => tracker.virtual.size === 0 && tracker.host.size === 0, 60_000 + names.length * 20, ctx.signal);
  if (!ok) ctx.warnings.push(`cleanup: ${tracker.virtual.size} virtual Services and ${tracker.host.size} host Services of the run still there after deleting them`);
  const seconds = (performance.now() - t0) / 1000;
  ctx.log(`cleanup: ${names.length} Services deleted in ${seconds.toFixed(1)} s`);
  return { services: names.length, seconds };
}
