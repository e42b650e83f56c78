// Interleaved rounds, as every benchmark here measures (bench/README.md, "Disturbed rounds"): a
// round is one run per path, and the order rotates every round (direct, proxy; then proxy,
// direct; or with four paths direct, webhook, proxy, host; then webhook, proxy, host, direct; ...)
// so slow drift on the machine (GC, caches, a neighbour) hits every path alike. A round during
// which processes outside the benchmark took more than DISTURBED_SHARE of the cores is kept in the
// JSON but not used, and run again: up to `rounds` extra rounds, while the run's retry budget
// lasts. If no round was clean, all are used (and the report says so).
import { performance } from 'node:perf_hooks';
import { DISTURBED_SHARE, type RoundCount } from './report.ts';

/** What the rounds need of a scenario's context. */
export interface RoundsCtx {
  readonly plan: { readonly rounds: number };
  /** Time left for running disturbed rounds again, shared by all scenarios of the run. */
  retryLeftMs: number;
  readonly signal: AbortSignal;
  readonly log: (m: string) => void;
}

/** What the rounds need of a run. */
export interface RoundRun {
  /** The share of all cores used by processes outside the benchmark during the run. */
  othersShare: number;
  /** Whether the figures use the run; set here. */
  used: boolean;
}

export interface Rounds<P extends string, R> {
  /** Every run, in the order run. */
  runs: R[];
  /** The same by path, each in round order. */
  byPath: Record<P, R[]>;
  rounds: RoundCount;
}

/** How a disturbed round's outside load is logged, by default: the worst run's. */
function upTo<P extends string, R extends RoundRun>(round: ReadonlyMap<P, R>): string {
  return `outside load up to ${(Math.max(...[...round.values()].map((r) => r.othersShare)) * 100).toFixed(0)}% of all cores`;
}

/** Rounds of `run` on every one of `paths` (`label` names them in the log); `round` counts from 0. */
export async function interleavedRounds<P extends string, R extends RoundRun>(
  ctx: RoundsCtx,
  label: string,
  paths: readonly P[],
  run: (path: P, round: number) => Promise<R>,
  outsideLoad: (round: ReadonlyMap<P, R>) => string = upTo,
): Promise<Rounds<P, R>> {
  const { rounds } = ctx.plan;
  const runs: R[] = [];
  const byPath = Object.fromEntries(paths.map((p) => [p, [] as R[]])) as Record<P, R[]>;
  let clean = 0;
  let round = 0;
  while (clean < rounds && (round < rounds || (round < 2 * rounds && ctx.retryLeftMs > 0))) {
    const started = performance.now();
    const these = new Map<P, R>();
    for (const path of paths.map((_, i) => paths[(i + round) % paths.length] as P)) {
      ctx.signal.throwIfAborted();
      these.set(path, await run(path, round));
    }
    if (round >= rounds) ctx.retryLeftMs -= performance.now() - started;
    round++;
    if ([...these.values()].some((r) => r.othersShare > DISTURBED_SHARE)) {
      for (const r of these.values()) r.used = false;
      ctx.log(`${label} round ${round}: disturbed (${outsideLoad(these)}); kept in the JSON, not used`);
    } else {
      clean++;
    }
    for (const [path, r] of these) {
      runs.push(r);
      byPath[path].push(r);
    }
  }
  if (clean === 0) for (const r of runs) r.used = true;
  return { runs, byPath, rounds: { run: round, clean } };
}
