// DnsServer's answer cache (server.ts, "The answer cache"): a repeated query is answered from the
// stored response with its own ID, byte for byte what the full path would answer; every change the
// resolver announces empties it; answers resolved across a change, forwarded answers, failures and
// truncated answers are never stored; two or more addresses rotate per answer.
import dgram from 'node:dgram';
import t from 'tap';
import * as dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { cacheKey, DnsServer } from '../../../src/dns/server.ts';
import type { Answer, Question, Resolution, ResolveContext, Resolver } from '../../../src/dns/types.ts';
import { createLogger } from '../../../src/observability/logger.ts';

/**
 * `*.test` names: one A (10.0.0.<version>) by default; `three.test` three A and three AAAA;
 * `nx.test` NXDOMAIN; `fail.test` throws; `fwd.test` says it asked an upstream; `gate.test` waits
 * for `open()`. Everything else: not ours. Counts every question it is asked.
 */
class ChangingResolver implements Resolver {
  version = 1;
  asked = 0;
  #listeners = new Set<() => void>();
  #gate: (() => void) | undefined;

  async resolve(q: Question, ctx: ResolveContext): Promise<Resolution | undefined> {
    this.asked++;
    // Read before any wait: a gated answer reflects the state when it was asked.
    const version = this.version;
    if (!q.name.endsWith('.test')) return undefined;
    if (q.name === 'fail.test') throw new Error('boom');
    if (q.name === 'nx.test') return { rcode: 'NXDOMAIN', answers: [], authoritative: true, source: 'cluster' };
    if (q.name === 'fwd.test' && ctx.trace !== undefined) ctx.trace.forwarded = true;
    if (q.name === 'gate.test') await new Promise<void>((resolve) => { this.#gate = resolve; });
    const answers: Answer[] = [];
    if (q.name === 'three.test') {
      for (let i = 1; i <= 3; i++) {
        if (q.type === 'A') answers.push({ name: q.name, type: 'A', ttl: 5, data: `10.0.1.${i}` });
        if (q.type === 'AAAA') answers.push({ name: q.name, type: 'AAAA', ttl: 5, data: `fd00::${i}` });
      }
    } else if (q.type === 'A') {
      answers.push({ name: q.name, type: 'A', ttl: 5, data: `10.0.0.${version}` });
    }
    return { rcode: 'NOERROR', answers, authoritative: true, source: 'cluster' };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  change(): void {
    this.version++;
    for (const l of this.#listeners) l();
  }

  open(): void {
    this.#gate?.();
  }
}

/** The same answers, without onChange: a server in front of it keeps nothing. */
class PlainResolver implements Resolver {
  readonly #inner = new ChangingResolver();
  resolve(q: Question, ctx: ResolveContext): Promise<Resolution | undefined> {
    return this.#inner.resolve(q, ctx);
  }
}

const logger = createLogger('silent');

function q(name: string, type: dnsPacket.RecordType = 'A', opts: { id?: number; flags?: number; payload?: number; options?: dnsPacket.PacketOpt[] } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: opts.id ?? 4242, flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: opts.payload === undefined ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: opts.payload, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: opts.options ?? [] }],
  });
}

/** A client COOKIE option (RFC 7873, code 10), which dns-packet's types do not list. */
const cookie = (fill: number): dnsPacket.PacketOpt => ({ code: 10, data: Buffer.alloc(8, fill) }) as unknown as dnsPacket.PacketOpt;

const addresses = (out: Buffer | undefined): string[] => {
  if (out === undefined) throw new Error('no answer');
  return (dnsPacket.decode(out).answers ?? []).map((a) => String((a as { data?: unknown }).data));
};

t.test('cacheKey: plain queries have one; anything the full path must judge has none', async (t) => {
  const base = q('a.test', 'A', { payload: 1232 });
  const mutate = (f: (b: Buffer) => void, from = base): Buffer => { const b = Buffer.from(from); f(b); return b; };
  t.type(cacheKey(q('a.test'), 'udp'), 'string', 'no OPT');
  t.type(cacheKey(base, 'udp'), 'string', 'with OPT');
  t.type(cacheKey(q('a.test', 'A', { payload: 1232, options: [cookie(1)] }), 'udp'), 'string', 'a cookie option is opaque');
  t.not(cacheKey(q('a.test'), 'udp'), cacheKey(q('a.test'), 'tcp'), 'transport is part of the key');
  t.not(cacheKey(q('a.test'), 'udp'), cacheKey(q('A.test'), 'udp'), 'so is the spelling');
  t.not(cacheKey(q('a.test'), 'udp'), cacheKey(q('a.test', 'A', { flags: 0 }), 'udp'), 'so is RD');
  t.not(cacheKey(q('a.test', 'A', { payload: 600 }), 'udp'), cacheKey(q('a.test', 'A', { payload: 1232 }), 'udp'), 'so is the payload size');
  t.equal(cacheKey(q('a.test', 'A', { payload: 100 }), 'udp'), cacheKey(q('a.test', 'A', { payload: 512 }), 'udp'), 'sizes under 512 are 512');
  t.equal(cacheKey(q('a.test', 'A', { id: 1 }), 'udp'), cacheKey(q('a.test', 'A', { id: 2 }), 'udp'), 'the ID is not');
  const none: Array<[string, Buffer]> = [
    ['QR set', mutate((b) => { b[2] = (b[2] as number) | 0x80; })],
    ['opcode STATUS', mutate((b) => { b[2] = (b[2] as number) | (2 << 3); })],
    ['two questions', mutate((b) => { b.writeUInt16BE(2, 4); })],
    ['an answer record', mutate((b) => { b.writeUInt16BE(1, 6); })],
    ['an authority record', mutate((b) => { b.writeUInt16BE(1, 8); })],
    ['two additionals', mutate((b) => { b.writeUInt16BE(2, 10); })],
    ['EDNS version 1', mutate((b) => { b[b.length - 5] = 1; })],
    ['an additional that is not OPT', mutate((b) => { b.writeUInt16BE(1, b.length - 10); })],
    ['trailing bytes', Buffer.concat([q('a.test'), Buffer.from([0])])],
    ['OPT RDLENGTH past the end', mutate((b) => { b.writeUInt16BE(4, b.length - 2); })],
    ['an ECS option (dns-packet decodes it)', q('a.test', 'A', { payload: 1232, options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '10.0.0.0' } as dnsPacket.PacketOpt] })],
    ['class CH', dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'a.test', type: 'TXT', class: 'CH' }] })],
    ['AXFR', q('a.test', 'AXFR')],
    ['QTYPE OPT', q('a.test', 'OPT')],
    ['a truncated question', q('a.test').subarray(0, 20)],
    ['a label with a dot byte', Buffer.concat([q('a.test').subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])])],
  ];
  for (const [name, packet] of none) t.equal(cacheKey(packet, 'udp'), undefined, name);
});

t.test('the cached answer is byte for byte the full path\'s, under each query\'s own ID', async (t) => {
  const cached = new DnsServer({ port: 0, resolver: new ChangingResolver(), logger, timeoutMs: 300 });
  const plain = new DnsServer({ port: 0, resolver: new PlainResolver(), logger, timeoutMs: 300 });
  const packets: Buffer[] = [
    q('a.test'), q('A.TeSt'), q('a.test', 'A', { flags: 0 }), q('a.test', 'AAAA'), q('nx.test'), q('a.test', 'A', { payload: 1232 }),
    q('a.test', 'A', { payload: 1232, options: [cookie(7)] }), q('fail.test'), q('other.example'),
  ];
  // Random corruptions of a query with an OPT: whatever gets a key must be answered alike.
  let seed = 99;
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  const base = q('fuzz.test', 'A', { payload: 1232, options: [cookie(3)] });
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(base);
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) b[12 + Math.floor(rand() * (b.length - 12))] = Math.floor(rand() * 256);
    packets.push(b);
  }
  let keyed = 0;
  let mismatches = 0;
  for (const packet of packets) {
    if (cacheKey(packet, 'udp') !== undefined) keyed++;
    const want = await plain.handle(packet, 'udp');
    const first = await cached.handle(packet, 'udp');
    const again = await cached.handle(packet, 'udp');
    if (!(want?.equals(first ?? Buffer.alloc(0)) ?? first === undefined) || !(want?.equals(again ?? Buffer.alloc(0)) ?? again === undefined)) {
      mismatches++;
      if (mismatches <= 3) t.fail(`answers differ for ${packet.toString('hex')}`);
    }
  }
  t.equal(mismatches, 0, `${packets.length} queries (${keyed} with a cache key), each asked twice: same bytes as without the cache`);
  t.ok(cached.cachedAnswers > 0, `answers kept: ${cached.cachedAnswers}`);

  const one = await cached.handle(q('a.test', 'A', { id: 1 }), 'udp');
  const two = await cached.handle(q('a.test', 'A', { id: 65535 }), 'udp');
  t.equal(one?.readUInt16BE(0), 1, 'first ID echoed');
  t.equal(two?.readUInt16BE(0), 65535, 'second ID echoed from the kept answer');
  t.same(one?.subarray(2), two?.subarray(2), 'the rest is the same');
});

t.test('the resolver is asked once; a change it announces is answered at once', async (t) => {
  const resolver = new ChangingResolver();
  const server = new DnsServer({ port: 0, resolver, logger, timeoutMs: 300 });
  t.same(addresses(await server.handle(q('a.test'), 'udp')), ['10.0.0.1']);
  t.same(addresses(await server.handle(q('a.test'), 'udp')), ['10.0.0.1']);
  t.same(addresses(await server.handle(q('a.test'), 'tcp')), ['10.0.0.1']);
  t.equal(resolver.asked, 2, 'asked once per transport');
  resolver.change();
  t.equal(server.cachedAnswers, 0, 'the change emptied the cache');
  t.match(await server.metrics.registry.metrics(), /vcnet_dns_answer_cache_invalidations_total 1\b/, 'counted');
  t.same(addresses(await server.handle(q('a.test'), 'udp')), ['10.0.0.2'], 'the new address right after the change');
  t.equal(resolver.asked, 3);
});

t.test('an answer resolved across a change is not kept', async (t) => {
  const resolver = new ChangingResolver();
  const server = new DnsServer({ port: 0, resolver, logger, timeoutMs: 1000 });
  const pending = server.handle(q('gate.test'), 'udp');
  await new Promise((resolve) => setImmediate(resolve));
  resolver.change();
  resolver.open();
  t.same(addresses(await pending), ['10.0.0.1'], 'the slow answer is sent (it was true when asked)');
  t.equal(server.cachedAnswers, 0, 'but not kept: it is stale already');
  const next = server.handle(q('gate.test'), 'udp');
  await new Promise((resolve) => setImmediate(resolve));
  resolver.open();
  t.same(addresses(await next), ['10.0.0.2'], 'the next query is resolved again, with the new state');
});

t.test('forwarded answers, failures and truncated answers are not kept', async (t) => {
  const resolver = new ChangingResolver();
  const server = new DnsServer({ port: 0, resolver, logger, timeoutMs: 300 });
  for (const name of ['fwd.test', 'fail.test', 'other.example']) {
    const before = resolver.asked;
    await server.handle(q(name), 'udp');
    await server.handle(q(name), 'udp');
    t.equal(resolver.asked - before, 2, `${name}: asked every time`);
  }
  t.equal(server.cachedAnswers, 0);
  const tiny = new DnsServer({ port: 0, resolver, logger, timeoutMs: 300, answerCacheEntries: 2 });
  for (const name of ['a.test', 'b.test', 'c.test', 'd.test']) await tiny.handle(q(name), 'udp');
  t.equal(tiny.cachedAnswers, 2, 'the cache holds at most answerCacheEntries');
  const off = new DnsServer({ port: 0, resolver, logger, timeoutMs: 300, answerCacheEntries: 0 });
  await off.handle(q('a.test'), 'udp');
  t.equal(off.cachedAnswers, 0, 'answerCacheEntries 0 turns it off');
  t.throws(() => new DnsServer({ port: 0, resolver, logger, answerCacheEntries: -1 }), /invalid answer cache size/);
});

t.test('two or more addresses rotate by one per answer, from the cache and over UDP', async (t) => {
  const registry = new Registry();
  const server = new DnsServer({ host: '127.0.0.1', port: 0, resolver: new ChangingResolver(), logger, registry, timeoutMs: 300 });
  await server.listen();
  t.teardown(() => server.close());
  const { port } = server.address();
  const ask = (packet: Buffer): Promise<Buffer> => new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error('no answer')); }, 1000);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m); });
    sock.send(packet, port, '127.0.0.1');
  });
  const seen: string[][] = [];
  for (let i = 0; i < 4; i++) seen.push(addresses(await ask(q('three.test'))));
  t.same(seen, [
    ['10.0.1.1', '10.0.1.2', '10.0.1.3'],
    ['10.0.1.2', '10.0.1.3', '10.0.1.1'],
    ['10.0.1.3', '10.0.1.1', '10.0.1.2'],
    ['10.0.1.1', '10.0.1.2', '10.0.1.3'],
  ]);
  const v6 = [addresses(await ask(q('three.test', 'AAAA', { payload: 1232 }))), addresses(await ask(q('three.test', 'AAAA', { payload: 1232 })))];
  t.same(v6, [['fd00::1', 'fd00::2', 'fd00::3'], ['fd00::2', 'fd00::3', 'fd00::1']], 'AAAA too, with EDNS0');
  const decoded = dnsPacket.decode(await ask(q('three.test', 'AAAA', { payload: 1232 })));
  t.equal(decoded.additionals?.filter((a) => a.type === 'OPT').length, 1, 'the rotated answer still ends with its OPT');
  const text = await registry.metrics();
  t.match(text, /vcnet_dns_queries_total\{type="A",rcode="NOERROR"\} 4\b/, 'answers from the cache are counted like any other');
  t.match(text, /vcnet_dns_duration_seconds_count\{source="cluster"\} 7\b/);
  t.match(text, /vcnet_dns_answer_cache_hits_total 5\b/, '5 of the 7 came from the cache (the first A and the first AAAA were resolved)');
  t.match(text, /vcnet_dns_answer_cache_entries 2\b/, 'two answers kept: A without EDNS, AAAA with');
  t.match(text, /vcnet_dns_answer_cache_invalidations_total 0\b/);
});
