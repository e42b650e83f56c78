// The cluster zone as a Resolver: answers `<clusterDomain>` (cluster.local by default) and the PTRs
// of the IPs it knows under in-addr.arpa / ip6.arpa, from the ClusterIndex of the virtual cluster.
// It is what CoreDNS's kubernetes plugin does in vCluster's Corefile (§7.1 of the reference):
// `kubernetes <domain> in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa }`.
//
// Rules (Kubernetes DNS-Based Service Discovery spec, kubernetes/dns docs/specification.md):
//   - A name that exists with no record of the asked type is NODATA (NOERROR, no answers); a name
//     that does not exist is NXDOMAIN. Both carry the zone's SOA so clients cache them (RFC 2308).
//   - Reverse names of unknown IPs are not ours (undefined): like CoreDNS's `fallthrough in-addr.arpa
//     ip6.arpa`, the next resolver (forwarding) gets them.
//   - ExternalName answers a CNAME plus the target's addresses, resolved through `follow` (the full
//     chain), never a bare CNAME when the target resolves (loft-sh/loft#261).
import type { ClusterIndex, EndpointAddress, PortRecord, ServiceRecord } from './cluster-index.ts';
import {
  addressRecordsFor, cnameRecord, DEFAULT_TTL, ipToDashed, normalizeName, parseClusterName, parseReverseName,
  podFqdn, ptrRecord, reverseZone, serviceFqdn, soaRecord, srvRecord, srvWeight, type ClusterName,
} from './records.ts';
import { MAX_DEPTH, type Answer, type Question, type Resolution, type ResolveContext, type Resolver } from './types.ts';

export interface ClusterResolverOptions {
  index: ClusterIndex;
  /** `networking.advanced.clusterDomain`; default `cluster.local`. */
  clusterDomain?: string;
  /** TTL of positive answers and of the SOA (negative caching); default 5 s like CoreDNS. */
  ttl?: number;
  /** The whole chain, to resolve ExternalName targets; without it only in-zone targets are followed. */
  follow?: Resolver;
  /**
   * Answer `undefined` instead of NXDOMAIN for names under the cluster domain, so the next resolver
   * (the host cluster's DNS) gets them: `networking.advanced.fallbackHostCluster` (§7.3). Off by default.
   */
  fallthrough?: boolean;
}

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export class ClusterResolver implements Resolver {
  readonly #index: ClusterIndex;
  readonly #domain: string;
  readonly #ttl: number;
  readonly #follow: Resolver | undefined;
  readonly #fallthrough: boolean;
  /** The zones answered: the cluster domain first, then `cluster.local` if that is another one. */
  readonly #zones: readonly string[];

  constructor(opts: ClusterResolverOptions) {
    this.#index = opts.index;
    this.#domain = normalizeName(opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    this.#ttl = opts.ttl ?? DEFAULT_TTL;
    this.#follow = opts.follow;
    this.#fallthrough = opts.fallthrough ?? false;
    if (this.#domain === '' || this.#domain.split('.').some((l) => l === '')) throw new Error(`invalid cluster domain "${opts.clusterDomain}"`);
    this.#zones = [...new Set([this.#domain, DEFAULT_CLUSTER_DOMAIN])];
  }

  /** Every change the index applies changes what this zone may answer. */
  onChange(listener: () => void): () => void {
    return this.#index.onChange(() => listener());
  }

  async resolve(q: Question, ctx: ResolveContext): Promise<Resolution | undefined> {
    const name = normalizeName(q.name);
    const type: string = q.type;
    const reverse = reverseZone(name);
    if (reverse !== undefined) return this.#reverse(name, type, reverse);
    // The cluster domain, and `cluster.local` too when the domain is another one: CoreDNS's
    // kubernetes plugin serves both zones in vCluster's Corefile (§7.1), and images and charts
    // written for the default domain keep working in a cluster with its own.
    const zone = this.#zones.find((z) => name === z || name.endsWith(`.${z}`));
    if (zone === undefined) return undefined;
    const parsed = parseClusterName(name, zone);
    if (parsed === undefined) return undefined;
    const answer = await this.#forward(name, type, parsed, ctx, zone);
    if (answer.rcode === 'NXDOMAIN' && this.#fallthrough) return undefined;
    return answer;
  }

  async #forward(name: string, type: string, n: ClusterName, ctx: ResolveContext, zone: string): Promise<Resolution> {
    const index = this.#index;
    switch (n.kind) {
      case 'apex':
        return type === 'SOA' || type === 'ANY' ? this.#positive([this.#soa(zone)]) : this.#nodata(zone);
      case 'svc-root':
      case 'pod-root':
        return this.#nodata(zone);
      case 'namespace':
        return index.hasServiceNamespace(n.ns) ? this.#nodata(zone) : this.#nxdomain(zone);
      case 'pod-namespace':
        return index.hasPodNamespace(n.ns) || index.hasServiceNamespace(n.ns) ? this.#nodata(zone) : this.#nxdomain(zone);
      case 'pod':
        // `pods insecure`: the IP in the name is the answer, whether or not such a pod exists.
        return this.#addresses(name, [n.ip], type, zone);
      case 'service': {
        const svc = index.service(n.ns, n.service);
        if (svc === undefined) return this.#nxdomain(zone);
        return this.#service(name, type, svc, ctx, zone);
      }
      case 'endpoint': {
        const svc = index.service(n.ns, n.service);
        if (svc?.type !== 'Headless') return this.#nxdomain(zone);
        const ips = this.#endpointIPs(svc, n.endpoint);
        return ips.length === 0 ? this.#nxdomain(zone) : this.#addresses(name, ips, type, zone);
      }
      case 'srv': {
        const svc = index.service(n.ns, n.service);
        if (svc === undefined) return this.#nxdomain(zone);
        const ports = this.#ports(svc).filter((p) => p.name === n.port && p.protocol === n.protocol);
        if (ports.length === 0) return this.#nxdomain(zone);
        if (type !== 'SRV' && type !== 'ANY') return this.#nodata(zone);
        return this.#srv(name, svc, ports, zone);
      }
      case 'srv-protocol': {
        const svc = index.service(n.ns, n.service);
        const has = svc !== undefined && this.#ports(svc).some((p) => p.name !== '' && p.protocol === n.protocol);
        return has ? this.#nodata(zone) : this.#nxdomain(zone);
      }
      case 'nonexistent':
        return this.#nxdomain(zone);
    }
  }

  async #service(name: string, type: string, svc: ServiceRecord, ctx: ResolveContext, zone: string): Promise<Resolution> {
    if (svc.type === 'ExternalName') return this.#externalName(name, type, svc, ctx, zone);
    if (type === 'SRV') {
      const named = this.#ports(svc).filter((p) => p.name !== '');
      return named.length === 0 ? this.#nodata(zone) : this.#srv(name, svc, named, zone);
    }
    const ips = svc.type === 'ClusterIP' ? svc.clusterIPs : this.#index.endpoints(svc.ns, svc.name).map((e) => e.ip);
    return this.#addresses(name, ips, type, zone);
  }

  async #externalName(name: string, type: string, svc: ServiceRecord, ctx: ResolveContext, zone: string): Promise<Resolution> {
    const target = normalizeName(svc.externalName ?? '');
    if (target === '') return this.#nodata(zone);
    const cname = cnameRecord(name, target, this.#ttl);
    if (type === 'CNAME' || type === 'ANY' || ctx.depth + 1 >= MAX_DEPTH) return this.#positive([cname]);
    const follow = this.#follow ?? this;
    let chained: readonly Answer[] = [];
    try {
      const r = await follow.resolve({ name: target, type: type as Question['type'] }, { ...ctx, depth: ctx.depth + 1 });
      if (r?.rcode === 'NOERROR') chained = r.answers;
    } catch {
      // The target failing to resolve leaves the CNAME alone; the client may still chase it itself.
    }
    return this.#positive([cname, ...chained]);
  }

  /** The IPs behind `<label>.<svc>`: endpoint hostnames, dashed endpoint IPs, and pods with hostname+subdomain. */
  #endpointIPs(svc: ServiceRecord, label: string): string[] {
    const ips = new Set<string>();
    for (const ep of this.#index.endpoints(svc.ns, svc.name)) {
      if (ep.hostname === label || ipToDashed(ep.ip) === label) ips.add(ep.ip);
    }
    // The StatefulSet case (vCluster #2501): the pod's own hostname+subdomain, before (or without)
    // the slice carrying the hostname. Ready pods only, unless the Service publishes not-ready ones.
    for (const pod of this.#index.podsByHostname(label, svc.name, svc.ns)) {
      if (pod.ready || svc.publishNotReadyAddresses) for (const ip of pod.ips) ips.add(ip);
    }
    return [...ips];
  }

  #ports(svc: ServiceRecord): readonly PortRecord[] {
    // A headless Service's SRV ports are the endpoints' (target) ports, as the spec says.
    return svc.type === 'Headless' ? this.#index.endpointPorts(svc.ns, svc.name) : svc.ports;
  }

  /** SRV targets are spelled in the zone asked, so a client of either zone can resolve them. */
  #srv(name: string, svc: ServiceRecord, ports: readonly PortRecord[], zone: string): Resolution {
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    if (svc.type === 'Headless') {
      const eps: readonly EndpointAddress[] = this.#index.endpoints(svc.ns, svc.name);
      const weight = srvWeight(eps.length * ports.length);
      for (const ep of eps) {
        const target = `${ep.hostname ?? ipToDashed(ep.ip)}.${serviceFqdn(svc.name, svc.ns, zone)}`;
        for (const p of ports) answers.push(srvRecord(name, target, p.port, weight, this.#ttl));
        additionals.push(...addressRecordsFor(target, [ep.ip], 'ANY', this.#ttl));
      }
      if (answers.length === 0) return this.#nodata(zone);
    } else {
      const target = svc.type === 'ExternalName' ? normalizeName(svc.externalName ?? '') : serviceFqdn(svc.name, svc.ns, zone);
      const weight = srvWeight(ports.length);
      for (const p of ports) answers.push(srvRecord(name, target, p.port, weight, this.#ttl));
      if (svc.type === 'ClusterIP') additionals.push(...addressRecordsFor(target, svc.clusterIPs, 'ANY', this.#ttl));
    }
    return { ...this.#positive(answers), additionals };
  }

  #reverse(name: string, type: string, zone: string): Resolution | undefined {
    const ip = parseReverseName(name);
    if (ip === undefined) return undefined;
    const index = this.#index;
    const targets = new Set<string>();
    for (const svc of index.servicesByIP(ip)) targets.add(serviceFqdn(svc.name, svc.ns, this.#domain));
    for (const ep of index.endpointHostnamesByIP(ip)) targets.add(`${ep.hostname}.${serviceFqdn(ep.service, ep.ns, this.#domain)}`);
    for (const pod of index.podsByIP(ip)) {
      const headless = pod.hostname !== undefined && pod.subdomain !== undefined && index.service(pod.ns, pod.subdomain)?.type === 'Headless';
      targets.add(headless ? `${pod.hostname}.${serviceFqdn(pod.subdomain as string, pod.ns, this.#domain)}` : podFqdn(ip, pod.ns, this.#domain));
    }
    if (targets.size === 0) return undefined;
    if (type !== 'PTR' && type !== 'ANY') return this.#negative('NOERROR', zone);
    return this.#positive([...targets].map((t) => ptrRecord(name, t, this.#ttl)));
  }

  #addresses(name: string, ips: readonly string[], type: string, zone: string): Resolution {
    const answers = addressRecordsFor(name, ips, type, this.#ttl);
    return answers.length === 0 ? this.#nodata(zone) : this.#positive(answers);
  }

  #positive(answers: readonly Answer[]): Resolution {
    return { rcode: 'NOERROR', answers, authoritative: true, source: 'cluster' };
  }

  #nodata(zone: string): Resolution {
    return this.#negative('NOERROR', zone);
  }

  #nxdomain(zone: string): Resolution {
    return this.#negative('NXDOMAIN', zone);
  }

  #negative(rcode: 'NOERROR' | 'NXDOMAIN', zone: string): Resolution {
    return { rcode, answers: [], authorities: [this.#soa(zone)], authoritative: true, source: 'cluster' };
  }

  #soa(zone: string): Answer {
    // A serial that moves with time, like CoreDNS's (it uses the time of the last change); clients
    // of a cluster zone never transfer it, so only monotonicity matters.
    return soaRecord(zone, this.#ttl, Math.floor(Date.now() / 1000) >>> 0);
  }
}
