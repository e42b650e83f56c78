import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { Reflector, resourcePath } from '../../../src/kube/watch.ts';

const cases = [
  { name: 'core resources live under /api', ref: { version: 'v1', plural: 'pods' }, ns: 'web', path: '/api/v1/namespaces/web/pods' },
  { name: 'grouped resources live under /apis/<group>', ref: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' }, ns: 'web', path: '/apis/discovery.k8s.io/v1/namespaces/web/endpointslices' },
  { name: 'no namespace watches all namespaces', ref: { version: 'v1', plural: 'services' }, ns: undefined, path: '/api/v1/services' },
  { name: 'an empty group is the core group', ref: { group: '', version: 'v1', plural: 'nodes' }, ns: '', path: '/api/v1/nodes' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.equal(resourcePath(c.ref, c.ns), c.path);
  });
}

// No API server is involved: a port where nothing listens stands for one that is down.
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return kc;
}

t.test('a server that is down is retried on the backoff schedule, as retryable 503s, until stop()', async (t) => {
  const r = new Reflector(kubeConfigFor(`https://127.0.0.1:${await closedPort()}`), {
    resource: { version: 'v1', plural: 'configmaps' }, backoff: { initialMs: 20, maxMs: 80, random: () => 0 },
  });
  const seen: Array<[number, boolean, number]> = [];
  r.on('error', (s, retryInMs) => seen.push([s.code, s.retryable, retryInMs]));
  const synced = r.waitForSync();
  r.start();
  while (seen.length < 5) await new Promise((res) => setTimeout(res, 10));
  await r.stop();
  await t.rejects(synced, /stopped before it synced/, 'waiting for a sync that cannot come ends at stop()');
  t.same(seen.slice(0, 5), [[503, true, 20], [503, true, 40], [503, true, 80], [503, true, 80], [503, true, 80]]);
  const count = seen.length;
  await new Promise((res) => setTimeout(res, 200));
  t.equal(seen.length, count, 'nothing is retried after stop()');
  t.throws(() => r.start(), /was stopped; create a new one/);
});

t.test('without an error listener, failures are retried silently instead of throwing', async (t) => {
  const r = new Reflector(kubeConfigFor(`https://127.0.0.1:${await closedPort()}`), {
    resource: { version: 'v1', plural: 'configmaps' }, backoff: { initialMs: 5, maxMs: 5 },
  });
  r.start();
  await new Promise((res) => setTimeout(res, 100));
  t.notOk(r.hasSynced);
  await r.stop();
});

// The transform option (client-go's SetTransform). Resumed objects go through it before the first
// network call, so these need no API server; test/integration/kube/watch-transform.test.ts covers
// LIST, WATCH and the re-list after a 410 against a real one.
interface Cm { metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; annotations?: Record<string, string> }; data?: Record<string, string> }
const whole = (name: string): Cm => ({
  metadata: { name, namespace: 'ns', resourceVersion: '7', uid: `uid-${name}`, annotations: { big: 'x'.repeat(100) } },
  data: { keep: name, bulk: 'y'.repeat(100) },
});
const keepOnly = (cm: Cm): Cm => ({
  metadata: { name: cm.metadata?.name, namespace: cm.metadata?.namespace, resourceVersion: cm.metadata?.resourceVersion, uid: cm.metadata?.uid },
  data: { keep: cm.data?.['keep'] ?? '' },
});

t.test('resumed objects are stored transformed, before anything is watched', async (t) => {
  const objects = [whole('a'), whole('b')];
  const r = new Reflector<Cm>(kubeConfigFor(`https://127.0.0.1:${await closedPort()}`), {
    resource: { version: 'v1', plural: 'configmaps' }, backoff: { initialMs: 1000, maxMs: 1000 },
    resume: { resourceVersion: '7', objects }, transform: keepOnly,
  });
  r.start();
  t.teardown(() => r.stop());
  t.ok(r.hasSynced);
  t.strictSame([...r.store], [['ns/a', keepOnly(whole('a'))], ['ns/b', keepOnly(whole('b'))]], 'only what the transform returned');
  t.strictSame(objects, [whole('a'), whole('b')], 'the caller\'s objects are left as they were');
});

const identityCases: Array<{ name: string; lose: (cm: Cm) => void }> = [
  { name: 'a transform that drops metadata.name is a bug: an AssertionError ends the run', lose: (cm) => { delete cm.metadata?.name; } },
  { name: 'a transform that drops metadata.namespace is a bug', lose: (cm) => { delete cm.metadata?.namespace; } },
  { name: 'a transform that drops metadata.resourceVersion is a bug', lose: (cm) => { delete cm.metadata?.resourceVersion; } },
  { name: 'a transform that changes metadata.uid is a bug', lose: (cm) => { if (cm.metadata !== undefined) cm.metadata.uid = 'other'; } },
];

for (const c of identityCases) {
  t.test(c.name, async (t) => {
    const r = new Reflector<Cm>(kubeConfigFor(`https://127.0.0.1:${await closedPort()}`), {
      resource: { version: 'v1', plural: 'configmaps' },
      resume: { resourceVersion: '7', objects: [whole('a')] },
      transform: (cm) => { const out = keepOnly(cm); c.lose(out); return out; },
    });
    r.start();
    await t.rejects(r.stop(), { name: 'AssertionError', message: /must keep metadata\.name, namespace, resourceVersion and uid/ });
    t.equal(r.store.size, 0, 'nothing was stored');
  });
}
