// The pure rules of the service-range sync (src/sync/service-cidr-rules.ts), table by table. The
// objects and messages are shaped like kube-apiserver 1.34's (see the file's header for the sources).
import t from 'tap';
import { parseIP } from '../../../src/config/checks.ts';
import {
  coveredBy, hostRangesFromServiceCIDRs, minimalRanges, parseRange, parseRangeList,
  planVirtualServiceCIDRs, primaryRanges, rangeContainsRange, rangeEnds, rangeTexts, readProbeAnswer, searchRange,
  serviceCIDRReadiness, unallocatableAddress, withConfigured, type Range,
} from '../../../src/sync/service-cidr-rules.ts';
import { isVcnetServiceCIDR, virtualServiceCIDRName, type ServiceCIDRObject } from '../../../src/translate/service-cidr.ts';

function r(text: string): Range {
  const range = parseRange(text);
  if (range === undefined) throw new Error(`test bug: ${text} is not a CIDR`);
  return range;
}

const READY = { conditions: [{ type: 'Ready', status: 'True', reason: '', message: 'Kubernetes Service CIDR is ready' }] };
const TERMINATING = { conditions: [{ type: 'Ready', status: 'False', reason: 'Terminating', message: 'There are still IPAddresses referencing the ServiceCIDR' }] };

function cidr(name: string, cidrs: string[], extra: { status?: ServiceCIDRObject['status']; created?: string; deleting?: boolean; ours?: boolean } = {}): ServiceCIDRObject {
  return {
    metadata: {
      name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: extra.created ?? '2025-01-01T00:00:00Z',
      ...(extra.deleting ? { deletionTimestamp: '2025-01-02T00:00:00Z' } : {}),
      ...(extra.ours ? { labels: { 'app.kubernetes.io/managed-by': 'vcnet' } } : {}),
    },
    spec: { cidrs },
    ...(extra.status !== undefined ? { status: extra.status } : {}),
  };
}

t.test('parseRange', async (t) => {
  const cases: Array<{ name: string; text: string; expected: string | undefined }> = [
    { name: 'an IPv4 CIDR', text: '10.96.0.0/12', expected: '10.96.0.0/12' },
    { name: 'an IPv6 CIDR, written canonically', text: 'FD00:0:0::/108', expected: 'fd00::/108' },
    { name: 'clears host bits instead of refusing them', text: '10.96.0.1/16', expected: '10.96.0.0/16' },
    { name: 'trims spaces', text: ' 10.0.0.0/8 ', expected: '10.0.0.0/8' },
    { name: 'refuses a prefix too long for the family', text: '10.0.0.0/33', expected: undefined },
    { name: 'refuses a missing prefix', text: '10.0.0.0', expected: undefined },
    { name: 'refuses a bad address', text: '10.0.0.256/24', expected: undefined },
  ];
  for (const c of cases) t.equal(parseRange(c.text)?.text, c.expected, c.name);
});

t.test('parseRangeList', async (t) => {
  const cases: Array<{ name: string; text: string; expected: string[] | undefined }> = [
    { name: 'an empty text is no range', text: '', expected: [] },
    { name: 'one range', text: '10.96.0.0/16', expected: ['10.96.0.0/16'] },
    { name: 'a dual-stack pair, primary first', text: 'fd00::/108,10.96.0.0/16', expected: ['fd00::/108', '10.96.0.0/16'] },
    { name: 'one bad part spoils the list', text: '10.96.0.0/16,nope', expected: undefined },
  ];
  for (const c of cases) t.same(parseRangeList(c.text)?.map((x) => x.text), c.expected, c.name);
});

t.test('containment of addresses and ranges', async (t) => {
  const cases: Array<{ name: string; ranges: string[]; ip: string; expected: boolean }> = [
    { name: 'an address inside', ranges: ['10.96.0.0/16'], ip: '10.96.200.1', expected: true },
    { name: 'the network address is inside the CIDR (allocatability is the API server\'s business)', ranges: ['10.96.0.0/16'], ip: '10.96.0.0', expected: true },
    { name: 'an address just past the end', ranges: ['10.96.0.0/16'], ip: '10.97.0.0', expected: false },
    { name: 'an address in the second range', ranges: ['10.96.0.0/16', '10.200.0.0/28'], ip: '10.200.0.15', expected: true },
    { name: 'another family never', ranges: ['10.96.0.0/16'], ip: '::ffff:10.96.0.1', expected: false },
    { name: 'an IPv6 address inside', ranges: ['fd00::/108'], ip: 'fd00::f:ffff', expected: true },
    { name: 'an unparsable address in none', ranges: ['0.0.0.0/0'], ip: 'None', expected: false },
  ];
  for (const c of cases) t.equal(coveredBy(c.ranges.map(r), c.ip), c.expected, c.name);
  t.ok(rangeContainsRange(r('10.96.0.0/12'), r('10.97.0.0/16')), 'a /12 contains a /16 inside it');
  t.notOk(rangeContainsRange(r('10.97.0.0/16'), r('10.96.0.0/12')), 'a /16 does not contain the /12 around it');
  t.ok(rangeContainsRange(r('10.96.0.0/16'), r('10.96.0.0/16')), 'a range contains itself');
});

t.test('minimalRanges and primaryRanges', async (t) => {
  const cases: Array<{ name: string; ranges: string[]; minimal: string[]; primary: string[] }> = [
    { name: 'drops duplicates', ranges: ['10.96.0.0/16', '10.96.0.0/16'], minimal: ['10.96.0.0/16'], primary: ['10.96.0.0/16'] },
    { name: 'drops a range inside an earlier one', ranges: ['10.96.0.0/12', '10.97.0.0/24'], minimal: ['10.96.0.0/12'], primary: ['10.96.0.0/12'] },
    { name: 'a later, larger range takes the place of the ranges it contains', ranges: ['10.97.0.0/24', '10.200.0.0/28', '10.96.0.0/12', '10.98.0.0/24'], minimal: ['10.96.0.0/12', '10.200.0.0/28'], primary: ['10.96.0.0/12'] },
    { name: 'keeps disjoint ranges in order', ranges: ['10.96.0.0/16', '10.200.0.0/28'], minimal: ['10.96.0.0/16', '10.200.0.0/28'], primary: ['10.96.0.0/16'] },
    { name: 'the primary of each family, primary family first', ranges: ['fd00::/108', '10.96.0.0/16', 'fd01::/112', '10.200.0.0/28'], minimal: ['fd00::/108', '10.96.0.0/16', 'fd01::/112', '10.200.0.0/28'], primary: ['fd00::/108', '10.96.0.0/16'] },
  ];
  for (const c of cases) {
    const m = minimalRanges(c.ranges.map(r));
    t.same(rangeTexts(m), c.minimal, `${c.name} (minimal)`);
    t.same(rangeTexts(primaryRanges(m)), c.primary, `${c.name} (primary)`);
  }
});

t.test('withConfigured: networking.serviceCIDR first, then the host ranges it does not contain', async (t) => {
  const cases: Array<{ name: string; configured: string[]; host: string[]; expected: string[] }> = [
    { name: 'nothing configured: the host\'s', configured: [], host: ['10.96.0.0/16', '10.200.0.0/28'], expected: ['10.96.0.0/16', '10.200.0.0/28'] },
    { name: 'the same range once', configured: ['10.96.0.0/16'], host: ['10.96.0.0/16'], expected: ['10.96.0.0/16'] },
    { name: 'a configured range that contains the host\'s stands alone', configured: ['10.96.0.0/12'], host: ['10.96.0.0/16'], expected: ['10.96.0.0/12'] },
    { name: 'a smaller configured range stays first; the host\'s larger one follows', configured: ['10.96.0.0/24'], host: ['10.96.0.0/16'], expected: ['10.96.0.0/24', '10.96.0.0/16'] },
    { name: 'host extensions follow the configured range', configured: ['10.96.0.0/16'], host: ['10.96.0.0/16', '10.200.0.0/28'], expected: ['10.96.0.0/16', '10.200.0.0/28'] },
    { name: 'a dual-stack configuration keeps its order', configured: ['fd00::/108', '10.96.0.0/16'], host: ['10.96.0.0/16', 'fd00::/108'], expected: ['fd00::/108', '10.96.0.0/16'] },
  ];
  for (const c of cases) t.same(rangeTexts(withConfigured(c.configured.map(r), c.host.map(r))), c.expected, c.name);
});

t.test('serviceCIDRReadiness follows the API server\'s allocator', async (t) => {
  const cases: Array<{ name: string; obj: ServiceCIDRObject; expected: string }> = [
    { name: 'Ready=True is ready', obj: cidr('a', ['10.0.0.0/24'], { status: READY }), expected: 'ready' },
    { name: 'no condition yet is unknown (the allocator already uses it)', obj: cidr('a', ['10.0.0.0/24']), expected: 'unknown' },
    { name: 'Ready=False is not ready', obj: cidr('a', ['10.0.0.0/24'], { status: TERMINATING }), expected: 'not-ready' },
    { name: 'being deleted is terminating, whatever the condition says', obj: cidr('a', ['10.0.0.0/24'], { status: READY, deleting: true }), expected: 'terminating' },
  ];
  for (const c of cases) t.equal(serviceCIDRReadiness(c.obj), c.expected, c.name);
});

t.test('hostRangesFromServiceCIDRs', async (t) => {
  const cases: Array<{ name: string; objs: ServiceCIDRObject[]; expected: string[] }> = [
    { name: 'the default ServiceCIDR alone', objs: [cidr('kubernetes', ['10.96.0.0/16'], { status: READY })], expected: ['10.96.0.0/16'] },
    {
      name: 'kubernetes first, then the others oldest first',
      objs: [
        cidr('newer', ['10.201.0.0/28'], { status: READY, created: '2025-03-01T00:00:00Z' }),
        cidr('older', ['10.200.0.0/28'], { status: READY, created: '2025-02-01T00:00:00Z' }),
        cidr('kubernetes', ['10.96.0.0/16'], { status: READY, created: '2025-01-01T00:00:00Z' }),
      ],
      expected: ['10.96.0.0/16', '10.200.0.0/28', '10.201.0.0/28'],
    },
    { name: 'a dual-stack default keeps its order of families', objs: [cidr('kubernetes', ['fd00::/108', '10.96.0.0/16'], { status: READY })], expected: ['fd00::/108', '10.96.0.0/16'] },
    {
      name: 'skips ranges being deleted or not ready, keeps one without a condition yet',
      objs: [
        cidr('kubernetes', ['10.96.0.0/16'], { status: READY }),
        cidr('gone', ['10.200.0.0/28'], { status: READY, deleting: true }),
        cidr('stuck', ['10.201.0.0/28'], { status: TERMINATING }),
        cidr('fresh', ['10.202.0.0/28'], { created: '2025-05-01T00:00:00Z' }),
      ],
      expected: ['10.96.0.0/16', '10.202.0.0/28'],
    },
    {
      name: 'a range inside another is not listed twice',
      objs: [cidr('kubernetes', ['10.96.0.0/12'], { status: READY }), cidr('inner', ['10.97.0.0/24'], { status: READY, created: '2025-02-01T00:00:00Z' })],
      expected: ['10.96.0.0/12'],
    },
    { name: 'nothing usable is no range', objs: [cidr('kubernetes', ['10.96.0.0/16'], { status: READY, deleting: true })], expected: [] },
  ];
  for (const c of cases) t.same(rangeTexts(hostRangesFromServiceCIDRs(c.objs)), c.expected, c.name);
});

// The name itself is src/translate/service-cidr.ts's (test/unit/translate/service-cidr.test.ts); these
// cases hold it together with parseRange, whose canonical text makes it one-to-one.
t.test('virtualServiceCIDRName is stable, one-to-one and a DNS-1123 subdomain', async (t) => {
  const cases: Array<{ name: string; range: string; expected: string }> = [
    { name: 'IPv4', range: '10.97.0.0/24', expected: 'vcnet-host-10-97-0-0-24' },
    { name: 'IPv4, written with host bits', range: '10.97.0.9/24', expected: 'vcnet-host-10-97-0-0-24' },
    { name: 'IPv6, canonical (RFC 5952)', range: 'FD00:0:0:0:0:0:1:0/112', expected: 'vcnet-host-fd00--1-0-112' },
    { name: 'the IPv6 unspecified network', range: '::/64', expected: 'vcnet-host----64' },
    { name: 'IPv4-mapped IPv6', range: '::ffff:10.0.0.0/120', expected: 'vcnet-host---ffff-10-0-0-0-120' },
  ];
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  for (const c of cases) {
    const name = virtualServiceCIDRName(r(c.range).text);
    t.equal(name, c.expected, c.name);
    t.match(name, subdomain, `${c.name}: a DNS-1123 subdomain`);
    t.ok(name.length <= 253, `${c.name}: short enough`);
  }
  const longest = virtualServiceCIDRName(r('fd00:1234:5678:9abc:def0:1234:5678:9a00/120').text);
  t.ok(longest.length <= 63, `the longest IPv6 name has ${longest.length} characters`);
  t.not(virtualServiceCIDRName(r('10.0.0.0/8').text), virtualServiceCIDRName(r('10.0.0.0/9').text), 'the prefix is part of the name');
});

t.test('planVirtualServiceCIDRs', async (t) => {
  const vKubernetes = cidr('kubernetes', ['10.96.0.0/16'], { status: READY });
  const ours = (range: string, extra: Parameters<typeof cidr>[2] = {}): ServiceCIDRObject => cidr(virtualServiceCIDRName(r(range).text), [range], { status: READY, ours: true, ...extra });
  const cases: Array<{
    name: string; host: string[]; virtual: ServiceCIDRObject[]; deleteStale?: boolean;
    create: string[]; delete: string[]; conflicts?: string[];
  }> = [
    { name: 'nothing to do when the virtual flag covers the host', host: ['10.96.0.0/16'], virtual: [vKubernetes], create: [], delete: [] },
    { name: 'nothing for a host range inside the virtual flag\'s', host: ['10.96.128.0/24'], virtual: [vKubernetes], create: [], delete: [] },
    { name: 'creates one for a host range the virtual cluster lacks', host: ['10.96.0.0/16', '10.200.0.0/28'], virtual: [vKubernetes], create: ['vcnet-host-10-200-0-0-28'], delete: [] },
    { name: 'covers the whole host range when the virtual flag is smaller', host: ['10.96.0.0/12'], virtual: [vKubernetes], create: ['vcnet-host-10-96-0-0-12'], delete: [] },
    { name: 'creates nothing when vcnet\'s exists', host: ['10.96.0.0/16', '10.200.0.0/28'], virtual: [vKubernetes, ours('10.200.0.0/28')], create: [], delete: [] },
    { name: 'waits while vcnet\'s is still being deleted', host: ['10.200.0.0/28'], virtual: [vKubernetes, ours('10.200.0.0/28', { deleting: true, status: TERMINATING })], create: [], delete: [] },
    { name: 'a host range covered by an administrator\'s ServiceCIDR needs nothing', host: ['10.200.0.0/28'], virtual: [vKubernetes, cidr('admin', ['10.200.0.0/24'], { status: READY })], create: [], delete: [] },
    { name: 'a foreign ServiceCIDR being deleted covers nothing', host: ['10.200.0.0/28'], virtual: [vKubernetes, cidr('admin', ['10.200.0.0/24'], { status: READY, deleting: true })], create: ['vcnet-host-10-200-0-0-28'], delete: [] },
    { name: 'deletes vcnet\'s for a range the host dropped', host: ['10.96.0.0/16'], virtual: [vKubernetes, ours('10.200.0.0/28')], deleteStale: true, create: [], delete: ['vcnet-host-10-200-0-0-28'] },
    { name: 'keeps it when the host ranges may be incomplete (probe)', host: ['10.96.0.0/16'], virtual: [vKubernetes, ours('10.200.0.0/28')], deleteStale: false, create: [], delete: [] },
    { name: 'does not delete one already being deleted', host: ['10.96.0.0/16'], virtual: [vKubernetes, ours('10.200.0.0/28', { deleting: true })], deleteStale: true, create: [], delete: [] },
    { name: 'never deletes kubernetes nor ServiceCIDRs vcnet did not make', host: ['10.96.0.0/16'], virtual: [cidr('kubernetes', ['10.96.0.0/16'], { status: READY, ours: true }), cidr('admin', ['10.210.0.0/24'], { status: READY })], deleteStale: true, create: [], delete: [] },
    { name: 'deletes vcnet\'s for a range the virtual cluster got otherwise', host: ['10.200.0.0/28'], virtual: [vKubernetes, cidr('admin', ['10.200.0.0/24'], { status: READY }), ours('10.200.0.0/28')], deleteStale: true, create: [], delete: ['vcnet-host-10-200-0-0-28'] },
    {
      name: 'reports a name taken by a ServiceCIDR vcnet did not make for another range',
      host: ['10.200.0.0/28'], virtual: [vKubernetes, cidr('vcnet-host-10-200-0-0-28', ['10.201.0.0/28'], { status: READY })],
      create: [], delete: [], conflicts: ['vcnet-host-10-200-0-0-28'],
    },
    {
      name: 'handles both families of a dual-stack host',
      host: ['10.96.0.0/16', 'fd00::/108'], virtual: [vKubernetes], create: ['vcnet-host-fd00---108'], delete: [],
    },
  ];
  for (const c of cases) {
    const plan = planVirtualServiceCIDRs(c.host.map(r), c.virtual, { deleteStale: c.deleteStale ?? true });
    t.test(c.name, async (t) => {
      t.same(plan.create.map((o) => o.metadata.name), c.create, 'creates');
      t.same(plan.delete.map((o) => o.metadata.name), c.delete, 'deletes');
      t.same(plan.conflicts.map((x) => x.name), c.conflicts ?? [], 'conflicts');
      for (const o of plan.create) {
        t.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'vcnet', 'labelled as vcnet\'s');
        t.ok(isVcnetServiceCIDR(o), 'recognised as vcnet\'s');
        t.equal(o.spec?.cidrs?.length, 1, 'one range per object');
      }
    });
  }
});

t.test('readProbeAnswer reads kube-apiserver\'s refusals', async (t) => {
  const cases: Array<{ name: string; message: string; expected: unknown }> = [
    {
      name: 'a dry run outside every range names one (v1.34 wording)',
      message: 'Service "vcnet-service-cidr-probe" is invalid: spec.clusterIPs: Invalid value: ["0.0.0.0"]: failed to allocate IP 0.0.0.0: the provided IP (0.0.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/16',
      expected: { kind: 'outside', range: '10.96.0.0/16' },
    },
    {
      name: 'an IPv6 range',
      message: 'failed to allocate IP ::: the provided IP (::) is not in the valid range. The range of valid IPs is fd00:10:96::/108',
      expected: { kind: 'outside', range: 'fd00:10:96::/108' },
    },
    { name: 'a real create outside every range names none', message: 'failed to allocate IP 0.0.0.0: the provided network does not match the current range', expected: { kind: 'outside', range: undefined } },
    { name: 'already allocated means inside', message: 'failed to allocate IP 10.96.0.1: provided IP is already allocated', expected: { kind: 'inside' } },
    { name: 'allocator not ready means inside', message: 'failed to allocate IP 10.96.0.9: allocator not ready', expected: { kind: 'inside' } },
    { name: 'a family the host does not have', message: 'spec.clusterIPs[0]: Invalid value: ["::"]: IPv6 is not configured on this cluster', expected: { kind: 'family-not-configured' } },
    { name: 'anything else is not understood', message: 'spec.ports: Required value', expected: { kind: 'unknown' } },
  ];
  for (const c of cases) {
    const a = readProbeAnswer(c.message);
    t.same(a.kind === 'outside' ? { kind: a.kind, range: a.range?.text } : a, c.expected, c.name);
  }
  t.equal(unallocatableAddress(4), '0.0.0.0', 'IPv4 probes 0.0.0.0');
  t.equal(unallocatableAddress(6), '::', 'IPv6 probes ::');
});

t.test('rangeEnds gives the allocatable ends of a candidate range', async (t) => {
  const seed = (ip: string) => parseIP(ip) ?? (() => { throw new Error(ip); })();
  const cases: Array<{ name: string; seed: string; prefix: number; expected: { range: string; first: string; last: string } }> = [
    { name: 'IPv4 leaves out the network and broadcast addresses', seed: '10.96.3.7', prefix: 16, expected: { range: '10.96.0.0/16', first: '10.96.0.1', last: '10.96.255.254' } },
    { name: 'IPv6 uses the last address', seed: 'fd00::1:2', prefix: 112, expected: { range: 'fd00::1:0/112', first: 'fd00::1:1', last: 'fd00::1:ffff' } },
  ];
  for (const c of cases) {
    const e = rangeEnds(seed(c.seed), c.prefix);
    t.same({ range: e.range.text, first: e.first, last: e.last }, c.expected, c.name);
  }
});

t.test('searchRange finds the range around a seed by binary search', async (t) => {
  const cases: Array<{ name: string; host: string[]; seed: string; expected: string | undefined }> = [
    { name: 'a /16', host: ['10.96.0.0/16'], seed: '10.96.40.2', expected: '10.96.0.0/16' },
    { name: 'a /12', host: ['10.96.0.0/12'], seed: '10.100.0.9', expected: '10.96.0.0/12' },
    { name: 'a /28, with a larger unrelated range elsewhere', host: ['10.200.0.16/28', '10.96.0.0/12'], seed: '10.200.0.20', expected: '10.200.0.16/28' },
    { name: 'an IPv6 /108', host: ['fd00::/108'], seed: 'fd00::abc', expected: 'fd00::/108' },
    { name: 'nothing when the seed is in no range', host: ['10.96.0.0/16'], seed: '192.168.0.1', expected: undefined },
  ];
  for (const c of cases) {
    const ranges = c.host.map(r);
    let asked = 0;
    const found = await searchRange(parseIP(c.seed) ?? (() => { throw new Error(c.seed); })(), async (ip) => { asked++; return coveredBy(ranges, ip); });
    t.equal(found?.text, c.expected, c.name);
    t.ok(asked <= 2 * 7, `${c.name}: at most two probes per round (${asked})`);
  }
});
