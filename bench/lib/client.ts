// The benchmark's HTTP client: node:https over HTTP/1.1 with keep-alive, presenting the same
// client certificate (CN=admin, O=system:masters) to whichever server it talks to, so the direct
// and the proxied path differ only by vcnet.
import https from 'node:https';

/** One way to reach the virtual kube-apiserver. */
export interface Target {
  readonly name: 'direct' | 'proxy';
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  readonly client: { readonly certPem: string; readonly keyPem: string };
}

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== '[::1]') {
    throw new Error(`refusing to send benchmark traffic to ${u.host}: the benchmarks only talk to loopback`);
  }
  return u;
}

/** A keep-alive agent holding at most `sockets` connections (the request concurrency). */
export function agentFor(target: Target, sockets: number): https.Agent {
  assertLoopback(target.url);
  return new https.Agent({
    keepAlive: true,
    maxSockets: sockets,
    // Every socket stays open between requests (no agent timeout): a reconnect would put a TLS
    // handshake into the figures. Warm-up opens them before measuring.
    maxFreeSockets: sockets,
    ca: target.caPem,
    cert: target.client.certPem,
    key: target.client.keyPem,
  });
}

export interface Reply {
  status: number;
  bytes: number;
  body?: string;
}

/** One request; resolves when the whole response body has arrived (discarded unless keepBody). */
export function send(target: Target, agent: https.Agent, method: string, path: string, opts: { body?: unknown; keepBody?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
  const u = new URL(target.url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = https.request({ agent, host: u.hostname, port: u.port, method, path, headers, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (opts.keepBody) chunks.push(d);
      });
      res.on('end', () => {
        const reply: Reply = { status: res.statusCode ?? 0, bytes };
        if (opts.keepBody) reply.body = Buffer.concat(chunks).toString('utf8');
        resolve(reply);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${target.name} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A JSON request that must succeed (set-up and tear-down); errors name the call and the server's answer. */
export async function call<T = unknown>(target: Target, agent: https.Agent, method: string, path: string, body?: unknown): Promise<T> {
  const r = await send(target, agent, method, path, { body, keepBody: true });
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${path} (${target.name}) answered ${r.status}: ${(r.body ?? '').slice(0, 500)}`);
  }
  return JSON.parse(r.body ?? 'null') as T;
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
