// `npm run bench:pods`: vcnet's pod sync (issue 3) measured in one run — pod create latency through
// vcnet against the same API server without vcnet, status lag under churn, sustained creation, and
// vcnet's memory with thousands of synced pods. Writes bench/results/<name>.{json,md}, prints the
// markdown and stops everything it started. What each figure means: bench/README.md, "Pods".
import { readFileSync, rmSync } from 'node:fs';
import { benchLog, intFlag, makeWorkDir, parseBenchFlags, runMain, stopOnSignals, usageExit } from './lib/cli.ts';
import { EXCLUDED_NAMESPACE } from './lib/create-latency.ts';
import { machineFigures } from './lib/machine.ts';
import { restingRssMiB } from './lib/procstat.ts';
import { addHostNodes, removeNodes, startPodsEnv, type PodsEnv } from './lib/pods-env.ts';
import { endpointAgent, mustCall, request, statusMessage, type Endpoint } from './lib/pods-http.ts';
import { POD_TARGETS, podsMarkdown, type PodsPlan, type PodsReport } from './lib/pods-report.ts';
import { lostCount, measureChurn, measureCreateLatency, measureMemory, measureThroughput, RUN_LABEL_KEY, type PodsCtx } from './lib/pods-scenarios.ts';
import { phaseRunner, PodTracker, watchRestartsWarning } from './lib/pods-watch.ts';
import { keepVcnetLog, publishResults, reportHead, runStart } from './lib/results.ts';

const SCRIPT = 'bench:pods';
const SCENARIOS = ['latency', 'churn', 'throughput', 'memory'] as const;

// On the 2-core reference machine the full plan takes about 8 minutes, the quick one about 3.
const FULL: PodsPlan = {
  rounds: 5,
  latency: { 1: 30, 16: 128 },
  retryBudgetMs: 45_000,
  churn: { population: 500, durationMs: 45_000, ratePerSec: 10 },
  throughput: { pods: 1000, concurrency: [32] },
  memory: { pods: 5000, concurrency: 32 },
};
const QUICK: PodsPlan = {
  rounds: 2,
  latency: { 1: 20, 16: 96 },
  retryBudgetMs: 20_000,
  churn: { population: 500, durationMs: 20_000, ratePerSec: 10 },
  throughput: { pods: 300, concurrency: [32] },
  memory: { pods: 1000, concurrency: 32 },
};

const BASELINE = `"direct" sends the create straight to the virtual kube-apiserver in ${EXCLUDED_NAMESPACE}, a namespace vcnet's webhook configuration excludes (namespaceSelector) and its reconciler ignores: the same API server, etcd, admission chain, pod spec and client certificate, with no vcnet on the path, so the ratio is vcnet's cost alone. "webhook" sends it straight to the API server in a synced namespace (vcnet's webhook creates the host pod, no proxy); "proxy" sends it through vcnet's proxy in that namespace (proxy + webhook: what users get).`;

const USAGE = `Usage: npm run bench:pods -- [flags]

  --quick            a smaller run (about 3 minutes): fewer creates and rounds, 1,000 pods for memory
  --rounds N         rounds of the create-latency scenario (paths interleaved; medians reported)
  --only LIST        comma-separated subset of ${SCENARIOS.join(',')}
  --memory-pods N    pods for the memory scenario (default 5000, --quick 1000)
  --churn-rate R     pods created and deleted per second in the status-lag scenario (default 10)
  --state-dir DIR    use the running environment of \`vcnet up --state-dir DIR\` and its vcnet (left running)
  --name NAME        results file name under bench/results/ (default: pods, or pods-quick)
`;

const log = benchLog(SCRIPT);

interface Flags {
  quick: boolean;
  plan: PodsPlan;
  only: ReadonlySet<string>;
  stateDir: string | undefined;
  name: string;
}

function parseFlags(argv: string[]): Flags | string {
  const flags = parseBenchFlags(argv, {
    'memory-pods': { type: 'string' },
    'churn-rate': { type: 'string' },
    'state-dir': { type: 'string' },
  }, { scenarios: SCENARIOS, defaultName: 'pods' });
  if (typeof flags === 'string') return flags;
  const { values, quick } = flags;
  const base = quick ? QUICK : FULL;
  const plan: PodsPlan = { ...base, churn: { ...base.churn }, throughput: { ...base.throughput }, memory: { ...base.memory } };
  if (flags.rounds !== undefined) plan.rounds = flags.rounds;
  const memoryPods = intFlag(values['memory-pods'], 'memory-pods', 1, 20000);
  if (typeof memoryPods === 'string') return memoryPods;
  if (memoryPods !== undefined) plan.memory.pods = memoryPods;
  if (values['churn-rate'] !== undefined) {
    const n = Number(values['churn-rate']);
    if (!Number.isFinite(n) || n <= 0 || n > 200) return `--churn-rate must be a number of pods per second from 0 to 200, got "${values['churn-rate']}"`;
    plan.churn.ratePerSec = n;
  }
  return { quick, plan, only: flags.only, stateDir: values['state-dir'], name: flags.name };
}

/** A namespace with its default ServiceAccount (pods are refused before it exists); `existing` must be there already. */
async function prepareNamespace(e: Endpoint, name: string, existing: readonly string[] = []): Promise<void> {
  const agent = endpointAgent(e, 1);
  try {
    await mustCall(e, agent, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [RUN_LABEL_KEY]: 'true' } } });
    for (const ns of [name, ...existing]) {
      const deadline = Date.now() + 30_000;
      while ((await request(e, agent, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`ServiceAccount ${ns}/default did not appear within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    agent.destroy();
  }
}

async function removeNamespace(e: Endpoint, name: string): Promise<void> {
  const agent = endpointAgent(e, 1);
  try {
    const r = await request(e, agent, 'DELETE', `/api/v1/namespaces/${name}`);
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) log(`could not delete namespace ${name} (${e.label}): ${statusMessage(r)}`);
  } finally {
    agent.destroy();
  }
}

/** Lines of the virtual controller manager's log where PodGC force-deleted a pod of `namespace`. */
function podGcDeletions(env: PodsEnv, namespace: string): { count: number; example?: string; logFile?: string } {
  const kcm = env.state.virtual.processes.find((p) => p.name === 'kube-controller-manager');
  if (kcm === undefined) return { count: 0 };
  try {
    const lines = readFileSync(kcm.logFile, 'utf8').split('\n').filter((l) => l.includes('PodGC is force deleting Pod') && l.includes(`pod="${namespace}/`));
    return { count: lines.length, ...(lines[0] !== undefined ? { example: lines[0].trim() } : {}), logFile: kcm.logFile };
  } catch {
    return { count: 0 };
  }
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') return usageExit(SCRIPT, flags, USAGE);
  const { plan, only, name } = flags;
  const start = runStart();
  const workDir = makeWorkDir('vcnet-bench-pods-', flags.stateDir === undefined, log);

  let env: PodsEnv | undefined;
  let starting: Promise<PodsEnv> | undefined;
  let tracker: PodTracker | undefined;
  let namespace: string | undefined;
  const hostNodes: string[] = [];
  const { stop, signal: interrupted } = stopOnSignals(async () => {
    if (env === undefined && starting !== undefined) env = await starting.catch(() => undefined);
    tracker?.stop();
    if (env !== undefined) {
      // A reused environment keeps nothing of ours; our own is stopped whole.
      if (!env.ownsPlanes) {
        if (namespace !== undefined) {
          const ns = namespace;
          await removeNamespace(env.direct, ns).catch((err: unknown) => log(`removing namespace ${ns}: ${(err as Error).message}`));
          await removeNamespace(env.host, ns).catch((err: unknown) => log(`removing host namespace ${ns}: ${(err as Error).message}`));
        }
        await removeNodes(env.host, hostNodes, log);
      }
      log('stopping what this run started');
      await env.stop().catch((err: unknown) => log(`stopping failed: ${(err as Error).message}`));
    }
    keepVcnetLog(workDir, name, log);
    rmSync(workDir, { recursive: true, force: true });
  }, log);

  try {
    starting = startPodsEnv({ workDir, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}), log });
    env = await starting;
    interrupted.throwIfAborted();
    const tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const runLabel = `r${tag}`;
    namespace = `bench-pods-${tag}`;
    // The same name on both sides: the synced namespace (virtual) and the host-create reference's (host).
    await prepareNamespace(env.direct, namespace, [EXCLUDED_NAMESPACE]);
    await prepareNamespace(env.host, namespace);

    // Room for the largest population on the host: kwok's own nodes take 110 pods each.
    const largest = Math.max(only.has('memory') ? plan.memory.pods : 0, only.has('churn') ? plan.churn.population + 100 : 0, only.has('throughput') ? plan.throughput.pods : 0, 500);
    hostNodes.push(...await addHostNodes(env.host, 2, Math.ceil(largest / 2) + 500, log));

    tracker = new PodTracker({ virtual: env.direct, host: env.host, hostNamespace: env.hostNamespace, runLabel: { key: RUN_LABEL_KEY, value: runLabel } });
    await tracker.start();
    log(`watching pods labelled ${RUN_LABEL_KEY}=${runLabel} in the virtual cluster and in host namespace ${env.hostNamespace}; synced namespace ${namespace}`);

    const ctx: PodsCtx = {
      env, plan, tracker, runLabel, namespace, hostScratchNamespace: namespace, signal: interrupted, log,
      retryLeftMs: plan.retryBudgetMs, otherShares: [], warnings: [], seq: 0,
    };

    const idleMiB = await restingRssMiB(env.vcnetPid, 3000);
    log(`vcnet RSS idle ${idleMiB.toFixed(1)} MiB`);

    // Memory first, while vcnet's heap has seen nothing else: RSS rarely shrinks, so after the
    // other scenarios "before" would carry their high-water mark.
    const phase = phaseRunner(tracker);
    const memory = only.has('memory') ? await phase('memory', () => measureMemory(ctx, idleMiB)) : undefined;
    const latency = only.has('latency') ? await phase('latency', () => measureCreateLatency(ctx)) : [];
    const churn = only.has('churn') ? await phase('churn', () => measureChurn(ctx)) : undefined;
    const throughput = only.has('throughput') ? await phase('throughput', () => measureThroughput(ctx)) : [];

    const lostPods = lostCount(ctx);
    if (lostPods > 0) {
      const gc = podGcDeletions(env, namespace);
      ctx.warnings.push(`${lostPods} virtual pods of this run were deleted by something other than the benchmark${gc.count > 0 ? `: the virtual kube-controller-manager's PodGC force-deleted ${gc.count} pods of ${namespace} (${gc.logFile}; e.g. \`${gc.example}\`). PodGC deletes pods bound to a Node the virtual cluster does not have, 40 s after it notices (pkg/controller/podgc gcOrphaned): vcnet's NodeMirror should have created those Nodes` : ''}.`);
    }
    const reopened = watchRestartsWarning(tracker.restarts, 'pod', ': the kube-apiserver closes a watch whose client falls behind');
    if (reopened !== undefined) ctx.warnings.push(reopened);

    const report: PodsReport = {
      ...reportHead(start, SCRIPT, argv, name, flags.quick),
      plan,
      targets: POD_TARGETS,
      baseline: BASELINE,
      warnings: ctx.warnings,
      latency,
      ...(churn !== undefined ? { churn } : {}),
      throughput,
      ...(memory !== undefined ? { memory } : {}),
      lostPods,
      watchRestarts: tracker.restarts,
      machine: machineFigures(start, ctx.otherShares),
      startup: env.startup,
    };
    await publishResults(name, report, podsMarkdown(report), stop);
    return 0;
  } finally {
    await stop();
  }
}

runMain(main, log);
