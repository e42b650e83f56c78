// `networking.resolveDNS`: vCluster's DNS rewrite rules (vcluster-networking.md §7.2), validated as
// vCluster validates them (loft-sh/vcluster pkg/config/coredns_plugin_validation.go), with every
// problem named by its field path: `networking.resolveDNS[2].target.hostService: ...`. vCluster's
// messages call the target `to` (a legacy name); vcnet's name the field as it is written, `target`.
//
// What vcnet adds to vCluster's checks: every name must be a valid DNS name (namespaces and Service
// names as Kubernetes checks them), `ip` a valid address, and a `*` in target.hostname is only
// accepted when the source hostname has one too (otherwise there is no matched text to carry).

import type { PathSegment } from './errors.ts';
import { checkDNS1035Label, checkDNS1123Label, checkIP, quote } from './checks.ts';
import { INVALID, describe, isPlainObject } from './fields.ts';
import type { Leaf, Problem } from './fields.ts';

export interface ResolveDNSTarget {
  readonly hostname?: string;
  readonly ip?: string;
  /** `hostNamespace/name`: a Service of the host cluster. */
  readonly hostService?: string;
  /** Every `<svc>.<namespace>` of the source resolves to the host Service `<svc>` in this host namespace. */
  readonly hostNamespace?: string;
  /** `hostNamespace/vcluster/namespace/service`: a Service of another virtual cluster, by its host twin. */
  readonly vClusterService?: string;
}

export interface ResolveDNSRule {
  readonly hostname?: string;
  /** `namespace/name` of a virtual Service. */
  readonly service?: string;
  readonly namespace?: string;
  readonly target: ResolveDNSTarget;
}

const SOURCES = ['hostname', 'service', 'namespace'] as const;
const TARGETS = ['hostname', 'ip', 'hostService', 'hostNamespace', 'vClusterService'] as const;

const HOSTNAME_LABEL = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$/i;

/** A DNS name as a rule writes it: labels of letters, digits, '-' and '_' (service labels such as `_http._tcp`), an optional final dot. */
function checkHostname(s: string): string | undefined {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  const ok = name.length > 0 && name.length <= 253 && name.split('.').every((l) => l.length <= 63 && HOSTNAME_LABEL.test(l));
  return ok ? undefined : `${quote(s)} is not a DNS name: dot-separated labels of letters, digits, '-' and '_', at most 63 characters a label and 253 in all`;
}

/**
 * A hostname with at most one `*`, as its first or last character (vCluster's rule). The `*` stands
 * for any non-empty text, so the rest is checked as a name with the `*` replaced by a letter.
 */
function checkWildcardHostname(s: string): string | undefined {
  const stars = s.split('*').length - 1;
  if (stars > 1) return `${quote(s)} has ${stars} wildcards; at most one "*" is allowed`;
  if (stars === 1 && !s.startsWith('*') && !s.endsWith('*')) {
    return `${quote(s)} has a "*" in the middle; a wildcard may only be the first or the last character`;
  }
  if (s === '*') return '"*" alone would match every name; write a suffix or a prefix with it, such as *.example.com';
  const reason = checkHostname(s.replace('*', 'x'));
  return reason === undefined ? undefined : reason.replace(quote(s.replace('*', 'x')), quote(s));
}

/** `a/b/...` with exactly `parts` parts, each passing its check. */
function checkSlashed(s: string, what: string, checks: ReadonlyArray<(p: string) => string | undefined>): string | undefined {
  const parts = s.split('/');
  const slashes = parts.length - 1;
  if (slashes !== checks.length - 1) {
    const want = checks.length - 1;
    return `${quote(s)} must be ${what}, with exactly ${want === 1 ? 'one "/"' : `${want === 3 ? 'three' : want} "/"`}; it has ${slashes}`;
  }
  for (const [i, part] of parts.entries()) {
    const reason = (checks[i] as (p: string) => string | undefined)(part);
    if (reason !== undefined) return `${quote(s)} must be ${what}: ${reason}`;
  }
  return undefined;
}

const checkNamespace = checkDNS1123Label;
const checkServiceName = checkDNS1035Label;

/** The leaf of `networking.resolveDNS`: a list of rules, each problem at its own path. */
export function resolveDNSList(opts: { doc: string }): Leaf<readonly ResolveDNSRule[]> {
  return {
    kind: 'leaf',
    type: 'list of resolveDNS rules',
    default: [],
    doc: opts.doc,
    file: false,
    read(raw, at, problems) {
      if (!Array.isArray(raw)) {
        problems.push({ at, detail: `expected a list of rules, got ${describe(raw)}` });
        return INVALID;
      }
      const before = problems.length;
      const rules = raw.map((entry: unknown, i) => readRule(entry, [...at, i], problems));
      return problems.length === before ? Object.freeze(rules.filter((r): r is ResolveDNSRule => r !== undefined)) : INVALID;
    },
  };
}

/** Reads the string fields of a mapping; unknown keys, non-strings and empty strings are problems or absent. */
function readStrings(raw: Record<string, unknown>, keys: readonly string[], skip: readonly string[], at: readonly PathSegment[], problems: Problem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (skip.includes(key)) continue;
    if (!keys.includes(key)) {
      problems.push({ at: [...at, key], detail: `unknown field; the fields here are ${[...keys, ...skip.filter((k) => k !== 'to')].join(', ')}`, onKey: true });
      continue;
    }
    if (value === null || value === undefined || value === '') continue; // unset, as an empty string is in Go
    if (typeof value !== 'string') {
      problems.push({ at: [...at, key], detail: `expected a string, got ${describe(value)}` });
      continue;
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readRule(raw: unknown, at: readonly PathSegment[], problems: Problem[]): ResolveDNSRule | undefined {
  if (!isPlainObject(raw)) {
    problems.push({ at, detail: `expected a rule (a mapping with hostname, service or namespace, and target), got ${describe(raw)}` });
    return undefined;
  }
  const shapeBefore = problems.length;
  if (Object.hasOwn(raw, 'to')) {
    problems.push({ at: [...at, 'to'], detail: 'unknown field; vcnet calls the target "target", as vCluster\'s vcluster.yaml does', onKey: true });
  }
  const source = readStrings(raw, SOURCES, ['target', 'to'], at, problems);
  const targetAt = [...at, 'target'];
  let target: Record<string, string> = {};
  if (!Object.hasOwn(raw, 'target') || raw.target === null || raw.target === undefined) {
    problems.push({ at: targetAt, detail: `is required: one of ${TARGETS.join(', ')}` });
  } else if (!isPlainObject(raw.target)) {
    problems.push({ at: targetAt, detail: `expected a mapping with one of ${TARGETS.join(', ')}, got ${describe(raw.target)}` });
  } else {
    target = readStrings(raw.target, TARGETS, [], targetAt, problems);
  }
  // A field of the wrong type or an unknown one would only add confusing "exactly one of" errors.
  if (problems.length !== shapeBefore) return undefined;
  const before = problems.length;
  const fail = (path: readonly PathSegment[], detail: string): void => {
    problems.push({ at: path, detail });
  };

  // Source: exactly one of hostname, service, namespace.
  const sources = SOURCES.filter((k) => source[k] !== undefined);
  if (sources.length !== 1) {
    fail(at, sources.length === 0
      ? 'needs exactly one of hostname, service or namespace; it has none'
      : `needs exactly one of hostname, service or namespace; it has ${sources.join(' and ')}`);
  }
  const { hostname, service, namespace } = source;
  if (service !== undefined) {
    const reason = checkSlashed(service, 'namespace/name of a virtual Service', [checkNamespace, checkServiceName]);
    if (reason !== undefined) fail([...at, 'service'], reason);
  }
  if (namespace !== undefined) {
    const reason = checkNamespace(namespace);
    if (reason !== undefined) fail([...at, 'namespace'], reason);
  }
  const sourceWildcard = hostname !== undefined && hostname.includes('*');
  if (hostname !== undefined) {
    const reason = checkWildcardHostname(hostname);
    if (reason !== undefined) fail([...at, 'hostname'], reason);
  }

  // Target: exactly one of hostname, ip, hostService, hostNamespace, vClusterService.
  const targets = TARGETS.filter((k) => target[k] !== undefined);
  if (targets.length !== 1) {
    fail(targetAt, targets.length === 0
      ? `needs exactly one of ${TARGETS.join(', ')}; it has none`
      : `needs exactly one of ${TARGETS.join(', ')}; it has ${targets.join(' and ')}`);
  }
  const t = target;
  if (t.hostname !== undefined) {
    const reason = checkWildcardHostname(t.hostname);
    if (reason !== undefined) fail([...targetAt, 'hostname'], reason);
    else if (t.hostname.includes('*') && !sourceWildcard) {
      fail([...targetAt, 'hostname'], `${quote(t.hostname)} has a "*" but the rule's source is not a wildcard hostname, so there is no matched text to put in its place`);
    }
  }
  if (sourceWildcard) {
    if (t.hostname === undefined) {
      fail([...targetAt, 'hostname'], `is required when hostname ${quote(hostname)} has a "*": the matched text is carried into target.hostname's "*"`);
    } else if (!t.hostname.includes('*')) {
      fail([...targetAt, 'hostname'], `${quote(t.hostname)} must contain exactly one "*" when hostname ${quote(hostname)} has one: the matched text is carried into it`);
    }
  }
  if (t.ip !== undefined) {
    const reason = checkIP(t.ip);
    if (reason !== undefined) fail([...targetAt, 'ip'], reason);
  }
  if (t.hostService !== undefined) {
    const reason = checkSlashed(t.hostService, 'hostNamespace/name of a host Service', [checkNamespace, checkServiceName]);
    if (reason !== undefined) fail([...targetAt, 'hostService'], reason);
  }
  if (t.vClusterService !== undefined) {
    const reason = checkSlashed(t.vClusterService, 'hostNamespace/vCluster/namespace/service', [checkNamespace, checkServiceName, checkNamespace, checkServiceName]);
    if (reason !== undefined) fail([...targetAt, 'vClusterService'], reason);
  }
  if (t.hostNamespace !== undefined) {
    const reason = checkNamespace(t.hostNamespace);
    if (reason !== undefined) fail([...targetAt, 'hostNamespace'], reason);
  }
  // namespace <=> target.hostNamespace (vCluster: each requires the other).
  if (namespace !== undefined && t.hostNamespace === undefined) {
    fail([...targetAt, 'hostNamespace'], `is required with namespace ${quote(namespace)}: a namespace rule maps every Service of the namespace to a host namespace`);
  }
  if (t.hostNamespace !== undefined && namespace === undefined) {
    fail([...at, 'namespace'], `is required with target.hostNamespace ${quote(t.hostNamespace)}: only a namespace rule can map to a host namespace`);
  }
  if (problems.length !== before) return undefined;
  return Object.freeze({ ...source, target: Object.freeze({ ...target }) }) as ResolveDNSRule;
}
