// vcnet's DNS server: the wire protocol over UDP and TCP on one address and port, in front of a
// Resolver chain (types.ts). It decides everything about the packet, nothing about names:
//
//   shorter than a header, or a response (QR=1)   -> dropped (answering could feed a reflection loop)
//   opcode other than QUERY                       -> NOTIMP (RFC 1035 §4.1.1)
//   undecodable, QDCOUNT != 1, a question name with compression, labels over 63 bytes, more than
//   255 bytes, or bytes that are not printable ASCII; more than one OPT, OPT not at the root
//                                                 -> FORMERR (RFC 1035 §4.1.1, RFC 6891 §6.1.1)
//   EDNS version > 0                              -> BADVERS (extended RCODE 16, RFC 6891 §6.1.3)
//   class other than IN (CH, HS, ANY)             -> REFUSED, like CoreDNS for a zone it does not serve
//   QTYPE OPT                                     -> FORMERR; AXFR/IXFR -> REFUSED (no zone transfers)
//   no resolver claims the name                   -> REFUSED; a resolver failing or late -> SERVFAIL
//
// Responses echo ID, opcode, RD and CD and the question as it came (its case included: DNS 0x20);
// RA is set because the chain recurses by forwarding; AA comes from the Resolution. UDP answers
// larger than the client's payload size (512 without EDNS0, else its OPT size clamped to 512..4096)
// first lose their additional and authority sections, then go out with TC=1 and as many whole
// answers as fit, so the client retries over TCP (RFC 1035 §4.2.1, RFC 2181 §9, RFC 7766).
//
// The answer cache. Most queries a cluster sends are the same few names again and again (every pod's
// resolver walks the same search path), and the cluster zone changes far less often than it is
// asked. So the encoded response to a plain query (one question, at most an OPT, nothing else) is
// kept under the query's bytes that decide it: transport and payload size, RD and CD, EDNS or not,
// and the question as spelled. A repeated query is answered by copying those bytes under its own ID,
// without decoding, resolving or encoding anything. Unlike CoreDNS's `cache` plugin, which serves a
// deleted Service for up to its TTL, the cache never answers stale: the owner calls invalidate() on
// every change of what the resolvers read (the index, the rules, the host Services they name), and an
// answer resolved across a change is not stored. Answers with anything from the forwarder (an
// upstream's records run down their own TTLs; forward.ts caches them) and SERVFAIL/REFUSED are
// never stored, and neither are truncated ones.
//
// Two or more A or AAAA records of one name go out rotated by one place per answer, so clients that
// take the first address spread over the endpoints, as CoreDNS's `loadbalance` plugin in vCluster's
// Corefile does for them.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import { DnsMetrics } from './metrics.ts';
import { TcpFrames } from './tcp-frames.ts';
import type { Answer, Question, Rcode, Resolution, ResolveTrace, Resolver } from './types.ts';

export interface DnsServerOptions {
  /** Address to listen on; `0.0.0.0` by default. */
  host?: string;
  /** Port for both UDP and TCP; 0 picks a free one (tests), read it back with address(). */
  port: number;
  resolver: Resolver;
  logger: Logger;
  /** Where the `vcnet_dns_*` metrics go; a private registry when absent. */
  registry?: Registry;
  /** A query the resolver has not answered by then gets SERVFAIL; default 5000 ms. */
  timeoutMs?: number;
  /** A TCP connection without a query for this long is closed (RFC 7766 §6.2.3); default 10000 ms. */
  tcpIdleTimeoutMs?: number;
  /** TCP connections beyond this are refused at accept; default 1000. */
  maxTcpConnections?: number;
  /**
   * True for a query that is one vcnet itself just sent upstream, come back (a forwarding loop,
   * forward.ts seesOwnQuery): it is answered SERVFAIL instead of being forwarded again.
   */
  isOwnQuery?: (id: number, name: string) => boolean;
  /** Encoded answers kept for repeated queries (see the top of this file); default 10,000, 0 turns the cache off. */
  answerCacheEntries?: number;
}

/** One stored response, ready to go out under a query's ID. */
interface CachedAnswer {
  readonly bytes: Buffer;
  /** Metric labels of the query it answers. */
  readonly type: string;
  readonly rcode: string;
  readonly source: string;
  /** Where two or more same-size address records lie in `bytes`, to rotate per answer; undefined: none. */
  readonly rotate: { readonly start: number; readonly count: number; readonly size: number } | undefined;
  turn: number;
}

const HEADER_BYTES = 12;
const FLAG_QR = 1 << 15;
const FLAG_AA = 1 << 10;
const FLAG_TC = 1 << 9;
const FLAG_RD = 1 << 8;
const FLAG_RA = 1 << 7;
const FLAG_CD = 1 << 4;
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;
const DEFAULT_UDP_PAYLOAD = 512;
const MAX_UDP_PAYLOAD = 4096;
/** What vcnet advertises in its own OPT: the DNS flag day 2020 size, safe from fragmentation. */
const ADVERTISED_UDP_PAYLOAD = 1232;
const MAX_TCP_MESSAGE = 65535;
/** Queries one TCP connection may have in flight before vcnet stops reading from it. */
const TCP_PIPELINE = 64;
const BADVERS = 16;
const TYPE_OPT = 41;
const DEFAULT_ANSWER_CACHE_ENTRIES = 10_000;
/** EDNS options dns-packet decodes field by field, so a malformed one fails its decode (FORMERR): ECS, keepalive, key tag. */
const DECODED_EDNS_OPTIONS = new Set([8, 11, 14]);

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** Metric label of each RCODE vcnet sends, by number. */
const RCODE_NAMES: Record<number, string> = { ...Object.fromEntries(Object.entries(RCODES).map(([name, n]) => [n, name])), [BADVERS]: 'BADVERS' };

/** The question exactly as it came: its bytes (echoed unchanged) and its decoded parts. */
interface RawQuestion {
  readonly bytes: Buffer;
  /** Dotted, in the client's case, no trailing dot; `.` for the root. */
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
}

interface Reply {
  rcode: number;
  question?: RawQuestion;
  answers?: readonly Answer[];
  authorities?: readonly Answer[];
  additionals?: readonly Answer[];
  authoritative?: boolean;
  /** Present when the query had an OPT record: the response carries one too (RFC 6891 §6.1.1). */
  edns?: boolean;
}

export class DnsServer {
  readonly metrics: DnsMetrics;
  readonly #opts: DnsServerOptions;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #maxConnections: number;
  #udp: dgram.Socket | undefined;
  #tcp: net.Server | undefined;
  readonly #connections = new Map<net.Socket, { inflight: number }>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #answers = new Map<string, CachedAnswer>();
  readonly #answerCacheEntries: number;
  readonly #unsubscribe: (() => void) | undefined;
  /** Bumped by invalidate(): an answer resolved across a bump is not stored. */
  #generation = 0;
  #closing = false;
  #address: { host: string; port: number } | undefined;

  constructor(opts: DnsServerOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`invalid DNS port ${opts.port}`);
    this.#opts = opts;
    this.#log = opts.logger;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#idleMs = opts.tcpIdleTimeoutMs ?? 10_000;
    this.#maxConnections = opts.maxTcpConnections ?? 1000;
    const entries = opts.answerCacheEntries ?? DEFAULT_ANSWER_CACHE_ENTRIES;
    if (!Number.isInteger(entries) || entries < 0) throw new Error(`invalid answer cache size ${opts.answerCacheEntries}`);
    // Only a resolver that announces its changes can have its answers kept.
    this.#answerCacheEntries = opts.resolver.onChange === undefined ? 0 : entries;
    this.metrics = new DnsMetrics(opts.registry);
    this.#unsubscribe = opts.resolver.onChange?.(() => this.invalidate());
  }

  /** Forgets every stored answer: the resolver's onChange calls it on every change. */
  invalidate(): void {
    this.#generation++;
    if (this.#answers.size === 0) return;
    this.#answers.clear();
    this.metrics.cacheInvalidations.inc();
    this.metrics.cacheEntries.set(0);
  }

  /** How many answers the cache holds (metrics, tests). */
  get cachedAnswers(): number {
    return this.#answers.size;
  }

  /** Binds TCP, then UDP on the same port. With port 0, retries a few ports if UDP's is taken. */
  async listen(): Promise<void> {
    const host = this.#opts.host ?? '0.0.0.0';
    for (let attempt = 0; ; attempt++) {
      const tcp = net.createServer((socket) => this.#onConnection(socket));
      tcp.maxConnections = this.#maxConnections;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.#opts.port, host, () => { tcp.off('error', reject); resolve(); });
      });
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(port, host, () => { udp.off('error', reject); resolve(); });
        });
      } catch (err) {
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        udp.close();
        if (this.#opts.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
        throw err;
      }
      udp.on('message', (msg, rinfo) => this.#onDatagram(udp, msg, rinfo));
      udp.on('error', (err) => this.#log.warn({ err }, 'dns: UDP socket error'));
      tcp.on('error', (err) => this.#log.warn({ err }, 'dns: TCP server error'));
      this.#udp = udp;
      this.#tcp = tcp;
      this.#address = { host, port };
      this.#log.info({ host, port }, 'dns server listening (UDP and TCP)');
      return;
    }
  }

  address(): { host: string; port: number } {
    assert.ok(this.#address !== undefined, 'address() before listen()');
    return this.#address;
  }

  /** Stops accepting, lets queries in flight finish (TCP answers included), then closes every socket. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#unsubscribe?.();
    const tcpClosed = this.#tcp === undefined ? Promise.resolve() : new Promise<void>((resolve) => this.#tcp?.close(() => resolve()));
    for (const [socket, state] of this.#connections) if (state.inflight === 0) socket.end();
    await Promise.allSettled([...this.#inflight]);
    for (const socket of this.#connections.keys()) socket.end();
    // A client that never reads its answer must not hold close() forever.
    const force = setTimeout(() => { for (const socket of this.#connections.keys()) socket.destroy(); }, 2000);
    await tcpClosed;
    clearTimeout(force);
    await new Promise<void>((resolve) => (this.#udp === undefined ? resolve() : this.#udp.close(() => resolve())));
    this.#log.info('dns server closed');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p)).catch(() => {});
    return p;
  }

  #onDatagram(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closing) return;
    // The hot path, synchronous: a repeated query goes out without a promise or a decode.
    const started = process.hrtime.bigint();
    const nameEnd = questionNameEnd(msg);
    const key = this.#answerCacheEntries === 0 ? undefined : cacheKey(msg, 'udp', nameEnd);
    const hit = key === undefined ? undefined : this.#fromCache(key, msg, started);
    if (hit !== undefined) {
      udp.send(hit, rinfo.port, rinfo.address);
      return;
    }
    void this.#track(this.#handle(msg, 'udp', started, key, nameEnd).then((out) => {
      if (out !== undefined) udp.send(out, rinfo.port, rinfo.address);
    }).catch((err: unknown) => this.#log.error({ err }, 'dns: failed to answer a UDP query')));
  }

  #onConnection(socket: net.Socket): void {
    if (this.#closing) { socket.destroy(); return; }
    const state = { inflight: 0 };
    this.#connections.set(socket, state);
    socket.setNoDelay(true);
    socket.setTimeout(this.#idleMs, () => socket.end());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    const frames = new TcpFrames();
    socket.on('data', (chunk: Buffer) => {
      for (const msg of frames.push(chunk)) {
        state.inflight++;
        if (state.inflight >= TCP_PIPELINE) socket.pause();
        void this.#track(this.handle(Buffer.from(msg), 'tcp').then((out) => {
          if (out !== undefined && !socket.destroyed) {
            const frame = Buffer.allocUnsafe(2 + out.length);
            frame.writeUInt16BE(out.length, 0);
            out.copy(frame, 2);
            socket.write(frame);
          }
        }).catch((err: unknown) => this.#log.error({ err }, 'dns: failed to answer a TCP query')).finally(() => {
          state.inflight--;
          if (state.inflight < TCP_PIPELINE) socket.resume();
          if (this.#closing && state.inflight === 0) socket.end();
        }));
      }
    });
  }

  /**
   * One query in, its answer out (undefined: drop it). Public so tests can drive the protocol
   * without sockets; never throws.
   */
  async handle(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const started = process.hrtime.bigint();
    const nameEnd = questionNameEnd(msg);
    const key = this.#answerCacheEntries === 0 ? undefined : cacheKey(msg, transport, nameEnd);
    return (key === undefined ? undefined : this.#fromCache(key, msg, started)) ?? this.#handle(msg, transport, started, key, nameEnd);
  }

  /** The stored answer to this query under its ID, or undefined. */
  #fromCache(key: string, msg: Buffer, started: bigint): Buffer | undefined {
    const entry = this.#answers.get(key);
    if (entry === undefined) return undefined;
    const out = Buffer.allocUnsafe(entry.bytes.length);
    const rotate = entry.rotate;
    if (rotate === undefined) {
      entry.bytes.copy(out);
    } else {
      // Records turn..count-1 first, then 0..turn-1: each answer starts one address further on.
      const turn = entry.turn;
      entry.turn = (turn + 1) % rotate.count;
      const split = rotate.start + turn * rotate.size;
      const end = rotate.start + rotate.count * rotate.size;
      entry.bytes.copy(out, 0, 0, rotate.start);
      entry.bytes.copy(out, rotate.start, split, end);
      entry.bytes.copy(out, rotate.start + (end - split), rotate.start, split);
      entry.bytes.copy(out, end, end);
    }
    out[0] = msg[0] as number;
    out[1] = msg[1] as number;
    this.metrics.cacheHits.inc();
    this.metrics.observe(entry.type, entry.rcode, entry.source, started);
    return out;
  }

  #remember(key: string, out: Buffer, reply: Reply, labels: { type: string; rcode: string; source: string }): void {
    if ((out.readUInt16BE(2) & FLAG_TC) !== 0) return;
    if (this.#answers.size >= this.#answerCacheEntries) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.#answers.keys().next();
      if (oldest.done !== true) this.#answers.delete(oldest.value);
    }
    // A copy of its own: small Buffers are slices of a shared 8 KiB pool, which one kept answer would pin.
    const bytes = Buffer.allocUnsafeSlow(out.length);
    out.copy(bytes);
    this.#answers.set(key, { bytes, ...labels, rotate: rotation(out, reply), turn: 1 });
    this.metrics.cacheEntries.set(this.#answers.size);
  }

  /** The full path: decode, resolve, encode. `nameEnd` is questionNameEnd(msg), read once per query. */
  async #handle(msg: Buffer, transport: 'udp' | 'tcp', started: bigint, key: string | undefined, nameEnd: number): Promise<Buffer | undefined> {
    const generation = this.#generation;
    if (msg.length < HEADER_BYTES) { this.metrics.dropped.inc({ reason: 'short' }); return undefined; }
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if ((flags & FLAG_QR) !== 0) { this.metrics.dropped.inc({ reason: 'response' }); return undefined; }
    const opcode = (flags >> 11) & 0xf;
    const head = { id, opcode, rd: flags & FLAG_RD, cd: flags & FLAG_CD };
    const finish = (reply: Reply, type: string, source: string, cacheable = false): Buffer => {
      const rcodeName = RCODE_NAMES[reply.rcode] ?? String(reply.rcode);
      this.metrics.observe(type, rcodeName, source, started);
      const out = this.#encode(head, reply, transport, payloadSize);
      if (cacheable && key !== undefined && generation === this.#generation) this.#remember(key, out, reply, { type, rcode: rcodeName, source });
      return out;
    };
    let payloadSize = DEFAULT_UDP_PAYLOAD;
    if (opcode !== 0) return finish({ rcode: RCODES.NOTIMP }, 'other', 'none');
    if (msg.readUInt16BE(4) !== 1) return finish({ rcode: RCODES.FORMERR }, 'other', 'none');
    const question = readQuestion(msg, nameEnd);
    if (question === undefined) return finish({ rcode: RCODES.FORMERR }, 'other', 'none');
    let decoded: dnsPacket.DecodedPacket;
    try {
      decoded = dnsPacket.decode(msg);
    } catch {
      return finish({ rcode: RCODES.FORMERR, question }, 'other', 'none');
    }
    const opts = (decoded.additionals ?? []).filter((a): a is dnsPacket.OptAnswer => a.type === 'OPT');
    const edns = opts.length > 0;
    const type = typeName(decoded.questions?.[0]?.type, question.qtype);
    if (opts.length > 1 || (edns && opts[0]?.name !== '.')) return finish({ rcode: RCODES.FORMERR, question }, type, 'none');
    const opt = opts[0];
    if (opt !== undefined) {
      payloadSize = Math.min(MAX_UDP_PAYLOAD, Math.max(DEFAULT_UDP_PAYLOAD, opt.udpPayloadSize));
      if (opt.ednsVersion > 0) return finish({ rcode: BADVERS, question, edns }, type, 'none');
    }
    if (question.qclass !== 1) return finish({ rcode: RCODES.REFUSED, question, edns }, type, 'none');
    if (type === 'OPT') return finish({ rcode: RCODES.FORMERR, question, edns }, type, 'none');
    if (type === 'AXFR' || type === 'IXFR') return finish({ rcode: RCODES.REFUSED, question, edns }, type, 'none');

    const q: Question = { name: question.name === '.' ? '' : question.name.toLowerCase(), type: type as Question['type'] };
    if (this.#opts.isOwnQuery?.(id, q.name) === true) return finish({ rcode: RCODES.SERVFAIL, question, edns }, type, 'none');
    let resolution: Resolution | undefined;
    const trace: ResolveTrace = { forwarded: false };
    try {
      resolution = await this.#resolve(q, transport, trace);
    } catch (err) {
      this.#log.warn({ err, name: q.name, type: q.type }, 'dns: resolver failed; answering SERVFAIL');
      return finish({ rcode: RCODES.SERVFAIL, question, edns }, type, 'none');
    }
    if (resolution === undefined) return finish({ rcode: RCODES.REFUSED, question, edns }, type, 'none');
    const owner = question.name;
    const lower = q.name;
    // Echo the client's spelling of the name in answers about it (DNS 0x20 clients compare case).
    const restore = (list: readonly Answer[] | undefined): Answer[] => (list ?? []).map((a) => a.name === lower ? { ...a, name: owner } : a);
    const cacheable = !trace.forwarded && (resolution.rcode === 'NOERROR' || resolution.rcode === 'NXDOMAIN');
    return finish({
      rcode: RCODES[resolution.rcode], question, edns, authoritative: resolution.authoritative,
      answers: restore(resolution.answers), authorities: restore(resolution.authorities), additionals: resolution.additionals ?? [],
    }, type, resolution.source ?? 'none', cacheable);
  }

  async #resolve(q: Question, transport: 'udp' | 'tcp', trace: ResolveTrace): Promise<Resolution | undefined> {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { ac.abort(); reject(new Error(`no answer within ${this.#timeoutMs} ms`)); }, this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#opts.resolver.resolve(q, { depth: 0, signal: ac.signal, transport, trace }), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #encode(head: { id: number; opcode: number; rd: number; cd: number }, reply: Reply, transport: 'udp' | 'tcp', payloadSize: number): Buffer {
    const limit = transport === 'udp' ? payloadSize : MAX_TCP_MESSAGE;
    const opt: Answer[] = reply.edns === true
      ? [{ name: '.', type: 'OPT', udpPayloadSize: ADVERTISED_UDP_PAYLOAD, extendedRcode: reply.rcode >> 4, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [];
    const flags = (head.opcode << 11) | (reply.authoritative === true ? FLAG_AA : 0) | head.rd | head.cd | FLAG_RA | (reply.rcode & 0xf);
    const build = (answers: readonly Answer[], authorities: readonly Answer[], additionals: readonly Answer[], tc: boolean): Buffer => {
      const body = dnsPacket.encode({
        type: 'response', id: head.id, flags: flags | (tc ? FLAG_TC : 0),
        questions: [], answers: [...answers], authorities: [...authorities], additionals: [...additionals, ...opt],
      });
      if (reply.question === undefined) return body;
      // The question goes back byte for byte; dns-packet never compresses names, so nothing in the
      // body points into the header region this insertion shifts.
      const out = Buffer.concat([body.subarray(0, HEADER_BYTES), reply.question.bytes, body.subarray(HEADER_BYTES)]);
      out.writeUInt16BE(1, 4);
      return out;
    };
    let full: Buffer;
    try {
      full = build(reply.answers ?? [], reply.authorities ?? [], reply.additionals ?? [], false);
    } catch (err) {
      this.#log.error({ err }, 'dns: a resolver returned a record that cannot be encoded; answering SERVFAIL');
      return this.#encode(head, { rcode: RCODES.SERVFAIL, question: reply.question, edns: reply.edns }, transport, payloadSize);
    }
    if (full.length <= limit) return full;
    // Too big: additional and authority records go first without TC (RFC 2181 §9), then answers.
    const lean = build(reply.answers ?? [], [], [], false);
    if (lean.length <= limit) return lean;
    if (transport === 'udp') this.metrics.truncated.inc();
    const answers = reply.answers ?? [];
    let size = build([], [], [], true).length;
    let fit = 0;
    for (const a of answers) {
      size += dnsPacket.encodingLength({ questions: [], answers: [a], authorities: [], additionals: [] }) - HEADER_BYTES;
      if (size > limit) break;
      fit++;
    }
    return build(answers.slice(0, fit), [], [], true);
  }
}

/**
 * Walks the question's name at offset 12 with the checks dns-packet leaves out, and returns the
 * offset just past its root label, or -1 (FORMERR). A question is the first name in a message, so
 * there is nothing before it to point to: a compression pointer (a length over 63) is refused too.
 */
function questionNameEnd(msg: Buffer): number {
  let off = HEADER_BYTES;
  let wire = 1;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off] as number;
    off++;
    if (len === 0) return off;
    if (len > MAX_LABEL_BYTES || off + len > msg.length) return -1;
    wire += len + 1;
    if (wire > MAX_NAME_BYTES) return -1;
    for (let i = off; i < off + len; i++) {
      const b = msg[i] as number;
      // Printable ASCII without the dot: anything else cannot be spelled back unambiguously.
      if (b < 0x21 || b > 0x7e || b === 0x2e) return -1;
    }
    off += len;
  }
}

/** The one question at offset 12, its name ending at `nameEnd` (questionNameEnd); undefined → FORMERR. */
function readQuestion(msg: Buffer, nameEnd: number): RawQuestion | undefined {
  if (nameEnd < 0 || nameEnd + 4 > msg.length) return undefined;
  const labels: string[] = [];
  for (let off = HEADER_BYTES; off < nameEnd - 1; off += (msg[off] as number) + 1) {
    labels.push(msg.toString('latin1', off + 1, off + 1 + (msg[off] as number)));
  }
  return {
    bytes: Buffer.from(msg.subarray(HEADER_BYTES, nameEnd + 4)),
    name: labels.length === 0 ? '.' : labels.join('.'),
    qtype: msg.readUInt16BE(nameEnd),
    qclass: msg.readUInt16BE(nameEnd + 2),
  };
}

/**
 * The answer cache's key for a plain query: one question and nothing else but at most one OPT
 * (version 0, well-framed options dns-packet takes as opaque bytes), checked as strictly as the
 * full path checks it, so a query with a key is one the full path answers the same way every time.
 * Undefined for anything else: that query takes the full path and is never stored.
 */
export function cacheKey(msg: Buffer, transport: 'udp' | 'tcp', nameEnd = questionNameEnd(msg)): string | undefined {
  if (msg.length < HEADER_BYTES + 5) return undefined;
  const flags = msg.readUInt16BE(2);
  if ((flags & FLAG_QR) !== 0 || ((flags >> 11) & 0xf) !== 0) return undefined;
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined;
  const arcount = msg.readUInt16BE(10);
  if (arcount > 1) return undefined;
  const off = nameEnd;
  if (off < 0) return undefined;
  const end = off + 4;
  if (end > msg.length) return undefined;
  const qtype = msg.readUInt16BE(off);
  // QTYPE OPT, AXFR and IXFR and classes other than IN have answers of their own on the full path.
  if (qtype === TYPE_OPT || qtype === 251 || qtype === 252 || msg.readUInt16BE(off + 2) !== 1) return undefined;
  let size: number;
  let edns = 0;
  if (arcount === 0) {
    if (end !== msg.length) return undefined;
    size = DEFAULT_UDP_PAYLOAD;
  } else {
    // OPT: root name, TYPE 41, CLASS = payload size, TTL = extended RCODE, version, flags; RDLENGTH; options.
    if (end + 11 > msg.length || msg[end] !== 0 || msg.readUInt16BE(end + 1) !== TYPE_OPT || msg[end + 6] !== 0) return undefined;
    const rdEnd = end + 11 + msg.readUInt16BE(end + 9);
    if (rdEnd !== msg.length) return undefined;
    for (let p = end + 11; p < rdEnd;) {
      if (p + 4 > rdEnd || DECODED_EDNS_OPTIONS.has(msg.readUInt16BE(p))) return undefined;
      p += 4 + msg.readUInt16BE(p + 2);
      if (p > rdEnd) return undefined;
    }
    size = Math.min(MAX_UDP_PAYLOAD, Math.max(DEFAULT_UDP_PAYLOAD, msg.readUInt16BE(end + 3)));
    edns = 1;
  }
  const limit = transport === 'udp' ? size : 0;
  return `${limit}/${flags & (FLAG_RD | FLAG_CD)}/${edns}/${msg.toString('latin1', HEADER_BYTES, end)}`;
}

/**
 * Where the answer section's address records lie, when the answer is two or more A (or AAAA)
 * records of one name and nothing but them: then they are the same size, one after the other right
 * behind the question (dns-packet does not compress names), and can be rotated as byte blocks.
 */
function rotation(out: Buffer, reply: Reply): CachedAnswer['rotate'] {
  const answers = reply.answers ?? [];
  const first = answers[0];
  if (answers.length < 2 || first === undefined || reply.question === undefined) return undefined;
  if (first.type !== 'A' && first.type !== 'AAAA') return undefined;
  if (!answers.every((a) => a.type === first.type && a.name === first.name)) return undefined;
  if (out.readUInt16BE(6) !== answers.length) return undefined;
  const start = HEADER_BYTES + reply.question.bytes.length;
  const nameBytes = first.name === '' || first.name === '.' ? 1 : Buffer.byteLength(first.name, 'latin1') + 2;
  const size = nameBytes + 10 + (first.type === 'A' ? 4 : 16);
  if (start + answers.length * size > out.length) return undefined;
  return { start, count: answers.length, size };
}

function typeName(decoded: string | undefined, qtype: number): string {
  return decoded ?? `UNKNOWN_${qtype}`;
}
