import t from 'tap';
import { podToHost, podTranslateOptions } from '../../../src/translate/pod.ts';
import { hostsRewriteScript } from '../../../src/translate/pod-hosts.ts';
import type { Pod } from '../../../src/translate/pod-types.ts';
import { podFacts, tr, virtualPod, runPodCases } from '../../fixtures/pods/index.ts';


const CLUSTER_DNS = {
  nameservers: ['10.96.0.10'],
  searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  options: [{ name: 'ndots', value: '5' }],
};

const many = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

const run = runPodCases;

t.test('DNS policy', async (t) => {
  run(t, [
    {
      name: 'points a ClusterFirst pod at vcnet\'s DNS with the virtual search path and ndots:5',
      virtual: virtualPod({ spec: { dnsPolicy: 'ClusterFirst' } }),
      expected: { 'hPod.spec.dnsPolicy': 'None', 'hPod.spec.dnsConfig': CLUSTER_DNS, warnings: [] },
    },
    {
      name: 'treats a pod without dnsPolicy as ClusterFirst, the Kubernetes default',
      virtual: virtualPod({ spec: { dnsPolicy: undefined } }),
      expected: { 'hPod.spec.dnsPolicy': 'None', 'hPod.spec.dnsConfig': CLUSTER_DNS },
    },
    {
      name: 'points a ClusterFirstWithHostNet pod on the host network at vcnet\'s DNS',
      virtual: virtualPod({ spec: { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true } }),
      expected: { 'hPod.spec.dnsPolicy': 'None', 'hPod.spec.dnsConfig': CLUSTER_DNS },
    },
    {
      name: 'leaves a ClusterFirst pod on the host network alone, since Kubernetes treats it as Default',
      virtual: virtualPod({ spec: { dnsPolicy: 'ClusterFirst', hostNetwork: true } }),
      expected: { 'hPod.spec.dnsPolicy': 'ClusterFirst', 'hPod.spec.dnsConfig': undefined },
    },
    {
      name: 'leaves a Default pod and its dnsConfig alone',
      virtual: virtualPod({ spec: { dnsPolicy: 'Default', dnsConfig: { options: [{ name: 'timeout', value: '2' }] } } }),
      expected: { 'hPod.spec.dnsPolicy': 'Default', 'hPod.spec.dnsConfig': { options: [{ name: 'timeout', value: '2' }] } },
    },
    {
      name: 'leaves a None pod and its dnsConfig alone',
      virtual: virtualPod({ spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } } }),
      expected: { 'hPod.spec.dnsPolicy': 'None', 'hPod.spec.dnsConfig': { nameservers: ['1.1.1.1'] } },
    },
  ]);
});

t.test('the user\'s own dnsConfig on a ClusterFirst pod', async (t) => {
  run(t, [
    {
      name: 'appends the user\'s nameservers and searches after vcnet\'s, without duplicates',
      virtual: virtualPod({
        spec: { dnsConfig: { nameservers: ['10.96.0.10', '1.1.1.1'], searches: ['svc.cluster.local', 'corp.example.com'] } },
      }),
      expected: {
        'hPod.spec.dnsConfig.nameservers': ['10.96.0.10', '1.1.1.1'],
        'hPod.spec.dnsConfig.searches': ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example.com'],
      },
    },
    {
      name: 'keeps the user\'s resolver options after ndots:5 (vCluster drops them)',
      virtual: virtualPod({ spec: { dnsConfig: { options: [{ name: 'single-request-reopen' }, { name: 'timeout', value: '2' }] } } }),
      expected: {
        'hPod.spec.dnsConfig.options': [{ name: 'ndots', value: '5' }, { name: 'single-request-reopen' }, { name: 'timeout', value: '2' }],
      },
    },
    {
      name: 'lets a user-given ndots win over ndots:5',
      virtual: virtualPod({ spec: { dnsConfig: { options: [{ name: 'edns0' }, { name: 'ndots', value: '2' }] } } }),
      expected: { 'hPod.spec.dnsConfig.options': [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    },
    {
      name: 'keeps the last value of an option the user repeats',
      virtual: virtualPod({ spec: { dnsConfig: { options: [{ name: 'timeout', value: '1' }, { name: 'timeout', value: '3' }] } } }),
      expected: { 'hPod.spec.dnsConfig.options': [{ name: 'ndots', value: '5' }, { name: 'timeout', value: '3' }] },
    },
    {
      name: 'keeps three nameservers, vcnet\'s first, and warns about the rest',
      virtual: virtualPod({ spec: { dnsConfig: { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'] } } }),
      expected: {
        'hPod.spec.dnsConfig.nameservers': ['10.96.0.10', '1.1.1.1', '8.8.8.8'],
        'warnings.length': 1,
        'warnings.0': 'dnsConfig.nameservers: at most 3 nameservers fit next to the cluster DNS server; dropped 9.9.9.9',
      },
    },
    {
      name: 'keeps 32 search domains, the cluster\'s first, and warns about the rest',
      virtual: virtualPod({ spec: { dnsConfig: { searches: many(31, (i) => `d${i}.example.com`) } } }),
      expected: {
        'hPod.spec.dnsConfig.searches.length': 32,
        'hPod.spec.dnsConfig.searches.0': 'shop.svc.cluster.local',
        'hPod.spec.dnsConfig.searches.31': 'd28.example.com',
        'warnings.0': 'dnsConfig.searches: at most 32 search domains of 2048 characters in all fit next to the cluster search path; '
          + 'dropped d29.example.com, d30.example.com',
      },
    },
    {
      // 197 characters each: the 3 cluster domains (53 characters) and 10 of these fit in 2048, with the spaces.
      name: 'keeps the search list within 2048 characters',
      virtual: virtualPod({ spec: { dnsConfig: { searches: many(12, (i) => `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}-${String(i).padStart(2, '0')}.example.com`) } } }),
      expected: { 'hPod.spec.dnsConfig.searches.length': 13, 'hPod.spec.dnsConfig.searches.12': `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}-09.example.com`, 'warnings.length': 1 },
    },
    {
      name: 'writes no search path when the cluster domain is empty',
      virtual: virtualPod(),
      options: { clusterDomain: '' },
      expected: { 'hPod.spec.dnsConfig': { nameservers: ['10.96.0.10'], options: [{ name: 'ndots', value: '5' }] } },
    },
    {
      name: 'uses a custom cluster domain in the search path',
      virtual: virtualPod(),
      options: { clusterDomain: 'tenant.internal' },
      expected: { 'hPod.spec.dnsConfig.searches': ['shop.svc.tenant.internal', 'svc.tenant.internal', 'tenant.internal'] },
    },
  ]);
});

t.test('refuses to rewrite DNS without the IP of vcnet\'s DNS Service', async (t) => {
  t.throws(() => podToHost(tr, virtualPod(), podFacts({ dnsIP: '' }), podTranslateOptions()), /facts\.dnsIP/);
  t.doesNotThrow(() => podToHost(tr, virtualPod({ spec: { dnsPolicy: 'Default' } }), podFacts({ dnsIP: '' }), podTranslateOptions()),
    'a pod that does not use cluster DNS needs no DNS IP');
});

t.test('hostAliases', async (t) => {
  run(t, [
    {
      name: 'appends the kubernetes names of the virtual API server after the pod\'s own aliases',
      virtual: virtualPod({ spec: { hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }] } }),
      expected: {
        'hPod.spec.hostAliases': [
          { ip: '10.0.0.1', hostnames: ['db.local'] },
          { ip: '10.96.0.1', hostnames: ['kubernetes.default.svc.cluster.local', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'] },
        ],
      },
    },
    {
      name: 'leaves out the fully qualified name when the cluster domain is empty',
      virtual: virtualPod(),
      options: { clusterDomain: '' },
      expected: { 'hPod.spec.hostAliases': [{ ip: '10.96.0.1', hostnames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc'] }] },
    },
  ]);
});

t.test('hostname', async (t) => {
  const long = `${'a'.repeat(60)}.b-c.d`;
  run(t, [
    {
      name: 'makes the virtual pod name the hostname, so `hostname` shows the virtual name',
      virtual: virtualPod(),
      expected: { 'hPod.spec.hostname': 'web-0' },
    },
    {
      name: 'keeps a hostname the virtual pod sets',
      virtual: virtualPod({ spec: { hostname: 'primary' } }),
      expected: { 'hPod.spec.hostname': 'primary' },
    },
    {
      name: 'cuts a long name to 63 characters, turns dots into dashes and trims trailing dashes',
      virtual: virtualPod({ metadata: { name: long } }),
      expected: { 'hPod.spec.hostname': `${'a'.repeat(60)}-b` },
    },
    {
      name: 'trims every trailing dash of the cut (vCluster trims one and leaves an invalid hostname)',
      virtual: virtualPod({ metadata: { name: `${'a'.repeat(61)}..x` } }),
      expected: { 'hPod.spec.hostname': 'a'.repeat(61) },
    },
  ]);
});

t.test('subdomain and the /etc/hosts rewrite', async (t) => {
  const statefulPod = (extra: Partial<Pod['spec']> = {}, annotations?: Record<string, string>): Pod => virtualPod({
    metadata: { name: 'db-0', ...(annotations === undefined ? {} : { annotations }) },
    spec: { hostname: 'db-0', subdomain: 'db', ...extra },
  });
  const hostsMount = { name: 'vcluster-rewrite-hosts', mountPath: '/etc/hosts', subPath: 'hosts' };
  const initContainer = {
    name: 'vcluster-rewrite-hosts',
    image: 'mirror.gcr.io/library/alpine:3.20',
    command: ['sh'],
    args: ['-c', "sed -E 's/^([0-9A-Fa-f.:]+[[:space:]]+)db-0$/\\1db-0.db.shop.svc.cluster.local db-0/' /etc/hosts > /hosts/hosts"],
    resources: { limits: { cpu: '30m', memory: '64Mi' }, requests: { cpu: '30m', memory: '64Mi' } },
    securityContext: {
      runAsUser: 1001, runAsGroup: 1001, runAsNonRoot: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: 'vcluster-rewrite-hosts', mountPath: '/hosts' }],
  };
  run(t, [
    {
      name: 'clears the subdomain and prepends the init container that writes the pod\'s FQDN into /etc/hosts',
      virtual: statefulPod({ initContainers: [{ name: 'migrate', image: 'app:1' }] }),
      expected: {
        'hPod.spec.subdomain': undefined,
        'hPod.spec.hostname': 'db-0',
        'hPod.spec.initContainers.length': 2,
        'hPod.spec.initContainers.0': initContainer,
        'hPod.spec.initContainers.1.name': 'migrate',
        'hPod.spec.volumes': [{ name: 'vcluster-rewrite-hosts', emptyDir: {} }],
        'hPod.metadata.annotations["vcluster.loft.sh/hosts-rewritten"]': 'true',
      },
    },
    {
      name: 'mounts the rewritten /etc/hosts in every container, init container and ephemeral container but its own',
      virtual: statefulPod({
        containers: [{ name: 'a', volumeMounts: [{ name: 'data', mountPath: '/data' }] }, { name: 'b' }],
        initContainers: [{ name: 'init' }],
        ephemeralContainers: [{ name: 'debug' }],
      }),
      expected: {
        'hPod.spec.containers.0.volumeMounts': [{ name: 'data', mountPath: '/data' }, hostsMount],
        'hPod.spec.containers.1.volumeMounts': [hostsMount],
        'hPod.spec.initContainers.0.volumeMounts': [{ name: 'vcluster-rewrite-hosts', mountPath: '/hosts' }],
        'hPod.spec.initContainers.1.volumeMounts': [hostsMount],
        'hPod.spec.ephemeralContainers.0.volumeMounts': [hostsMount],
      },
    },
    {
      name: 'gives the injected init container none of the pod\'s environment',
      virtual: statefulPod(),
      expected: { 'hPod.spec.initContainers.0.env': undefined },
    },
    {
      name: 'leaves a container\'s own /etc/hosts mount in place and says so',
      virtual: statefulPod({ containers: [{ name: 'a', volumeMounts: [{ name: 'custom', mountPath: '/etc/hosts' }] }] }),
      expected: {
        'hPod.spec.containers.0.volumeMounts': [{ name: 'custom', mountPath: '/etc/hosts' }],
        'warnings': ['container a mounts its own /etc/hosts, so it does not see the pod\'s FQDN there'],
      },
    },
    {
      name: 'skips the rewrite for a pod that opts out, without needing the hosts-rewritten annotation as vCluster does',
      virtual: statefulPod({}, { 'vcluster.loft.sh/disable-subdomain-rewrite': 'true' }),
      expected: {
        'hPod.spec.subdomain': undefined,
        'hPod.spec.initContainers': undefined,
        'hPod.spec.volumes': undefined,
        'hPod.spec.containers.0.volumeMounts': undefined,
        'hPod.metadata.annotations["vcluster.loft.sh/hosts-rewritten"]': undefined,
      },
    },
    {
      name: 'still clears the subdomain when rewriteHosts is disabled',
      virtual: statefulPod(),
      options: { rewriteHosts: { enabled: false } },
      expected: { 'hPod.spec.subdomain': undefined, 'hPod.spec.initContainers': undefined, 'hPod.metadata.annotations["vcluster.loft.sh/hosts-rewritten"]': undefined },
    },
    {
      name: 'warns that setHostnameAsFQDN cannot give the kernel the FQDN without a host subdomain',
      virtual: statefulPod({ setHostnameAsFQDN: true }),
      expected: {
        'hPod.spec.setHostnameAsFQDN': true,
        'warnings': ['spec.setHostnameAsFQDN: the host pod has no subdomain, so its kernel hostname is db-0; the FQDN is only in /etc/hosts (hostname -f)'],
      },
    },
    {
      name: 'adds nothing to a pod without a subdomain',
      virtual: virtualPod(),
      expected: { 'hPod.spec.initContainers': undefined, 'hPod.spec.volumes': undefined, 'hPod.spec.containers.0.volumeMounts': undefined },
    },
    {
      name: 'runs the configured image, resources and user',
      virtual: statefulPod(),
      options: {
        rewriteHosts: {
          initContainer: { image: 'registry.internal/alpine:3.20', runAsUser: 2000, runAsGroup: 3000, resources: { limits: { cpu: '50m', memory: '32Mi' } } },
        },
      },
      expected: {
        'hPod.spec.initContainers.0.image': 'registry.internal/alpine:3.20',
        'hPod.spec.initContainers.0.resources': { limits: { cpu: '50m', memory: '32Mi' } },
        'hPod.spec.initContainers.0.securityContext.runAsUser': 2000,
        'hPod.spec.initContainers.0.securityContext.runAsGroup': 3000,
      },
    },
    {
      name: 'uses the subdomain, namespace and cluster domain in the FQDN',
      virtual: virtualPod({ metadata: { name: 'kafka-2' }, spec: { hostname: 'kafka-2', subdomain: 'brokers' } }),
      options: { clusterDomain: 'tenant.internal' },
      expected: { 'hPod.spec.initContainers.0.args.1': hostsRewriteScript('kafka-2', 'kafka-2.brokers.shop.svc.tenant.internal') },
    },
  ]);
});

t.test('the rewrite script turns the kubelet\'s lines for the pod into FQDN lines, IPv4 and IPv6', async (t) => {
  // The sed expression of hostsRewriteScript, applied here the way POSIX ERE reads it.
  const script = hostsRewriteScript('db-0', 'db-0.db.shop.svc.cluster.local');
  const m = /^sed -E 's\/(.+)\/(.+)\/' \/etc\/hosts > \/hosts\/hosts$/.exec(script);
  t.ok(m, 'a single sed substitution from /etc/hosts to /hosts/hosts');
  const re = new RegExp((m?.[1] ?? '').replace('[[:space:]]', '\\s'), 'gm');
  const replacement = (m?.[2] ?? '').replace('\\1', '$1');
  const kubeletHosts = '127.0.0.1\tlocalhost\n10.244.1.7\tdb-0\nfd00::7\tdb-0\n10.244.1.8\tdb-00\n10.96.0.1\tkubernetes\n';
  t.equal(kubeletHosts.replace(re, replacement),
    '127.0.0.1\tlocalhost\n10.244.1.7\tdb-0.db.shop.svc.cluster.local db-0\nfd00::7\tdb-0.db.shop.svc.cluster.local db-0\n10.244.1.8\tdb-00\n10.96.0.1\tkubernetes\n');
});
