// Prometheus metrics of the sync engine and the reconciler (`vcnet_sync_*`).
import { Counter, Histogram, type Registry } from 'prom-client';

export class SyncMetrics {
  readonly duration: Histogram<'kind' | 'operation' | 'result'>;
  readonly failures: Counter<'kind' | 'operation'>;
  readonly statusLag: Histogram;
  readonly orphans: Counter<'kind'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'vcnet_sync_duration_seconds',
      help: 'Time to apply one virtual write to the host (webhook path), by kind, operation and result.',
      labelNames: ['kind', 'operation', 'result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'vcnet_sync_failures_total',
      help: 'Failed sync operations (each is retried), by kind and operation.',
      labelNames: ['kind', 'operation'],
      registers: [registry],
    });
    this.statusLag = new Histogram({
      name: 'vcnet_sync_status_lag_seconds',
      help: 'From a host pod change arriving on the watch to the virtual pod status written.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.orphans = new Counter({
      name: 'vcnet_sync_orphans_deleted_total',
      help: 'Host objects deleted because no virtual object (or no pod) needed them any more, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    });
  }
}
