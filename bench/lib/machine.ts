// The machine a benchmark ran on, as every report records it: one machine runs the load
// generator, vcnet and both control planes, so figures compare within a run, not across machines,
// and the CPU that processes outside the benchmark took during the measured runs says how much
// to trust them (bench/README.md, "Disturbed rounds").
import { cpus, loadavg, totalmem } from 'node:os';
import { KUBE_VERSION } from '../../src/local/build.ts';
import type { RunStart } from './results.ts';
import { median } from './stats.ts';

export interface MachineFigures {
  cpus: number;
  cpuModel: string;
  memoryMiB: number;
  node: string;
  kubernetes: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
  /** Share of all cores used during measured runs by processes that are not the benchmark's (client, vcnet, control planes). */
  otherCpuShare: { median: number; max: number };
}

/** Read at the end of a run: `otherShares` holds the outside load of each measured run. */
export function machineFigures(start: RunStart, otherShares: readonly number[]): MachineFigures {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMiB: totalmem() / 2 ** 20,
    node: process.version,
    kubernetes: KUBE_VERSION,
    loadAverageStart: start.loadAverageStart,
    loadAverageEnd: loadavg(),
    otherCpuShare: { median: median(otherShares), max: otherShares.length === 0 ? Number.NaN : Math.max(...otherShares) },
  };
}
