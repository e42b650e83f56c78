// The forwarder against fake upstream DNS servers on 127.0.0.1 (test doubles of a DNS server, started
// here): UDP, TCP on truncation and for TCP clients, timeouts and failover, SERVFAIL when all fail,
// the cache, and loop protection.
import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import { DnsCache } from '../../../src/dns/cache.ts';
import { Forwarder, forwardUpstreams, parseResolvConf } from '../../../src/dns/forward.ts';

type Handler = (query: DecodedPacket, transport: 'udp' | 'tcp') => Promise<Packet | 'drop'> | Packet | 'drop';

interface FakeDns { port: number; udpQueries: DecodedPacket[]; tcpQueries: DecodedPacket[]; close(): Promise<void> }

async function fakeDns(t: { teardown(fn: () => unknown): void }, handler: Handler): Promise<FakeDns> {
  const tcp = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', async (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const query = dnsPacket.decode(msg);
        fake.tcpQueries.push(query);
        const answer = await handler(query, 'tcp');
        if (answer !== 'drop') socket.write(dnsPacket.streamEncode(answer));
      }
    });
    socket.on('error', () => undefined);
  });
  // UDP first on a free port, then TCP on the same number. That TCP port can be in use (another
  // process's outgoing connection got it as its ephemeral port): then try another, as DnsServer does.
  let udp: dgram.Socket;
  for (let attempt = 0; ; attempt++) {
    udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const candidate = udp.address().port;
    const listened = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        if (err.code !== 'EADDRINUSE' || attempt >= 20) reject(err);
        else resolve(false);
      };
      tcp.once('error', onError);
      tcp.listen(candidate, '127.0.0.1', () => { tcp.off('error', onError); resolve(true); });
    });
    if (listened) break;
    udp.close();
  }
  const port = udp.address().port;
  const fake: FakeDns = {
    port, udpQueries: [], tcpQueries: [],
    close: async () => {
      udp.close();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
  udp.on('message', async (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    fake.udpQueries.push(query);
    const answer = await handler(query, 'udp');
    if (answer !== 'drop') udp.send(dnsPacket.encode(answer), rinfo.port, rinfo.address);
  });
  t.teardown(() => fake.close());
  return fake;
}

const RCODE: Record<string, number> = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

function reply(query: DecodedPacket, opts: { rcode?: string; answers?: Packet['answers']; tc?: boolean } = {}): Packet {
  return {
    type: 'response', id: query.id,
    flags: dnsPacket.RECURSION_AVAILABLE | (opts.tc === true ? dnsPacket.TRUNCATED_RESPONSE : 0) | (RCODE[opts.rcode ?? 'NOERROR'] ?? 0),
    questions: query.questions, answers: opts.answers ?? [],
  };
}

const aRecord = (name: string, ip: string, ttl = 60) => ({ type: 'A' as const, name, ttl, class: 'IN' as const, data: ip });
const ctx = { depth: 0 };

t.test('forwards a question and returns the upstream answer, not authoritative', async (t) => {
  const up = await fakeDns(t, (q) => reply(q, { answers: [aRecord(q.questions?.[0]?.name ?? '', '192.0.2.7')] }));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000 });
  const r = await fwd.resolve({ name: 'www.example.com', type: 'A' }, ctx);
  t.equal(r.rcode, 'NOERROR');
  t.equal(r.authoritative, false);
  t.same(r.answers.map((a) => [a.type, a.name, (a as { data: unknown }).data]), [['A', 'www.example.com', '192.0.2.7']]);
  t.equal(up.udpQueries.length, 1, 'over UDP');
  t.ok((up.udpQueries[0]?.flags ?? 0) & dnsPacket.RECURSION_DESIRED, 'with RD set');
  t.ok(up.udpQueries[0]?.additionals?.some((a) => a.type === 'OPT'), 'with EDNS(0)');
});

t.test('passes NXDOMAIN through', async (t) => {
  const up = await fakeDns(t, (q) => reply(q, { rcode: 'NXDOMAIN' }));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000 });
  t.equal((await fwd.resolve({ name: 'nope.example.com', type: 'A' }, ctx)).rcode, 'NXDOMAIN');
});

t.test('asks the next server when one does not answer in time, one after the other', async (t) => {
  const silent = await fakeDns(t, () => 'drop');
  const good = await fakeDns(t, (q) => reply(q, { answers: [aRecord('a.example.com', '192.0.2.1')] }));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: silent.port }, { host: '127.0.0.1', port: good.port }], timeoutMs: 200 });
  const r = await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx);
  t.equal(r.rcode, 'NOERROR');
  t.equal(silent.udpQueries.length, 1, 'the silent server was asked first');
  t.equal(good.udpQueries.length, 1, 'then the next one');
});

t.test('asks the next server on SERVFAIL and REFUSED', async (t) => {
  const failing = await fakeDns(t, (q) => reply(q, { rcode: 'SERVFAIL' }));
  const refusing = await fakeDns(t, (q) => reply(q, { rcode: 'REFUSED' }));
  const good = await fakeDns(t, (q) => reply(q, { answers: [aRecord('a.example.com', '192.0.2.1')] }));
  const fwd = new Forwarder({ upstreams: [failing, refusing, good].map((u) => ({ host: '127.0.0.1', port: u.port })), timeoutMs: 1000 });
  t.equal((await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx)).rcode, 'NOERROR');
  t.same([failing.udpQueries.length, refusing.udpQueries.length, good.udpQueries.length], [1, 1, 1]);
});

t.test('answers SERVFAIL when every server fails', async (t) => {
  const silent = await fakeDns(t, () => 'drop');
  const failing = await fakeDns(t, (q) => reply(q, { rcode: 'SERVFAIL' }));
  const fwd = new Forwarder({ upstreams: [silent, failing].map((u) => ({ host: '127.0.0.1', port: u.port })), timeoutMs: 200 });
  const r = await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx);
  t.equal(r.rcode, 'SERVFAIL');
  t.same(r.answers, []);
  const none = new Forwarder({ upstreams: [] });
  t.equal((await none.resolve({ name: 'a.example.com', type: 'A' }, ctx)).rcode, 'SERVFAIL', 'no servers at all');
});

t.test('ignores an answer with another ID and keeps waiting for the right one', async (t) => {
  const up = await fakeDns(t, (q) => {
    const wrong = { ...reply(q, { answers: [aRecord('a.example.com', '6.6.6.6')] }), id: ((q.id ?? 0) + 1) % 65536 };
    return wrong;
  });
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 300 });
  t.equal((await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx)).rcode, 'SERVFAIL', 'a spoofed answer is never taken');
});

t.test('asks again over TCP when the UDP answer is truncated', async (t) => {
  const many = Array.from({ length: 40 }, (_, i) => aRecord('big.example.com', `192.0.2.${i + 1}`));
  const up = await fakeDns(t, (q, transport) => (transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: many })));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000 });
  const r = await fwd.resolve({ name: 'big.example.com', type: 'A' }, ctx);
  t.equal(r.answers.length, 40, 'the full answer from TCP');
  t.same([up.udpQueries.length, up.tcpQueries.length], [1, 1]);
});

t.test('goes over TCP at once for a client that came over TCP', async (t) => {
  const up = await fakeDns(t, (q) => reply(q, { answers: [aRecord('a.example.com', '192.0.2.1')] }));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000 });
  const r = await fwd.resolve({ name: 'a.example.com', type: 'A' }, { depth: 0, transport: 'tcp' } as { depth: number });
  t.equal(r.rcode, 'NOERROR');
  t.same([up.udpQueries.length, up.tcpQueries.length], [0, 1]);
});

t.test('answers repeated questions from the cache', async (t) => {
  const up = await fakeDns(t, (q) => reply(q, { answers: [aRecord('a.example.com', '192.0.2.1', 60)] }));
  const cache = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 5 });
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000, cache });
  await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx);
  const again = await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx);
  t.equal(again.answers.length, 1);
  t.equal(up.udpQueries.length, 1, 'the second answer came from the cache');
  t.ok(((again.answers[0] as { ttl: number }).ttl) <= 30, 'with the capped TTL');
});

t.test('never forwards to its own listening address', async (t) => {
  const self = await fakeDns(t, (q) => reply(q));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: self.port }], self: [{ host: '0.0.0.0', port: self.port }], timeoutMs: 200 });
  t.same(fwd.refused, [{ host: '127.0.0.1', port: self.port }], 'the upstream that is vcnet itself is refused');
  t.same(fwd.upstreams, []);
  t.equal((await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx)).rcode, 'SERVFAIL');
  t.equal(self.udpQueries.length, 0, 'nothing was sent to itself');
  const other = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: self.port }], self: [{ host: '127.0.0.1', port: self.port + 1 }] });
  t.equal(other.upstreams.length, 1, 'another port is not itself');
});

t.test('detects an upstream that sends vcnet\'s queries back to vcnet (CoreDNS loop plugin)', async (t) => {
  let fwd: Forwarder | undefined;
  // This upstream forwards every question to "vcnet", i.e. back into the forwarder, as a
  // misconfigured host DNS would: a forwarding loop.
  const looping = await fakeDns(t, async (q) => {
    const question = q.questions?.[0];
    const r = await fwd?.resolve({ name: question?.name ?? '', type: question?.type ?? 'A' }, ctx);
    return reply(q, { rcode: r?.rcode ?? 'SERVFAIL' });
  });
  const good = await fakeDns(t, (q) => reply(q, { answers: [aRecord('a.example.com', '192.0.2.1')] }));
  fwd = new Forwarder({ upstreams: [looping, good].map((u) => ({ host: '127.0.0.1', port: u.port })), timeoutMs: 1000 });
  await fwd.probeForLoops();
  t.same(fwd.looping, [{ host: '127.0.0.1', port: looping.port }], 'the looping upstream is found; the good one is not');
  const before = looping.udpQueries.length;
  const r = await fwd.resolve({ name: 'a.example.com', type: 'A' }, ctx);
  t.equal(r.rcode, 'NOERROR', 'questions go to the good upstream');
  t.equal(looping.udpQueries.length, before, 'and no longer to the looping one');
});

t.test('recognises its own query when an upstream hands it back (same ID and name)', async (t) => {
  const up = await fakeDns(t, (q) => reply(q));
  const fwd = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }], timeoutMs: 1000 });
  await fwd.resolve({ name: 'Loop.Example.com', type: 'A' }, ctx);
  const sent = up.udpQueries[0];
  t.equal(fwd.seesOwnQuery(sent?.id ?? -1, 'loop.example.com.'), true, 'the ID and name it sent');
  t.equal(fwd.seesOwnQuery(((sent?.id ?? 0) + 1) % 65536, 'loop.example.com'), false, 'another ID');
  t.equal(fwd.seesOwnQuery(sent?.id ?? -1, 'other.example.com'), false, 'another name');
});

t.test('reads resolv.conf and picks the upstreams from the config', async (t) => {
  t.same(parseResolvConf('# c\nsearch a.svc\nnameserver 10.96.0.10\nnameserver fd00::a # x\noptions ndots:5\nnameserver fe80::1%eth0\nnameserver\n'), [
    { host: '10.96.0.10', port: 53 }, { host: 'fd00::a', port: 53 },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'vcnet-resolv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, 'nameserver 10.0.0.2\nnameserver 10.0.0.3\n');
  t.same(forwardUpstreams({ fallbackHostCluster: false, upstreams: [], hostClusterDNS: '', resolvConfPath: path }), [{ host: '10.0.0.2', port: 53 }, { host: '10.0.0.3', port: 53 }], 'every nameserver of resolv.conf');
  t.same(forwardUpstreams({ fallbackHostCluster: false, upstreams: ['1.1.1.1:5353', '[fd00::1]:53'], hostClusterDNS: '10.9.9.9', resolvConfPath: path }), [{ host: '1.1.1.1', port: 5353 }, { host: 'fd00::1', port: 53 }], 'the configured upstreams');
  t.same(forwardUpstreams({ fallbackHostCluster: true, upstreams: ['1.1.1.1'], hostClusterDNS: '', resolvConfPath: path }), [{ host: '10.0.0.2', port: 53 }], 'fallbackHostCluster: the FIRST nameserver, as vCluster');
  t.same(forwardUpstreams({ fallbackHostCluster: true, upstreams: [], hostClusterDNS: '10.96.0.10:53', resolvConfPath: path }), [{ host: '10.96.0.10', port: 53 }], 'fallbackHostCluster: hostClusterDNS');
});
