// The Resolver for networking.resolveDNS (vcluster-networking.md §7.2): rules.ts says which rule owns
// a name, this file answers it.
//   target.hostname        a CNAME to the target PLUS the target's own records, resolved through the
//                          whole chain (`follow`): never a bare CNAME when the target resolves, which
//                          is what an older vCluster Pro plugin did (loft-sh/loft#261). The rcode is
//                          the target's (RFC 6604 §3: it reflects the last name of the chain).
//   target.ip              A or AAAA with that address; other types are NODATA.
//   hostService / hostNamespace / vClusterService
//                          the host Service's ClusterIPs (A for IPv4, AAAA for IPv6), from the host
//                          Services index (host-index.ts). A missing Service is NXDOMAIN; a headless
//                          one is NODATA (vcnet answers ClusterIPs only, not the endpoints behind a
//                          headless Service); an ExternalName one is a CNAME to its externalName plus
//                          what that resolves to. Until the index has listed the namespace: SERVFAIL,
//                          so clients retry rather than cache a wrong negative answer.
// A matched name is answered for every type (the rule owns it), authoritatively.
// Rules change without a restart: setRules swaps the compiled set in one assignment, so a question
// sees either the old rules or the new ones, never a mix.
import type { V1Service } from '@kubernetes/client-node';
import type { ResolveDNSRule } from '../config/resolve-dns.ts';
import type { HostServices } from './host-index.ts';
import { normalizeName } from './records.ts';
import { RuleSet } from './rules.ts';
import type { Answer, Question, Resolution, ResolveContext, Resolver } from './types.ts';

/** The TTL of rule answers: CoreDNS's kubernetes plugin answers with 5 s, so changes reach clients quickly. */
export const RULE_TTL = 5;

export interface RuleResolverOptions {
  readonly rules: readonly ResolveDNSRule[];
  readonly clusterDomain: string;
  readonly hostServices: HostServices;
  /** Resolves alias targets through the whole chain (chain.ts `follow`). */
  readonly follow: Resolver;
}

export class RuleResolver implements Resolver {
  #rules: RuleSet;
  readonly #clusterDomain: string;
  readonly #hostServices: HostServices;
  readonly #follow: Resolver;
  readonly #listeners = new Set<() => void>();

  constructor(opts: RuleResolverOptions) {
    this.#rules = new RuleSet(opts.rules);
    this.#clusterDomain = opts.clusterDomain.toLowerCase();
    this.#hostServices = opts.hostServices;
    this.#follow = opts.follow;
  }

  /** Replaces the rules at once. The caller also points the host index at RuleSet.hostNamespaces(rules). */
  setRules(rules: readonly ResolveDNSRule[]): void {
    this.#rules = new RuleSet(rules);
    for (const l of this.#listeners) l();
  }

  /**
   * New rules, and every change of the host Services they name (a HostServices without onChange is
   * taken to never change), change what the rules answer.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    const fromHost = this.#hostServices.onChange?.(listener);
    return () => {
      this.#listeners.delete(listener);
      fromHost?.();
    };
  }

  async resolve(q: Question, ctx: ResolveContext): Promise<Resolution | undefined> {
    const match = this.#rules.match(q.name, this.#clusterDomain);
    if (match === undefined) return undefined;
    const target = match.target;
    switch (target.kind) {
      case 'hostname':
        return this.#alias(q, target.name, ctx);
      case 'ip':
        return this.#addresses(q, [target.ip]);
      case 'hostService': {
        const found = this.#hostServices.lookup(target.namespace, target.name);
        if (found.state === 'unknown') return servfail();
        if (found.state === 'missing') return this.#negative(q, 'NXDOMAIN');
        return this.#service(q, found.service, ctx);
      }
    }
  }

  async #alias(q: Question, targetName: string, ctx: ResolveContext): Promise<Resolution> {
    const cname: Answer = { type: 'CNAME', name: q.name, ttl: RULE_TTL, class: 'IN', data: targetName };
    if (q.type === 'CNAME') return { rcode: 'NOERROR', answers: [cname], authoritative: true };
    if (targetName === normalizeName(q.name)) return servfail();
    const followed = await this.#follow.resolve({ name: targetName, type: q.type }, ctx);
    if (followed === undefined || followed.rcode === 'SERVFAIL' || followed.rcode === 'REFUSED') {
      return servfail();
    }
    return {
      rcode: followed.rcode,
      answers: [cname, ...followed.answers],
      ...(followed.authorities === undefined ? {} : { authorities: followed.authorities }),
      authoritative: true,
    };
  }

  #service(q: Question, hSvc: V1Service, ctx: ResolveContext): Promise<Resolution> | Resolution {
    const spec = hSvc.spec ?? {};
    if (spec.type === 'ExternalName' && spec.externalName !== undefined && spec.externalName !== '') {
      return this.#alias(q, normalizeName(spec.externalName), ctx);
    }
    const ips = (spec.clusterIPs ?? (spec.clusterIP === undefined ? [] : [spec.clusterIP])).filter((ip) => ip !== '' && ip !== 'None');
    return this.#addresses(q, ips);
  }

  #addresses(q: Question, ips: readonly string[]): Resolution {
    const type = q.type === 'A' ? 'A' : q.type === 'AAAA' ? 'AAAA' : undefined;
    const wanted = type === undefined ? [] : ips.filter((ip) => ip.includes(':') === (type === 'AAAA'));
    if (type === undefined || wanted.length === 0) return this.#negative(q, 'NOERROR');
    return {
      rcode: 'NOERROR',
      answers: wanted.map((ip) => ({ type, name: q.name, ttl: RULE_TTL, class: 'IN', data: ip }) as Answer),
      authoritative: true,
    };
  }

  /** NXDOMAIN or NODATA with a SOA, so resolvers cache it for RULE_TTL (RFC 2308 §3). */
  #negative(q: Question, rcode: 'NXDOMAIN' | 'NOERROR'): Resolution {
    const name = normalizeName(q.name);
    const zone = name === this.#clusterDomain || name.endsWith(`.${this.#clusterDomain}`) ? this.#clusterDomain : name;
    const soa: Answer = {
      type: 'SOA', name: zone, ttl: RULE_TTL, class: 'IN',
      data: { mname: `ns.dns.${this.#clusterDomain}`, rname: `hostmaster.${this.#clusterDomain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: RULE_TTL },
    };
    return { rcode, answers: [], authorities: [soa], authoritative: true };
  }
}

function servfail(): Resolution {
  return { rcode: 'SERVFAIL', answers: [], authoritative: false };
}
