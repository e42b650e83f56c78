import t from 'tap';
import * as keys from '../../../src/translate/keys.ts';

// vCluster's keys, byte for byte: host-side tooling written for vCluster reads these exact strings.
const expected: Array<{ name: keyof typeof keys; value: string }> = [
  { name: 'MANAGED_BY', value: 'vcluster.loft.sh/managed-by' },
  { name: 'NAMESPACE_LABEL', value: 'vcluster.loft.sh/namespace' },
  { name: 'CONTROLLED_BY', value: 'vcluster.loft.sh/controlled-by' },
  { name: 'RELEASE_LABEL', value: 'release' },
  { name: 'LABEL_PREFIX', value: 'vcluster.loft.sh/label' },
  { name: 'NS_LABEL_PREFIX', value: 'vcluster.loft.sh/ns-label' },
  { name: 'OBJECT_NAME', value: 'vcluster.loft.sh/object-name' },
  { name: 'OBJECT_NAMESPACE', value: 'vcluster.loft.sh/object-namespace' },
  { name: 'OBJECT_UID', value: 'vcluster.loft.sh/object-uid' },
  { name: 'OBJECT_KIND', value: 'vcluster.loft.sh/object-kind' },
  { name: 'OBJECT_HOST_NAME', value: 'vcluster.loft.sh/object-host-name' },
  { name: 'OBJECT_HOST_NAMESPACE', value: 'vcluster.loft.sh/object-host-namespace' },
  { name: 'MANAGED_ANNOTATIONS', value: 'vcluster.loft.sh/managed-annotations' },
  { name: 'MANAGED_LABELS', value: 'vcluster.loft.sh/managed-labels' },
  { name: 'FORCE_SYNC', value: 'vcluster.loft.sh/force-sync' },
  { name: 'BLOCK_DELETION', value: 'vcluster.loft.sh/block-deletion' },
  { name: 'SERVICE_CIDR', value: 'vcluster.loft.sh/service-cidr' },
  { name: 'OBJECT_IMPORTED', value: 'vcluster.loft.sh/object-imported' },
  { name: 'POD_NAME', value: 'vcluster.loft.sh/name' },
  { name: 'POD_NAMESPACE', value: 'vcluster.loft.sh/namespace' },
  { name: 'POD_UID', value: 'vcluster.loft.sh/uid' },
  { name: 'POD_SERVICE_ACCOUNT_NAME', value: 'vcluster.loft.sh/service-account-name' },
  { name: 'POD_LABELS', value: 'vcluster.loft.sh/labels' },
  { name: 'POD_OWNER_REFERENCES', value: 'vcluster.loft.sh/owner-references' },
  { name: 'POD_OWNER_SET_KIND', value: 'vcluster.loft.sh/owner-set-kind' },
  { name: 'POD_TOKEN_PREFIX', value: 'vcluster.loft.sh/token-' },
  { name: 'HOSTS_REWRITTEN', value: 'vcluster.loft.sh/hosts-rewritten' },
  { name: 'DISABLE_SUBDOMAIN_REWRITE', value: 'vcluster.loft.sh/disable-subdomain-rewrite' },
  { name: 'SAFE_TO_EVICT', value: 'cluster-autoscaler.kubernetes.io/safe-to-evict' },
  { name: 'DAEMONSET_POD', value: 'cluster-autoscaler.kubernetes.io/daemonset-pod' },
];

t.test('keys are vCluster\'s exact strings', async (t) => {
  for (const e of expected) t.equal(keys[e.name], e.value, e.name);
});

// Kubernetes qualified name: optional DNS-1123 subdomain prefix (<= 253) + "/" + name (<= 63).
const QUALIFIED = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const PREFIXES = new Set(['LABEL_PREFIX', 'NS_LABEL_PREFIX', 'POD_TOKEN_PREFIX', 'ALB_ACTIONS_PREFIX', 'ALB_CONDITIONS_PREFIX']);

t.test('every key is a valid Kubernetes label or annotation key', async (t) => {
  for (const [name, value] of Object.entries(keys)) {
    if (typeof value !== 'string' || name === 'CONTROLLED_BY_REPLICATION') continue;
    // A prefix becomes a key once something is appended to it (a hash, a token id, a Service name).
    const key = PREFIXES.has(name) ? `${value}${value.endsWith('-') || value.endsWith('.') ? '' : '-'}abc12345` : value;
    const m = QUALIFIED.exec(key);
    t.ok(m !== null && (m[5] ?? '').length <= 63 && (m[1] ?? '').length <= 253, `${name} = ${key}`);
  }
});

t.test('the four translated label keys are release and the three vCluster marker keys', async (t) => {
  t.same([...keys.TRANSLATED_LABEL_KEYS].sort(), ['release', 'vcluster.loft.sh/controlled-by', 'vcluster.loft.sh/managed-by', 'vcluster.loft.sh/namespace']);
});

t.test('vcnet owns the object and managed annotations of §1.3', async (t) => {
  t.same([...keys.OBJECT_ANNOTATIONS].sort(), [
    'vcluster.loft.sh/managed-annotations', 'vcluster.loft.sh/managed-labels', 'vcluster.loft.sh/object-host-name',
    'vcluster.loft.sh/object-host-namespace', 'vcluster.loft.sh/object-kind', 'vcluster.loft.sh/object-name',
    'vcluster.loft.sh/object-namespace', 'vcluster.loft.sh/object-uid',
  ]);
  t.ok(Object.isFrozen(keys.OBJECT_ANNOTATIONS) && Object.isFrozen(keys.TRANSLATED_LABEL_KEYS), 'the lists cannot be edited at run time');
});
