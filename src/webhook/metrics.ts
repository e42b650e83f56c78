// The webhook's Prometheus metrics, registered on the registry the caller injects. Several webhook
// plugins may share one registry (mutating and validating surfaces), so metrics are reused by name.
import { Counter, Histogram, type Registry } from 'prom-client';

/** allowed | patched | denied | timeout | error (a crash: 500) | bad_request (malformed envelope). */
export type WebhookResult = 'allowed' | 'patched' | 'denied' | 'timeout' | 'error' | 'bad_request';

export interface WebhookMetrics {
  observe(hook: string, operation: string, result: WebhookResult, startedNs: bigint): void;
}

const REQUESTS = 'vcnet_webhook_requests_total';
const DURATION = 'vcnet_webhook_request_duration_seconds';

export function webhookMetrics(registry: Registry): WebhookMetrics {
  const requests = (registry.getSingleMetric(REQUESTS) as Counter<'hook' | 'operation' | 'result'> | undefined) ?? new Counter({
    name: REQUESTS,
    help: 'AdmissionReview requests answered, by hook, operation and result (allowed, patched, denied, timeout, error, bad_request).',
    labelNames: ['hook', 'operation', 'result'],
    registers: [registry],
  });
  const duration = (registry.getSingleMetric(DURATION) as Histogram<'hook' | 'operation'> | undefined) ?? new Histogram({
    name: DURATION,
    help: 'Time from an AdmissionReview arriving to its answer, by hook and operation.',
    labelNames: ['hook', 'operation'],
    // Sync hooks write to the host before answering: milliseconds normally, up to the 10 s default timeout.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    observe(hook, operation, result, startedNs) {
      requests.inc({ hook, operation, result });
      duration.observe({ hook, operation }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    },
  };
}
