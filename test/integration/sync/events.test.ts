// EventSync against the real planes: host events about a host pod — the host scheduler's own and
// hand-made ones — appear on the virtual pod it stands for, as real kubectl shows them in the
// virtual cluster; events about pods vcnet does not know stay on the host; a restart copies what
// happened while it was down, and not old history.
import t from 'tap';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { kubectl, testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients, loadKubeConfig, type KubeClients } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { EventSync, type SkipReason, type VirtualPodRef } from '../../../src/sync/events.ts';
import { HOST_EVENT_LABEL, HOST_EVENT_UID, type EventJson } from '../../../src/translate/event.ts';
import { startCutProxy } from '../kube/helpers.ts';

const env = await testEnv();
const hClients = kubeClients(env.hostKubeconfig);
const vClients = kubeClients(env.virtualKubeconfig);
const hns = uniqueName('ev-host');
const vns = uniqueName('ev-virtual');
await hClients.core.createNamespace({ body: { metadata: { name: hns } } });
await vClients.core.createNamespace({ body: { metadata: { name: vns } } });
t.teardown(async () => {
  await hClients.core.deleteNamespace({ name: hns });
  await vClients.core.deleteNamespace({ name: vns });
});
const logger = createLogger('silent');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const podSpec = { containers: [{ name: 'app', image: 'example.invalid/app:1' }] };
// The virtual pod (no nodes in the virtual cluster: it stays Pending) and a host pod with an
// unrelated name; only `lookup` ties them together.
const vPod = await vClients.core.createNamespacedPod({ namespace: vns, body: { metadata: { name: 'web' }, spec: podSpec } });
const hPodName = uniqueName('anything');
const hPod: V1Pod = await hClients.core.createNamespacedPod({ namespace: hns, body: { metadata: { name: hPodName }, spec: podSpec } });
const vRef: VirtualPodRef = { name: 'web', namespace: vns, uid: vPod.metadata?.uid ?? '', hostUid: hPod.metadata?.uid ?? '' };
const known = new Map<string, VirtualPodRef>([[hPodName, vRef]]);

function startSync(t: { teardown(fn: () => Promise<void>): void }, virtual: KubeClients = vClients, registry?: Registry): { sync: EventSync; skipped: Map<string, SkipReason>; copied: string[] } {
  const sync = new EventSync({
    virtual, host: hClients, hostKubeConfig: loadKubeConfig(env.hostKubeconfig), hostNamespace: hns, ...(registry ? { registry } : {}),
    lookup: (name) => known.get(name), logger, unresolvedRetries: 2, unresolvedDelayMs: 100,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  const skipped = new Map<string, SkipReason>();
  const copied: string[] = [];
  sync.on('skipped', (ev, reason) => skipped.set(ev.metadata?.name ?? '', reason));
  sync.on('copied', (_v, _action, ev) => copied.push(ev.metadata?.name ?? ''));
  t.teardown(() => sync.stop());
  return { sync: sync.start(), skipped, copied };
}

/** A host event about `podName` in the host namespace, written as a kubelet would (core/v1, legacy). */
function hostEvent(name: string, podName: string, uid: string | undefined, message: string, at: Date, count = 1): CoreV1Event {
  return {
    metadata: { name, namespace: hns },
    involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: hns, name: podName, ...(uid ? { uid } : {}), fieldPath: 'spec.containers{app}' },
    reason: 'TestReason', message, type: 'Warning', count, firstTimestamp: at, lastTimestamp: at,
    source: { component: 'vcnet-test', host: 'kwok-node-0' },
  };
}

/** The virtual copies in the virtual namespace, as JSON (kubectl, the user's view). */
async function virtualEvents(): Promise<EventJson[]> {
  const out = await kubectl(env.virtualKubeconfig, ['get', 'events', '-n', vns, '-o', 'json']);
  if (out.code !== 0) throw new Error(out.stderr);
  // Only this test's copies: the shared vcnet also syncs the virtual pod and copies its host events.
  return (JSON.parse(out.stdout) as { items: EventJson[] }).items
    .filter((e) => e.metadata?.annotations?.['vcluster.loft.sh/object-host-namespace'] !== 'vcluster');
}
const copyOf = async (hName: string): Promise<EventJson | undefined> =>
  (await virtualEvents()).find((e) => e.metadata?.annotations?.['vcluster.loft.sh/object-host-name'] === hName);

const hostPodUid = hPod.metadata?.uid;
const oldEventName = `${hPodName}.old`;
// History from before vcnet ever ran: an hour old, so outside the first start's backfill window.
await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(oldEventName, hPodName, hostPodUid, 'ancient history', new Date(Date.now() - 3_600_000)) });

t.test('first start', async (t) => {
  const registry = new Registry();
  const { sync, skipped } = startSync(t, vClients, registry);
  await sync.waitForSync();

  t.test('the host scheduler\'s Scheduled event shows on the virtual pod, in virtual names', async (t) => {
    const scheduled = await waitFor('the Scheduled event in the virtual cluster', async () =>
      (await virtualEvents()).find((e) => e.reason === 'Scheduled'));
    t.match(scheduled.message, new RegExp(`^Successfully assigned ${vns}/web to kwok-node-\\d+$`));
    const { annotations, ...otherMeta } = scheduled.metadata ?? {};
    t.notMatch(JSON.stringify({ ...scheduled, metadata: otherMeta }), hPodName, 'no host pod name in the copy but for the host event annotation');
    t.match(annotations?.['vcluster.loft.sh/object-host-name'], new RegExp(`^${hPodName}\\.`));
    t.match(scheduled.metadata?.name, /^web\./, 'named after the virtual pod');
    t.same(scheduled.involvedObject, { kind: 'Pod', apiVersion: 'v1', namespace: vns, name: 'web', uid: vRef.uid });
    t.equal(scheduled.metadata?.labels?.[HOST_EVENT_LABEL], 'true');
    t.ok(scheduled.metadata?.annotations?.[HOST_EVENT_UID], 'records the host event UID');

    const describe = await kubectl(env.virtualKubeconfig, ['describe', 'pod', 'web', '-n', vns]);
    t.equal(describe.code, 0, describe.stderr);
    t.match(describe.stdout, /Events:[\s\S]*Scheduled[\s\S]*default-scheduler\s+Successfully assigned/, 'kubectl describe pod lists it');
    t.match(describe.stdout, `Successfully assigned ${vns}/web to kwok-node-`);

    const list = await kubectl(env.virtualKubeconfig, ['get', 'events', '-n', vns]);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /Normal\s+Scheduled\s+pod\/web\s+Successfully assigned/, 'kubectl get events names the virtual pod');
  });

  t.test('a host event\'s message is rewritten and its later counts update the same virtual event', async (t) => {
    const name = `${hPodName}.handmade`;
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    await hClients.core.createNamespacedEvent({
      namespace: hns,
      body: hostEvent(name, hPodName, hostPodUid, `container app in pod ${hns}/${hPodName} failed; ${hPodName} restarts, ${hPodName}-other does not`, at),
    });
    const first = await waitFor('the hand-made event copy', () => copyOf(name));
    t.equal(first.metadata?.name, 'web.handmade');
    t.equal(first.message, `container app in pod ${vns}/web failed; web restarts, ${hPodName}-other does not`);
    t.equal(first.count, 1);
    t.equal(first.involvedObject?.fieldPath, 'spec.containers{app}');

    const later = new Date(at.getTime() + 5000);
    const current = await hClients.core.readNamespacedEvent({ name, namespace: hns });
    await hClients.core.replaceNamespacedEvent({ name, namespace: hns, body: { ...current, count: 4, lastTimestamp: later } });
    const updated = await waitFor('count 4 in the virtual cluster', async () => {
      const c = await copyOf(name);
      return c?.count === 4 ? c : undefined;
    });
    t.equal(updated.metadata?.name, first.metadata?.name, 'the same virtual event');
    t.equal(updated.metadata?.uid, first.metadata?.uid, 'updated in place, not re-created');
    t.equal(Date.parse(updated.lastTimestamp ?? ''), later.getTime());
    t.equal((await virtualEvents()).filter((e) => e.metadata?.name === 'web.handmade').length, 1, 'one virtual event');
    const table = await kubectl(env.virtualKubeconfig, ['get', 'event', 'web.handmade', '-n', vns, '-o', 'custom-columns=COUNT:.count,OBJECT:.involvedObject.name', '--no-headers']);
    t.match(table.stdout.trim(), /^4\s+web$/);
  });

  t.test('an event about a pod vcnet does not know is not copied', async (t) => {
    const name = 'nobody.unknown';
    await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(name, 'nobody', undefined, `pod ${hns}/nobody did something`, new Date()) });
    await waitFor('the unknown pod\'s event to be skipped', async () => skipped.get(name) === 'unknown-pod');
    t.equal(await copyOf(name), undefined);
    const all = await kubectl(env.virtualKubeconfig, ['get', 'events', '-A', '-l', `${HOST_EVENT_LABEL}=true`, '-o', 'json']);
    t.notMatch(all.stdout, 'nobody', 'in no virtual namespace');
  });

  t.test('history from before the first start is not copied', async (t) => {
    t.equal(skipped.get(oldEventName), 'before-cutoff');
    t.equal(await copyOf(oldEventName), undefined);
  });

  t.test('events of a pod the lookup learns late are copied when the pod is requeued', async (t) => {
    const name = 'late.1';
    await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(name, 'late', undefined, 'pod late was not known yet', new Date()) });
    await waitFor('the late pod\'s event to be skipped', async () => skipped.get(name) === 'unknown-pod');
    known.set('late', { name: 'web', namespace: vns, uid: vRef.uid });
    t.teardown(() => { known.delete('late'); });
    sync.requeuePod('late');
    const copy = await waitFor('the late copy', () => copyOf(name));
    t.equal(copy.metadata?.name, 'web.1');
    t.equal(copy.message, 'pod web was not known yet');
  });

  t.test('the outcomes are counted', async (t) => {
    const text = await registry.getSingleMetricAsString('vcnet_event_sync_total');
    t.match(text, /vcnet_event_sync_total\{result="created"\} [1-9]/);
    t.match(text, /vcnet_event_sync_total\{result="updated"\} [1-9]/);
    t.match(text, /vcnet_event_sync_total\{result="unknown-pod"\} [1-9]/);
    t.match(text, /vcnet_event_sync_total\{result="before-cutoff"\} 1/);
  });
});

t.test('a restart copies what happened while vcnet was down, and nothing twice', async (t) => {
  // While no EventSync runs: a new host event, and a new count on one that has a copy.
  const downName = `${hPodName}.while-down`;
  await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(downName, hPodName, hostPodUid, `pod ${hPodName} while vcnet was down`, new Date()) });
  const handmade = await hClients.core.readNamespacedEvent({ name: `${hPodName}.handmade`, namespace: hns });
  await hClients.core.replaceNamespacedEvent({
    name: `${hPodName}.handmade`, namespace: hns,
    body: { ...handmade, count: 7, lastTimestamp: new Date(Math.floor(Date.now() / 1000) * 1000 + 10_000) },
  });
  const before = await virtualEvents();
  const scheduledBefore = before.find((e) => e.reason === 'Scheduled');

  const { sync, skipped, copied } = startSync(t);
  await sync.waitForSync();
  const down = await waitFor('the event from the downtime', () => copyOf(downName));
  t.equal(down.message, 'pod web while vcnet was down');
  await waitFor('the new count', async () => (await copyOf(`${hPodName}.handmade`))?.count === 7);
  await waitFor('the unchanged Scheduled copy to be recognised as current', async () =>
    [...skipped].some(([name, reason]) => reason === 'current' && name.startsWith(`${hPodName}.`) && !name.endsWith('.handmade') && !name.endsWith('.while-down')));
  t.notOk(copied.some((n) => !n.endsWith('.handmade') && !n.endsWith('.while-down')), `only the two changes were written: ${copied.join(', ')}`);
  const scheduledAfter = (await virtualEvents()).find((e) => e.reason === 'Scheduled');
  t.equal(scheduledAfter?.metadata?.resourceVersion, scheduledBefore?.metadata?.resourceVersion, 'the Scheduled copy was not rewritten');
  t.equal(skipped.get(oldEventName), 'before-cutoff', 'old history still stays out');
});

t.test('a virtual event of the same name that vcnet did not write is left alone', async (t) => {
  const name = `${hPodName}.clash`;
  await vClients.core.createNamespacedEvent({
    namespace: vns,
    body: {
      metadata: { name: 'web.clash', namespace: vns },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: vns, name: 'web', uid: vRef.uid },
      reason: 'Mine', message: 'written in the virtual cluster', type: 'Normal', count: 1, firstTimestamp: new Date(), lastTimestamp: new Date(),
      source: { component: 'someone' },
    },
  });
  const { sync, skipped } = startSync(t);
  await sync.waitForSync();
  await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(name, hPodName, hostPodUid, 'from the host', new Date()) });
  await waitFor('the clash to be skipped', async () => skipped.get(name) === 'foreign');
  const ev = (await virtualEvents()).find((e) => e.metadata?.name === 'web.clash');
  t.equal(ev?.message, 'written in the virtual cluster');
});

t.test('failures are retried with backoff, and a copy that cannot land is given up on', async (t) => {
  // The virtual API server behind a relay that can cut every connection.
  const relay = await startCutProxy(env.virtualKubeconfig);
  t.teardown(() => relay.close());
  const { sync } = startSync(t, kubeClients(relay.kubeConfig));
  const failed = new Map<string, number>();
  sync.on('failed', (ev, status) => failed.set(ev.metadata?.name ?? '', status.code));
  await sync.waitForSync();

  t.test('a write refused while the virtual API server is unreachable lands once it is back', async (t) => {
    const name = `${hPodName}.outage`;
    relay.cut();
    await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(name, hPodName, hostPodUid, 'during the outage', new Date()) });
    await sleep(1500);
    t.equal(relay.openConnections(), 0, 'nothing got through meanwhile');
    relay.restore();
    const copy = await waitFor('the copy after the outage', () => copyOf(name));
    t.equal(copy.message, 'during the outage');
    t.notOk(failed.has(name), 'not given up on');
  });

  t.test('a copy for a virtual namespace that does not exist is dropped, and the sync goes on', async (t) => {
    known.set('ghost', { name: 'ghost', namespace: uniqueName('no-such-ns'), uid: 'ghost-uid' });
    t.teardown(() => { known.delete('ghost'); });
    await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent('ghost.1', 'ghost', undefined, 'nowhere to go', new Date()) });
    await waitFor('the ghost event to be given up on', async () => failed.get('ghost.1') === 404);
    const name = `${hPodName}.after-ghost`;
    await hClients.core.createNamespacedEvent({ namespace: hns, body: hostEvent(name, hPodName, hostPodUid, 'still syncing', new Date()) });
    t.equal((await waitFor('the next copy', () => copyOf(name))).message, 'still syncing');
  });
});
