// Resuming from a resourceVersion: replayed as watch events while the API server still holds it; once
// it has expired (410 "too old resource version"), a re-LIST whose difference against the store is
// emitted — the same final changes either way, none lost, none twice.
// Expiry is produced for real: the API server's watch cache keeps a bounded window of events per
// resource, so enough writes to ServiceAccounts push resourceVersion "1" out of it. ServiceAccounts,
// not ConfigMaps, so the other kube tests' ConfigMap watches keep their window; and every namespace
// ever created left a ServiceAccount event behind, which is what lets the window slide at once
// (an event younger than 75 s makes the cache grow instead of dropping its oldest event).
import t from 'tap';
import type { V1ServiceAccount } from '@kubernetes/client-node';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients, loadKubeConfig } from '../../../src/kube/client.ts';
import { KubeTransport } from '../../../src/kube/http.ts';
import { Reflector } from '../../../src/kube/watch.ts';
import { record, waitFor, storeState, listState, sameState } from './helpers.ts';

const env = await testEnv();
const vClients = kubeClients(env.virtualKubeconfig);
const kc = loadKubeConfig(env.virtualKubeconfig);
const ns = uniqueName('kube-expired');
const path = `/api/v1/namespaces/${ns}/serviceaccounts`;
await vClients.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await vClients.core.deleteNamespace({ name: ns }); });

const account = (name: string, v: string): V1ServiceAccount => ({ metadata: { name, labels: { v } } });
const relabel = (name: string, v: string): Promise<V1ServiceAccount> =>
  vClients.core.patchNamespacedServiceAccount({ name, namespace: ns, body: [{ op: 'replace', path: '/metadata/labels/v', value: v }] });
// The ServiceAccount controller adds "default" on its own schedule; wait so it is not a surprise event.
await waitFor('the default ServiceAccount', async () => (await vClients.core.listNamespacedServiceAccount({ namespace: ns })).items.length > 0);
for (const name of ['a', 'b', 'c']) await vClients.core.createNamespacedServiceAccount({ namespace: ns, body: account(name, '1') });

const transport = new KubeTransport(kc);
t.teardown(() => transport.close());
const snapshot = await transport.getJson<{ metadata: { resourceVersion: string }; items: V1ServiceAccount[] }>(path);
const rvOf = (name: string): string | undefined => snapshot.items.find((s) => s.metadata?.name === name)?.metadata?.resourceVersion;

// The changes the resumed reflectors must catch up on.
await relabel('a', '2');
await vClients.core.deleteNamespacedServiceAccount({ name: 'b', namespace: ns });
await vClients.core.createNamespacedServiceAccount({ namespace: ns, body: account('d', '1') });

async function freshList(): Promise<Record<string, string>> {
  const list = await vClients.core.listNamespacedServiceAccount({ namespace: ns });
  return listState(list.items);
}
const resumeFrom = (resourceVersion: string): Reflector<V1ServiceAccount> => new Reflector<V1ServiceAccount>(kc, {
  resource: { version: 'v1', plural: 'serviceaccounts' }, namespace: ns, backoff: { initialMs: 50, maxMs: 250 },
  resume: { resourceVersion, objects: snapshot.items },
});

t.test('resuming from a resourceVersion the server still holds replays the changes without a LIST', async (t) => {
  const r = resumeFrom(snapshot.metadata.resourceVersion);
  t.teardown(() => r.stop());
  const rec = record(r);
  r.start();
  t.ok(r.hasSynced, 'a resumed store counts as synced at once');
  const expected = await freshList();
  await waitFor('the store to catch up', () => sameState(storeState(r), expected));
  t.same(rec.events.map((e) => [e.type, e.name, e.oldResourceVersion]), [
    ['update', 'a', rvOf('a')], ['delete', 'b', rvOf('b')], ['add', 'd', undefined],
  ]);
  t.same(rec.lists, [], 'no LIST was needed');
});

/** True once a watch from resourceVersion "1" answers 410 Expired. */
async function rvOneExpired(): Promise<boolean> {
  const res = await transport.open(path, { watch: 1, resourceVersion: '1', timeoutSeconds: 1 });
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) { res.destroy(); resolve(/"type":"ERROR".*"code":410/.test(text)); }
    });
    res.on('end', () => resolve(false));
    res.on('error', () => resolve(false));
  });
}

t.test('resuming from an expired resourceVersion gets 410, re-lists and emits only the difference', async (t) => {
  await vClients.core.createNamespacedServiceAccount({ namespace: ns, body: account('churn', '0') });
  // The window grows while its oldest event is younger than 75 s (the watch cache's eventFreshDuration),
  // so on an API server that started moments ago this took ~150 s (3175 writes); 0–100 writes otherwise.
  const deadline = Date.now() + 220_000;
  let writes = 0;
  let expired = await rvOneExpired();
  while (!expired && Date.now() < deadline) {
    await Promise.all(Array.from({ length: 25 }, () => relabel('churn', String(writes++))));
    expired = await rvOneExpired();
    // Writing slowly keeps the window small while it cannot slide yet, so it fills quickly once it can.
    if (!expired) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!expired) {
    t.skip(`resourceVersion "1" was still in the API server's watch cache after ${writes} writes; 410 not reproduced in this run`, () => {});
    return;
  }
  t.comment(`resourceVersion "1" expired after ${writes} writes`);

  const r = resumeFrom('1');
  t.teardown(() => r.stop());
  const rec = record(r);
  r.start();
  const expected = await freshList();
  await waitFor('the store to equal a fresh LIST', () => sameState(storeState(r), expected));
  t.equal(rec.lists.length, 1, 'exactly one re-LIST');
  t.same(rec.events.map((e) => [e.type, e.name, e.oldResourceVersion]), [
    ['delete', 'b', rvOf('b')], ['update', 'a', rvOf('a')], ['add', 'churn', undefined], ['add', 'd', undefined],
  ], 'only the difference: c, unchanged, is not delivered again');
  t.same(rec.errors, [], 'an expired resourceVersion is routine, not an error');
});
