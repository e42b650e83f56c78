// `npm run bench:services`: vcnet's Service sync (issue 4, "Measure") in one run — Service create
// latency through vcnet against the same API server without vcnet (and a bare host create, to show
// where the time goes), vcnet's memory with thousands of synced Services, and the time to a
// consistent state after vcnet is stopped (SIGTERM, SIGKILL), the host side damaged meanwhile, and
// vcnet started again. Writes bench/results/<name>.{json,md}, prints the markdown and stops
// everything it started. What each figure means: bench/README.md, "Services".
import { rmSync } from 'node:fs';
import { Translator } from '../src/translate/index.ts';
import { benchLog, intFlag, makeWorkDir, parseBenchFlags, runMain, stopOnSignals, usageExit } from './lib/cli.ts';
import { EXCLUDED_NAMESPACE } from './lib/create-latency.ts';
import { machineFigures } from './lib/machine.ts';
import { restingRssMiB } from './lib/procstat.ts';
import { startPodsEnv, type PodsEnv } from './lib/pods-env.ts';
import { endpointAgent, mustCall, type Endpoint } from './lib/pods-http.ts';
import { phaseRunner, watchRestartsWarning } from './lib/pods-watch.ts';
import { keepVcnetLog, publishResults, reportHead, runStart } from './lib/results.ts';
import { VcnetProcess } from './lib/services-env.ts';
import { servicesMarkdown, type RestartFigures, type ServiceLatencyFigures, type ServiceMemoryFigures, type ServicesPlan, type ServicesReport } from './lib/services-report.ts';
import {
  measureCreateLatency, measureMemory, measureRestart, orphansCollected, removePopulation, RUN_LABEL_KEY, type ServicesCtx,
} from './lib/services-scenarios.ts';
import { ServiceTracker } from './lib/services-watch.ts';

const SCRIPT = 'bench:services';
const SCENARIOS = ['latency', 'memory', 'restart'] as const;

/**
 * The orphan grace of the vcnet under test (`vcnet.sync.orphanGraceSeconds`, default 30): low, so
 * the restart figures show the reconciler's work, not a waiting period the operator chooses. vcnet
 * ages orphans on its own clock from first sight, so orphans made while it is down are deleted one
 * grace after the restart (bench/README.md, "Services").
 */
const ORPHAN_GRACE_SECONDS = 2;

const FULL: ServicesPlan = {
  rounds: 5,
  latency: { 1: 30, 16: 128 },
  retryBudgetMs: 45_000,
  services: 2000,
  populateConcurrency: 16,
  damage: 100,
  signals: ['SIGTERM', 'SIGKILL'],
  orphanGraceSeconds: ORPHAN_GRACE_SECONDS,
  restartTimeoutMs: 180_000,
};
const QUICK: ServicesPlan = {
  ...FULL,
  rounds: 2,
  latency: { 1: 20, 16: 64 },
  retryBudgetMs: 20_000,
  services: 500,
  damage: 25,
};

const BASELINE = `"direct" sends the create straight to the virtual kube-apiserver in ${EXCLUDED_NAMESPACE}, a namespace vcnet's webhook configurations exclude (namespaceSelector) and its reconcilers ignore: the same API server, etcd, admission chain, Service and client certificate with no vcnet on the path, so the ratios are vcnet's cost alone. "webhook" sends it straight to the API server in a synced namespace (vcnet's mutating webhook creates the host Service and puts its ClusterIP into the virtual one; no proxy); "proxy" sends it through vcnet's proxy in that namespace (proxy + webhook: what users get). "host" is the same Service created straight on the host kube-apiserver, in a namespace of its own.`;

const USAGE = `Usage: npm run bench:services -- [flags]

  --quick            a smaller run (about 3 minutes): 2 rounds, fewer creates, 500 Services for memory and restarts
  --rounds N         rounds of the create-latency scenario (paths interleaved; medians reported)
  --only LIST        comma-separated subset of ${SCENARIOS.join(',')} (restart needs memory's Services: it creates them itself if memory is left out)
  --services N       Services for the memory and restart scenarios (default 2000, --quick 500)
  --damage N         host twins deleted, orphans created and specs changed while vcnet is down, each (default 100, --quick 25)
  --signals LIST     how vcnet is stopped before a restart: SIGTERM, SIGKILL or both (default SIGTERM,SIGKILL)
  --orphan-grace S   vcnet.sync.orphanGraceSeconds of the vcnet under test (default ${ORPHAN_GRACE_SECONDS})
  --name NAME        results file name under bench/results/ (default: services, or services-quick)

The benchmark starts its own control planes and vcnet (it must restart vcnet and set its orphan grace).
`;

const log = benchLog(SCRIPT);

interface Flags {
  quick: boolean;
  plan: ServicesPlan;
  only: ReadonlySet<string>;
  name: string;
}

function parseFlags(argv: string[]): Flags | string {
  const flags = parseBenchFlags(argv, {
    services: { type: 'string' },
    damage: { type: 'string' },
    signals: { type: 'string' },
    'orphan-grace': { type: 'string' },
  }, { scenarios: SCENARIOS, defaultName: 'services' });
  if (typeof flags === 'string') return flags;
  const { values, quick } = flags;
  const plan: ServicesPlan = { ...(quick ? QUICK : FULL) };
  if (flags.rounds !== undefined) plan.rounds = flags.rounds;
  const services = intFlag(values.services, 'services', 40, 20000);
  if (typeof services === 'string') return services;
  if (services !== undefined) plan.services = services;
  const damage = intFlag(values.damage, 'damage', 1, 5000);
  if (typeof damage === 'string') return damage;
  if (damage !== undefined) plan.damage = damage;
  const grace = intFlag(values['orphan-grace'], 'orphan-grace', 0, 3600);
  if (typeof grace === 'string') return grace;
  if (grace !== undefined) plan.orphanGraceSeconds = grace;
  if (values.signals !== undefined) {
    const signals = values.signals.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
    for (const s of signals) if (s !== 'SIGTERM' && s !== 'SIGKILL') return `--signals: "${s}" is neither SIGTERM nor SIGKILL`;
    if (signals.length === 0) return '--signals: name SIGTERM, SIGKILL or both';
    plan.signals = signals as ServicesPlan['signals'];
  }
  // Each restart picks two disjoint sets of `damage` Services (deleted twins, changed specs) by stride.
  if (plan.damage * 2 * plan.signals.length > plan.services) return `--damage ${plan.damage} is too large for ${plan.services} Services and ${plan.signals.length} restarts: each restart damages 2 × ${plan.damage} of them, all different`;
  return { quick, plan, only: flags.only, name: flags.name };
}

async function createNamespace(e: Endpoint, name: string): Promise<void> {
  const agent = endpointAgent(e, 1);
  try {
    await mustCall(e, agent, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } finally {
    agent.destroy();
  }
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') return usageExit(SCRIPT, flags, USAGE);
  const { plan, only, name } = flags;
  const start = runStart();
  const workDir = makeWorkDir('vcnet-bench-services-', true, log);

  let env: PodsEnv | undefined;
  let starting: Promise<PodsEnv> | undefined;
  let vcnet: VcnetProcess | undefined;
  let tracker: ServiceTracker | undefined;
  const { stop, signal: interrupted } = stopOnSignals(async () => {
    if (env === undefined && starting !== undefined) env = await starting.catch(() => undefined);
    tracker?.stop();
    if (env !== undefined) {
      log('stopping what this run started');
      await vcnet?.close(log);
      await env.stop().catch((err: unknown) => log(`stopping failed: ${(err as Error).message}`));
    }
    keepVcnetLog(workDir, name, log);
    rmSync(workDir, { recursive: true, force: true });
  }, log);

  try {
    starting = startPodsEnv({ workDir, log, vcnetConfig: { vcnet: { sync: { orphanGraceSeconds: plan.orphanGraceSeconds } } } });
    env = await starting;
    interrupted.throwIfAborted();
    vcnet = new VcnetProcess(env, workDir);
    const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const runLabel = `r${tag}`;
    const namespace = `bench-svc-${tag}`;
    // The same name on both sides: the synced namespace (virtual) and the host-create reference's (host).
    await createNamespace(env.direct, namespace);
    await createNamespace(env.host, namespace);
    const tr = new Translator({ vcluster: env.vcluster, hostNamespace: env.hostNamespace });

    tracker = new ServiceTracker({ virtual: env.direct, host: env.host, tr, runLabel: { key: RUN_LABEL_KEY, value: runLabel } });
    await tracker.start();
    log(`watching Services labelled ${RUN_LABEL_KEY}=${runLabel} in the virtual cluster and in host namespace ${env.hostNamespace}; synced namespace ${namespace}`);

    const ctx: ServicesCtx = {
      env, plan, tracker, tr, runLabel, namespace, hostScratchNamespace: namespace, signal: interrupted, log,
      retryLeftMs: plan.retryBudgetMs, otherShares: [], warnings: [], seq: 0,
    };
    const idleMiB = await restingRssMiB(env.vcnetPid, 3000);
    log(`vcnet RSS idle ${idleMiB.toFixed(1)} MiB`);

    const phase = phaseRunner(tracker);
    // Memory first, while vcnet's heap has seen nothing else (RSS seldom shrinks); its Services
    // are then the population the restarts damage and repair; latency last, on an empty namespace.
    let memory: ServiceMemoryFigures | undefined;
    const restarts: RestartFigures[] = [];
    let cleanup: { services: number; seconds: number } | undefined;
    if (only.has('memory') || only.has('restart')) {
      const m = await phase('memory', () => measureMemory(ctx, idleMiB));
      if (only.has('memory')) memory = m;
      if (only.has('restart')) {
        for (const [i, signal] of plan.signals.entries()) restarts.push(await phase(`restart ${signal}`, () => measureRestart(ctx, vcnet!, signal, i)));
      }
      cleanup = await phase('cleanup', () => removePopulation(ctx));
    }
    let latency: ServiceLatencyFigures[] = [];
    let latencyOrphansCollected: number | undefined;
    if (only.has('latency')) {
      const before = await orphansCollected(env.metricsUrl);
      latency = await phase('latency', () => measureCreateLatency(ctx));
      latencyOrphansCollected = (await orphansCollected(env.metricsUrl)) - before;
      if (latencyOrphansCollected > 0) ctx.warnings.push(`latency: vcnet collected ${latencyOrphansCollected} host Services as orphans during the latency runs, which only create Services and delete them through the webhook: twins of creates in flight taken for orphans (orphan grace ${plan.orphanGraceSeconds} s).`);
    }

    const reopened = watchRestartsWarning(tracker.restarts, 'Service');
    if (reopened !== undefined) ctx.warnings.push(reopened);

    const report: ServicesReport = {
      ...reportHead(start, SCRIPT, argv, name, flags.quick),
      plan,
      baseline: BASELINE,
      warnings: ctx.warnings,
      latency,
      ...(memory !== undefined ? { memory } : {}),
      restarts,
      ...(latencyOrphansCollected !== undefined ? { latencyOrphansCollected } : {}),
      ...(cleanup !== undefined ? { cleanup } : {}),
      watchRestarts: tracker.restarts,
      machine: machineFigures(start, ctx.otherShares),
      startup: env.startup,
    };
    await publishResults(name, report, servicesMarkdown(report), stop);
    return 0;
  } finally {
    await stop();
  }
}

runMain(main, log);
