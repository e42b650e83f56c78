// DnsServer's wire protocol against a stub Resolver, on 127.0.0.1: RCODEs for malformed input,
// EDNS0, truncation and TCP retry, flags, and a fuzz run (10,000 random names, 10,000 random and
// truncated packets): no crash, only the RCODEs the protocol allows, heap bounded.
import dgram from 'node:dgram';
import net from 'node:net';
import t, { type Test } from 'tap';
import * as dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { DnsServer } from '../../../src/dns/server.ts';
import type { Answer, Question, Resolution, Resolver } from '../../../src/dns/types.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A real collection before each heap reading, so the bound measures what is retained, not garbage
// waiting for the next GC (tap does not start Node with --expose-gc).
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Answers `many.test` with 200 A records, `fail.test` by throwing, `slow.test` never; other `*.test` names with one A. */
class StubResolver implements Resolver {
  async resolve(q: Question): Promise<Resolution | undefined> {
    if (q.name === 'fail.test') throw new Error('boom');
    if (q.name === 'slow.test') return new Promise(() => {});
    if (!q.name.endsWith('.test')) return undefined;
    if (q.name === 'nx.test') return { rcode: 'NXDOMAIN', answers: [], authoritative: true, source: 'cluster' };
    const count = q.name === 'many.test' ? 200 : 1;
    const answers: Answer[] = [];
    if (q.type === 'A') for (let i = 0; i < count; i++) answers.push({ name: q.name, type: 'A', ttl: 5, data: `10.0.${i >> 8}.${i & 255}` });
    return { rcode: 'NOERROR', answers, authoritative: true, source: 'cluster' };
  }
}

const registry = new Registry();
const server = new DnsServer({ host: '127.0.0.1', port: 0, resolver: new StubResolver(), logger: createLogger('silent'), registry, timeoutMs: 300 });
await server.listen();
const { port } = server.address();
t.teardown(() => server.close());

function raw(buf: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); resolve(undefined); }, 500);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m); });
    sock.send(buf, port, '127.0.0.1');
  });
}

function tcp(buf: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(buf.length);
      socket.write(Buffer.concat([len, buf]));
    });
    let acc = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) { socket.end(); resolve(acc.subarray(2, 2 + acc.readUInt16BE(0))); }
    });
    socket.on('error', reject);
  });
}

function q(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> & { klass?: dnsPacket.RecordClass; payload?: number; ednsVersion?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: 4242, flags: extra.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: extra.klass ?? 'IN' }],
    additionals: extra.payload === undefined ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: extra.payload, extendedRcode: 0, ednsVersion: extra.ednsVersion ?? 0, flags: 0, flag_do: false, options: [] }],
  });
}

type Decoded = dnsPacket.DecodedPacket & { rcode?: string; opcode?: string };
const decode = (b: Buffer | undefined): Decoded => { if (b === undefined) throw new Error('no answer'); return dnsPacket.decode(b) as Decoded; };
const rcodeOf = (b: Buffer): number => b.readUInt16BE(2) & 0xf;

t.test('protocol cases', async (t) => {
  const header = (flags: number, qd: number): Buffer => { const b = Buffer.alloc(12); b.writeUInt16BE(7, 0); b.writeUInt16BE(flags, 2); b.writeUInt16BE(qd, 4); return b; };
  const cases: Array<{ name: string; packet: Buffer; rcode?: string; dropped?: true; check?: (p: Decoded, t: Test) => void }> = [
    { name: 'a plain query: NOERROR, ID and question echoed, RD copied, RA and AA set', packet: q('a.test'), rcode: 'NOERROR',
      check: (p, t) => { t.equal(p.id, 4242); t.equal(p.questions?.[0]?.name, 'a.test'); t.ok(p.flag_rd && p.flag_ra && p.flag_aa); t.equal(p.answers?.length, 1); } },
    { name: 'the client\'s case is echoed in the question and the answers', packet: q('MiXeD.TeSt'), rcode: 'NOERROR',
      check: (p, t) => { t.equal(p.questions?.[0]?.name, 'MiXeD.TeSt'); t.equal(p.answers?.[0]?.name, 'MiXeD.TeSt'); } },
    { name: 'RD clear stays clear', packet: q('a.test', 'A', { flags: 0 }), rcode: 'NOERROR', check: (p, t) => { t.notOk(p.flag_rd); } },
    { name: 'NXDOMAIN passes through', packet: q('nx.test'), rcode: 'NXDOMAIN' },
    { name: 'no resolver claims the name: REFUSED', packet: q('example.com'), rcode: 'REFUSED' },
    { name: 'a resolver that throws: SERVFAIL', packet: q('fail.test'), rcode: 'SERVFAIL' },
    { name: 'a resolver that never answers: SERVFAIL after the timeout', packet: q('slow.test'), rcode: 'SERVFAIL' },
    { name: 'class CH: REFUSED', packet: q('version.bind', 'TXT', { klass: 'CH' }), rcode: 'REFUSED' },
    { name: 'class ANY: REFUSED', packet: q('a.test', 'A', { klass: 'ANY' }), rcode: 'REFUSED' },
    { name: 'AXFR: REFUSED', packet: q('a.test', 'AXFR'), rcode: 'REFUSED' },
    { name: 'QTYPE OPT: FORMERR', packet: q('a.test', 'OPT'), rcode: 'FORMERR' },
    { name: 'opcode STATUS: NOTIMP', packet: q('a.test', 'A', { flags: 2 << 11 }), rcode: 'NOTIMP' },
    { name: 'two questions: FORMERR', packet: (() => { const b = Buffer.from(q('a.test')); const x = Buffer.concat([b, b.subarray(12)]); x.writeUInt16BE(2, 4); return x; })(), rcode: 'FORMERR' },
    { name: 'no question: FORMERR', packet: header(0x100, 0), rcode: 'FORMERR' },
    { name: 'a truncated question: FORMERR', packet: q('a.test').subarray(0, 16), rcode: 'FORMERR' },
    { name: 'a label longer than 63: FORMERR', packet: (() => { const b = Buffer.concat([header(0, 1), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]); return b; })(), rcode: 'FORMERR' },
    { name: 'a name over 255 bytes: FORMERR', packet: Buffer.concat([header(0, 1), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x61)])), Buffer.from([0, 0, 1, 0, 1])]), rcode: 'FORMERR' },
    { name: '130 one-byte labels (absurd count, 261 bytes): FORMERR', packet: Buffer.concat([header(0, 1), ...Array.from({ length: 130 }, () => Buffer.from([1, 0x61])), Buffer.from([0, 0, 1, 0, 1])]), rcode: 'FORMERR' },
    { name: 'a compression pointer in the question: FORMERR', packet: Buffer.concat([header(0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), rcode: 'FORMERR' },
    { name: 'a label with a dot byte: FORMERR', packet: Buffer.concat([header(0, 1), Buffer.from([3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])]), rcode: 'FORMERR' },
    { name: 'a response (QR=1) is dropped', packet: header(0x8000, 1), dropped: true },
    { name: 'a packet shorter than a header is dropped', packet: Buffer.from([1, 2, 3]), dropped: true },
    { name: 'EDNS0: an OPT comes back', packet: q('a.test', 'A', { payload: 1232 }), rcode: 'NOERROR', check: (p, t) => { t.equal(p.additionals?.filter((a) => a.type === 'OPT').length, 1); } },
    { name: 'EDNS version 1: BADVERS (extended RCODE 16)', packet: q('a.test', 'A', { payload: 1232, ednsVersion: 1 }), rcode: 'NOERROR',
      check: (p, t) => { const opt = p.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined; t.equal(opt?.extendedRcode, 1, 'upper bits of 16'); t.equal(p.answers?.length, 0); } },
    { name: 'two OPT records: FORMERR', packet: (() => { const b = Buffer.from(q('a.test', 'A', { payload: 1232 })); const opt = b.subarray(b.length - 11); const x = Buffer.concat([b, opt]); x.writeUInt16BE(2, 10); return x; })(), rcode: 'FORMERR' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const out = await raw(c.packet);
      if (c.dropped === true) { t.equal(out, undefined, 'no answer'); return; }
      t.ok(out !== undefined, 'answered');
      const p = decode(out);
      t.equal(p.rcode, c.rcode);
      t.ok(p.flag_qr, 'QR set');
      c.check?.(p, t);
    });
  }
});


t.test('truncation: UDP sends TC=1 with whole records that fit; TCP sends everything', async (t) => {
  const small = decode(await raw(q('many.test')));
  t.ok(small.flag_tc, 'TC set without EDNS0 (512 bytes)');
  t.ok((small.answers?.length ?? 0) < 200 && (small.answers?.length ?? 0) > 0, `some whole records (${small.answers?.length})`);
  const big = await raw(q('many.test', 'A', { payload: 4096 }));
  t.ok(big !== undefined && big.length <= 4096, 'EDNS0 4096: within the payload size');
  const viaTcp = decode(await tcp(q('many.test')));
  t.notOk(viaTcp.flag_tc, 'TCP: no TC');
  t.equal(viaTcp.answers?.length, 200, 'TCP: all 200 records');
  const clamp = await raw(q('many.test', 'A', { payload: 100 }));
  t.ok(clamp !== undefined && clamp.length <= 512 && clamp.length > 100, 'a payload size under 512 is read as 512');
});

t.test('metrics per query type and rcode, duration per source', async (t) => {
  const text = await registry.metrics();
  t.match(text, /vcnet_dns_queries_total\{type="A",rcode="NOERROR"\} \d+/);
  t.match(text, /vcnet_dns_queries_total\{type="A",rcode="REFUSED"\} \d+/);
  t.match(text, /vcnet_dns_duration_seconds_count\{source="cluster"\} \d+/);
  t.match(text, /vcnet_dns_duration_seconds_count\{source="none"\} \d+/);
});

/** A deterministic PRNG (mulberry32), so a failing fuzz run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('fuzz: 10,000 random names and 10,000 random/truncated packets', async (t) => {
  const rand = prng(Number(process.env['VCNET_FUZZ_SEED'] ?? 1234));
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const allowed = new Set([0, 1, 2, 3, 4, 5]);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.ABC';
  let formerr = 0;
  let answered = 0;
  for (let i = 0; i < 10_000; i++) {
    const len = 1 + Math.floor(rand() * 80);
    let name = '';
    for (let j = 0; j < len; j++) name += alphabet[Math.floor(rand() * alphabet.length)];
    let packet: Buffer;
    try { packet = q(name); } catch { continue; }
    const out = await server.handle(packet, 'udp');
    if (out === undefined) { t.fail(`dropped a well-formed query for ${name}`); continue; }
    const rc = rcodeOf(out);
    if (!allowed.has(rc)) t.fail(`rcode ${rc} for ${name}`);
    if (rc === 1) formerr++;
    answered++;
  }
  t.equal(answered > 9_000, true, `answered ${answered} random names (${formerr} FORMERR: empty labels and the like)`);

  const base = q('fuzz.test', 'A', { payload: 1232 });
  let dropped = 0;
  for (let i = 0; i < 10_000; i++) {
    let packet: Buffer;
    const mode = i % 3;
    if (mode === 0) packet = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    else if (mode === 1) packet = base.subarray(0, Math.floor(rand() * base.length));
    else {
      packet = Buffer.from(base);
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) packet[Math.floor(rand() * packet.length)] = Math.floor(rand() * 256);
    }
    const out = await server.handle(packet, i % 2 === 0 ? 'udp' : 'tcp');
    if (out === undefined) { dropped++; continue; }
    const rc = rcodeOf(out);
    if (!allowed.has(rc)) t.fail(`rcode ${rc} for packet ${packet.toString('hex')}`);
    if (out.readUInt16BE(0) !== packet.readUInt16BE(0)) t.fail('ID not echoed');
  }
  t.comment(`random packets: ${dropped} dropped (short or QR=1), the rest answered`);

  // The same kind of garbage over the real UDP socket: the server must still answer afterwards.
  const sock = dgram.createSocket('udp4');
  for (let i = 0; i < 2_000; i++) {
    const b = Buffer.from(Array.from({ length: Math.floor(rand() * 100) }, () => Math.floor(rand() * 256)));
    await new Promise<void>((resolve) => sock.send(b, port, '127.0.0.1', () => resolve()));
  }
  sock.close();
  // The burst can overflow the socket's receive buffer (client and server share this process's event
  // loop), so the probe is retried like a stub resolver would retry a lost datagram.
  let alive: Buffer | undefined;
  for (let attempt = 0; attempt < 10 && alive === undefined; attempt++) alive = await raw(q('alive.test'));
  t.equal(decode(alive).rcode, 'NOERROR', 'still answering after the garbage');

  collectGarbage();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  t.ok(grown < 64 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(1)} MiB (bound 64 MiB)`);
});

t.test('close() finishes an in-flight TCP query, then stops accepting', async (t) => {
  const s2 = new DnsServer({ host: '127.0.0.1', port: 0, resolver: { resolve: async (qq) => { await new Promise((r) => setTimeout(r, 100)); return { rcode: 'NOERROR', answers: [{ name: qq.name, type: 'A', ttl: 5, data: '10.1.1.1' }], authoritative: true }; } }, logger: createLogger('silent') });
  await s2.listen();
  const p2 = s2.address().port;
  const answer = new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect(p2, '127.0.0.1', () => {
      const m = q('late.test');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(m.length);
      socket.write(Buffer.concat([len, m]));
    });
    let acc = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => { acc = Buffer.concat([acc, d]); });
    socket.on('close', () => resolve(acc));
    socket.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 30));
  await s2.close();
  const got = await answer;
  t.ok(got.length > 2, 'the in-flight query was answered before the connection closed');
  t.equal(decode(got.subarray(2)).answers?.length, 1);
  const refused = await new Promise<string>((resolve) => {
    const c = net.connect(p2, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve('connected'); });
    c.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED', 'no longer accepting');
});
