// Forwarding to upstream DNS servers: the tail of the chain, as CoreDNS's `forward` plugin is the tail
// of vCluster's Corefile (vcluster-networking.md §7.1).
//
// - UDP first; a truncated answer (TC=1) is asked again over TCP (RFC 7766 §5), and a question whose
//   client came over TCP (`ctx.transport === 'tcp'`) goes over TCP at once.
// - Servers are asked one after the other (CoreDNS `policy sequential`), each with its own timeout; a
//   timeout, a network error, SERVFAIL, REFUSED, NOTIMP or FORMERR moves on to the next. When every
//   server fails, the answer is SERVFAIL.
// - Answers are validated: the same ID and question, from the address the query went to over UDP.
//   Each query uses a new random ID and a new socket with a random source port (RFC 5452).
// - Positive and negative answers are cached (cache.ts).
//
// Loop protection, because a forwarding loop (vcnet -> upstream -> vcnet) would multiply every query:
// 1. An upstream that is vcnet's own listening address is never used (refused at construction and
//    reported by `refused`), including `0.0.0.0`/`::` listeners against loopback and local addresses.
// 2. Like CoreDNS's `loop` plugin, `probeForLoops()` sends every upstream a random HINFO question
//    `<random>.<random>.vcnet-loop-probe.`; if that question comes back into vcnet and reaches this
//    forwarder, the upstream sends vcnet's queries back to vcnet: it is marked looping and no longer
//    used (CoreDNS exits instead; vcnet keeps serving the cluster zone). A probe that comes back is
//    answered SERVFAIL at once, so the probe itself cannot loop.
// 3. `seesOwnQuery(id, name)`: the server calls it for every query it receives; true when a query with
//    that ID and name left this forwarder within the last timeout, i.e. an upstream handed vcnet's own
//    query back. The server answers such a query SERVFAIL instead of resolving it again.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import { parseUpstream } from '../config/checks.ts';
import type { DnsCache } from './cache.ts';
import { normalizeName } from './records.ts';
import { TcpFrames } from './tcp-frames.ts';
import type { Answer, Question, Rcode, Resolution, ResolveContext, Resolver } from './types.ts';

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export interface ForwarderOptions {
  readonly upstreams: readonly Upstream[];
  /** Per server and attempt; default 2000 ms (CoreDNS forward's read timeout). */
  readonly timeoutMs?: number;
  readonly cache?: DnsCache;
  /** vcnet's own DNS listening addresses: never forwarded to. */
  readonly self?: readonly Upstream[];
}

/** The EDNS(0) UDP payload size vcnet advertises upstream (DNS Flag Day 2020: 1232 avoids fragmentation). */
const EDNS_UDP_SIZE = 1232;
const DEFAULT_TIMEOUT_MS = 2000;
const PROBE_ZONE = 'vcnet-loop-probe';

/** The `nameserver` lines of a resolv.conf text (resolv.conf(5)), in order, each on port 53. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined) continue;
    // glibc accepts a zone on link-local IPv6 nameservers (fe80::1%eth0); vcnet cannot send to those portably.
    const parsed = parseUpstream(address);
    if (parsed !== undefined) out.push({ host: parsed.host, port: 53 });
  }
  return out;
}

export function readResolvConf(path = '/etc/resolv.conf'): Upstream[] {
  return parseResolvConf(readFileSync(path, 'utf8'));
}

/**
 * Where the forwarder sends questions, from the config (vcluster-networking.md §7.1 and §7.3):
 * with fallbackHostCluster, the host cluster DNS (`hostClusterDNS`, else the FIRST nameserver of
 * resolv.conf, as vCluster takes it); without it, `upstreams`, else every nameserver of resolv.conf.
 */
export function forwardUpstreams(opts: {
  readonly fallbackHostCluster: boolean;
  readonly upstreams: readonly string[];
  readonly hostClusterDNS: string;
  readonly resolvConfPath?: string;
}): Upstream[] {
  const parse = (s: string): Upstream => {
    const u = parseUpstream(s);
    if (u === undefined) throw new Error(`not a DNS server address: ${JSON.stringify(s)}`);
    return u;
  };
  if (opts.fallbackHostCluster) {
    if (opts.hostClusterDNS !== '') return [parse(opts.hostClusterDNS)];
    return readResolvConf(opts.resolvConfPath).slice(0, 1);
  }
  if (opts.upstreams.length > 0) return opts.upstreams.map(parse);
  return readResolvConf(opts.resolvConfPath);
}

export class Forwarder implements Resolver {
  /** The servers in use, in the order they are asked. */
  readonly upstreams: readonly Upstream[];
  /** Configured servers that are vcnet itself, never used. */
  readonly refused: readonly Upstream[];
  readonly #timeoutMs: number;
  readonly #cache: DnsCache | undefined;
  readonly #looping = new Set<string>();
  /** Probe name -> the upstream it was sent to. */
  readonly #probes = new Map<string, Upstream>();
  /** `id|name` of queries sent upstream -> when the entry expires. */
  readonly #sent = new Map<string, number>();

  constructor(opts: ForwarderOptions) {
    const self = opts.self ?? [];
    this.upstreams = opts.upstreams.filter((u) => !self.some((s) => isSameListener(s, u)));
    this.refused = opts.upstreams.filter((u) => !this.upstreams.includes(u));
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#cache = opts.cache;
  }

  /** Upstreams found to send vcnet's queries back to vcnet. */
  get looping(): readonly Upstream[] {
    return this.upstreams.filter((u) => this.#looping.has(keyOf(u)));
  }

  async resolve(q: Question, ctx: ResolveContext): Promise<Resolution> {
    if (ctx.trace !== undefined) ctx.trace.forwarded = true;
    const probe = this.#probes.get(q.name);
    if (probe !== undefined) {
      this.#looping.add(keyOf(probe));
      return failure('SERVFAIL');
    }
    const cached = this.#cache?.get(q);
    if (cached !== undefined) return cached;
    const viaTCP = ctx.transport === 'tcp';
    for (const upstream of this.upstreams) {
      if (this.#looping.has(keyOf(upstream))) continue;
      if (ctx.signal?.aborted === true) break;
      const answer = await this.#ask(upstream, q, viaTCP, ctx.signal);
      if (answer === undefined) continue;
      this.#cache?.set(q, answer);
      return answer;
    }
    return failure('SERVFAIL');
  }

  /** True when a query with this ID and name left vcnet for an upstream moments ago: an upstream sent it back. */
  seesOwnQuery(id: number, name: string): boolean {
    if (this.#sent.size === 0) return false;
    // Every entry lives the same time, so the map is in expiry order: drop the expired ones from the
    // front and stop at the first live one (this runs for every query the server receives).
    const now = Date.now();
    for (const [key, expires] of this.#sent) {
      if (expires > now) break;
      this.#sent.delete(key);
    }
    return this.#sent.has(`${id}|${normalizeName(name)}`);
  }

  /** Sends each upstream a random question that only a loop brings back (see the top of this file). */
  async probeForLoops(): Promise<void> {
    await Promise.all(this.upstreams.map(async (upstream) => {
      const name = `${randomInt(2 ** 31)}.${randomInt(2 ** 31)}.${PROBE_ZONE}`;
      this.#probes.set(name, upstream);
      await this.#exchange(upstream, { name, type: 'HINFO' }, false, undefined).catch(() => undefined);
    }));
  }

  /** One server: UDP, then TCP when truncated. Undefined when this server failed and the next should be asked. */
  async #ask(upstream: Upstream, q: Question, viaTCP: boolean, signal: AbortSignal | undefined): Promise<Resolution | undefined> {
    try {
      let packet = await this.#exchange(upstream, q, viaTCP, signal);
      if (!viaTCP && packet.flag_tc) packet = await this.#exchange(upstream, q, true, signal);
      const rcode = (packet as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
      if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return undefined;
      const strip = (records: Answer[] | undefined): Answer[] => (records ?? []).filter((a) => a.type !== 'OPT');
      return {
        rcode,
        answers: strip(packet.answers),
        authorities: strip(packet.authorities),
        additionals: strip(packet.additionals),
        authoritative: false,
      };
    } catch {
      return undefined;
    }
  }

  #exchange(upstream: Upstream, q: Question, viaTCP: boolean, signal: AbortSignal | undefined): Promise<DecodedPacket> {
    const id = randomInt(65536);
    const name = normalizeName(q.name);
    // Delete first, so a repeated key moves to the end and the map stays in expiry order.
    this.#sent.delete(`${id}|${name}`);
    this.#sent.set(`${id}|${name}`, Date.now() + this.#timeoutMs * 2);
    const query: Packet = {
      type: 'query', id, flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: q.type, name: q.name, class: 'IN' }],
      additionals: viaTCP ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer],
    };
    const matches = (p: DecodedPacket): boolean => {
      const pq = p.questions?.[0];
      return p.id === id && p.type === 'response' && pq !== undefined && pq.type === q.type && pq.name.toLowerCase() === name;
    };
    return viaTCP ? exchangeTCP(upstream, query, matches, this.#timeoutMs, signal) : exchangeUDP(upstream, query, matches, this.#timeoutMs, signal);
  }
}

function failure(rcode: Rcode): Resolution {
  return { rcode, answers: [], authoritative: false };
}

function keyOf(u: Upstream): string {
  return `${u.host}|${u.port}`;
}

/** Whether `upstream` reaches the listener `self`: the same address, or any local address when self listens on all. */
function isSameListener(self: Upstream, upstream: Upstream): boolean {
  if (self.port !== upstream.port) return false;
  if (self.host === upstream.host) return true;
  if (self.host !== '0.0.0.0' && self.host !== '::') return false;
  if (upstream.host.startsWith('127.') || upstream.host === '::1' || upstream.host === '0.0.0.0' || upstream.host === '::') return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === upstream.host));
}

function exchangeUDP(upstream: Upstream, query: Packet, matches: (p: DecodedPacket) => boolean, timeoutMs: number, signal: AbortSignal | undefined): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, packet?: DecodedPacket): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err !== undefined) reject(err);
      else resolve(packet as DecodedPacket);
    };
    const onAbort = (): void => done(new Error('aborted'));
    const timer = setTimeout(() => done(new Error(`no answer from ${upstream.host}:${upstream.port} within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => done(err));
    socket.on('message', (msg, rinfo) => {
      // An answer from any other address, or for another question, is ignored (RFC 5452 §9.1).
      if (rinfo.port !== upstream.port || rinfo.address !== upstream.host) return;
      let packet: DecodedPacket;
      try {
        packet = dnsPacket.decode(msg);
      } catch {
        return;
      }
      if (matches(packet)) done(undefined, packet);
    });
    socket.send(dnsPacket.encode(query), upstream.port, upstream.host, (err) => {
      if (err !== null && err !== undefined) done(err);
    });
  });
}

function exchangeTCP(upstream: Upstream, query: Packet, matches: (p: DecodedPacket) => boolean, timeoutMs: number, signal: AbortSignal | undefined): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    const frames = new TcpFrames();
    const done = (err: Error | undefined, packet?: DecodedPacket): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(packet as DecodedPacket);
    };
    const onAbort = (): void => done(new Error('aborted'));
    const timer = setTimeout(() => done(new Error(`no answer from ${upstream.host}:${upstream.port} over TCP within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => done(err));
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(query)));
    socket.on('data', (chunk: Buffer) => {
      for (const message of frames.push(chunk)) {
        try {
          const packet = dnsPacket.decode(message);
          if (matches(packet)) {
            done(undefined, packet);
            return;
          }
        } catch {
          done(new Error(`a malformed answer from ${upstream.host}:${upstream.port}`));
          return;
        }
      }
    });
    socket.on('end', () => done(new Error(`${upstream.host}:${upstream.port} closed the connection without an answer`)));
  });
}
