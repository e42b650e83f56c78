// DNS of a host pod (§2.2 "DNS injection" of /work/shared/reference/vcluster-networking.md, with
// DESIGN.md's improvement). A host pod left on ClusterFirst would resolve through the HOST cluster's
// DNS and never find virtual Services, so pods that would use cluster DNS get `dnsPolicy: None` and
// an explicit dnsConfig pointing at vcnet's DNS Service, with the search path the virtual kubelet
// would have written.
import assert from 'node:assert/strict';
import type { DNSPolicy, PodDNSConfig, PodDNSConfigOption, PodSpec } from './pod-types.ts';

/** Kubernetes validation limits of a pod's dnsConfig (ExpandedDNSConfig, GA since 1.28). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCHES = 32;
export const MAX_DNS_SEARCH_CHARS = 2048;

/** resolv.conf's ndots for cluster DNS, as the kubelet writes it for ClusterFirst pods. */
const NDOTS = '5';

/**
 * Whether the virtual pod would resolve through the cluster's DNS: ClusterFirst (the default)
 * unless it uses the host network, and ClusterFirstWithHostNet. A hostNetwork pod on ClusterFirst
 * falls back to Default in Kubernetes, and Default and None never use cluster DNS: those are left as
 * they are, like vCluster does.
 */
export function usesClusterDNS(vSpec: Pick<PodSpec, 'dnsPolicy' | 'hostNetwork'>): boolean {
  const policy: DNSPolicy = vSpec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirstWithHostNet') return true;
  return policy === 'ClusterFirst' && vSpec.hostNetwork !== true;
}

/** The search path of a pod in `vNamespace`: `<ns>.svc.<domain>`, `svc.<domain>`, `<domain>`. */
export function clusterSearches(vNamespace: string, clusterDomain: string): string[] {
  if (clusterDomain === '') return [];
  return [`${vNamespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * vcnet's `ndots:5` first, then the user's options in their order. A user option with the same name
 * replaces vcnet's (so a user-given ndots wins) and a repeated name keeps its last value, which is
 * how the kubelet merges a ClusterFirst pod's dnsConfig options into the cluster's resolv.conf.
 * vCluster drops the user's options altogether, so e.g. `single-request-reopen` silently vanished.
 */
function mergeOptions(user: readonly PodDNSConfigOption[]): PodDNSConfigOption[] {
  const byName = new Map<string, PodDNSConfigOption>([['ndots', { name: 'ndots', value: NDOTS }]]);
  // Map.set keeps a key's first position: ndots stays first, a repeated option keeps its last value.
  for (const o of user) byName.set(o.name ?? '', o);
  return [...byName.values()];
}

export interface HostDNS {
  readonly dnsPolicy?: DNSPolicy;
  readonly dnsConfig?: PodDNSConfig;
  readonly warnings: readonly string[];
}

/**
 * dnsPolicy and dnsConfig of the host pod. For a pod that uses cluster DNS: policy None, nameservers
 * `[dnsIP, ...the user's]`, searches `[cluster search path, ...the user's]` (duplicates removed), and
 * the merged options. The result is cut to what the host API server accepts (3 nameservers, 32
 * searches, 2048 characters), keeping vcnet's entries first and reporting what was dropped, as the
 * kubelet does when it merges a ClusterFirst pod's dnsConfig. Other pods keep theirs unchanged.
 */
export function toHostDNS(
  vSpec: Pick<PodSpec, 'dnsPolicy' | 'hostNetwork' | 'dnsConfig'>,
  vNamespace: string,
  dnsIP: string,
  clusterDomain: string,
): HostDNS {
  if (!usesClusterDNS(vSpec)) {
    return { ...(vSpec.dnsPolicy === undefined ? {} : { dnsPolicy: vSpec.dnsPolicy }), ...(vSpec.dnsConfig === undefined ? {} : { dnsConfig: vSpec.dnsConfig }), warnings: [] };
  }
  assert.ok(dnsIP !== '', 'podToHost: facts.dnsIP (the ClusterIP of vcnet\'s DNS Service) is required for pods that use cluster DNS');
  const user = vSpec.dnsConfig ?? {};
  const warnings: string[] = [];

  let nameservers = unique([dnsIP, ...(user.nameservers ?? [])]);
  if (nameservers.length > MAX_DNS_NAMESERVERS) {
    warnings.push(`dnsConfig.nameservers: at most ${MAX_DNS_NAMESERVERS} nameservers fit next to the cluster DNS server; ` +
      `dropped ${nameservers.slice(MAX_DNS_NAMESERVERS).join(', ')}`);
    nameservers = nameservers.slice(0, MAX_DNS_NAMESERVERS);
  }

  const searches = unique([...clusterSearches(vNamespace, clusterDomain), ...(user.searches ?? [])]);
  const kept: string[] = [];
  let chars = -1;
  for (const s of searches) {
    if (kept.length === MAX_DNS_SEARCHES || chars + 1 + s.length > MAX_DNS_SEARCH_CHARS) break;
    kept.push(s);
    chars += 1 + s.length;
  }
  if (kept.length < searches.length) {
    warnings.push(`dnsConfig.searches: at most ${MAX_DNS_SEARCHES} search domains of ${MAX_DNS_SEARCH_CHARS} characters ` +
      `in all fit next to the cluster search path; dropped ${searches.slice(kept.length).join(', ')}`);
  }

  const dnsConfig: PodDNSConfig = {
    nameservers,
    ...(kept.length === 0 ? {} : { searches: kept }),
    options: mergeOptions(user.options ?? []),
  };
  return { dnsPolicy: 'None', dnsConfig, warnings };
}
