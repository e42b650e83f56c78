// Waiting for what a benchmark's watches (or LISTs) will tell: polled, because the condition is
// about many objects at once and is cheap to compute from the watches' caches.
import { performance } from 'node:perf_hooks';

/** Checks `done` every `intervalMs` until it is true (true) or `timeoutMs` passed (false); throws once `signal` is aborted. */
export async function pollUntil(done: () => boolean, timeoutMs: number, intervalMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    signal?.throwIfAborted();
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
