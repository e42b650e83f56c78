// The resolver chain of vcnet's DNS server, in the order vCluster's Corefile puts its plugins
// (vcluster-networking.md §7.1, §7.2, §7.3): the resolveDNS rules, then the cluster zone from the
// virtual cluster's objects, then the host cluster's DNS or the upstream resolvers.
//
//   name under the cluster domain, unknown to the cluster zone:
//     fallbackHostCluster  -> asked of the host cluster DNS (the forwarder is built for it:
//                             forwardUpstreams in forward.ts); an NXDOMAIN of the cluster zone falls
//                             through the same way (CoreDNS `fallthrough cluster.local`)
//     otherwise            -> NXDOMAIN, authoritative (the cluster zone is vcnet's)
//   any other name         -> the forwarder (host cluster DNS with fallbackHostCluster, else upstreams)
//
// vCluster falls through only `cluster.local`; vcnet falls through its cluster domain, whatever it is,
// and `cluster.local`, which the host cluster DNS most likely serves.
//
// `follow` resolves a name through the whole chain again, one level deeper: the ClusterResolver uses
// it for ExternalName targets and the rules for hostname targets, so aliases reach their addresses.
// Depth is bounded (MAX_DEPTH): an alias loop ends in SERVFAIL instead of spinning.
import { DEFAULT_CLUSTER_DOMAIN } from './cluster.ts';
import { inZone, normalizeName } from './records.ts';
import { MAX_DEPTH, type Question, type Resolution, type ResolveContext, type Resolver } from './types.ts';

export { MAX_DEPTH } from './types.ts';

type ResolverOrFactory = Resolver | ((follow: Resolver) => Resolver);

export interface ResolverChainOptions {
  /** The rule resolver (rule-resolver.ts), or a factory given `follow`. Absent: no rules. */
  readonly rules?: ResolverOrFactory | undefined;
  /** The cluster zone (cluster.ts), or a factory given `follow`. */
  readonly cluster?: ResolverOrFactory | undefined;
  /** Always answers: forward.ts's Forwarder, pointed at the host cluster DNS or the upstreams. */
  readonly forward: Resolver;
  readonly fallbackHostCluster: boolean;
  readonly clusterDomain: string;
}

export interface ResolverChain extends Resolver {
  resolve(q: Question, ctx: ResolveContext): Promise<Resolution>;
  /** Resolves an alias target through the whole chain, one level deeper. */
  readonly follow: Resolver;
}

/** A Resolver that hands questions to another one, bound later: breaks the cycle chain -> cluster -> follow -> chain. */
export class Follower implements Resolver {
  #target: Resolver | undefined;

  bind(target: Resolver): void {
    this.#target = target;
  }

  async resolve(q: Question, ctx: ResolveContext): Promise<Resolution> {
    if (this.#target === undefined || ctx.depth + 1 >= MAX_DEPTH) return servfail();
    return (await this.#target.resolve(q, { ...ctx, depth: ctx.depth + 1 })) ?? servfail();
  }
}

export function createResolverChain(opts: ResolverChainOptions): ResolverChain {
  const follow = new Follower();
  const build = (r: ResolverOrFactory | undefined): Resolver | undefined => (typeof r === 'function' ? r(follow) : r);
  const rules = build(opts.rules);
  const cluster = build(opts.cluster);
  const zones = [...new Set([normalizeName(opts.clusterDomain), DEFAULT_CLUSTER_DOMAIN])];
  const inClusterZone = (name: string): boolean => zones.some((z) => inZone(name, z));

  // The forwarder has no onChange: the server keeps nothing it answered (ResolveContext.trace).
  const parts = [rules, cluster].filter((r): r is Resolver => r !== undefined);
  const onChange = parts.every((r) => r.onChange !== undefined)
    ? (listener: () => void): (() => void) => {
        const offs = parts.map((r) => r.onChange?.(listener));
        return () => { for (const off of offs) off?.(); };
      }
    : undefined;

  const chain: ResolverChain = {
    follow,
    ...(onChange === undefined ? {} : { onChange }),
    async resolve(q, ctx) {
      if (ctx.depth >= MAX_DEPTH) return servfail();
      const byRule = await rules?.resolve(q, ctx);
      if (byRule !== undefined) return byRule;
      // With fallbackHostCluster the cluster zone leaves its misses to the next resolver
      // (ClusterResolver's `fallthrough`), so they reach the host cluster's DNS below.
      const byCluster = await cluster?.resolve(q, ctx);
      if (byCluster !== undefined) return byCluster;
      if (!opts.fallbackHostCluster && inClusterZone(normalizeName(q.name))) {
        return { rcode: 'NXDOMAIN', answers: [], authoritative: true };
      }
      return (await opts.forward.resolve(q, ctx)) ?? servfail();
    },
  };
  follow.bind(chain);
  return chain;
}

function servfail(): Resolution {
  return { rcode: 'SERVFAIL', answers: [], authoritative: false };
}
