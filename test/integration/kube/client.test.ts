// The typed clients reach both real clusters, and what they throw classifies as the Status the
// API server sent.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv, tempDir, uniqueName } from '../../harness/env.ts';
import { clusterClients, kubeClients, loadKubeConfig } from '../../../src/kube/client.ts';
import { isAlreadyExists, isConflict, isNotFound, isRetryable, toApiStatus } from '../../../src/kube/errors.ts';

const env = await testEnv();
const clients = clusterClients({ virtual: env.virtualKubeconfig, host: env.hostKubeconfig });
const ns = uniqueName('kube-client');
await clients.virtual.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await clients.virtual.core.deleteNamespace({ name: ns }); });

t.test('one set of clients per cluster, each talking to its own API server', async (t) => {
  t.not(clients.virtual.server, clients.host.server);
  const [vNamespaces, hNamespaces] = await Promise.all([clients.virtual.core.listNamespace(), clients.host.core.listNamespace()]);
  t.ok(vNamespaces.items.some((n) => n.metadata?.name === ns), 'the virtual cluster has the test namespace');
  t.notOk(hNamespaces.items.some((n) => n.metadata?.name === ns), 'the host cluster does not');
  const review = await clients.host.authorization.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { verb: 'create', resource: 'pods', namespace: 'default' } } },
  });
  t.equal(review.status?.allowed, true, 'the authorization client works (admin may create pods)');
  const leases = await clients.host.coordination.listNamespacedLease({ namespace: 'kube-node-lease' });
  t.ok(Array.isArray(leases.items), 'the coordination client works');
  const slices = await clients.virtual.discovery.listNamespacedEndpointSlice({ namespace: 'default' });
  t.ok(Array.isArray(slices.items), 'the discovery client works');
  const ingresses = await clients.virtual.networking.listNamespacedIngress({ namespace: ns });
  t.same(ingresses.items, [], 'the networking client works');
});

t.test('errors from the real API server classify as its Status', async (t) => {
  const core = clients.virtual.core;
  const missing = await core.readNamespacedConfigMap({ name: 'missing', namespace: ns }).catch((e: unknown) => e);
  t.ok(isNotFound(missing));
  t.match(toApiStatus(missing), { code: 404, reason: 'NotFound', message: 'configmaps "missing" not found', retryable: false });

  const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm' }, data: { v: '1' } } });
  const again = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm' } } }).catch((e: unknown) => e);
  t.ok(isAlreadyExists(again));
  t.notOk(isConflict(again));

  await core.patchNamespacedConfigMap({ name: 'cm', namespace: ns, body: [{ op: 'replace', path: '/data/v', value: '2' }] });
  const stale = await core.replaceNamespacedConfigMap({ name: 'cm', namespace: ns, body: created }).catch((e: unknown) => e);
  t.ok(isConflict(stale), 'a write with a stale resourceVersion is a Conflict');
  t.notOk(isRetryable(stale), 'a conflict needs a fresh read, not a blind retry');

  const generic = await clients.virtual.objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope', namespace: ns } }).catch((e: unknown) => e);
  t.ok(isNotFound(generic), 'the generic object client throws the same kind of error');
});

t.test('an API server that is down is a retryable 503 naming the connection error', async (t) => {
  const kc = loadKubeConfig(env.virtualKubeconfig);
  // A port that was just free: nothing listens there.
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
  (kc.getCurrentCluster() as { server: string }).server = `https://127.0.0.1:${port}`;
  const err = await kubeClients(kc).core.listNamespace().catch((e: unknown) => e);
  t.match(toApiStatus(err), { code: 503, reason: 'ServiceUnavailable', retryable: true, message: /ECONNREFUSED/ });
});

t.test('a kubeconfig that is missing or has no cluster is refused with its path', async (t) => {
  const dir = tempDir(t);
  t.throws(() => kubeClients(join(dir, 'absent.kubeconfig')), { message: /absent\.kubeconfig does not exist/ });
  const empty = join(dir, 'empty.kubeconfig');
  writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  t.throws(() => kubeClients(empty), { message: /empty\.kubeconfig has no cluster for its current context/ });
});
