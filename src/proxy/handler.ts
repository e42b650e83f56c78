// Ordinary (non-upgrade) requests: authenticate, then stream the body up and the response down
// with no buffering and no idle timeout, so watches and `logs -f` flow chunk by chunk.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { VcnetError } from '../errors.ts';
import { responseHeaders } from './headers.ts';
import { isRewritableResponse, relayRewritten } from './rewrite.ts';
import { classify, isLongRunning } from './select.ts';
import { errorToStatus, statusOf, type Status } from './status.ts';
import type { ProxyState } from './state.ts';

export function handle(state: ProxyState, req: IncomingMessage, res: ServerResponse): void {
  const started = process.hrtime.bigint();
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const cls = classify(method, url);
  const longRunning = isLongRunning(cls);
  if (state.closing && !longRunning) {
    sendError(state, res, new VcnetError('VCN_ERR_PROXY_SHUTTING_DOWN'));
    return;
  }

  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > state.maxBodyBytes) {
    // The client is still sending: read and discard the body so it gets to read this answer. Closing
    // with unread data would reset the connection, and kubectl would report "broken pipe" instead.
    const drain = Number(length) <= drainLimit(state);
    sendError(state, res, new VcnetError('VCN_ERR_PROXY_BODY_TOO_LARGE', [state.maxBodyBytes]), !drain);
    if (drain) req.resume();
    return;
  }

  state.targetFor(req, false).then((p) => {
    const chunked = length === undefined && req.headers['transfer-encoding'] !== undefined;
    // Transfer-Encoding is hop-by-hop, so it was dropped; re-frame a chunked body explicitly, since
    // Node only chunks by default for methods that usually carry a body (not DELETE or OPTIONS).
    if (chunked) p.headers.push('Transfer-Encoding', 'chunked');
    const upReq = https.request({
      agent: p.withIdentity ? p.upstream.identityAgent : p.upstream.passthroughAgent,
      host: p.upstream.host,
      port: p.upstream.port,
      method,
      path: p.path,
      headers: p.headers,
      setHost: false,
    });
    let upstreamRes: IncomingMessage | undefined;
    if (longRunning) {
      state.trackLongRunning(res, () => {
        upstreamRes?.unpipe(res);
        upReq.destroy();
        if (res.headersSent) res.end(); else sendError(state, res, new VcnetError('VCN_ERR_PROXY_SHUTTING_DOWN'));
      });
    }

    upReq.on('response', (upRes) => {
      upstreamRes = upRes;
      if (isPlainNotFound(upRes)) {
        // kube-apiserver answers paths outside its API with a plain-text "404 page not found";
        // clients get the Status it uses for unknown resources instead.
        upRes.resume();
        writeStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', {}), false);
        state.metrics.observe(method, cls, 404, started);
        return;
      }
      if (p.rewriteError !== undefined && isRewritableResponse(upRes)) {
        relayRewritten(upRes, res, p.rewriteError);
        res.on('finish', () => { if (!longRunning) state.metrics.observe(method, cls, upRes.statusCode ?? 0, started); });
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes.rawHeaders));
      // Watches: headers go out at once, and every chunk as it arrives (no compression, no buffering).
      if (longRunning) res.flushHeaders();
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
      res.on('finish', () => {
        if (!longRunning) state.metrics.observe(method, cls, upRes.statusCode ?? 0, started);
      });
    });
    upReq.on('error', (err) => {
      if (res.writableEnded) return; // already answered (a refused body): let that answer flush
      if (res.headersSent) { res.destroy(); return; }
      sendError(state, res, upstreamError(err, state.connectTimeoutMs));
    });
    upReq.setTimeout(state.connectTimeoutMs, () => {
      // Only the connect phase is timed; after the socket connects the timeout is cleared below.
      upReq.destroy(Object.assign(new Error('connect timeout'), { code: 'VCNET_CONNECT_TIMEOUT' }));
    });
    upReq.on('socket', (s) => {
      s.setNoDelay(true);
      if (!s.connecting) { upReq.setTimeout(0); return; }
      s.once('connect', () => upReq.setTimeout(0));
    });
    // The caller went away (a closed watch, a cancelled request): stop the upstream side too.
    res.on('close', () => { if (!res.writableFinished) upReq.destroy(); });

    if (length === undefined && !chunked) {
      upReq.end();
    } else if (length !== undefined) {
      req.pipe(upReq);
    } else {
      req.pipe(limit(state.maxBodyBytes, drainLimit(state), () => {
        upReq.destroy();
        if (!res.headersSent) sendError(state, res, new VcnetError('VCN_ERR_PROXY_BODY_TOO_LARGE', [state.maxBodyBytes]));
      }, () => req.destroy())).pipe(upReq);
    }
  }, (err: unknown) => {
    sendError(state, res, err, true);
  });
}

export function sendError(state: ProxyState, res: ServerResponse, err: unknown, close = false): void {
  const { status, unexpected } = errorToStatus(err);
  if (unexpected) state.log.error({ err }, 'unexpected error in the proxy');
  else state.log.debug({ code: status.code, reason: status.reason, msg: status.message }, 'request refused');
  writeStatus(res, status, close);
  state.metrics.refused(status.code);
}

export function writeStatus(res: ServerResponse, status: Status, close: boolean): void {
  if (res.headersSent) { res.destroy(); return; }
  const body = JSON.stringify(status);
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
  // The unread request body (a refused upload) would otherwise be parsed as the next request.
  if (close) headers['Connection'] = 'close';
  res.writeHead(status.code, headers);
  res.end(body);
}

function upstreamError(err: NodeJS.ErrnoException, connectTimeoutMs: number): VcnetError {
  if (err.code === 'VCNET_CONNECT_TIMEOUT') return new VcnetError('VCN_ERR_PROXY_UPSTREAM_CONNECT_TIMEOUT', [connectTimeoutMs], { cause: err });
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return new VcnetError('VCN_ERR_PROXY_UPSTREAM_RESET', [err.message], { cause: err });
  return new VcnetError('VCN_ERR_PROXY_UPSTREAM_UNAVAILABLE', [err.message], { cause: err });
}

/** How much of a refused body vcnet reads and discards before it cuts the connection instead. */
function drainLimit(state: ProxyState): number {
  return 4 * state.maxBodyBytes;
}

/**
 * Counts a chunked body. Past `max` bytes it calls `onExceeded` once and discards the rest (so the
 * refusal can be read), until `drainMax` bytes, where it calls `onTooMuch` to cut the connection.
 */
function limit(max: number, drainMax: number, onExceeded: () => void, onTooMuch: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const before = seen;
      seen += chunk.length;
      if (seen <= max) { cb(null, chunk); return; }
      if (before <= max) onExceeded();
      if (seen > drainMax && before <= drainMax) onTooMuch();
      cb();
    },
  });
}

function isPlainNotFound(upRes: IncomingMessage): boolean {
  return upRes.statusCode === 404 && (upRes.headers['content-type'] ?? '').startsWith('text/plain');
}
