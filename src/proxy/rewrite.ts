// Error answers rewritten on their way back, for targets that ask for it (subresource redirects: the
// host's `pods "web-x-ns-x-vc" not found` must reach the user as `pods "web" not found`). Only small,
// uncompressed JSON error answers are touched; success answers and streams pass through as bytes.
// Two transports: a Node response (ordinary requests) and the raw bytes of an upgrade's answer,
// read up to its end before the tunnel would be spliced.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { responseHeaders } from './headers.ts';

export type RewriteError = (body: string) => string | undefined;

/** Error bodies larger than this are relayed unchanged (a Status is a few hundred bytes). */
export const MAX_REWRITE_BYTES = 64 * 1024;

/** An error answer small and plain enough to rewrite: 4xx/5xx, JSON, not compressed, at most 64 KiB. */
export function isRewritable(status: number, headers: { contentType?: string | undefined; contentEncoding?: string | undefined; contentLength?: string | undefined }): boolean {
  return status >= 400 && (headers.contentType ?? '').startsWith('application/json')
    && headers.contentEncoding === undefined && Number(headers.contentLength ?? 0) <= MAX_REWRITE_BYTES;
}

export function isRewritableResponse(upRes: IncomingMessage): boolean {
  const h = upRes.headers;
  return isRewritable(upRes.statusCode ?? 0, { contentType: h['content-type'], contentEncoding: h['content-encoding'], contentLength: h['content-length'] });
}

/** Reads the whole (small) error body, rewrites it, and answers with the result and the upstream's status. */
export function relayRewritten(upRes: IncomingMessage, res: ServerResponse, rewrite: RewriteError): void {
  const chunks: Buffer[] = [];
  let size = 0;
  upRes.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_REWRITE_BYTES) { upRes.destroy(); res.destroy(); return; }
    chunks.push(c);
  });
  upRes.on('error', () => res.destroy());
  upRes.on('end', () => {
    const original = Buffer.concat(chunks).toString('utf8');
    const body = rewrite(original) ?? original;
    const headers = withoutHeaders(responseHeaders(upRes.rawHeaders), ['content-length']);
    headers.push('Content-Length', String(Buffer.byteLength(body)));
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
    res.end(body);
  });
}

/** The status line and headers of a raw HTTP/1.1 response head (without the blank line). */
export interface ResponseHead {
  readonly statusLine: string;
  readonly status: number;
  /** Flat [name, value, ...] as received. */
  readonly headers: string[];
}

export function parseResponseHead(text: string): ResponseHead | undefined {
  const lines = text.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (m === null) return undefined;
  const headers: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { statusLine, status: Number(m[1]), headers };
}

export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === name) return headers[i + 1];
  return undefined;
}

function withoutHeaders(headers: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.includes((headers[i] as string).toLowerCase())) out.push(headers[i] as string, headers[i + 1] as string);
  }
  return out;
}

/**
 * What to do with the bytes an upgrade's upstream sent so far: wait for more, pass them (and all
 * that follows) through, or answer with a rewritten error response and close. PURE.
 */
export type AnswerStep =
  | { readonly kind: 'more' }
  | { readonly kind: 'pass' }
  | { readonly kind: 'answer'; readonly bytes: Buffer };

const MAX_HEAD_BYTES = 16 * 1024;

export function upgradeAnswerStep(received: Buffer, rewrite: RewriteError): AnswerStep {
  const end = received.indexOf('\r\n\r\n');
  if (end === -1) return received.length > MAX_HEAD_BYTES ? { kind: 'pass' } : { kind: 'more' };
  const head = parseResponseHead(received.subarray(0, end).toString('latin1'));
  if (head === undefined) return { kind: 'pass' };
  const length = headerValue(head.headers, 'content-length');
  const rewritable = isRewritable(head.status, {
    contentType: headerValue(head.headers, 'content-type'),
    contentEncoding: headerValue(head.headers, 'content-encoding'),
    contentLength: length,
  });
  // Without a Content-Length the body's end is unknown (chunked): relay it as it is.
  if (!rewritable || length === undefined || !/^\d+$/.test(length)) return { kind: 'pass' };
  const total = end + 4 + Number(length);
  if (received.length < total) return { kind: 'more' };
  const original = received.subarray(end + 4, total).toString('utf8');
  const body = rewrite(original);
  if (body === undefined) return { kind: 'pass' };
  // The tunnel never opened, so the connection ends with this answer.
  const headers = withoutHeaders(head.headers, ['content-length', 'connection', 'keep-alive']);
  headers.push('Content-Length', String(Buffer.byteLength(body)), 'Connection', 'close');
  let text = `${head.statusLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`;
  return { kind: 'answer', bytes: Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), Buffer.from(body, 'utf8')]) };
}

/**
 * Holds the upstream's answer to an upgrade until it is known: a 101 (or anything not rewritable)
 * is put back into the stream and `pass()` splices the tunnel; a rewritable error is answered,
 * rewritten, and both sides are closed.
 */
export function awaitUpgradeAnswer(upstream: Duplex, client: Duplex, rewrite: RewriteError, pass: () => void): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]);
    const step = upgradeAnswerStep(received, rewrite);
    if (step.kind === 'more') return;
    upstream.off('data', onData);
    upstream.off('end', onEnd);
    if (step.kind === 'pass') {
      upstream.pause();
      upstream.unshift(received);
      pass();
      return;
    }
    // Closing the upstream closes the client too (upgrade.ts), so only once the answer is flushed.
    client.end(step.bytes, () => upstream.destroy());
  };
  // The upstream closed before its answer was complete: relay what came.
  const onEnd = (): void => { upstream.off('data', onData); client.end(received); };
  upstream.on('data', onData);
  upstream.once('end', onEnd);
}
