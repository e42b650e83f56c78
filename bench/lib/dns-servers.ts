// The DNS servers the benchmark compares, each a child process of its own (so its memory and CPU
// are read from /proc/<pid> and nothing it does shares an event loop with the load generator):
// CoreDNS with the Corefile vCluster generates (vcluster-networking.md §7.1), with and without its
// `cache`, vcnet's DNS server (dns-vcnet.ts), and a trivial responder for the generator's ceiling.
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePorts, httpCall } from '../../src/local/net.ts';
import { logTail, sleep, spawnLogged, stopProcesses, type SpawnedProcess } from '../../src/local/process.ts';

export interface DnsServerProcess {
  /** "vcnet", "coredns", "coredns-nocache", "echo". */
  readonly id: string;
  readonly port: number;
  readonly pid: number;
  /** From spawning to ready (CoreDNS: /ready of its `ready` plugin, i.e. its informers synced). */
  readonly readyMs: number;
  readonly logFile: string | undefined;
  stop(): Promise<void>;
}

export interface CoreDNSVariant {
  id: string;
  /** vCluster's Corefile has `cache 30` (§7.1); the variant without it shows the kubernetes plugin alone. */
  cache: boolean;
}

export const COREDNS_VARIANTS: readonly CoreDNSVariant[] = [
  { id: 'coredns', cache: true },
  { id: 'coredns-nocache', cache: false },
];

/**
 * The server block vCluster generates (§7.1), minus what would leave loopback or is not DNS:
 * `forward` (every query of the benchmark is inside the zone), `health` and `prometheus` (HTTP
 * endpoints), `hosts` (NodeHosts), `loop` and `reload`. `ready` stays: it says when the
 * kubernetes plugin has synced. `loadbalance` only shuffles A records, as vCluster's does.
 */
export function corefile(opts: { port: number; readyPort: number; kubeconfig: string; cache: boolean }): string {
  return [
    `.:${opts.port} {`,
    '    bind 127.0.0.1',
    '    errors',
    `    ready 127.0.0.1:${opts.readyPort}`,
    '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
    `        kubeconfig ${opts.kubeconfig}`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '    }',
    ...(opts.cache ? ['    cache 30'] : []),
    '    loadbalance',
    '}',
    '',
  ].join('\n');
}

export async function startCoreDNS(opts: { binary: string; variant: CoreDNSVariant; kubeconfig: string; workDir: string; timeoutMs?: number }): Promise<DnsServerProcess> {
  const [port, readyPort] = await freePorts(2) as [number, number];
  const conf = join(opts.workDir, `Corefile.${opts.variant.id}`);
  writeFileSync(conf, corefile({ port, readyPort, kubeconfig: opts.kubeconfig, cache: opts.variant.cache }));
  const logFile = join(opts.workDir, `${opts.variant.id}.log`);
  const t0 = performance.now();
  const proc = spawnLogged({ name: opts.variant.id, binary: opts.binary, args: ['-conf', conf], logFile, cwd: opts.workDir });
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  for (;;) {
    if (proc.exit !== undefined) throw new Error(`${opts.variant.id} exited (${proc.exit.signal ?? `code ${proc.exit.code}`}) before it was ready:\n${logTail(logFile)}`);
    const r = await httpCall(`http://127.0.0.1:${readyPort}/ready`, { timeoutMs: 1000 }).catch(() => undefined);
    if (r?.status === 200) break;
    if (performance.now() > deadline) {
      await stopProcesses([proc]);
      throw new Error(`${opts.variant.id} was not ready within ${opts.timeoutMs ?? 120_000} ms:\n${logTail(logFile)}`);
    }
    await sleep(20);
  }
  return server(opts.variant.id, port, proc, performance.now() - t0, logFile);
}

/** vcnet's DNS server (ClusterIndex + ClusterResolver + DnsServer) reading the virtual cluster through `kubeconfig`. */
export async function startVcnetDns(opts: { kubeconfig: string; workDir: string; timeoutMs?: number; cpuProfileDir?: string }): Promise<DnsServerProcess> {
  const [port] = await freePorts(1) as [number];
  const logFile = join(opts.workDir, 'vcnet-dns.log');
  const t0 = performance.now();
  // A V8 CPU profile (written when the process exits) shows where vcnet's time per query goes.
  const execArgv = opts.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`];
  const child = forkEntry('dns-vcnet.ts', ['--kubeconfig', opts.kubeconfig, '--port', String(port)], logFile, execArgv);
  await readyMessage(child, 'vcnet', opts.timeoutMs ?? 120_000, logFile);
  return childServer('vcnet', port, child, performance.now() - t0, logFile);
}

/** The trivial responder (dns-echo.ts). */
export async function startEcho(workDir: string): Promise<DnsServerProcess> {
  const logFile = join(workDir, 'echo.log');
  const t0 = performance.now();
  const child = forkEntry('dns-echo.ts', [], logFile);
  const { port } = await readyMessage(child, 'echo', 10_000, logFile);
  return childServer('echo', port, child, performance.now() - t0, logFile);
}

function server(id: string, port: number, proc: SpawnedProcess, readyMs: number, logFile: string): DnsServerProcess {
  return { id, port, pid: proc.pid, readyMs, logFile, stop: async () => { await stopProcesses([proc], { timeoutMs: 5000 }); } };
}

function forkEntry(file: string, args: string[], logFile: string, execArgv: string[] = []): ChildProcess {
  writeFileSync(logFile, '', { flag: 'a' });
  // Node's own stdio goes to the log through a pipe we copy, since fork() cannot take a file path.
  const child = fork(resolve(import.meta.dirname, file), args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv });
  const append = (d: Buffer): void => { writeFileSync(logFile, d, { flag: 'a' }); };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return child;
}

function readyMessage(child: ChildProcess, id: string, timeoutMs: number, logFile: string): Promise<{ port: number }> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${id} was not ready within ${timeoutMs} ms:\n${logTail(logFile)}`)); }, timeoutMs);
    child.once('message', (m: { port: number }) => { clearTimeout(timer); resolvePromise(m); });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${id} exited (${signal ?? `code ${code}`}) before it was ready:\n${logTail(logFile)}`)); });
  });
}

function childServer(id: string, port: number, child: ChildProcess, readyMs: number, logFile: string): DnsServerProcess {
  return {
    id, port, pid: child.pid as number, readyMs, logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
