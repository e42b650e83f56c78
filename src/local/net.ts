// Loopback-only networking helpers for the local environment: free ports and small HTTP(S)
// requests used for readiness checks. Nothing here talks to anything but 127.0.0.1.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

// Ports handed out recently by this process. Two planes started in parallel would otherwise
// both be able to pick a port the other was given but has not bound yet.
const handedOut = new Map<number, number>();
const HOLD_MS = 120_000;

/** Finds `n` distinct free TCP ports on 127.0.0.1 by binding port 0. */
export async function freePorts(n: number): Promise<number[]> {
  const now = Date.now();
  for (const [port, at] of handedOut) if (now - at > HOLD_MS) handedOut.delete(port);
  const ports: number[] = [];
  const servers: Array<ReturnType<typeof createServer>> = [];
  try {
    // Keep every probe socket open until all are chosen so the kernel cannot repeat one.
    for (let attempts = 0; ports.length < n; attempts++) {
      if (attempts > n + 50) throw new Error(`could not find ${n} free ports on 127.0.0.1`);
      const srv = createServer();
      servers.push(srv);
      const port = await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const addr = srv.address();
          resolve(typeof addr === 'object' && addr ? addr.port : 0);
        });
      });
      if (port > 0 && !handedOut.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  for (const p of ports) handedOut.set(p, now);
  return ports;
}

export interface HttpResult { status: number; body: string }

export interface HttpOptions {
  method?: string;
  /** PEM CA that must have signed the server's certificate (https only). */
  ca?: string;
  token?: string;
  body?: unknown;
  timeoutMs?: number;
}

/** One HTTP(S) request to a loopback URL; resolves with status and body, rejects on transport errors. */
export function httpCall(url: string, opts: HttpOptions = {}): Promise<HttpResult> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') {
    throw new Error(`refusing to contact ${u.host}: the local environment only talks to loopback`);
  }
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: opts.method ?? 'GET',
      headers,
      ...(u.protocol === 'https:' ? { ca: opts.ca, rejectUnauthorized: true } : {}),
      timeout: opts.timeoutMs ?? 5_000,
      agent: false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
