// The control planes and vcnet are started ONCE per test run, by whichever test file needs them
// first, and shared by all files (separate processes) — tests isolate by namespace. A lock file
// makes the start happen once; tap's `after` script (after.ts) stops what was started. Unit-test
// runs never start anything.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../../src/cli/up.ts';
import { readEndpoints } from '../../src/cli/paths.ts';
import { downEnv, readEnvState } from '../../src/local/env.ts';
import { isPidAlive, isSameProcess, sleep } from '../../src/local/process.ts';
import { TEST_STATE_DIR } from './paths.ts';

const LOCK = join(TEST_STATE_DIR, 'starting.lock');
const FAILED = join(TEST_STATE_DIR, 'start-failed.txt');

const log = (m: string): void => { process.stderr.write(`# [test env] ${m}\n`); };

function isReady(): boolean {
  const state = readEnvState(TEST_STATE_DIR);
  return state !== undefined && readEndpoints(TEST_STATE_DIR) !== undefined && state.processes.every(isSameProcess);
}

export async function ensureSharedEnv(timeoutMs = 15 * 60_000): Promise<void> {
  mkdirSync(TEST_STATE_DIR, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isReady()) return;
    if (existsSync(FAILED)) throw new Error(`the shared test environment failed to start:\n${readFileSync(FAILED, 'utf8')}`);
    let fd: number | undefined;
    try {
      fd = openSync(LOCK, 'wx');
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && !isPidAlive(holder)) { rmSync(LOCK, { force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for process ${holder} to start the shared test environment`);
      await sleep(500);
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    try {
      if (isReady()) return;
      if (readEnvState(TEST_STATE_DIR) !== undefined) await downEnv({ stateDir: TEST_STATE_DIR, log });
      const started = Date.now();
      // Short grace periods, so tests see garbage collected within seconds (defaults: docs/configuration.md).
      await up({ stateDir: TEST_STATE_DIR, certsDir: join(TEST_STATE_DIR, 'certs'), log, config: { vcnet: { sync: { orphanGraceSeconds: 3 } } } });
      log(`started in ${Date.now() - started} ms`);
      return;
    } catch (err) {
      mkdirSync(TEST_STATE_DIR, { recursive: true });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(FAILED, (err as Error).stack ?? String(err));
      throw err;
    } finally {
      rmSync(LOCK, { force: true });
    }
  }
}

export async function stopSharedEnv(): Promise<string[]> {
  const { stopped } = await downEnv({ stateDir: TEST_STATE_DIR, log });
  rmSync(FAILED, { force: true });
  return stopped;
}
