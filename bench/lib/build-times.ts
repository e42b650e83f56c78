// Build figures: what `vcnet build` / ensureBinaries() recorded in build-times.json (a cold build
// is never run by the benchmark: 15+ minutes on 2 cores), plus a timed ensureBinaries() with
// everything cached, which is what every `vcnet up` and test run pays.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultCacheDir, ensureBinaries } from '../../src/local/build.ts';
import type { BuildFigures, BuildRecord } from './report.ts';

export async function buildFigures(log: (m: string) => void): Promise<BuildFigures> {
  const cacheDir = defaultCacheDir();
  const buildTimesFile = join(cacheDir, 'build-times.json');
  let records: BuildRecord[] = [];
  try {
    const parsed = JSON.parse(readFileSync(buildTimesFile, 'utf8')) as { builds?: BuildRecord[] };
    records = Array.isArray(parsed.builds) ? parsed.builds : [];
  } catch {
    log(`no readable ${buildTimesFile}: no build times recorded`);
  }
  const latest: BuildFigures['latest'] = {};
  for (const rec of records) {
    const entry = (latest[rec.unit] ??= {});
    const prev = entry[rec.kind];
    if (prev === undefined || prev.finishedAt < rec.finishedAt) entry[rec.kind] = rec;
  }
  log('timing ensureBinaries() (it builds only what is missing from the cache)');
  const t0 = performance.now();
  await ensureBinaries({ log });
  const ensureBinariesCachedMs = performance.now() - t0;
  const hasCold = Object.values(latest).some((e) => e.cold !== undefined);
  return {
    cacheDir, buildTimesFile, latest, ensureBinariesCachedMs,
    note: `Build times are those recorded in ${buildTimesFile} by \`vcnet build\` / ensureBinaries(), not measured by this run (a cold build takes 15+ minutes on 2 cores). "cold" = Go packages were compiled; "warm" = every package came from GOCACHE and only linking ran.${hasCold ? '' : ' This cache has no cold build on record: its binaries were built with a warm GOCACHE, so only warm times exist.'}`,
  };
}
