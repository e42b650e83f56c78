// One raw HTTPS call, for tests that need exact headers, bodies and status codes (kubectl hides them).
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: string;
  json: Record<string, unknown> | undefined;
}

export interface HttpsOptions {
  method?: string;
  ca: string;
  headers?: Record<string, string | string[]>;
  cert?: { certPem: string; keyPem: string };
  body?: string | Buffer;
}

/** A fresh connection per call. A body gets a Content-Length unless the caller framed it as chunked. */
export function httpsRequest(url: string, opts: HttpsOptions): Promise<HttpsReply> {
  const headers = { ...opts.headers };
  const framed = Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding' || h.toLowerCase() === 'content-length');
  if (opts.body !== undefined && !framed) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: opts.method ?? 'GET', ca: opts.ca, headers, agent: false,
      ...(opts.cert !== undefined ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = raw.toString('utf8');
        let json: Record<string, unknown> | undefined;
        try { json = JSON.parse(body) as Record<string, unknown>; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
