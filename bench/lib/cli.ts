// What the benchmark commands (npm run bench, bench:pods, bench:services, bench:dns) share around
// their measurements: the progress log, the flags every one takes (--quick, --rounds, --name,
// --help, and --only where a command has scenarios to pick), a working directory, stopping what a
// run started on SIGINT or SIGTERM, and main()'s exit code.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** Progress lines go to stderr, `[bench:pods 12:34:56] ...`: stdout carries only the summary. */
export function benchLog(script: string): (m: string) => void {
  return (m) => { process.stderr.write(`[${script} ${new Date().toISOString().slice(11, 19)}] ${m}\n`); };
}

const BASE_OPTIONS = {
  quick: { type: 'boolean' },
  rounds: { type: 'string' },
  name: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const COMMON_OPTIONS = { ...BASE_OPTIONS, only: { type: 'string' } } as const;

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: typeof COMMON_OPTIONS & O; strict: true; allowPositionals: false }>>['values'];

export interface CommonFlags<V> {
  /** All that parseArgs found, the command's own flags included. */
  values: V;
  quick: boolean;
  /** --rounds (1 to 20) when given; the plan's own otherwise. */
  rounds: number | undefined;
  /** --only, or every scenario (none for a command without scenarios). */
  only: ReadonlySet<string>;
  /** The results file name: --name, or `<default>` (`<default>-quick` with --quick). */
  name: string;
}

/**
 * The common flags and the command's own `options`, strictly: an unknown flag or an argument is an
 * error. Returns a message for the user when a flag is wrong, '' for --help (see usageExit). The
 * command checks its own flags' values after these. A command that leaves `scenarios` out
 * (bench:dns: it picks servers and query mixes with flags of its own) takes no --only.
 */
export function parseBenchFlags<const O extends ParseArgsOptionsConfig>(
  argv: string[], options: O, o: { scenarios?: readonly string[]; defaultName: string },
): CommonFlags<Values<O>> | string {
  const scenarios = o.scenarios ?? [];
  let values: Values<O>;
  try {
    // Without scenarios --only is left out of the options, so parseArgs rejects it as unknown.
    const common = o.scenarios === undefined ? BASE_OPTIONS : COMMON_OPTIONS;
    ({ values } = parseArgs({ args: argv, options: { ...common, ...options }, strict: true, allowPositionals: false }));
  } catch (err) {
    return (err as Error).message;
  }
  // The common flags' types, which TypeScript cannot see through Values<O> inside this function.
  const common = values as { quick?: boolean; rounds?: string; only?: string; name?: string; help?: boolean };
  if (common.help === true) return '';
  const quick = common.quick === true;
  const rounds = intFlag(common.rounds, 'rounds', 1, 20);
  if (typeof rounds === 'string') return rounds;
  const only = new Set((common.only ?? scenarios.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== ''));
  for (const s of only) if (!scenarios.includes(s)) return `--only: unknown scenario "${s}" (choose from ${scenarios.join(', ')})`;
  const name = common.name ?? (quick ? `${o.defaultName}-quick` : o.defaultName);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return `--name must be a plain file name (letters, digits, . _ -), got "${name}"`;
  return { values, quick, rounds, only, name };
}

/** An integer flag from `min` to `max`: the number, undefined when not given, or a message. */
export function intFlag(v: string | undefined, name: string, min: number, max: number): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be an integer from ${min} to ${max}, got "${v}"`;
}

/**
 * A comma-separated subset of `all` (every one when not given), in the order given, each once: the
 * items, or a message for the user.
 */
export function listFlag<T extends string>(v: string | undefined, name: string, all: readonly T[]): T[] | string {
  const items = [...new Set((v ?? all.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  for (const s of items) if (!(all as readonly string[]).includes(s)) return `--${name}: unknown "${s}" (choose from ${all.join(', ')})`;
  return items.length === 0 ? `--${name} is empty` : items as T[];
}

/** main()'s answer to parseBenchFlags' message: the usage on stdout for --help (exit 0), else the message and the usage on stderr (exit 2). */
export function usageExit(script: string, message: string, usage: string): number {
  if (message === '') {
    process.stdout.write(usage);
    return 0;
  }
  process.stderr.write(`${script}: ${message}\n\n${usage}`);
  return 2;
}

/** A fresh working directory; `ownPlanes`: the log says how to stop the control planes should the run be killed with SIGKILL. */
export function makeWorkDir(prefix: string, ownPlanes: boolean, log: (m: string) => void): string {
  const workDir = mkdtempSync(join(tmpdir(), prefix));
  log(`working directory ${workDir}${ownPlanes ? `; should this run be killed with SIGKILL, stop its control planes with \`npx vcnet down --state-dir ${join(workDir, 'env-state')}\`` : ''}`);
  return workDir;
}

export interface Interruptible {
  /** Aborted by SIGINT or SIGTERM. Checked before every run, so an interrupted benchmark stops sending instead of failing on. */
  readonly signal: AbortSignal;
  /** Runs the teardown once, however often it is called: at the end of main(), in its finally, on a signal. */
  stop(): Promise<void>;
}

/** SIGINT and SIGTERM abort the run, run `teardown` and exit 130; a second signal while stopping exits at once. */
export function stopOnSignals(teardown: () => Promise<void>, log: (m: string) => void): Interruptible {
  let stopping: Promise<void> | undefined;
  const interrupted = new AbortController();
  const stop = (): Promise<void> => (stopping ??= teardown());
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
    // vcnet dies with us even then (parent-death signal); the control planes are detached.
    process.once(signal, () => process.exit(130));
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { signal: interrupted.signal, stop };
}

/** Runs `main` on the command line's arguments: its result is the exit code; an exception is logged with its stack and exits 1. */
export function runMain(main: (argv: string[]) => Promise<number>, log: (m: string) => void): void {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      log(`failed: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = 1;
    },
  );
}
