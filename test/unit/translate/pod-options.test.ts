import t from 'tap';
import { DEFAULT_POD_TRANSLATE_OPTIONS, podTranslateOptions, type PodTranslateOptionsInput } from '../../../src/translate/pod.ts';

t.test('the defaults are vCluster\'s', async (t) => {
  t.strictSame(podTranslateOptions(), {
    rewriteHosts: {
      enabled: true,
      initContainer: {
        image: 'mirror.gcr.io/library/alpine:3.20',
        resources: { limits: { cpu: '30m', memory: '64Mi' }, requests: { cpu: '30m', memory: '64Mi' } },
        runAsUser: 1001,
        runAsGroup: 1001,
      },
    },
    translateImage: {},
    enforceTolerations: [],
    useSecretsForSATokens: false,
    runtimeClassName: '',
    priorityClassName: '',
    clusterDomain: 'cluster.local',
    workloadServiceAccount: '',
    syncServiceAccounts: false,
    priorityClasses: { toHost: false, fromHost: false },
    virtualScheduler: false,
    nodeSelectorLabels: {},
    syncResourceClaims: false,
  });
  t.ok(Object.isFrozen(DEFAULT_POD_TRANSLATE_OPTIONS.rewriteHosts.initContainer.resources), 'the shared defaults cannot be edited');
});

t.test('a partial rewriteHosts section keeps the other defaults', async (t) => {
  const o = podTranslateOptions({ rewriteHosts: { initContainer: { image: 'registry.internal/alpine:3.20' } } });
  t.equal(o.rewriteHosts.enabled, true);
  t.equal(o.rewriteHosts.initContainer.image, 'registry.internal/alpine:3.20');
  t.equal(o.rewriteHosts.initContainer.runAsUser, 1001);
});

t.test('a field given as undefined takes its default', async (t) => {
  const o = podTranslateOptions({ clusterDomain: undefined, rewriteHosts: { initContainer: { image: undefined } } });
  t.equal(o.clusterDomain, 'cluster.local');
  t.equal(o.rewriteHosts.initContainer.image, 'mirror.gcr.io/library/alpine:3.20');
});

t.test('invalid options name the config field', async (t) => {
  const cases: Array<{ name: string; input: PodTranslateOptionsInput; error: RegExp }> = [
    {
      name: 'refuses an empty init container image while rewriteHosts is on',
      input: { rewriteHosts: { initContainer: { image: '' } } },
      error: /^invalid configuration: sync\.toHost\.pods\.rewriteHosts\.initContainer\.image: must not be empty/,
    },
    {
      name: 'refuses running the non-root init container as root',
      input: { rewriteHosts: { initContainer: { runAsUser: 0 } } },
      error: /sync\.toHost\.pods\.rewriteHosts\.initContainer\.runAsUser: must be a positive integer .*, not 0$/,
    },
    {
      name: 'refuses a fractional group id',
      input: { rewriteHosts: { initContainer: { runAsGroup: 1.5 } } },
      error: /initContainer\.runAsGroup: must be a positive integer/,
    },
    {
      name: 'refuses an enforced toleration that does not parse',
      input: { enforceTolerations: ['a:b:c'] },
      error: /sync\.toHost\.pods\.enforceTolerations\[0\]: "a:b:c" is not a toleration/,
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.throws(() => podTranslateOptions(c.input), c.error));

  t.test('accepts an empty image while rewriteHosts is off', async (t) => {
    t.doesNotThrow(() => podTranslateOptions({ rewriteHosts: { enabled: false, initContainer: { image: '' } } }));
  });
});
