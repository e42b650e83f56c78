// Builds the control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok) from the Go modules pinned in tools/<unit>/go.mod, into a cache
// directory keyed on what decides the bytes of the binary. CoreDNS (tools/coredns), which only
// `npm run bench:dns` runs, is an optional unit built on demand by ensureCoreDNS. Nothing is
// downloaded except Go modules through the Go module proxy. Recipe and pitfalls: /work/shared/reference/control-plane.md
// (§2.2 for the version ldflags, §3 for etcd, §4 for kwok and its stages).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync,
  statSync, writeFileSync, writeSync,
} from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPidAlive, runCapture } from './process.ts';

export type Log = (msg: string) => void;

/** Absolute paths of everything a control plane needs, all from one cache. */
export interface BinarySet {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** YAML stream of kwok Stage objects (node-initialize, heartbeat, pod-ready, -complete, -delete). */
  kwokStages: string;
  versions: { kubernetes: string; etcd: string; kwok: string };
}

export interface EnsureBinariesOptions {
  log?: Log;
  /** Root of the binary cache; default `${VCNET_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}}/vcnet/bin`. */
  cacheDir?: string;
  /** Checkout holding tools/{etcd,kube,kwok}; default: the one this file lives in. */
  repoRoot?: string;
  /** The `go` command; default `go` from PATH, then /usr/local/go/bin/go. */
  goCommand?: string;
  /** false: fail instead of building (callers with a short time budget, such as tests). Default true. */
  build?: boolean;
}

export const KUBE_VERSION = 'v1.34.4';
export const ETCD_VERSION = '3.6.13';
export const KWOK_VERSION = 'v0.8.0';
/** What vCluster deploys for Kubernetes 1.34 (vcluster-networking.md §7.1); only the DNS benchmark runs it. */
export const COREDNS_VERSION = '1.12.1';

// Bumped when the way a unit is built changes in a way the hashed inputs do not show.
const RECIPE = 1;

interface UnitBinary { file: string; pkg: string; versionArg: string; expect: string }
interface BuildUnit {
  /** Cache directory prefix and tools/<module> folder. */
  name: 'etcd' | 'kube' | 'kwok' | 'coredns';
  version: string;
  ldflags: string;
  tags: string;
  binaries: UnitBinary[];
}

function kubeLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  // §2.2: without these `/version` says `v0.0.0-master+$Format:%H$` and kubectl refuses to parse it.
  const parts = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    parts.push(
      `-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`, `-X ${pkg}.gitCommit=module-${version}`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return parts.join(' ');
}

const UNITS: readonly BuildUnit[] = [
  {
    name: 'etcd', version: ETCD_VERSION, ldflags: '-s -w', tags: '',
    // The binary name would follow the import path ("server"), hence the explicit file name (§3).
    binaries: [{ file: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', versionArg: '--version', expect: `etcd Version: ${ETCD_VERSION}` }],
  },
  {
    name: 'kube', version: KUBE_VERSION, ldflags: kubeLdflags(KUBE_VERSION),
    // Upstream release tags (kubernetes hack/lib/golang.sh).
    tags: 'selinux,notest',
    binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((file) => ({
      file, pkg: `k8s.io/kubernetes/cmd/${file}`, versionArg: '--version', expect: `Kubernetes ${KUBE_VERSION}`,
    })),
  },
  {
    name: 'kwok', version: KWOK_VERSION, ldflags: '-s -w', tags: '',
    binaries: [{ file: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok', versionArg: '--version', expect: `kwok version ${KWOK_VERSION}` }],
  },
];

// Not in UNITS: `vcnet build`, `vcnet up` and the tests never need it. The published main package
// with its default plugin list (plugin.cfg), built like upstream's Makefile does (CGO off, -s -w).
const COREDNS_UNIT: BuildUnit = {
  name: 'coredns', version: COREDNS_VERSION, ldflags: '-s -w', tags: '',
  // `coredns -version` prints "CoreDNS-1.12.1" (coremain/version.go).
  binaries: [{ file: 'coredns', pkg: 'github.com/coredns/coredns', versionArg: '-version', expect: `CoreDNS-${COREDNS_VERSION}` }],
};

// The stages kwokctl writes into kwok.yaml by default (pkg/kwokctl/runtime/cluster.go@v0.8.0);
// the bare kwok binary has no built-in stages and exits with "no stages found" (§4).
const KWOK_STAGE_FILES = [
  'stage/node/fast/node-initialize.yaml',
  'stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'stage/pod/fast/pod-ready.yaml',
  'stage/pod/fast/pod-complete.yaml',
  'stage/pod/fast/pod-delete.yaml',
];
const KWOK_STAGES_FILE = 'kwok-stages.yaml';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.VCNET_CACHE_DIR || env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vcnet', 'bin');
}

export function defaultRepoRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

interface Context {
  go: string;
  goVersion: string;
  root: string;
  repo: string;
  log: Log;
  env: NodeJS.ProcessEnv;
}

/**
 * Returns the control-plane binaries, building those missing from the cache. Concurrent
 * callers (a test run and `vcnet up`) share one build through a lock file.
 */
export async function ensureBinaries(opts: EnsureBinariesOptions = {}): Promise<BinarySet> {
  const ctx = await makeContext(opts);
  const dirs = await ensureUnits(ctx, UNITS, opts.build, 'control-plane binaries', '`npm run build:cp` (vcnet build)');

  const kwokDir = dirs.get('kwok')!;
  const stages = join(kwokDir, KWOK_STAGES_FILE);
  if (!existsSync(stages)) await writeKwokStages(ctx, stages);
  const kube = dirs.get('kube')!;
  return {
    etcd: join(dirs.get('etcd')!, 'etcd'),
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubeControllerManager: join(kube, 'kube-controller-manager'),
    kubeScheduler: join(kube, 'kube-scheduler'),
    kwok: join(kwokDir, 'kwok'),
    kwokStages: stages,
    versions: { kubernetes: KUBE_VERSION, etcd: ETCD_VERSION, kwok: KWOK_VERSION },
  };
}

/** The CoreDNS binary of tools/coredns and its version. */
export interface CoreDNSBinary {
  coredns: string;
  version: string;
}

/**
 * Returns CoreDNS built from tools/coredns (cached like the control-plane units: by version and a
 * hash of go.mod, go.sum, the Go version and the flags). Only the DNS benchmark calls it; a cold
 * build takes a few minutes on 2 cores.
 */
export async function ensureCoreDNS(opts: EnsureBinariesOptions = {}): Promise<CoreDNSBinary> {
  const ctx = await makeContext(opts);
  const dirs = await ensureUnits(ctx, [COREDNS_UNIT], opts.build, 'CoreDNS', '`npm run bench:dns`');
  return { coredns: join(dirs.get('coredns')!, 'coredns'), version: COREDNS_VERSION };
}

async function makeContext(opts: EnsureBinariesOptions): Promise<Context> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const root = opts.cacheDir ?? defaultCacheDir();
  const repo = opts.repoRoot ?? defaultRepoRoot();
  const env: NodeJS.ProcessEnv = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
  const go = opts.goCommand ?? findGo();
  const goVersion = (await runCapture(go, ['env', 'GOVERSION'], { env, timeoutMs: 60_000 })).stdout.trim();
  mkdirSync(root, { recursive: true });
  return { go, goVersion, root, repo, log, env };
}

/** The cache directory of each unit, after building those missing (under the cache's lock). */
async function ensureUnits(ctx: Context, units: readonly BuildUnit[], build: boolean | undefined, what: string, how: string): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const unit of units) dirs.set(unit.name, join(ctx.root, `${unit.name}-${unit.version}-${unitHash(ctx, unit)}`));

  let missing = await missingUnits(ctx, units, dirs);
  if (missing.length > 0 && build === false) {
    throw new Error(`${what} not built yet (${missing.map((u) => `${u.name} ${u.version}`).join(', ')} missing in ${ctx.root}); run ${how} first`);
  }
  if (missing.length > 0) {
    const release = await acquireLock(join(ctx.root, '.lock'), ctx.log);
    try {
      cleanStaleTemps(ctx.root);
      // Another process may have built them while we waited for the lock.
      missing = await missingUnits(ctx, units, dirs);
      for (const unit of missing) await buildUnit(ctx, unit, dirs.get(unit.name)!);
    } finally {
      release();
    }
  }
  return dirs;
}

function findGo(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('the Go toolchain (`go`) is not on PATH nor in /usr/local/go/bin; install Go >= 1.26 to build the control-plane binaries');
}

function unitHash(ctx: Context, unit: BuildUnit): string {
  const dir = join(ctx.repo, 'tools', unit.name);
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new Error(`${p} is missing: tools/${unit.name} must hold the go.mod and go.sum that pin ${unit.name}`);
    h.update(`${f}\0`).update(readFileSync(p)).update('\0');
  }
  h.update(JSON.stringify({ RECIPE, ldflags: unit.ldflags, tags: unit.tags, go: ctx.goVersion, cgo: 0, bins: unit.binaries.map((b) => b.pkg) }));
  return h.digest('hex').slice(0, 8);
}

async function missingUnits(ctx: Context, units: readonly BuildUnit[], dirs: Map<string, string>): Promise<BuildUnit[]> {
  const checks = await Promise.all(units.map(async (unit) => ({ unit, ok: await unitWorks(ctx, unit, dirs.get(unit.name)!) })));
  return checks.filter((c) => !c.ok).map((c) => c.unit);
}

/** A cache entry counts only if every binary in it runs and reports the pinned version. */
async function unitWorks(ctx: Context, unit: BuildUnit, dir: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  for (const b of unit.binaries) {
    const path = join(dir, b.file);
    if (!existsSync(path)) return false;
    try {
      const out = await runCapture(path, [b.versionArg], { timeoutMs: 30_000 });
      if (!`${out.stdout}${out.stderr}`.includes(b.expect)) {
        ctx.log(`cached ${path} does not report "${b.expect}"; rebuilding`);
        return false;
      }
    } catch (err) {
      ctx.log(`cached ${path} does not run (${(err as Error).message}); rebuilding`);
      return false;
    }
  }
  return true;
}

interface BuildRecord {
  unit: string;
  version: string;
  hash: string;
  binaries: string[];
  seconds: number;
  /** Go packages compiled (not taken from GOCACHE): 0 means only linking happened. */
  packagesCompiled: number;
  kind: 'cold' | 'warm';
  goVersion: string;
  finishedAt: string;
}

async function buildUnit(ctx: Context, unit: BuildUnit, finalDir: string): Promise<void> {
  const moduleDir = join(ctx.repo, 'tools', unit.name);
  const tmp = join(ctx.root, `.tmp-${unit.name}-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  const logsDir = join(ctx.root, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const buildLog = join(logsDir, `${unit.name}-${unit.version}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const names = unit.binaries.map((b) => b.file).join(', ');
  const started = Date.now();
  ctx.log(`building ${names} ${unit.version} from tools/${unit.name} with ${ctx.goVersion}${unit.name === 'kube' ? ' (a cold build takes 15-25 min on 2 cores)' : ''}; log: ${buildLog}`);

  let compiled = 0;
  const ticker = setInterval(() => {
    ctx.log(`  still building ${names}: ${formatDuration(Date.now() - started)} elapsed, ${compiled} packages compiled so far`);
  }, 15_000);
  try {
    const args = ['build', '-x', '-trimpath', `-ldflags=${unit.ldflags}`];
    if (unit.tags) args.push(`-tags=${unit.tags}`);
    // Several packages go to a directory (`-o dir/`), named after their last path element;
    // one package gets an explicit file name because etcd's would be "server".
    const only = unit.binaries.length === 1 ? unit.binaries[0] : undefined;
    args.push('-o', only ? join(tmp, only.file) : `${tmp}/`, ...unit.binaries.map((b) => b.pkg));
    await goBuild(ctx, moduleDir, args, buildLog, () => { compiled++; });
    if (unit.name === 'kwok') await writeKwokStages(ctx, join(tmp, KWOK_STAGES_FILE));
    for (const b of unit.binaries) {
      const out = await runCapture(join(tmp, b.file), [b.versionArg], { timeoutMs: 30_000 });
      if (!`${out.stdout}${out.stderr}`.includes(b.expect)) {
        throw new Error(`built ${b.file} reports "${(out.stdout + out.stderr).trim().split('\n')[0]}", expected "${b.expect}"`);
      }
    }
    if (existsSync(finalDir)) {
      // A broken entry is moved aside first: rename() does not replace a non-empty directory.
      const aside = `${tmp}-old`;
      renameSync(finalDir, aside);
      rmSync(aside, { recursive: true, force: true });
    }
    renameSync(tmp, finalDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    clearInterval(ticker);
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  ctx.log(`built ${names} in ${formatDuration(Date.now() - started)} (${compiled} packages compiled) -> ${finalDir}`);
  recordBuild(ctx.root, {
    unit: unit.name, version: unit.version, hash: finalDir.slice(-8), binaries: unit.binaries.map((b) => b.file),
    seconds, packagesCompiled: compiled, kind: compiled === 0 ? 'warm' : 'cold', goVersion: ctx.goVersion,
    finishedAt: new Date().toISOString(),
  });
}

/**
 * Runs `go build -x`, counting compile actions (cached packages print none) and writing the
 * trace, minus the importcfg here-documents that make up most of it, to `buildLog`.
 */
function goBuild(ctx: Context, cwd: string, args: string[], buildLog: string, onCompile: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(buildLog, 'a');
    writeSync(fd, `$ (cd ${cwd} && ${ctx.go} ${args.join(' ')})\n`);
    const child = spawn(ctx.go, args, { cwd, env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let inHeredoc = false;
    let partial = '';
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (inHeredoc) {
          if (line === 'EOF') inHeredoc = false;
          continue;
        }
        if (/<< 'EOF'/.test(line)) { inHeredoc = true; continue; }
        if (/\/compile -o /.test(line)) onCompile();
        writeSync(fd, `${line}\n`);
        // -x trace lines are shell commands; compiler and go errors are what a user needs.
        if (/^(#|go: |.*\.go:\d+)|error|cannot|missing|verifying/.test(line)) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => { closeSync(fd); reject(err); });
    child.on('close', (code, signal) => {
      if (partial) writeSync(fd, `${partial}\n`);
      closeSync(fd);
      if (code === 0) resolve();
      else reject(new Error(`go ${args.filter((a) => a !== '-x').join(' ')} in ${cwd} failed (${signal ?? `exit ${code}`}); full log: ${buildLog}\n${tail.join('\n')}`));
    });
  });
}

async function writeKwokStages(ctx: Context, target: string): Promise<void> {
  const moduleDir = join(ctx.repo, 'tools', 'kwok');
  // `go list -m` reads the module from GOMODCACHE (downloading it if a cache was wiped).
  const { stdout } = await runCapture(ctx.go, ['list', '-m', '-f', '{{.Dir}}', 'sigs.k8s.io/kwok'], { cwd: moduleDir, env: ctx.env, timeoutMs: 300_000 });
  const kwokDir = stdout.trim();
  const docs = KWOK_STAGE_FILES.map((f) => {
    const p = join(kwokDir, 'kustomize', f);
    if (!existsSync(p)) throw new Error(`kwok stage ${f} not found in ${kwokDir}; is tools/kwok pinned to ${KWOK_VERSION}?`);
    return readFileSync(p, 'utf8').trimEnd();
  });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `# kwok's default stages, copied from ${kwokDir}/kustomize\n${docs.join('\n---\n')}\n`);
  renameSync(tmp, target);
}

function recordBuild(root: string, rec: BuildRecord): void {
  const file = join(root, 'build-times.json');
  let data: { builds: BuildRecord[] } = { builds: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { builds?: BuildRecord[] };
    if (Array.isArray(parsed.builds)) data = { builds: parsed.builds };
  } catch { /* first build, or an unreadable file that this one replaces */ }
  data.builds.push(rec);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

interface LockOwner { pid: number; host: string; startedAt: string }

/**
 * An O_EXCL lock file holding the owner's pid. A lock whose owner is dead (same host) is
 * stale and taken over, so a build killed with ^C does not block the next one.
 */
async function acquireLock(path: string, log: Log): Promise<() => void> {
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const waitStart = Date.now();
  let lastNote = 0;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        try {
          const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
          if (owner.pid === me.pid && owner.startedAt === me.startedAt) rmSync(path, { force: true });
        } catch { /* already gone */ }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: LockOwner | undefined;
    try { owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner; } catch { owner = undefined; }
    const stale = owner
      ? owner.host === me.host && !isPidAlive(owner.pid)
      // Unparsable: the owner died between create and write, or is writing right now.
      : Date.now() - safeMtime(path) > 10_000;
    if (stale) {
      log(`removing stale build lock ${path}${owner ? ` (pid ${owner.pid} is gone)` : ''}`);
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() - lastNote >= 15_000) {
      lastNote = Date.now();
      log(`waiting for another build (pid ${owner?.pid ?? '?'}) to finish: ${formatDuration(Date.now() - waitStart)} so far`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function safeMtime(path: string): number {
  try { return statSync(path).mtimeMs; } catch { return 0; }
}

/** Removes temp dirs of builds whose process is gone (only called while holding the lock). */
function cleanStaleTemps(root: string): void {
  for (const entry of readdirSync(root)) {
    const m = /^\.tmp-[a-z]+-(\d+)-/.exec(entry);
    if (m && !isPidAlive(Number(m[1]))) rmSync(join(root, entry), { recursive: true, force: true });
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
