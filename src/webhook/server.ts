// The webhook's HTTPS listener. kube-apiserver only calls https:// webhooks, and verifies the serving
// certificate against the configuration's caBundle, IP SANs included (https://127.0.0.1:<port> needs
// IP:127.0.0.1 in the certificate).
import Fastify, { LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import { webhookPlugin, type WebhookHook } from './plugin.ts';
import { statusOf } from '../errors.ts';

/** How long close() lets admission answers in flight finish before it cuts the connections. */
const CLOSE_GRACE_MS = 2000;

export interface WebhookServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  servingCert: { certPem: string; keyPem: string };
  logger: Logger;
  registry: Registry;
  hooks: readonly WebhookHook[];
  timeoutMarginMs?: number;
}

export interface WebhookServer {
  /** `https://<host>:<port>`, without a trailing slash: append a hook's path for clientConfig.url. */
  readonly url: string;
  readonly port: number;
  /** Swaps the serving certificate: new handshakes get it, open connections keep theirs. */
  setServingCert(pair: { certPem: string; keyPem: string }): void;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const tls = (pair: { certPem: string; keyPem: string }) => ({ cert: pair.certPem, key: pair.keyPem });
  const app = Fastify({
    https: { ...tls(opts.servingCert), minVersion: 'TLSv1.2' },
    loggerInstance: opts.logger.child({ component: 'webhook' }),
    logController: new LogController({ disableRequestLogging: true }),
    // The API server keeps connections to webhooks alive between calls; its own timeout bounds each call.
    keepAliveTimeout: 90_000,
    return503OnClosing: true,
  });
  await app.register(webhookPlugin, {
    hooks: opts.hooks,
    registry: opts.registry,
    ...(opts.timeoutMarginMs !== undefined ? { timeoutMarginMs: opts.timeoutMarginMs } : {}),
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).type('application/json')
    .send(statusOf(404, 'NotFound', `no admission hook is served at ${request.method} ${request.url.split('?')[0]}`)));
  await app.listen({ host: opts.host, port: opts.port });
  const port = (app.server.address() as { port: number }).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `https://${host}:${port}`,
    port,
    setServingCert(pair) {
      app.server.setSecureContext(tls(pair));
    },
    async close() {
      // The API server keeps its connections to the webhook alive (keepAliveTimeout above), and a
      // connection it is about to reuse does not count as idle: give answers in flight a moment,
      // then cut what is left instead of waiting out the keep-alive.
      const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
