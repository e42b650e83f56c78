// The HTTPS listener on loopback: the API server's view of it (TLS verified against the CA, IP SAN
// for 127.0.0.1), certificate swaps for rotation, and a Status for paths no hook serves.
import t from 'tap';
import { request } from 'node:https';
import { Registry } from 'prom-client';
import { createCA, issueCert } from '../../../src/certs/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { allow, startWebhookServer } from '../../../src/webhook/index.ts';
import { loadReview } from '../../fixtures/admission/index.ts';

const [oldCA, newCA] = await Promise.all([createCA('webhook-old-ca'), createCA('webhook-new-ca')]);
const serving = (ca: typeof oldCA) => issueCert(ca, { commonName: 'vcnet-webhook', ipAddresses: ['127.0.0.1'], usages: ['server'] });

const server = await startWebhookServer({
  host: '127.0.0.1', port: 0, servingCert: await serving(oldCA), logger: createLogger('silent'), registry: new Registry(),
  hooks: [{ type: 'validating', name: 'v', path: '/validate', handler: async () => allow() }],
});
t.teardown(() => server.close());

/** POSTs like kube-apiserver does, trusting only `caPem`, on a fresh connection. */
function post(path: string, caPem: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(loadReview('create-pod'));
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}?timeout=10s`, { method: 'POST', ca: caPem, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject).end(body);
  });
}

t.test('answers over TLS that verifies against its CA, on an IP URL', async (t) => {
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const res = await post('/validate', oldCA.certPem);
  t.equal(res.status, 200);
  t.match(res.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { allowed: true } });
});

t.test('a path no hook serves gets a 404 Status naming it', async (t) => {
  const res = await post('/mutate', oldCA.certPem);
  t.equal(res.status, 404);
  t.match(res.body, { kind: 'Status', code: 404, reason: 'NotFound', message: 'no admission hook is served at POST /mutate' });
});

t.test('a swapped serving certificate is used for new connections', async (t) => {
  server.setServingCert(await serving(newCA));
  t.equal((await post('/validate', newCA.certPem)).status, 200);
  await t.rejects(post('/validate', oldCA.certPem), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'the old CA no longer verifies it');
});
