// Bad input gets a Status error, changes nothing, and the proxy keeps serving.
import t from 'tap';
import tls from 'node:tls';
import { testEnv, kubectl, uniqueName } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';
import { httpsRequest, type HttpsReply } from '../../harness/http.ts';

const env = await testEnv();
const proxy = await startTestProxy(t);
const auth = { Authorization: `Bearer ${env.state.virtual.tokens.admin}` };
const ns = uniqueName('bad-input');
await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns]);
t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });

function request(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<HttpsReply> {
  return httpsRequest(`${proxy.url}${path}`, { method, ca: proxy.caPem, headers: { ...auth, ...headers }, ...(body !== undefined ? { body } : {}) });
}

async function configMapCount(): Promise<number> {
  const r = await kubectl(env.virtualKubeconfig, ['-n', ns, 'get', 'configmaps', '-o', 'name']);
  return r.stdout.split('\n').filter((l) => l.startsWith('configmap/') && !l.includes('kube-root-ca')).length;
}

const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
const cases: Array<{ name: string; method: string; path: string; headers: Record<string, string>; body?: () => Buffer | string; status: number; reason: string }> = [
  { name: 'malformed JSON', method: 'POST', path: cmPath, headers: { 'Content-Type': 'application/json' }, body: () => '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":', status: 400, reason: 'BadRequest' },
  { name: 'a 4 MiB body with Content-Length', method: 'POST', path: cmPath, headers: { 'Content-Type': 'application/json' }, body: () => Buffer.alloc(4 * 1024 * 1024, 0x61), status: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a 4 MiB chunked body', method: 'POST', path: cmPath, headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, body: () => Buffer.alloc(4 * 1024 * 1024, 0x61), status: 413, reason: 'RequestEntityTooLarge' },
  { name: 'an unknown path outside the API', method: 'GET', path: '/no/such/path', headers: {}, status: 404, reason: 'NotFound' },
  { name: 'an unknown resource', method: 'GET', path: '/api/v1/nosuchthings', headers: {}, status: 404, reason: 'NotFound' },
  { name: 'a wrong content type', method: 'POST', path: cmPath, headers: { 'Content-Type': 'text/plain' }, body: () => 'name: x', status: 415, reason: 'UnsupportedMediaType' },
  { name: 'an unsupported patch type', method: 'PATCH', path: `${cmPath}/x`, headers: { 'Content-Type': 'application/x-unknown-patch' }, body: () => '{}', status: 415, reason: 'UnsupportedMediaType' },
  { name: 'an invalid object name', method: 'POST', path: cmPath, headers: { 'Content-Type': 'application/json' }, body: () => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' } }), status: 422, reason: 'Invalid' },
  { name: 'an unknown field with strict validation', method: 'POST', path: `${cmPath}?fieldValidation=Strict`, headers: { 'Content-Type': 'application/json' }, body: () => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict' }, bogus: 1 }), status: 400, reason: 'BadRequest' },
  { name: 'an unsupported method', method: 'OPTIONS', path: '/api', headers: {}, status: 405, reason: 'MethodNotAllowed' },
];

for (const c of cases) {
  t.test(`${c.name}: ${c.status} ${c.reason} as a Status, nothing created`, async (t) => {
    const before = await configMapCount();
    const r = await request(c.method, c.path, c.headers, c.body?.());
    t.equal(r.status, c.status, r.body.slice(0, 300));
    t.equal(r.json?.['kind'], 'Status', 'a metav1.Status body');
    t.equal(r.json?.['reason'], c.reason);
    t.equal(await configMapCount(), before, 'nothing was created');
    const after = await request('GET', '/version', {});
    t.equal(after.status, 200, 'the proxy still serves');
  });
}

t.test('garbage instead of HTTP gets a 400 Status and closes that connection only', async (t) => {
  const answer = await new Promise<string>((resolve) => {
    let got = '';
    const s = tls.connect({ host: '127.0.0.1', port: Number(new URL(proxy.url).port), ca: proxy.caPem, servername: 'localhost' }, () => {
      s.write('\x00\x01\x02 not http at all\r\n\r\n');
    });
    s.on('data', (d: Buffer) => { got += d.toString(); });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
  t.match(answer, /^HTTP\/1\.1 400 /);
  t.match(answer, /"kind":"Status"/);
  t.match(answer, /"reason":"BadRequest"/);
  const r = await request('GET', '/version', {});
  t.equal(r.status, 200);
});

t.test('kubectl sees a clear error for a body that is too large', async (t) => {
  const big = 'x'.repeat(4 * 1024 * 1024);
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge', namespace: ns }, data: { big } });
  const kc = await proxy.kubeconfig('admin', { groups: ['system:masters'] });
  const r = await kubectl(kc, ['create', '-f', '-'], { input: manifest });
  t.not(r.code, 0);
  t.match(r.stderr, /too large/i);
  t.equal(await configMapCount(), 0);
});
