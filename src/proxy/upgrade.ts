// Upgraded requests: exec, attach and port-forward over WebSocket (v5.channel.k8s.io, and SPDY
// tunnelled in WebSocket for port-forward) and over SPDY/3.1. The proxy does not speak either
// protocol: like Kubernetes' UpgradeAwareHandler it authenticates the request, dials the API server,
// replays the request line and headers, and from then on splices bytes both ways — the upstream's
// own 101 (or its error response) included.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { VcnetError } from '../errors.ts';
import { awaitUpgradeAnswer } from './rewrite.ts';
import { errorToStatus, rawStatusResponse } from './status.ts';
import type { ProxyState } from './state.ts';
import { dialUpstream } from './upstream.ts';

export function handleUpgrade(state: ProxyState, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  if (state.closing) { refuse(state, client, new VcnetError('VCN_ERR_PROXY_SHUTTING_DOWN'), protocolOf(req)); return; }
  state.targetFor(req, true).then((p) => {
    const headBytes = requestHead(req.method ?? 'GET', p.path, p.headers);
    const upstream = dialUpstream(p.upstream, p.withIdentity);
    const timer = setTimeout(() => upstream.destroy(new VcnetError('VCN_ERR_PROXY_UPSTREAM_CONNECT_TIMEOUT', [state.connectTimeoutMs])), state.connectTimeoutMs);
    upstream.once('secureConnect', () => {
      clearTimeout(timer);
      upstream.setNoDelay(true);
      upstream.write(headBytes);
      if (head.length > 0) upstream.write(head);
      if (p.rewriteError === undefined) splice(state, client, upstream);
      else awaitAnswer(state, client, upstream, p.rewriteError);
      state.metrics.upgrades.inc({ protocol: protocolOf(req), result: 'spliced' });
    });
    upstream.once('error', (err) => {
      clearTimeout(timer);
      if (!client.destroyed && upstream.bytesRead === 0) {
        refuse(state, client, err instanceof VcnetError ? err : new VcnetError('VCN_ERR_PROXY_UPSTREAM_UNAVAILABLE', [err.message], { cause: err }), protocolOf(req));
      } else {
        client.destroy();
      }
    });
  }, (err: unknown) => refuse(state, client, err, protocolOf(req)));
}

/** A low-cardinality label for the Upgrade header: websocket, spdy/3.1 or other. */
function protocolOf(req: IncomingMessage): string {
  const p = (req.headers.upgrade ?? '').toLowerCase();
  return p === 'websocket' || p === 'spdy/3.1' ? p : 'other';
}

function requestHead(method: string, path: string, headers: readonly string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    // Node's parser never yields these, but identities from certificates are written here too.
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) throw new VcnetError('VCN_ERR_PROXY_BAD_REQUEST', [`invalid character in header ${JSON.stringify(name)}`]);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

function splice(state: ProxyState, client: Duplex, upstream: TLSSocket): void {
  closeTogether(state, client, upstream);
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * Splices only once the upstream's answer is known, so an error answer can be rewritten first
 * (redirects: host names back to virtual ones). The client sends nothing before a 101 (WebSocket
 * and SPDY both wait for it), so holding its direction costs nothing.
 */
function awaitAnswer(state: ProxyState, client: Duplex, upstream: TLSSocket, rewrite: (body: string) => string | undefined): void {
  closeTogether(state, client, upstream);
  awaitUpgradeAnswer(upstream, client, rewrite, () => {
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

function closeTogether(state: ProxyState, client: Duplex, upstream: TLSSocket): void {
  state.trackUpgraded(client, upstream);
  // Either side closing closes the tunnel; half-open tunnels would leak sockets.
  const close = (): void => { client.destroy(); upstream.destroy(); };
  client.once('close', close);
  upstream.once('close', close);
  client.on('error', close);
  upstream.on('error', close);
}

function refuse(state: ProxyState, client: Duplex, err: unknown, protocol: string): void {
  const { status, unexpected } = errorToStatus(err);
  if (unexpected) state.log.error({ err }, 'unexpected error in the upgrade path');
  state.metrics.upgrades.inc({ protocol, result: String(status.code) });
  state.metrics.refused(status.code);
  if (!client.destroyed) client.end(rawStatusResponse(status));
}
