// The reflector against a real kube-apiserver: what it delivers, what selectors scope, that it keeps
// retrying a refused watch, and that stop() leaves nothing open.
import t from 'tap';
import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients, loadKubeConfig } from '../../../src/kube/client.ts';
import { Reflector, type ReflectorOptions } from '../../../src/kube/watch.ts';
import { record, startCutProxy, waitFor, sleep, storeState, listState } from './helpers.ts';

const env = await testEnv();
const vClients = kubeClients(env.virtualKubeconfig);
const ns = uniqueName('kube-watch');
await vClients.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await vClients.core.deleteNamespace({ name: ns }); });
// The namespace controller adds kube-root-ca.crt on its own schedule; wait so it is not a surprise event.
await waitFor('kube-root-ca.crt', async () => (await vClients.core.listNamespacedConfigMap({ namespace: ns })).items.some((c) => c.metadata?.name === 'kube-root-ca.crt'));

const fast = { initialMs: 50, maxMs: 250 };
const reflector = (kc: KubeConfig, opts: Partial<ReflectorOptions<V1ConfigMap>> = {}): Reflector<V1ConfigMap> =>
  new Reflector<V1ConfigMap>(kc, { resource: { version: 'v1', plural: 'configmaps' }, namespace: ns, backoff: fast, ...opts });

const create = (name: string, data: Record<string, string>, labels?: Record<string, string>): Promise<V1ConfigMap> =>
  vClients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, ...(labels ? { labels } : {}) }, data } });
const patch = (name: string, body: object[]): Promise<V1ConfigMap> =>
  vClients.core.patchNamespacedConfigMap({ name, namespace: ns, body });

async function freshList(labelSelector?: string): Promise<Record<string, string>> {
  const list = await vClients.core.listNamespacedConfigMap({ namespace: ns, labelSelector });
  return listState(list.items);
}

t.test('lists, then delivers each add, update and delete once, with the previous object', async (t) => {
  const a = await create('a', { v: '1' });
  const r = reflector(loadKubeConfig(env.virtualKubeconfig));
  t.teardown(() => r.stop());
  const rec = record(r);
  let synced = 0;
  r.on('synced', () => synced++);
  r.start();
  await r.waitForSync();
  t.same(rec.events.map((e) => `${e.type} ${e.name}`).sort(), ['add a', 'add kube-root-ca.crt'], 'the first LIST arrives as adds');
  t.equal(r.store.get(`${ns}/a`)?.kind, 'ConfigMap', 'listed objects carry their kind like watched ones');
  rec.events.length = 0;

  const b = await create('b', { v: '1' });
  const a2 = await patch('a', [{ op: 'replace', path: '/data/v', value: '2' }]);
  await vClients.core.deleteNamespacedConfigMap({ name: 'b', namespace: ns });
  await waitFor('the delete of b', () => rec.events.some((e) => e.type === 'delete' && e.name === 'b'));

  t.same(rec.events.map((e) => [e.type, e.name, e.resourceVersion, e.oldResourceVersion]), [
    ['add', 'b', b.metadata?.resourceVersion, undefined],
    ['update', 'a', a2.metadata?.resourceVersion, a.metadata?.resourceVersion],
    ['delete', 'b', rec.events[2]?.resourceVersion, b.metadata?.resourceVersion],
  ]);
  t.same(r.store.get(`${ns}/a`)?.data, { v: '2' });
  t.same(storeState(r), await freshList(), 'the store equals a fresh LIST');
  t.equal(synced, 1, 'synced fires once');
  t.same(rec.errors, [], 'no errors on a healthy watch');
  await vClients.core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
});

t.test('label and field selectors scope the store, including objects that start or stop matching', async (t) => {
  const kc = loadKubeConfig(env.virtualKubeconfig);
  const byLabel = reflector(kc, { labelSelector: 'tier=web' });
  const byField = reflector(kc, { fieldSelector: 'metadata.name=sel-b' });
  t.teardown(async () => { await byLabel.stop(); await byField.stop(); });
  const labelRec = record(byLabel);
  await create('sel-a', { v: '1' }, { tier: 'web' });
  await create('sel-b', { v: '1' }, { tier: 'db' });
  byLabel.start();
  byField.start();
  await Promise.all([byLabel.waitForSync(), byField.waitForSync()]);
  t.same([...byLabel.store.keys()], [`${ns}/sel-a`]);
  t.same([...byField.store.keys()], [`${ns}/sel-b`]);

  await patch('sel-b', [{ op: 'replace', path: '/metadata/labels/tier', value: 'web' }]);
  await patch('sel-a', [{ op: 'replace', path: '/metadata/labels/tier', value: 'db' }]);
  await waitFor('sel-a to leave the label selector', () => !byLabel.store.has(`${ns}/sel-a`));
  t.same(labelRec.events.map((e) => `${e.type} ${e.name}`), ['add sel-a', 'add sel-b', 'delete sel-a']);
  t.same(storeState(byLabel), await freshList('tier=web'));
});

t.test('keeps retrying a refused watch with backoff and syncs once access is granted', async (t) => {
  const user = uniqueName('kube-watch-nobody');
  const kc = loadKubeConfig(env.virtualKubeconfig);
  (kc.getCurrentUser() as { impersonateUser?: string }).impersonateUser = user;
  const r = reflector(kc);
  t.teardown(() => r.stop());
  const rec = record(r);
  r.start();
  await waitFor('three refusals', () => rec.errors.length >= 3);
  t.equal(rec.errors[0]?.code, 403);
  t.equal(rec.errors[0]?.reason, 'Forbidden');
  t.match(rec.errors[0]?.message, user, 'the Status names the user');
  t.notOk(r.hasSynced);

  await vClients.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'cm-reader', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] }] } as object);
  await vClients.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'cm-reader', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' }, subjects: [{ kind: 'User', name: user }] } as object);
  await r.waitForSync();
  t.same(storeState(r), await freshList());
});

t.test('a quiet watch stays open past 30 s: no client-side idle timeout', async (t) => {
  const proxy = await startCutProxy(env.virtualKubeconfig);
  t.teardown(() => proxy.close());
  const r = reflector(proxy.kubeConfig, { labelSelector: 'nothing=matches', watchTimeoutSeconds: 600 });
  t.teardown(() => r.stop());
  const rec = record(r);
  r.start();
  await r.waitForSync();
  await waitFor('the watch connection', () => proxy.openConnections() === 1);
  // @kubernetes/client-node's Watch would abort here: 30 s without a byte.
  await sleep(35_000);
  t.same(rec.errors, [], 'no error');
  t.equal(rec.lists.length, 1, 'no re-list');
  t.equal(proxy.openConnections(), 1, 'the same single connection is still open');
  const cm = await create('quiet', { v: '1' }, { nothing: 'matches' });
  await waitFor('the event on the quiet watch', () => r.store.has(`${ns}/quiet`), 5000);
  t.equal(r.store.get(`${ns}/quiet`)?.metadata?.resourceVersion, cm.metadata?.resourceVersion);
});

t.test('stop() closes the watch connection, also while backing off, and opens no new one', async (t) => {
  const proxy = await startCutProxy(env.virtualKubeconfig);
  t.teardown(() => proxy.close());

  const watching = reflector(proxy.kubeConfig);
  watching.start();
  await watching.waitForSync();
  await waitFor('the watch connection', () => proxy.openConnections() >= 1);
  await watching.stop();
  await waitFor('no open connection after stop()', () => proxy.openConnections() === 0, 2000);

  const backingOff = reflector(proxy.kubeConfig, { backoff: { initialMs: 60_000, maxMs: 60_000, random: () => 0 } });
  const rec = record(backingOff);
  backingOff.start();
  await backingOff.waitForSync();
  proxy.cut();
  await waitFor('the cut to be noticed', () => rec.errors.length >= 1);
  proxy.restore();
  const started = Date.now();
  await backingOff.stop();
  t.ok(Date.now() - started < 1000, 'stop() does not wait out the backoff');
  await sleep(300);
  t.equal(proxy.openConnections(), 0, 'no connection is opened after stop()');
});
