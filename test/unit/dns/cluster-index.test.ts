// The transforms ClusterIndex gives its reflectors (slimService, slimEndpointSlice, slimPod): what
// the reflector stores of each object. For whole objects as the API server sends them (managedFields,
// kubectl's last-applied annotation, status, the full pod spec), each case checks that:
//   - the DNS projection of the slim object equals that of the whole one (nothing DNS reads is lost),
//   - the identity the reflector's store and re-list diff use is kept (name, namespace,
//     resourceVersion, uid),
//   - what DNS never reads is gone,
//   - the transform is idempotent (client-go's TransformFunc contract: resumed stores may be slim).
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  ClusterIndex, projectEndpointSlice, projectPod, projectService, slimEndpointSlice, slimPod, slimService,
} from '../../../src/dns/cluster-index.ts';

/** The metadata the API server adds to every object; DNS reads none of it beyond the identity. */
function meta(ns: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name, namespace: ns, uid: `uid-${ns}-${name}`, resourceVersion: '4711', generation: 1, creationTimestamp: '2025-01-01T00:00:00Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Thing","metadata":{"name":"x"}}' },
    managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
    ...extra,
  };
}

const service = (name: string, spec: Record<string, unknown>): KubernetesObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: meta('shop', name, { labels: { app: name } }),
  spec: { selector: { app: name }, sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...spec },
  status: { loadBalancer: {} },
} as KubernetesObject);

const slice = (name: string, labels: Record<string, string>, rest: Record<string, unknown>): KubernetesObject => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: meta('shop', name, {
    labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', ...labels },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'db', uid: 'uid-svc', controller: true, blockOwnerDeletion: true }],
    generateName: `${name}-`,
  }),
  ...rest,
} as KubernetesObject);

const endpoint = (ip: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  addresses: [ip], nodeName: 'node-1', zone: 'z1', hints: { forZones: [{ name: 'z1' }] },
  targetRef: { kind: 'Pod', namespace: 'shop', name: `pod-${ip}`, uid: `uid-pod-${ip}` }, ...extra,
});

const pod = (name: string, spec: Record<string, unknown>, status: Record<string, unknown>): KubernetesObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: meta('shop', name, { labels: { app: 'db' }, ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-sts' }] }),
  spec: {
    containers: [{ name: 'pg', image: 'postgres:17', env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data' }], ports: [{ containerPort: 5432 }], resources: {} }],
    volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    nodeName: 'node-1', serviceAccountName: 'default', restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', ...spec,
  },
  status: {
    hostIP: '192.168.0.1', startTime: '2025-01-01T00:00:00Z', qosClass: 'BestEffort',
    containerStatuses: [{ name: 'pg', ready: true, restartCount: 0, image: 'postgres:17', imageID: 'sha256:abc', state: { running: { startedAt: '2025-01-01T00:00:00Z' } } }],
    ...status,
  },
} as KubernetesObject);

const RUNNING_READY = {
  phase: 'Running', podIP: '10.0.0.3', podIPs: [{ ip: '10.0.0.3' }],
  conditions: [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' },
    { type: 'Initialized', status: 'True' }, { type: 'ContainersReady', status: 'True' }, { type: 'Ready', status: 'True', lastProbeTime: null },
  ],
};

/** Field names that must not survive a transform (searched in the slim object's JSON). */
const COMMON_DROPPED = ['managedFields', 'annotations', 'last-applied', 'creationTimestamp', 'generation', 'apiVersion', 'kind'];

const cases: Array<{ name: string; obj: KubernetesObject; slim: (o: KubernetesObject) => KubernetesObject; project: (o: KubernetesObject) => unknown; dropped: string[] }> = [
  {
    name: 'a dual-stack ClusterIP Service keeps its IPs and ports; selector, affinity and status go',
    obj: service('web', { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], ipFamilies: ['IPv4', 'IPv6'], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { port: 81, targetPort: 'metrics' }] }),
    slim: slimService, project: projectService, dropped: ['selector', 'sessionAffinity', 'ipFamilies', 'targetPort', 'labels', 'loadBalancer'],
  },
  {
    name: 'a headless Service keeps publishNotReadyAddresses',
    obj: service('db', { clusterIP: 'None', clusterIPs: ['None'], publishNotReadyAddresses: true, ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }] }),
    slim: slimService, project: projectService, dropped: ['selector', 'internalTrafficPolicy', 'targetPort'],
  },
  {
    name: 'an ExternalName Service keeps its target',
    obj: service('ext', { type: 'ExternalName', externalName: 'db.example.com.' }),
    slim: slimService, project: projectService, dropped: ['selector'],
  },
  {
    name: 'a NodePort Service drops its nodePorts',
    obj: service('np', { type: 'NodePort', clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11'], externalTrafficPolicy: 'Cluster', ports: [{ name: 'http', protocol: 'UDP', port: 53, targetPort: 1053, nodePort: 30053 }] }),
    slim: slimService, project: projectService, dropped: ['nodePort', 'externalTrafficPolicy'],
  },
  {
    name: 'a Service without a spec stays without one',
    obj: { apiVersion: 'v1', kind: 'Service', metadata: meta('shop', 'bare') } as KubernetesObject,
    slim: slimService, project: projectService, dropped: [],
  },
  {
    name: 'an EndpointSlice keeps the service-name label, addresses, hostnames and ready/serving; node, zone, targetRef, hints go',
    obj: slice('db-abc', { 'kubernetes.io/service-name': 'db', 'service.kubernetes.io/headless': '' }, {
      addressType: 'IPv4', ports: [{ name: 'pg', protocol: 'TCP', port: 5432, appProtocol: 'postgresql' }],
      endpoints: [
        endpoint('10.0.0.1', { hostname: 'db-0', conditions: { ready: true, serving: true, terminating: false } }),
        endpoint('10.0.0.2', { conditions: { ready: false, serving: true, terminating: true } }),
        endpoint('10.0.0.4', { conditions: { ready: null, serving: null } }),
        endpoint('10.0.0.5'),
      ],
    }),
    slim: slimEndpointSlice, project: projectEndpointSlice,
    dropped: ['managed-by', 'headless', 'ownerReferences', 'generateName', 'nodeName', 'zone', 'hints', 'targetRef', 'terminating', 'appProtocol'],
  },
  {
    name: 'an IPv6 EndpointSlice with null ports and endpoints',
    obj: slice('v6', { 'kubernetes.io/service-name': 'db' }, { addressType: 'IPv6', ports: null, endpoints: null }),
    slim: slimEndpointSlice, project: projectEndpointSlice, dropped: ['managed-by'],
  },
  {
    name: 'an EndpointSlice of no Service keeps no labels at all',
    obj: slice('orphan', {}, { addressType: 'IPv4', endpoints: [endpoint('10.0.0.6')] }),
    slim: slimEndpointSlice, project: projectEndpointSlice, dropped: ['managed-by', 'service-name'],
  },
  {
    name: 'an FQDN EndpointSlice (never answered) is cut down all the same',
    obj: slice('fqdn', { 'kubernetes.io/service-name': 'db' }, { addressType: 'FQDN', endpoints: [endpoint('db.example.com')] }),
    slim: slimEndpointSlice, project: projectEndpointSlice, dropped: ['nodeName'],
  },
  {
    name: 'a ready StatefulSet pod keeps hostname, subdomain, IPs and its Ready condition; containers and volumes go',
    obj: pod('db-0', { hostname: 'db-0', subdomain: 'db' }, RUNNING_READY),
    slim: slimPod, project: projectPod,
    dropped: ['containers', 'volumes', 'nodeName', 'serviceAccountName', 'hostIP', 'containerStatuses', 'PodScheduled', 'ContainersReady', 'lastProbeTime', 'labels', 'ownerReferences'],
  },
  {
    name: 'a dual-stack pod that is not ready',
    obj: pod('p', {}, { phase: 'Running', podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.7' }, { ip: 'fd00::7' }], conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }] }),
    slim: slimPod, project: projectPod, dropped: ['containers', 'ContainersNotReady'],
  },
  {
    name: 'a host-network pod keeps hostNetwork (so it stays out of DNS)',
    obj: pod('hn', { hostNetwork: true }, RUNNING_READY),
    slim: slimPod, project: projectPod, dropped: ['containers'],
  },
  {
    name: 'a finished pod keeps its phase (so it stays out of DNS)',
    obj: pod('done', {}, { ...RUNNING_READY, phase: 'Succeeded' }),
    slim: slimPod, project: projectPod, dropped: ['containers'],
  },
  {
    name: 'a pending pod without status IPs',
    obj: pod('pending', {}, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] }),
    slim: slimPod, project: projectPod, dropped: ['PodScheduled'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const original = structuredClone(c.obj);
    const slim = c.slim(c.obj);
    t.strictSame(c.project(slim), c.project(c.obj), 'DNS projects the slim object exactly like the whole one');
    const m = c.obj.metadata;
    t.strictSame(slim.metadata, { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, uid: m?.uid, ...('labels' in (slim.metadata ?? {}) ? { labels: slim.metadata?.labels } : {}) },
      'metadata keeps the identity (and, for slices, the service-name label) only');
    const json = JSON.stringify(slim);
    for (const field of [...COMMON_DROPPED, ...c.dropped]) t.notOk(json.includes(field), `${field} is dropped`);
    t.strictSame(c.slim(slim), slim, 'idempotent');
    t.strictSame(c.obj, original, 'the whole object is not changed');
  });
}

t.test('an EndpointSlice keeps exactly one label: kubernetes.io/service-name', async (t) => {
  const slim = slimEndpointSlice(slice('s', { 'kubernetes.io/service-name': 'db', team: 'a' }, { addressType: 'IPv4' }));
  t.strictSame(slim.metadata?.labels, { 'kubernetes.io/service-name': 'db' });
});

t.test('an index fed slim objects, as the reflectors feed it, answers like one fed whole objects', async (t) => {
  const whole = new ClusterIndex();
  const slim = new ClusterIndex();
  for (const c of cases) {
    const feed = c.slim === slimService ? 'applyService' : c.slim === slimPod ? 'applyPod' : 'applyEndpointSlice';
    whole[feed](c.obj, undefined);
    slim[feed](c.slim(c.obj), undefined);
  }
  t.strictSame(slim.counts, whole.counts);
  t.ok(whole.counts.services > 0 && whole.counts.endpointSlices > 0 && whole.counts.pods > 0, 'the cases feed every kind');
  const lookups = (i: ClusterIndex): unknown => ({
    services: ['web', 'db', 'ext', 'np', 'bare'].map((n) => i.service('shop', n)),
    endpoints: i.endpoints('shop', 'db'), ports: i.endpointPorts('shop', 'db'), byHost: i.podsByHostname('db-0', 'db', 'shop'),
    byIP: ['10.96.0.10', 'fd00::10', '10.0.0.1', '10.0.0.3', 'fd00::7'].map((ip) => [i.servicesByIP(ip), i.podsByIP(ip), i.endpointHostnamesByIP(ip)]),
  });
  t.strictSame(lookups(slim), lookups(whole));
  // A delete arrives with the stored (slim) object as `old`: it must find what the whole one added.
  const dbPod = cases.find((c) => c.obj.metadata?.name === 'db-0')?.obj as KubernetesObject;
  slim.applyPod(undefined, slimPod(dbPod));
  t.strictSame(slim.podsByHostname('db-0', 'db', 'shop'), [], 'a delete with the slim old object removes the pod');
});

t.test('an update that leaves what DNS reads as it was is not a change (no listener runs)', async (t) => {
  const index = new ClusterIndex();
  const changes: string[] = [];
  index.onChange((kind, key) => changes.push(`${kind} ${key}`));
  const pod = (rv: string, extra: Record<string, unknown>): KubernetesObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: meta('shop', 'web-0', { resourceVersion: rv }),
    spec: { hostname: 'web-0', subdomain: 'web' },
    status: { phase: 'Running', podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.7' }], conditions: [{ type: 'Ready', status: 'True' }], ...extra },
  } as KubernetesObject);
  const p1 = pod('1', {});
  index.applyPod(p1, undefined);
  const p2 = pod('2', { containerStatuses: [{ name: 'c', restartCount: 3, ready: true }] });
  index.applyPod(p2, p1);
  t.same(changes, ['pod shop/web-0'], 'a container status change: no change for DNS');
  const p3 = pod('3', { conditions: [{ type: 'Ready', status: 'False' }] });
  index.applyPod(p3, p2);
  t.equal(changes.length, 2, 'readiness is a change');
  t.equal(index.podsByHostname('web-0', 'web', 'shop')[0]?.ready, false, 'and is applied');

  const s1 = service('api', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  index.applyService(s1, undefined);
  const s2 = { ...s1, metadata: { ...s1.metadata, resourceVersion: '4712', labels: { app: 'api', tier: 'x' } } } as KubernetesObject;
  index.applyService(s2, s1);
  t.equal(changes.length, 3, 'a label change of a Service: no change for DNS');
  index.applyService(undefined, s2);
  t.equal(changes.length, 4, 'a delete is a change');
  t.equal(index.service('shop', 'api'), undefined);
});

t.test('keys shared by several objects: slices of one Service, two pods on one IP', async (t) => {
  const index = new ClusterIndex();
  index.applyService(service('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }), undefined);
  const slice = (name: string, ip: string): KubernetesObject => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta('shop', name, { labels: { 'kubernetes.io/service-name': 'db' } }),
    addressType: 'IPv4', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }], endpoints: [{ addresses: [ip] }],
  } as KubernetesObject);
  const ips = (): string[] => index.endpoints('shop', 'db').map((e) => e.ip).sort();
  const s1 = slice('db-1', '10.0.0.1');
  const s2 = slice('db-2', '10.0.0.2');
  index.applyEndpointSlice(s1, undefined);
  t.same(ips(), ['10.0.0.1'], 'one slice');
  index.applyEndpointSlice(s2, undefined);
  t.same(ips(), ['10.0.0.1', '10.0.0.2'], 'two slices of one Service');
  index.applyEndpointSlice(undefined, s1);
  t.same(ips(), ['10.0.0.2'], 'the first removed: the other stays');
  index.applyEndpointSlice(s1, undefined);
  t.same(ips(), ['10.0.0.1', '10.0.0.2'], 'added back');
  index.applyEndpointSlice(undefined, s1);
  index.applyEndpointSlice(undefined, s2);
  t.same(ips(), [], 'both removed');

  const pod = (name: string): KubernetesObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: meta('shop', name), spec: {},
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] },
  } as KubernetesObject);
  const names = (): string[] => index.podsByIP('10.244.1.5').map((p) => p.name).sort();
  const a = pod('agent-a');
  const b = pod('agent-b');
  index.applyPod(a, undefined);
  index.applyPod(b, undefined);
  t.same(names(), ['agent-a', 'agent-b'], 'an IP reused before the old pod\'s delete arrived: both');
  index.applyPod(undefined, b);
  t.same(names(), ['agent-a'], 'one left');
  index.applyPod(a, undefined);
  t.same(names(), ['agent-a'], 'the same pod added twice is there once');
  index.applyPod(undefined, a);
  t.same(names(), [], 'none left');
});
