import t from 'tap';
import { Translator } from '../../../src/translate/names.ts';
import {
  copyableHostLabelKey, hostLabelKey, hostMarkerLabels, labelsAnnotationValue, legacyHostLabelKey, mergeLabelSelectors,
  namespaceLabelKey, toHostLabelSelector, toHostLabels, toHostNamespaceSelector, toHostSelector, toVirtualLabels,
  toVirtualSelector, virtualLabelKey,
} from '../../../src/translate/labels.ts';
import type { LabelSelector } from '../../../src/translate/types.ts';

const tr = new Translator({ vcluster: 'my-vcluster', hostNamespace: 'vcluster-ns' });

// The four special keys as vCluster hashes them for VC=my-vcluster.
const H_RELEASE = 'vcluster.loft.sh/label-my-vcluster-x-a4d451ec23';
const H_NAMESPACE = 'vcluster.loft.sh/label-my-vcluster-x-101dcd4e86';
const H_MANAGED_BY = 'vcluster.loft.sh/label-my-vcluster-x-e5f1b28ab2';
const H_CONTROLLED_BY = 'vcluster.loft.sh/label-my-vcluster-x-2080cec00f';
const NS_METADATA_NAME = 'vcluster.loft.sh/ns-label-my-vcluster-x-cf1227b7b2';
const NS_TEAM = 'vcluster.loft.sh/ns-label-my-vcluster-x-ca8b22d0db';

t.test('label keys, virtual -> host -> virtual', async (t) => {
  const cases: Array<{ name: string; vKey: string; hKey: string }> = [
    { name: 'copies an ordinary key unchanged', vKey: 'app', hKey: 'app' },
    { name: 'copies a prefixed key unchanged', vKey: 'app.kubernetes.io/name', hKey: 'app.kubernetes.io/name' },
    { name: 'hashes release (the control plane carries release=<VC>)', vKey: 'release', hKey: H_RELEASE },
    { name: 'hashes vcluster.loft.sh/namespace', vKey: 'vcluster.loft.sh/namespace', hKey: H_NAMESPACE },
    { name: 'hashes vcluster.loft.sh/managed-by', vKey: 'vcluster.loft.sh/managed-by', hKey: H_MANAGED_BY },
    { name: 'hashes vcluster.loft.sh/controlled-by', vKey: 'vcluster.loft.sh/controlled-by', hKey: H_CONTROLLED_BY },
    { name: 'copies other vcluster.loft.sh keys unchanged', vKey: 'vcluster.loft.sh/something', hKey: 'vcluster.loft.sh/something' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(hostLabelKey(tr, c.vKey), c.hKey);
      t.equal(virtualLabelKey(tr, c.hKey), c.vKey, 'and back');
    });
  }
});

t.test('host label keys never copied back to the virtual side', async (t) => {
  const keys = [
    'release', 'vcluster.loft.sh/namespace', 'vcluster.loft.sh/managed-by', 'vcluster.loft.sh/controlled-by',
    NS_METADATA_NAME, 'vcluster.loft.sh/ns-label-anything',
  ];
  for (const hKey of keys) t.equal(virtualLabelKey(tr, hKey), undefined, hKey);
});

t.test('virtual labels that would spoof vCluster keys are not copied to the host', async (t) => {
  const cases: Array<{ name: string; vKey: string; hKey: string | undefined }> = [
    { name: 'an already-hashed special key is dropped', vKey: H_RELEASE, hKey: undefined },
    { name: 'an ns-label key is dropped', vKey: NS_METADATA_NAME, hKey: undefined },
    { name: 'a special key is copied hashed', vKey: 'release', hKey: H_RELEASE },
    { name: 'an ordinary key is copied', vKey: 'tier', hKey: 'tier' },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(copyableHostLabelKey(tr, c.vKey), c.hKey));
});

t.test('namespace label keys and legacy keys', async (t) => {
  t.equal(namespaceLabelKey(tr, 'kubernetes.io/metadata.name'), NS_METADATA_NAME, 'the key visible in loft-sh/vcluster#2887');
  t.equal(namespaceLabelKey(tr, 'team'), NS_TEAM);
  t.equal(legacyHostLabelKey(tr, 'app'), 'vcluster.loft.sh/label-my-vcluster-x-a172cedcae', 'vCluster <= v0.20 hashed every key');
  t.equal(legacyHostLabelKey(tr, 'release'), H_RELEASE, 'the special keys kept that form');
});

t.test('toHostLabels', async (t) => {
  const cases: Array<{
    name: string; vLabels?: Record<string, string>; vNamespace?: string; vNamespaceLabels?: Record<string, string>;
    hLabels?: Record<string, string>; expected: Record<string, string>;
  }> = [
    {
      name: 'adds the marker and namespace labels to a namespaced object',
      vLabels: { app: 'web', tier: 'frontend' }, vNamespace: 'default',
      expected: { app: 'web', tier: 'frontend', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
    {
      name: 'labels an object without labels',
      vNamespace: 'default',
      expected: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
    {
      name: 'gives a cluster-scoped object the cluster marker and no namespace label',
      vLabels: { app: 'web' }, vNamespace: '',
      expected: { app: 'web', 'vcluster.loft.sh/managed-by': 'vcluster-ns-x-my-vcluster' },
    },
    {
      name: 'hashes the special keys, so a tenant cannot pose as the control plane or another vCluster',
      vLabels: { release: 'my-vcluster', 'vcluster.loft.sh/managed-by': 'other', 'vcluster.loft.sh/namespace': 'kube-system', 'vcluster.loft.sh/controlled-by': 'vcluster' },
      vNamespace: 'default',
      expected: {
        [H_RELEASE]: 'my-vcluster', [H_MANAGED_BY]: 'other', [H_NAMESPACE]: 'kube-system', [H_CONTROLLED_BY]: 'vcluster',
        'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default',
      },
    },
    {
      name: 'drops virtual labels that carry hashed special keys or ns-label keys',
      vLabels: { app: 'web', [H_RELEASE]: 'my-vcluster', [NS_TEAM]: 'admins' },
      vNamespace: 'default',
      expected: { app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
    {
      name: 'adds the labels of the virtual namespace under ns-label keys',
      vLabels: { app: 'web' }, vNamespace: 'default',
      vNamespaceLabels: { 'kubernetes.io/metadata.name': 'default', team: 'a' },
      expected: {
        app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default',
        [NS_METADATA_NAME]: 'default', [NS_TEAM]: 'a',
      },
    },
    {
      name: 'keeps the controlled-by label the host object already has',
      vLabels: { app: 'web' }, vNamespace: 'default', hLabels: { 'vcluster.loft.sh/controlled-by': 'vcluster', other: 'x' },
      expected: {
        app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default',
        'vcluster.loft.sh/controlled-by': 'vcluster',
      },
    },
    {
      name: 'ignores an empty controlled-by label on the host',
      vNamespace: 'default', hLabels: { 'vcluster.loft.sh/controlled-by': '' },
      expected: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
    {
      name: 'never changes label values, even ones the host will refuse',
      vLabels: { long: 'v'.repeat(80), empty: '' }, vNamespace: 'default',
      expected: { long: 'v'.repeat(80), empty: '', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const vLabels = c.vLabels === undefined ? undefined : Object.freeze({ ...c.vLabels });
      t.same(toHostLabels(tr, vLabels, c.vNamespace, c.vNamespaceLabels, c.hLabels), c.expected);
    });
  }
});

t.test('toVirtualLabels', async (t) => {
  const cases: Array<{ name: string; hLabels?: Record<string, string>; expected: Record<string, string> }> = [
    { name: 'maps nothing to nothing', expected: {} },
    {
      name: 'drops the marker, namespace and ns-labels, and maps hashed keys back',
      hLabels: {
        app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default',
        'vcluster.loft.sh/controlled-by': 'vcluster', [NS_METADATA_NAME]: 'default', [H_RELEASE]: 'v1', [H_NAMESPACE]: 'n',
      },
      expected: { app: 'web', release: 'v1', 'vcluster.loft.sh/namespace': 'n' },
    },
    { name: 'drops a raw release label (on the host it is the control plane\'s)', hLabels: { release: 'my-vcluster', a: 'b' }, expected: { a: 'b' } },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.same(toVirtualLabels(tr, c.hLabels), c.expected));

  t.test('round-trips every user label through the host', async (t) => {
    const vLabels = { app: 'web', release: 'r', 'vcluster.loft.sh/managed-by': 'm', 'vcluster.loft.sh/namespace': 'n', 'vcluster.loft.sh/controlled-by': 'c' };
    t.same(toVirtualLabels(tr, toHostLabels(tr, vLabels, 'default', { team: 'a' })), vLabels);
  });
});

t.test('hostMarkerLabels', async (t) => {
  t.same(hostMarkerLabels(tr, 'prod'), { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' });
  t.same(hostMarkerLabels(tr, undefined), { 'vcluster.loft.sh/managed-by': 'vcluster-ns-x-my-vcluster' });
});

t.test('toHostSelector (Service spec.selector)', async (t) => {
  const cases: Array<{ name: string; vSelector?: Record<string, string>; vNamespace?: string; expected: Record<string, string> | undefined }> = [
    { name: 'keeps a missing selector missing (selector-less Service)', vNamespace: 'default', expected: undefined },
    {
      name: 'confines the selector to this vCluster\'s pods of the namespace',
      vSelector: { app: 'web' }, vNamespace: 'default',
      expected: { app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
    },
    { name: 'only translates keys without a namespace', vSelector: { app: 'web', release: 'x' }, expected: { app: 'web', [H_RELEASE]: 'x' } },
    {
      name: 'hashes a special key in the selector, matching the hashed pod label',
      vSelector: { release: 'stable' }, vNamespace: 'prod',
      expected: { [H_RELEASE]: 'stable', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' },
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.same(toHostSelector(tr, c.vSelector, c.vNamespace), c.expected));

  t.test('maps a host selector back without the implicit keys', async (t) => {
    t.same(toVirtualSelector(tr, { app: 'web', [H_RELEASE]: 'x', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'd' }),
      { app: 'web', release: 'x' });
    t.equal(toVirtualSelector(tr, undefined), undefined);
  });
});

t.test('toHostLabelSelector', async (t) => {
  const cases: Array<{ name: string; vSel?: LabelSelector; vNamespace?: string; expected: LabelSelector | undefined }> = [
    { name: 'keeps a missing selector missing (it matches nothing)', vNamespace: 'default', expected: undefined },
    {
      name: 'turns an empty selector into one for this vCluster\'s pods of the namespace',
      vSel: {}, vNamespace: 'default',
      expected: { matchLabels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' } },
    },
    {
      name: 'translates keys of every operator and keeps operators and values',
      vSel: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'release', operator: 'In', values: ['a', 'b'] },
          { key: 'tier', operator: 'NotIn', values: ['cache'] },
          { key: 'vcluster.loft.sh/managed-by', operator: 'Exists' },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      },
      vNamespace: 'prod',
      expected: {
        matchLabels: { app: 'web', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' },
        matchExpressions: [
          { key: H_RELEASE, operator: 'In', values: ['a', 'b'] },
          { key: 'tier', operator: 'NotIn', values: ['cache'] },
          { key: H_MANAGED_BY, operator: 'Exists' },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      },
    },
    {
      name: 'adds no marker without a namespace',
      vSel: { matchExpressions: [{ key: 'vcluster.loft.sh/namespace', operator: 'In', values: ['x'] }] },
      expected: { matchExpressions: [{ key: H_NAMESPACE, operator: 'In', values: ['x'] }] },
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.same(toHostLabelSelector(tr, c.vSel, c.vNamespace), c.expected));

  t.test('copies values instead of sharing the input array', async (t) => {
    const values = ['a'];
    const got = toHostLabelSelector(tr, { matchExpressions: [{ key: 'k', operator: 'In', values }] });
    t.not(got?.matchExpressions?.[0]?.values, values);
  });
});

t.test('toHostNamespaceSelector turns a namespaceSelector into ns-label pod selectors', async (t) => {
  t.same(toHostNamespaceSelector(tr, {
    matchLabels: { 'kubernetes.io/metadata.name': 'prod' },
    matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['b'] }],
  }), {
    matchLabels: { [NS_METADATA_NAME]: 'prod' },
    matchExpressions: [{ key: NS_TEAM, operator: 'NotIn', values: ['b'] }],
  });
  t.same(toHostNamespaceSelector(tr, {}), {}, 'an empty namespaceSelector (all namespaces) adds no requirement');
  t.equal(toHostNamespaceSelector(tr, undefined), undefined);
});

t.test('mergeLabelSelectors ANDs selectors', async (t) => {
  t.same(mergeLabelSelectors(
    { matchLabels: { a: '1' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] },
    undefined,
    { matchLabels: { b: '2' }, matchExpressions: [{ key: 'y', operator: 'DoesNotExist' }] },
  ), {
    matchLabels: { a: '1', b: '2' },
    matchExpressions: [{ key: 'x', operator: 'Exists' }, { key: 'y', operator: 'DoesNotExist' }],
  });
  t.same(mergeLabelSelectors(undefined, {}), {}, 'nothing to AND gives the empty selector');
});

t.test('labelsAnnotationValue (vcluster.loft.sh/labels)', async (t) => {
  const cases: Array<{ name: string; vLabels?: Record<string, string>; expected: string }> = [
    { name: 'is empty without labels', expected: '' },
    {
      name: 'writes sorted key="value" lines',
      vLabels: { 'pod-template-hash': '84cd76b964', app: 'nginx-deployment' },
      expected: 'app="nginx-deployment"\npod-template-hash="84cd76b964"',
    },
    {
      name: 'sorts whole lines bytewise, as vCluster does ("a.b=" before "a=")',
      vLabels: { a: '1', 'a.b': '2', 'a-b': '3' },
      expected: 'a-b="3"\na.b="2"\na="1"',
    },
    {
      name: 'escapes values the way Go\'s encoding/json does',
      vLabels: { k: 'say "hi" \\ <b> & \n\u2028' },
      expected: 'k="say \\"hi\\" \\\\ \\u003cb\\u003e \\u0026 \\n\\u2028"',
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(labelsAnnotationValue(c.vLabels), c.expected));
});
