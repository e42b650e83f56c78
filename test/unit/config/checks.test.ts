import t from 'tap';
import {
  addressesOverlap, checkCIDR, checkDNS1035Label, checkDNS1123Label, checkDNS1123Subdomain, checkImage,
  checkImageRegistry, checkImageRepository, checkImageTag, checkIP, checkLabelKey, checkLabelValue, checkQuantity,
  checkSAN, checkServiceCIDR, checkToleration, checkWebhookURL, formatIP, hostMask, parseCIDR, parseIP, parseQuantity, splitCIDR,
} from '../../../src/config/checks.ts';

type Check = (v: string) => string | undefined;

const cases: Array<{ check: string; fn: Check; good: string[]; bad: Array<[string, RegExp]> }> = [
  {
    check: 'checkIP',
    fn: checkIP,
    good: ['0.0.0.0', '127.0.0.1', '255.255.255.255', '::', '::1', 'fd00::1', '2001:db8:0:0:0:0:0:1', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', 'FE80::A'],
    bad: [
      ['', /"" is not an IPv4 or IPv6 address/],
      ['256.0.0.1', /not an IPv4 or IPv6 address/],
      ['010.0.0.1', /not an IPv4/],
      ['10.0.0', /not an IPv4/],
      ['10.0.0.1.', /not an IPv4/],
      ['localhost', /not an IPv4/],
      ['fe80::1%eth0', /not an IPv4/],
      ['1:2:3:4:5:6:7:8:9', /not an IPv4/],
      ['1:2:3:4::5:6:7:8', /not an IPv4/],
      ['1::2::3', /not an IPv4/],
      ['10.0.0.1::', /not an IPv4/],
      [':1', /not an IPv4/],
      ['12345::', /not an IPv4/],
      ['::ffff:10.0.0.256', /not an IPv4/],
    ],
  },
  {
    check: 'checkCIDR',
    fn: checkCIDR,
    good: ['10.244.0.0/16', '0.0.0.0/0', '10.0.0.1/32', 'fd00::/8', 'fd00:10:244::/56', '::/0', '::1/128'],
    bad: [
      ['10.244.0.0', /needs a prefix length/],
      ['10.244.0.0/33', /prefix length must be a number from 0 to 32 for an IPv4 address/],
      ['fd00::/129', /from 0 to 128 for an IPv6 address/],
      ['10.244.0.0/016', /prefix length/],
      ['10.244.0.0/', /prefix length/],
      ['10.244.1.0/16', /bits set after the prefix; the network is 10\.244\.0\.0\/16/],
      ['fd00::1/64', /the network is fd00::\/64/],
      ['10.244.0/16', /"10\.244\.0" is not an IPv4 or IPv6 address/],
      ['fd00::g/64', /is not an IPv4 or IPv6 address/],
    ],
  },
  {
    check: 'checkServiceCIDR',
    fn: checkServiceCIDR,
    good: ['', '10.96.0.0/12', 'fd00::/108', '10.96.0.0/12,fd00::/108', 'fd00::/108,10.96.0.0/12'],
    bad: [
      ['10.96.0.0/12,10.100.0.0/16', /has two IPv4 CIDRs; a dual-stack service CIDR has one IPv4 and one IPv6 CIDR/],
      ['fd00::/108,fd01::/108', /has two IPv6 CIDRs/],
      ['10.96.0.0/12,fd00::/108,10.0.0.0/8', /has 3 CIDRs/],
      ['10.96.0.0/12, fd00::/108', /" fd00::\/108" in "10\.96\.0\.0\/12, fd00::\/108" is not a valid CIDR/],
      ['10.96.0.0/12,', /"" in "10\.96\.0\.0\/12," is not a valid CIDR/],
      ['10.96.0.1/12', /^"10\.96\.0\.1\/12" is not a valid CIDR: it has bits set after the prefix; the network is 10\.96\.0\.0\/12$/],
    ],
  },
  {
    check: 'checkDNS1123Label',
    fn: checkDNS1123Label,
    good: ['a', 'vcluster-ns', '0abc', 'a'.repeat(63)],
    bad: [
      ['', /not a valid DNS-1123 label/],
      ['Team-A', /not a valid DNS-1123 label/],
      ['-a', /DNS-1123 label/],
      ['a-', /DNS-1123 label/],
      ['a.b', /DNS-1123 label/],
      ['a'.repeat(64), /DNS-1123 label/],
    ],
  },
  {
    check: 'checkDNS1035Label',
    fn: checkDNS1035Label,
    good: ['vcluster', 'my-vc-1', 'a'.repeat(63)],
    bad: [
      ['1vc', /not a valid DNS-1035 label: .*starting with a letter/],
      ['my_vc', /DNS-1035 label/],
      ['a'.repeat(64), /DNS-1035 label/],
    ],
  },
  {
    check: 'checkDNS1123Subdomain',
    fn: checkDNS1123Subdomain,
    good: ['cluster.local', 'local', 'corp.example.com', '0.example', `${'a'.repeat(63)}.b`],
    bad: [
      ['Cluster.Local', /not a valid DNS-1123 subdomain/],
      ['cluster.local.', /DNS-1123 subdomain/],
      ['.cluster', /DNS-1123 subdomain/],
      ['cluster..local', /DNS-1123 subdomain/],
      [`${'a'.repeat(64)}.b`, /DNS-1123 subdomain/],
      [Array.from({ length: 64 }, () => 'abc').join('.'), /DNS-1123 subdomain/],
    ],
  },
  {
    check: 'checkSAN',
    fn: checkSAN,
    good: ['example.com', 'vcnet.vcluster-ns.svc', 'localhost', '*.example.com', 'API.Example.com', '10.0.0.1', 'fd00::1'],
    bad: [
      ['exa mple', /^"exa mple" is not a DNS name or IP address$/],
      ['10.0.0.300', /is not a DNS name or IP address$/],
      ['a.*.example.com', /a wildcard must be the whole first label/],
      ['*example.com', /a wildcard must be the whole first label/],
      ['*', /wildcard/],
      ['https://example.com', /is not a DNS name/],
      ['under_score.example', /is not a DNS name/],
      ['example.com.', /is not a DNS name/],
      ['', /is not a DNS name/],
    ],
  },
  {
    check: 'checkLabelKey',
    fn: checkLabelKey,
    good: ['pool', 'a', 'node.kubernetes.io/instance-type', 'example.com/Pool_1.x', 'A-b_c.D', `${'a'.repeat(63)}`, `${'p'.repeat(63)}.example/${'n'.repeat(63)}`],
    bad: [
      ['', /^"" is not a valid label key: an optional DNS-1123 subdomain prefix and '\/', then at most 63 characters/],
      ['bad key', /not a valid label key/],
      ['-pool', /not a valid label key/],
      ['pool-', /not a valid label key/],
      ['a'.repeat(64), /not a valid label key/],
      ['Example.com/pool', /not a valid label key/],
      ['example..com/pool', /not a valid label key/],
      ['/pool', /not a valid label key/],
      ['example.com/', /not a valid label key/],
      ['a/b/c', /not a valid label key/],
      [`${'p'.repeat(254)}/n`, /not a valid label key/],
    ],
  },
  {
    check: 'checkLabelValue',
    fn: checkLabelValue,
    good: ['', 'vcluster', 'A.b-c_D', '1', 'a'.repeat(63)],
    bad: [
      ['a b', /^"a b" is not a valid label value: empty, or at most 63 characters/],
      ['-a', /not a valid label value/],
      ['a.', /not a valid label value/],
      ['a/b', /not a valid label value/],
      ['a'.repeat(64), /not a valid label value/],
    ],
  },
  {
    check: 'checkToleration',
    fn: checkToleration,
    good: ['*', 'key', 'key=value', 'key=', 'key:NoSchedule', 'key=value:NoExecute', 'example.com/key=v:PreferNoSchedule', 'k=:NoSchedule'],
    bad: [
      ['', /^"" is not a toleration \("" is not a valid label key\); expected key=value:Effect, key:Effect, key=value, key or \*$/],
      ['*:NoSchedule', /"\*" is not a valid label key/],
      ['key:NoSchedule:x', /more than one ":"/],
      ['key:noschedule', /effect must be NoSchedule, PreferNoSchedule or NoExecute, not "noschedule"/],
      ['key=a=b', /more than one "="/],
      ['key=-a', /"-a" is not a valid label value/],
      ['bad key=v', /"bad key" is not a valid label key/],
    ],
  },
  {
    check: 'checkQuantity',
    fn: checkQuantity,
    good: ['0', '1', '30m', '64Mi', '0.5', '.5', '5.', '+1', '1e3', '1E-3', '2Ki', '1Ei', '100n', '5u', '1k', '1M', '1G', '1T', '1P', '1E'],
    bad: [
      ['', /^"" is not a Kubernetes quantity/],
      ['64MB', /not a Kubernetes quantity/],
      ['64mi', /not a Kubernetes quantity/],
      ['1K', /not a Kubernetes quantity/],
      ['.', /not a Kubernetes quantity/],
      ['1 m', /not a Kubernetes quantity/],
      ['1e', /not a Kubernetes quantity/],
      ['0x10', /not a Kubernetes quantity/],
      ['-30m', /^"-30m" is negative; requests and limits must be 0 or more$/],
    ],
  },
  {
    check: 'checkImageRegistry',
    fn: checkImageRegistry,
    good: ['', 'mirror.gcr.io', 'docker.io', 'localhost', 'localhost:5000', 'Registry.Example.com:443', '10.0.0.1:5000', '[fd00::1]:5000', 'ghcr.io/org', 'r.example/a/b'],
    bad: [
      ['https://mirror.gcr.io', /^"https:\/\/mirror\.gcr\.io" is not an image registry: a host name or IP address with an optional :port \(no scheme/],
      ['mirror.gcr.io/', /is not an image registry/],
      ['mirror.gcr.io:port', /is not an image registry/],
      ['r.example/Org', /is not an image registry/],
      ['a b', /is not an image registry/],
    ],
  },
  {
    check: 'checkImageRepository',
    fn: checkImageRepository,
    good: ['alpine', 'library/alpine', 'a/b/c', 'my-image', 'my__image', 'my_image', 'my.image', 'a---b'],
    bad: [
      ['', /^must name the image repository, such as library\/alpine$/],
      ['Alpine', /is not an image repository/],
      ['alpine:3.20', /\(the tag goes in the tag field\)$/],
      ['alpine@sha256:abc', /\(the tag goes in the tag field\)$/],
      ['a//b', /is not an image repository/],
      ['a___b', /is not an image repository/],
      ['-a', /is not an image repository/],
      ['a.', /is not an image repository/],
    ],
  },
  {
    check: 'checkImageTag',
    fn: checkImageTag,
    good: ['', '3.20', 'latest', '_x', 'V1-rc.2', 'x'.repeat(128)],
    bad: [['-x', /is not an image tag/], ['.x', /is not an image tag/], ['a b', /is not an image tag/], ['x'.repeat(129), /is not an image tag/]],
  },
  {
    check: 'checkImage',
    fn: checkImage,
    good: ['nginx', 'nginx:1.25', 'registry.example.com/a/b@sha256:0123', 'Anything Kubernetes takes'],
    bad: [['', /^must name an image$/], [' nginx', /^" nginx" has leading or trailing whitespace/], ['nginx\n', /leading or trailing whitespace/]],
  },
  {
    check: 'checkWebhookURL',
    fn: checkWebhookURL,
    good: ['', 'https://127.0.0.1:9443', 'https://vcnet.ns.svc:9443', 'https://vcnet.ns.svc', 'https://[::1]:9443/base/'],
    bad: [
      ['http://127.0.0.1:9443', /is not an https:\/\/ URL; kube-apiserver calls webhooks only over TLS$/],
      ['127.0.0.1:9443', /^"127\.0\.0\.1:9443" is not a URL; write it as https:\/\/<host>:<port>$/],
      ['https://', /is not a URL/],
      ['https://u@vcnet', /may not carry user info, a query or a fragment/],
      ['https://vcnet?', /may not carry user info, a query or a fragment/],
      ['https://vcnet#', /may not carry user info, a query or a fragment/],
    ],
  },
];

for (const c of cases) {
  t.test(c.check, async (t) => {
    for (const value of c.good) t.equal(c.fn(value), undefined, `accepts ${JSON.stringify(value)}`);
    for (const [value, reason] of c.bad) t.match(c.fn(value), reason, `refuses ${JSON.stringify(value)}`);
  });
}

t.test('formats IPv6 addresses in RFC 5952 canonical form', async (t) => {
  const rows: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['FD00:0:0:0:0:0:0:0', 'fd00::'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['::a00:1', '::a00:1'],
  ];
  for (const [input, formatted] of rows) {
    const ip = parseIP(input);
    t.ok(ip, `parses ${input}`);
    if (ip !== undefined) t.equal(formatIP(ip), formatted, input);
  }
});

t.test('splitCIDR keeps host bits; parseCIDR refuses them', async (t) => {
  const rows: Array<{ name: string; text: string; split: string | { family: number; value: bigint; prefix: number }; parsed: RegExp | { family: number; value: bigint; prefix: number } }> = [
    { name: 'an IPv4 network', text: '10.96.0.0/12', split: { family: 4, value: 0x0a600000n, prefix: 12 }, parsed: { family: 4, value: 0x0a600000n, prefix: 12 } },
    { name: 'an IPv6 network', text: 'fd00::/108', split: { family: 6, value: 0xfd00n << 112n, prefix: 108 }, parsed: { family: 6, value: 0xfd00n << 112n, prefix: 108 } },
    { name: 'host bits: split as written, refused by parseCIDR', text: '10.96.0.1/16', split: { family: 4, value: 0x0a600001n, prefix: 16 }, parsed: /bits set after the prefix; the network is 10\.96\.0\.0\/16/ },
    { name: 'no prefix', text: '10.96.0.0', split: 'a CIDR needs a prefix length, like 10.96.0.0/12 or fd00::/108', parsed: /needs a prefix length/ },
    { name: 'a prefix too long for the family', text: '10.0.0.0/33', split: 'the prefix length must be a number from 0 to 32 for an IPv4 address', parsed: /from 0 to 32/ },
    { name: 'a bad address', text: '10.0.0.256/24', split: '"10.0.0.256" is not an IPv4 or IPv6 address', parsed: /is not an IPv4 or IPv6 address/ },
  ];
  for (const r of rows) {
    t.same(splitCIDR(r.text), r.split, `${r.name} (split)`);
    const parsed = parseCIDR(r.text);
    if (r.parsed instanceof RegExp) t.match(parsed, r.parsed, `${r.name} (parse)`);
    else t.same(parsed, r.parsed, `${r.name} (parse)`);
  }
});

t.test('hostMask covers the bits after the prefix', async (t) => {
  const rows: Array<{ name: string; family: 4 | 6; prefix: number; expected: bigint }> = [
    { name: 'IPv4 /24', family: 4, prefix: 24, expected: 0xffn },
    { name: 'IPv4 /32 has none', family: 4, prefix: 32, expected: 0n },
    { name: 'IPv4 /0 is every bit', family: 4, prefix: 0, expected: 0xffffffffn },
    { name: 'IPv6 /112', family: 6, prefix: 112, expected: 0xffffn },
  ];
  for (const r of rows) t.equal(hostMask(r.family, r.prefix), r.expected, r.name);
});

t.test('tells which listen addresses share a port', async (t) => {
  const rows: Array<[string, string, boolean]> = [
    ['127.0.0.1', '127.0.0.1', true],
    ['0.0.0.0', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['::', '127.0.0.1', true],
    ['::1', '127.0.0.1', false],
    ['0.0.0.0', '::1', false],
    ['::1', '0:0:0:0:0:0:0:1', true],
  ];
  for (const [a, b, overlap] of rows) t.equal(addressesOverlap(a, b), overlap, `${a} and ${b}`);
});

t.test('reads quantities by their value, to compare a request with a limit', async (t) => {
  const rows: Array<[string, number | undefined]> = [
    ['30m', 0.03], ['0.03', 0.03], ['64Mi', 64 * 2 ** 20], ['64M', 64e6], ['1e3', 1000], ['1E-3', 0.001],
    ['1Ki', 1024], ['5u', 5e-6], ['100n', 1e-7], ['+2', 2], ['-1', -1], ['1.5Gi', 1.5 * 2 ** 30], ['64MB', undefined], ['', undefined],
  ];
  for (const [text, value] of rows) {
    const got = parseQuantity(text);
    if (value === undefined) t.equal(got, undefined, `${JSON.stringify(text)} is not a quantity`);
    else t.ok(got !== undefined && Math.abs(got - value) <= Math.abs(value) * 1e-12, `${text} is ${value}, got ${got}`);
  }
});
