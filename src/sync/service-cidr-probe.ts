// The host's service ranges learnt by dry-run probes, for a vcnet that may not list the host's
// ServiceCIDRs (or a host without them). Nothing is stored: every request is a `dryRun=All` create
// of a Service in vcnet's host namespace, so it needs only `create services` there (manifests/role.yaml).
//
//   1. A Service without an address: the host's answer names the families it serves (ipFamilies,
//      primary first) and an address of each.
//   2. Per family, Services pinned to the unallocatable `0.0.0.0` / `::`: refused with "... The range
//      of valid IPs is <range>" (service-cidr-rules.ts readProbeAnswer).
//   3. If the refusal names no range: a binary search around the address of step 1 (searchRange).
//
// A dry run asks ONE allocator of the family: the first of a Go map (kube-apiserver
// pkg/registry/core/service/ipallocator/cidrallocator.go MetaAllocator.DryRun), whose iteration
// order favours the oldest range, the flag's. Measured on v1.34.4 with two ranges, the newer one was
// named in 2 of 20 probes (about 1 in 8). So several probes are needed to see more than the primary
// range, and finding every range is likely, never certain: listing ServiceCIDRs comes first.
import { parseIP, type Family } from '../config/checks.ts';
import { KubeApiError, toApiStatus, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import { coveredBy, rangeTexts, readProbeAnswer, searchRange, unallocatableAddress, type ProbeAnswer, type Range } from './service-cidr-rules.ts';

/** The probe Service's name; it is never stored. */
export const PROBE_SERVICE = 'vcnet-service-cidr-probe';
/** Probes per family for a full detection. */
export const PROBES_PER_FAMILY = 16;
/** Probes when looking for the range of given addresses; stops as soon as it is found. At 1 in 8, 64 probes miss it with odds of 1 in 5,000. */
export const PROBES_FOR_ADDRESS = 64;

export interface ProbeOptions {
  readonly transport: KubeTransport;
  /** Where the dry-run Services are "created": vcnet's host namespace. */
  readonly namespace: string;
  /** Look for the ranges of these addresses only (their families); empty: every family. */
  readonly lookFor: readonly string[];
  readonly logger: Logger;
}

/**
 * The host's ranges, each family's most often named first (the flag's, see the header), primary
 * family first. A 403 (may not create Services there) and failures of the host go up as they are.
 */
export async function probeHostRanges(opts: ProbeOptions): Promise<Range[]> {
  const first = await dryRunService(opts, { ipFamilyPolicy: 'PreferDualStack' });
  if (!first.ok) throw new KubeApiError({ code: 500, reason: 'InternalError', message: `the host refused the probe Service: ${first.message}`, details: undefined, retryable: true });
  const families = (first.service.spec?.ipFamilies ?? ['IPv4']).map((f) => (f === 'IPv6' ? 6 : 4) as Family);
  const seeds = first.service.spec?.clusterIPs ?? [];
  const found: Range[] = [];
  for (const [i, family] of families.entries()) {
    const targets = opts.lookFor.filter((ip) => parseIP(ip)?.family === family);
    // Looking for given addresses: the other family's ranges are known already.
    if (opts.lookFor.length > 0 && targets.length === 0) continue;
    const named = await namedRanges(opts, family, targets);
    if (named.length > 0) {
      found.push(...named);
      continue;
    }
    // The refusal named no range (another API server's wording): search around the seed address.
    const seed = parseIP(seeds[i] ?? '');
    if (seed === undefined || seed.family !== family) continue;
    const range = await searchRange(seed, async (ip) => {
      const a = await probeAddress(opts, ip);
      if (a.kind === 'unknown') throw new KubeApiError({ code: 500, reason: 'InternalError', message: `the host's answer to a probe of ${ip} is not understood`, details: undefined, retryable: true });
      return a.kind === 'inside';
    });
    if (range !== undefined) found.push(range);
  }
  opts.logger.debug({ ranges: rangeTexts(found), lookFor: opts.lookFor }, 'probed the host\'s service ranges');
  return found;
}

/** The ranges the refusals of the family's unallocatable address name, most often named first. */
async function namedRanges(opts: ProbeOptions, family: Family, targets: readonly string[]): Promise<Range[]> {
  const counts = new Map<string, { range: Range; n: number }>();
  const probes = targets.length > 0 ? PROBES_FOR_ADDRESS : PROBES_PER_FAMILY;
  for (let p = 0; p < probes; p++) {
    const answer = await probeAddress(opts, unallocatableAddress(family));
    if (answer.kind === 'family-not-configured') break;
    if (answer.kind !== 'outside' || answer.range === undefined) continue;
    const seen = counts.get(answer.range.text) ?? { range: answer.range, n: 0 };
    seen.n++;
    counts.set(answer.range.text, seen);
    // Looking for the range of given addresses: stop once they are all inside what was seen.
    const ranges = [...counts.values()].map((c) => c.range);
    if (targets.length > 0 && targets.every((ip) => coveredBy(ranges, ip))) break;
  }
  return [...counts.values()].sort((a, b) => b.n - a.n).map((c) => c.range);
}

async function probeAddress(opts: ProbeOptions, ip: string): Promise<ProbeAnswer> {
  const r = await dryRunService(opts, { clusterIP: ip, clusterIPs: [ip], ipFamilyPolicy: 'SingleStack', ipFamilies: [ip.includes(':') ? 'IPv6' : 'IPv4'] });
  return r.ok ? { kind: 'inside' } : readProbeAnswer(r.message);
}

interface ProbeService {
  spec?: { clusterIPs?: string[]; ipFamilies?: string[] };
}

async function dryRunService(opts: ProbeOptions, spec: Record<string, unknown>): Promise<{ ok: true; service: ProbeService } | { ok: false; message: string }> {
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/services`;
  const body = { apiVersion: 'v1', kind: 'Service', metadata: { name: PROBE_SERVICE }, spec: { ...spec, ports: [{ name: 'probe', port: 443 }] } };
  try {
    return { ok: true, service: await opts.transport.request<ProbeService>('POST', path, { query: { dryRun: 'All' }, body }) };
  } catch (err) {
    // 422 Invalid carries the allocator's answer; anything else (403, 5xx, the network) goes up.
    if (toApiStatus(err).code !== 422) throw err;
    return { ok: false, message: toApiStatus(err).message };
  }
}
