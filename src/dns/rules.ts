// networking.resolveDNS rule matching (vcluster-networking.md §7.2), pure: a question name in, what
// to answer out. rule-resolver.ts turns the answer into records. Rules are tried in the order the
// config lists them and the first match wins (vCluster's plugin is closed source; list order is the
// only order a user can see and control).
//
// Which names a source matches (names are compared lower-case, without the trailing dot):
//   hostname: a.com        exactly `a.com`
//   hostname: *.a.com      any name ending in `.a.com` (the `*` is at least one character and may
//                          span labels); the text the `*` matched replaces the `*` of target.hostname
//   hostname: db.*         any name starting with `db.`
//   service: vns/svc       `svc.vns`, `svc.vns.svc` and `svc.vns.svc.<clusterDomain>`: the forms a
//                          pod's search path produces (Kubernetes DNS spec, "A/AAAA records")
//   namespace: vns         `<svc>.vns`, `<svc>.vns.svc`, `<svc>.vns.svc.<clusterDomain>` for one label <svc>
// SRV names (`_port._proto.svc.vns.svc.<domain>`) and pod names are not matched: a rule maps a name
// to an address, and the cluster zone keeps answering SRV for virtual Services.
import type { ResolveDNSRule } from '../config/resolve-dns.ts';
import { Translator } from '../translate/names.ts';
import { normalizeName } from './records.ts';

/** What a matched rule says to answer. */
export type RuleTarget =
  /** An alias: answer a CNAME to `name` and the addresses `name` resolves to. */
  | { readonly kind: 'hostname'; readonly name: string }
  /** A fixed address. */
  | { readonly kind: 'ip'; readonly ip: string; readonly family: 4 | 6 }
  /**
   * The ClusterIP of the host Service `name` in host namespace `namespace`: from `hostService`,
   * `hostNamespace` (the name is the matched `<svc>`) and `vClusterService` (the name is the host
   * twin vCluster `vcluster` gives `service` of its virtual namespace `virtualNamespace`).
   */
  | {
    readonly kind: 'hostService';
    readonly via: 'hostService' | 'hostNamespace' | 'vClusterService';
    readonly namespace: string;
    readonly name: string;
  };

export interface RuleMatch {
  /** The rule's index in networking.resolveDNS, for logs and metrics. */
  readonly index: number;
  readonly target: RuleTarget;
}

interface CompiledRule {
  readonly index: number;
  /** The name part of the match: returns the text to carry (wildcards, the Service of a namespace rule) or undefined. */
  match(name: string, clusterDomain: string): string | undefined;
  target(captured: string): RuleTarget | undefined;
}

const MAX_NAME = 253;

/** `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<domain>` -> [svc, ns]; anything else -> undefined. */
export function serviceNameParts(name: string, clusterDomain: string): readonly [svc: string, ns: string] | undefined {
  let rest = name;
  const suffix = `.svc.${clusterDomain}`;
  if (rest.endsWith(suffix)) rest = rest.slice(0, -suffix.length);
  else if (rest.endsWith('.svc')) rest = rest.slice(0, -'.svc'.length);
  const labels = rest.split('.');
  if (labels.length !== 2 || labels.some((l) => l === '')) return undefined;
  return [labels[0] as string, labels[1] as string];
}

function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function compile(rule: ResolveDNSRule, index: number): CompiledRule {
  const target = rule.target;
  const toTarget = (captured: string): RuleTarget | undefined => {
    if (target.hostname !== undefined) {
      const name = normalizeName(target.hostname).replace('*', captured);
      return name.length > MAX_NAME ? undefined : { kind: 'hostname', name };
    }
    if (target.ip !== undefined) return { kind: 'ip', ip: target.ip, family: ipFamily(target.ip) };
    if (target.hostService !== undefined) {
      const [namespace = '', name = ''] = target.hostService.split('/');
      return { kind: 'hostService', via: 'hostService', namespace, name };
    }
    if (target.hostNamespace !== undefined) {
      return { kind: 'hostService', via: 'hostNamespace', namespace: target.hostNamespace, name: captured };
    }
    if (target.vClusterService !== undefined) {
      const [hostNamespace = '', vcluster = '', vNamespace = '', vService = ''] = target.vClusterService.split('/');
      // The other vCluster names its host twins exactly as vcnet does (§1.1), `default/kubernetes` included.
      const name = new Translator({ vcluster, hostNamespace }).hostServiceName(vService, vNamespace);
      return { kind: 'hostService', via: 'vClusterService', namespace: hostNamespace, name };
    }
    return undefined;
  };
  // Only hostname and hostNamespace targets carry the matched text; the others are worked out once
  // here, not per query (a vClusterService target builds a Translator).
  const fixed = target.hostname === undefined && target.hostNamespace === undefined ? toTarget('') : undefined;
  const targetOf = fixed === undefined ? toTarget : (): RuleTarget | undefined => fixed;

  if (rule.hostname !== undefined) {
    const pattern = normalizeName(rule.hostname);
    if (pattern.startsWith('*')) {
      const suffix = pattern.slice(1);
      return { index, target: targetOf, match: (name) => (name.length > suffix.length && name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined) };
    }
    if (pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      return { index, target: targetOf, match: (name) => (name.length > prefix.length && name.startsWith(prefix) ? name.slice(prefix.length) : undefined) };
    }
    return { index, target: targetOf, match: (name) => (name === pattern ? '' : undefined) };
  }
  if (rule.service !== undefined) {
    const [vNamespace = '', vService = ''] = rule.service.split('/');
    return {
      index, target: targetOf,
      match(name, clusterDomain) {
        const parts = serviceNameParts(name, clusterDomain);
        return parts !== undefined && parts[0] === vService && parts[1] === vNamespace ? '' : undefined;
      },
    };
  }
  const vNamespace = rule.namespace ?? '';
  return {
    index, target: targetOf,
    match(name, clusterDomain) {
      const parts = serviceNameParts(name, clusterDomain);
      return parts !== undefined && parts[1] === vNamespace ? parts[0] : undefined;
    },
  };
}

/** The compiled networking.resolveDNS list. Immutable: a config change compiles a new one. */
export class RuleSet {
  readonly #rules: readonly CompiledRule[];
  readonly size: number;

  constructor(rules: readonly ResolveDNSRule[]) {
    this.#rules = rules.map(compile);
    this.size = rules.length;
  }

  /**
   * The first rule that owns `name` (any case, with or without the final dot), and what it answers.
   * The record type does not change which rule matches: a rule owns its names for every type, as a
   * zone owns its names (so an AAAA question for an IPv4 rule is NODATA, not forwarded).
   */
  match(name: string, clusterDomain: string): RuleMatch | undefined {
    const q = normalizeName(name);
    const domain = normalizeName(clusterDomain);
    for (const rule of this.#rules) {
      const captured = rule.match(q, domain);
      if (captured === undefined) continue;
      const target = rule.target(captured);
      if (target !== undefined) return { index: rule.index, target };
    }
    return undefined;
  }

  /** The host namespaces whose Services the rules may answer with: what host-index.ts must watch. */
  static hostNamespaces(rules: readonly ResolveDNSRule[]): ReadonlySet<string> {
    const out = new Set<string>();
    for (const r of rules) {
      const t = r.target;
      if (t.hostNamespace !== undefined) out.add(t.hostNamespace);
      const ns = (t.hostService ?? t.vClusterService)?.split('/')[0];
      if (ns !== undefined) out.add(ns);
    }
    return out;
  }
}
