import t from 'tap';
import { Translator, isKubernetesService, safeConcatName } from '../../../src/translate/names.ts';

const tr = new Translator({ vcluster: 'my-vcluster', hostNamespace: 'vcluster-ns' });

t.test('safeConcatName', async (t) => {
  const cases: Array<{ name: string; parts: string[]; expected: string }> = [
    { name: 'joins short parts with "-"', parts: ['nginx', 'x', 'default', 'x', 'my-vcluster'], expected: 'nginx-x-default-x-my-vcluster' },
    {
      name: 'keeps a join of exactly 63 characters as it is',
      parts: ['a'.repeat(39), 'x', 'default', 'x', 'my-vcluster'],
      expected: `${'a'.repeat(39)}-x-default-x-my-vcluster`,
    },
    {
      name: 'hashes a join of 64 characters: 52 kept, "-", 10 hex of SHA-256',
      parts: ['a'.repeat(40), 'x', 'default', 'x', 'my-vcluster'],
      expected: `${'a'.repeat(40)}-x-default-x-7799225210`,
    },
    {
      name: 'keeps the "--" when the 52-character cut ends in "-" (vCluster quirk)',
      parts: ['my-very-long-application-service-name-for-testing', 'x', 'production', 'x', 'my-vcluster'],
      expected: 'my-very-long-application-service-name-for-testing-x--f86413b09c',
    },
    {
      name: 'repairs the ".-" left when the cut ends in a dot',
      parts: [`${'a'.repeat(51)}.crt`, 'x', 'default', 'x', 'my-vcluster'],
      expected: `${'a'.repeat(51)}-5c4fc50ea2`,
    },
    {
      name: 'leaves ".-" alone in a join short enough not to be hashed, as vCluster does',
      parts: ['a.', 'b'],
      expected: 'a.-b',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const got = safeConcatName(...c.parts);
      t.equal(got, c.expected);
      t.ok(got.length <= 63, `${got.length} characters`);
    });
  }
});

t.test('Translator.hostName translates namespaced objects (the §1.1 examples)', async (t) => {
  const cases: Array<{ name: string; vName: string; vNamespace: string; expected: string }> = [
    { name: 'pod nginx in default', vName: 'nginx', vNamespace: 'default', expected: 'nginx-x-default-x-my-vcluster' },
    { name: 'service kube-dns in kube-system', vName: 'kube-dns', vNamespace: 'kube-system', expected: 'kube-dns-x-kube-system-x-my-vcluster' },
    {
      name: 'a long service name in production is hashed to 63 characters',
      vName: 'my-very-long-application-service-name-for-testing',
      vNamespace: 'production',
      expected: 'my-very-long-application-service-name-for-testing-x--f86413b09c',
    },
    { name: 'an empty name (an unset reference) stays empty', vName: '', vNamespace: 'default', expected: '' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(tr.hostName(c.vName, c.vNamespace), c.expected);
    });
  }
  t.test('refuses an empty namespace rather than inventing a name', async (t) => {
    t.throws(() => tr.hostName('nginx', ''), /virtual namespace is empty.*hostClusterScopedName/);
  });
});

t.test('default/kubernetes stands for the vCluster\'s own host Service', async (t) => {
  const cases: Array<{ name: string; vName: string; vNamespace: string; special: boolean; hostService: string }> = [
    { name: 'kubernetes in default is special', vName: 'kubernetes', vNamespace: 'default', special: true, hostService: 'my-vcluster' },
    { name: 'kubernetes in another namespace is not', vName: 'kubernetes', vNamespace: 'prod', special: false, hostService: 'kubernetes-x-prod-x-my-vcluster' },
    { name: 'another service in default is not', vName: 'web', vNamespace: 'default', special: false, hostService: 'web-x-default-x-my-vcluster' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(isKubernetesService(c.vName, c.vNamespace), c.special);
      t.equal(tr.hostServiceName(c.vName, c.vNamespace), c.hostService);
    });
  }
  t.test('hostName itself stays kind-agnostic (a pod called kubernetes is an ordinary pod)', async (t) => {
    t.equal(tr.hostName('kubernetes', 'default'), 'kubernetes-x-default-x-my-vcluster');
  });
});

t.test('cluster-scoped names and marker values', async (t) => {
  t.equal(tr.hostClusterScopedName('high-priority'), 'vcluster-high-priority-x-vcluster-ns-x-my-vcluster');
  t.equal(tr.hostClusterScopedName(''), '');
  t.equal(tr.markerValue(), 'my-vcluster', 'namespaced objects carry the vCluster name');
  t.equal(tr.markerValue(false), 'my-vcluster');
  t.equal(tr.markerValue(true), 'vcluster-ns-x-my-vcluster', 'cluster-scoped objects carry SafeConcat(HNS, "x", VC)');
  const longNs = new Translator({ vcluster: 'my-vcluster', hostNamespace: 'tenant-namespace-with-a-really-quite-long-name-for-tests' });
  t.equal(longNs.markerValue(true), 'tenant-namespace-with-a-really-quite-long-name-for-t-5fdd579b2c', 'a long marker is hashed like a name');
});

t.test('shortHostName is "v" + 13 base36 characters of SHA-256', async (t) => {
  t.equal(tr.shortHostName('nginx', 'default'), 'v5524qrl7ii9qr');
  // SHA-256("pod-28-x-default-x-my-vcluster") starts with a zero byte, which base36 keeps as a leading "0".
  t.equal(tr.shortHostName('pod-28', 'default'), 'v0e7m13fu3u9bc');
  t.equal(tr.shortHostName('', 'default'), '');
});

t.test('the Translator validates its options', async (t) => {
  const cases: Array<{ name: string; vcluster: string; hostNamespace: string; error?: RegExp }> = [
    { name: 'accepts a DNS-1035 vCluster name and a DNS-1123 namespace', vcluster: 'vc1', hostNamespace: '1-tenant' },
    { name: 'accepts a 63-character vCluster name', vcluster: `v${'a'.repeat(62)}`, hostNamespace: 'ns' },
    { name: 'rejects an empty vCluster name', vcluster: '', hostNamespace: 'ns', error: /invalid vCluster name "".*DNS-1035/ },
    { name: 'rejects upper case in the vCluster name', vcluster: 'My-VCluster', hostNamespace: 'ns', error: /invalid vCluster name "My-VCluster"/ },
    { name: 'rejects a vCluster name starting with a digit', vcluster: '1vc', hostNamespace: 'ns', error: /invalid vCluster name "1vc"/ },
    { name: 'rejects a vCluster name ending in "-"', vcluster: 'vc-', hostNamespace: 'ns', error: /invalid vCluster name "vc-"/ },
    { name: 'rejects a 64-character vCluster name', vcluster: `v${'a'.repeat(63)}`, hostNamespace: 'ns', error: /invalid vCluster name/ },
    { name: 'rejects a host namespace with a dot', vcluster: 'vc', hostNamespace: 'a.b', error: /invalid host namespace "a.b".*DNS-1123/ },
    { name: 'rejects a host namespace with "_"', vcluster: 'vc', hostNamespace: 'ns_1', error: /invalid host namespace "ns_1"/ },
    { name: 'rejects an empty host namespace', vcluster: 'vc', hostNamespace: '', error: /invalid host namespace ""/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      if (c.error === undefined) {
        const got = new Translator({ vcluster: c.vcluster, hostNamespace: c.hostNamespace });
        t.equal(got.vcluster, c.vcluster);
        t.equal(got.hostNamespace, c.hostNamespace);
      } else {
        t.throws(() => new Translator({ vcluster: c.vcluster, hostNamespace: c.hostNamespace }), c.error);
      }
    });
  }
});

t.test('hashedLabelKey hashes the key under a prefix with SafeConcat', async (t) => {
  t.equal(tr.hashedLabelKey('vcluster.loft.sh/label', 'release'), 'vcluster.loft.sh/label-my-vcluster-x-a4d451ec23');
  const longVc = new Translator({ vcluster: 'a-very-long-virtual-cluster-name-that-is-still-valid', hostNamespace: 'ns' });
  t.equal(longVc.hashedLabelKey('vcluster.loft.sh/label', 'release'), 'vcluster.loft.sh/label-a-very-long-virtual-cluster-n-f1f271d58a',
    'with a long vCluster name the whole key is hashed again');
});
