// vcnet's webhook server registered on the REAL virtual kube-apiserver: kubectl writes go through it.
// Everything is scoped to this file's own namespace (namespaceSelector), with failurePolicy Ignore, and
// the configurations are deleted in teardown whatever happens, so no other test can be affected.
import t from 'tap';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createCA, issueCert } from '../../../src/certs/index.ts';
import { isNotFound, kubeClients, toApiStatus } from '../../../src/kube/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import {
  allow, deny, mutate, registerWebhooks,
  type AdmissionRequest, type RegisteredWebhooks, type WebhookConfigurationSpec, type WebhookHook, startWebhookServer,
} from '../../../src/webhook/index.ts';
import { kubectl, testEnv, uniqueName } from '../../harness/env.ts';

interface ConfigMap { metadata?: { name?: string; labels?: Record<string, string> }; data?: Record<string, string> }

const SEEN_LABEL = 'test.vcnet.dev/seen-by';
const DENY_WEBHOOK = 'deny.configmaps.test.vcnet.dev';

const env = await testEnv();
const clients = kubeClients(env.virtualKubeconfig);
const ns = uniqueName('webhook');
const otherNs = uniqueName('webhook-other');
const run = (args: string[], input?: string) => kubectl(env.virtualKubeconfig, args, input === undefined ? {} : { input });

const seen: Array<AdmissionRequest<ConfigMap>> = [];
const hooks: WebhookHook[] = [
  {
    type: 'mutating', name: 'label-configmaps', path: '/mutate/configmaps',
    handler: async (req) => {
      const cm = req.object as ConfigMap;
      seen.push(req as AdmissionRequest<ConfigMap>);
      cm.metadata = { ...cm.metadata, labels: { ...cm.metadata?.labels, [SEEN_LABEL]: 'vcnet' } };
      return mutate(cm);
    },
  },
  {
    type: 'validating', name: 'deny-configmaps', path: '/validate/configmaps',
    handler: async (req) => {
      const cm = req.object as ConfigMap;
      return cm.metadata?.labels?.['deny'] === 'yes'
        ? deny(`ConfigMap "${cm.metadata.name}" carries deny=yes, which the vcnet test webhook refuses`, { code: 422, reason: 'Invalid' })
        : allow();
    },
  },
];

const ca = await createCA('vcnet-webhook-test-ca');
const servingCert = await issueCert(ca, { commonName: 'vcnet-webhook', ipAddresses: ['127.0.0.1'], usages: ['server'] });
const server = await startWebhookServer({ host: '127.0.0.1', port: 0, servingCert, logger: createLogger('warn'), registry: new Registry(), hooks });

const scoped = (type: 'mutating' | 'validating', name: string, path: string): WebhookConfigurationSpec => ({
  type,
  name: `vcnet-test-${ns}`,
  endpoint: { url: server.url },
  caBundle: ca.certPem,
  webhooks: [{
    name, path, failurePolicy: 'Ignore', timeoutSeconds: 5,
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' }],
  }],
});

const registered: RegisteredWebhooks[] = [];
// One teardown, in this order: configurations first (a webhook that is gone must not stay
// registered), then the server, then the namespaces. It runs even when setup below fails.
t.teardown(async () => {
  for (const r of registered) await r.unregister().catch((err: unknown) => t.comment(`unregister ${r.name}: ${(err as Error).message}`));
  await server.close();
  await Promise.all([ns, otherNs].map((name) => clients.core.deleteNamespace({ name }).catch(() => undefined)));
});

await clients.core.createNamespace({ body: { metadata: { name: ns } } });
await clients.core.createNamespace({ body: { metadata: { name: otherNs } } });
registered.push(await registerWebhooks(clients.kubeConfig, scoped('mutating', 'label.configmaps.test.vcnet.dev', '/mutate/configmaps')));
registered.push(await registerWebhooks(clients.kubeConfig, scoped('validating', DENY_WEBHOOK, '/validate/configmaps')));
const [mutating, validating] = registered as [RegisteredWebhooks, RegisteredWebhooks];

// Dry runs change nothing, and both hooks answer them (sideEffects: NoneOnDryRun).
await mutating.waitUntilLive(async () => {
  const cm = await clients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'probe' } }, dryRun: 'All' });
  return cm.metadata?.labels?.[SEEN_LABEL] === 'vcnet';
});
await validating.waitUntilLive(async () => {
  const err = await clients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'probe', labels: { deny: 'yes' } } }, dryRun: 'All' })
    .then(() => undefined, (e: unknown) => e);
  return err !== undefined && toApiStatus(err).message.includes('which the vcnet test webhook refuses');
});

t.test('a ConfigMap created with kubectl is stored with the label the mutating webhook added', async (t) => {
  const created = await run(['-n', ns, 'create', 'configmap', 'settings', '--from-literal=mode=fast']);
  t.equal(created.code, 0, created.stderr);
  const stored = await clients.core.readNamespacedConfigMap({ name: 'settings', namespace: ns });
  t.equal(stored.metadata?.labels?.[SEEN_LABEL], 'vcnet');
  t.same(stored.data, { mode: 'fast' }, 'the rest of the object is as kubectl sent it');
  const request = seen.find((r) => r.name === 'settings' && r.operation === 'CREATE');
  t.match(request, { namespace: ns, kind: { kind: 'ConfigMap' }, userInfo: { username: 'admin' } });
  t.notOk(request?.dryRun);
});

t.test('a ConfigMap the validating webhook denies: kubectl shows the message and nothing is stored', async (t) => {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'refused', labels: { deny: 'yes' } }, data: { a: '1' } });
  const created = await run(['-n', ns, 'create', '-f', '-'], body);
  t.not(created.code, 0);
  t.match(created.stderr, `admission webhook "${DENY_WEBHOOK}" denied the request: ConfigMap "refused" carries deny=yes, which the vcnet test webhook refuses`);
  const read = await clients.core.readNamespacedConfigMap({ name: 'refused', namespace: ns }).catch((e: unknown) => e);
  t.ok(isNotFound(read), 'not stored');
});

t.test('a server-side dry run reaches the webhook with dryRun=true, gets the mutation, and stores nothing', async (t) => {
  const dry = await run(['-n', ns, 'create', 'configmap', 'dry', '--from-literal=a=1', '--dry-run=server', '-o', 'json']);
  t.equal(dry.code, 0, dry.stderr);
  t.equal((JSON.parse(dry.stdout) as ConfigMap).metadata?.labels?.[SEEN_LABEL], 'vcnet', 'the dry-run answer shows the mutation');
  t.equal(seen.find((r) => r.name === 'dry')?.dryRun, true);
  const read = await clients.core.readNamespacedConfigMap({ name: 'dry', namespace: ns }).catch((e: unknown) => e);
  t.ok(isNotFound(read), 'not stored');
});

t.test('namespaces outside the selector never reach the webhook', async (t) => {
  const created = await run(['-n', otherNs, 'create', 'configmap', 'elsewhere', '--from-literal=a=1']);
  t.equal(created.code, 0, created.stderr);
  const stored = await clients.core.readNamespacedConfigMap({ name: 'elsewhere', namespace: otherNs });
  t.notOk(stored.metadata?.labels?.[SEEN_LABEL]);
  t.notOk(seen.some((r) => r.namespace === otherNs));
});

t.test('registering again replaces the configuration in place; unregistering twice is fine', async (t) => {
  const api = clients.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const spec = scoped('validating', 'again.configmaps.test.vcnet.dev', '/validate/configmaps');
  const first = await registerWebhooks(clients.kubeConfig, { ...spec, name: `vcnet-test-again-${ns}` });
  registered.push(first);
  const before = await api.readValidatingWebhookConfiguration({ name: first.name });
  await registerWebhooks(clients.kubeConfig, { ...spec, name: first.name, webhooks: [{ ...spec.webhooks[0]!, timeoutSeconds: 7 }] });
  const after = await api.readValidatingWebhookConfiguration({ name: first.name });
  t.equal(after.metadata?.uid, before.metadata?.uid, 'the same object');
  t.equal(after.webhooks?.[0]?.timeoutSeconds, 7);
  await first.unregister();
  await first.unregister();
  const gone = await api.readValidatingWebhookConfiguration({ name: first.name }).catch((e: unknown) => e);
  t.ok(isNotFound(gone));
});
