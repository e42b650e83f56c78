// `npm run bench:pods`: vcnet's pod sync (issue 3) measured in one run — pod create latency through
// vcnet against the same API server without vcnet, status lag under churn, sustained creation, and
// vcnet's memory with thousands of synced pods. Writes bench/results/<name>.{json,md}, prints the
// markdown and stops everything it started. What each figure means: bench/README.md, "Pods".
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KUBE_VERSION } from '../src/local/build.ts';
import { RssSampler } from './lib/procstat.ts';
import { addHostNodes, removeNodes, startPodsEnv, type PodsEnv } from './lib/pods-env.ts';
import { endpointAgent, mustCall, request, statusMessage, type Endpoint } from './lib/pods-http.ts';
import { POD_TARGETS, podsMarkdown, type PodsPlan, type PodsReport } from './lib/pods-report.ts';
import {
  EXCLUDED_NAMESPACE, lostCount, measureChurn, measureCreateLatency, measureMemory, measureThroughput, RUN_LABEL_KEY, type PodsCtx,
} from './lib/pods-scenarios.ts';
import { PodTracker } from './lib/pods-watch.ts';
import { median } from './lib/stats.ts';

const RESULTS = resolve(import.meta.dirname, 'results');
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

const log = (m: string): void => { process.stderr.write(`[bench:pods ${new Date().toISOString().slice(11, 19)}] ${m}\n`); };

interface Flags {
  quick: boolean;
  plan: PodsPlan;
  only: ReadonlySet<string>;
  stateDir: string | undefined;
  name: string;
}

function parseFlags(argv: string[]): Flags | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        rounds: { type: 'string' },
        only: { type: 'string' },
        'memory-pods': { type: 'string' },
        'churn-rate': { type: 'string' },
        'state-dir': { type: 'string' },
        name: { type: 'string' },
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
  const base = quick ? QUICK : FULL;
  const plan: PodsPlan = { ...base, churn: { ...base.churn }, throughput: { ...base.throughput }, memory: { ...base.memory } };
  if (values.rounds !== undefined) {
    const n = Number(values.rounds);
    if (!Number.isInteger(n) || n < 1 || n > 20) return `--rounds must be an integer from 1 to 20, got "${values.rounds}"`;
    plan.rounds = n;
  }
  if (values['memory-pods'] !== undefined) {
    const n = Number(values['memory-pods']);
    if (!Number.isInteger(n) || n < 1 || n > 20000) return `--memory-pods must be an integer from 1 to 20000, got "${values['memory-pods']}"`;
    plan.memory.pods = n;
  }
  if (values['churn-rate'] !== undefined) {
    const n = Number(values['churn-rate']);
    if (!Number.isFinite(n) || n <= 0 || n > 200) return `--churn-rate must be a number of pods per second from 0 to 200, got "${values['churn-rate']}"`;
    plan.churn.ratePerSec = n;
  }
  const only = new Set((values.only ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== ''));
  for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) return `--only: unknown scenario "${s}" (choose from ${SCENARIOS.join(', ')})`;
  const name = values.name ?? (quick ? 'pods-quick' : 'pods');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return `--name must be a plain file name (letters, digits, . _ -), got "${name}"`;
  return { quick, plan, only, stateDir: values['state-dir'], name };
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

/** The tail of our vcnet's log (the working directory goes), for a look at what it did under load. */
function keepVcnetLog(workDir: string, name: string): void {
  const file = join(workDir, 'vcnet.log');
  if (!existsSync(file)) return;
  const size = statSync(file).size;
  const keep = 4 * 2 ** 20;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, keep));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, `${name}-vcnet.log`), buf);
    log(`vcnet's log${size > keep ? ' (its last 4 MiB)' : ''}: bench/results/${name}-vcnet.log`);
  } finally {
    closeSync(fd);
  }
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') {
    if (flags === '') { process.stdout.write(USAGE); return 0; }
    process.stderr.write(`bench:pods: ${flags}\n\n${USAGE}`);
    return 2;
  }
  const { plan, only, name } = flags;
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAverageStart = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'vcnet-bench-pods-'));
  log(`working directory ${workDir}${flags.stateDir === undefined ? `; should this run be killed with SIGKILL, stop its control planes with \`npx vcnet down --state-dir ${join(workDir, 'env-state')}\`` : ''}`);

  let env: PodsEnv | undefined;
  let starting: Promise<PodsEnv> | undefined;
  let tracker: PodTracker | undefined;
  let namespace: string | undefined;
  const hostNodes: string[] = [];
  let stopping: Promise<void> | undefined;
  const interrupted = new AbortController();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
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
      keepVcnetLog(workDir, name);
      rmSync(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
    process.once(signal, () => process.exit(130));
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    starting = startPodsEnv({ workDir, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}), log });
    env = await starting;
    interrupted.signal.throwIfAborted();
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
      env, plan, tracker, runLabel, namespace, hostScratchNamespace: namespace, signal: interrupted.signal, log,
      retryLeftMs: plan.retryBudgetMs, otherShares: [], warnings: [], seq: 0,
    };

    const idle = new RssSampler(env.vcnetPid, 100);
    await new Promise((r) => setTimeout(r, 3000));
    const idleMiB = idle.stop().lastMiB;
    log(`vcnet RSS idle ${idleMiB.toFixed(1)} MiB`);

    // Memory first, while vcnet's heap has seen nothing else: RSS rarely shrinks, so after the
    // other scenarios "before" would carry their high-water mark.
    const watching = tracker;
    const phase = async <T>(id: string, run: () => Promise<T>): Promise<T> => {
      watching.phase = id;
      try {
        return await run();
      } finally {
        watching.phase = 'between scenarios';
      }
    };
    const memory = only.has('memory') ? await phase('memory', () => measureMemory(ctx, idleMiB)) : undefined;
    const latency = only.has('latency') ? await phase('latency', () => measureCreateLatency(ctx)) : [];
    const churn = only.has('churn') ? await phase('churn', () => measureChurn(ctx)) : undefined;
    const throughput = only.has('throughput') ? await phase('throughput', () => measureThroughput(ctx)) : [];

    const lostPods = lostCount(ctx);
    if (lostPods > 0) {
      const gc = podGcDeletions(env, namespace);
      ctx.warnings.push(`${lostPods} virtual pods of this run were deleted by something other than the benchmark${gc.count > 0 ? `: the virtual kube-controller-manager's PodGC force-deleted ${gc.count} pods of ${namespace} (${gc.logFile}; e.g. \`${gc.example}\`). PodGC deletes pods bound to a Node the virtual cluster does not have, 40 s after it notices (pkg/controller/podgc gcOrphaned): vcnet's NodeMirror should have created those Nodes` : ''}.`);
    }
    if (tracker.restarts.length > 0) {
      const list = tracker.restarts.slice(0, 5).map((r) => `${r.atSeconds} s, ${r.phase}: ${r.message}`).join('; ');
      ctx.warnings.push(`the benchmark's pod watches were reopened ${tracker.restarts.length} times (${list}${tracker.restarts.length > 5 ? '; ...' : ''}). They resume from the last resourceVersion seen, so no event is lost, but events around a reopen arrive late: the kube-apiserver closes a watch whose client falls behind.`);
    }

    const report: PodsReport = {
      name,
      command: `npm run bench:pods${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      startedAt: startedAt.toISOString(),
      durationSeconds: (performance.now() - t0) / 1000,
      quick: flags.quick,
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
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryMiB: totalmem() / 2 ** 20,
        node: process.version,
        kubernetes: KUBE_VERSION,
        loadAverageStart,
        loadAverageEnd: loadavg(),
        otherCpuShare: { median: median(ctx.otherShares), max: ctx.otherShares.length === 0 ? Number.NaN : Math.max(...ctx.otherShares) },
      },
      startup: env.startup,
    };
    const md = podsMarkdown(report);
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
