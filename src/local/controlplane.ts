// Starts one real Kubernetes control plane on 127.0.0.1 from the binaries of build.ts.
// host:    etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (simulated nodes)
// virtual: etcd, kube-apiserver, kube-controller-manager (no scheduler, no nodes), like vCluster
// Flags and why: /work/shared/reference/control-plane.md §5-§6.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCA, issueCert } from '../certs/index.ts';
import type { KeyPair } from '../certs/index.ts';
import type { BinarySet } from './build.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { criLogLines, kwokDebugConfigYaml, kwokNode, kwokNodeName } from './kwok.ts';
import { freePorts, httpCall } from './net.ts';
import { logTail, sleep, spawnLogged, stopProcesses } from './process.ts';
import type { ProcessRecord, SpawnedProcess } from './process.ts';

export type { KeyPair } from '../certs/index.ts';

export interface TokenUser {
  user: string;
  groups?: string[];
  /** Generated when omitted. */
  token?: string;
}

export interface ControlPlaneSpec {
  name: string;
  role: 'host' | 'virtual';
  /** Working directory (data, pki, logs, kubeconfigs); created if missing, must be empty. See freshDir(). */
  dir: string;
  binaries: BinarySet;
  /** Host and virtual planes use the same one, so ClusterIPs can be copied from host to virtual. */
  serviceCIDR: string;
  /** Host only: kwok's pod IP pool (--cidr). Default 10.244.0.0/16. */
  podCIDR?: string;
  /** Host only: kwok nodes kwok-node-0..n-1, Ready. Default 2, at least 2. */
  nodes?: number;
  /** Processes survive the parent (for `vcnet up`); default false: they die with it. */
  detached?: boolean;
  log?: (msg: string) => void;
  /**
   * More bearer-token users. kube-apiserver reads --token-auth-file once at start, so users
   * cannot be added to a running plane: pass them here, or issue client certs with `ca`.
   */
  tokenUsers?: TokenUser[];
  /** Host only: where kwok sends `kubectl port-forward` to any pod. Default: kwok's own server (it answers GET /healthz). */
  portForwardTarget?: { address: string; port: number };
  /** Per-component readiness timeout; default 90 s. */
  readyTimeoutMs?: number;
  /** Delete `dir` after stop() (etcd preallocates 64 MB of WAL, in RAM on /dev/shm). Default false: logs are kept. */
  removeDirOnStop?: boolean;
}

export type PlaneProcess = ProcessRecord;

export interface KwokInfo {
  /** kwok's kubelet API (HTTPS and HTTP on one port), used by kube-apiserver for logs/exec/port-forward. */
  url: string;
  /** Served as the log of every container; append CRI lines with criLogLines() to add output. */
  logsFile: string;
  /** Streamed by `kubectl attach`: only lines appended after attaching (kwok tails it from the end). */
  attachFile: string;
  /** Working directory of `kubectl exec` commands, which run on this machine as this user. */
  execWorkDir: string;
  nodeNames: string[];
  podCIDR: string;
}

/** What is serialisable about a plane (state.json); ControlPlane adds the live handles. */
export interface ControlPlaneInfo {
  name: string;
  role: 'host' | 'virtual';
  dir: string;
  url: string;
  caFile: string;
  /** Private key of the cluster CA (local environments only). */
  caKeyFile: string;
  caPem: string;
  /** The cluster CA with its key, so vcnet can issue client certs for users (local env only). */
  ca: KeyPair;
  /** Client certificate CN=admin, O=system:masters. */
  adminKubeconfig: string;
  tokens: { admin: string } & Record<string, string>;
  tokenFile: string;
  serviceCIDR: string;
  processes: PlaneProcess[];
  /** Start-up time in ms per step (etcd, kube-apiserver, ..., total). */
  timings: Record<string, number>;
  /** name → URL of each listening component. */
  endpoints: Record<string, string>;
  kwok?: KwokInfo;
}

export interface ControlPlane extends ControlPlaneInfo {
  /** SIGTERM in reverse start order, SIGKILL after a timeout; only the processes it started. */
  stop(): Promise<void>;
}

/** A new empty directory under /dev/shm when writable (etcd writes are cheap on tmpfs), else the OS temp dir. */
export function freshDir(prefix: string): string {
  let base = tmpdir();
  try {
    accessSync('/dev/shm', constants.W_OK);
    base = '/dev/shm';
  } catch { /* no tmpfs: use the temp dir */ }
  return mkdtempSync(join(base, `${prefix}-`));
}

const DEFAULT_POD_CIDR = '10.244.0.0/16';
const READY_POLL_MS = 200;

interface Launch {
  name: string;
  binary: string;
  portCount: number;
  /** Builds the argument list for the given free ports (may write config files that embed them). */
  args: (ports: number[]) => string[];
  /** Resolves true once the component serves; false to keep polling. Errors keep polling too. */
  ready: (ports: number[]) => Promise<boolean>;
  env?: NodeJS.ProcessEnv;
  /** Last readiness detail, for the timeout message. */
  detail?: () => string;
}

export async function startControlPlane(spec: ControlPlaneSpec): Promise<ControlPlane> {
  const log = spec.log ?? (() => {});
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const dir = resolve(spec.dir);
  prepareDir(dir);
  const pki = join(dir, 'pki');
  const logs = join(dir, 'logs');
  for (const d of [pki, logs, join(dir, 'etcd'), join(dir, 'apiserver')]) mkdirSync(d, { recursive: true });
  const isHost = spec.role === 'host';
  const nodeCount = spec.nodes ?? 2;
  if (isHost && nodeCount < 2) throw new Error(`host plane ${spec.name}: nodes must be >= 2 (got ${nodeCount})`);
  const readyTimeoutMs = spec.readyTimeoutMs ?? 90_000;

  const creds = await makeCredentials(spec, pki);
  timings.pki = Date.now() - t0;

  const processes: SpawnedProcess[] = [];
  const endpoints: Record<string, string> = {};
  const stop = async () => {
    await stopProcesses(processes, { log });
    if (spec.removeDirOnStop) rmSync(dir, { recursive: true, force: true });
  };

  const launch = async (l: Launch): Promise<number[]> => {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(l.portCount);
      const logFile = join(logs, `${l.name}.log`);
      const proc = spawnLogged({
        name: l.name, binary: l.binary, args: l.args(ports), logFile, detached: spec.detached ?? false,
        env: l.env ?? process.env, ...(ports[0] !== undefined ? { port: ports[0] } : {}),
      });
      processes.push(proc);
      try {
        await waitReady(proc, () => l.ready(ports), readyTimeoutMs, l.detail);
        timings[l.name] = Date.now() - started;
        log(`${spec.name}: ${l.name} ready in ${Date.now() - started} ms (pid ${proc.pid})`);
        return ports;
      } catch (err) {
        // Another program may take a probed port before the component binds it.
        const collided = proc.exit !== undefined && /address already in use/.test(logTail(logFile, 50));
        if (!collided || attempt >= 3) throw err;
        processes.splice(processes.indexOf(proc), 1);
        log(`${spec.name}: ${l.name} lost a port race; retrying with new ports`);
      }
    }
  };

  try {
    const [etcdClient] = await launch({
      name: 'etcd', binary: spec.binaries.etcd, portCount: 2,
      args: ([client, peer]) => [
        `--name=${spec.name}`, `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=${spec.name}=http://127.0.0.1:${peer}`,
        // Test data: losing it on a crash is fine, fsync latency is not (envtest does the same).
        '--unsafe-no-fsync=true', '--log-level=warn',
      ],
      ready: async ([client]) => {
        const r = await httpCall(`http://127.0.0.1:${client}/health`);
        return r.status === 200 && /"health":\s*"true"/.test(r.body);
      },
    });
    endpoints.etcd = `http://127.0.0.1:${etcdClient}`;

    let lastReadyz = '';
    const [apiPort] = await launch({
      name: 'kube-apiserver', binary: spec.binaries.kubeApiserver, portCount: 1,
      args: ([port]) => apiserverArgs(spec, dir, creds, endpoints.etcd!, port!),
      ready: async ([port]) => {
        const r = await httpCall(`https://127.0.0.1:${port}/readyz?verbose`, { ca: creds.ca.certPem, token: creds.tokens.admin });
        lastReadyz = r.body;
        return r.status === 200;
      },
      detail: () => lastReadyz ? `last /readyz?verbose:\n${lastReadyz.split('\n').filter((l) => !l.includes('ok')).join('\n')}` : '',
    });
    const url = `https://127.0.0.1:${apiPort}`;
    endpoints['kube-apiserver'] = url;
    const kubeconfigs = writeKubeconfigs(spec, dir, creds, url);
    const api = (method: string, path: string, body?: unknown) =>
      httpCall(`${url}${path}`, { method, body, ca: creds.ca.certPem, token: creds.tokens.admin });

    const healthz = (port: number) => async () => {
      const r = await httpCall(`https://127.0.0.1:${port}/healthz`, { ca: creds.ca.certPem });
      return r.status === 200;
    };
    const parallel: Array<Promise<unknown>> = [];
    parallel.push(launch({
      name: 'kube-controller-manager', binary: spec.binaries.kubeControllerManager, portCount: 1,
      args: ([port]) => controllerManagerArgs(spec, creds, kubeconfigs.controllerManager, port!),
      ready: ([port]) => healthz(port!)(),
    }).then(([p]) => { endpoints['kube-controller-manager'] = `https://127.0.0.1:${p}`; }));

    let kwok: KwokInfo | undefined;
    if (isHost) {
      parallel.push(launch({
        name: 'kube-scheduler', binary: spec.binaries.kubeScheduler, portCount: 1,
        args: ([port]) => [
          `--kubeconfig=${kubeconfigs.scheduler}`,
          `--authentication-kubeconfig=${kubeconfigs.scheduler}`, `--authorization-kubeconfig=${kubeconfigs.scheduler}`,
          '--bind-address=127.0.0.1', `--secure-port=${port}`,
          `--tls-cert-file=${creds.files.schedulerServing!.cert}`, `--tls-private-key-file=${creds.files.schedulerServing!.key}`,
          '--leader-elect=false', '--v=1',
        ],
        ready: ([port]) => healthz(port!)(),
      }).then(([p]) => { endpoints['kube-scheduler'] = `https://127.0.0.1:${p}`; }));

      const kwokDir = join(dir, 'kwok');
      const execWorkDir = join(kwokDir, 'exec');
      mkdirSync(execWorkDir, { recursive: true });
      const logsFile = join(kwokDir, 'pod.log');
      const attachFile = join(kwokDir, 'attach.log');
      writeFileSync(logsFile, criLogLines(['vcnet: simulated container log (kwok)', `vcnet: plane ${spec.name}`]));
      writeFileSync(attachFile, criLogLines(['vcnet: simulated attach output (kwok)']));
      const podCIDR = spec.podCIDR ?? DEFAULT_POD_CIDR;
      const nodeNames = Array.from({ length: nodeCount }, (_, i) => kwokNodeName(i));
      parallel.push(launch({
        name: 'kwok', binary: spec.binaries.kwok, portCount: 1,
        // kwok loads ~/.kwok/kwok.yaml too unless its work dir is elsewhere (pkg/config/flags.go).
        env: { ...process.env, KWOK_WORKDIR: kwokDir },
        args: ([port]) => {
          const debugConfig = join(kwokDir, 'kwok-debug.yaml');
          writeFileSync(debugConfig, kwokDebugConfigYaml({
            logsFile, attachFile, execWorkDir,
            portForwardTarget: spec.portForwardTarget ?? { address: '127.0.0.1', port: port! },
          }));
          return [
            `--kubeconfig=${kubeconfigs.kwok}`,
            `--config=${spec.binaries.kwokStages}`, `--config=${debugConfig}`,
            '--manage-all-nodes=true', `--cidr=${podCIDR}`,
            // Every simulated node's kubelet is this one kwok process on loopback: InternalIP
            // 127.0.0.1 plus daemonEndpoints port (--node-port) is where kube-apiserver dials
            // for logs/exec/attach/port-forward (--kubelet-preferred-address-types=InternalIP).
            '--node-ip=127.0.0.1', `--node-port=${port}`, `--server-address=127.0.0.1:${port}`,
            `--tls-cert-file=${creds.files.kwokServing!.cert}`, `--tls-private-key-file=${creds.files.kwokServing!.key}`,
            '--node-lease-duration-seconds=40',
          ];
        },
        // kwok serves plain HTTP and HTTPS on the same port (cmux, pkg/kwok/server/server.go).
        ready: async ([port]) => (await httpCall(`http://127.0.0.1:${port}/healthz`)).status === 200,
      }).then(async ([p]) => {
        endpoints.kwok = `https://127.0.0.1:${p}`;
        kwok = { url: endpoints.kwok, logsFile, attachFile, execWorkDir, nodeNames, podCIDR };
        const started = Date.now();
        for (let i = 0; i < nodeCount; i++) {
          const r = await api('POST', '/api/v1/nodes', kwokNode(i));
          if (r.status !== 201 && r.status !== 409) throw new Error(`creating node ${kwokNodeName(i)} on ${spec.name} failed: HTTP ${r.status} ${r.body}`);
        }
        await waitUntil(`${nodeCount} kwok nodes Ready on ${spec.name}`, readyTimeoutMs, processes, async () => {
          const r = await api('GET', '/api/v1/nodes?labelSelector=type%3Dkwok');
          if (r.status !== 200) return false;
          const items = (JSON.parse(r.body) as { items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> }).items;
          const ready = items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          return ready.length >= nodeCount;
        });
        timings.nodesReady = Date.now() - started;
      }));
    }
    await settle(parallel);

    const saStarted = Date.now();
    // Created by the serviceaccount controller; pods cannot be admitted before it exists.
    await waitUntil(`ServiceAccount default/default on ${spec.name}`, readyTimeoutMs, processes, async () =>
      (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
    timings.defaultServiceAccount = Date.now() - saStarted;
    timings.total = Date.now() - t0;
    log(`${spec.name}: control plane ready in ${timings.total} ms at ${url}`);

    const info: ControlPlaneInfo = {
      name: spec.name, role: spec.role, dir, url,
      caFile: creds.files.ca.cert, caKeyFile: creds.files.ca.key, caPem: creds.ca.certPem, ca: creds.ca,
      adminKubeconfig: kubeconfigs.admin, tokens: creds.tokens, tokenFile: creds.files.tokens,
      serviceCIDR: spec.serviceCIDR,
      processes: processes.map(toRecord), timings, endpoints,
      ...(kwok ? { kwok } : {}),
    };
    let stopping: Promise<void> | undefined;
    return { ...info, stop: () => (stopping ??= stop()) };
  } catch (err) {
    await stopProcesses(processes, { timeoutMs: 5_000 });
    throw err;
  }
}

function toRecord(p: SpawnedProcess): PlaneProcess {
  const r: PlaneProcess = { name: p.name, pid: p.pid, logFile: p.logFile, binary: p.binary };
  if (p.startTime !== undefined) r.startTime = p.startTime;
  if (p.port !== undefined) r.port = p.port;
  return r;
}

/** Like Promise.all, but waits for every branch before rethrowing the first failure. */
async function settle(ps: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function prepareDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`control plane dir ${dir} is not empty; use a fresh directory (freshDir()) so old etcd data and certificates are not mixed in`);
  }
  mkdirSync(dir, { recursive: true });
}

function exitError(p: SpawnedProcess): Error {
  const how = p.exit?.signal ? `killed by ${p.exit.signal}` : `exit code ${p.exit?.code}`;
  return new Error(`${p.name} exited during start-up (${how}); last 30 lines of ${p.logFile}:\n${logTail(p.logFile, 30) || '(the log is empty)'}`);
}

async function waitReady(p: SpawnedProcess, check: () => Promise<boolean>, timeoutMs: number, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.exit) throw exitError(p);
    try {
      if (await check()) return;
    } catch { /* not listening yet */ }
    if (p.exit) throw exitError(p);
    if (Date.now() > deadline) {
      const extra = detail?.() ?? '';
      throw new Error(`${p.name} (pid ${p.pid}) not ready after ${timeoutMs / 1000}s${extra ? `; ${extra}` : ''}\nlast 30 lines of ${p.logFile}:\n${logTail(p.logFile, 30)}`);
    }
    await sleep(READY_POLL_MS);
  }
}

/** Polls a plane-wide condition, failing fast when any process of the plane has died. */
async function waitUntil(what: string, timeoutMs: number, procs: SpawnedProcess[], check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.exit);
    if (dead) throw exitError(dead);
    try {
      if (await check()) return;
    } catch { /* retry */ }
    if (Date.now() > deadline) {
      const logs = procs.map((p) => `--- ${p.name} (${p.logFile}):\n${logTail(p.logFile, 10)}`).join('\n');
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}\n${logs}`);
    }
    await sleep(READY_POLL_MS);
  }
}

interface FilePair { cert: string; key: string }
interface Credentials {
  ca: KeyPair;
  tokens: { admin: string } & Record<string, string>;
  files: {
    ca: FilePair;
    frontProxyCA: FilePair;
    frontProxyClient: FilePair;
    saKey: string;
    saPub: string;
    tokens: string;
    apiserverServing: FilePair;
    admin: FilePair;
    controllerManager: FilePair;
    controllerManagerServing: FilePair;
    scheduler?: FilePair;
    schedulerServing?: FilePair;
    kwok?: FilePair;
    kwokServing?: FilePair;
    kubeletClient?: FilePair;
  };
}

/** First usable address of an IPv4 or IPv6 CIDR: the `kubernetes` Service ClusterIP. */
export function firstServiceIP(cidr: string): string {
  const [addr, bitsText] = cidr.split('/');
  if (!addr || bitsText === undefined) throw new Error(`serviceCIDR ${cidr} is not a CIDR (expected e.g. 10.96.0.0/16)`);
  if (addr.includes(':')) {
    const full = expandIPv6(addr);
    full[7] = (full[7]! + 1) & 0xffff;
    return full.map((g) => g.toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  }
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`serviceCIDR ${cidr} has an invalid IPv4 address`);
  const n = ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]! + 1;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function expandIPv6(addr: string): number[] {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = Array(8 - h.length - t.length).fill('0') as string[];
  return [...h, ...(tail === undefined ? [] : zeros), ...t].map((g) => parseInt(g, 16));
}

async function makeCredentials(spec: ControlPlaneSpec, pki: string): Promise<Credentials> {
  const ca = await createCA(`vcnet-${spec.name}-ca`, { validityDays: 3650 });
  const loopback = { ipAddresses: ['127.0.0.1', '::1'], dnsNames: ['localhost'] };
  const isHost = spec.role === 'host';
  const issue = (commonName: string, extra: Partial<Parameters<typeof issueCert>[1]>) =>
    issueCert(ca, { commonName, usages: ['client'], validityDays: 3650, ...extra });

  // kube-apiserver's aggregation layer authenticates itself to extension apiservers with a
  // client cert from a separate CA (kubeadm's front-proxy CA); without --requestheader-client-ca-file
  // every delegated-auth component logs "missing content for CA bundle ...requestheader-client-ca-file".
  const frontProxyCA = await createCA(`vcnet-${spec.name}-front-proxy-ca`, { validityDays: 3650 });
  const [frontProxyClient, apiserverServing, admin, controllerManager, controllerManagerServing, scheduler, schedulerServing, kwok, kwokServing, kubeletClient, sa] = await Promise.all([
    issueCert(frontProxyCA, { commonName: 'front-proxy-client', usages: ['client'], validityDays: 3650 }),
    issue('kube-apiserver', {
      usages: ['server'],
      ipAddresses: [...loopback.ipAddresses, firstServiceIP(spec.serviceCIDR)],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    }),
    issue('admin', { organizations: ['system:masters'] }),
    // The identities kubeadm gives these components, bound by RBAC bootstrap policy; with
    // --use-service-account-credentials each controller then acts as its own ServiceAccount,
    // so admission webhooks see the same users as in a real cluster.
    issue('system:kube-controller-manager', {}),
    issue('kube-controller-manager', { usages: ['server'], ...loopback }),
    isHost ? issue('system:kube-scheduler', {}) : undefined,
    isHost ? issue('kube-scheduler', { usages: ['server'], ...loopback }) : undefined,
    // kwok writes node and pod status, leases and deletes pods: far more than a kubelet's
    // Node authorizer grants, so it gets the admin group under its own name.
    isHost ? issue('kwok-controller', { organizations: ['system:masters'] }) : undefined,
    // kube-apiserver verifies kwok's kubelet serving cert (--kubelet-certificate-authority).
    isHost ? issue('kwok-kubelet', { usages: ['server'], ...loopback }) : undefined,
    isHost ? issue('kube-apiserver-kubelet-client', { organizations: ['system:masters'] }) : undefined,
    rsaKeyPair(),
  ]);

  const write = (name: string, kp: KeyPair): FilePair => {
    const cert = join(pki, `${name}.crt`);
    const key = join(pki, `${name}.key`);
    writeFileSync(cert, kp.certPem);
    writeFileSync(key, kp.keyPem, { mode: 0o600 });
    return { cert, key };
  };
  const tokens: { admin: string } & Record<string, string> = { admin: randomBytes(24).toString('hex') };
  // Format: token,user,uid,"group1,group2" (k8s.io/apiserver pkg/authentication/token/tokenfile).
  const rows = [`${tokens.admin},admin,admin,"system:masters"`];
  for (const u of spec.tokenUsers ?? []) {
    if (!/^[^,"\s]+$/.test(u.user) || (u.groups ?? []).some((g) => /[,"\s]/.test(g))) {
      throw new Error(`token user ${JSON.stringify(u.user)}: names and groups may not contain commas, quotes or spaces`);
    }
    const token = u.token ?? randomBytes(24).toString('hex');
    tokens[u.user] = token;
    rows.push(`${token},${u.user},${u.user},"${(u.groups ?? []).join(',')}"`);
  }
  const tokenFile = join(pki, 'tokens.csv');
  writeFileSync(tokenFile, `${rows.join('\n')}\n`, { mode: 0o600 });
  const saKey = join(pki, 'sa.key');
  const saPub = join(pki, 'sa.pub');
  writeFileSync(saKey, sa.privateKey, { mode: 0o600 });
  writeFileSync(saPub, sa.publicKey);

  const files: Credentials['files'] = {
    ca: write('ca', ca), saKey, saPub, tokens: tokenFile,
    frontProxyCA: write('front-proxy-ca', frontProxyCA),
    frontProxyClient: write('front-proxy-client', frontProxyClient),
    apiserverServing: write('apiserver', apiserverServing),
    admin: write('admin', admin),
    controllerManager: write('controller-manager', controllerManager),
    controllerManagerServing: write('controller-manager-serving', controllerManagerServing),
  };
  if (scheduler) files.scheduler = write('scheduler', scheduler);
  if (schedulerServing) files.schedulerServing = write('scheduler-serving', schedulerServing);
  if (kwok) files.kwok = write('kwok', kwok);
  if (kwokServing) files.kwokServing = write('kwok-serving', kwokServing);
  if (kubeletClient) files.kubeletClient = write('apiserver-kubelet-client', kubeletClient);
  return { ca, tokens, files };
}

function rsaKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  return new Promise((res, rej) => generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }, (err, publicKey, privateKey) => (err ? rej(err) : res({ privateKey, publicKey }))));
}

function writeKubeconfigs(spec: ControlPlaneSpec, dir: string, creds: Credentials, url: string) {
  const kc = (file: string, pair: FilePair) => writeKubeconfig(join(dir, file), {
    name: `vcnet-${spec.name}`, server: url, caFile: creds.files.ca.cert,
    user: { clientCertificate: pair.cert, clientKey: pair.key },
  });
  return {
    admin: kc('admin.kubeconfig', creds.files.admin),
    controllerManager: kc('controller-manager.kubeconfig', creds.files.controllerManager),
    scheduler: creds.files.scheduler ? kc('scheduler.kubeconfig', creds.files.scheduler) : '',
    kwok: creds.files.kwok ? kc('kwok.kubeconfig', creds.files.kwok) : '',
  };
}

function apiserverArgs(spec: ControlPlaneSpec, dir: string, creds: Credentials, etcd: string, port: number): string[] {
  const f = creds.files;
  const args = [
    `--etcd-servers=${etcd}`,
    '--bind-address=127.0.0.1', `--secure-port=${port}`,
    // A loopback bind address needs an explicit advertise address (no default route to derive
    // one from), and the lease endpoint reconciler rejects loopback (kubernetes#121942).
    '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none',
    `--cert-dir=${join(dir, 'apiserver')}`,
    `--tls-cert-file=${f.apiserverServing.cert}`, `--tls-private-key-file=${f.apiserverServing.key}`,
    `--client-ca-file=${f.ca.cert}`,
    `--token-auth-file=${f.tokens}`,
    `--requestheader-client-ca-file=${f.frontProxyCA.cert}`, '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${f.frontProxyClient.cert}`, `--proxy-client-key-file=${f.frontProxyClient.key}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${f.saPub}`, `--service-account-signing-key-file=${f.saKey}`,
    `--service-cluster-ip-range=${spec.serviceCIDR}`,
    // RBAC rather than the AlwaysAllow default: system:masters still can do anything, and
    // anonymous /readyz, /version work through system:public-info-viewer.
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    '--v=1',
  ];
  if (spec.role === 'host') {
    args.push(
      '--kubelet-preferred-address-types=InternalIP',
      // Verify kwok's kubelet serving cert rather than skipping TLS verification; kwok does not
      // check client certs, but a real kubelet would want this one (system:masters).
      `--kubelet-certificate-authority=${f.ca.cert}`,
      `--kubelet-client-certificate=${f.kubeletClient!.cert}`, `--kubelet-client-key=${f.kubeletClient!.key}`,
    );
  }
  return args;
}

// vCluster runs its controller manager without the controllers that manage nodes and
// volumes, which belong to the host cluster: k3s/k8s distro chart value
// `controllers: '*,-nodeipam,-nodelifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-cloud-node-lifecycle,-ttl'`.
// These are the canonical 1.34 names of the same controllers
// (cmd/kube-controller-manager/names/controller_names.go).
export const VIRTUAL_DISABLED_CONTROLLERS = [
  'node-ipam-controller',
  'node-lifecycle-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-attach-detach-controller',
  'persistentvolume-expander-controller',
  'cloud-node-lifecycle-controller',
  'ttl-controller',
];

function controllerManagerArgs(spec: ControlPlaneSpec, creds: Credentials, kubeconfig: string, port: number): string[] {
  const f = creds.files;
  const controllers = spec.role === 'virtual' ? ['*', ...VIRTUAL_DISABLED_CONTROLLERS.map((c) => `-${c}`)] : ['*'];
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1', `--secure-port=${port}`,
    `--tls-cert-file=${f.controllerManagerServing.cert}`, `--tls-private-key-file=${f.controllerManagerServing.key}`,
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${f.saKey}`,
    `--root-ca-file=${f.ca.cert}`,
    // Lets tests get client certificates through CertificateSigningRequests as well.
    `--cluster-signing-cert-file=${f.ca.cert}`, `--cluster-signing-key-file=${f.ca.key}`,
    `--controllers=${controllers.join(',')}`,
    // With per-controller credentials each of ~40 controllers first fetches a token; at the
    // default 20 QPS that alone delays start-up by seconds. Loopback can take far more.
    '--kube-api-qps=200', '--kube-api-burst=400',
    '--v=1',
  ];
}
