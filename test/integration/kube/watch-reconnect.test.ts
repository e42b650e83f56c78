// Cutting the reflector's connection while objects change must lose no update and deliver none
// twice: after each reconnection the store equals a fresh LIST of the real API server.
import t from 'tap';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients } from '../../../src/kube/client.ts';
import { Reflector } from '../../../src/kube/watch.ts';
import { record, startCutProxy, waitFor, storeState, listState, sameState } from './helpers.ts';

const env = await testEnv();
const vClients = kubeClients(env.virtualKubeconfig);
const ns = uniqueName('kube-reconnect');
await vClients.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await vClients.core.deleteNamespace({ name: ns }); });

const proxy = await startCutProxy(env.virtualKubeconfig);
t.teardown(() => proxy.close());

async function freshList(): Promise<Record<string, string>> {
  const list = await vClients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'test=reconnect' });
  return listState(list.items);
}

t.test('every change made while the connection is cut arrives once, in order, after reconnecting', async (t) => {
  const r = new Reflector<V1ConfigMap>(proxy.kubeConfig, {
    resource: { version: 'v1', plural: 'configmaps' }, namespace: ns, labelSelector: 'test=reconnect',
    backoff: { initialMs: 100, maxMs: 400 },
  });
  t.teardown(() => r.stop());
  const rec = record(r);
  r.start();
  await r.waitForSync();
  const labels = { test: 'reconnect' };
  for (let i = 0; i < 4; i++) await vClients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `c${i}`, labels }, data: { round: '0' } } });
  await waitFor('the first objects', () => r.store.size === 4);

  let next = 4;
  for (let round = 1; round <= 3; round++) {
    const errorsBefore = rec.errors.length;
    proxy.cut();
    // Changes while nobody watches: two updates of one object, a delete, a create.
    for (const value of [`${round}a`, `${round}b`]) {
      await vClients.core.patchNamespacedConfigMap({ name: 'c0', namespace: ns, body: [{ op: 'replace', path: '/data/round', value }] });
    }
    await vClients.core.deleteNamespacedConfigMap({ name: `c${round}`, namespace: ns });
    await vClients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `c${next++}`, labels }, data: { round: String(round) } } });
    await waitFor('the cut to be noticed', () => rec.errors.length > errorsBefore);
    proxy.restore();
    const expected = await freshList();
    await waitFor(`round ${round}: the store to equal a fresh LIST`, () => sameState(storeState(r), expected));
  }

  t.same(storeState(r), await freshList(), 'the store equals a fresh LIST');
  t.equal(r.store.get(`${ns}/c0`)?.data?.['round'], '3b', 'the last update of c0 is in the store');
  t.ok(rec.errors.every((e) => e.code === 503 && e.retryable), 'each cut is reported as a retryable 503');
  t.equal(rec.lists.length, 1, 'a short cut resumes the watch from the last resourceVersion without a new LIST');

  const seen = new Set<string>();
  for (const e of rec.events) {
    const id = `${e.type} ${e.name}@${e.resourceVersion}`;
    t.notOk(seen.has(id), `${id} is delivered once`);
    seen.add(id);
  }
  const byName = new Map<string, typeof rec.events>();
  for (const e of rec.events) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  for (const [name, events] of byName) {
    const rvs = events.map((e) => Number(e.resourceVersion));
    t.same(rvs, [...rvs].sort((x, y) => x - y), `${name}: events arrive in resourceVersion order`);
    for (let i = 1; i < events.length; i++) {
      if (events[i]?.type === 'update') t.equal(events[i]?.oldResourceVersion, events[i - 1]?.resourceVersion, `${name}: each update's old object is the one delivered before`);
    }
  }
  t.same(byName.get('c0')?.map((e) => e.data?.['round']), ['0', '1a', '1b', '2a', '2b', '3a', '3b'], 'no update of c0 is lost');
  for (const gone of ['c1', 'c2', 'c3']) t.equal(byName.get(gone)?.at(-1)?.type, 'delete', `${gone} ends deleted`);
  for (const made of ['c4', 'c5', 'c6']) t.same(byName.get(made)?.map((e) => e.type), ['add'], `${made} is added once`);
});
