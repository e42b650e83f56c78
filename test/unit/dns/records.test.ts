// records.ts: cluster-zone name parsing, reverse names, dashed IPs, record builders. Pure.
import t from 'tap';
import {
  addressRecords, addressRecordsFor, canonicalIp, dashedToIp, ipToDashed, normalizeName, parseClusterName,
  parseReverseName, reverseName, reverseZone, soaRecord, srvWeight, type ClusterName,
} from '../../../src/dns/records.ts';

const D = 'cluster.local';

t.test('parseClusterName', async (t) => {
  const cases: Array<{ name: string; input: string; domain?: string; expected: ClusterName | undefined }> = [
    { name: 'the apex', input: 'cluster.local', expected: { kind: 'apex' } },
    { name: 'the apex with a trailing dot, upper case', input: 'CLUSTER.LOCAL.', expected: { kind: 'apex' } },
    { name: 'svc.<domain>', input: 'svc.cluster.local', expected: { kind: 'svc-root' } },
    { name: 'pod.<domain>', input: 'pod.cluster.local', expected: { kind: 'pod-root' } },
    { name: 'a namespace under svc', input: 'shop.svc.cluster.local', expected: { kind: 'namespace', ns: 'shop' } },
    { name: 'a service', input: 'web.shop.svc.cluster.local', expected: { kind: 'service', ns: 'shop', service: 'web' } },
    { name: 'a service, mixed case and trailing dot', input: 'Web.SHOP.svc.Cluster.Local.', expected: { kind: 'service', ns: 'shop', service: 'web' } },
    { name: 'an endpoint hostname', input: 'web-0.nginx.shop.svc.cluster.local', expected: { kind: 'endpoint', ns: 'shop', service: 'nginx', endpoint: 'web-0' } },
    { name: 'an endpoint dashed IP', input: '10-0-0-1.nginx.shop.svc.cluster.local', expected: { kind: 'endpoint', ns: 'shop', service: 'nginx', endpoint: '10-0-0-1' } },
    { name: 'an SRV name', input: '_http._tcp.web.shop.svc.cluster.local', expected: { kind: 'srv', ns: 'shop', service: 'web', port: 'http', protocol: 'tcp' } },
    { name: 'the SRV protocol parent', input: '_tcp.web.shop.svc.cluster.local', expected: { kind: 'srv-protocol', ns: 'shop', service: 'web', protocol: 'tcp' } },
    { name: 'an SRV name without underscores does not exist', input: 'http.tcp.web.shop.svc.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'an SRV name with an empty port', input: '_._tcp.web.shop.svc.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'a pod record', input: '10-1-2-3.shop.pod.cluster.local', expected: { kind: 'pod', ns: 'shop', ip: '10.1.2.3' } },
    { name: 'an IPv6 pod record', input: 'fd00--1.shop.pod.cluster.local', expected: { kind: 'pod', ns: 'shop', ip: 'fd00::1' } },
    { name: 'an IPv6 pod record, uncompressed', input: 'fd00-0-0-0-0-0-0-1.shop.pod.cluster.local', expected: { kind: 'pod', ns: 'shop', ip: 'fd00::1' } },
    { name: 'a pod namespace', input: 'shop.pod.cluster.local', expected: { kind: 'pod-namespace', ns: 'shop' } },
    { name: 'a pod name that is no IP', input: 'web.shop.pod.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'a pod IP out of range', input: '10-1-2-300.shop.pod.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'too many labels under pod', input: 'a.10-1-2-3.shop.pod.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'the ndots:5 expansion of a FQDN', input: 'web.shop.svc.cluster.local.svc.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'the ndots:5 expansion into the namespace', input: 'web.shop.svc.cluster.local.shop.svc.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'an external name under the namespace search path', input: 'example.com.shop.svc.cluster.local', expected: { kind: 'endpoint', ns: 'shop', service: 'com', endpoint: 'example' } },
    { name: 'an external name under the domain', input: 'example.com.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'an unknown second-level label', input: 'foo.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'an empty label', input: 'web..svc.cluster.local', expected: { kind: 'nonexistent' } },
    { name: 'outside the zone', input: 'example.com', expected: undefined },
    { name: 'a suffix that is not a label boundary', input: 'notcluster.local', expected: undefined },
    { name: 'a custom domain', input: 'web.shop.svc.corp.example', domain: 'corp.example', expected: { kind: 'service', ns: 'shop', service: 'web' } },
    { name: 'cluster.local under a custom domain is outside it', input: 'web.shop.svc.cluster.local', domain: 'corp.example', expected: undefined },
    { name: 'the empty name', input: '', expected: undefined },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => { t.strictSame(parseClusterName(c.input, c.domain ?? D), c.expected); });
  }
});

t.test('dashed IPs', async (t) => {
  const cases: Array<{ name: string; label: string; ip: string | undefined }> = [
    { name: 'IPv4', label: '10-0-0-1', ip: '10.0.0.1' },
    { name: 'IPv6 compressed', label: 'fd00--1', ip: 'fd00::1' },
    { name: 'IPv6 leading compression', label: '--1', ip: '::1' },
    { name: 'IPv6 in upper case is canonicalised', label: 'FD00--A', ip: 'fd00::a' },
    { name: 'three octets', label: '10-0-0', ip: undefined },
    { name: 'a word', label: 'web', ip: undefined },
    { name: 'empty', label: '', ip: undefined },
    { name: 'leading zeros are not IPv4', label: '010-0-0-1', ip: undefined },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.equal(dashedToIp(c.label), c.ip); });
  t.equal(ipToDashed('10.0.0.1'), '10-0-0-1');
  t.equal(ipToDashed('fd00:0:0::1'), 'fd00--1', 'IPv6 in its canonical form');
  t.equal(canonicalIp('FD00:0000::0001'), 'fd00::1');
});

t.test('reverse names', async (t) => {
  const cases: Array<{ name: string; input: string; ip: string | undefined }> = [
    { name: 'IPv4', input: '1.0.96.10.in-addr.arpa', ip: '10.96.0.1' },
    { name: 'IPv4, trailing dot and upper case', input: '1.0.96.10.IN-ADDR.ARPA.', ip: '10.96.0.1' },
    { name: 'a /24 is not an address', input: '0.96.10.in-addr.arpa', ip: undefined },
    { name: 'an octet over 255', input: '256.0.96.10.in-addr.arpa', ip: undefined },
    { name: 'leading zeros', input: '01.0.96.10.in-addr.arpa', ip: undefined },
    { name: 'IPv6', input: `${'1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f'}.ip6.arpa`, ip: 'fd00::1' },
    { name: 'IPv6 with 31 nibbles', input: `${'0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f'}.ip6.arpa`, ip: undefined },
    { name: 'IPv6 with a non-hex nibble', input: `${'g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f'}.ip6.arpa`, ip: undefined },
    { name: 'not reverse', input: 'web.shop.svc.cluster.local', ip: undefined },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.equal(parseReverseName(c.input), c.ip); });
  t.equal(reverseName('10.96.0.1'), '1.0.96.10.in-addr.arpa');
  t.equal(parseReverseName(reverseName('fd00::1')), 'fd00::1', 'IPv6 round trip');
  t.equal(parseReverseName(reverseName('2001:db8:1:2:3:4:5:6')), '2001:db8:1:2:3:4:5:6', 'a full IPv6 round trip');
  t.equal(reverseZone('1.0.96.10.in-addr.arpa'), 'in-addr.arpa');
  t.equal(reverseZone('ip6.arpa'), 'ip6.arpa');
  t.equal(reverseZone('example.com'), undefined);
});

t.test('record builders', async (t) => {
  const ips = ['10.0.0.1', 'fd00::1', '10.0.0.2'];
  t.strictSame(addressRecords('a', ips, 'A', 5).map((r) => (r as { data: unknown }).data), ['10.0.0.1', '10.0.0.2'], 'A keeps IPv4 only');
  t.strictSame(addressRecords('a', ips, 'AAAA', 5).map((r) => (r as { data: unknown }).data), ['fd00::1'], 'AAAA keeps IPv6 only');
  t.equal(addressRecordsFor('a', ips, 'ANY', 5).length, 3, 'ANY: both families');
  t.equal(addressRecordsFor('a', ips, 'TXT', 5).length, 0, 'other types: none');
  const soa = soaRecord('cluster.local', 5, 42);
  t.equal(soa.type, 'SOA');
  t.match(soa, { name: 'cluster.local', ttl: 5, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 42, minimum: 5 } }, 'SOA minimum = TTL (RFC 2308)');
  t.equal(srvWeight(1), 100);
  t.equal(srvWeight(3), 33);
  t.equal(srvWeight(1000), 1, 'at least 1');
  t.equal(normalizeName('A.B.'), 'a.b');
});
