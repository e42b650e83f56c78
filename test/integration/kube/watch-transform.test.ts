// The reflector's transform (client-go's SharedIndexInformer.SetTransform) against a real
// kube-apiserver: the store holds only what the transform returns, events carry those same objects,
// and a re-list after a real 410 still turns the (transformed) store into a fresh LIST with the
// right adds, updates and deletes, because the diff reads only name, namespace, resourceVersion and
// uid, which the transform keeps.
//
// The 410 comes from a CustomResourceDefinition made for this test: the API server's watch cache of
// a new resource starts at the etcd revision of its first LIST, so a watch from resourceVersion "1"
// is "too old" at once (no churn needed, unlike watch-expired.test.ts).
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients, loadKubeConfig } from '../../../src/kube/client.ts';
import { KubeTransport } from '../../../src/kube/http.ts';
import { Reflector } from '../../../src/kube/watch.ts';
import { listState, storeState, sameState, waitFor } from './helpers.ts';

const env = await testEnv();
const vClients = kubeClients(env.virtualKubeconfig);
const kc = loadKubeConfig(env.virtualKubeconfig);
const transport = new KubeTransport(kc);
t.teardown(() => transport.close());
const ns = uniqueName('kube-transform');
await vClients.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await vClients.core.deleteNamespace({ name: ns }); });

interface Meta { name?: string; namespace?: string; resourceVersion?: string; uid?: string; annotations?: Record<string, string> }
/** A ConfigMap or a Widget (the test's custom resource): `keep` is what the consumer reads, `bulk` what it does not. */
interface Obj extends KubernetesObject { metadata?: Meta; data?: Record<string, string>; spec?: Record<string, string> }

const BULK = 'x'.repeat(2000);
const identity = (o: Obj): Meta => ({ name: o.metadata?.name, namespace: o.metadata?.namespace, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid });
/** Keeps the identity and `keep`; drops kind, apiVersion, labels, annotations, managedFields, `bulk`. */
const slimConfigMap = (o: Obj): Obj => ({ metadata: identity(o), data: { keep: o.data?.['keep'] ?? '' } });
const slimWidget = (o: Obj): Obj => ({ metadata: identity(o), spec: { keep: o.spec?.['keep'] ?? '' } });
/** The field names an object carries, at the top and in metadata: what a transformed object is made of. */
const shape = (o: Obj | undefined): string[][] => [Object.keys(o ?? {}), Object.keys(o?.metadata ?? {})];
const IDENTITY = ['name', 'namespace', 'resourceVersion', 'uid'];

interface Seen { type: 'add' | 'update' | 'delete'; name: string; obj: Obj; old: Obj | undefined }
function recordAll(r: Reflector<Obj>): Seen[] {
  const seen: Seen[] = [];
  r.on('add', (obj) => seen.push({ type: 'add', name: obj.metadata?.name ?? '', obj, old: undefined }));
  r.on('update', (obj, old) => seen.push({ type: 'update', name: obj.metadata?.name ?? '', obj, old }));
  r.on('delete', (obj, old) => seen.push({ type: 'delete', name: obj.metadata?.name ?? '', obj, old }));
  return seen;
}

t.test('LIST and WATCH: the store holds the transformed objects, and events carry those same objects', async (t) => {
  const labels = { test: 'transform' };
  const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
  const create = (name: string, keep: string): Promise<Obj> => transport.request<Obj>('POST', cmPath, {
    body: { metadata: { name, labels, annotations: { note: BULK } }, data: { keep, bulk: BULK } },
  });
  const a = await create('a', '1');
  const r = new Reflector<Obj>(kc, {
    resource: { version: 'v1', plural: 'configmaps' }, namespace: ns, labelSelector: 'test=transform',
    backoff: { initialMs: 50, maxMs: 250 }, transform: slimConfigMap,
  });
  t.teardown(() => r.stop());
  const seen = recordAll(r);
  r.start();
  await r.waitForSync();
  t.strictSame(r.store.get(`${ns}/a`), { metadata: identity(a), data: { keep: '1' } }, 'a listed object is stored as the transform returned it');
  t.equal(seen[0]?.obj, r.store.get(`${ns}/a`), 'the add carries the stored object itself');

  await create('b', '1');
  const a2 = await transport.request<Obj>('PATCH', `${cmPath}/a`, { body: { data: { keep: '2' } }, contentType: 'application/merge-patch+json' });
  await transport.request('DELETE', `${cmPath}/b`);
  await waitFor('the delete of b', () => seen.some((e) => e.type === 'delete' && e.name === 'b'));

  t.same(seen.map((e) => [e.type, e.name, e.obj.data?.['keep'], e.old?.data?.['keep']]), [
    ['add', 'a', '1', undefined], ['add', 'b', '1', undefined], ['update', 'a', '2', '1'], ['delete', 'b', '1', '1'],
  ]);
  for (const e of seen) {
    t.strictSame(shape(e.obj), [['metadata', 'data'], IDENTITY], `${e.type} ${e.name}: the event's object is the transformed one`);
    if (e.old !== undefined) t.strictSame(shape(e.old), [['metadata', 'data'], IDENTITY], `${e.type} ${e.name}: so is its old object`);
  }
  t.strictSame(r.store.get(`${ns}/a`), { metadata: identity(a2), data: { keep: '2' } }, 'a watched update is stored transformed');
  t.equal(seen[2]?.obj, r.store.get(`${ns}/a`), 'the update carries the stored object itself');
  const list = await vClients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'test=transform' });
  t.same(storeState(r as unknown as Reflector), listState(list.items), 'the store equals a fresh LIST');
});

t.test('a re-list after a 410 emits the right deletes, updates and adds from a transformed store', async (t) => {
  const group = `${uniqueName('transform')}.vcnet.test`;
  const crd = `widgets.${group}`;
  await transport.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    body: {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crd },
      spec: {
        group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', additionalProperties: { type: 'string' } } } } } }],
      },
    },
  });
  t.teardown(async () => { await transport.request('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`); });
  const path = `/apis/${group}/v1/namespaces/${ns}/widgets`;
  await waitFor('the new resource to be served', async () => transport.getJson(path).then(() => true, () => false));
  const create = (name: string, keep: string): Promise<Obj> => transport.request<Obj>('POST', path, {
    body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, annotations: { note: BULK } }, spec: { keep, bulk: BULK } },
  });
  for (const name of ['a', 'b', 'c', 'same']) await create(name, '1');
  const snapshot = await transport.getJson<{ items: Obj[] }>(path);
  const before = new Map(snapshot.items.map((o) => [o.metadata?.name, o]));

  // What the resumed reflector must catch up on: an update, a delete, a re-creation under the same
  // name (a new uid), a create; `same` does not change and must not be delivered again.
  await transport.request('PATCH', `${path}/a`, { body: { spec: { keep: '2' } }, contentType: 'application/merge-patch+json' });
  await transport.request('DELETE', `${path}/b`);
  await transport.request('DELETE', `${path}/c`);
  const c2 = await create('c', '2');
  await create('d', '1');

  let transformed = 0;
  const r = new Reflector<Obj>(kc, {
    resource: { group, version: 'v1', plural: 'widgets' }, namespace: ns, backoff: { initialMs: 50, maxMs: 250 },
    resume: { resourceVersion: '1', objects: snapshot.items },
    transform: (o) => { transformed++; return slimWidget(o); },
  });
  t.teardown(() => r.stop());
  const seen = recordAll(r);
  const lists: string[] = [];
  r.on('listed', (rv) => lists.push(rv));
  const errors: number[] = [];
  r.on('error', (s) => errors.push(s.code));
  r.start();
  t.equal(transformed, 4, 'the resumed objects went through the transform');
  t.strictSame(shape(r.store.get(`${ns}/a`)), [['metadata', 'spec'], IDENTITY], 'and the store holds them transformed');

  const fresh = await transport.getJson<{ items: Obj[] }>(path);
  await waitFor('the store to equal a fresh LIST', () => sameState(storeState(r as unknown as Reflector), listState(fresh.items)));
  t.equal(lists.length, 1, 'resourceVersion "1" was too old: exactly one re-LIST');
  t.same(errors, [], 'an expired resourceVersion is routine, not an error');
  t.same(seen.map((e) => [e.type, e.name, e.obj.metadata?.resourceVersion, e.old?.metadata?.resourceVersion]), [
    ['delete', 'b', before.get('b')?.metadata?.resourceVersion, before.get('b')?.metadata?.resourceVersion],
    ['update', 'a', fresh.items.find((o) => o.metadata?.name === 'a')?.metadata?.resourceVersion, before.get('a')?.metadata?.resourceVersion],
    ['delete', 'c', before.get('c')?.metadata?.resourceVersion, before.get('c')?.metadata?.resourceVersion],
    ['add', 'c', c2.metadata?.resourceVersion, undefined],
    ['add', 'd', fresh.items.find((o) => o.metadata?.name === 'd')?.metadata?.resourceVersion, undefined],
  ], 'deletes first, then the list in order; the re-created c is a delete of the old uid and an add of the new one');
  t.same(seen.filter((e) => e.name === 'c').map((e) => e.obj.metadata?.uid), [before.get('c')?.metadata?.uid, c2.metadata?.uid]);
  t.same(seen.map((e) => `${e.name}=${e.obj.spec?.['keep']}`), ['b=1', 'a=2', 'c=1', 'c=2', 'd=1'], 'each event has the state the consumer reads');
  for (const e of seen) {
    t.strictSame(e.obj, slimWidget(e.obj), `${e.type} ${e.name}: the event's object is the transformed one`);
    if (e.old !== undefined) t.strictSame(e.old, slimWidget(e.old), `${e.type} ${e.name}: so is its old object`);
  }
  for (const [key, o] of r.store) t.strictSame(o, slimWidget(o), `${key} is stored transformed`);
});
