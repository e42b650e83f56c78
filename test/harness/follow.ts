// A long-running kubectl (logs -f, attach, port-forward) whose output a test waits on.
import { spawn, type ChildProcess } from 'node:child_process';
import { findKubectl } from '../../src/local/kubectl.ts';

export interface Followed {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the output matches `re`; calls `onTick` between polls (to produce output). */
  waitFor(re: RegExp, onTick?: () => void, ms?: number): Promise<void>;
}

/** Starts `kubectl --kubeconfig <kubeconfig> ...args`, killed when the test ends. */
export function followKubectl(
  t: { teardown(fn: () => void): void },
  kubeconfig: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Followed {
  const child = spawn(findKubectl(), ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  t.teardown(() => { child.kill('SIGKILL'); });
  return {
    child,
    output: () => out,
    async waitFor(re, onTick, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms; output:\n${out}`);
        if (child.exitCode !== null) throw new Error(`kubectl exited ${child.exitCode}: ${out}`);
        onTick?.();
        await new Promise((res) => setTimeout(res, 300));
      }
    },
  };
}
