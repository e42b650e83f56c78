// Closed-loop load: `concurrency` workers each send one request, wait for the whole response,
// and send the next, until `requests` have been sent or `maxMs` has passed. Latency is measured
// per request from just before it is sent to the end of its response body.
import { performance } from 'node:perf_hooks';
import { agentFor, send, type Target } from './client.ts';
import { summarize, type LatencySummary } from './stats.ts';

export interface LoadSpec {
  path: string;
  concurrency: number;
  requests: number;
  /** Warm-up requests (not measured) that open every connection first. */
  warmup: number;
  /** Time cap for the measured part; fewer requests are counted if it is reached. */
  maxMs: number;
}

export interface LoadResult {
  target: Target['name'];
  concurrency: number;
  /** Measured requests that completed with a 2xx. */
  ok: number;
  /** Non-2xx answers and transport errors, with the first one kept for the report. */
  errors: number;
  firstError?: string;
  /** True when the time cap stopped the run before `requests` were sent. */
  capped: boolean;
  elapsedMs: number;
  rps: number;
  /** Bytes of response body per request (the same on both paths unless something is wrong). */
  bytesPerRequest: number;
  latencyMs: LatencySummary;
}

/** Warms up, calls `onMeasuring` (to start CPU meters), then runs the measured requests. */
export async function runLoad(target: Target, spec: LoadSpec, onMeasuring?: () => void): Promise<LoadResult> {
  const agent = agentFor(target, spec.concurrency);
  try {
    await closedLoop(target, agent, spec.path, spec.concurrency, spec.warmup, Infinity);
    onMeasuring?.();
    return await closedLoop(target, agent, spec.path, spec.concurrency, spec.requests, spec.maxMs);
  } finally {
    agent.destroy();
  }
}

async function closedLoop(target: Target, agent: ReturnType<typeof agentFor>, path: string, concurrency: number, requests: number, maxMs: number): Promise<LoadResult> {
  const latencies = new Float64Array(requests);
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  let capped = false;
  const started = performance.now();
  const deadline = started + maxMs;

  const worker = async (): Promise<void> => {
    while (sent < requests) {
      if (performance.now() > deadline) { capped = true; return; }
      sent++;
      const t0 = performance.now();
      try {
        const r = await send(target, agent, 'GET', path);
        const dt = performance.now() - t0;
        if (r.status >= 200 && r.status < 300) {
          latencies[ok++] = dt;
          bytes += r.bytes;
        } else {
          errors++;
          firstError ??= `HTTP ${r.status}`;
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, requests)) }, worker));
  const elapsedMs = performance.now() - started;
  const result: LoadResult = {
    target: target.name,
    concurrency,
    ok,
    errors,
    capped,
    elapsedMs,
    rps: ok / (elapsedMs / 1000),
    bytesPerRequest: ok === 0 ? 0 : bytes / ok,
    latencyMs: summarize(latencies.subarray(0, ok)),
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}
