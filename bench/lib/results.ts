// Where a benchmark's results go and what every report says about its run. A run writes
// bench/results/<name>.json (every figure) and <name>.md (the summary it also prints); the pod and
// service benchmarks add <name>-vcnet.log, the tail of the log of the vcnet they started, since
// their working directory (and the log in it) is removed at the end.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

export const RESULTS_DIR = resolve(import.meta.dirname, '..', 'results');

/** Taken first thing in main(): the report's start time and duration, and the load average before the run. */
export interface RunStart {
  startedAt: Date;
  t0: number;
  loadAverageStart: number[];
}

export function runStart(): RunStart {
  return { startedAt: new Date(), t0: performance.now(), loadAverageStart: loadavg() };
}

/** The first fields of every report, in this order: which run, the command that made it, when, how long. */
export interface ReportHead {
  name: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
}

/** `script` is the npm script (`bench`, `bench:pods`, ...); the duration runs to this call. */
export function reportHead(start: RunStart, script: string, argv: readonly string[], name: string, quick: boolean): ReportHead {
  return {
    name,
    command: `npm run ${script}${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    startedAt: start.startedAt.toISOString(),
    durationSeconds: (performance.now() - start.t0) / 1000,
    quick,
  };
}

/**
 * Writes <name>.json and <name>.md, stops what the run started, then prints the markdown: last, so
 * the summary is what the terminal ends with rather than the teardown's log lines.
 */
export async function publishResults(name: string, report: unknown, md: string, stop: () => Promise<void>): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), `${md}\n`);
  await stop();
  process.stdout.write(`\n${md}\n\nWritten: bench/results/${name}.json, bench/results/${name}.md\n`);
}

/** Keeps the last 4 MiB of the run's vcnet log (`<workDir>/vcnet.log`) as <name>-vcnet.log, for a look at what vcnet did. */
export function keepVcnetLog(workDir: string, name: string, log: (m: string) => void): void {
  const file = join(workDir, 'vcnet.log');
  if (!existsSync(file)) return;
  const size = statSync(file).size;
  const keep = 4 * 2 ** 20;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, keep));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, `${name}-vcnet.log`), buf);
    log(`vcnet's log${size > keep ? ' (its last 4 MiB)' : ''}: bench/results/${name}-vcnet.log`);
  } finally {
    closeSync(fd);
  }
}
