// The pure rules behind ServiceCIDRs (service-cidr.ts): which host service ranges count, which
// virtual ServiceCIDRs to create or delete, and how to read the host's answer to a probe. No I/O:
// the caller gathers the objects and answers. How a range is named in the virtual cluster, and how
// vcnet marks its own ServiceCIDRs, is a virtual <-> host mapping rule: src/translate/service-cidr.ts.
//
// Kubernetes facts these rules follow (v1.34, KEP-1880 "Multiple Service CIDRs", GA in 1.33):
//   - A cluster's service ranges are ServiceCIDR objects (networking.k8s.io/v1, cluster-scoped); the
//     one from --service-cluster-ip-range is named `kubernetes`. Each holds one CIDR or two of
//     different families (pkg/apis/networking/validation validateServiceCIDRSpec).
//   - The API server allocates from a ServiceCIDR when its Ready condition is True, or when it has
//     no Ready condition at all ("in order to handle scenarios where kcm is not running"), and it is
//     not being deleted (pkg/registry/core/service/ipallocator/cidrallocator.go isReady,
//     syncAllocators). kube-controller-manager's servicecidrs controller sets Ready=True with the
//     message "Kubernetes Service CIDR is ready", and Ready=False with reason Terminating while a
//     deleted ServiceCIDR still has addresses in use.
//   - An address outside a range is refused with "the provided IP (<ip>) is not in the valid range.
//     The range of valid IPs is <cidr>" (ipallocator/interfaces.go ErrNotInRange). A range's first
//     address (its network address) is never allocatable (ipallocator.go NewIPAllocator: first =
//     network + 1), so `0.0.0.0` and `::` are outside every range, whatever the ranges are.
import { bitsOf, formatIP, hostMask, parseIP, splitCIDR, type Family, type IP } from '../config/checks.ts';
import { DEFAULT_SERVICE_CIDR, isVcnetServiceCIDR, virtualServiceCIDRFor, virtualServiceCIDRName, type ServiceCIDRObject } from '../translate/index.ts';

/** A service range: `10.96.0.0/12`, `fd00::/108`. `text` is canonical (RFC 5952 for IPv6, host bits cleared). */
export interface Range {
  readonly family: Family;
  readonly value: bigint;
  readonly prefix: number;
  readonly text: string;
}

/** Parses one CIDR; host bits are cleared (the API server's IsValidCIDR accepts none, config refuses them). Undefined when not a CIDR. */
export function parseRange(text: string): Range | undefined {
  const cidr = splitCIDR(text.trim());
  return typeof cidr === 'string' ? undefined : networkOf(cidr, cidr.prefix);
}

/** Parses a comma-separated list (`networking.serviceCIDR`, the cache annotation); undefined if any part is not a CIDR. */
export function parseRangeList(text: string): Range[] | undefined {
  if (text.trim() === '') return [];
  const out: Range[] = [];
  for (const part of text.split(',')) {
    const r = parseRange(part);
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

export function rangeContainsIP(range: Range, ip: IP): boolean {
  return range.family === ip.family && (ip.value & ~hostMask(range.family, range.prefix)) === range.value;
}

export function rangeContainsRange(outer: Range, inner: Range): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && rangeContainsIP(outer, { family: inner.family, value: inner.value });
}

/** Whether `ip` (text) lies in one of `ranges`. An unparsable ip lies in none. */
export function coveredBy(ranges: readonly Range[], ip: string): boolean {
  const parsed = parseIP(ip);
  return parsed !== undefined && ranges.some((r) => rangeContainsIP(r, parsed));
}

/**
 * The ranges in order, without duplicates and without a range that an earlier or a larger one
 * already contains: the smallest list covering the same addresses, the first one kept in front.
 */
export function minimalRanges(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    if (out.some((o) => rangeContainsRange(o, r))) continue;
    // A later, larger range replaces the smaller ones it contains, at the place of the first of them.
    const at = out.findIndex((o) => rangeContainsRange(r, o));
    if (at < 0) { out.push(r); continue; }
    out.splice(at, 1, r);
    for (let i = out.length - 1; i > at; i--) if (rangeContainsRange(r, out[i] as Range)) out.splice(i, 1);
  }
  return out;
}

/**
 * The ranges vcnet works with when `networking.serviceCIDR` is set: the configured ranges first, as
 * given (they win, so a larger host range does not replace them), then each host range that no
 * configured range contains.
 */
export function withConfigured(configured: readonly Range[], host: readonly Range[]): Range[] {
  const first = minimalRanges(configured);
  return [...first, ...minimalRanges(host.filter((h) => !first.some((c) => rangeContainsRange(c, h))))];
}

/** The first range of each family, primary family first: what --service-cluster-ip-range (and vCluster's cache annotation) can hold. */
export function primaryRanges(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) if (!out.some((o) => o.family === r.family)) out.push(r);
  return out;
}

export function rangeTexts(ranges: readonly Range[]): string[] {
  return ranges.map((r) => r.text);
}

// ---- ServiceCIDR objects ----

export type ServiceCIDRReadiness = 'ready' | 'unknown' | 'not-ready' | 'terminating';

/**
 * What the API server's allocator makes of a ServiceCIDR: `ready` (Ready=True), `unknown` (no Ready
 * condition yet; the allocator already uses it, kube-controller-manager has not set the condition),
 * `not-ready` (Ready is not True) or `terminating` (being deleted: the allocator stops using it).
 */
export function serviceCIDRReadiness(obj: ServiceCIDRObject): ServiceCIDRReadiness {
  if (obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null) return 'terminating';
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return 'unknown';
  return ready.status === 'True' ? 'ready' : 'not-ready';
}

/** The ranges a ServiceCIDR holds, in its order; CIDRs that do not parse are skipped. */
export function rangesOf(obj: ServiceCIDRObject): Range[] {
  return (obj.spec?.cidrs ?? []).map(parseRange).filter((r): r is Range => r !== undefined);
}

/**
 * The host's service ranges from its ServiceCIDRs, primary first: those the host allocates from
 * (ready or without a condition yet, not being deleted); `kubernetes` (the flag's) first, in its
 * own order of families, then the others oldest first (then by name), then made minimal.
 */
export function hostRangesFromServiceCIDRs(objs: Iterable<ServiceCIDRObject>): Range[] {
  const usable = [...objs].filter((o) => {
    const r = serviceCIDRReadiness(o);
    return r === 'ready' || r === 'unknown';
  });
  usable.sort((a, b) => {
    const ak = a.metadata.name === DEFAULT_SERVICE_CIDR ? 0 : 1;
    const bk = b.metadata.name === DEFAULT_SERVICE_CIDR ? 0 : 1;
    if (ak !== bk) return ak - bk;
    const at = a.metadata.creationTimestamp ?? '';
    const bt = b.metadata.creationTimestamp ?? '';
    if (at !== bt) return at < bt ? -1 : 1;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
  return minimalRanges(usable.flatMap(rangesOf));
}

export interface VirtualServiceCIDRPlan {
  /** To create: host ranges that no virtual ServiceCIDR covers, each with the object to create. */
  readonly create: ServiceCIDRObject[];
  /** vcnet's virtual ServiceCIDRs for ranges the host no longer has (only with `deleteStale`). */
  readonly delete: ServiceCIDRObject[];
  /** Host ranges whose name is taken by a virtual ServiceCIDR vcnet did not make, for another range. */
  readonly conflicts: Array<{ range: Range; name: string }>;
}

/**
 * What to do in the virtual cluster so its service ranges cover the host's. A host range already
 * inside a virtual ServiceCIDR that vcnet did not make (`kubernetes`, from the virtual API server's
 * flag, or one an administrator made) needs nothing; otherwise vcnet's own ServiceCIDR for it must
 * exist (ServiceCIDRs may overlap, so one per range is simplest and independent of the others).
 * `deleteStale` is only set when the host ranges are known completely (read from the host's
 * ServiceCIDRs): a probe may miss a range, and deleting a range in use would refuse its addresses.
 */
export function planVirtualServiceCIDRs(hostRanges: readonly Range[], virtualObjs: readonly ServiceCIDRObject[], opts: { deleteStale: boolean }): VirtualServiceCIDRPlan {
  const byName = new Map(virtualObjs.map((o) => [o.metadata.name ?? '', o]));
  const foreign = virtualObjs
    .filter((o) => !isVcnetServiceCIDR(o))
    .filter((o) => { const r = serviceCIDRReadiness(o); return r === 'ready' || r === 'unknown'; })
    .flatMap(rangesOf);
  const create: ServiceCIDRObject[] = [];
  const conflicts: Array<{ range: Range; name: string }> = [];
  // The names of vcnet's virtual ServiceCIDRs the host ranges need (created or to create).
  const wanted = new Set<string>();
  for (const range of hostRanges) {
    if (foreign.some((f) => rangeContainsRange(f, range))) continue;
    const name = virtualServiceCIDRName(range.text);
    const existing = byName.get(name);
    if (existing === undefined) {
      wanted.add(name);
      create.push(virtualServiceCIDRFor(range.text));
    } else if (isVcnetServiceCIDR(existing)) {
      // Being deleted: it can only be made again once it is gone (the watch says when).
      wanted.add(name);
    } else {
      conflicts.push({ range, name });
    }
  }
  const del = opts.deleteStale
    ? virtualObjs.filter((o) => isVcnetServiceCIDR(o) && !wanted.has(o.metadata.name ?? '') && serviceCIDRReadiness(o) !== 'terminating')
    : [];
  return { create, delete: del, conflicts };
}

// ---- the probe ----

/** An address of the family that is outside every service range (see the header). */
export function unallocatableAddress(family: Family): string {
  return family === 4 ? '0.0.0.0' : '::';
}

export type ProbeAnswer =
  | { kind: 'outside'; range: Range | undefined }
  | { kind: 'inside' }
  | { kind: 'family-not-configured' }
  | { kind: 'unknown' };

const VALID_RANGE = /The range of valid IPs is ([0-9A-Fa-f.:]+\/[0-9]{1,3})/;

/**
 * Reads the host's refusal of a dry-run Service pinned to an address. kube-apiserver's wording
 * (pkg/registry/core/service/ipallocator, storage/alloc.go allocIPs):
 *   - "failed to allocate IP <ip>: the provided IP (<ip>) is not in the valid range. The range of
 *     valid IPs is <cidr>": outside, with one range (a dry run asks one allocator of the family);
 *   - "... the provided network does not match the current range": outside, no range named (the
 *     multi-range allocator of a real create);
 *   - "provided IP is already allocated", "allocator not ready": inside a range (vCluster counts
 *     them so too);
 *   - "<family> is not configured on this cluster": the family has no range.
 */
export function readProbeAnswer(message: string): ProbeAnswer {
  const named = VALID_RANGE.exec(message);
  if (named !== null) return { kind: 'outside', range: parseRange(named[1] as string) };
  if (/not in the valid range|does not match the current range/.test(message)) return { kind: 'outside', range: undefined };
  if (/already allocated|allocator not ready/.test(message)) return { kind: 'inside' };
  if (/is not configured on this cluster/.test(message)) return { kind: 'family-not-configured' };
  return { kind: 'unknown' };
}

/** The smallest and largest allocatable address of `seed`'s range of length `prefix` (IPv4 leaves out the broadcast address, as kube-apiserver does). */
export function rangeEnds(seed: IP, prefix: number): { range: Range; first: string; last: string } {
  const range = networkOf(seed, prefix);
  const broadcast = range.value | hostMask(seed.family, prefix);
  const last = seed.family === 4 ? broadcast - 1n : broadcast;
  return { range, first: formatIP({ family: seed.family, value: range.value + 1n }), last: formatIP({ family: seed.family, value: last }) };
}

/**
 * The range around `seed` (an address the host allocated), found by binary search over the prefix
 * length: the range of length p is inside the host's when both its first and last allocatable
 * addresses are accepted, which holds for every p at least the host's prefix and for no shorter one.
 * Used only when the host's refusal does not name its range. IPv4 prefixes 1..30, IPv6 64..126
 * (kube-apiserver refuses IPv6 service ranges shorter than /64). Undefined when even the longest
 * candidate is not accepted.
 */
export async function searchRange(seed: IP, accepts: (ip: string) => Promise<boolean>): Promise<Range | undefined> {
  let lo = seed.family === 4 ? 1 : 64;
  let hi = bitsOf(seed.family) - 2;
  let found: Range | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const { range, first, last } = rangeEnds(seed, mid);
    if (await accepts(first) && await accepts(last)) {
      found = range;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found;
}

/** The range of length `prefix` around `ip`: host bits cleared, the text canonical. */
function networkOf(ip: IP, prefix: number): Range {
  const value = ip.value & ~hostMask(ip.family, prefix);
  return { family: ip.family, value, prefix, text: `${formatIP({ family: ip.family, value })}/${prefix}` };
}
