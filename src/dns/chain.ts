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
import type { Question, Resolution, ResolveContext, Resolver } from './types.ts';

/** The most resolvers one question may pass through by following aliases (CoreDNS stops CNAME chains at 8 too). */
export const MAX_DEPTH = 8;

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
  const zones = [...new Set([opts.clusterDomain.toLowerCase(), 'cluster.local'])];
  const inClusterZone = (name: string): boolean => zones.some((z) => name === z || name.endsWith(`.${z}`));

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
      const name = q.name.toLowerCase().replace(/\.$/, '');
      const byCluster = await cluster?.resolve(q, ctx);
      if (byCluster !== undefined) {
        if (opts.fallbackHostCluster && byCluster.rcode === 'NXDOMAIN' && inClusterZone(name)) {
          const byHost = await opts.forward.resolve(q, ctx);
          if (byHost !== undefined && byHost.rcode === 'NOERROR') return byHost;
        }
        return byCluster;
      }
      if (inClusterZone(name) && !opts.fallbackHostCluster) {
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
