// What one running proxy shares between its request path, its upgrade path and its shutdown.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import type { ImpersonationAuthorizer } from './impersonation.ts';
import type { Redirector } from './redirector.ts';
import { virtualTarget, type Target } from './target.ts';
import type { Upstream } from './upstream.ts';
import type { ProxyMetrics } from '../observability/metrics.ts';

export class ProxyState {
  readonly upstream: Upstream;
  readonly impersonation: ImpersonationAuthorizer;
  readonly maxBodyBytes: number;
  readonly connectTimeoutMs: number;
  readonly metrics: ProxyMetrics;
  readonly log: FastifyBaseLogger;
  /** Subresource redirects to host pods; undefined when they are off (everything goes to the virtual API server). */
  readonly redirect: Redirector | undefined;
  closing = false;
  readonly #longRunning = new Map<ServerResponse, () => void>();
  readonly #upgraded = new Set<Duplex>();

  constructor(opts: {
    upstream: Upstream; impersonation: ImpersonationAuthorizer; maxBodyBytes: number;
    connectTimeoutMs: number; metrics: ProxyMetrics; log: FastifyBaseLogger; redirect?: Redirector | undefined;
  }) {
    this.upstream = opts.upstream;
    this.impersonation = opts.impersonation;
    this.maxBodyBytes = opts.maxBodyBytes;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.redirect = opts.redirect;
  }

  /** Where `req` goes: the host pod for a subresource redirect (when redirects are on), else the virtual API server. */
  targetFor(req: IncomingMessage, upgrade: boolean): Promise<Target> {
    const url = req.url ?? '/';
    const socket = req.socket as TLSSocket;
    const route = this.redirect?.match(req.method ?? 'GET', url);
    if (route !== undefined && this.redirect !== undefined) return this.redirect.prepare(route, socket, req.rawHeaders, upgrade);
    return virtualTarget(this.upstream, this.impersonation, socket, req.rawHeaders, url, upgrade);
  }

  /** `stop` ends the stream cleanly; shutdown calls it so clients re-establish their watches elsewhere. */
  trackLongRunning(res: ServerResponse, stop: () => void): void {
    this.#longRunning.set(res, stop);
    this.metrics.longRunning.inc();
    res.once('close', () => { this.#longRunning.delete(res); this.metrics.longRunning.dec(); });
  }

  trackUpgraded(...sockets: Duplex[]): void {
    for (const s of sockets) {
      this.#upgraded.add(s);
      s.once('close', () => this.#upgraded.delete(s));
    }
  }

  get openStreams(): number {
    return this.#longRunning.size + this.#upgraded.size;
  }

  /** Ends watches and log streams cleanly (clients re-establish them) and cuts upgraded tunnels. */
  endStreams(): void {
    for (const stop of this.#longRunning.values()) stop();
    for (const s of this.#upgraded) s.destroy();
  }
}
