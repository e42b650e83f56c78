// Value checks for config fields: IP addresses, CIDRs and DNS names. Each check returns undefined
// when the value is good, or the reason it is not, written to follow the quoted value in a message
// (`"10.0.0.0/33" is not a CIDR: ...`). Addresses are parsed here rather than with node:net so the
// rules are the strict ones Kubernetes applies (no leading zeros, no zones) and so prefixes can be
// compared bit by bit.

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface CIDR extends IP {
  readonly prefix: number;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted-quad IPv4 without leading zeros: Go's net.ParseIP refuses them too (CVE-2021-29923). */
function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** RFC 4291 section 2.2 text forms, including `::` and a trailing dotted quad; zones (`%eth0`) are refused. */
function parseIPv6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : (halves[1] as string).split(':');
  const groups: number[] = [];
  // A dotted quad may only end the address (`::ffff:10.0.0.1`), never precede `::`.
  const ending = halves.length === 1 ? head : tail;
  let embeddedV4: bigint | undefined;
  const last = ending[ending.length - 1];
  if (last !== undefined && last.includes('.')) {
    embeddedV4 = parseIPv4(last);
    if (embeddedV4 === undefined) return undefined;
    ending.pop();
  }
  for (const g of [...head, ...tail]) if (!IPV6_GROUP.test(g)) return undefined;
  const width = head.length + tail.length + (embeddedV4 === undefined ? 0 : 2);
  if (halves.length === 1 ? width !== 8 : width > 7) return undefined;
  for (const g of head) groups.push(parseInt(g, 16));
  for (let i = width; i < 8; i++) groups.push(0);
  for (const g of tail) groups.push(parseInt(g, 16));
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  if (embeddedV4 !== undefined) value = (value << 32n) | embeddedV4;
  return value;
}

export function parseIP(s: string): IP | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(s);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  // RFC 5952 section 5: IPv4-mapped addresses keep the dotted quad.
  if (ip.value >> 32n === 0xffffn) return `::ffff:${formatIP({ family: 4, value: ip.value & 0xffffffffn })}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));
  // RFC 5952 section 4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** Parses `address/prefix`; returns the reason when the text is not a CIDR in canonical form. */
export function parseCIDR(s: string): CIDR | string {
  const slash = s.indexOf('/');
  if (slash < 0) return 'a CIDR needs a prefix length, like 10.96.0.0/12 or fd00::/108';
  const ip = parseIP(s.slice(0, slash));
  if (ip === undefined) return `"${s.slice(0, slash)}" is not an IPv4 or IPv6 address`;
  const prefixText = s.slice(slash + 1);
  const bits = bitsOf(ip.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return `the prefix length must be a number from 0 to ${bits} for an IPv${ip.family} address`;
  }
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((ip.value & hostMask) !== 0n) {
    // Go's net.ParseCIDR would silently drop these bits; a typo in a range is better caught here.
    const network = formatIP({ family: ip.family, value: ip.value & ~hostMask });
    return `it has bits set after the prefix; the network is ${network}/${prefix}`;
  }
  return { family: ip.family, value: ip.value, prefix };
}

export function checkIP(s: string): string | undefined {
  return parseIP(s) === undefined ? `${quote(s)} is not an IPv4 or IPv6 address` : undefined;
}

export function checkCIDR(s: string): string | undefined {
  const cidr = parseCIDR(s);
  return typeof cidr === 'string' ? `${quote(s)} is not a valid CIDR: ${cidr}` : undefined;
}

/**
 * A service CIDR as kube-apiserver's --service-cluster-ip-range takes it: one CIDR, or two separated
 * by a comma, one of each IP family (dual-stack), the primary family first.
 * (kubernetes pkg/controlplane/apiserver/options/validation.go, validateClusterIPFlags)
 */
export function checkServiceCIDR(s: string): string | undefined {
  if (s === '') return undefined;
  const parts = s.split(',');
  if (parts.length > 2) {
    return `${quote(s)} has ${parts.length} CIDRs; a service CIDR is one CIDR, or two for dual-stack (one IPv4, one IPv6)`;
  }
  const parsed: CIDR[] = [];
  for (const part of parts) {
    const cidr = parseCIDR(part);
    if (typeof cidr === 'string') {
      return parts.length === 1 ? `${quote(s)} is not a valid CIDR: ${cidr}` : `${quote(part)} in ${quote(s)} is not a valid CIDR: ${cidr}`;
    }
    parsed.push(cidr);
  }
  const [a, b] = parsed;
  if (a !== undefined && b !== undefined && a.family === b.family) {
    return `${quote(s)} has two IPv${a.family} CIDRs; a dual-stack service CIDR has one IPv4 and one IPv6 CIDR`;
  }
  return undefined;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** Kubernetes' IsDNS1123Label (namespace names). */
export function checkDNS1123Label(s: string): string | undefined {
  if (s.length > 63 || !DNS1123_LABEL.test(s)) {
    return `${quote(s)} is not a valid DNS-1123 label: at most 63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Kubernetes' IsDNS1035Label: the rule for Service names, which must start with a letter. */
export function checkDNS1035Label(s: string): string | undefined {
  if (s.length > 63 || !DNS1035_LABEL.test(s)) {
    return `${quote(s)} is not a valid DNS-1035 label: at most 63 characters of lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`;
  }
  return undefined;
}

/** Kubernetes' IsDNS1123Subdomain, with the 63-character label limit of RFC 1035 section 2.3.4 as well. */
export function checkDNS1123Subdomain(s: string): string | undefined {
  if (s.length > 253 || s.split('.').some((label) => label.length > 63 || !DNS1123_LABEL.test(label))) {
    return `${quote(s)} is not a valid DNS-1123 subdomain: lowercase letters, digits, '-' and '.', each dot-separated label starting and ending with a letter or digit, at most 63 characters a label and 253 in all`;
  }
  return undefined;
}

/**
 * A subject alternative name for a serving certificate: an IP address, or a host name (RFC 1123
 * section 2.1) whose first label may be a lone `*` (RFC 6125 section 6.4.3). The last label must not
 * be all digits, so that a mistyped address such as 10.0.0.300 is not taken for a name.
 */
export function checkSAN(s: string): string | undefined {
  if (parseIP(s) !== undefined) return undefined;
  const name = s.startsWith('*.') ? s.slice(2) : s;
  const labels = name.split('.');
  const ok = s.length <= 253 &&
    labels.every((label) => label.length <= 63 && HOSTNAME_LABEL.test(label)) &&
    !/^[0-9]+$/.test(labels[labels.length - 1] as string);
  if (ok) return undefined;
  const hint = s.includes('*') ? ' (a wildcard must be the whole first label, as in *.example.com)' : '';
  return `${quote(s)} is not a DNS name or IP address${hint}`;
}

/** Whether two listeners on these addresses would fight over a port. `::` takes IPv4 too (Node listens dual-stack). */
export function addressesOverlap(a: string, b: string): boolean {
  const x = parseIP(a);
  const y = parseIP(b);
  if (x === undefined || y === undefined) return a === b;
  if ((x.family === 6 && x.value === 0n) || (y.family === 6 && y.value === 0n)) return true;
  if (x.family !== y.family) return false;
  return x.value === y.value || x.value === 0n || y.value === 0n;
}

/** A value as it appears in a message: strings in double quotes, long ones shortened. */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}
