import t from 'tap';
import { canonicalIP, ipOctets, isIPLiteral } from '../../../src/certs/ip.ts';

const cases = [
  { name: 'keeps a dotted quad as it is', input: '10.0.0.1', canonical: '10.0.0.1', octets: '0a000001' },
  { name: 'compresses IPv6 loopback written in full', input: '0:0:0:0:0:0:0:1', canonical: '::1', octets: '00000000000000000000000000000001' },
  { name: 'lower-cases and compresses the OpenSSL form', input: 'FE80:0:0:0:0:0:1:2', canonical: 'fe80::1:2', octets: 'fe800000000000000000000000010002' },
  { name: 'accepts a bracketed IPv6 literal', input: '[::1]', canonical: '::1', octets: '00000000000000000000000000000001' },
  { name: 'encodes the unspecified IPv6 address as 16 zero octets', input: '::', canonical: '::', octets: '0'.repeat(32) },
  { name: 'encodes a trailing "::"', input: '2001:db8::', canonical: '2001:db8::', octets: '20010db8' + '0'.repeat(24) },
  { name: 'encodes an IPv4-mapped IPv6 address as 16 octets', input: '::ffff:10.0.0.2', canonical: '::ffff:a00:2', octets: '00000000000000000000ffff0a000002' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.ok(isIPLiteral(c.input));
    t.equal(canonicalIP(c.input), c.canonical);
    t.equal(ipOctets(c.input).toString('hex'), c.octets);
  });
}

const invalid = [
  { name: 'refuses a DNS name', input: 'localhost' },
  { name: 'refuses an IPv6 address with a zone, which a SAN cannot carry', input: 'fe80::1%eth0' },
  { name: 'refuses an IPv4 address with leading zeros', input: '010.0.0.1' },
  { name: 'refuses an out-of-range octet', input: '256.0.0.1' },
];

for (const c of invalid) {
  t.test(c.name, async (t) => {
    t.notOk(isIPLiteral(c.input));
    t.throws(() => canonicalIP(c.input), { message: `"${c.input}" is not an IPv4 or IPv6 address` });
  });
}
