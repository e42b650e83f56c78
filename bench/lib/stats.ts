// Order statistics for latency samples. Nearest-rank percentiles (no interpolation), so every
// figure reported is a latency that some request really had.

/** The p-th percentile (0 < p <= 100) by nearest rank; NaN for no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Median of a few per-run figures (the middle one, or the mean of the two middle ones). */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid] as number : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Milliseconds in, milliseconds out. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const s = sortedCopy(samples);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length === 0 ? Number.NaN : s[s.length - 1] as number,
    mean: s.length === 0 ? Number.NaN : sum / s.length,
  };
}
