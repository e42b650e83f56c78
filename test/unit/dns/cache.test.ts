// The forwarder's cache: bounds, TTL caps, negative answers (RFC 2308), ages on a hit.
import t from 'tap';
import { DnsCache } from '../../../src/dns/cache.ts';
import type { Answer, Resolution } from '../../../src/dns/types.ts';

function clock(): { now: () => number; advance(ms: number): void } {
  let ms = 1_000_000;
  return { now: () => ms, advance: (d) => { ms += d; } };
}

const a = (name: string, ip: string, ttl: number): Answer => ({ type: 'A', name, ttl, class: 'IN', data: ip });
const positive = (name: string, ttl: number): Resolution => ({ rcode: 'NOERROR', answers: [a(name, '10.0.0.1', ttl)], authoritative: false });
const soa = (ttl: number, minimum: number): Answer => ({ type: 'SOA', name: 'example.com', ttl, class: 'IN', data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } });

t.test('keeps a positive answer for the least of its TTL and the cap, counting down', async (t) => {
  const c = clock();
  const cache = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 5, now: c.now });
  const q = { name: 'a.example.com', type: 'A' as const };
  cache.set(q, positive(q.name, 300));
  t.equal((cache.get(q)?.answers[0] as { ttl: number }).ttl, 30, 'the TTL is capped at maxTTLSeconds');
  c.advance(10_500);
  t.equal((cache.get(q)?.answers[0] as { ttl: number }).ttl, 20, 'and counts down with age');
  c.advance(20_000);
  t.equal(cache.get(q), undefined, 'gone after 30 s');
  t.equal(cache.size, 0, 'and removed');

  cache.set(q, positive(q.name, 7));
  c.advance(6_999);
  t.ok(cache.get(q), 'a short TTL is kept as long as it says');
  c.advance(1);
  t.equal(cache.get(q), undefined, 'and no longer');
});

t.test('keys by name and type, names in any case', async (t) => {
  const cache = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 5 });
  cache.set({ name: 'A.example.com', type: 'A' }, positive('a.example.com', 30));
  t.ok(cache.get({ name: 'a.example.com', type: 'A' }));
  t.equal(cache.get({ name: 'a.example.com', type: 'AAAA' }), undefined);
});

t.test('keeps negative answers for the least of the SOA TTL, its minimum and negativeTTLSeconds', async (t) => {
  const c = clock();
  const cache = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 5, now: c.now });
  const nx: Resolution = { rcode: 'NXDOMAIN', answers: [], authorities: [soa(60, 3)], authoritative: false };
  t.equal(cache.ttlOf(nx), 3, 'SOA minimum 3 < 5');
  t.equal(cache.ttlOf({ ...nx, authorities: [soa(60, 600)] }), 5, 'capped at negativeTTLSeconds');
  t.equal(cache.ttlOf({ rcode: 'NXDOMAIN', answers: [], authoritative: false }), 5, 'without a SOA: negativeTTLSeconds');
  t.equal(cache.ttlOf({ rcode: 'NOERROR', answers: [], authoritative: false }), 5, 'NODATA is negative too');
  const q = { name: 'missing.example.com', type: 'A' as const };
  cache.set(q, nx);
  t.equal(cache.get(q)?.rcode, 'NXDOMAIN');
  c.advance(3_000);
  t.equal(cache.get(q), undefined, 'expired after 3 s');

  const off = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 0 });
  off.set(q, nx);
  t.equal(off.get(q), undefined, 'negativeTTLSeconds 0 keeps none');
});

t.test('never stores failures or zero TTLs', async (t) => {
  const cache = new DnsCache({ maxEntries: 10, maxTTLSeconds: 30, negativeTTLSeconds: 5 });
  const q = { name: 'x.example.com', type: 'A' as const };
  cache.set(q, { rcode: 'SERVFAIL', answers: [], authoritative: false });
  t.equal(cache.get(q), undefined, 'SERVFAIL');
  cache.set(q, { rcode: 'REFUSED', answers: [], authoritative: false });
  t.equal(cache.get(q), undefined, 'REFUSED');
  cache.set(q, positive(q.name, 0));
  t.equal(cache.get(q), undefined, 'TTL 0');
  const zero = new DnsCache({ maxEntries: 10, maxTTLSeconds: 0, negativeTTLSeconds: 5 });
  zero.set(q, positive(q.name, 30));
  t.equal(zero.get(q), undefined, 'maxTTLSeconds 0');
});

t.test('holds at most maxEntries, dropping the least recently used', async (t) => {
  const cache = new DnsCache({ maxEntries: 3, maxTTLSeconds: 30, negativeTTLSeconds: 5 });
  const q = (n: number) => ({ name: `n${n}.example.com`, type: 'A' as const });
  for (const n of [1, 2, 3]) cache.set(q(n), positive(q(n).name, 30));
  t.ok(cache.get(q(1)), 'touch 1, so 2 is now the least recently used');
  cache.set(q(4), positive(q(4).name, 30));
  t.equal(cache.size, 3);
  t.equal(cache.get(q(2)), undefined, '2 was dropped');
  t.ok(cache.get(q(1)) && cache.get(q(3)) && cache.get(q(4)), '1, 3 and 4 stay');
  const off = new DnsCache({ maxEntries: 0, maxTTLSeconds: 30, negativeTTLSeconds: 5 });
  off.set(q(1), positive(q(1).name, 30));
  t.equal(off.size, 0, 'maxEntries 0 turns the cache off');
});
