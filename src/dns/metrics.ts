// Prometheus metrics of the DNS server, `vcnet_dns_` prefixed, on the registry the caller passes
// (each server gets its own in tests, like ProxyMetrics).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Query types worth a label value of their own; every other type counts as `other` (bounded cardinality). */
const KNOWN_TYPES = new Set(['A', 'AAAA', 'CNAME', 'SRV', 'PTR', 'TXT', 'MX', 'NS', 'SOA', 'ANY', 'HTTPS', 'SVCB', 'CAA', 'DS', 'DNSKEY', 'AXFR', 'IXFR']);

export class DnsMetrics {
  readonly registry: Registry;
  readonly queries: Counter<'type' | 'rcode'>;
  readonly duration: Histogram<'source'>;
  readonly dropped: Counter<'reason'>;
  readonly truncated: Counter;
  readonly cacheHits: Counter;
  readonly cacheInvalidations: Counter;
  readonly cacheEntries: Gauge;

  constructor(registry = new Registry()) {
    this.registry = registry;
    this.queries = new Counter({
      name: 'vcnet_dns_queries_total',
      help: 'DNS queries answered, by query type and response code.',
      labelNames: ['type', 'rcode'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'vcnet_dns_duration_seconds',
      help: 'Time from a query\'s arrival to its answer, by the resolver that answered (cluster, rule, forward, none).',
      labelNames: ['source'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'vcnet_dns_dropped_packets_total',
      help: 'Packets dropped without an answer: too short for a header, or responses (QR=1).',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.truncated = new Counter({
      name: 'vcnet_dns_truncated_responses_total',
      help: 'UDP answers sent with TC=1 because they exceeded the client\'s payload size.',
      registers: [registry],
    });
    this.cacheHits = new Counter({
      name: 'vcnet_dns_answer_cache_hits_total',
      help: 'Queries answered from the answer cache (the rest of vcnet_dns_queries_total was resolved).',
      registers: [registry],
    });
    this.cacheInvalidations = new Counter({
      name: 'vcnet_dns_answer_cache_invalidations_total',
      help: 'Times the answer cache was emptied because what the resolvers answer from changed.',
      registers: [registry],
    });
    this.cacheEntries = new Gauge({
      name: 'vcnet_dns_answer_cache_entries',
      help: 'Answers the answer cache holds.',
      registers: [registry],
    });
  }

  observe(type: string, rcode: string, source: string, startedNs: bigint): void {
    this.queries.inc({ type: KNOWN_TYPES.has(type) ? type : 'other', rcode });
    this.duration.observe({ source }, Number(process.hrtime.bigint() - startedNs) / 1e9);
  }
}
