// NodeMirror against the real host and virtual planes. kwok manages every host node
// (--manage-all-nodes), so each test creates host Nodes of its own, with unique names, and kwok makes
// them Ready. Each mirror gets its own vCluster name (its own marker value), so it never touches a
// virtual node mirrored by anyone else (the shared vcnet mirrors the kwok nodes), and the tests
// assert only on the nodes they created.
import t, { type Test } from 'tap';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients, KubeTransport, isNotFound } from '../../../src/kube/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { NodeMirror, HostNodeNotFoundError, type NodeMirrorOptions, type NodeMirrorOutcome } from '../../../src/sync/nodes.ts';
import { MIRRORED_BY, type WireNode } from '../../../src/translate/node.ts';
import { waitFor } from '../kube/helpers.ts';
import { Registry } from 'prom-client';

const env = await testEnv();
const host = kubeClients(env.hostKubeconfig);
const virtual = kubeClients(env.virtualKubeconfig);
const ht = new KubeTransport(host.kubeConfig);
const vt = new KubeTransport(virtual.kubeConfig);
t.teardown(() => { ht.close(); vt.close(); });
const logger = createLogger((process.env['VCNET_TEST_LOG'] ?? 'silent') as 'silent');

const MERGE = 'application/merge-patch+json';
const TAINT = { key: 'vcnet.dev/test', value: 'nodes', effect: 'NoSchedule' };

async function getNode(tr: KubeTransport, name: string): Promise<WireNode | undefined> {
  try {
    return await tr.request<WireNode>('GET', `/api/v1/nodes/${name}`);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function deleteNode(tr: KubeTransport, name: string): Promise<void> {
  try {
    await tr.request('DELETE', `/api/v1/nodes/${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

const ready = (n: WireNode | undefined): boolean => n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A host node of this test's own; kwok makes it Ready. Deleted when the test ends. */
async function hostNode(tt: Test, labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('vcnet-nm');
  await ht.request('POST', '/api/v1/nodes', {
    body: {
      apiVersion: 'v1', kind: 'Node',
      metadata: {
        name,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'kubernetes.io/hostname': name, type: 'kwok', ...labels },
      },
      spec: { taints: [TAINT] },
      status: { allocatable: { cpu: '4', memory: '8Gi', pods: '20' }, capacity: { cpu: '4', memory: '8Gi', pods: '20' } },
    },
  });
  tt.teardown(() => deleteNode(ht, name));
  // Ready, and the host node-lifecycle controller has lifted its not-ready taint: a settled node.
  await waitFor(`kwok to make ${name} Ready`, async () => {
    const h = await getNode(ht, name);
    return ready(h) && h?.spec?.taints?.length === 1;
  });
  return name;
}

/** A mirror with its own marker; stopped, and every virtual node it mirrored deleted, when the test ends. */
async function mirror(tt: Test, options: Partial<NodeMirrorOptions> = {}, registry?: Registry): Promise<{ m: NodeMirror; vcluster: string; outcomes: Array<[string, NodeMirrorOutcome]> }> {
  const vcluster = uniqueName('nm');
  const m = new NodeMirror({
    virtual, host, hostKubeConfig: host.kubeConfig, logger,
    options: { all: false, labels: {}, clearImageStatus: false, vcluster, ensureGraceMs: 500, recheckMs: 200, ...options },
    ...(registry !== undefined ? { registry } : {}),
  });
  const outcomes: Array<[string, NodeMirrorOutcome]> = [];
  m.on('reconciled', (name, outcome) => outcomes.push([name, outcome]));
  tt.teardown(async () => {
    await m.stop();
    const list = await vt.request<{ items: WireNode[] }>('GET', '/api/v1/nodes', { query: { labelSelector: `${MIRRORED_BY}=${vcluster}` } });
    for (const n of list.items) await deleteNode(vt, n.metadata?.name ?? '');
  });
  await m.start();
  return { m, vcluster, outcomes };
}

/** Resolves on the next reconcile of `name` with one of `outcomes` (registered before the action that causes it). */
function nextOutcome(m: NodeMirror, name: string, outcomes: NodeMirrorOutcome[]): Promise<NodeMirrorOutcome> {
  return new Promise((resolve) => {
    const on = (n: string, o: NodeMirrorOutcome): void => {
      if (n !== name || !outcomes.includes(o)) return;
      m.off('reconciled', on);
      resolve(o);
    };
    m.on('reconciled', on);
  });
}

t.test('ensureNode creates the virtual node with the host labels, taints and status; setUsedNodes removes it', async (t) => {
  const name = await hostNode(t, { 'vcnet-test/pool': 'a' });
  const registry = new Registry();
  const { m, vcluster } = await mirror(t, {}, registry);
  t.equal(await getNode(vt, name), undefined, 'not mirrored before anything uses it');

  m.setUsedNodes([name]);
  await m.ensureNode(name);
  const vNode = await getNode(vt, name);
  t.ok(vNode, 'the virtual node exists as soon as ensureNode resolves');
  t.equal(vNode?.metadata?.labels?.[MIRRORED_BY], vcluster, 'with the marker');
  t.ok(vNode?.status?.conditions?.length, 'and a status');
  // The mirror works from its watch of the host, which may be a moment behind a fresh GET.
  const hNode = await getNode(ht, name);
  await waitFor('the virtual node to match the settled host node', async () => {
    const v = await getNode(vt, name);
    return JSON.stringify(v?.spec?.taints) === JSON.stringify([TAINT]) && ready(v);
  });
  const settled = await getNode(vt, name);
  t.same(settled?.metadata?.labels, { ...hNode?.metadata?.labels, [MIRRORED_BY]: vcluster }, 'host labels plus the marker');
  t.same(settled?.spec?.taints, [TAINT], 'the host taints');
  t.ok(ready(settled), 'Ready like the host node');
  t.same(settled?.status?.addresses, hNode?.status?.addresses, 'the host addresses');
  t.same(settled?.status?.capacity, hNode?.status?.capacity);
  t.same(settled?.status?.nodeInfo, hNode?.status?.nodeInfo);
  await waitFor('the watch to show it', () => m.mirroredNodes().includes(name));
  t.ok(m.mirroredNodes().includes(name), 'listed as mirrored');
  const metrics = await registry.metrics();
  t.match(metrics, /vcnet_node_mirror_writes_total\{action="created"\} 1/);
  t.match(metrics, /vcnet_node_mirror_nodes 1/, 'the gauge counts this mirror\'s nodes only');

  await m.ensureNode(name);
  t.equal((await getNode(vt, name))?.metadata?.uid, vNode?.metadata?.uid, 'ensureNode again changes nothing');

  m.setUsedNodes([]);
  await waitFor('the unused node to be removed', async () => (await getNode(vt, name)) === undefined);
  t.pass('removed once no pod uses it');
});

t.test('ensureNode refuses a node the host does not have', async (t) => {
  const { m } = await mirror(t);
  await t.rejects(m.ensureNode(uniqueName('vcnet-nm-missing')), HostNodeNotFoundError);
});

t.test('host changes reach the mirrored node; deleting the host node removes it', async (t) => {
  const name = await hostNode(t);
  const { m } = await mirror(t);
  m.setUsedNodes([name]);
  await m.ensureNode(name);

  await ht.request('PATCH', `/api/v1/nodes/${name}`, { contentType: MERGE, body: { metadata: { labels: { 'vcnet-test/zone': 'b' } }, spec: { taints: [TAINT, { key: 'second', effect: 'NoExecute' }] } } });
  await waitFor('the label and taint on the virtual node', async () => {
    const v = await getNode(vt, name);
    return v?.metadata?.labels?.['vcnet-test/zone'] === 'b' && v.spec?.taints?.length === 2;
  });
  t.pass('a host label and taint change reached the virtual node');

  await ht.request('PATCH', `/api/v1/nodes/${name}/status`, { contentType: MERGE, body: { status: { capacity: { cpu: '8', memory: '8Gi', pods: '20' } } } });
  await waitFor('the capacity on the virtual node', async () => (await getNode(vt, name))?.status?.capacity?.['cpu'] === '8');
  t.pass('a host status change reached the virtual node');

  await deleteNode(ht, name);
  await waitFor('the mirrored node to go with the host node', async () => (await getNode(vt, name)) === undefined);
  t.pass('removed with the host node, though still in use');
});

t.test('a virtual node created by hand is never touched', async (t) => {
  const name = await hostNode(t);
  await vt.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { by: 'hand' } } } });
  t.teardown(() => deleteNode(vt, name));
  const before = await getNode(vt, name);
  const { m } = await mirror(t);

  m.setUsedNodes([name]);
  await m.ensureNode(name);
  let now = await getNode(vt, name);
  t.equal(now?.metadata?.resourceVersion, before?.metadata?.resourceVersion, 'ensureNode accepts it as it is');
  t.same(now?.metadata?.labels, { by: 'hand' });

  const seen = nextOutcome(m, name, ['foreign']);
  await ht.request('PATCH', `/api/v1/nodes/${name}`, { contentType: MERGE, body: { metadata: { labels: { changed: 'yes' } } } });
  await seen;
  now = await getNode(vt, name);
  t.equal(now?.metadata?.resourceVersion, before?.metadata?.resourceVersion, 'a host change is not applied to it');

  const gone = nextOutcome(m, name, ['foreign']);
  m.setUsedNodes([]);
  await gone;
  const goneToo = nextOutcome(m, name, ['foreign']);
  await deleteNode(ht, name);
  await goneToo;
  now = await getNode(vt, name);
  t.equal(now?.metadata?.resourceVersion, before?.metadata?.resourceVersion, 'neither unused nor a deleted host node removes it');
});

t.test('selector.all mirrors a node that runs no pods', async (t) => {
  const { m, vcluster } = await mirror(t, { all: true });
  const name = await hostNode(t);
  await waitFor('the node to be mirrored, Ready', async () => {
    const v = await getNode(vt, name);
    return v?.metadata?.labels?.[MIRRORED_BY] === vcluster && ready(v);
  });
  t.pass('mirrored with its status');
  await waitFor('the watch to show it', () => m.mirroredNodes().includes(name));
  // The first report of used nodes looks at every mirrored node: an unused one is removed unless selected.
  const decided = nextOutcome(m, name, ['unchanged', 'updated', 'kept', 'deleted']);
  m.setUsedNodes([]);
  t.not(await decided, 'deleted', 'still selected with no pods at all');
  t.ok(await getNode(vt, name));
});

t.test('selector.labels mirrors matching nodes only', async (t) => {
  const pool = uniqueName('pool');
  const { m, vcluster } = await mirror(t, { labels: { 'vcnet-test/pool': pool } });
  m.setUsedNodes([]);
  const other = uniqueName('vcnet-nm');
  const otherSeen = nextOutcome(m, other, ['absent']);
  const matching = await hostNode(t, { 'vcnet-test/pool': pool });
  // Created after the mirror listened, so the reconcile of `other` proves the watch saw it.
  await ht.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: other, labels: { 'vcnet-test/pool': 'elsewhere' } } } });
  t.teardown(() => deleteNode(ht, other));

  await waitFor('the matching node to be mirrored', async () => (await getNode(vt, matching))?.metadata?.labels?.[MIRRORED_BY] === vcluster);
  await otherSeen;
  t.equal(await getNode(vt, other), undefined, 'a node without the labels is not mirrored');

  await ht.request('PATCH', `/api/v1/nodes/${other}`, { contentType: MERGE, body: { metadata: { labels: { 'vcnet-test/pool': pool } } } });
  await waitFor('the node that gained the label to be mirrored', async () => (await getNode(vt, other)) !== undefined);
  await ht.request('PATCH', `/api/v1/nodes/${matching}`, { contentType: MERGE, body: { metadata: { labels: { 'vcnet-test/pool': null } } } });
  await waitFor('the node that lost the label to be removed', async () => (await getNode(vt, matching)) === undefined);
  t.pass('nodes follow the label selector');
});

t.test('a node stays while a virtual pod is bound to it', async (t) => {
  const name = await hostNode(t);
  const { m } = await mirror(t);
  m.setUsedNodes([name]);
  await m.ensureNode(name);

  const ns = uniqueName('vcnet-nm');
  await vt.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  t.teardown(async () => { await vt.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined); });
  // The ServiceAccount admission plugin refuses pods until the namespace's default account exists.
  await waitFor('the default ServiceAccount', async () => {
    try { await vt.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`); return true; } catch { return false; }
  });
  await vt.request('POST', `/api/v1/namespaces/${ns}/pods`, {
    body: {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bound' },
      spec: { nodeName: name, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    },
  });

  const kept = nextOutcome(m, name, ['kept', 'deleted']);
  m.setUsedNodes([]);
  t.equal(await kept, 'kept', 'not removed while the pod is bound');
  t.ok(await getNode(vt, name), 'still there');

  await vt.request('DELETE', `/api/v1/namespaces/${ns}/pods/bound`, { body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 } });
  await waitFor('the node to be removed once the pod is gone', async () => (await getNode(vt, name)) === undefined);
  t.pass('removed after the last pod went');
});

t.test('a restarted mirror takes over the nodes it mirrored before', async (t) => {
  const name = await hostNode(t);
  const vcluster = uniqueName('nm');
  const options = { all: false, labels: {}, clearImageStatus: true, vcluster, ensureGraceMs: 500, recheckMs: 200 };
  const first = new NodeMirror({ virtual, host, logger, options });
  await first.start();
  first.setUsedNodes([name]);
  await first.ensureNode(name);
  await first.stop();
  t.teardown(() => deleteNode(vt, name));
  t.ok(await getNode(vt, name), 'stop() leaves the mirrored nodes');

  const second = new NodeMirror({ virtual, host, logger, options });
  t.teardown(() => second.stop());
  await second.start();
  t.ok(await getNode(vt, name), 'not removed before the used nodes are known');
  second.setUsedNodes([]);
  await waitFor('the unused node to be removed by the new mirror', async () => (await getNode(vt, name)) === undefined);
  t.pass('removed once the new mirror knows it is unused');
});
