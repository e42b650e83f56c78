// The shapes every part of vcnet's DNS server shares: a question, an answer, and a Resolver that turns
// one into the other. The server (server.ts) speaks the wire protocol; resolvers are chained: the
// resolveDNS rules (rules.ts), the cluster zone from the virtual cluster's objects (cluster.ts), then
// the host cluster's DNS or the upstream resolvers (forward.ts). Records use dns-packet's shapes, so
// a resolver's answers go onto the wire unchanged.
import type { Answer as WireAnswer, RecordType as WireRecordType } from 'dns-packet';

export type RecordType = WireRecordType;
export type Answer = WireAnswer;

export interface Question {
  /** Lower-case, without the trailing dot (`web.shop.svc.cluster.local`). */
  readonly name: string;
  readonly type: RecordType;
}

/** DNS response codes vcnet answers with (RFC 1035 §4.1.1, RFC 2136). */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface Resolution {
  readonly rcode: Rcode;
  readonly answers: readonly Answer[];
  /** The zone's SOA for negative answers (NXDOMAIN and NODATA), so resolvers cache them (RFC 2308). */
  readonly authorities?: readonly Answer[];
  readonly additionals?: readonly Answer[];
  /** AA: vcnet is the authority for the name (the cluster zone, a rule); false for forwarded answers. */
  readonly authoritative: boolean;
  /** Which resolver answered, for the `vcnet_dns_duration_seconds{source}` metric; the server counts a missing one as `none`. */
  readonly source?: ResolutionSource;
}

/** The resolvers of the chain, as metric label values. */
export type ResolutionSource = 'cluster' | 'rule' | 'forward' | 'none';

/** The most resolvers one question may pass through by following aliases (CoreDNS stops CNAME chains at 8 too). */
export const MAX_DEPTH = 8;

export interface ResolveContext {
  readonly signal?: AbortSignal;
  /** How many resolvers this question has passed through already (CNAME chasing, rules): loop protection. */
  readonly depth: number;
  /** How the client asked: a forwarded question goes upstream over TCP when the client used TCP. */
  readonly transport?: 'udp' | 'tcp';
  /**
   * Shared by every resolver one question passes through (contexts are copied, this object is not):
   * the forwarder marks it, so the server knows the answer holds data from outside vcnet, whose TTLs
   * run down on their own clock, and keeps it out of its answer cache (server.ts).
   */
  readonly trace?: ResolveTrace;
}

export interface ResolveTrace {
  /** Set by forward.ts when any part of the answer was asked of an upstream (or of its cache). */
  forwarded: boolean;
}

/**
 * One link of the chain. `undefined` means "not mine": the next resolver gets the question. A
 * resolver that owns the name answers it, NXDOMAIN included.
 */
export interface Resolver {
  resolve(q: Question, ctx: ResolveContext): Promise<Resolution | undefined>;
  /**
   * Present on a resolver whose answers follow state it announces every change of: `listener` runs
   * after each change, before the next question sees it. The server's answer cache relies on it
   * (server.ts): it keeps answers only of a resolver that has it. Returns an unsubscribe.
   */
  onChange?(listener: () => void): () => void;
}
