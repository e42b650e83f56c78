// The proxy's fastify server: one TLS listener (HTTP/1.1 only: a 101 upgrade is impossible over
// HTTP/2), no body parsing (bodies stream through untouched), every route handed to handler.ts and
// every upgrade to upgrade.ts. Errors that fastify itself raises are rendered as metav1.Status too.
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController } from 'fastify';
import { VcnetError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { ProxyMetrics } from '../observability/metrics.ts';
import { handle, sendError } from './handler.ts';
import { ImpersonationAuthorizer } from './impersonation.ts';
import { Redirector, virtualApiFromKubeConfig, type RedirectOptions } from './redirector.ts';
import { ProxyState } from './state.ts';
import { errorToStatus, rawStatusResponse, statusOf } from './status.ts';
import { handleUpgrade } from './upgrade.ts';
import type { Upstream } from './upstream.ts';

export interface ProxyServerOptions {
  upstream: Upstream;
  servingCert: { certPem: string; keyPem: string };
  /** PEM of the CA whose client certificates identify users; without it only bearer tokens work. */
  clientCA?: string | undefined;
  host: string;
  port: number;
  maxBodyBytes: number;
  impersonationCacheSeconds: number;
  connectTimeoutMs?: number;
  logger: Logger;
  metrics: ProxyMetrics;
  /** Overrides the SubjectAccessReview call (tests). */
  impersonation?: ImpersonationAuthorizer;
  /**
   * Subresource redirects: `pods/log|exec|attach|portforward` of virtual pods are authorized
   * against the virtual cluster and served by the host pods (redirector.ts). Absent: off, every
   * request goes to the virtual API server.
   */
  redirect?: RedirectOptions | undefined;
}

export interface ProxyServer {
  readonly server: HttpsServer;
  readonly url: string;
  readonly port: number;
  readonly state: ProxyState;
  /** Swaps the serving certificate: new handshakes get it, open connections keep theirs. */
  setServingCert(pair: { certPem: string; keyPem: string }): void;
  /** Stops accepting, ends streams so clients reconnect elsewhere, waits up to graceMs for the rest. */
  close(graceMs?: number): Promise<void>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export async function startProxy(opts: ProxyServerOptions): Promise<ProxyServer> {
  const tlsOptions = (pair: { certPem: string; keyPem: string }) => ({
    cert: pair.certPem,
    key: pair.keyPem,
    ...(opts.clientCA !== undefined ? { ca: opts.clientCA } : {}),
  });
  const log = opts.logger.child({ component: 'proxy' });
  const app = Fastify({
    https: {
      ...tlsOptions(opts.servingCert),
      // Ask for a certificate but let requests without one reach token authentication; a
      // presented certificate that fails verification is refused in identity.ts.
      requestCert: opts.clientCA !== undefined,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    },
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // Watches, `logs -f` and long uploads must never be cut by a server-side timer.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 90_000,
    return503OnClosing: false,
    forceCloseConnections: false,
    exposeHeadRoutes: false,
    // A request Node's HTTP parser rejects (garbage, a malformed request line, an unframed body)
    // still gets a Status, then the connection is closed.
    clientErrorHandler: (err, socket) => {
      if (socket.writable) {
        socket.end(rawStatusResponse(statusOf(400, 'BadRequest', `Bad request: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      } else {
        socket.destroy(err);
      }
    },
    frameworkErrors: (err, request, reply) => {
      reply.hijack();
      sendError(state, reply.raw, new VcnetError('VCN_ERR_PROXY_BAD_REQUEST', [err.message]), true);
      void request;
    },
  });
  const impersonation = opts.impersonation ?? ImpersonationAuthorizer.forKubeConfig(opts.upstream.kubeConfig, opts.impersonationCacheSeconds);
  // Built (and its options checked) before anything listens.
  const redirect = opts.redirect === undefined ? undefined : new Redirector({
    ...opts.redirect,
    virtualApi: opts.redirect.virtualApi ?? virtualApiFromKubeConfig(opts.upstream.kubeConfig),
    impersonation,
    registry: opts.metrics.registry,
    log,
  });
  const state = new ProxyState({
    upstream: opts.upstream,
    impersonation,
    redirect,
    maxBodyBytes: opts.maxBodyBytes,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    metrics: opts.metrics,
    log,
  });

  // Bodies are never parsed: whatever the content type (JSON, YAML, protobuf, CBOR, patches) it
  // streams to the API server, which is the one to judge it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.route({
    method: METHODS,
    url: '/*',
    handler(request, reply) {
      reply.hijack();
      handle(state, request.raw, reply.raw);
    },
  });
  app.setNotFoundHandler((request, reply) => {
    reply.hijack();
    sendError(state, reply.raw, new VcnetError('VCN_ERR_PROXY_BAD_REQUEST', [`method ${request.method} is not supported`]), true);
  });
  app.setErrorHandler((err, _request, reply) => {
    const { status } = errorToStatus(err);
    reply.code(status.code).type('application/json').send(status);
  });
  app.server.on('upgrade', (req, socket, head) => handleUpgrade(state, req, socket, head));

  const address = await app.listen({ host: opts.host, port: opts.port });
  const port = (app.server.address() as { port: number }).port;
  return {
    server: app.server,
    url: address,
    port,
    state,
    setServingCert(pair) {
      app.server.setSecureContext(tlsOptions(pair));
    },
    async close(graceMs = 10_000) {
      state.closing = true;
      const closed = app.close();
      app.server.closeIdleConnections();
      state.endStreams();
      const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
      try { await closed; } finally { clearTimeout(timer); redirect?.close(); }
    },
  };
}
