import t from 'tap';
import {
  podToHost, podTranslateOptions, SA_TOKEN_EXPIRATION_SECONDS, serviceAccountTokenRequests,
} from '../../../src/translate/pod.ts';
import type { Pod, Volume } from '../../../src/translate/pod-types.ts';
import { H_RELEASE, podFacts, tr, virtualPod, runPodCases, type PodCase } from '../../fixtures/pods/index.ts';


const withVolumes = (...volumes: Volume[]): Pod => virtualPod({ spec: { volumes } });
const h = (name: string): string => `${name}-x-shop-x-my-vcluster`;
// Token annotation suffixes are the first 8 hex characters of SHA-256("<volume>/<source index>"):
// `printf 'kube-api-access-x/0' | sha256sum` starts with 319654b0.
const tokenSource = (path = 'token', audience?: string) => ({ serviceAccountToken: { path, expirationSeconds: 3607, ...(audience === undefined ? {} : { audience }) } });

const cases: PodCase[] = [
  {
    name: 'translates every name a volume gives, keeps cluster-scoped sources, and reports each object once',
    virtual: withVolumes(
      { name: 'cm', configMap: { name: 'settings', defaultMode: 420 } },
      { name: 'sec', secret: { secretName: 'creds', optional: true } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
      { name: 'proj', projected: { sources: [{ secret: { name: 'creds' } }, { configMap: { name: 'extra', items: [{ key: 'k', path: 'p' }] } }, { clusterTrustBundle: { signerName: 'example.com/ca', path: 'ca.pem' } }] } },
      { name: 'iscsi', iscsi: { targetPortal: '10.0.0.1:3260', iqn: 'iqn', lun: 0, secretRef: { name: 'chap' } } },
      { name: 'rbd', rbd: { monitors: ['m'], image: 'i', secretRef: { name: 'ceph' } } },
      { name: 'flex', flexVolume: { driver: 'd', secretRef: { name: 'flex' } } },
      { name: 'cinder', cinder: { volumeID: 'v', secretRef: { name: 'openstack' } } },
      { name: 'cephfs', cephfs: { monitors: ['m'], secretRef: { name: 'ceph' } } },
      { name: 'scaleio', scaleIO: { gateway: 'g', system: 's', secretRef: { name: 'scaleio' } } },
      { name: 'storageos', storageos: { volumeName: 'v', secretRef: { name: 'storageos' } } },
      { name: 'azure', azureFile: { secretName: 'azure', shareName: 'share' } },
      { name: 'csi', csi: { driver: 'secrets-store.csi.k8s.io', nodePublishSecretRef: { name: 'csi-creds' } } },
      { name: 'gluster', glusterfs: { endpoints: 'gluster', path: 'vol' } },
      { name: 'scratch', emptyDir: {} },
    ),
    expected: {
      'hPod.spec.volumes': [
        { name: 'cm', configMap: { name: h('settings'), defaultMode: 420 } },
        { name: 'sec', secret: { secretName: h('creds'), optional: true } },
        { name: 'data', persistentVolumeClaim: { claimName: h('data'), readOnly: true } },
        { name: 'proj', projected: { sources: [{ secret: { name: h('creds') } }, { configMap: { name: h('extra'), items: [{ key: 'k', path: 'p' }] } }, { clusterTrustBundle: { signerName: 'example.com/ca', path: 'ca.pem' } }] } },
        { name: 'iscsi', iscsi: { targetPortal: '10.0.0.1:3260', iqn: 'iqn', lun: 0, secretRef: { name: h('chap') } } },
        { name: 'rbd', rbd: { monitors: ['m'], image: 'i', secretRef: { name: h('ceph') } } },
        { name: 'flex', flexVolume: { driver: 'd', secretRef: { name: h('flex') } } },
        { name: 'cinder', cinder: { volumeID: 'v', secretRef: { name: h('openstack') } } },
        { name: 'cephfs', cephfs: { monitors: ['m'], secretRef: { name: h('ceph') } } },
        { name: 'scaleio', scaleIO: { gateway: 'g', system: 's', secretRef: { name: h('scaleio') } } },
        { name: 'storageos', storageos: { volumeName: 'v', secretRef: { name: h('storageos') } } },
        { name: 'azure', azureFile: { secretName: h('azure'), shareName: 'share' } },
        { name: 'csi', csi: { driver: 'secrets-store.csi.k8s.io', nodePublishSecretRef: { name: h('csi-creds') } } },
        { name: 'gluster', glusterfs: { endpoints: h('gluster'), path: 'vol' } },
        { name: 'scratch', emptyDir: {} },
      ],
      'references': [
        ['ConfigMap', 'settings'], ['Secret', 'creds'], ['PersistentVolumeClaim', 'data'], ['ConfigMap', 'extra'],
        ['Secret', 'chap'], ['Secret', 'ceph'], ['Secret', 'flex'], ['Secret', 'openstack'], ['Secret', 'scaleio'],
        ['Secret', 'storageos'], ['Secret', 'azure'], ['Secret', 'csi-creds'], ['Endpoints', 'gluster'],
      ].map(([kind, name]) => ({
        kind, virtual: { name, namespace: 'shop' }, host: { name: h(name as string), namespace: 'vcluster-ns' },
      })),
    },
  },
  {
    name: 'points an ephemeral volume at the PVC <pod>-<volume> the virtual cluster creates for it',
    virtual: withVolumes({ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } }),
    expected: {
      'hPod.spec.volumes': [{ name: 'scratch', persistentVolumeClaim: { claimName: h('web-0-scratch') } }],
      'references': [{ kind: 'PersistentVolumeClaim', virtual: { name: 'web-0-scratch', namespace: 'shop' }, host: { name: h('web-0-scratch'), namespace: 'vcluster-ns' } }],
    },
  },
  {
    name: 'rewrites the downward API paths of a downwardAPI volume',
    virtual: withVolumes({
      name: 'info',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'release', fieldRef: { fieldPath: "metadata.labels['release']" } },
          { path: 'cpu', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu' } },
        ],
      },
    }),
    expected: {
      'hPod.spec.volumes.0.downwardAPI.items': [
        { path: 'labels', fieldRef: { fieldPath: "metadata.annotations['vcluster.loft.sh/labels']" } },
        { path: 'release', fieldRef: { fieldPath: `metadata.labels['${H_RELEASE}']` } },
        { path: 'cpu', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu' } },
      ],
    },
  },
  {
    name: 'stores a projected service-account token in an annotation and reads it through the downward API',
    virtual: withVolumes({ name: 'kube-api-access-x', projected: { sources: [tokenSource()], defaultMode: 420 } }),
    facts: { serviceAccountTokens: { 'kube-api-access-x/0': 'tok-0' } },
    expected: {
      'hPod.spec.volumes.0': {
        name: 'kube-api-access-x',
        projected: {
          sources: [{ downwardAPI: { items: [{ path: 'token', fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['vcluster.loft.sh/token-319654b0']" }, mode: 0o644 }] } }],
          defaultMode: 420,
        },
      },
      'hPod.metadata.annotations["vcluster.loft.sh/token-319654b0"]': 'tok-0',
      'tokenSecret': undefined,
    },
  },
  {
    name: 'gives two token sources of one volume two annotations',
    virtual: withVolumes({ name: 'tokens', projected: { sources: [tokenSource('a'), tokenSource('b', 'vault')] } }),
    facts: { serviceAccountTokens: { 'tokens/0': 'tok-a', 'tokens/1': 'tok-b' } },
    expected: {
      'hPod.spec.volumes.0.projected.sources.0.downwardAPI.items.0.fieldRef.fieldPath': "metadata.annotations['vcluster.loft.sh/token-067eb9ae']",
      'hPod.spec.volumes.0.projected.sources.1.downwardAPI.items.0.fieldRef.fieldPath': "metadata.annotations['vcluster.loft.sh/token-46c619eb']",
      'hPod.metadata.annotations["vcluster.loft.sh/token-067eb9ae"]': 'tok-a',
      'hPod.metadata.annotations["vcluster.loft.sh/token-46c619eb"]': 'tok-b',
    },
  },
  {
    name: 'stores the tokens in the pod\'s token Secret with useSecretsForSATokens',
    virtual: withVolumes(
      { name: 'kube-api-access-x', projected: { sources: [tokenSource(), { configMap: { name: 'kube-root-ca.crt' } }] } },
      { name: 'vault', projected: { sources: [tokenSource('jwt', 'vault'), tokenSource('jwt2', 'other')] } },
    ),
    facts: { serviceAccountTokens: { 'kube-api-access-x/0': 'tok-0', 'vault/0': 'tok-v', 'vault/1': 'tok-w' } },
    options: { useSecretsForSATokens: true },
    expected: {
      'hPod.spec.volumes.0.projected.sources': [
        { secret: { name: h('web-0-sa-token'), items: [{ key: 'kube-api-access-x', path: 'token', mode: 0o644 }] } },
        { configMap: { name: h('kube-root-ca.crt') } },
      ],
      'hPod.spec.volumes.1.projected.sources': [
        { secret: { name: h('web-0-sa-token'), items: [{ key: 'vault', path: 'jwt', mode: 0o644 }] } },
        { secret: { name: h('web-0-sa-token'), items: [{ key: 'vault.1', path: 'jwt2', mode: 0o644 }] } },
      ],
      'tokenSecret': { name: h('web-0-sa-token'), namespace: 'vcluster-ns', stringData: { 'kube-api-access-x': 'tok-0', vault: 'tok-v', 'vault.1': 'tok-w' } },
      'references': [{ kind: 'ConfigMap', virtual: { name: 'kube-root-ca.crt', namespace: 'shop' }, host: { name: h('kube-root-ca.crt'), namespace: 'vcluster-ns' } }],
    },
  },
];

runPodCases(t, cases);

t.test('keeps token annotation keys stable, so a re-translation does not add new ones', async (t) => {
  const vPod = withVolumes({ name: 'kube-api-access-x', projected: { sources: [tokenSource()] } });
  const keys = (token: string): string[] => Object.keys(
    podToHost(tr, vPod, podFacts({ serviceAccountTokens: { 'kube-api-access-x/0': token } }), podTranslateOptions()).hPod.metadata.annotations ?? {},
  ).filter((k) => k.startsWith('vcluster.loft.sh/token-'));
  t.strictSame(keys('first'), keys('renewed'));
  t.equal(keys('first').length, 1);
});

t.test('refuses to translate a token volume whose token the caller did not obtain', async (t) => {
  const vPod = withVolumes({ name: 'kube-api-access-x', projected: { sources: [tokenSource()] } });
  t.throws(() => podToHost(tr, vPod, podFacts(), podTranslateOptions()), /facts\.serviceAccountTokens\["kube-api-access-x\/0"\] is missing/);
});

t.test('service-account token requests', async (t) => {
  const cases: Array<{ name: string; virtual: Pod; clusterDomain?: string; expected: unknown }> = [
    {
      name: 'asks for the pod\'s service account, bound to the virtual pod, for the virtual API server\'s audiences, for 10 years',
      virtual: virtualPod({ spec: { serviceAccountName: 'builder', volumes: [{ name: 'kube-api-access-x', projected: { sources: [tokenSource()] } }] } }),
      expected: [{
        key: 'kube-api-access-x/0',
        serviceAccountName: 'builder',
        audiences: ['https://kubernetes.default.svc.cluster.local', 'https://kubernetes.default.svc', 'https://kubernetes.default'],
        expirationSeconds: 315_360_000,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'uid-web-0' },
      }],
    },
    {
      name: 'asks for the requested audience only, and for the default service account when the pod names none',
      virtual: virtualPod({ spec: { serviceAccountName: undefined, volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'x' } }, tokenSource('t', 'vault')] } }] } }),
      expected: [{
        key: 'v/1', serviceAccountName: 'default', audiences: ['vault'], expirationSeconds: SA_TOKEN_EXPIRATION_SECONDS,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'uid-web-0' },
      }],
    },
    {
      name: 'leaves the cluster domain out of the default audiences when it is empty',
      virtual: withVolumes({ name: 'v', projected: { sources: [tokenSource()] } }),
      clusterDomain: '',
      expected: ['https://kubernetes.default.svc', 'https://kubernetes.default'],
    },
    {
      name: 'asks for nothing when the pod has no token volume',
      virtual: withVolumes({ name: 'cm', configMap: { name: 'x' } }),
      expected: [],
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const reqs = serviceAccountTokenRequests(c.virtual, c.clusterDomain ?? 'cluster.local');
      t.strictSame(c.clusterDomain === undefined ? reqs : reqs[0]?.audiences, c.expected);
    });
  }
});
