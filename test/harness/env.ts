// What a test needs from the shared environment: kubeconfigs, kubectl, users, and its own proxies.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCert, type KeyPair } from '../../src/certs/index.ts';
import { readEnvState, type LocalEnvState } from '../../src/local/env.ts';
import { findKubectl } from '../../src/local/kubectl.ts';
import { readEndpoints, type Endpoints } from '../../src/cli/paths.ts';
import { writeKubeconfig, type KubeconfigUser } from '../../src/local/kubeconfig.ts';
import { TEST_STATE_DIR } from './paths.ts';
import { ensureSharedEnv } from './shared-env.ts';

export interface TestEnv {
  state: LocalEnvState;
  endpoints: Endpoints;
  kubectl: string;
  /** Admin on the host control plane, directly. */
  hostKubeconfig: string;
  /** Admin on the virtual kube-apiserver, directly (bypassing vcnet). */
  virtualKubeconfig: string;
  /** Admin through the vcnet that `vcnet up` started. */
  proxyKubeconfig: string;
}

let cached: TestEnv | undefined;

/** The shared environment, started on first use (shared-env.ts). */
export async function testEnv(): Promise<TestEnv> {
  if (cached !== undefined) return cached;
  await ensureSharedEnv();
  const state = readEnvState(TEST_STATE_DIR);
  const endpoints = readEndpoints(TEST_STATE_DIR);
  if (state === undefined || endpoints === undefined) {
    throw new Error(`no test environment in ${TEST_STATE_DIR}`);
  }
  cached = {
    state, endpoints, kubectl: findKubectl(),
    hostKubeconfig: state.kubeconfigs.host,
    virtualKubeconfig: state.kubeconfigs.virtualDirect,
    proxyKubeconfig: join(TEST_STATE_DIR, 'kubeconfig'),
  };
  return cached;
}

export interface Run { code: number; stdout: string; stderr: string }

/** Runs the real kubectl; never throws on a non-zero exit (tests assert on it). */
export function kubectl(kubeconfig: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cached?.kubectl ?? findKubectl(), ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
    // Always close stdin: kubectl prompts for a user name on 401 when stdin stays open.
    child.stdin?.end(opts.input);
  });
}

/** A temp dir removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'vcnet-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A client certificate for `user`, signed by the CA of the given plane (its API server trusts it). */
export async function clientCert(plane: 'virtual' | 'host', user: string, groups: string[] = []): Promise<KeyPair> {
  return issueCert((await testEnv()).state[plane].ca, { commonName: user, organizations: groups, usages: ['client'] });
}

/** Writes a kubeconfig for `server` (trusting `caPem`) as the given user; returns its path. */
export function writeUserKubeconfig(dir: string, name: string, server: string, caPem: string, user: KubeconfigUser): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeKubeconfig(path, { name, server, caPem, userName: name, user });
  return path;
}

let counter = 0;
/** A namespace name unique to this test process. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${(counter++).toString(36)}`;
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
