import t from 'tap';
import { VcnetError } from '../../../src/errors.ts';
import { parseToleration, podToHost, podTranslateOptions } from '../../../src/translate/pod.ts';
import type { Affinity, PodAffinityTerm, Toleration, TopologySpreadConstraint } from '../../../src/translate/pod-types.ts';
import { deepFreeze, H_RELEASE, NS_TEAM, podFacts, tr, virtualPod } from '../../fixtures/pods/index.ts';

const MARKER = { 'vcluster.loft.sh/managed-by': 'my-vcluster' };
const SAME_NS = { 'vcluster.loft.sh/namespace': 'shop' };

function hostAffinity(affinity: Affinity): { affinity: unknown; warnings: readonly string[] } {
  const r = podToHost(tr, deepFreeze(virtualPod({ spec: { affinity } })), podFacts(), podTranslateOptions());
  return { affinity: r.hPod.spec.affinity, warnings: r.warnings };
}

t.test('pod affinity terms', async (t) => {
  const cases: Array<{ name: string; term: PodAffinityTerm; expected: PodAffinityTerm; warning?: RegExp }> = [
    {
      name: 'confines a term without namespaces to the pod\'s virtual namespace and this vCluster',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } } },
      expected: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db', ...SAME_NS, ...MARKER } } },
    },
    {
      name: 'translates the special keys of the label selector',
      term: { topologyKey: 'zone', labelSelector: { matchExpressions: [{ key: 'release', operator: 'In', values: ['a', 'b'] }] } },
      expected: {
        topologyKey: 'zone',
        labelSelector: { matchLabels: { ...SAME_NS, ...MARKER }, matchExpressions: [{ key: H_RELEASE, operator: 'In', values: ['a', 'b'] }] },
      },
    },
    {
      name: 'matches the listed namespaces through the namespace label',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } }, namespaces: ['shop', 'billing'] },
      expected: {
        topologyKey: 'zone',
        labelSelector: {
          matchLabels: { app: 'db', ...MARKER },
          matchExpressions: [{ key: 'vcluster.loft.sh/namespace', operator: 'In', values: ['shop', 'billing'] }],
        },
      },
    },
    {
      name: 'turns a namespaceSelector into a selector on the namespace labels copied to pods',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } }, namespaceSelector: { matchLabels: { team: 'payments' } } },
      expected: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db', [NS_TEAM]: 'payments', ...MARKER } } },
    },
    {
      name: 'matches every namespace of this vCluster for an empty namespaceSelector',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } }, namespaceSelector: {} },
      expected: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db', ...MARKER } } },
    },
    {
      name: 'matches every namespace for namespaces with an empty namespaceSelector',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } }, namespaces: ['shop'], namespaceSelector: {} },
      expected: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db', ...MARKER } } },
    },
    {
      name: 'ignores the namespaceSelector of a term that also lists namespaces, and warns',
      term: { topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } }, namespaces: ['shop'], namespaceSelector: { matchLabels: { team: 'x' } } },
      expected: {
        topologyKey: 'zone',
        labelSelector: { matchLabels: { app: 'db', ...MARKER }, matchExpressions: [{ key: 'vcluster.loft.sh/namespace', operator: 'In', values: ['shop'] }] },
      },
      warning: /both namespaces and namespaceSelector is not supported; its namespaceSelector is ignored and only the namespaces shop are matched/,
    },
    {
      name: 'keeps a term without label selector matching nothing',
      term: { topologyKey: 'zone', namespaces: ['shop'] },
      expected: { topologyKey: 'zone' },
    },
    {
      name: 'drops matchLabelKeys, which the virtual API server already merged into the selector',
      term: {
        topologyKey: 'zone',
        labelSelector: { matchExpressions: [{ key: 'pod-template-hash', operator: 'In', values: ['abc'] }] },
        matchLabelKeys: ['pod-template-hash'],
      },
      expected: {
        topologyKey: 'zone',
        labelSelector: { matchLabels: { ...SAME_NS, ...MARKER }, matchExpressions: [{ key: 'pod-template-hash', operator: 'In', values: ['abc'] }] },
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const affinity: Affinity = {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [c.term] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: c.term }] },
      };
      const r = hostAffinity(affinity);
      t.strictSame(r.affinity, {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [c.expected] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: c.expected }] },
      });
      if (c.warning === undefined) t.strictSame(r.warnings, []);
      else {
        t.equal(r.warnings.length, 2, 'one warning per term');
        t.match(r.warnings[0], c.warning);
      }
    });
  }

  t.test('leaves node affinity as it is: host and virtual nodes are the same', async (t) => {
    const nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } };
    t.strictSame(hostAffinity({ nodeAffinity }).affinity, { nodeAffinity });
  });
});

t.test('topology spread constraints', async (t) => {
  const cases: Array<{ name: string; constraint: TopologySpreadConstraint; expected: TopologySpreadConstraint }> = [
    {
      name: 'confines the selector to the pod\'s virtual namespace and this vCluster',
      constraint: { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web', release: 'v2' } } },
      expected: {
        maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { app: 'web', [H_RELEASE]: 'v2', ...MARKER, ...SAME_NS } },
      },
    },
    {
      name: 'translates matchLabelKeys, which name labels of the pod itself',
      constraint: { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: {}, matchLabelKeys: ['pod-template-hash', 'release'] },
      expected: {
        maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { ...MARKER, ...SAME_NS } }, matchLabelKeys: ['pod-template-hash', H_RELEASE],
      },
    },
    {
      name: 'keeps a constraint without selector as it is',
      constraint: { maxSkew: 2, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', minDomains: 3 },
      expected: { maxSkew: 2, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', minDomains: 3 },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const r = podToHost(tr, deepFreeze(virtualPod({ spec: { topologySpreadConstraints: [c.constraint] } })), podFacts(), podTranslateOptions());
      t.strictSame(r.hPod.spec.topologySpreadConstraints, [c.expected]);
    });
  }
});

t.test('enforced toleration syntax', async (t) => {
  const cases: Array<{ name: string; spec: string; expected?: Toleration; error?: RegExp }> = [
    { name: 'reads key=value:Effect as Equal', spec: 'tenant=blue:NoSchedule', expected: { key: 'tenant', operator: 'Equal', value: 'blue', effect: 'NoSchedule' } },
    { name: 'reads key:Effect as Exists', spec: 'example.com/gpu:NoExecute', expected: { key: 'example.com/gpu', operator: 'Exists', effect: 'NoExecute' } },
    { name: 'reads key=value as Equal for every effect', spec: 'tenant=blue', expected: { key: 'tenant', operator: 'Equal', value: 'blue' } },
    { name: 'reads a bare key as Exists for every effect (vCluster: Equal to an empty value)', spec: 'dedicated', expected: { key: 'dedicated', operator: 'Exists' } },
    { name: 'reads key= as Equal to the empty value', spec: 'tenant=:PreferNoSchedule', expected: { key: 'tenant', operator: 'Equal', value: '', effect: 'PreferNoSchedule' } },
    { name: 'reads * as tolerate everything', spec: '*', expected: { operator: 'Exists' } },
    { name: 'refuses an unknown effect', spec: 'tenant=blue:NoRun', error: /effect must be NoSchedule, PreferNoSchedule or NoExecute, not "NoRun"/ },
    { name: 'refuses two colons', spec: 'a:b:NoSchedule', error: /more than one ":"/ },
    { name: 'refuses two equals signs', spec: 'a=b=c', error: /more than one "="/ },
    { name: 'refuses an empty key', spec: '=blue:NoSchedule', error: /"" is not a valid label key/ },
    { name: 'refuses an invalid value', spec: 'tenant=has space', error: /"has space" is not a valid label value/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      if (c.error === undefined) {
        t.strictSame(parseToleration(c.spec), c.expected);
        return;
      }
      const err = t.throws(() => parseToleration(c.spec, 'sync.toHost.pods.enforceTolerations[3]')) as unknown;
      t.ok(err instanceof VcnetError && err.code === 'VCN_ERR_CONFIG_INVALID', 'a config error');
      t.match((err as Error).message, /^invalid configuration: sync\.toHost\.pods\.enforceTolerations\[3\]: /);
      t.match((err as Error).message, c.error);
    });
  }

  t.test('refuses a bad enforced toleration when the options are built, naming its index', async (t) => {
    t.throws(() => podTranslateOptions({ enforceTolerations: ['ok:NoSchedule', 'bad:Never'] }), /enforceTolerations\[1\]: "bad:Never"/);
  });
});
