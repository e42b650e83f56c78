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

/** The mask of the bits after `prefix`: `address & hostMask` is zero for a network address. */
export function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefix)) - 1n;
}

/**
 * Splits `address/prefix` into the address and a prefix length that fits its family, host bits as
 * written; returns the reason when the text is not of that form. parseCIDR refuses host bits,
 * src/sync/service-cidr-rules.ts parseRange clears them.
 */
export function splitCIDR(s: string): CIDR | string {
  const slash = s.indexOf('/');
  if (slash < 0) return 'a CIDR needs a prefix length, like 10.96.0.0/12 or fd00::/108';
  const ip = parseIP(s.slice(0, slash));
  if (ip === undefined) return `"${s.slice(0, slash)}" is not an IPv4 or IPv6 address`;
  const prefixText = s.slice(slash + 1);
  const bits = bitsOf(ip.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return `the prefix length must be a number from 0 to ${bits} for an IPv${ip.family} address`;
  }
  return { family: ip.family, value: ip.value, prefix: Number(prefixText) };
}

/** Parses `address/prefix`; returns the reason when the text is not a CIDR in canonical form. */
export function parseCIDR(s: string): CIDR | string {
  const cidr = splitCIDR(s);
  if (typeof cidr === 'string') return cidr;
  const mask = hostMask(cidr.family, cidr.prefix);
  if ((cidr.value & mask) !== 0n) {
    // Go's net.ParseCIDR would silently drop these bits; a typo in a range is better caught here.
    const network = formatIP({ family: cidr.family, value: cidr.value & ~mask });
    return `it has bits set after the prefix; the network is ${network}/${cidr.prefix}`;
  }
  return cidr;
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

// Kubernetes label syntax (k8s.io/apimachinery pkg/util/validation: IsQualifiedName, IsValidLabelValue).
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A label key: `name` or `prefix/name`, the prefix a DNS-1123 subdomain, the name at most 63 characters. */
export function checkLabelKey(s: string): string | undefined {
  const slash = s.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : s.slice(0, slash);
  const name = slash < 0 ? s : s.slice(slash + 1);
  const prefixOK = prefix === undefined || (prefix.length <= 253 && prefix.split('.').every((l) => l.length <= 63 && DNS1123_LABEL.test(l)));
  if (prefixOK && name.length <= 63 && QUALIFIED_NAME.test(name)) return undefined;
  return `${quote(s)} is not a valid label key: an optional DNS-1123 subdomain prefix and '/', then at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
}

/** A label value: empty, or at most 63 characters of letters, digits, '-', '_' and '.', alphanumeric at both ends. */
export function checkLabelValue(s: string): string | undefined {
  if (s === '' || (s.length <= 63 && QUALIFIED_NAME.test(s))) return undefined;
  return `${quote(s)} is not a valid label value: empty, or at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
}

const TAINT_EFFECTS: readonly string[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/**
 * An enforced toleration in `kubectl taint` notation: `key=value:Effect`, `key:Effect`, `key=value`,
 * `key` or `*`. The same syntax as parseToleration in src/translate/pod-options.ts, which builds the
 * Toleration; config may not import translate (DESIGN.md), so the syntax is checked here as well, and
 * test/unit/sync/options.test.ts holds both to the same answers.
 */
export function checkToleration(s: string): string | undefined {
  const fail = (why: string): string => `${quote(s)} is not a toleration (${why}); expected key=value:Effect, key:Effect, key=value, key or *`;
  if (s === '*') return undefined;
  const colon = s.split(':');
  if (colon.length > 2) return fail('more than one ":"');
  const [keyValue = '', effect] = colon;
  if (effect !== undefined && !TAINT_EFFECTS.includes(effect)) return fail(`effect must be NoSchedule, PreferNoSchedule or NoExecute, not ${quote(effect)}`);
  const eq = keyValue.split('=');
  if (eq.length > 2) return fail('more than one "="');
  const [key = '', value] = eq;
  if (checkLabelKey(key) !== undefined) return fail(`${quote(key)} is not a valid label key`);
  if (value !== undefined && checkLabelValue(value) !== undefined) return fail(`${quote(value)} is not a valid label value`);
  return undefined;
}

// k8s.io/apimachinery pkg/api/resource: <signedNumber><suffix>, the suffix binary SI (Ki..Ei), decimal SI
// (n, u, m, k, M..E) or a decimal exponent (e3, E-2).
const QUANTITY = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity as a number (precise enough to compare two), or undefined when it is not one. */
export function parseQuantity(s: string): number | undefined {
  const m = QUANTITY.exec(s);
  if (m === null) return undefined;
  const [, number = '', suffix = ''] = m;
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : QUANTITY_SUFFIX[suffix] ?? 1;
  return Number(number) * factor;
}

/** A resource quantity for requests and limits (`30m`, `64Mi`, `0.5`, `1e3`): well formed and not negative. */
export function checkQuantity(s: string): string | undefined {
  const value = parseQuantity(s);
  if (value === undefined) {
    return `${quote(s)} is not a Kubernetes quantity: a number with an optional suffix such as m, k, M, G, Ki, Mi or Gi (30m, 64Mi, 0.5, 1Gi)`;
  }
  if (value < 0) return `${quote(s)} is negative; requests and limits must be 0 or more`;
  return undefined;
}

// Image reference grammar (github.com/distribution/reference, the parser containerd and Docker use).
const IMAGE_DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IMAGE_DOMAIN = `(?:${IMAGE_DOMAIN_COMPONENT}(?:\\.${IMAGE_DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const IMAGE_PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const IMAGE_REGISTRY = new RegExp(`^${IMAGE_DOMAIN}(?:/${IMAGE_PATH_COMPONENT})*$`);
const IMAGE_REPOSITORY = new RegExp(`^${IMAGE_PATH_COMPONENT}(?:/${IMAGE_PATH_COMPONENT})*$`);
const IMAGE_TAG = /^[\w][\w.-]{0,127}$/;

/** An image registry host (`mirror.gcr.io`, `registry.example.com:5000`, optionally with a path), or empty for Docker Hub. */
export function checkImageRegistry(s: string): string | undefined {
  if (s === '' || IMAGE_REGISTRY.test(s)) return undefined;
  const hint = s.includes('://') ? ' (no scheme: write registry.example.com, not https://registry.example.com)' : '';
  return `${quote(s)} is not an image registry: a host name or IP address with an optional :port${hint}`;
}

/** An image repository (`library/alpine`): lowercase path components separated by '/'. */
export function checkImageRepository(s: string): string | undefined {
  if (s === '') return 'must name the image repository, such as library/alpine';
  if (IMAGE_REPOSITORY.test(s)) return undefined;
  const hint = s.includes(':') || s.includes('@') ? ' (the tag goes in the tag field)' : '';
  return `${quote(s)} is not an image repository: lowercase letters, digits and the separators '.', '_', '__' and '-', in path components separated by '/'${hint}`;
}

/** An image tag (`3.20`), or empty for none. */
export function checkImageTag(s: string): string | undefined {
  if (s === '' || IMAGE_TAG.test(s)) return undefined;
  return `${quote(s)} is not an image tag: at most 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'`;
}

/** An image as a container spec holds it: Kubernetes only requires it non-empty and without surrounding whitespace. */
export function checkImage(s: string): string | undefined {
  if (s === '') return 'must name an image';
  if (s.trim() !== s) return `${quote(s)} has leading or trailing whitespace, which Kubernetes refuses in an image`;
  return undefined;
}

/**
 * The base URL of an admission webhook: kube-apiserver requires https, a host, and no user info,
 * query or fragment (k8s.io/apiserver pkg/util/webhook ValidateWebhookURL). Empty is allowed.
 */
export function checkWebhookURL(s: string): string | undefined {
  if (s === '') return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `${quote(s)} is not a URL; write it as https://<host>:<port>`;
  }
  if (url.protocol !== 'https:') return `${quote(s)} is not an https:// URL; kube-apiserver calls webhooks only over TLS`;
  if (url.hostname === '') return `${quote(s)} has no host`;
  if (url.username !== '' || url.password !== '' || s.includes('?') || s.includes('#')) {
    return `${quote(s)} may not carry user info, a query or a fragment (kube-apiserver refuses them in a webhook URL)`;
  }
  return undefined;
}

/**
 * A DNS server address as resolv.conf and CoreDNS's forward plugin write it: `ip`, `ip:port`, or
 * `[ipv6]:port` (a bare IPv6 address takes port 53).
 */
export function parseUpstream(s: string): { host: string; port: number } | undefined {
  let host = s;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(s);
  if (bracket !== null) {
    host = bracket[1] as string;
    portText = bracket[2];
    if (parseIP(host)?.family !== 6) return undefined;
  } else if (s.split(':').length === 2) {
    [host = '', portText] = s.split(':');
    if (parseIP(host)?.family !== 4) return undefined;
  } else if (parseIP(s) === undefined) {
    return undefined;
  }
  const port = portText === undefined ? 53 : /^[1-9][0-9]{0,4}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return undefined;
  return { host, port };
}

export function checkUpstream(s: string): string | undefined {
  return parseUpstream(s) === undefined ? `${quote(s)} is not a DNS server address: write ip, ip:port or [ipv6]:port, such as 10.96.0.10 or 10.96.0.10:53` : undefined;
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
