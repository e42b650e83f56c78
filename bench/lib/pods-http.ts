// HTTP for the pod benchmark. Like client.ts (node:https, HTTP/1.1, keep-alive, a client
// certificate), but for any API server the benchmark talks to: the virtual one directly, through
// vcnet, and the host one (whose pods are watched and whose nodes are added), each with a label
// for messages.
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { assertLoopback, type Reply, type Target } from './client.ts';

export interface Endpoint {
  /** For messages: "virtual (direct)", "vcnet proxy", "host". */
  readonly label: string;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly caPem: string;
  readonly client: { readonly certPem: string; readonly keyPem: string };
}

export function fromTarget(t: Target, label: string): Endpoint {
  return { label, url: t.url, caPem: t.caPem, client: t.client };
}

/** A keep-alive agent with at most `sockets` connections, all kept open between requests. */
export function endpointAgent(e: Endpoint, sockets: number): https.Agent {
  assertLoopback(e.url);
  return new https.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, ca: e.caPem, cert: e.client.certPem, key: e.client.keyPem });
}

/** One request; resolves with the status and the whole body once it has arrived. */
export function request(e: Endpoint, agent: https.Agent, method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<Required<Reply>> {
  const u = new URL(e.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = https.request({ agent, host: u.hostname, port: u.port, method, path, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: b.length, body: b.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${e.label} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A JSON request that must succeed; the error names the call and quotes the server's answer. */
export async function mustCall<T = unknown>(e: Endpoint, agent: https.Agent, method: string, path: string, body?: unknown): Promise<T> {
  const r = await request(e, agent, method, path, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} (${e.label}) answered ${r.status}: ${r.body.slice(0, 500)}`);
  return JSON.parse(r.body) as T;
}

/** The message of a metav1.Status body, or the start of the body. */
export function statusMessage(r: { status: number; body: string }): string {
  try {
    const s = JSON.parse(r.body) as { message?: string };
    if (typeof s.message === 'string') return `HTTP ${r.status}: ${s.message}`;
  } catch { /* not JSON */ }
  return `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
}

/** Polls a LIST (`path` with `limit=1` and a labelSelector) every 100 ms until it is empty: true, or false after `timeoutMs`. */
export async function waitListEmpty(e: Endpoint, path: string, timeoutMs: number): Promise<boolean> {
  const agent = endpointAgent(e, 1);
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const r = await request(e, agent, 'GET', path);
      if (r.status === 200 && (JSON.parse(r.body) as { items: unknown[] }).items.length === 0) return true;
      if (performance.now() > deadline) return false;
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    agent.destroy();
  }
}
