import t from 'tap';
import {
  hasSelector, hostAllocationsDiffer, isHeadless, kubernetesServiceFromHost, kubernetesServiceSpecFromHost,
  serviceDrift, serviceRef, serviceSpecDrift, serviceStatusToVirtual, serviceToHost, serviceUpdateToHost, statusDiffers,
  toHostManagedLabels, withHostAllocations, type Service, type ServiceSpec, type ServiceStatus,
} from '../../../src/translate/service.ts';
import * as translate from '../../../src/translate/index.ts';
import { at, deepFreeze, H_RELEASE, tr } from '../../fixtures/pods/index.ts';

const HNS = 'vcluster-ns';
const MARKER = { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'shop' };
const LONG = 'my-very-long-application-service-name-for-testing';
const LONG_HOST = 'my-very-long-application-service-name-for-testing-x--f86413b09c';
const owner = { apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'vc-svc-uid' };

/** A virtual Service `web` in `shop` as the virtual API server stores it; `spec` replaces the whole spec. */
function vService(spec: ServiceSpec, meta: Partial<Service['metadata']> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', resourceVersion: '17', labels: { app: 'web' }, ...meta },
    spec,
  };
}

const http = { name: 'http', port: 80, protocol: 'TCP' as const, targetPort: 8080 };

t.test('serviceToHost', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: Service;
    readonly opts?: Parameters<typeof serviceToHost>[2];
    /** Expected values at paths of the result (see `at`). */
    readonly expected?: Readonly<Record<string, unknown>>;
    /** The whole expected spec. */
    readonly spec?: ServiceSpec;
    readonly error?: RegExp;
  }
  const cases: Case[] = [
    {
      name: 'translates name, labels and annotations and confines the selector to the namespace\'s pods',
      virtual: vService({ selector: { app: 'web' }, ports: [http], clusterIP: '' }),
      expected: {
        apiVersion: 'v1', kind: 'Service', status: undefined,
        'metadata.name': 'web-x-shop-x-my-vcluster', 'metadata.namespace': HNS,
        'metadata.uid': undefined, 'metadata.resourceVersion': undefined,
        'metadata.labels': { app: 'web', ...MARKER },
        'metadata.annotations["vcluster.loft.sh/object-name"]': 'web',
        'metadata.annotations["vcluster.loft.sh/object-kind"]': '/v1, Kind=Service',
        'metadata.annotations["vcluster.loft.sh/object-uid"]': 'uid-web',
        'metadata.annotations["vcluster.loft.sh/managed-labels"]': 'app',
      },
      spec: { selector: { app: 'web', ...MARKER }, ports: [http], clusterIP: '' },
    },
    {
      name: 'hashes the special label keys in the selector (release) like the pod labels',
      virtual: vService({ selector: { app: 'web', release: 'stable' }, ports: [http] }),
      expected: { 'spec.selector': { app: 'web', [H_RELEASE]: 'stable', ...MARKER } },
    },
    {
      name: 'passes a user-pinned clusterIP and nodePorts of a NodePort Service to the host as sent',
      virtual: vService({
        type: 'NodePort', selector: { app: 'web' }, clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'], externalTrafficPolicy: 'Local',
        ports: [{ ...http, nodePort: 30080 }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 'metrics' }],
      }),
      spec: {
        type: 'NodePort', selector: { app: 'web', ...MARKER }, clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'], externalTrafficPolicy: 'Local',
        ports: [{ ...http, nodePort: 30080 }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 'metrics' }],
      },
    },
    {
      name: 'keeps every LoadBalancer field, a pinned healthCheckNodePort included',
      virtual: vService({
        type: 'LoadBalancer', selector: { app: 'web' }, ports: [http], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
        loadBalancerClass: 'example.com/lb', allocateLoadBalancerNodePorts: false, loadBalancerSourceRanges: ['10.0.0.0/8'],
        loadBalancerIP: '192.0.2.10', externalIPs: ['192.0.2.20', '192.0.2.21'], sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, publishNotReadyAddresses: true, trafficDistribution: 'PreferClose',
      }),
      spec: {
        type: 'LoadBalancer', selector: { app: 'web', ...MARKER }, ports: [http], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
        loadBalancerClass: 'example.com/lb', allocateLoadBalancerNodePorts: false, loadBalancerSourceRanges: ['10.0.0.0/8'],
        loadBalancerIP: '192.0.2.10', externalIPs: ['192.0.2.20', '192.0.2.21'], sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, publishNotReadyAddresses: true, trafficDistribution: 'PreferClose',
      },
    },
    {
      name: 'copies an ExternalName Service as it is',
      virtual: vService({ type: 'ExternalName', externalName: 'db.example.com' }),
      spec: { type: 'ExternalName', externalName: 'db.example.com' },
    },
    {
      name: 'keeps a headless Service headless',
      virtual: vService({ clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'web' }, ports: [http] }),
      spec: { clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'web', ...MARKER }, ports: [http] },
    },
    {
      name: 'keeps a selector-less Service selector-less (no marker selector appears)',
      virtual: vService({ ports: [http] }),
      spec: { ports: [http] },
    },
    {
      name: 'drops an empty selector: {} means "no selector" and must not become the marker selector',
      virtual: vService({ ports: [http], selector: {} }),
      spec: { ports: [http] },
    },
    {
      name: 'keeps the dual-stack fields as sent',
      virtual: vService({
        selector: { app: 'web' }, ports: [http], ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'],
        clusterIPs: ['fd00::10', '10.96.0.10'], clusterIP: 'fd00::10',
      }),
      expected: {
        'spec.ipFamilyPolicy': 'RequireDualStack', 'spec.ipFamilies': ['IPv6', 'IPv4'],
        'spec.clusterIPs': ['fd00::10', '10.96.0.10'], 'spec.clusterIP': 'fd00::10',
      },
    },
    {
      name: 'keeps multi-port Services and named target ports',
      virtual: vService({
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'web' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
          { name: 'grpc', port: 9000, appProtocol: 'kubernetes.io/h2c' },
        ],
      }),
      expected: {
        'spec.ports': [
          { name: 'http', port: 80, targetPort: 'web' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
          { name: 'grpc', port: 9000, appProtocol: 'kubernetes.io/h2c' },
        ],
      },
    },
    {
      name: 'lets a spec field of a newer Kubernetes survive the round trip',
      virtual: vService({ ports: [http], futureField: { mode: 'fast', list: [1, 2] } }),
      expected: { 'spec.futureField': { mode: 'fast', list: [1, 2] } },
    },
    {
      name: 'never copies the status (the host\'s controllers own it)',
      virtual: { ...vService({ type: 'LoadBalancer', ports: [http] }), status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
      expected: { status: undefined },
    },
    {
      name: 'hashes a name longer than 63 characters',
      virtual: vService({ ports: [http] }, { name: LONG, namespace: 'production' }),
      expected: {
        'metadata.name': LONG_HOST,
        'metadata.annotations["vcluster.loft.sh/object-host-name"]': LONG_HOST,
      },
    },
    {
      name: 'does not copy field.cattle.io/publicEndpoints (Rancher writes it on both sides)',
      virtual: vService({ ports: [http] }, { annotations: { 'field.cattle.io/publicEndpoints': '[{"x":1}]', note: 'n' } }),
      expected: {
        'metadata.annotations["field.cattle.io/publicEndpoints"]': undefined, 'metadata.annotations.note': 'n',
        'metadata.annotations["vcluster.loft.sh/managed-annotations"]': 'note',
      },
    },
    {
      name: 'points the owner reference at the vCluster Service when asked',
      virtual: vService({ ports: [http] }), opts: { owner },
      expected: { 'metadata.ownerReferences': [{ ...owner, controller: false }] },
    },
    {
      name: 'writes no managed-labels annotation for a Service without labels',
      virtual: vService({ ports: [http] }, { labels: undefined }),
      expected: { 'metadata.labels': MARKER, 'metadata.annotations["vcluster.loft.sh/managed-labels"]': undefined },
    },
    {
      name: 'fills in an empty spec for a Service without one',
      virtual: { metadata: { name: 'web', namespace: 'shop' } },
      spec: {},
    },
    {
      name: 'refuses default/kubernetes, which stands for the vCluster\'s own host Service',
      virtual: vService({ ports: [http] }, { name: 'kubernetes', namespace: 'default' }),
      error: /default\/kubernetes is not synced/,
    },
    {
      name: 'refuses a Service without a namespace',
      virtual: vService({ ports: [http] }, { namespace: undefined }),
      error: /namespaced/,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze(c.virtual);
      if (c.error) {
        t.throws(() => serviceToHost(tr, v, c.opts), c.error);
        return;
      }
      const h = serviceToHost(tr, v, c.opts);
      for (const [path, value] of Object.entries(c.expected ?? {})) t.strictSame(at(h, path), value, path);
      if (c.spec) t.strictSame(h.spec, c.spec, 'spec');
    });
  }
});

t.test('serviceUpdateToHost', async (t) => {
  const vOld = vService({ selector: { app: 'web' }, ports: [http] }, { labels: { app: 'web', tier: 'front' } });
  const created = serviceToHost(tr, vOld, { owner });
  /** The host twin as the host API server returns it, after host-side additions. */
  const hCurrent: Service = deepFreeze({
    ...created,
    metadata: {
      ...created.metadata,
      uid: 'host-uid', resourceVersion: '900', creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { ...created.metadata.labels, 'host.example.com/team': 'ops' },
      annotations: { ...created.metadata.annotations, 'field.cattle.io/publicEndpoints': 'host-value', 'host.example.com/note': 'x' },
      finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
      ownerReferences: [...created.metadata.ownerReferences ?? [], { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'thing-uid' }],
    },
    spec: { ...created.spec, clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
  });
  const vNew = deepFreeze(vService(
    { selector: { app: 'web2' }, ports: [http, { name: 'https', port: 443, targetPort: 8443 }] },
    { labels: { app: 'web' }, annotations: { 'field.cattle.io/publicEndpoints': 'virtual-value', added: 'yes' } },
  ));

  const cases: Array<{ name: string; opts?: Parameters<typeof serviceUpdateToHost>[3]; expected: Record<string, unknown> }> = [
    {
      name: 'carries the host uid and resourceVersion for optimistic concurrency',
      expected: { 'metadata.uid': 'host-uid', 'metadata.resourceVersion': '900', 'metadata.name': 'web-x-shop-x-my-vcluster' },
    },
    {
      name: 'keeps host-added labels and drops the label the virtual Service no longer has',
      expected: { 'metadata.labels': { app: 'web', 'host.example.com/team': 'ops', ...MARKER } },
    },
    {
      name: 'keeps host-added annotations and the host\'s publicEndpoints, ignoring the virtual one',
      expected: {
        'metadata.annotations["host.example.com/note"]': 'x',
        'metadata.annotations["field.cattle.io/publicEndpoints"]': 'host-value',
        'metadata.annotations.added': 'yes',
      },
    },
    {
      name: 'keeps the host finalizers and the owner references vcnet did not set',
      opts: { owner },
      expected: {
        'metadata.finalizers': ['service.kubernetes.io/load-balancer-cleanup'],
        'metadata.ownerReferences': [{ apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'thing-uid' }, { ...owner, controller: false }],
      },
    },
    {
      name: 'replaces the reference to a re-created vCluster Service (same kind and name, new uid)',
      opts: { owner: { ...owner, uid: 'new-uid' } },
      expected: {
        'metadata.ownerReferences': [{ apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'thing-uid' }, { ...owner, uid: 'new-uid', controller: false }],
      },
    },
    {
      name: 'without an owner keeps every host owner reference as it is',
      expected: { 'metadata.ownerReferences': hCurrent.metadata.ownerReferences },
    },
    {
      name: 'sends the virtual spec translated; an omitted clusterIP stays omitted for the host to carry over',
      expected: {
        spec: { selector: { app: 'web2', ...MARKER }, ports: [http, { name: 'https', port: 443, targetPort: 8443 }] },
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const body = serviceUpdateToHost(tr, hCurrent, vNew, c.opts);
      for (const [path, value] of Object.entries(c.expected)) t.strictSame(at(body, path), value, path);
    });
  }

  t.test('leaves out finalizers and owner references the host does not have', async (t) => {
    const bare = deepFreeze({ ...created, metadata: { ...created.metadata, ownerReferences: undefined, uid: 'u', resourceVersion: '1' } });
    const body = serviceUpdateToHost(tr, bare, vNew);
    t.notOk('finalizers' in body.metadata);
    t.notOk('ownerReferences' in body.metadata);
  });
});

t.test('toHostManagedLabels', async (t) => {
  const cases: Array<{ name: string; vLabels?: Record<string, string>; hMeta?: Service['metadata']; labels: Record<string, string>; managed: string }> = [
    {
      name: 'on create: the translated virtual labels and the markers; the list names the copied keys, sorted',
      vLabels: { b: '2', release: 'r', a: '1' },
      labels: { a: '1', b: '2', [H_RELEASE]: 'r', ...MARKER }, managed: ['a', 'b', H_RELEASE].sort().join('\n'),
    },
    {
      name: 'a host label listed as copied earlier but gone from the virtual object is removed; others stay',
      vLabels: { a: '1' },
      hMeta: { labels: { a: 'old', b: '2', host: 'h', ...MARKER }, annotations: { 'vcluster.loft.sh/managed-labels': 'a\nb' } },
      labels: { a: '1', host: 'h', ...MARKER }, managed: 'a',
    },
    {
      name: 'without the list (a host object from elsewhere) every host label is kept',
      vLabels: {},
      hMeta: { labels: { b: '2' } },
      labels: { b: '2', ...MARKER }, managed: '',
    },
    {
      name: 'the host\'s controlled-by label is kept, a virtual one is not copied',
      vLabels: { 'vcluster.loft.sh/label-my-vcluster-x-a4d451ec23': 'spoof' },
      hMeta: { labels: { 'vcluster.loft.sh/controlled-by': 'vcluster' } },
      labels: { 'vcluster.loft.sh/controlled-by': 'vcluster', ...MARKER }, managed: '',
    },
    {
      name: 'a marker label changed on the host is restored',
      vLabels: {},
      hMeta: { labels: { 'vcluster.loft.sh/managed-by': 'other' } },
      labels: { ...MARKER }, managed: '',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const r = toHostManagedLabels(tr, { name: 'web', namespace: 'shop', ...(c.vLabels ? { labels: c.vLabels } : {}) }, c.hMeta);
      t.strictSame(r.labels, c.labels);
      t.equal(r.managedLabels, c.managed);
    });
  }
});

t.test('withHostAllocations and hostAllocationsDiffer', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: ServiceSpec;
    readonly host: ServiceSpec;
    readonly expected: ServiceSpec;
    readonly differ: string[];
  }
  const cases: Case[] = [
    {
      name: 'copies the ClusterIP, clusterIPs and IP families the host allocated',
      virtual: { selector: { app: 'web' }, ports: [http] },
      host: { selector: { app: 'web', ...MARKER }, ports: [http], clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
      expected: { selector: { app: 'web' }, ports: [http], clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
      differ: ['spec.clusterIP', 'spec.clusterIPs', 'spec.ipFamilies', 'spec.ipFamilyPolicy'],
    },
    {
      name: 'copies dual-stack allocations',
      virtual: { ports: [http], ipFamilyPolicy: 'PreferDualStack' },
      host: { ports: [http], clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7', 'fd00::7'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' },
      expected: { ports: [http], clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7', 'fd00::7'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' },
      differ: ['spec.clusterIP', 'spec.clusterIPs', 'spec.ipFamilies'],
    },
    {
      name: 'matches nodePorts by (port, protocol) when the host lists the ports in another order',
      virtual: { type: 'NodePort', ports: [{ name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, http] },
      host: { type: 'NodePort', ports: [{ ...http, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }, { name: 'dns-tcp', port: 53, nodePort: 30054 }] },
      expected: {
        type: 'NodePort',
        ports: [{ name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30054 }, { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }, { ...http, nodePort: 30080 }],
      },
      differ: ['spec.ports[0].nodePort', 'spec.ports[1].nodePort', 'spec.ports[2].nodePort'],
    },
    {
      name: 'a renamed port keeps the nodePort of its (port, protocol)',
      virtual: { type: 'NodePort', ports: [{ ...http, name: 'web' }] },
      host: { type: 'NodePort', ports: [{ ...http, nodePort: 30080 }] },
      expected: { type: 'NodePort', ports: [{ ...http, name: 'web', nodePort: 30080 }] },
      differ: ['spec.ports[0].nodePort'],
    },
    {
      name: 'a virtual port the host does not have keeps what it had',
      virtual: { type: 'NodePort', ports: [{ ...http, nodePort: 30080 }, { name: 'new', port: 81, nodePort: 30081 }] },
      host: { type: 'NodePort', ports: [{ ...http, nodePort: 30080 }] },
      expected: { type: 'NodePort', ports: [{ ...http, nodePort: 30080 }, { name: 'new', port: 81, nodePort: 30081 }] },
      differ: [],
    },
    {
      name: 'a nodePort the host does not have (type ClusterIP there) is removed',
      virtual: { ports: [{ ...http, nodePort: 30080 }] },
      host: { ports: [http] },
      expected: { ports: [http] },
      differ: ['spec.ports[0].nodePort'],
    },
    {
      name: 'copies the healthCheckNodePort of a LoadBalancer with externalTrafficPolicy Local',
      virtual: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ ...http, nodePort: 30080 }] },
      host: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ ...http, nodePort: 30080 }], healthCheckNodePort: 32000 },
      expected: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ ...http, nodePort: 30080 }], healthCheckNodePort: 32000 },
      differ: ['spec.healthCheckNodePort'],
    },
    {
      name: 'removes a healthCheckNodePort the host no longer has',
      virtual: { type: 'LoadBalancer', ports: [{ ...http, nodePort: 30080 }], healthCheckNodePort: 32000 },
      host: { type: 'LoadBalancer', ports: [{ ...http, nodePort: 30080 }] },
      expected: { type: 'LoadBalancer', ports: [{ ...http, nodePort: 30080 }] },
      differ: ['spec.healthCheckNodePort'],
    },
    {
      name: 'an ExternalName host Service has no ClusterIP: the virtual one goes',
      virtual: { type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'] },
      host: { type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.7' },
      expected: { type: 'ExternalName', externalName: 'db.example.com' },
      differ: ['spec.clusterIP', 'spec.clusterIPs'],
    },
    {
      name: 'changes nothing else: selector, type, unknown fields stay the virtual ones',
      virtual: { selector: { app: 'web' }, ports: [http], clusterIP: '10.96.0.7', futureField: 1, sessionAffinity: 'ClientIP' },
      host: { selector: { app: 'web', ...MARKER }, ports: [{ ...http, targetPort: 9999 }], clusterIP: '10.96.0.7', futureField: 2, sessionAffinity: 'None' },
      expected: { selector: { app: 'web' }, ports: [http], clusterIP: '10.96.0.7', futureField: 1, sessionAffinity: 'ClientIP' },
      differ: [],
    },
    {
      name: 'a virtual Service without ports stays without ports',
      virtual: { type: 'ExternalName', externalName: 'x.example.com' },
      host: { type: 'ExternalName', externalName: 'x.example.com', ports: [http] },
      expected: { type: 'ExternalName', externalName: 'x.example.com' },
      differ: [],
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze({ ...vService(c.virtual), status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } });
      const h = deepFreeze({ ...vService(c.host, { name: 'web-x-shop-x-my-vcluster', namespace: HNS }) });
      const out = withHostAllocations(v, h);
      t.strictSame(out.spec, c.expected, 'spec');
      t.strictSame(out.metadata, v.metadata, 'metadata unchanged');
      t.strictSame(out.status, v.status, 'status unchanged');
      t.strictSame(hostAllocationsDiffer(v, h), c.differ, 'differing paths');
      t.strictSame(hostAllocationsDiffer(out, h), [], 'the result carries every allocation');
    });
  }

  t.test('a virtual Service without a spec gets the allocations', async (t) => {
    const out = withHostAllocations({ metadata: { name: 'web', namespace: 'shop' } }, vService({ clusterIP: '10.96.0.9' }));
    t.strictSame(out.spec, { clusterIP: '10.96.0.9' });
  });
});

t.test('serviceSpecDrift', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: ServiceSpec;
    /** The host spec; the selector is the translated virtual one unless given. */
    readonly host: ServiceSpec;
    readonly drift: string[];
  }
  const sel = { selector: { app: 'web' } };
  const hSel = { selector: { app: 'web', ...MARKER } };
  const allocated = { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ipFamilies: ['IPv4' as const], ipFamilyPolicy: 'SingleStack' as const };
  const defaults = { type: 'ClusterIP' as const, sessionAffinity: 'None' as const, internalTrafficPolicy: 'Cluster' as const };
  const cases: Case[] = [
    {
      name: 'a fresh host twin with allocations and API defaults does not drift',
      virtual: { ...sel, ports: [{ name: 'http', port: 80 }] },
      host: { ...hSel, ...allocated, ...defaults, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }] },
      drift: [],
    },
    {
      name: 'defaults spelled out on the virtual side match a host that omits them',
      virtual: { ...sel, ...defaults, publishNotReadyAddresses: false, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }] },
      host: { ...hSel, ports: [{ name: 'http', port: 80 }] },
      drift: [],
    },
    {
      name: 'NodePort and LoadBalancer defaults: externalTrafficPolicy Cluster, allocateLoadBalancerNodePorts true',
      virtual: { ...sel, type: 'LoadBalancer', ports: [http] },
      host: { ...hSel, ...allocated, ...defaults, type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true, ports: [{ ...http, nodePort: 31000 }] },
      drift: [],
    },
    {
      name: 'ClientIP affinity defaults its timeout to 10800 s',
      virtual: { ...sel, sessionAffinity: 'ClientIP', ports: [http] },
      host: { ...hSel, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [http] },
      drift: [],
    },
    {
      name: 'an ExternalName Service has no internalTrafficPolicy default',
      virtual: { type: 'ExternalName', externalName: 'db.example.com' },
      host: { type: 'ExternalName', externalName: 'db.example.com', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
      drift: ['spec.internalTrafficPolicy'],
    },
    {
      name: 'the port order does not matter: ports are keyed by (port, protocol)',
      virtual: { ...sel, ports: [http, { name: 'dns', port: 53, protocol: 'UDP' }] },
      host: { ...hSel, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, http] },
      drift: [],
    },
    {
      name: 'an unset virtual nodePort matches whatever the host allocated; a pinned one must match',
      virtual: { ...sel, type: 'NodePort', ports: [{ ...http, nodePort: 0 }, { name: 'b', port: 81, nodePort: 30081 }] },
      host: { ...hSel, type: 'NodePort', ports: [{ ...http, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30099 }] },
      drift: ['spec.ports[1].nodePort'],
    },
    {
      name: 'a pinned ClusterIP or healthCheckNodePort must match',
      virtual: { ...sel, type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '10.96.0.8', healthCheckNodePort: 32000, ports: [http] },
      host: { ...hSel, ...allocated, type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32001, ports: [http] },
      drift: ['spec.clusterIP', 'spec.healthCheckNodePort'],
    },
    {
      name: 'a host-side selector edit is drift',
      virtual: { ...sel, ports: [http] },
      host: { selector: { app: 'other', ...MARKER }, ports: [http] },
      drift: ['spec.selector'],
    },
    {
      name: 'an empty virtual selector matches a host without one',
      virtual: { selector: {}, ports: [http] },
      host: { ports: [http] },
      drift: [],
    },
    {
      name: 'a host that gained a selector the virtual Service lacks drifts',
      virtual: { ports: [http] },
      host: { ...hSel, ports: [http] },
      drift: ['spec.selector'],
    },
    {
      name: 'a changed type drifts together with its type-dependent defaults',
      virtual: { ...sel, type: 'NodePort', ports: [http] },
      host: { ...hSel, type: 'ClusterIP', ports: [http] },
      drift: ['spec.externalTrafficPolicy', 'spec.type'],
    },
    {
      name: 'a port the host lacks is spec.ports[i]; a port only the host has is spec.ports',
      virtual: { ...sel, ports: [http, { name: 'b', port: 81 }] },
      host: { ...hSel, ports: [http, { name: 'c', port: 82 }] },
      drift: ['spec.ports[1]', 'spec.ports'],
    },
    {
      name: 'per-port fields: name, targetPort, appProtocol',
      virtual: { ...sel, ports: [{ name: 'http', port: 80, targetPort: 'web', appProtocol: 'http' }] },
      host: { ...hSel, ports: [{ name: 'web', port: 80, targetPort: 8080 }] },
      drift: ['spec.ports[0].appProtocol', 'spec.ports[0].name', 'spec.ports[0].targetPort'],
    },
    {
      name: 'externalIPs are an ordered list',
      virtual: { ...sel, externalIPs: ['192.0.2.1', '192.0.2.2'], ports: [http] },
      host: { ...hSel, externalIPs: ['192.0.2.2', '192.0.2.1'], ports: [http] },
      drift: ['spec.externalIPs'],
    },
    {
      name: 'a pinned ipFamilies order must match; unset families match any',
      virtual: { ...sel, ipFamilies: ['IPv6', 'IPv4'], ports: [http] },
      host: { ...hSel, ...allocated, ipFamilies: ['IPv4', 'IPv6'], ports: [http] },
      drift: ['spec.ipFamilies'],
    },
    {
      name: 'a field of a newer Kubernetes is compared too',
      virtual: { ...sel, ports: [http], futureField: { a: 1 } },
      host: { ...hSel, ports: [http], futureField: { a: 2 } },
      drift: ['spec.futureField'],
    },
    {
      name: 'publishNotReadyAddresses false equals unset; true does not',
      virtual: { ...sel, ports: [http], publishNotReadyAddresses: true },
      host: { ...hSel, ports: [http], publishNotReadyAddresses: false },
      drift: ['spec.publishNotReadyAddresses'],
    },
    {
      name: 'a headless Service must stay headless',
      virtual: { ...sel, clusterIP: 'None', ports: [http] },
      host: { ...hSel, clusterIP: '10.96.0.7', ports: [http] },
      drift: ['spec.clusterIP'],
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze(vService(c.virtual));
      const h = deepFreeze(vService(c.host, { name: 'web-x-shop-x-my-vcluster', namespace: HNS }));
      t.strictSame(serviceSpecDrift(tr, v, h), c.drift);
    });
  }

  t.test('the host twin serviceToHost builds does not drift from its virtual Service', async (t) => {
    const v = deepFreeze(vService({ ...sel, type: 'NodePort', ports: [http, { name: 'dns', port: 53, protocol: 'UDP' }], futureField: 'x' }));
    t.strictSame(serviceSpecDrift(tr, v, serviceToHost(tr, v)), []);
  });

  t.test('a virtual Service without a spec against a host without one', async (t) => {
    t.strictSame(serviceSpecDrift(tr, { metadata: { name: 'web', namespace: 'shop' } }, { metadata: { name: 'h' } }), []);
  });
});

t.test('serviceDrift: the spec paths of serviceSpecDrift, then labels and annotations', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: Service;
    /** Turns the host twin serviceToHost builds into the host Service to compare with. */
    readonly host: (twin: Service) => Service;
    readonly drift: string[];
  }
  const spec: ServiceSpec = { selector: { app: 'web' }, ports: [http] };
  const withMeta = (twin: Service, meta: Partial<Service['metadata']>): Service => ({ ...twin, metadata: { ...twin.metadata, ...meta } });
  const cases: Case[] = [
    { name: 'the host twin serviceToHost builds does not drift', virtual: vService(spec), host: (h) => h, drift: [] },
    {
      name: 'labels and annotations added on the host are not drift (they survive the merge)',
      virtual: vService(spec, { annotations: { note: 'v' } }),
      host: (h) => withMeta(h, { labels: { ...h.metadata.labels, 'host.example/team': 'a' }, annotations: { ...h.metadata.annotations, 'host.example/audit': 'b' } }),
      drift: [],
    },
    {
      name: 'the order of label and annotation keys does not matter',
      virtual: vService(spec, { labels: { app: 'web', tier: 'front' }, annotations: { a: '1', b: '2' } }),
      host: (h) => withMeta(h, {
        labels: Object.fromEntries(Object.entries(h.metadata.labels ?? {}).reverse()),
        annotations: Object.fromEntries(Object.entries(h.metadata.annotations ?? {}).reverse()),
      }),
      drift: [],
    },
    {
      name: 'a copied label changed on the host is label drift',
      virtual: vService(spec),
      host: (h) => withMeta(h, { labels: { ...h.metadata.labels, app: 'other' } }),
      drift: ['metadata.labels'],
    },
    {
      name: 'a copied annotation removed on the host is annotation drift',
      virtual: vService(spec, { annotations: { note: 'v' } }),
      host: (h) => {
        const { note: _note, ...annotations } = h.metadata.annotations ?? {};
        return withMeta(h, { annotations });
      },
      drift: ['metadata.annotations'],
    },
    {
      name: 'spec drift comes first, then metadata drift',
      virtual: vService(spec),
      host: (h) => ({ ...withMeta(h, { labels: {}, annotations: {} }), spec: { ...h.spec, publishNotReadyAddresses: true } }),
      drift: ['spec.publishNotReadyAddresses', 'metadata.labels', 'metadata.annotations'],
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze(c.virtual);
      const h = deepFreeze(c.host(serviceToHost(tr, v)));
      t.strictSame(serviceDrift(tr, v, h), c.drift);
      t.strictSame(serviceDrift(tr, v, h).filter((p) => p.startsWith('spec')), serviceSpecDrift(tr, v, h), 'its spec part is serviceSpecDrift');
    });
  }
});

t.test('serviceStatusToVirtual', async (t) => {
  const lb = { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' as const }] }, { hostname: 'lb.example.com' }] };
  const conditions = [{ type: 'LoadBalancerReady', status: 'True', reason: 'Provisioned', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' }];
  const cases: Array<{ name: string; host: Service; expected: ServiceStatus }> = [
    {
      name: 'copies the load-balancer status and conditions of a LoadBalancer',
      host: { ...vService({ type: 'LoadBalancer', ports: [http] }), status: { loadBalancer: lb, conditions } },
      expected: { loadBalancer: lb, conditions },
    },
    {
      name: 'a LoadBalancer without status yet: an empty load-balancer status',
      host: vService({ type: 'LoadBalancer', ports: [http] }),
      expected: { loadBalancer: {} },
    },
    {
      name: 'a Service that left LoadBalancer clears the stale ingress (vCluster #2728, #2248)',
      host: { ...vService({ type: 'ClusterIP', ports: [http] }), status: { loadBalancer: lb, conditions } },
      expected: { loadBalancer: {} },
    },
    {
      name: 'NodePort, ExternalName and type-less Services get an empty load-balancer status',
      host: vService({ type: 'NodePort', ports: [http] }),
      expected: { loadBalancer: {} },
    },
    {
      name: 'a host Service without a spec',
      host: { metadata: { name: 'h' } },
      expected: { loadBalancer: {} },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const out = serviceStatusToVirtual(deepFreeze(c.host));
      t.strictSame(out, c.expected);
      t.notOk(Object.isFrozen(out.loadBalancer), 'a copy, not the host object');
    });
  }
});

t.test('statusDiffers', async (t) => {
  const ingress = { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } };
  const cases: Array<{ name: string; a: ServiceStatus | undefined; b: ServiceStatus | undefined; differs: boolean }> = [
    { name: 'undefined equals {}', a: undefined, b: {}, differs: false },
    { name: '{} equals an empty load-balancer status', a: {}, b: { loadBalancer: {} }, differs: false },
    { name: 'an empty ingress list equals none', a: { loadBalancer: { ingress: [] } }, b: { loadBalancer: {} }, differs: false },
    { name: 'the same ingress in another key order is equal', a: { loadBalancer: { ingress: [{ ip: '1.1.1.1', hostname: 'h' }] } }, b: { loadBalancer: { ingress: [{ hostname: 'h', ip: '1.1.1.1' }] } }, differs: false },
    { name: 'a stale ingress differs from an empty status', a: ingress, b: { loadBalancer: {} }, differs: true },
    { name: 'another IP differs', a: ingress, b: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } }, differs: true },
    { name: 'conditions count', a: ingress, b: { ...ingress, conditions: [{ type: 'X', status: 'True' }] }, differs: true },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(statusDiffers(c.a, c.b), c.differs));
});

t.test('small helpers', async (t) => {
  const cases: Array<{ name: string; svc: Service; headless: boolean; selector: boolean; ref: string }> = [
    { name: 'a ClusterIP Service with a selector', svc: vService({ clusterIP: '10.96.0.1', selector: { a: 'b' } }), headless: false, selector: true, ref: 'shop/web' },
    { name: 'a headless Service', svc: vService({ clusterIP: 'None', selector: { a: 'b' } }), headless: true, selector: true, ref: 'shop/web' },
    { name: 'an empty selector is no selector', svc: vService({ selector: {} }), headless: false, selector: false, ref: 'shop/web' },
    { name: 'no spec at all', svc: { metadata: {} }, headless: false, selector: false, ref: '/' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(isHeadless(c.svc), c.headless, 'isHeadless');
      t.equal(hasSelector(c.svc), c.selector, 'hasSelector');
      t.equal(serviceRef(c.svc), c.ref, 'serviceRef');
    });
  }
});

t.test('default/kubernetes from the vCluster\'s host Service (§3.3)', async (t) => {
  const hSvc = deepFreeze(vService({
    type: 'NodePort', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack',
    ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort: 31443, protocol: 'TCP' }, { name: 'kubelet', port: 10250, targetPort: 8443, nodePort: 31250 }],
  }, { name: 'my-vcluster', namespace: HNS }));
  t.strictSame(kubernetesServiceSpecFromHost(hSvc), {
    clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack',
  });
  const bare = kubernetesServiceSpecFromHost({ metadata: {} });
  t.strictSame(bare, { clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined });
});

t.test('the virtual default/kubernetes vcnet creates (§3.3)', async (t) => {
  const hSvc = deepFreeze(vService({
    type: 'NodePort', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
    ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort: 31443, protocol: 'TCP' }, { name: 'kubelet', port: 10250, targetPort: 8443, nodePort: 31250 }],
  }, { name: 'my-vcluster', namespace: HNS }));
  const addresses = { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' };
  const cases: Array<{ name: string; hSvc: Service; vCurrent: Service | undefined; expected: unknown }> = [
    {
      name: 'without a virtual one: the kube-apiserver\'s labels and https port, the host Service\'s addresses',
      hSvc,
      vCurrent: undefined,
      expected: {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }], ...addresses },
      },
    },
    {
      name: 'replacing a virtual one: its labels and ports stay, its addresses and everything else go',
      hSvc,
      vCurrent: {
        metadata: { name: 'kubernetes', namespace: 'default', uid: 'old', labels: { component: 'apiserver', extra: 'x' } },
        spec: { type: 'ClusterIP', clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      },
      expected: {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', extra: 'x' } },
        spec: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], ...addresses },
      },
    },
    {
      name: 'a host Service without a spec gives no addresses',
      hSvc: { metadata: { name: 'my-vcluster', namespace: HNS } },
      vCurrent: undefined,
      expected: {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }] },
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const vCurrent = c.vCurrent === undefined ? undefined : deepFreeze(c.vCurrent);
      const out = kubernetesServiceFromHost(c.hSvc, vCurrent);
      // As sent: undefined fields do not reach the wire.
      t.strictSame(JSON.parse(JSON.stringify(out)), c.expected);
      if (vCurrent !== undefined) t.not(out.spec?.ports, vCurrent.spec?.ports, 'the ports are a copy');
    });
  }
});

t.test('the translate index exports the Service API', async (t) => {
  for (const name of ['serviceToHost', 'serviceUpdateToHost', 'withHostAllocations', 'hostAllocationsDiffer', 'serviceSpecDrift',
    'serviceStatusToVirtual', 'statusDiffers', 'isHeadless', 'hasSelector', 'serviceRef', 'kubernetesServiceSpecFromHost',
    'serviceDrift', 'kubernetesServiceFromHost']) {
    t.type((translate as Record<string, unknown>)[name], 'function', name);
  }
});
