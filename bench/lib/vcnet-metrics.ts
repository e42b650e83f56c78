// Figures vcnet reports about itself on its /metrics (prom-client's text format), read by the pod
// and service benchmarks around their runs: its V8 heap and the histograms of its sync work.
// Unreadable (no metrics URL, vcnet down) gives NaN or undefined, never an error: a figure missing
// from a report is better than a run lost.
import { performance } from 'node:perf_hooks';

/** The value of a gauge without labels (e.g. vcnet_nodejs_heap_size_used_bytes). */
export async function scrapeGauge(url: string | undefined, name: string): Promise<number> {
  if (url === undefined) return Number.NaN;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return Number.NaN;
    const m = new RegExp(`^${name}\\s+(\\S+)$`, 'm').exec(await r.text());
    return m === null ? Number.NaN : Number(m[1]);
  } catch {
    return Number.NaN;
  }
}

/** Sum and count of a histogram, over the series whose labels include `match`. */
export async function scrapeHistogram(url: string | undefined, name: string, match: Record<string, string> = {}): Promise<{ sum: number; count: number } | undefined> {
  if (url === undefined) return undefined;
  let text: string;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) return undefined;
    text = await r.text();
  } catch {
    return undefined;
  }
  let sum = 0;
  let count = 0;
  const wanted = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^(\w+?)_(sum|count)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels = m[3] ?? '';
    if (!wanted.every((w) => labels.includes(w))) continue;
    if (m[2] === 'sum') sum += Number(m[4]);
    else count += Number(m[4]);
  }
  return { sum, count };
}

/**
 * vcnet's V8 heap in use, in MiB: the lowest reading over `forMs`, 4 a second. A reading includes
 * garbage not yet collected, so the lowest is close to what is live (no GC is forced).
 */
export async function heapUsedMiB(url: string | undefined, forMs: number): Promise<number> {
  let low = Number.NaN;
  for (const end = performance.now() + forMs; performance.now() < end;) {
    const v = (await scrapeGauge(url, 'vcnet_nodejs_heap_size_used_bytes')) / 2 ** 20;
    if (Number.isFinite(v) && !(v >= low)) low = v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return low;
}
