// dns/: vcnet's DNS server for the virtual cluster's names.
//   types.ts          the shared shapes: Question, Resolution, Resolver (the chain's links)
//   server.ts         DnsServer: UDP+TCP wire protocol, EDNS0, truncation, metrics
//   records.ts        pure: cluster-zone name parsing, reverse names, record builders
//   cluster-index.ts  ClusterIndex: the virtual Services, EndpointSlices and Pods, projected, O(1) lookups
//   cluster.ts        ClusterResolver: the cluster zone (+ PTRs it knows) from the index
//   metrics.ts        DnsMetrics (vcnet_dns_*)
//   rules.ts          pure: networking.resolveDNS rules compiled and matched
//   rule-resolver.ts  RuleResolver: answers for matched rules (CNAME + addresses, IPs, host Services)
//   host-index.ts     HostServiceIndex: the host Services the rules name, per namespace
//   forward.ts        Forwarder: upstream / host-cluster DNS, failover, loop protection
//   tcp-frames.ts     TcpFrames: DNS over TCP's length-prefixed messages out of a byte stream
//   cache.ts          DnsCache: bounded positive and negative cache of forwarded answers
//   chain.ts          createResolverChain: rules -> cluster zone -> forward
export type { Answer, Question, Rcode, RecordType, Resolution, ResolutionSource, ResolveContext, ResolveTrace, Resolver } from './types.ts';
export { DnsServer, type DnsServerOptions } from './server.ts';
export { DnsMetrics } from './metrics.ts';
export { ClusterIndex, type ClusterIndexOptions, type ChangeListener, type EndpointAddress, type IndexKind, type PodRecord, type PortRecord, type ServiceRecord } from './cluster-index.ts';
export { ClusterResolver, DEFAULT_CLUSTER_DOMAIN, type ClusterResolverOptions } from './cluster.ts';
export { DEFAULT_TTL } from './records.ts';
export { RuleSet } from './rules.ts';
export { RuleResolver } from './rule-resolver.ts';
export { HostServiceIndex } from './host-index.ts';
export { Forwarder, forwardUpstreams, readResolvConf, type Upstream } from './forward.ts';
export { DnsCache } from './cache.ts';
export { createResolverChain, type ResolverChain } from './chain.ts';
