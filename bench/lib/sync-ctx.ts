// The context every scenario of the pod and service benchmarks runs in (pods-scenarios.ts,
// services-scenarios.ts, create-latency.ts): the environment and the plan, the run's names, and
// what the run gathers across its scenarios (outside load, warnings, the retry budget).
import type { PodsEnv } from './pods-env.ts';
import type { RoundsCtx } from './rounds.ts';

export interface SyncCtx<Plan extends { readonly rounds: number }, Tracker> extends RoundsCtx {
  env: PodsEnv;
  plan: Plan;
  /** The run's watches on both sides. */
  tracker: Tracker;
  /** The value of the run label every object of the run carries. */
  runLabel: string;
  /** The synced namespace this run created. */
  namespace: string;
  /** A namespace of the host cluster, outside vcnet's, for the host-create reference. */
  hostScratchNamespace: string;
  signal: AbortSignal;
  log: (m: string) => void;
  retryLeftMs: number;
  /** Per measured run: the share of all cores used by processes outside the benchmark. */
  otherShares: number[];
  warnings: string[];
  /** A counter that makes every name of the run unique. */
  seq: number;
}
