// The proxy passes every media type through as bytes: protobuf and Table responses, YAML apply
// patches, every patch type, and types the server refuses — the same status and body as direct.
import t from 'tap';
import { testEnv, kubectl, uniqueName } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';
import { httpsRequest, type HttpsReply } from '../../harness/http.ts';

const env = await testEnv();
const proxy = await startTestProxy(t);
const token = env.state.virtual.tokens.admin;
const ns = uniqueName('media');
await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns]);
await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'configmap', 'seed', '--from-literal=a=1']);
t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });

function call(base: string, ca: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<HttpsReply> {
  return httpsRequest(`${base}${path}`, { method, ca, headers: { Authorization: `Bearer ${token}`, ...headers }, ...(body !== undefined ? { body } : {}) });
}
const viaProxy = (m: string, p: string, h: Record<string, string>, b?: string | Buffer) => call(proxy.url, proxy.caPem, m, p, h, b);
const direct = (m: string, p: string, h: Record<string, string>, b?: string | Buffer) => call(env.state.virtual.url, env.state.virtual.caPem, m, p, h, b);

const cm = `/api/v1/namespaces/${ns}/configmaps`;
const reads: Array<[string, string, Record<string, string>]> = [
  ['protobuf GET of one object', `${cm}/seed`, { Accept: 'application/vnd.kubernetes.protobuf' }],
  ['protobuf LIST', cm, { Accept: 'application/vnd.kubernetes.protobuf, application/json' }],
  ['Table response', cm, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' }],
  ['aggregated discovery', '/apis', { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' }],
  ['OpenAPI v3 in protobuf', '/openapi/v3/api/v1', { Accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' }],
  ['YAML response', `${cm}/seed`, { Accept: 'application/yaml' }],
];
for (const [name, path, headers] of reads) {
  t.test(`${name}: the same bytes as direct`, async (t) => {
    const [p, d] = await Promise.all([viaProxy('GET', path, headers), direct('GET', path, headers)]);
    t.equal(p.status, d.status);
    t.equal(p.headers['content-type'], d.headers['content-type']);
    if (name === 'Table response') {
      // The server renders Age when it answers, so two answers straddling a second differ there only.
      t.same(withoutAge(p.raw), withoutAge(d.raw), 'the same table, Age aside');
      return;
    }
    t.ok(p.raw.equals(d.raw), `identical ${p.raw.length}-byte bodies`);
  });
}

function withoutAge(raw: Buffer): unknown {
  const table = JSON.parse(raw.toString('utf8')) as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
  const age = table.columnDefinitions.findIndex((c) => c.name === 'Age');
  for (const row of table.rows) if (age >= 0) row.cells[age] = '<age>';
  return table;
}

const writes: Array<{ name: string; method: string; path: (n: string) => string; headers: Record<string, string>; body: (n: string) => string }> = [
  { name: 'create from YAML', method: 'POST', path: () => cm, headers: { 'Content-Type': 'application/yaml' }, body: (n) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\ndata:\n  k: "yes"\n` },
  { name: 'server-side apply with a YAML body', method: 'PATCH', path: (n) => `${cm}/${n}?fieldManager=test&force=true`, headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: (n) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\ndata:\n  applied: "true"\n` },
  { name: 'JSON patch', method: 'PATCH', path: (n) => `${cm}/${n}`, headers: { 'Content-Type': 'application/json-patch+json' }, body: () => '[{"op":"add","path":"/data/j","value":"1"}]' },
  { name: 'merge patch', method: 'PATCH', path: (n) => `${cm}/${n}`, headers: { 'Content-Type': 'application/merge-patch+json' }, body: () => '{"data":{"m":"1"}}' },
  { name: 'strategic merge patch', method: 'PATCH', path: (n) => `${cm}/${n}`, headers: { 'Content-Type': 'application/strategic-merge-patch+json' }, body: () => '{"data":{"s":"1"}}' },
  { name: 'CBOR body', method: 'POST', path: () => cm, headers: { 'Content-Type': 'application/cbor' }, body: () => '\xa0' },
  { name: 'delete with a chunked DeleteOptions body', method: 'DELETE', path: (n) => `${cm}/${n}`, headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, body: () => '{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}' },
  { name: 'delete with a DeleteOptions body', method: 'DELETE', path: (n) => `${cm}/${n}`, headers: { 'Content-Type': 'application/json' }, body: () => '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}' },
];
const mask = (b: string, n: string): string => b.replaceAll(n, 'NAME')
  .replace(/"(uid|resourceVersion|creationTimestamp|time)":"[^"]*"/g, '"$1":"X"');
t.test('writes of every kind: same status and same answer as direct', async (t) => {
  for (const w of writes) {
    const [p, d] = await Promise.all([
      viaProxy(w.method, w.path('via-proxy'), w.headers, w.body('via-proxy')),
      direct(w.method, w.path('direct'), w.headers, w.body('direct')),
    ]);
    t.equal(p.status, d.status, `${w.name}: status ${d.status}`);
    t.equal(mask(p.body, 'via-proxy'), mask(d.body, 'direct'), `${w.name}: same answer`);
  }
});
