import t from 'tap';
import {
  ENDPOINTSLICE_CONTROLLER, ENDPOINTSLICE_MIRRORING_CONTROLLER, endpointSliceDrift, endpointSliceToHost, endpointsDrift,
  endpointsToHost, isControllerManagedSlice, kubernetesEndpointsFromHost, shouldSyncEndpoints, sliceServiceName,
  type EndpointAddress, type EndpointSlice, type Endpoints, type EndpointSubset,
} from '../../../src/translate/endpoints.ts';
import { ENDPOINTSLICE_MANAGED_BY, ENDPOINTSLICE_MANAGER_VCNET } from '../../../src/translate/keys.ts';
import type { Service } from '../../../src/translate/service.ts';
import * as translate from '../../../src/translate/index.ts';
import { at, deepFreeze, tr } from '../../fixtures/pods/index.ts';

const HNS = 'vcluster-ns';
const MARKER = { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'shop' };
const LEADER = 'control-plane.alpha.kubernetes.io/leader';
const LONG = 'my-very-long-application-service-name-for-testing';
const LONG_HOST = 'my-very-long-application-service-name-for-testing-x--f86413b09c';
const SERVICE_NAME = 'kubernetes.io/service-name';

const podRef = (name: string, namespace?: string) => ({ kind: 'Pod', name, ...(namespace ? { namespace } : {}), uid: `uid-${name}`, resourceVersion: '42' });
const hostPodRef = (name: string) => ({ kind: 'Pod', name, namespace: HNS });

function vEndpoints(subsets: readonly EndpointSubset[] | undefined, meta: Partial<Endpoints['metadata']> = {}): Endpoints {
  return {
    apiVersion: 'v1', kind: 'Endpoints',
    metadata: { name: 'db', namespace: 'shop', uid: 'uid-ep', resourceVersion: '5', ...meta },
    ...(subsets === undefined ? {} : { subsets }),
  };
}

function vSlice(overrides: Partial<EndpointSlice> = {}, labels: Record<string, string> = { [SERVICE_NAME]: 'db' }): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'db-abc', namespace: 'shop', uid: 'uid-slice', labels },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, targetRef: podRef('db-0') }],
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    ...overrides,
  };
}

t.test('endpointsToHost', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: Endpoints;
    readonly opts?: Parameters<typeof endpointsToHost>[2];
    readonly expected?: Readonly<Record<string, unknown>>;
    readonly subsets?: readonly EndpointSubset[] | undefined;
    readonly error?: RegExp;
  }
  const addr = (ip: string, extra: Partial<EndpointAddress> = {}): EndpointAddress => ({ ip, ...extra });
  const cases: Case[] = [
    {
      name: 'translates the name (the host twin of the Service of the same name) and the metadata',
      virtual: vEndpoints([], { labels: { app: 'db' }, annotations: { note: 'n', [LEADER]: '{"holderIdentity":"x"}' } }),
      expected: {
        apiVersion: 'v1', kind: 'Endpoints',
        'metadata.name': 'db-x-shop-x-my-vcluster', 'metadata.namespace': HNS, 'metadata.uid': undefined, 'metadata.resourceVersion': undefined,
        'metadata.labels': { app: 'db', ...MARKER },
        'metadata.annotations.note': 'n',
        'metadata.annotations["vcluster.loft.sh/object-kind"]': '/v1, Kind=Endpoints',
      },
      subsets: [],
    },
    {
      name: 'never copies the leader-election annotation',
      virtual: vEndpoints(undefined, { annotations: { [LEADER]: '{"holderIdentity":"x"}' } }),
      expected: { [`metadata.annotations["${LEADER}"]`]: undefined, 'metadata.annotations["vcluster.loft.sh/managed-annotations"]': undefined },
      subsets: undefined,
    },
    {
      name: 'translates Pod targetRefs of ready and not-ready addresses; uid and resourceVersion go',
      virtual: vEndpoints([{
        addresses: [addr('10.244.1.5', { hostname: 'db-0', nodeName: 'node-1', targetRef: podRef('db-0') })],
        notReadyAddresses: [addr('10.244.1.6', { hostname: 'db-1', nodeName: 'node-2', targetRef: podRef('db-1', 'shop') })],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      }]),
      subsets: [{
        addresses: [addr('10.244.1.5', { hostname: 'db-0', nodeName: 'node-1', targetRef: hostPodRef('db-0-x-shop-x-my-vcluster') })],
        notReadyAddresses: [addr('10.244.1.6', { hostname: 'db-1', nodeName: 'node-2', targetRef: hostPodRef('db-1-x-shop-x-my-vcluster') })],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      }],
    },
    {
      name: 'translates a pod of another virtual namespace with that namespace',
      virtual: vEndpoints([{ addresses: [addr('10.244.2.9', { targetRef: podRef('cache-0', 'infra') })], ports: [{ port: 6379 }] }]),
      subsets: [{ addresses: [addr('10.244.2.9', { targetRef: hostPodRef('cache-0-x-infra-x-my-vcluster') })], ports: [{ port: 6379 }] }],
    },
    {
      name: 'keeps the apiVersion and fieldPath of a Pod reference',
      virtual: vEndpoints([{ addresses: [addr('10.244.2.9', { targetRef: { ...podRef('a'), apiVersion: 'v1', fieldPath: 'spec.containers{app}' } })] }]),
      subsets: [{ addresses: [addr('10.244.2.9', { targetRef: { ...hostPodRef('a-x-shop-x-my-vcluster'), apiVersion: 'v1', fieldPath: 'spec.containers{app}' } })] }],
    },
    {
      name: 'drops targetRefs to anything but a core Pod: they name virtual objects the host does not have',
      virtual: vEndpoints([{
        addresses: [
          addr('10.0.0.1', { targetRef: { kind: 'Node', name: 'node-1' } }),
          addr('10.0.0.2', { targetRef: { kind: 'Pod', apiVersion: 'example.com/v1', name: 'lookalike' } }),
          addr('10.0.0.3', { targetRef: { kind: 'Pod', namespace: 'shop' } }),
          addr('10.0.0.4'),
        ],
      }]),
      subsets: [{ addresses: [addr('10.0.0.1'), addr('10.0.0.2'), addr('10.0.0.3', { targetRef: { kind: 'Pod', namespace: HNS } }), addr('10.0.0.4')] }],
    },
    {
      name: 'copies several subsets and an IPv6 address as they are',
      virtual: vEndpoints([
        { addresses: [addr('fd00::5')], ports: [{ name: 'a', port: 1, appProtocol: 'http' }] },
        { notReadyAddresses: [addr('10.0.0.9')], ports: [{ name: 'b', port: 2, protocol: 'UDP' }] },
      ]),
      subsets: [
        { addresses: [addr('fd00::5')], ports: [{ name: 'a', port: 1, appProtocol: 'http' }] },
        { notReadyAddresses: [addr('10.0.0.9')], ports: [{ name: 'b', port: 2, protocol: 'UDP' }] },
      ],
    },
    {
      name: 'hashes a name longer than 63 characters',
      virtual: vEndpoints([], { name: LONG, namespace: 'production' }),
      expected: { 'metadata.name': LONG_HOST },
      subsets: [],
    },
    {
      name: 'merges with the host metadata: host-added annotations and the host\'s leader annotation stay',
      virtual: vEndpoints([], { annotations: { [LEADER]: 'virtual' } }),
      opts: {
        hMeta: { name: 'db-x-shop-x-my-vcluster', namespace: HNS, labels: { host: 'h' }, annotations: { [LEADER]: 'host', 'host.example.com/a': '1' } },
        owner: { apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'o' },
      },
      expected: {
        'metadata.labels.host': 'h', [`metadata.annotations["${LEADER}"]`]: 'host', 'metadata.annotations["host.example.com/a"]': '1',
        'metadata.ownerReferences': [{ apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'o', controller: false }],
      },
      subsets: [],
    },
    {
      name: 'refuses default/kubernetes, whose endpoints vcnet writes from the host',
      virtual: vEndpoints([], { name: 'kubernetes', namespace: 'default' }),
      error: /default\/kubernetes is not synced/,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze(c.virtual);
      if (c.error) {
        t.throws(() => endpointsToHost(tr, v, c.opts), c.error);
        return;
      }
      const h = endpointsToHost(tr, v, c.opts);
      for (const [path, value] of Object.entries(c.expected ?? {})) t.strictSame(at(h, path), value, path);
      if ('subsets' in c) t.strictSame(h.subsets, c.subsets, 'subsets');
      t.notOk(endpointsDrift(h, h), 'a translation does not drift from itself');
    });
  }
});

t.test('endpointSliceToHost', async (t) => {
  interface Case {
    readonly name: string;
    readonly virtual: EndpointSlice;
    readonly expected?: Readonly<Record<string, unknown>>;
    readonly error?: RegExp;
  }
  const cases: Case[] = [
    {
      name: 'translates the name and ties the slice to the host Service; vcnet manages it',
      virtual: vSlice({}, { [SERVICE_NAME]: 'db', [ENDPOINTSLICE_MANAGED_BY]: 'mariadb-operator', app: 'db' }),
      expected: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        'metadata.name': 'db-abc-x-shop-x-my-vcluster', 'metadata.namespace': HNS, 'metadata.uid': undefined,
        'metadata.labels': { app: 'db', [SERVICE_NAME]: 'db-x-shop-x-my-vcluster', [ENDPOINTSLICE_MANAGED_BY]: 'vcnet.dev', ...MARKER },
        'metadata.annotations["vcluster.loft.sh/object-kind"]': 'discovery.k8s.io/v1, Kind=EndpointSlice',
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, targetRef: hostPodRef('db-0-x-shop-x-my-vcluster') }],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
    },
    {
      name: 'uses the HASHED host Service name for a long Service name (vCluster #4142)',
      virtual: vSlice({ metadata: { name: 'x', namespace: 'production', labels: { [SERVICE_NAME]: LONG } } }),
      expected: { [`metadata.labels["${SERVICE_NAME}"]`]: tr.hostName(LONG, 'production') },
    },
    {
      name: 'copies conditions, hints, zone, nodeName, hostname and unknown endpoint fields',
      virtual: vSlice({
        addressType: 'IPv6',
        endpoints: [
          {
            addresses: ['fd00::5'], conditions: { ready: false, serving: true, terminating: true }, hostname: 'db-0', nodeName: 'node-1',
            zone: 'z1', hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'node-1' }] }, deprecatedTopology: { k: 'v' }, future: 1,
            targetRef: podRef('db-0', 'other'),
          },
          { addresses: ['fd00::6'], targetRef: { kind: 'Service', name: 'x' } },
        ],
        ports: [{ name: '', port: 1, appProtocol: 'h2c' }, {}],
      }),
      expected: {
        addressType: 'IPv6',
        endpoints: [
          {
            addresses: ['fd00::5'], conditions: { ready: false, serving: true, terminating: true }, hostname: 'db-0', nodeName: 'node-1',
            zone: 'z1', hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'node-1' }] }, deprecatedTopology: { k: 'v' }, future: 1,
            targetRef: hostPodRef('db-0-x-other-x-my-vcluster'),
          },
          { addresses: ['fd00::6'] },
        ],
        ports: [{ name: '', port: 1, appProtocol: 'h2c' }, {}],
      },
    },
    {
      name: 'an FQDN slice without endpoints or ports stays so',
      virtual: vSlice({ addressType: 'FQDN', endpoints: undefined, ports: undefined }),
      expected: { addressType: 'FQDN', endpoints: undefined, ports: undefined },
    },
    {
      name: 'an empty slice stays empty',
      virtual: vSlice({ endpoints: [], ports: [] }),
      expected: { endpoints: [], ports: [] },
    },
    {
      name: 'refuses a slice without a kubernetes.io/service-name label',
      virtual: vSlice({}, { app: 'db' }),
      error: /has no kubernetes\.io\/service-name label/,
    },
    {
      name: 'refuses a slice of default/kubernetes',
      virtual: vSlice({ metadata: { name: 'kubernetes-extra', namespace: 'default', labels: { [SERVICE_NAME]: 'kubernetes' } } }),
      error: /belongs to default\/kubernetes/,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const v = deepFreeze(c.virtual);
      if (c.error) {
        t.throws(() => endpointSliceToHost(tr, v), c.error);
        return;
      }
      const h = endpointSliceToHost(tr, v);
      for (const [path, value] of Object.entries(c.expected ?? {})) t.strictSame(at(h, path), value, path);
      t.notOk(endpointSliceDrift(h, h), 'a translation does not drift from itself');
    });
  }

  t.test('keeps host-added labels on update, and overrides service-name and managed-by even if the host changed them', async (t) => {
    const first = endpointSliceToHost(tr, deepFreeze(vSlice()));
    const hMeta = { ...first.metadata, labels: { ...first.metadata.labels, host: 'h', [ENDPOINTSLICE_MANAGED_BY]: 'someone', [SERVICE_NAME]: 'other' } };
    const next = endpointSliceToHost(tr, deepFreeze(vSlice()), { hMeta });
    t.equal(next.metadata.labels?.['host'], 'h');
    t.equal(next.metadata.labels?.[ENDPOINTSLICE_MANAGED_BY], ENDPOINTSLICE_MANAGER_VCNET);
    t.equal(next.metadata.labels?.[SERVICE_NAME], 'db-x-shop-x-my-vcluster');
    t.ok(endpointSliceDrift(next, { ...first, metadata: hMeta }), 'the host edit is drift');
  });
});

t.test('sliceServiceName', async (t) => {
  const cases: Array<{ name: string; labels: Record<string, string> | undefined; expected: string | undefined }> = [
    { name: 'reads the label', labels: { [SERVICE_NAME]: 'db' }, expected: 'db' },
    { name: 'no label', labels: { app: 'x' }, expected: undefined },
    { name: 'an empty label', labels: { [SERVICE_NAME]: '' }, expected: undefined },
    { name: 'no labels at all', labels: undefined, expected: undefined },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(sliceServiceName({ metadata: { ...(c.labels ? { labels: c.labels } : {}) } }), c.expected));
});

t.test('shouldSyncEndpoints', async (t) => {
  const svc = (spec: Service['spec'], name = 'db', namespace = 'shop'): Service => ({ metadata: { name, namespace }, ...(spec ? { spec } : {}) });
  const cases: Array<{ name: string; svc: Service | undefined; expected: boolean }> = [
    { name: 'no Service (yet, or any more): not synced, whichever came first (vCluster #2719)', svc: undefined, expected: false },
    { name: 'a Service with a selector: the host controllers make the endpoints', svc: svc({ selector: { app: 'db' }, ports: [{ port: 1 }] }), expected: false },
    { name: 'a selector-less Service: synced', svc: svc({ ports: [{ port: 1 }] }), expected: true },
    { name: 'an empty selector is no selector: synced', svc: svc({ selector: {}, ports: [{ port: 1 }] }), expected: true },
    { name: 'a headless selector-less Service: synced', svc: svc({ clusterIP: 'None' }), expected: true },
    { name: 'a Service without spec: synced', svc: svc(undefined), expected: true },
    { name: 'default/kubernetes: never (vcnet writes its endpoints from the host)', svc: svc({ ports: [{ port: 443 }] }, 'kubernetes', 'default'), expected: false },
    { name: 'a Service called kubernetes elsewhere is an ordinary Service', svc: svc({ ports: [{ port: 443 }] }, 'kubernetes', 'shop'), expected: true },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(shouldSyncEndpoints(c.svc), c.expected));
});

t.test('isControllerManagedSlice', async (t) => {
  const cases: Array<{ name: string; managedBy: string | undefined; expected: boolean }> = [
    { name: 'made by the EndpointSlice controller from a selector', managedBy: ENDPOINTSLICE_CONTROLLER, expected: true },
    { name: 'mirrored from an Endpoints object', managedBy: ENDPOINTSLICE_MIRRORING_CONTROLLER, expected: true },
    { name: 'made by an operator', managedBy: 'mariadb-operator', expected: false },
    { name: 'made by hand, without the label', managedBy: undefined, expected: false },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const labels = { [SERVICE_NAME]: 'db', ...(c.managedBy === undefined ? {} : { [ENDPOINTSLICE_MANAGED_BY]: c.managedBy }) };
      t.equal(isControllerManagedSlice({ metadata: { labels } }), c.expected);
    });
  }
  t.equal(ENDPOINTSLICE_CONTROLLER, 'endpointslice-controller.k8s.io');
  t.equal(ENDPOINTSLICE_MIRRORING_CONTROLLER, 'endpointslicemirroring-controller.k8s.io');
});

t.test('endpointsDrift', async (t) => {
  const v = deepFreeze(vEndpoints([{ addresses: [{ ip: '10.0.0.1', targetRef: podRef('a') }], ports: [{ name: 'p', port: 80 }] }], { labels: { app: 'db' }, annotations: { note: 'n' } }));
  const desired = endpointsToHost(tr, v);
  /** The host object as its API server returns it: server-set metadata, defaulted protocol. */
  const stored: Endpoints = deepFreeze({
    ...desired,
    metadata: { ...desired.metadata, uid: 'h', resourceVersion: '9', creationTimestamp: '2025-01-01T00:00:00Z', managedFields: [{ manager: 'vcnet' }] },
    subsets: [{ addresses: desired.subsets?.[0]?.addresses ?? [], ports: [{ name: 'p', port: 80, protocol: 'TCP' }] }],
  });
  const withMeta = (m: Partial<Endpoints['metadata']>): Endpoints => ({ ...stored, metadata: { ...stored.metadata, ...m } });
  const cases: Array<{ name: string; actual: Endpoints; drift: boolean }> = [
    { name: 'server-set metadata and the TCP default are not drift', actual: stored, drift: false },
    { name: 'a host-added label or annotation is not drift', actual: withMeta({ labels: { ...stored.metadata.labels, host: 'h' }, annotations: { ...stored.metadata.annotations, 'h/a': '1' } }), drift: false },
    { name: 'a changed address is drift', actual: { ...stored, subsets: [{ addresses: [{ ip: '10.0.0.2' }], ports: [{ name: 'p', port: 80 }] }] }, drift: true },
    { name: 'a missing subset is drift', actual: { ...stored, subsets: [] }, drift: true },
    { name: 'a changed port is drift', actual: { ...stored, subsets: [{ addresses: desired.subsets?.[0]?.addresses ?? [], ports: [{ name: 'p', port: 80, protocol: 'UDP' }] }] }, drift: true },
    { name: 'a missing managed label is drift', actual: withMeta({ labels: MARKER }), drift: true },
    { name: 'a changed managed annotation is drift', actual: withMeta({ annotations: { ...stored.metadata.annotations, note: 'changed' } }), drift: true },
    {
      name: 'a label vcnet copied earlier that the virtual object dropped is drift',
      actual: withMeta({ labels: { ...stored.metadata.labels, old: 'x' }, annotations: { ...stored.metadata.annotations, 'vcluster.loft.sh/managed-labels': 'app\nold' } }),
      drift: true,
    },
    {
      name: 'an annotation vcnet copied earlier that the virtual object dropped is drift',
      actual: withMeta({ annotations: { ...stored.metadata.annotations, gone: 'x', 'vcluster.loft.sh/managed-annotations': 'gone\nnote' } }),
      drift: true,
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(endpointsDrift(desired, c.actual), c.drift));

  t.test('empty and missing subsets are the same', async (t) => {
    t.notOk(endpointsDrift(vEndpoints([]), vEndpoints(undefined)));
  });
});

t.test('endpointSliceDrift', async (t) => {
  const desired = endpointSliceToHost(tr, deepFreeze(vSlice({ ports: [{ port: 5432 }] })));
  const stored: EndpointSlice = deepFreeze({
    ...desired,
    metadata: { ...desired.metadata, uid: 'h', resourceVersion: '3', generation: 1 },
    ports: [{ name: '', port: 5432, protocol: 'TCP' }],
  });
  const cases: Array<{ name: string; actual: EndpointSlice; drift: boolean }> = [
    { name: 'server-set metadata and the port defaults (name "", TCP) are not drift', actual: stored, drift: false },
    { name: 'another addressType is drift', actual: { ...stored, addressType: 'IPv6' }, drift: true },
    { name: 'a changed condition is drift', actual: { ...stored, endpoints: [{ ...desired.endpoints?.[0], addresses: ['10.244.1.5'], conditions: { ready: false } }] }, drift: true },
    { name: 'a changed port is drift', actual: { ...stored, ports: [{ port: 5433 }] }, drift: true },
    { name: 'a host slice with the managed-by label changed is drift', actual: { ...stored, metadata: { ...stored.metadata, labels: { ...stored.metadata.labels, [ENDPOINTSLICE_MANAGED_BY]: 'x' } } }, drift: true },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(endpointSliceDrift(desired, c.actual), c.drift));
});

t.test('kubernetesEndpointsFromHost (§3.3)', async (t) => {
  const hSvc = (ipFamilies?: Array<'IPv4' | 'IPv6'>): Service => ({
    metadata: { name: 'my-vcluster', namespace: HNS },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 8443 }], ...(ipFamilies ? { ipFamilies } : {}) },
  });
  const hEp = (subsets: EndpointSubset[]): Endpoints => ({ metadata: { name: 'my-vcluster', namespace: HNS }, subsets });
  const epMeta = { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } };
  const sliceMeta = { name: 'kubernetes', namespace: 'default', labels: { [SERVICE_NAME]: 'kubernetes', [ENDPOINTSLICE_MANAGED_BY]: 'vcnet.dev' } };
  const https = { name: 'https', port: 8443, protocol: 'TCP' as const };
  const hostPod = (ip: string, name: string): EndpointAddress => ({ ip, hostname: name, nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: HNS, name, uid: 'u' } });

  interface Case {
    readonly name: string;
    readonly hEndpoints: Endpoints | undefined;
    readonly hSvc: Service;
    readonly endpoints: Endpoints;
    readonly slice: EndpointSlice;
  }
  const cases: Case[] = [
    {
      name: 'copies the vcnet pod IPs without hostname, nodeName and targetRef; only the https port',
      hEndpoints: hEp([{
        addresses: [hostPod('10.244.0.5', 'vcnet-0'), hostPod('10.244.0.6', 'vcnet-1')],
        notReadyAddresses: [hostPod('10.244.0.7', 'vcnet-2')],
        ports: [{ name: 'kubelet', port: 8443, protocol: 'TCP' }, { name: 'https', port: 8443, protocol: 'TCP' }],
      }]),
      hSvc: hSvc(['IPv4']),
      endpoints: {
        apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta,
        subsets: [{ addresses: [{ ip: '10.244.0.5' }, { ip: '10.244.0.6' }], notReadyAddresses: [{ ip: '10.244.0.7' }], ports: [https] }],
      },
      slice: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.244.0.5'], conditions: { ready: true } }, { addresses: ['10.244.0.6'], conditions: { ready: true } },
          { addresses: ['10.244.0.7'], conditions: { ready: false } },
        ],
        ports: [https],
      },
    },
    {
      name: 'without host Endpoints: no subsets and an empty slice, no error',
      hEndpoints: undefined,
      hSvc: hSvc(),
      endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta },
      slice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv4', endpoints: [], ports: [] },
    },
    {
      name: 'host subsets without an https port contribute nothing',
      hEndpoints: hEp([{ addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'metrics', port: 8080 }] }, { addresses: [{ ip: '10.244.0.9' }] }]),
      hSvc: hSvc(),
      endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta },
      slice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv4', endpoints: [], ports: [] },
    },
    {
      name: 'an https port without addresses gives no subset',
      hEndpoints: hEp([{ ports: [{ name: 'https', port: 8443 }] }]),
      hSvc: hSvc(),
      endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta },
      slice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv4', endpoints: [], ports: [] },
    },
    {
      name: 'subsets with the same https port merge, duplicates once; another port number is a subset of its own',
      hEndpoints: hEp([
        { addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'https', port: 8443 }] },
        { addresses: [{ ip: '10.244.0.5' }, { ip: '10.244.0.6' }], notReadyAddresses: [{ ip: '10.244.0.8' }, { ip: '10.244.0.8' }], ports: [{ name: 'https', port: 8443, protocol: 'TCP' }] },
        { addresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'https', port: 9443 }] },
      ]),
      hSvc: hSvc(),
      endpoints: {
        apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta,
        subsets: [
          { addresses: [{ ip: '10.244.0.5' }, { ip: '10.244.0.6' }], notReadyAddresses: [{ ip: '10.244.0.8' }], ports: [https] },
          { addresses: [{ ip: '10.244.0.7' }], ports: [{ ...https, port: 9443 }] },
        ],
      },
      slice: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.244.0.5'], conditions: { ready: true } }, { addresses: ['10.244.0.6'], conditions: { ready: true } },
          { addresses: ['10.244.0.8'], conditions: { ready: false } },
        ],
        ports: [https],
      },
    },
    {
      name: 'an IPv6 host: the slice is IPv6, from the address when the Service has no ipFamilies',
      hEndpoints: hEp([{ notReadyAddresses: [{ ip: 'fd00::5' }], ports: [{ name: 'https', port: 8443 }] }]),
      hSvc: hSvc(),
      endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta, subsets: [{ notReadyAddresses: [{ ip: 'fd00::5' }], ports: [https] }] },
      slice: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv6',
        endpoints: [{ addresses: ['fd00::5'], conditions: { ready: false } }], ports: [https],
      },
    },
    {
      name: 'the slice holds only addresses of the Service\'s primary family',
      hEndpoints: hEp([{ addresses: [{ ip: '10.244.0.5' }, { ip: 'fd00::5' }], ports: [{ name: 'https', port: 8443 }] }]),
      hSvc: hSvc(['IPv6', 'IPv4']),
      endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: epMeta, subsets: [{ addresses: [{ ip: '10.244.0.5' }, { ip: 'fd00::5' }], ports: [https] }] },
      slice: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: sliceMeta, addressType: 'IPv6',
        endpoints: [{ addresses: ['fd00::5'], conditions: { ready: true } }], ports: [https],
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const out = kubernetesEndpointsFromHost(c.hEndpoints === undefined ? undefined : deepFreeze(c.hEndpoints), deepFreeze(c.hSvc));
      t.strictSame(out.endpoints, c.endpoints, 'endpoints');
      t.strictSame(out.slice, c.slice, 'slice');
      // As the virtual API server would store them: with uid and resourceVersion; still no drift.
      const stored = <T extends { metadata: Endpoints['metadata'] }>(o: T): T => ({ ...o, metadata: { ...o.metadata, uid: 'v', resourceVersion: '1' } });
      t.notOk(endpointsDrift(out.endpoints, stored(out.endpoints)), 'the stored Endpoints does not drift');
      t.notOk(endpointSliceDrift(out.slice, stored(out.slice)), 'the stored slice does not drift');
    });
  }
});

t.test('the translate index exports the Endpoints API', async (t) => {
  for (const name of ['endpointsToHost', 'endpointSliceToHost', 'sliceServiceName', 'shouldSyncEndpoints', 'isControllerManagedSlice',
    'endpointsDrift', 'endpointSliceDrift', 'kubernetesEndpointsFromHost']) {
    t.type((translate as Record<string, unknown>)[name], 'function', name);
  }
});
