// The binary cache: concurrent callers share one build, and a complete cache is reused as is.
// Builds into a fresh cache dir; with Go's build cache warm (after `vcnet build`) that is
// linking only, about 15 s.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ensureBinaries } from '../../../src/local/build.ts';
import { runCapture } from '../../../src/local/process.ts';

t.setTimeout(280_000);

// Skipped on a machine where even the shared cache is cold: that build takes 15-25 min.
const cold = await ensureBinaries({ build: false, log: () => {} }).then(() => undefined, (err: Error) => err.message);
if (cold) t.plan(0, `needs the control-plane binaries built once (and Go's build cache warm): ${cold}`);
else runTests();

function runTests(): void {
  const buildTs = fileURLToPath(new URL('../../../src/local/build.ts', import.meta.url));
  const cacheDir = mkdtempSync(join(tmpdir(), 'vcnet-it-build-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

  function ensureInChild(): Promise<string> {
    const script = `import { ensureBinaries } from ${JSON.stringify(buildTs)};
      const b = await ensureBinaries({ cacheDir: ${JSON.stringify(cacheDir)}, log: () => {} });
      process.stdout.write(JSON.stringify(b));`;
    return runCapture(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 270_000 }).then((r) => r.stdout);
  }

  t.test('two processes building into an empty cache at once share one build', async (t) => {
    const [a, b] = await Promise.all([ensureInChild(), ensureInChild()]);
    t.equal(a, b, 'both get the same binaries');
    const times = JSON.parse(readFileSync(join(cacheDir, 'build-times.json'), 'utf8')) as { builds: Array<{ unit: string; seconds: number }> };
    t.same(times.builds.map((x) => x.unit).sort(), ['etcd', 'kube', 'kwok'], 'each unit was built exactly once');
    t.same(readdirSync(cacheDir).filter((e) => e.startsWith('.')), [], 'no lock file or temp dir left behind');
    const set = JSON.parse(a) as Record<string, string>;
    const version = await runCapture(set.kubeApiserver!, ['--version']);
    t.equal(version.stdout.trim(), 'Kubernetes v1.34.4');
    t.ok(existsSync(set.kwokStages!), 'the kwok stages file is in the cache');
    t.match(readFileSync(set.kwokStages!, 'utf8'), /name: node-initialize[\s\S]*name: pod-delete/);
  });

  t.test('a complete cache is reused without building', async (t) => {
    const before = readFileSync(join(cacheDir, 'build-times.json'), 'utf8');
    const started = Date.now();
    await ensureBinaries({ cacheDir, log: () => {} });
    t.equal(readFileSync(join(cacheDir, 'build-times.json'), 'utf8'), before, 'nothing was built');
    t.comment(`reuse took ${Date.now() - started} ms`);
  });
}
