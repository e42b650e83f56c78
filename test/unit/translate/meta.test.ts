import t from 'tap';
import { Translator } from '../../../src/translate/names.ts';
import {
  KINDS, gvkString, isManagedBy, mergeAnnotationsBidirectional, mergeBidirectional, mergeLabelsBidirectional,
  mergeManagedAnnotations, notManagedReason, objectAnnotations, toHostAnnotations, toHostObjectMeta,
  toVirtualAnnotations, virtualRefOf,
} from '../../../src/translate/meta.ts';
import type { ObjectMeta, TypeMeta } from '../../../src/translate/types.ts';

const tr = new Translator({ vcluster: 'my-vcluster', hostNamespace: 'vcluster-ns' });
const H_RELEASE = 'vcluster.loft.sh/label-my-vcluster-x-a4d451ec23';
const NS_METADATA_NAME = 'vcluster.loft.sh/ns-label-my-vcluster-x-cf1227b7b2';
const NS_TEAM = 'vcluster.loft.sh/ns-label-my-vcluster-x-ca8b22d0db';

t.test('gvkString gives Go\'s GroupVersionKind.String()', async (t) => {
  const cases: Array<{ name: string; apiVersion: string; kind: string; expected?: string; error?: RegExp }> = [
    { name: 'core kinds have an empty group', apiVersion: 'v1', kind: 'Pod', expected: '/v1, Kind=Pod' },
    { name: 'Services are core too', apiVersion: 'v1', kind: 'Service', expected: '/v1, Kind=Service' },
    { name: 'grouped kinds carry their group', apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', expected: 'networking.k8s.io/v1, Kind=Ingress' },
    { name: 'EndpointSlices are in discovery.k8s.io', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', expected: 'discovery.k8s.io/v1, Kind=EndpointSlice' },
    { name: 'rejects an empty apiVersion', apiVersion: '', kind: 'Pod', error: /invalid apiVersion ""/ },
    { name: 'rejects an apiVersion with two slashes', apiVersion: 'a/b/c', kind: 'Pod', error: /invalid apiVersion "a\/b\/c"/ },
    { name: 'rejects an empty group', apiVersion: '/v1', kind: 'Pod', error: /invalid apiVersion/ },
    { name: 'rejects an empty kind', apiVersion: 'v1', kind: '', error: /kind ""/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      if (c.error) t.throws(() => gvkString(c.apiVersion, c.kind), c.error);
      else t.equal(gvkString(c.apiVersion, c.kind), c.expected);
    });
  }
});

// A virtual pod's metadata as the validating webhook sees it: everything the API server fills in is set.
const vPodMeta: ObjectMeta = Object.freeze({
  name: 'web-0',
  generateName: 'web-',
  namespace: 'prod',
  selfLink: '/api/v1/namespaces/prod/pods/web-0',
  uid: '6b2b7c43-4c1a-4a8e-9a57-0f3b8f1d9c21',
  resourceVersion: '4711',
  generation: 3,
  creationTimestamp: '2025-01-02T03:04:05Z',
  deletionTimestamp: '2025-01-02T03:05:05Z',
  deletionGracePeriodSeconds: 30,
  labels: { app: 'web', release: 'stable' },
  annotations: { 'b.example.com/two': '2', 'a.example.com/one': '1', 'vcluster.loft.sh/object-name': 'spoofed' },
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-uid', controller: true, blockOwnerDeletion: true }],
  finalizers: ['example.com/keep'],
  managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2025-01-02T03:04:05Z', fieldsType: 'FieldsV1', fieldsV1: {} }],
});
const hPodName = 'web-0-x-prod-x-my-vcluster';
const owner = { apiVersion: 'v1', kind: 'Service', name: 'my-vcluster', uid: 'vc-svc-uid' };

t.test('toHostObjectMeta', async (t) => {
  const cases: Array<{ name: string; vMeta: ObjectMeta; kind: TypeMeta; opts?: Parameters<typeof toHostObjectMeta>[3]; expected: ObjectMeta }> = [
    {
      name: 'translates a pod and resets everything the host must assign itself',
      vMeta: vPodMeta, kind: KINDS.Pod, opts: { vNamespaceLabels: { 'kubernetes.io/metadata.name': 'prod' } },
      expected: {
        name: hPodName,
        namespace: 'vcluster-ns',
        labels: {
          app: 'web', [H_RELEASE]: 'stable', 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod',
          [NS_METADATA_NAME]: 'prod',
        },
        annotations: {
          'a.example.com/one': '1', 'b.example.com/two': '2',
          'vcluster.loft.sh/managed-annotations': 'a.example.com/one\nb.example.com/two',
          'vcluster.loft.sh/object-name': 'web-0',
          'vcluster.loft.sh/object-namespace': 'prod',
          'vcluster.loft.sh/object-uid': '6b2b7c43-4c1a-4a8e-9a57-0f3b8f1d9c21',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Pod',
          'vcluster.loft.sh/object-host-name': hPodName,
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
      },
    },
    {
      name: 'points the owner reference at the vCluster Service, controller = the virtual object has a controller',
      vMeta: { name: 'web-0', namespace: 'prod', uid: 'u', ownerReferences: vPodMeta.ownerReferences }, kind: KINDS.Pod, opts: { owner },
      expected: {
        name: hPodName, namespace: 'vcluster-ns',
        labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' },
        annotations: {
          'vcluster.loft.sh/object-name': 'web-0', 'vcluster.loft.sh/object-namespace': 'prod', 'vcluster.loft.sh/object-uid': 'u',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Pod', 'vcluster.loft.sh/object-host-name': hPodName,
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
        ownerReferences: [{ ...owner, controller: true }],
      },
    },
    {
      name: 'sets controller false in the owner reference of an object without a controller',
      vMeta: { name: 'web', namespace: 'prod', uid: 'u' }, kind: KINDS.Service, opts: { owner },
      expected: {
        name: 'web-x-prod-x-my-vcluster', namespace: 'vcluster-ns',
        labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' },
        annotations: {
          'vcluster.loft.sh/object-name': 'web', 'vcluster.loft.sh/object-namespace': 'prod', 'vcluster.loft.sh/object-uid': 'u',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Service', 'vcluster.loft.sh/object-host-name': 'web-x-prod-x-my-vcluster',
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
        ownerReferences: [{ ...owner, controller: false }],
      },
    },
    {
      name: 'writes an empty object-uid before the API server assigned one (host-first Services)',
      vMeta: { name: 'web', namespace: 'prod' }, kind: KINDS.Service,
      expected: {
        name: 'web-x-prod-x-my-vcluster', namespace: 'vcluster-ns',
        labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' },
        annotations: {
          'vcluster.loft.sh/object-name': 'web', 'vcluster.loft.sh/object-namespace': 'prod', 'vcluster.loft.sh/object-uid': '',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Service', 'vcluster.loft.sh/object-host-name': 'web-x-prod-x-my-vcluster',
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
      },
    },
    {
      name: 'translates a cluster-scoped object without namespace annotations or owner',
      vMeta: { name: 'public', uid: 'ic-uid', labels: { a: 'b' } }, kind: KINDS.IngressClass, opts: { owner },
      expected: {
        name: 'vcluster-public-x-vcluster-ns-x-my-vcluster',
        labels: { a: 'b', 'vcluster.loft.sh/managed-by': 'vcluster-ns-x-my-vcluster' },
        annotations: {
          'vcluster.loft.sh/object-name': 'public', 'vcluster.loft.sh/object-uid': 'ic-uid',
          'vcluster.loft.sh/object-kind': 'networking.k8s.io/v1, Kind=IngressClass',
          'vcluster.loft.sh/object-host-name': 'vcluster-public-x-vcluster-ns-x-my-vcluster',
        },
      },
    },
    {
      name: 'keeps host-added annotations and the controlled-by label of the current host object',
      vMeta: { name: 'web', namespace: 'prod', uid: 'u', annotations: { kept: 'v2' } }, kind: KINDS.Service,
      opts: {
        hMeta: {
          labels: { 'vcluster.loft.sh/controlled-by': 'vcluster' },
          annotations: {
            kept: 'v1', removed: 'x', 'host.example.com/added': 'yes',
            'vcluster.loft.sh/managed-annotations': 'kept\nremoved',
          },
        },
      },
      expected: {
        name: 'web-x-prod-x-my-vcluster', namespace: 'vcluster-ns',
        labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod', 'vcluster.loft.sh/controlled-by': 'vcluster' },
        annotations: {
          kept: 'v2', 'host.example.com/added': 'yes', 'vcluster.loft.sh/managed-annotations': 'kept',
          'vcluster.loft.sh/object-name': 'web', 'vcluster.loft.sh/object-namespace': 'prod', 'vcluster.loft.sh/object-uid': 'u',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Service', 'vcluster.loft.sh/object-host-name': 'web-x-prod-x-my-vcluster',
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
      },
    },
    {
      name: 'translates a Pod called kubernetes in default like any other pod',
      vMeta: { name: 'kubernetes', namespace: 'default', uid: 'u' }, kind: KINDS.Pod,
      expected: {
        name: 'kubernetes-x-default-x-my-vcluster', namespace: 'vcluster-ns',
        labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'default' },
        annotations: {
          'vcluster.loft.sh/object-name': 'kubernetes', 'vcluster.loft.sh/object-namespace': 'default', 'vcluster.loft.sh/object-uid': 'u',
          'vcluster.loft.sh/object-kind': '/v1, Kind=Pod', 'vcluster.loft.sh/object-host-name': 'kubernetes-x-default-x-my-vcluster',
          'vcluster.loft.sh/object-host-namespace': 'vcluster-ns',
        },
      },
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.strictSame(toHostObjectMeta(tr, c.vMeta, c.kind, c.opts), c.expected));

  const errors: Array<{ name: string; vMeta: ObjectMeta; kind: TypeMeta; error: RegExp }> = [
    { name: 'refuses an object whose name is not generated yet', vMeta: { generateName: 'web-', namespace: 'prod' }, kind: KINDS.Pod, error: /Pod without metadata.name.*generateName "web-"/ },
    { name: 'refuses the default/kubernetes Service', vMeta: { name: 'kubernetes', namespace: 'default' }, kind: KINDS.Service, error: /default\/kubernetes is not synced.*vcluster-ns\/my-vcluster/ },
    { name: 'refuses the default/kubernetes Endpoints', vMeta: { name: 'kubernetes', namespace: 'default' }, kind: KINDS.Endpoints, error: /Endpoints default\/kubernetes/ },
    { name: 'refuses the default/kubernetes EndpointSlice', vMeta: { name: 'kubernetes', namespace: 'default' }, kind: KINDS.EndpointSlice, error: /EndpointSlice default\/kubernetes/ },
  ];
  for (const c of errors) t.test(c.name, async (t) => t.throws(() => toHostObjectMeta(tr, c.vMeta, c.kind), c.error));

  t.test('hashes a long name and records the hashed name as object-host-name', async (t) => {
    const got = toHostObjectMeta(tr, { name: 'my-very-long-application-service-name-for-testing', namespace: 'production' }, KINDS.Service);
    t.equal(got.name, 'my-very-long-application-service-name-for-testing-x--f86413b09c');
    t.equal(got.annotations?.['vcluster.loft.sh/object-host-name'], got.name);
    t.equal(got.annotations?.['vcluster.loft.sh/object-name'], 'my-very-long-application-service-name-for-testing');
  });
});

t.test('mergeManagedAnnotations', async (t) => {
  const cases: Array<{ name: string; v?: Record<string, string>; h?: Record<string, string>; exclude?: string[]; expected: Record<string, string> }> = [
    { name: 'records nothing when the virtual object has no annotations', expected: {} },
    {
      name: 'lists the copied keys sorted on create',
      v: { zeta: '1', alpha: '2', 'm/x': '3' },
      expected: { zeta: '1', alpha: '2', 'm/x': '3', 'vcluster.loft.sh/managed-annotations': 'alpha\nm/x\nzeta' },
    },
    {
      name: 'replaces changed values and removes keys the virtual object dropped',
      v: { a: 'new' },
      h: { a: 'old', b: 'gone', 'vcluster.loft.sh/managed-annotations': 'a\nb' },
      expected: { a: 'new', 'vcluster.loft.sh/managed-annotations': 'a' },
    },
    {
      name: 'keeps annotations a host controller added',
      v: { a: '1' },
      h: { a: '1', 'cni.projectcalico.org/podIP': '10.0.0.5/32', 'vcluster.loft.sh/managed-annotations': 'a' },
      expected: { a: '1', 'cni.projectcalico.org/podIP': '10.0.0.5/32', 'vcluster.loft.sh/managed-annotations': 'a' },
    },
    {
      name: 'removes the list once the virtual object has no annotations left',
      v: {}, h: { a: '1', 'vcluster.loft.sh/managed-annotations': 'a' },
      expected: {},
    },
    {
      name: 'never copies vcnet\'s own keys from the virtual object, and keeps the host\'s',
      v: { 'vcluster.loft.sh/object-name': 'evil', 'vcluster.loft.sh/managed-annotations': 'x', 'vcluster.loft.sh/managed-labels': 'y', a: '1' },
      h: { 'vcluster.loft.sh/object-name': 'web', 'vcluster.loft.sh/managed-labels': 'app' },
      expected: { a: '1', 'vcluster.loft.sh/object-name': 'web', 'vcluster.loft.sh/managed-labels': 'app', 'vcluster.loft.sh/managed-annotations': 'a' },
    },
    {
      name: 'leaves excluded keys to the host',
      v: { 'vcluster.loft.sh/name': 'spoof', a: '1' }, h: { 'vcluster.loft.sh/name': 'web-0' }, exclude: ['vcluster.loft.sh/name'],
      expected: { a: '1', 'vcluster.loft.sh/name': 'web-0', 'vcluster.loft.sh/managed-annotations': 'a' },
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.same(mergeManagedAnnotations(c.v, c.h, c.exclude), c.expected));
});

t.test('toHostAnnotations drops namespace annotations left on a cluster-scoped host object', async (t) => {
  const got = toHostAnnotations(tr, { name: 'public', uid: 'u' }, KINDS.IngressClass, {
    'vcluster.loft.sh/object-namespace': 'stale', 'vcluster.loft.sh/object-host-namespace': 'stale',
  });
  t.equal(got['vcluster.loft.sh/object-namespace'], undefined);
  t.equal(got['vcluster.loft.sh/object-host-namespace'], undefined);
  t.equal(got['vcluster.loft.sh/object-name'], 'public');
});

t.test('toVirtualAnnotations leaves vcnet\'s keys on the host', async (t) => {
  t.same(toVirtualAnnotations({ a: '1', 'vcluster.loft.sh/object-name': 'x', 'vcluster.loft.sh/managed-annotations': 'a', skip: 's' }, ['skip']), { a: '1' });
});

// The host object vcnet itself would create: the base of the ownership tables.
const hPod: ObjectMeta = toHostObjectMeta(tr, vPodMeta, KINDS.Pod);
function withMeta(patch: { name?: string; namespace?: string; labels?: Record<string, string | undefined>; annotations?: Record<string, string | undefined> }): ObjectMeta {
  const strip = (m: Record<string, string | undefined>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return {
    name: patch.name ?? hPod.name,
    namespace: patch.namespace ?? hPod.namespace,
    labels: strip({ ...hPod.labels, ...patch.labels }),
    annotations: strip({ ...hPod.annotations, ...patch.annotations }),
  };
}

t.test('isManagedBy: is this host object ours?', async (t) => {
  const cases: Array<{ name: string; hMeta: ObjectMeta; kind?: TypeMeta; reason?: RegExp }> = [
    { name: 'accepts the host object vcnet created', hMeta: hPod },
    { name: 'accepts it without the optional kind and host-name annotations', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-kind': undefined, 'vcluster.loft.sh/object-host-name': undefined, 'vcluster.loft.sh/object-host-namespace': undefined } }) },
    { name: 'rejects an object in another namespace', hMeta: withMeta({ namespace: 'other-ns' }), reason: /namespace "other-ns", not in the host namespace "vcluster-ns"/ },
    { name: 'rejects an object of another vCluster', hMeta: withMeta({ labels: { 'vcluster.loft.sh/managed-by': 'other' } }), reason: /managed-by label is "other", not "my-vcluster"/ },
    { name: 'rejects an object without the marker label', hMeta: withMeta({ labels: { 'vcluster.loft.sh/managed-by': undefined } }), reason: /managed-by label is null/ },
    { name: 'rejects an object without object-name', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-name': undefined } }), reason: /no vcluster.loft.sh\/object-name annotation/ },
    { name: 'rejects an object without object-namespace', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-namespace': undefined } }), reason: /no vcluster.loft.sh\/object-namespace annotation/ },
    { name: 'rejects an object whose annotations translate to another name', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-name': 'web-1' } }), reason: /prod\/web-1 translates to "web-1-x-prod-x-my-vcluster", not to its name "web-0-x-prod-x-my-vcluster"/ },
    { name: 'rejects an object of another kind', hMeta: hPod, kind: KINDS.Service, reason: /object-kind annotation is "\/v1, Kind=Pod", not "\/v1, Kind=Service"/ },
    { name: 'rejects a mismatched object-host-name', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-host-name': 'renamed' } }), reason: /object-host-name annotation is "renamed"/ },
    { name: 'rejects a mismatched object-host-namespace', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-host-namespace': 'moved' } }), reason: /object-host-namespace annotation is "moved"/ },
    {
      name: 'never claims the vCluster\'s own Service, for which default/kubernetes stands',
      hMeta: { name: 'my-vcluster', namespace: 'vcluster-ns', labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster' }, annotations: { 'vcluster.loft.sh/object-name': 'kubernetes', 'vcluster.loft.sh/object-namespace': 'default' } },
      kind: KINDS.Service, reason: /translates to "kubernetes-x-default-x-my-vcluster"/,
    },
    {
      name: 'accepts a cluster-scoped object with the cluster marker',
      hMeta: toHostObjectMeta(tr, { name: 'public', uid: 'u' }, KINDS.IngressClass), kind: KINDS.IngressClass,
    },
    {
      name: 'rejects a cluster-scoped object with the namespaced marker',
      hMeta: { ...toHostObjectMeta(tr, { name: 'public', uid: 'u' }, KINDS.IngressClass), labels: { 'vcluster.loft.sh/managed-by': 'my-vcluster' } },
      kind: KINDS.IngressClass, reason: /not "vcluster-ns-x-my-vcluster"/,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const kind = c.kind ?? KINDS.Pod;
      t.equal(isManagedBy(tr, c.hMeta, kind), c.reason === undefined);
      if (c.reason === undefined) t.equal(notManagedReason(tr, c.hMeta, kind), undefined);
      else t.match(notManagedReason(tr, c.hMeta, kind), c.reason);
    });
  }
});

t.test('virtualRefOf trusts the annotations only when they are consistent', async (t) => {
  const hLong = toHostObjectMeta(tr, { name: 'my-very-long-application-service-name-for-testing', namespace: 'production', uid: 'u' }, KINDS.Service);
  const cases: Array<{ name: string; hMeta: ObjectMeta; kind?: TypeMeta; expected: { name: string; namespace: string } | undefined }> = [
    { name: 'resolves the pod vcnet created', hMeta: hPod, expected: { name: 'web-0', namespace: 'prod' } },
    { name: 'resolves a hashed name that cannot be reversed', hMeta: hLong, kind: KINDS.Service, expected: { name: 'my-very-long-application-service-name-for-testing', namespace: 'production' } },
    {
      name: 'resolves a cluster-scoped object to an empty namespace',
      hMeta: toHostObjectMeta(tr, { name: 'public', uid: 'u' }, KINDS.IngressClass), kind: KINDS.IngressClass,
      expected: { name: 'public', namespace: '' },
    },
    { name: 'distrusts another vCluster\'s marker', hMeta: withMeta({ labels: { 'vcluster.loft.sh/managed-by': 'other' } }), expected: undefined },
    { name: 'distrusts an object outside the host namespace', hMeta: withMeta({ namespace: 'x', annotations: { 'vcluster.loft.sh/object-host-namespace': 'x' } }), expected: undefined },
    { name: 'distrusts another kind', hMeta: hPod, kind: KINDS.Service, expected: undefined },
    { name: 'distrusts a missing object-kind', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-kind': undefined } }), expected: undefined },
    { name: 'distrusts a copied object (host name differs)', hMeta: withMeta({ name: 'copy' }), expected: undefined },
    { name: 'distrusts a missing object-host-name', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-host-name': undefined } }), expected: undefined },
    { name: 'distrusts a mismatched object-host-namespace', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-host-namespace': 'elsewhere' } }), expected: undefined },
    { name: 'gives nothing without object-name', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-name': undefined } }), expected: undefined },
    { name: 'gives nothing without object-namespace', hMeta: withMeta({ annotations: { 'vcluster.loft.sh/object-namespace': undefined } }), expected: undefined },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.same(virtualRefOf(tr, c.hMeta, c.kind ?? KINDS.Pod), c.expected));
});

t.test('mergeBidirectional (§1.4)', async (t) => {
  type M = Record<string, string> | undefined;
  const cases: Array<{ name: string; vOld: M; vNew: M; hOld: M; hNew: M; toHost: Record<string, string>; toVirtual: Record<string, string> }> = [
    { name: 'changes nothing when neither side changed', vOld: { a: '1' }, vNew: { a: '1' }, hOld: { a: '1', h: 'x' }, hNew: { a: '1', h: 'x' }, toHost: { a: '1', h: 'x' }, toVirtual: { a: '1' } },
    { name: 'copies a virtual addition to the host', vOld: {}, vNew: { a: '1' }, hOld: { h: 'x' }, hNew: { h: 'x' }, toHost: { a: '1', h: 'x' }, toVirtual: { a: '1' } },
    { name: 'copies a virtual change and removal to the host, key by key', vOld: { a: '1', b: '2' }, vNew: { a: '9' }, hOld: { a: '1', b: '2', h: 'x' }, hNew: { a: '1', b: '2', h: 'x' }, toHost: { a: '9', h: 'x' }, toVirtual: { a: '9' } },
    { name: 'copies a host change to the virtual side', vOld: { a: '1' }, vNew: { a: '1' }, hOld: { a: '1' }, hNew: { a: '1', h: 'x' }, toHost: { a: '1', h: 'x' }, toVirtual: { a: '1', h: 'x' } },
    { name: 'copies a host removal to the virtual side', vOld: { a: '1' }, vNew: { a: '1' }, hOld: { a: '1' }, hNew: {}, toHost: {}, toVirtual: {} },
    { name: 'prefers the virtual change when both sides changed', vOld: { a: '1' }, vNew: { a: '2' }, hOld: { a: '1' }, hNew: { a: '3', h: 'x' }, toHost: { a: '2', h: 'x' }, toVirtual: { a: '2' } },
    { name: 'treats a missing map as an empty one', vOld: undefined, vNew: {}, hOld: undefined, hNew: { h: 'x' }, toHost: { h: 'x' }, toVirtual: { h: 'x' } },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const got = mergeBidirectional(c.vOld, c.vNew, c.hOld, c.hNew);
      t.same(got.toHost, c.toHost);
      t.same(got.toVirtual, c.toVirtual);
    });
  }
  t.test('never edits its inputs', async (t) => {
    const hNew = Object.freeze({ a: '1' });
    const got = mergeBidirectional({}, { b: '2' }, { a: '1' }, hNew);
    t.not(got.toHost, hNew);
    t.same(hNew, { a: '1' });
  });
});

t.test('mergeLabelsBidirectional translates keys and keeps the markers', async (t) => {
  const marker = { 'vcluster.loft.sh/managed-by': 'my-vcluster', 'vcluster.loft.sh/namespace': 'prod' };
  const cases: Array<{ name: string; input: Parameters<typeof mergeLabelsBidirectional>[1]; toHost: Record<string, string>; toVirtual: Record<string, string> }> = [
    {
      name: 'copies a virtual special key to the host hashed',
      input: { vOld: { app: 'web' }, vNew: { app: 'web', release: 'r' }, hOld: { app: 'web', ...marker }, hNew: { app: 'web', ...marker }, vNamespace: 'prod' },
      toHost: { app: 'web', [H_RELEASE]: 'r', ...marker }, toVirtual: { app: 'web', release: 'r' },
    },
    {
      name: 'copies a host label to the virtual side, and a hashed key back to its original',
      input: { vOld: {}, vNew: {}, hOld: marker, hNew: { ...marker, team: 'a', [H_RELEASE]: 'r' }, vNamespace: 'prod' },
      toHost: { ...marker, team: 'a', [H_RELEASE]: 'r' }, toVirtual: { team: 'a', release: 'r' },
    },
    {
      name: 'does not copy ns-labels or markers added on the host back',
      input: { vOld: {}, vNew: {}, hOld: {}, hNew: { [NS_TEAM]: 'a', 'vcluster.loft.sh/controlled-by': 'x' }, vNamespace: 'prod' },
      toHost: { [NS_TEAM]: 'a', 'vcluster.loft.sh/controlled-by': 'x', ...marker }, toVirtual: {},
    },
    {
      name: 'restores a marker label removed on the host',
      input: { vOld: { a: '1' }, vNew: { a: '1' }, hOld: { a: '1', ...marker }, hNew: { a: '1' }, vNamespace: 'prod' },
      toHost: { a: '1', ...marker }, toVirtual: { a: '1' },
    },
    {
      name: 'recomputes the namespace labels of a pod',
      input: {
        vOld: { a: '1' }, vNew: { a: '1' }, hOld: { a: '1', ...marker, [NS_TEAM]: 'old' }, hNew: { a: '1', ...marker, [NS_TEAM]: 'old' },
        vNamespace: 'prod', vNamespaceLabels: { 'kubernetes.io/metadata.name': 'prod' },
      },
      toHost: { a: '1', ...marker, [NS_METADATA_NAME]: 'prod' }, toVirtual: { a: '1' },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const got = mergeLabelsBidirectional(tr, c.input);
      t.same(got.toHost, c.toHost);
      t.same(got.toVirtual, c.toVirtual);
    });
  }
});

t.test('mergeAnnotationsBidirectional never moves vcnet\'s own keys', async (t) => {
  const own = objectAnnotations(tr, vPodMeta, KINDS.Pod);
  const got = mergeAnnotationsBidirectional({}, {}, own, { ...own, 'vcluster.loft.sh/object-name': 'edited', note: 'hi', skip: 'x' }, ['skip']);
  t.same(got.toVirtual, { note: 'hi' });
  const back = mergeAnnotationsBidirectional({}, { 'vcluster.loft.sh/object-uid': 'evil', note: 'v' }, {}, own);
  t.same(back.toHost, { ...own, note: 'v' }, 'a virtual object cannot overwrite object-uid');
});
