// Health, readiness and Prometheus metrics on their own plain-HTTP port, apart from the proxy's
// TLS listener, so probes and scrapes neither need client credentials nor compete with API traffic.
import Fastify, { LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export type ReadinessCheck = () => Promise<string | undefined>;

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  /** Each returns undefined when ready, or why not. */
  checks: Record<string, ReadinessCheck>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ loggerInstance: opts.logger.child({ component: 'health' }), logController: new LogController({ disableRequestLogging: true }) });
  let shuttingDown = false;
  app.addHook('onClose', async () => { shuttingDown = true; });
  app.get('/healthz', async () => 'ok');
  app.get('/livez', async () => 'ok');
  app.get('/readyz', async (_req, reply) => {
    if (shuttingDown) return reply.code(503).send('shutting down');
    const failures: string[] = [];
    await Promise.all(Object.entries(opts.checks).map(async ([name, check]) => {
      const why = await check().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (why !== undefined) failures.push(`${name}: ${why}`);
    }));
    if (failures.length > 0) return reply.code(503).send(`not ready\n${failures.sort().join('\n')}\n`);
    return 'ok';
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', opts.registry.contentType);
    return opts.registry.metrics();
  });
  const address = await app.listen({ host: opts.host, port: opts.port });
  return { url: address, close: () => app.close() };
}
