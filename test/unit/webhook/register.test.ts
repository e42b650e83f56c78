// The webhook configuration objects vcnet writes: the fields the API server requires and the defaults
// that keep a dead webhook from blocking the system namespaces.
import t from 'tap';
import { createCA } from '../../../src/certs/index.ts';
import { caBundlePem, webhookConfiguration, type WebhookConfigurationSpec } from '../../../src/webhook/index.ts';

const [ca1, ca2] = await Promise.all([createCA('webhook-ca-1'), createCA('webhook-ca-2')]);

const podRule = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['pods'], scope: 'Namespaced' };

function spec(overrides: Partial<WebhookConfigurationSpec> = {}): WebhookConfigurationSpec {
  return {
    type: 'mutating',
    name: 'vcnet-sync',
    endpoint: { url: 'https://127.0.0.1:9443' },
    caBundle: ca1.certPem,
    webhooks: [{ name: 'pods.sync.vcnet.dev', path: '/sync/pods', rules: [podRule] }],
    ...overrides,
  };
}

t.test('a mutating configuration with url clientConfig and the required and safe defaults', async (t) => {
  const cfg = webhookConfiguration(spec({ labels: { 'app.kubernetes.io/managed-by': 'vcnet' } }));
  t.match(cfg, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'vcnet-sync', labels: { 'app.kubernetes.io/managed-by': 'vcnet' } },
  });
  t.same(cfg.webhooks![0], {
    name: 'pods.sync.vcnet.dev',
    clientConfig: { url: 'https://127.0.0.1:9443/sync/pods', caBundle: Buffer.from(ca1.certPem.trim() + '\n').toString('base64') },
    rules: [podRule],
    failurePolicy: 'Fail',
    sideEffects: 'NoneOnDryRun',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 10,
    matchPolicy: 'Equivalent',
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease'] }] },
    reinvocationPolicy: 'Never',
  });
});

t.test('a validating configuration has no reinvocationPolicy (the API server rejects it there)', async (t) => {
  const cfg = webhookConfiguration(spec({ type: 'validating' }));
  t.equal(cfg.kind, 'ValidatingWebhookConfiguration');
  t.notOk('reinvocationPolicy' in cfg.webhooks![0]!);
});

t.test('a Service reference for in-cluster use carries the hook path and port 443 by default', async (t) => {
  const cfg = webhookConfiguration(spec({ endpoint: { service: { namespace: 'vcluster-ns', name: 'vcnet-webhook' } } }));
  t.same(cfg.webhooks![0]!.clientConfig.service, { namespace: 'vcluster-ns', name: 'vcnet-webhook', port: 443, path: '/sync/pods' });
  t.notOk('url' in cfg.webhooks![0]!.clientConfig);
});

t.test('several CAs are concatenated into one bundle, for rotation without downtime', async (t) => {
  const cfg = webhookConfiguration(spec({ caBundle: [ca1.certPem, ca2.certPem] }));
  const pem = Buffer.from(cfg.webhooks![0]!.clientConfig.caBundle!, 'base64').toString('utf8');
  t.equal(pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
  t.equal(pem, caBundlePem([ca1.certPem, ca2.certPem]));
  t.ok(pem.startsWith(ca1.certPem.trim()) && pem.endsWith(ca2.certPem.trim() + '\n'));
});

t.test('a namespace selector of the caller is ANDed with the exclusions', async (t) => {
  const cfg = webhookConfiguration(spec({
    webhooks: [{
      name: 'pods.sync.vcnet.dev', path: '/sync/pods', rules: [podRule], failurePolicy: 'Ignore', timeoutSeconds: 5,
      excludeNamespaces: ['vcnet-system', 'kube-system'],
      namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      objectSelector: { matchLabels: { sync: 'yes' } },
    }],
  }));
  t.match(cfg.webhooks![0], {
    failurePolicy: 'Ignore',
    timeoutSeconds: 5,
    objectSelector: { matchLabels: { sync: 'yes' } },
  });
  t.same(cfg.webhooks![0]!.namespaceSelector, {
    matchLabels: { team: 'a' },
    matchExpressions: [
      { key: 'tier', operator: 'Exists' },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'vcnet-system'] },
    ],
  });
});

t.test('specs the API server would refuse are refused first, naming the field', async (t) => {
  const hook = spec().webhooks[0]!;
  const bad: Array<[string, Partial<WebhookConfigurationSpec>, RegExp]> = [
    ['an http url', { endpoint: { url: 'http://127.0.0.1:9443' } }, /endpoint.url must be https:\/\//],
    ['a url with a query', { endpoint: { url: 'https://127.0.0.1:9443/?x=1' } }, /may not carry user info, a query or a fragment/],
    ['not a url', { endpoint: { url: 'nope' } }, /endpoint.url "nope" is not a URL/],
    ['no CA', { caBundle: [] }, /caBundle must hold one or more PEM certificates/],
    ['a key instead of a CA', { caBundle: ca1.keyPem }, /caBundle must hold one or more PEM certificates/],
    ['a short webhook name', { webhooks: [{ ...hook, name: 'pods.vcnet' }] }, /webhooks\[0\].name must be fully qualified with at least three segments/],
    ['a duplicate webhook name', { webhooks: [hook, hook] }, /webhooks\[1\].name "pods.sync.vcnet.dev" is used twice/],
    ['a timeout above 30 s', { webhooks: [{ ...hook, timeoutSeconds: 31 }] }, /webhooks\[0\].timeoutSeconds must be an integer from 1 to 30, got 31/],
    ['a relative path', { webhooks: [{ ...hook, path: 'sync' }] }, /webhooks\[0\].path must start with "\/"/],
    ['no rules', { webhooks: [{ ...hook, rules: [] }] }, /webhooks\[0\].rules must not be empty/],
    ['no webhooks', { webhooks: [] }, /webhooks must not be empty/],
    ['an upper-case name', { name: 'VCNet' }, /name must be a DNS subdomain/],
  ];
  for (const [name, overrides, message] of bad) {
    t.throws(() => webhookConfiguration(spec(overrides)), { name: 'TypeError', message }, name);
  }
});
