// The virtual ServiceCIDRs that stand for host ranges (src/translate/service-cidr.ts): their names,
// vcnet's label, and which ones vcnet may delete. Inputs are canonical CIDR text, as
// src/sync/service-cidr-rules.ts parseRange makes it (test/unit/sync/service-cidr-rules.test.ts
// holds the two together).
import t from 'tap';
import {
  APP_MANAGED_BY, APP_MANAGED_BY_VALUE, isVcnetServiceCIDR, virtualServiceCIDRFor, virtualServiceCIDRName, type ServiceCIDRObject,
} from '../../../src/translate/index.ts';

function cidr(name: string, cidrs: string[], extra: { ours?: boolean } = {}): ServiceCIDRObject {
  return {
    metadata: {
      name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z',
      ...(extra.ours ? { labels: { 'app.kubernetes.io/managed-by': 'vcnet' } } : {}),
    },
    spec: { cidrs },
  };
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

t.test('virtualServiceCIDRName', async (t) => {
  const cases: Array<{ name: string; cidr: string; expected: string }> = [
    { name: 'IPv4: dots and the slash become dashes', cidr: '10.97.0.0/24', expected: 'vcnet-host-10-97-0-0-24' },
    { name: 'IPv6: colons become dashes, `::` stays two', cidr: 'fd00::1:0/112', expected: 'vcnet-host-fd00--1-0-112' },
    { name: 'the IPv6 unspecified network', cidr: '::/64', expected: 'vcnet-host----64' },
    { name: 'IPv4-mapped IPv6 keeps its dotted quad', cidr: '::ffff:10.0.0.0/120', expected: 'vcnet-host---ffff-10-0-0-0-120' },
    { name: 'the longest canonical IPv6 text', cidr: 'fd00:1234:5678:9abc:def0:1234:5678:9a00/120', expected: 'vcnet-host-fd00-1234-5678-9abc-def0-1234-5678-9a00-120' },
  ];
  for (const c of cases) {
    const name = virtualServiceCIDRName(c.cidr);
    t.equal(name, c.expected, c.name);
    t.match(name, SUBDOMAIN, `${c.name}: a DNS-1123 subdomain`);
    t.ok(name.length <= 63, `${c.name}: at most 63 characters (${name.length})`);
  }
  t.not(virtualServiceCIDRName('10.0.0.0/8'), virtualServiceCIDRName('10.0.0.0/9'), 'the prefix is part of the name');
});

t.test('isVcnetServiceCIDR', async (t) => {
  const cases: Array<{ name: string; obj: ServiceCIDRObject; expected: boolean }> = [
    { name: 'vcnet\'s: label and name prefix', obj: cidr('vcnet-host-10-200-0-0-28', ['10.200.0.0/28'], { ours: true }), expected: true },
    { name: 'the label without the prefix is not', obj: cidr('extra', ['10.200.0.0/28'], { ours: true }), expected: false },
    { name: 'the prefix without the label is not', obj: cidr('vcnet-host-10-200-0-0-28', ['10.200.0.0/28']), expected: false },
    { name: 'kubernetes never is, whatever its labels', obj: cidr('kubernetes', ['10.96.0.0/16'], { ours: true }), expected: false },
    {
      name: 'another tool\'s managed-by value is not',
      obj: { metadata: { name: 'vcnet-host-10-200-0-0-28', labels: { 'app.kubernetes.io/managed-by': 'helm' } }, spec: { cidrs: ['10.200.0.0/28'] } },
      expected: false,
    },
  ];
  for (const c of cases) t.equal(isVcnetServiceCIDR(c.obj), c.expected, c.name);
});

t.test('virtualServiceCIDRFor', async (t) => {
  const cases: Array<{ name: string; cidr: string; expected: ServiceCIDRObject }> = [
    {
      name: 'one IPv4 range, named and labelled as vcnet\'s',
      cidr: '10.200.0.0/28',
      expected: {
        apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR',
        metadata: { name: 'vcnet-host-10-200-0-0-28', labels: { 'app.kubernetes.io/managed-by': 'vcnet' } },
        spec: { cidrs: ['10.200.0.0/28'] },
      },
    },
    {
      name: 'one IPv6 range',
      cidr: 'fd00::/108',
      expected: {
        apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR',
        metadata: { name: 'vcnet-host-fd00---108', labels: { 'app.kubernetes.io/managed-by': 'vcnet' } },
        spec: { cidrs: ['fd00::/108'] },
      },
    },
  ];
  for (const c of cases) {
    const obj = virtualServiceCIDRFor(c.cidr);
    t.strictSame(obj, c.expected, c.name);
    t.ok(isVcnetServiceCIDR(obj), `${c.name}: recognised as vcnet's`);
  }
});

t.test('vcnet marks its own objects with Kubernetes\' recommended managed-by label', async (t) => {
  t.equal(APP_MANAGED_BY, 'app.kubernetes.io/managed-by');
  t.equal(APP_MANAGED_BY_VALUE, 'vcnet');
});
