// The vcnet of the services benchmark, which the restart scenario stops (SIGTERM or SIGKILL) and
// starts again with the same configuration and ports, as a Deployment's replacement pod would be.
// The environment itself is the pod benchmark's (pods-env.ts: startPodsEnv); this keeps track of
// which vcnet process is the current one, so CPU and memory figures read the right /proc entry and
// the run stops the right process at the end.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isPidAlive, stopProcesses, type SpawnedProcess } from '../../src/local/process.ts';
import { launchVcnet } from './env.ts';
import type { PodsEnv } from './pods-env.ts';

export interface Stopped {
  signal: 'SIGTERM' | 'SIGKILL';
  /** From sending the signal to the process being gone. */
  exitMs: number;
}

export interface Restarted {
  /** performance.now() and Date.now() just before the spawn. */
  spawnedAt: number;
  spawnedWallMs: number;
  /** From the spawn to /readyz answering 200. */
  readyMs: number;
  pid: number;
  /** What vcnet logged from the spawn on (its JSON lines), for the milestones of its start-up. */
  logFrom: number;
}

export class VcnetProcess {
  readonly #env: PodsEnv;
  readonly #configFile: string;
  readonly #logFile: string;
  readonly #healthPort: number;
  /** The processes this class started (the first one belongs to the environment's stop()). */
  readonly #ours: SpawnedProcess[] = [];

  constructor(env: PodsEnv, workDir: string) {
    if (!env.ownsPlanes || env.metricsUrl === undefined) throw new Error('only a vcnet this run started can be restarted');
    this.#env = env;
    this.#configFile = join(workDir, 'vcnet.yaml');
    this.#logFile = join(workDir, 'vcnet.log');
    this.#healthPort = Number(new URL(env.metricsUrl).port);
  }

  get pid(): number {
    return this.#env.vcnetPid;
  }

  get logFile(): string {
    return this.#logFile;
  }

  /** Sends `signal` to the current vcnet and resolves once it is gone (SIGKILL after 30 s of SIGTERM). */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<Stopped> {
    const pid = this.#env.vcnetPid;
    const t0 = performance.now();
    process.kill(pid, signal);
    while (isPidAlive(pid)) {
      if (performance.now() - t0 > 30_000) {
        process.kill(pid, 'SIGKILL');
        throw new Error(`vcnet (pid ${pid}) did not stop within 30 s of ${signal}; killed`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return { signal, exitMs: performance.now() - t0 };
  }

  /**
   * Starts vcnet again (same config file, ports and log) and resolves once it is ready. `onSpawn`
   * runs as soon as the process exists, already counted as the current vcnet (its pid in
   * `env.vcnetPid` and the "vcnet" CPU group).
   */
  async start(onSpawn?: (spawnedAt: number) => void): Promise<Restarted> {
    const logFrom = statSync(this.#logFile, { throwIfNoEntry: false })?.size ?? 0;
    const spawnedWallMs = Date.now();
    const spawnedAt = performance.now();
    const { proc, readyMs } = await launchVcnet({
      configFile: this.#configFile, logFile: this.#logFile, healthPort: this.#healthPort,
      onSpawn: (p) => {
        this.#ours.push(p);
        this.#env.vcnetPid = p.pid;
        this.#env.pids.set('vcnet', [p.pid]);
        onSpawn?.(spawnedAt);
      },
    });
    return { spawnedAt, spawnedWallMs, readyMs, pid: proc.pid, logFrom };
  }

  /** Stops what this class started (the environment stops the first vcnet). */
  async close(log: (m: string) => void): Promise<void> {
    await stopProcesses(this.#ours, { timeoutMs: 10_000, log });
  }

  /**
   * When vcnet logged each of `messages` (the first line whose msg starts with it) after `from`
   * bytes of its log, in ms after `wallMs`; NaN when it did not. vcnet's pino writes `time` as an
   * ISO timestamp (src/observability/logger.ts); epoch ms, pino's default, is read too.
   */
  milestones(from: number, wallMs: number, messages: Record<string, string>): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(Object.keys(messages).map((k) => [k, Number.NaN]));
    let text = '';
    try {
      const size = statSync(this.#logFile).size;
      const fd = openSync(this.#logFile, 'r');
      try {
        const buf = Buffer.alloc(Math.max(0, size - from));
        readSync(fd, buf, 0, buf.length, from);
        text = buf.toString('utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let rec: { time?: number | string; msg?: string };
      try {
        rec = JSON.parse(line) as { time?: number | string; msg?: string };
      } catch {
        continue;
      }
      const time = typeof rec.time === 'string' ? Date.parse(rec.time) : rec.time;
      if (time === undefined || !Number.isFinite(time) || typeof rec.msg !== 'string') continue;
      for (const [id, msg] of Object.entries(messages)) {
        if (Number.isNaN(out[id]) && rec.msg.startsWith(msg)) out[id] = time - wallMs;
      }
    }
    return out;
  }
}
