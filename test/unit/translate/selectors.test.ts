import t from 'tap';
import { Translator } from '../../../src/translate/names.ts';
import { hostEndpointSliceSelector, hostMarkerSelector } from '../../../src/translate/selectors.ts';
import * as translate from '../../../src/translate/index.ts';

t.test('host label selectors', async (t) => {
  const cases: Array<{ name: string; tr: Translator; marker: string; slices: string }> = [
    {
      name: 'the marker names the vCluster, without a namespace label (every virtual namespace)',
      tr: new Translator({ vcluster: 'my-vcluster', hostNamespace: 'vcluster-ns' }),
      marker: 'vcluster.loft.sh/managed-by=my-vcluster',
      slices: 'vcluster.loft.sh/managed-by=my-vcluster,endpointslice.kubernetes.io/managed-by=vcnet.dev',
    },
    {
      name: 'the host namespace does not enter the selector (the watch is namespaced instead)',
      tr: new Translator({ vcluster: 'vc', hostNamespace: 'team-a' }),
      marker: 'vcluster.loft.sh/managed-by=vc',
      slices: 'vcluster.loft.sh/managed-by=vc,endpointslice.kubernetes.io/managed-by=vcnet.dev',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(hostMarkerSelector(c.tr), c.marker, 'hostMarkerSelector');
      t.equal(hostEndpointSliceSelector(c.tr), c.slices, 'hostEndpointSliceSelector');
    });
  }
});

t.test('the translate index exports the selectors', async (t) => {
  for (const name of ['hostMarkerSelector', 'hostEndpointSliceSelector']) {
    t.type((translate as Record<string, unknown>)[name], 'function', name);
  }
});
