// Watch event delivery: `watchers` concurrent watches on the ConfigMaps of one namespace, then
// `events` ConfigMaps created one after another (always directly, by the same client, so both
// paths see identical writes). Lag = arrival of the ADDED event at a watcher − the moment its
// create call was sent; the create's own round trip is in both paths' figures alike.
import https from 'node:https';
import type { ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { agentFor, assertLoopback, call, type Target } from './client.ts';
import { summarize, type LatencySummary } from './stats.ts';

export interface WatchSpec {
  namespace: string;
  watchers: number;
  events: number;
  spacingMs: number;
  /** Name prefix of the ConfigMaps this run creates (unique per run). */
  prefix: string;
  /** How long to wait for all watches to open, and for stragglers after the last create. */
  timeoutMs: number;
}

export interface WatchResult {
  target: Target['name'];
  watchers: number;
  events: number;
  /** Watches that had their 200 response headers within the timeout. */
  opened: number;
  /** Time to open all watches (TLS handshakes included). */
  openMs: number;
  /** Events received / expected (watchers × events). */
  delivered: number;
  expected: number;
  /** From create sent to event arrival: the headline figure. */
  lagMs: LatencySummary;
  /** From create returned to event arrival; may be negative when the event beats the response. */
  lagAfterReturnMs: LatencySummary;
  /** Round trip of the create calls themselves (the same writer on both paths). */
  createMs: LatencySummary;
}

interface Watcher {
  req: ClientRequest;
  arrivals: Map<string, number>;
}

export async function runWatchLag(target: Target, writer: Target, spec: WatchSpec): Promise<WatchResult> {
  const ns = encodeURIComponent(spec.namespace);
  const writerAgent = agentFor(writer, 1);
  const watchAgent = agentFor(target, spec.watchers);
  const watchers: Watcher[] = [];
  try {
    // Start from "now": without a resourceVersion a watch first replays every existing object.
    const list = await call<{ metadata: { resourceVersion: string } }>(writer, writerAgent, 'GET', `/api/v1/namespaces/${ns}/configmaps?limit=1`);
    const path = `/api/v1/namespaces/${ns}/configmaps?watch=true&allowWatchBookmarks=false&timeoutSeconds=600&resourceVersion=${list.metadata.resourceVersion}`;

    const openStarted = performance.now();
    const opened = await Promise.allSettled(Array.from({ length: spec.watchers }, () => openWatch(target, watchAgent, path, spec.prefix, spec.timeoutMs)));
    const openMs = performance.now() - openStarted;
    for (const o of opened) if (o.status === 'fulfilled') watchers.push(o.value);
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (watchers.length === 0) throw new Error(`no watch through ${target.name} opened: ${(failed?.reason as Error | undefined)?.message}`);

    const sentAt = new Map<string, number>();
    const returnedAt = new Map<string, number>();
    const createMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < spec.events; i++) {
      // A fixed schedule (not sleep-after-create), so a slow create does not stretch the run.
      const wait = t0 + i * spec.spacingMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `${spec.prefix}-${i}`;
      const sent = performance.now();
      sentAt.set(name, sent);
      await call(writer, writerAgent, 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: String(i) },
      });
      const returned = performance.now();
      returnedAt.set(name, returned);
      createMs.push(returned - sent);
    }

    const expected = watchers.length * spec.events;
    const deadline = performance.now() + spec.timeoutMs;
    const count = (): number => watchers.reduce((n, w) => n + w.arrivals.size, 0);
    while (count() < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const lag: number[] = [];
    const lagAfterReturn: number[] = [];
    for (const w of watchers) {
      for (const [name, at] of w.arrivals) {
        lag.push(at - (sentAt.get(name) as number));
        lagAfterReturn.push(at - (returnedAt.get(name) as number));
      }
    }
    return {
      target: target.name,
      watchers: spec.watchers,
      events: spec.events,
      opened: watchers.length,
      openMs,
      delivered: lag.length,
      expected: spec.watchers * spec.events,
      lagMs: summarize(lag),
      lagAfterReturnMs: summarize(lagAfterReturn),
      createMs: summarize(createMs),
    };
  } finally {
    for (const w of watchers) w.req.destroy();
    watchAgent.destroy();
    writerAgent.destroy();
  }
}

/** Opens one watch; resolves once its 200 headers arrive, then records ADDED events by name. */
function openWatch(target: Target, agent: https.Agent, path: string, prefix: string, timeoutMs: number): Promise<Watcher> {
  const u = assertLoopback(target.url);
  return new Promise((resolve, reject) => {
    const arrivals = new Map<string, number>();
    const req = https.request({ agent, host: u.hostname, port: u.port, method: 'GET', path, headers: { Accept: 'application/json' } });
    const timer = setTimeout(() => req.destroy(new Error(`watch through ${target.name} did not open within ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`watch through ${target.name} answered ${res.statusCode}`));
        return;
      }
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // The arrival time is taken before any parsing, so decoding cost is not counted as lag.
        const at = performance.now();
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') continue;
          const ev = JSON.parse(line) as { type?: string; object?: { metadata?: { name?: string } } };
          const name = ev.object?.metadata?.name;
          if (ev.type === 'ADDED' && name !== undefined && name.startsWith(`${prefix}-`) && !arrivals.has(name)) arrivals.set(name, at);
        }
      });
      res.on('error', () => { /* destroyed at the end of the run */ });
      resolve({ req, arrivals });
    });
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.end();
  });
}
