import t from 'tap';
import { servingSANs } from '../../../src/certs/index.ts';

const cases = [
  {
    name: 'covers loopback only when nothing else is given',
    opts: {},
    expected: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] },
  },
  {
    name: 'adds every name a pod can use for the Service, with the default cluster domain',
    opts: { serviceName: 'vcnet', namespace: 'team-a' },
    expected: {
      dnsNames: ['localhost', 'vcnet', 'vcnet.team-a', 'vcnet.team-a.svc', 'vcnet.team-a.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', '::1'],
    },
  },
  {
    name: 'uses the configured cluster domain',
    opts: { serviceName: 'vcnet', namespace: 'ns', clusterDomain: 'corp.internal.' },
    expected: {
      dnsNames: ['localhost', 'vcnet', 'vcnet.ns', 'vcnet.ns.svc', 'vcnet.ns.svc.corp.internal'],
      ipAddresses: ['127.0.0.1', '::1'],
    },
  },
  {
    name: 'adds only the bare service name when no namespace is known',
    opts: { serviceName: 'vcnet' },
    expected: { dnsNames: ['localhost', 'vcnet'], ipAddresses: ['127.0.0.1', '::1'] },
  },
  {
    name: 'sorts extraSANs into IP and DNS entries, wildcards included',
    opts: { extraSANs: ['10.96.0.10', 'vcluster.example.com', '*.apps.example.com', '2001:db8::1', '[fd00::2]'] },
    expected: {
      dnsNames: ['localhost', 'vcluster.example.com', '*.apps.example.com'],
      ipAddresses: ['127.0.0.1', '::1', '10.96.0.10', '2001:db8::1', 'fd00::2'],
    },
  },
  {
    name: 'drops duplicates, including differently written IPv6 loopback and upper-case names',
    opts: { serviceName: 'vcnet', extraSANs: ['0:0:0:0:0:0:0:1', 'LOCALHOST', 'VCNET', '127.0.0.1', ' ', ''] },
    expected: { dnsNames: ['localhost', 'vcnet'], ipAddresses: ['127.0.0.1', '::1'] },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(servingSANs(c.opts), c.expected);
  });
}
