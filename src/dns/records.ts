// The pure part of the cluster zone: how a query name maps onto Kubernetes objects, and how records
// are built. No I/O, no clocks. The rules follow the Kubernetes DNS-Based Service Discovery
// specification (kubernetes/dns docs/specification.md) and CoreDNS's kubernetes plugin:
//
//   <domain>                                  the zone apex (SOA)
//   svc.<domain>, pod.<domain>                exist, with no records of their own
//   <ns>.svc.<domain>                         exists while the namespace has Services (empty non-terminal)
//   <svc>.<ns>.svc.<domain>                   A/AAAA (ClusterIP), endpoint A/AAAA (headless), CNAME (ExternalName)
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV for named ports
//   <host>.<svc>.<ns>.svc.<domain>            a headless endpoint: its hostname, or its IP dashed (1-2-3-4, fd00--1)
//   <a-b-c-d>.<ns>.pod.<domain>               pod records, "insecure" like CoreDNS's `pods insecure`:
//                                             the IP in the name is answered if it is a valid IP
//
// Anything else under the zone does not exist (NXDOMAIN). That is what makes the search-path
// expansions of ndots:5 (`example.com.shop.svc.cluster.local`) cheap: they never leave the index.
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer } from './types.ts';

/** TTL of positive answers and of the SOA minimum, like CoreDNS's kubernetes plugin (`ttl 5`). */
export const DEFAULT_TTL = 5;

export type ClusterName =
  | { readonly kind: 'apex' }
  | { readonly kind: 'svc-root' }
  | { readonly kind: 'pod-root' }
  | { readonly kind: 'namespace'; readonly ns: string }
  | { readonly kind: 'service'; readonly ns: string; readonly service: string }
  | { readonly kind: 'endpoint'; readonly ns: string; readonly service: string; readonly endpoint: string }
  | { readonly kind: 'srv'; readonly ns: string; readonly service: string; readonly port: string; readonly protocol: string }
  | { readonly kind: 'srv-protocol'; readonly ns: string; readonly service: string; readonly protocol: string }
  | { readonly kind: 'pod-namespace'; readonly ns: string }
  | { readonly kind: 'pod'; readonly ns: string; readonly ip: string }
  | { readonly kind: 'nonexistent' };

const NONEXISTENT: ClusterName = { kind: 'nonexistent' };

/** Lower-case, without the trailing dot: the form the Resolver interface uses. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Whether `name` is `zone` or below it (both normalised). */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * Where a name falls in the cluster zone `domain`; `undefined` when it is outside the zone. Names
 * are compared case-insensitively and a trailing dot is ignored.
 */
export function parseClusterName(rawName: string, rawDomain: string): ClusterName | undefined {
  const name = normalizeName(rawName);
  const domain = normalizeName(rawDomain);
  if (!inZone(name, domain)) return undefined;
  if (name === domain) return { kind: 'apex' };
  const labels = name.slice(0, -(domain.length + 1)).split('.');
  if (labels.some((l) => l === '')) return NONEXISTENT;
  // Read from the zone outwards: the last label is the one just below the domain.
  const top = labels[labels.length - 1] as string;
  const rest = labels.slice(0, -1);
  if (top === 'svc') return parseServiceName(rest);
  if (top === 'pod') return parsePodName(rest);
  return NONEXISTENT;
}

function parseServiceName(labels: readonly string[]): ClusterName {
  const [a, b, c, d] = labels;
  switch (labels.length) {
    case 0: return { kind: 'svc-root' };
    case 1: return { kind: 'namespace', ns: a as string };
    case 2: return { kind: 'service', ns: b as string, service: a as string };
    case 3: {
      const ns = c as string;
      const service = b as string;
      const first = a as string;
      // `_tcp.web.shop.svc`: the parent of the SRV names, an empty non-terminal.
      if (first.startsWith('_')) return { kind: 'srv-protocol', ns, service, protocol: first.slice(1) };
      return { kind: 'endpoint', ns, service, endpoint: first };
    }
    case 4: {
      const port = a as string;
      const protocol = b as string;
      if (!port.startsWith('_') || !protocol.startsWith('_') || port.length < 2 || protocol.length < 2) return NONEXISTENT;
      return { kind: 'srv', ns: d as string, service: c as string, port: port.slice(1), protocol: protocol.slice(1) };
    }
    default: return NONEXISTENT;
  }
}

function parsePodName(labels: readonly string[]): ClusterName {
  if (labels.length === 0) return { kind: 'pod-root' };
  if (labels.length === 1) return { kind: 'pod-namespace', ns: labels[0] as string };
  if (labels.length !== 2) return NONEXISTENT;
  const ip = dashedToIp(labels[0] as string);
  return ip === undefined ? NONEXISTENT : { kind: 'pod', ns: labels[1] as string, ip };
}

/** `10-0-0-1` → `10.0.0.1`; `fd00--1` → `fd00::1` (canonical form); undefined when not an IP. */
export function dashedToIp(label: string): string | undefined {
  const v4 = label.replaceAll('-', '.');
  if (isIPv4(v4)) return v4;
  const v6 = label.replaceAll('-', ':');
  // An IPv6 label has at least two colons' worth of dashes; `isIPv6` rejects the rest.
  if (isIPv6(v6)) return canonicalIp(v6);
  return undefined;
}

/** `10.0.0.1` → `10-0-0-1`; `fd00::1` → `fd00--1` (the form CoreDNS and the endpoints controller use). */
export function ipToDashed(ip: string): string {
  return isIPv4(ip) ? ip.replaceAll('.', '-') : canonicalIp(ip).replaceAll(':', '-');
}

/** The RFC 5952 text form of an IP (lower case, zeros compressed), so one IP has one key. */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

export function ipFamily(ip: string): 'A' | 'AAAA' | undefined {
  if (isIPv4(ip)) return 'A';
  if (isIPv6(ip)) return 'AAAA';
  return undefined;
}

/**
 * The IP a reverse name stands for: `4.3.2.1.in-addr.arpa` → `1.2.3.4`, 32 nibbles under `ip6.arpa`
 * → the IPv6 address. Partial names (a /24 `3.2.1.in-addr.arpa`) and anything malformed → undefined.
 */
export function parseReverseName(rawName: string): string | undefined {
  const name = normalizeName(rawName);
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIp(groups.join(':'));
  }
  return undefined;
}

/** The reverse zone a name belongs to (`in-addr.arpa` or `ip6.arpa`), for the SOA of negative answers. */
export function reverseZone(rawName: string): 'in-addr.arpa' | 'ip6.arpa' | undefined {
  const name = normalizeName(rawName);
  if (inZone(name, 'in-addr.arpa')) return 'in-addr.arpa';
  if (inZone(name, 'ip6.arpa')) return 'ip6.arpa';
  return undefined;
}

/** `1.2.3.4` → `4.3.2.1.in-addr.arpa`; IPv6 → its 32 nibbles under `ip6.arpa`. */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const groups = expandIPv6(ip);
  return `${groups.join('').split('').reverse().join('.')}.ip6.arpa`;
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail] = canonicalIp(ip).split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => g.padStart(4, '0'));
}

// --- building records -----------------------------------------------------------------------------

/** One A or AAAA per IP of the asked family; the other family's IPs are left out. */
export function addressRecords(name: string, ips: readonly string[], type: 'A' | 'AAAA', ttl: number): Answer[] {
  return ips.filter((ip) => ipFamily(ip) === type).map((ip) => ({ name, type, ttl, class: 'IN' as const, data: ip }));
}

/** A and AAAA answers for an ANY query, or the asked family. */
export function addressRecordsFor(name: string, ips: readonly string[], type: string, ttl: number): Answer[] {
  if (type === 'A' || type === 'AAAA') return addressRecords(name, ips, type, ttl);
  if (type === 'ANY') return [...addressRecords(name, ips, 'A', ttl), ...addressRecords(name, ips, 'AAAA', ttl)];
  return [];
}

export function cnameRecord(name: string, target: string, ttl: number): Answer {
  return { name, type: 'CNAME', ttl, class: 'IN', data: normalizeName(target) };
}

export function ptrRecord(name: string, target: string, ttl: number): Answer {
  return { name, type: 'PTR', ttl, class: 'IN', data: target };
}

export function srvRecord(name: string, target: string, port: number, weight: number, ttl: number): Answer {
  return { name, type: 'SRV', ttl, class: 'IN', data: { priority: 0, weight, port, target } };
}

/**
 * SRV weights like CoreDNS: the records share 100 equally (at least 1 each), so clients spread
 * their choice evenly (RFC 2782).
 */
export function srvWeight(count: number): number {
  return count <= 0 ? 100 : Math.max(1, Math.floor(100 / count));
}

/**
 * The zone's SOA, shaped like CoreDNS's (`ns.dns.<zone>`, `hostmaster.<zone>`, refresh 7200, retry
 * 1800, expire 86400). Its minimum and TTL are the negative-caching TTL (RFC 2308 §5: the lesser of
 * the two), `ttl` by default. `serial` is given by the caller (records.ts has no clock).
 */
export function soaRecord(zone: string, ttl: number, serial: number): Answer {
  return {
    name: zone, type: 'SOA', ttl, class: 'IN',
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

/** `<svc>.<ns>.svc.<domain>` */
export function serviceFqdn(service: string, ns: string, domain: string): string {
  return `${service}.${ns}.svc.${domain}`;
}

/** `<a-b-c-d>.<ns>.pod.<domain>` */
export function podFqdn(ip: string, ns: string, domain: string): string {
  return `${ipToDashed(ip)}.${ns}.pod.${domain}`;
}
