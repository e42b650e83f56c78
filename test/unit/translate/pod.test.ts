import t from 'tap';
import {
  ephemeralContainerToHost, isPodOwnedAnnotation, podToHost, podTranslateOptions, virtualPodOf,
} from '../../../src/translate/pod.ts';
import {
  deepFreeze, H_RELEASE, loadPod, NS_METADATA_NAME, NS_TEAM, podFacts, runPodCases, tr, virtualPod, type PodCase,
} from '../../fixtures/pods/index.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.virtual-token';

t.test('translates a Deployment pod into the host pod vcnet creates', async (t) => {
  const vPod = deepFreeze(loadPod('deployment-pod.json'));
  const r = podToHost(tr, vPod, podFacts({ serviceAccountTokens: { 'kube-api-access-8fq2m/0': TOKEN } }), podTranslateOptions());
  t.strictSame(r.hPod, loadPod('deployment-pod.host.json'));
  t.strictSame(r.references.map((ref) => `${ref.kind} ${ref.virtual.namespace}/${ref.virtual.name} -> ${ref.host.namespace}/${ref.host.name}`), [
    'ConfigMap shop/web-config -> vcluster-ns/web-config-x-shop-x-my-vcluster',
    'Secret shop/web-tls -> vcluster-ns/web-tls-x-shop-x-my-vcluster',
    'ConfigMap shop/kube-root-ca.crt -> vcluster-ns/kube-root-ca.crt-x-shop-x-my-vcluster',
    'Secret shop/db -> vcluster-ns/db-x-shop-x-my-vcluster',
    'ConfigMap shop/web-env -> vcluster-ns/web-env-x-shop-x-my-vcluster',
    'Secret shop/registry -> vcluster-ns/registry-x-shop-x-my-vcluster',
  ]);
  t.strictSame(r.warnings, []);
  t.equal(r.tokenSecret, undefined);
});


const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5c9', uid: 'rs-uid', controller: true, blockOwnerDeletion: true };

const cases: PodCase[] = [
  // Identity and metadata
  {
    name: 'names the host pod <name>-x-<namespace>-x-<vcluster> in the host namespace',
    virtual: virtualPod(),
    expected: { 'hPod.metadata.name': 'web-0-x-shop-x-my-vcluster', 'hPod.metadata.namespace': 'vcluster-ns' },
  },
  {
    name: 'copies the virtual namespace labels onto the pod under ns-label keys',
    virtual: virtualPod(),
    expected: {
      [`hPod.metadata.labels["${NS_METADATA_NAME}"]`]: 'shop',
      [`hPod.metadata.labels["${NS_TEAM}"]`]: 'payments',
      'hPod.metadata.labels["vcluster.loft.sh/managed-by"]': 'my-vcluster',
      'hPod.metadata.labels["vcluster.loft.sh/namespace"]': 'shop',
    },
  },
  {
    name: 'hashes a release label so a tenant pod cannot pose as the vCluster control plane',
    virtual: virtualPod({ metadata: { labels: { release: 'my-vcluster' } } }),
    expected: { 'hPod.metadata.labels.release': undefined, [`hPod.metadata.labels["${H_RELEASE}"]`]: 'my-vcluster' },
  },
  {
    name: 'writes the virtual name, namespace, uid and service account for the downward API',
    virtual: virtualPod({ spec: { serviceAccountName: 'builder' } }),
    expected: {
      'hPod.metadata.annotations["vcluster.loft.sh/name"]': 'web-0',
      'hPod.metadata.annotations["vcluster.loft.sh/namespace"]': 'shop',
      'hPod.metadata.annotations["vcluster.loft.sh/uid"]': 'uid-web-0',
      'hPod.metadata.annotations["vcluster.loft.sh/service-account-name"]': 'builder',
    },
  },
  {
    name: 'ignores the pod annotations a virtual pod sets for itself, so the downward API cannot be made to lie',
    virtual: virtualPod({
      metadata: {
        annotations: {
          'vcluster.loft.sh/name': 'someone-else', 'vcluster.loft.sh/uid': 'forged', 'vcluster.loft.sh/token-aaaaaaaa': 'stolen',
          'vcluster.loft.sh/hosts-rewritten': 'true', 'team/owner': 'payments',
        },
      },
    }),
    expected: {
      'hPod.metadata.annotations["vcluster.loft.sh/name"]': 'web-0',
      'hPod.metadata.annotations["vcluster.loft.sh/uid"]': 'uid-web-0',
      'hPod.metadata.annotations["vcluster.loft.sh/token-aaaaaaaa"]': undefined,
      'hPod.metadata.annotations["vcluster.loft.sh/hosts-rewritten"]': undefined,
      'hPod.metadata.annotations["team/owner"]': 'payments',
      'hPod.metadata.annotations["vcluster.loft.sh/managed-annotations"]': 'team/owner',
    },
  },
  {
    name: 'records the virtual labels as sorted lines of JSON-escaped values',
    virtual: virtualPod({ metadata: { labels: { b: 'x"y', a: 'plain' } } }),
    expected: { 'hPod.metadata.annotations["vcluster.loft.sh/labels"]': 'a="plain"\nb="x\\"y"' },
  },
  {
    name: 'keeps the virtual owner references as JSON and names the owning ReplicaSet kind',
    virtual: virtualPod({ metadata: { ownerReferences: [rs] } }),
    expected: {
      'hPod.metadata.annotations["vcluster.loft.sh/owner-references"]':
        '[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5c9","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}]',
      'hPod.metadata.annotations["vcluster.loft.sh/owner-set-kind"]': 'ReplicaSet',
      'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"]': 'true',
      'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/daemonset-pod"]': undefined,
      'hPod.metadata.ownerReferences': undefined,
    },
  },
  {
    name: 'names a Job owner kind too (vCluster only accepts apps/v1 owners, so Job never shows there)',
    virtual: virtualPod({ metadata: { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', uid: 'job-uid', controller: true }] } }),
    expected: { 'hPod.metadata.annotations["vcluster.loft.sh/owner-set-kind"]': 'Job' },
  },
  {
    name: 'marks a DaemonSet pod for the cluster autoscaler',
    virtual: virtualPod({ metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-uid', controller: true }] } }),
    expected: {
      'hPod.metadata.annotations["vcluster.loft.sh/owner-set-kind"]': 'DaemonSet',
      'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/daemonset-pod"]': 'true',
      'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"]': 'true',
    },
  },
  {
    name: 'marks a pod without a controller as not safe to evict and writes no owner annotations',
    virtual: virtualPod(),
    expected: {
      'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"]': 'false',
      'hPod.metadata.annotations["vcluster.loft.sh/owner-references"]': undefined,
      'hPod.metadata.annotations["vcluster.loft.sh/owner-set-kind"]': undefined,
    },
  },
  {
    name: 'keeps a safe-to-evict annotation the virtual pod sets itself',
    virtual: virtualPod({ metadata: { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' } } }),
    expected: { 'hPod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"]': 'true' },
  },
  {
    name: 'makes the vCluster host Service the owner when setOwner provides it',
    virtual: virtualPod({ metadata: { ownerReferences: [rs] } }),
    facts: { owner: { apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'svc-uid' } },
    expected: { 'hPod.metadata.ownerReferences': [{ apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'svc-uid', controller: true }] },
  },
  {
    name: 'leaves the status empty',
    virtual: { ...virtualPod(), status: { phase: 'Running', podIP: '10.244.1.5' } },
    expected: { 'hPod.status': undefined },
  },
  // Fields forced or stripped
  {
    name: 'runs the host pod as the workload service account, without a token and without service links',
    virtual: virtualPod({ spec: { serviceAccountName: 'builder', serviceAccount: 'builder', automountServiceAccountToken: true } }),
    expected: {
      'hPod.spec.serviceAccountName': 'vc-workload-my-vcluster',
      'hPod.spec.serviceAccount': undefined,
      'hPod.spec.automountServiceAccountToken': false,
      'hPod.spec.enableServiceLinks': false,
    },
  },
  {
    name: 'uses the configured workload service account name',
    virtual: virtualPod(),
    options: { workloadServiceAccount: 'tenant-workloads' },
    expected: { 'hPod.spec.serviceAccountName': 'tenant-workloads' },
  },
  {
    name: 'runs the host pod as the translated virtual service account when service accounts are synced',
    virtual: virtualPod({ spec: { serviceAccountName: 'builder' } }),
    options: { syncServiceAccounts: true },
    expected: { 'hPod.spec.serviceAccountName': 'builder-x-shop-x-my-vcluster' },
  },
  {
    name: 'drops the virtual priority class, priority and preemption policy when priority classes are not synced',
    virtual: virtualPod({ spec: { priorityClassName: 'high', priority: 1000, preemptionPolicy: 'Never' } }),
    expected: { 'hPod.spec.priorityClassName': undefined, 'hPod.spec.priority': undefined, 'hPod.spec.preemptionPolicy': undefined },
  },
  {
    name: 'drops the priority the virtual API server filled in for a pod without a class',
    virtual: virtualPod({ spec: { priority: 0, preemptionPolicy: 'PreemptLowerPriority' } }),
    options: { priorityClasses: { toHost: true, fromHost: false } },
    expected: { 'hPod.spec.priorityClassName': undefined, 'hPod.spec.priority': undefined, 'hPod.spec.preemptionPolicy': undefined },
  },
  {
    name: 'translates a synced priority class and caps its priority at one billion',
    virtual: virtualPod({ spec: { priorityClassName: 'critical', priority: 2_000_000_000, preemptionPolicy: 'PreemptLowerPriority' } }),
    options: { priorityClasses: { toHost: true, fromHost: false } },
    expected: {
      'hPod.spec.priorityClassName': 'vcluster-critical-x-vcluster-ns-x-my-vcluster',
      'hPod.spec.priority': 1_000_000_000,
      'hPod.spec.preemptionPolicy': 'PreemptLowerPriority',
    },
  },
  {
    name: 'keeps a priority class imported from the host as it is',
    virtual: virtualPod({ spec: { priorityClassName: 'host-high', priority: 5000 } }),
    options: { priorityClasses: { toHost: false, fromHost: true } },
    expected: { 'hPod.spec.priorityClassName': 'host-high', 'hPod.spec.priority': 5000 },
  },
  {
    name: 'gives the configured priority class to pods that would have none, leaving the priority to the host',
    virtual: virtualPod({ spec: { priorityClassName: 'high', priority: 1000 } }),
    options: { priorityClassName: 'tenant-default' },
    expected: { 'hPod.spec.priorityClassName': 'tenant-default', 'hPod.spec.priority': undefined },
  },
  {
    name: 'forces the configured runtime class',
    virtual: virtualPod({ spec: { runtimeClassName: 'runc' } }),
    options: { runtimeClassName: 'gvisor' },
    expected: { 'hPod.spec.runtimeClassName': 'gvisor' },
  },
  {
    name: 'keeps the virtual runtime class when none is configured',
    virtual: virtualPod({ spec: { runtimeClassName: 'kata' } }),
    expected: { 'hPod.spec.runtimeClassName': 'kata' },
  },
  {
    name: 'rewrites the images listed in translateImage, in containers and init containers, and no others',
    virtual: virtualPod({
      spec: {
        containers: [{ name: 'a', image: 'nginx:1.27' }, { name: 'b', image: 'redis:7' }],
        initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      },
    }),
    options: { translateImage: { 'nginx:1.27': 'registry.internal/nginx:1.27', 'busybox:1.36': 'registry.internal/busybox:1.36' } },
    expected: {
      'hPod.spec.containers.0.image': 'registry.internal/nginx:1.27',
      'hPod.spec.containers.1.image': 'redis:7',
      'hPod.spec.initContainers.0.image': 'registry.internal/busybox:1.36',
    },
  },
  {
    name: 'appends the enforced tolerations to the virtual ones, once',
    virtual: virtualPod({ spec: { tolerations: [{ key: 'tenant', operator: 'Equal', value: 'a', effect: 'NoSchedule' }] } }),
    options: { enforceTolerations: ['tenant=a:NoSchedule', 'dedicated:NoExecute', '*'] },
    expected: {
      'hPod.spec.tolerations': [
        { key: 'tenant', operator: 'Equal', value: 'a', effect: 'NoSchedule' },
        { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' },
        { operator: 'Exists' },
      ],
    },
  },
  {
    name: 'clears affinity, topology spread and node selector when the virtual scheduler places pods',
    virtual: virtualPod({
      spec: {
        nodeName: 'node-1',
        nodeSelector: { disk: 'ssd' },
        affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: {} }] } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: {} }],
      },
    }),
    options: { virtualScheduler: true },
    expected: {
      'hPod.spec.nodeName': 'node-1', 'hPod.spec.nodeSelector': undefined, 'hPod.spec.affinity': undefined,
      'hPod.spec.topologySpreadConstraints': undefined,
    },
  },
  {
    name: 'adds the synced nodes\' selector labels to a pod without a nodeName',
    virtual: virtualPod({ spec: { nodeSelector: { disk: 'ssd', pool: 'mine' } } }),
    options: { nodeSelectorLabels: { pool: 'tenants' } },
    expected: { 'hPod.spec.nodeSelector': { disk: 'ssd', pool: 'tenants' } },
  },
  {
    name: 'passes a nodeName through and adds no node selector to it',
    virtual: virtualPod({ spec: { nodeName: 'node-7' } }),
    options: { nodeSelectorLabels: { pool: 'tenants' } },
    expected: { 'hPod.spec.nodeName': 'node-7', 'hPod.spec.nodeSelector': undefined },
  },
  {
    name: 'drops pod-level resources on a host older than Kubernetes 1.34',
    virtual: virtualPod({ spec: { resources: { limits: { cpu: '1' } } } }),
    facts: { hostMinorVersion: 33 },
    expected: { 'hPod.spec.resources': undefined },
  },
  {
    name: 'keeps pod-level resources on a Kubernetes 1.34 host',
    virtual: virtualPod({ spec: { resources: { limits: { cpu: '1' } } } }),
    facts: { hostMinorVersion: 34 },
    expected: { 'hPod.spec.resources': { limits: { cpu: '1' } } },
  },
  // References
  {
    name: 'translates imagePullSecrets and reports them',
    virtual: virtualPod({ spec: { imagePullSecrets: [{ name: 'registry' }, { name: 'mirror' }] } }),
    expected: {
      'hPod.spec.imagePullSecrets': [{ name: 'registry-x-shop-x-my-vcluster' }, { name: 'mirror-x-shop-x-my-vcluster' }],
      'references.0.virtual': { name: 'registry', namespace: 'shop' },
      'references.1.host': { name: 'mirror-x-shop-x-my-vcluster', namespace: 'vcluster-ns' },
      'references.length': 2,
    },
  },
  {
    name: 'translates resource claims and their templates when resource claims are synced',
    virtual: virtualPod({ spec: { resourceClaims: [{ name: 'gpu', resourceClaimName: 'gpu-claim' }, { name: 'tpl', resourceClaimTemplateName: 'gpu-template' }] } }),
    options: { syncResourceClaims: true },
    expected: {
      'hPod.spec.resourceClaims': [
        { name: 'gpu', resourceClaimName: 'gpu-claim-x-shop-x-my-vcluster' },
        { name: 'tpl', resourceClaimTemplateName: 'gpu-template-x-shop-x-my-vcluster' },
      ],
      'references.0.kind': 'ResourceClaim',
      'references.1.kind': 'ResourceClaimTemplate',
    },
  },
  {
    name: 'leaves resource claims alone when resource claims are not synced',
    virtual: virtualPod({ spec: { resourceClaims: [{ name: 'gpu', resourceClaimName: 'gpu-claim' }] } }),
    expected: { 'hPod.spec.resourceClaims': [{ name: 'gpu', resourceClaimName: 'gpu-claim' }], 'references.length': 0 },
  },
  {
    name: 'reports an object referenced several times once',
    virtual: virtualPod({
      spec: {
        containers: [
          { name: 'a', envFrom: [{ secretRef: { name: 'shared' } }] },
          { name: 'b', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'shared', key: 'x' } } }] },
        ],
        volumes: [{ name: 's', secret: { secretName: 'shared' } }],
      },
    }),
    expected: { 'references.length': 1, 'references.0.kind': 'Secret' },
  },
];

runPodCases(t, cases);

t.test('refuses to translate without the ClusterIP of the vCluster host Service', async (t) => {
  t.throws(() => podToHost(tr, virtualPod(), podFacts({ kubeIP: '' }), podTranslateOptions()), /facts\.kubeIP/);
});

t.test('refuses to translate a pod without a namespace', async (t) => {
  t.throws(() => podToHost(tr, virtualPod({ metadata: { namespace: '' } }), podFacts(), podTranslateOptions()), /has no namespace/);
});

t.test('translates the same virtual pod into the same host pod every time', async (t) => {
  const facts = podFacts({ serviceAccountTokens: { 'kube-api-access-8fq2m/0': TOKEN } });
  const a = podToHost(tr, loadPod('deployment-pod.json'), facts, podTranslateOptions());
  const b = podToHost(tr, loadPod('deployment-pod.json'), { ...facts, services: [...facts.services].reverse() }, podTranslateOptions());
  t.strictSame(a, b);
});

t.test('pod-owned annotation keys', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['vcluster.loft.sh/name', true],
    ['vcluster.loft.sh/labels', true],
    ['vcluster.loft.sh/token-0a1b2c3d', true],
    ['vcluster.loft.sh/hosts-rewritten', true],
    ['cluster-autoscaler.kubernetes.io/safe-to-evict', false],
    ['vcluster.loft.sh/disable-subdomain-rewrite', false],
    ['app.kubernetes.io/name', false],
  ];
  for (const [key, owned] of cases) t.equal(isPodOwnedAnnotation(key), owned, key);
});

t.test('ephemeral containers (kubectl debug)', async (t) => {
  const debug = { name: 'debugger', image: 'busybox:1.36', targetContainerName: 'app', env: [{ name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] };

  t.test('gives a debug container the same environment as the pod\'s containers', async (t) => {
    const vPod = deepFreeze(virtualPod());
    const facts = podFacts();
    const r = ephemeralContainerToHost(tr, vPod, debug, facts, podTranslateOptions({ translateImage: { 'busybox:1.36': 'mirror/busybox:1.36' } }));
    const whole = podToHost(tr, vPod, facts, podTranslateOptions());
    t.strictSame(r.hContainer.env?.slice(0, -1), whole.hPod.spec.containers[0]?.env, 'the same generated variables');
    t.strictSame(r.hContainer.env?.at(-1), { name: 'ME', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['vcluster.loft.sh/name']" } } });
    t.equal(r.hContainer.image, 'mirror/busybox:1.36');
    t.equal(r.hContainer.targetContainerName, 'app');
    t.equal(r.hContainer.volumeMounts, undefined, 'no /etc/hosts mount for a pod without subdomain');
  });

  t.test('mounts the rewritten /etc/hosts into a debug container of a pod with a subdomain', async (t) => {
    const vPod = virtualPod({ spec: { hostname: 'web-0', subdomain: 'web' } });
    const r = ephemeralContainerToHost(tr, vPod, debug, podFacts(), podTranslateOptions());
    t.strictSame(r.hContainer.volumeMounts, [{ name: 'vcluster-rewrite-hosts', mountPath: '/etc/hosts', subPath: 'hosts' }]);
  });

  t.test('reports the Secrets a debug container reads', async (t) => {
    const withSecret = { name: 'dbg', envFrom: [{ secretRef: { name: 'creds' } }] };
    const r = ephemeralContainerToHost(tr, virtualPod(), withSecret, podFacts(), podTranslateOptions());
    t.strictSame(r.hContainer.envFrom, [{ secretRef: { name: 'creds-x-shop-x-my-vcluster' } }]);
    t.strictSame(r.references.map((x) => x.virtual.name), ['creds']);
  });

  t.test('translates the ephemeral containers already in the pod spec like podToHost', async (t) => {
    const vPod = virtualPod({ spec: { ephemeralContainers: [debug] } });
    const whole = podToHost(tr, vPod, podFacts(), podTranslateOptions());
    const one = ephemeralContainerToHost(tr, vPod, debug, podFacts(), podTranslateOptions());
    t.strictSame(whole.hPod.spec.ephemeralContainers, [one.hContainer]);
  });
});

t.test('virtualPodOf reads the virtual pod back from a host pod, and refuses inconsistent annotations', async (t) => {
  const vPod = virtualPod();
  const hPod = podToHost(tr, vPod, podFacts(), podTranslateOptions()).hPod;
  t.strictSame(virtualPodOf(tr, hPod), { name: vPod.metadata.name, namespace: vPod.metadata.namespace, uid: vPod.metadata.uid });
  const renamed = { metadata: { ...hPod.metadata, name: 'other-x-shop-x-my-vcluster' } };
  t.equal(virtualPodOf(tr, renamed), undefined, 'annotations that do not translate to the name');
  t.equal(virtualPodOf(tr, { metadata: { name: hPod.metadata.name } }), undefined, 'no annotations');
});
