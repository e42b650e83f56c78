// Prometheus metrics, prefixed `vcnet_`. Each server gets its own registry (tests run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A registry with Node's process metrics (CPU, memory, event loop lag), `vcnet_` prefixed: what every vcnet process exports. */
export function processRegistry(registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry, prefix: 'vcnet_' });
  return registry;
}

export class ProxyMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'method' | 'class' | 'code'>;
  readonly refusals: Counter<'code'>;
  readonly longRunning: Gauge;
  readonly upgrades: Counter<'protocol' | 'result'>;
  readonly certExpiry: Gauge<'certificate'>;

  constructor(registry = new Registry(), opts: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    if (opts.defaultMetrics === true) processRegistry(registry);
    this.requestDuration = new Histogram({
      name: 'vcnet_proxy_request_duration_seconds',
      help: 'Latency of proxied requests that are not long-running, from arrival to the end of the response.',
      labelNames: ['method', 'class', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.refusals = new Counter({
      name: 'vcnet_proxy_refused_requests_total',
      help: 'Requests vcnet answered itself with an error Status (authentication, limits, upstream down).',
      labelNames: ['code'],
      registers: [registry],
    });
    this.longRunning = new Gauge({
      name: 'vcnet_proxy_long_running_requests',
      help: 'Open watches and log streams.',
      registers: [registry],
    });
    this.upgrades = new Counter({
      name: 'vcnet_proxy_upgrades_total',
      help: 'Upgraded connections (exec, attach, port-forward) by protocol (websocket, spdy/3.1) and result (spliced, or the HTTP code vcnet refused with).',
      labelNames: ['protocol', 'result'],
      registers: [registry],
    });
    this.certExpiry = new Gauge({
      name: 'vcnet_certificate_expiry_timestamp_seconds',
      help: 'When each certificate vcnet serves expires (Unix time).',
      labelNames: ['certificate'],
      registers: [registry],
    });
  }

  observe(method: string, cls: string, code: number, startedNs: bigint): void {
    const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
    this.requestDuration.observe({ method, class: cls, code: String(code) }, seconds);
  }

  refused(code: number): void {
    this.refusals.inc({ code: String(code) });
  }
}
