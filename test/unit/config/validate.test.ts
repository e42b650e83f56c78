import t from 'tap';
import {
  ConfigError, ConfigErrors, configFields, defaultConfig, mergeConfig, parseConfig,
} from '../../../src/config/index.ts';
import type { VcnetConfig } from '../../../src/config/index.ts';

/** `{ a: { b: value } }` from `'a.b'`. */
function at(path: string, value: unknown): Record<string, unknown> {
  return path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function get(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], config);
}

/** The problems parseConfig reports, as [path, message] pairs; [] when it accepts the input. */
function problems(input: unknown): Array<[string, string]> {
  try {
    parseConfig(input);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => [e.path, e.message]);
  }
}

t.test('an empty configuration gives every default', async (t) => {
  const expected: VcnetConfig = {
    networking: { serviceCIDR: '', podCIDR: '10.244.0.0/16', advanced: { clusterDomain: 'cluster.local', fallbackHostCluster: false }, resolveDNS: [] },
    controlPlane: {
      proxy: { bindAddress: '0.0.0.0', port: 8443, extraSANs: [] },
      advanced: { workloadServiceAccount: { name: '' } },
    },
    sync: {
      toHost: {
        pods: {
          enabled: true,
          rewriteHosts: {
            enabled: true,
            initContainer: {
              image: { registry: 'mirror.gcr.io', repository: 'library/alpine', tag: '3.20' },
              resources: { limits: { cpu: '30m', memory: '64Mi' }, requests: { cpu: '30m', memory: '64Mi' } },
            },
          },
          translateImage: {},
          enforceTolerations: [],
          useSecretsForSATokens: false,
          runtimeClassName: '',
          priorityClassName: '',
        },
        services: { enabled: true },
        endpoints: { enabled: true },
        endpointSlices: { enabled: true },
      },
      fromHost: { nodes: { enabled: false, selector: { all: false, labels: {} }, clearImageStatus: false } },
    },
    vcnet: {
      name: 'vcluster',
      virtual: { kubeconfig: '' },
      host: { kubeconfig: '', namespace: '', service: '', dnsService: '' },
      proxy: { clientCAFile: '', maxRequestBodyBytes: 3145728, impersonationCacheSeconds: 10 },
      webhook: { bindAddress: '127.0.0.1', port: 9443, url: '', timeoutSeconds: 10, failurePolicy: 'Fail' },
      sync: { orphanGraceSeconds: 30, resyncSeconds: 300, leaseDurationSeconds: 15 },
      certs: { dir: 'certs', validityDays: 365, renewBeforeDays: 30 },
      observability: { bindAddress: '127.0.0.1', port: 8080 },
      dns: {
        enabled: true, bindAddress: '0.0.0.0', port: 1053, upstreams: [], hostClusterDNS: '', upstreamTimeoutSeconds: 2,
        cache: { maxEntries: 10000, maxTTLSeconds: 30, negativeTTLSeconds: 5 },
      },
      logLevel: 'info',
    },
  };
  for (const input of [{}, null, undefined, { networking: null, controlPlane: { proxy: null }, vcnet: {} }]) {
    t.same(parseConfig(input), expected, `from ${JSON.stringify(input)}`);
  }
  t.same(defaultConfig(), expected, 'defaultConfig()');
});

t.test('a field set to null takes its default, as Helm treats values', async (t) => {
  const config = parseConfig({ controlPlane: { proxy: { port: null, extraSANs: null } }, vcnet: { logLevel: null } });
  t.equal(config.controlPlane.proxy.port, 8443);
  t.same(config.controlPlane.proxy.extraSANs, []);
  t.equal(config.vcnet.logLevel, 'info');
});

// Every field: values it takes as they are, and values it refuses with the reason.
const fieldCases: Array<{ path: string; valid: unknown[]; invalid: Array<[unknown, RegExp, string?]> }> = [
  {
    path: 'networking.serviceCIDR',
    valid: ['', '10.96.0.0/12', '10.43.0.0/16', 'fd00:10:96::/108', '2001:db8::/112', '10.96.0.0/12,fd00::/108', 'fd00::/108,10.96.0.0/12'],
    invalid: [
      ['10.96.0.0', /"10\.96\.0\.0" is not a valid CIDR: a CIDR needs a prefix length/],
      ['10.96.0.1/12', /the network is 10\.96\.0\.0\/12/],
      ['fd00::1/108', /the network is fd00::\/108/],
      ['10.96.0.0/12,10.100.0.0/16', /two IPv4 CIDRs; a dual-stack service CIDR has one IPv4 and one IPv6 CIDR/],
      ['fd00::/108,fd01::/108', /two IPv6 CIDRs/],
      ['10.96.0.0/12,fd00::/108,10.0.0.0/8', /has 3 CIDRs/],
      ['10.96.0.0/12, fd00::/108', /" fd00::\/108" in "10\.96\.0\.0\/12, fd00::\/108" is not a valid CIDR/],
      [['10.96.0.0/12'], /expected a string, got a list/],
    ],
  },
  {
    path: 'networking.podCIDR',
    valid: ['10.244.0.0/16', '192.168.0.0/24', 'fd00:10:244::/56', '::/0'],
    invalid: [
      ['', /"" is not a valid CIDR/],
      ['10.244.0.0/16,fd00::/56', /is not a valid CIDR/],
      ['10.244.0.0/40', /prefix length must be a number from 0 to 32/],
      ['fd00::/200', /from 0 to 128/],
      [16, /expected a string, got a number \(16\); put the value in quotes/],
    ],
  },
  {
    path: 'networking.advanced.clusterDomain',
    valid: ['cluster.local', 'corp.internal', 'local'],
    invalid: [
      ['', /"" is not a valid DNS-1123 subdomain/],
      ['Cluster.Local', /is not a valid DNS-1123 subdomain/],
      ['cluster.local.', /is not a valid DNS-1123 subdomain/],
      ['cluster_local', /is not a valid DNS-1123 subdomain/],
    ],
  },
  {
    path: 'networking.advanced.fallbackHostCluster',
    valid: [true, false],
    invalid: [['true', /expected a boolean .*; write it without quotes/], [1, /expected a boolean/]],
  },
  {
    // Every rule of vcluster-networking.md section 7.2 has its own cases in resolve-dns.test.ts.
    path: 'networking.resolveDNS',
    valid: [[], [{ hostname: 'a.example.com', target: { ip: '10.0.0.1' } }], [{ service: 'shop/web', target: { hostService: 'infra/web' } }]],
    invalid: [
      [{ hostname: 'a.com' }, /expected a list of rules, got a mapping/],
      [['a.com'], /expected a rule \(a mapping/, 'networking.resolveDNS[0]'],
      [[{ hostname: 'a.com', target: { hostService: 'web' } }], /"web" must be hostNamespace\/name of a host Service, with exactly one "\/"; it has 0/, 'networking.resolveDNS[0].target.hostService'],
    ],
  },
  {
    path: 'controlPlane.proxy.bindAddress',
    valid: ['0.0.0.0', '127.0.0.1', '::', '::1', '10.1.2.3'],
    invalid: [
      ['', /"" is not an IPv4 or IPv6 address/],
      ['localhost', /"localhost" is not an IPv4 or IPv6 address/],
      ['0.0.0.0:8443', /is not an IPv4 or IPv6 address/],
      ['10.0.0.01', /is not an IPv4 or IPv6 address/],
    ],
  },
  {
    path: 'controlPlane.proxy.port',
    valid: [1, 443, 8443, 65535],
    invalid: [
      [0, /must be an integer from 1 to 65535, got 0/],
      [65536, /must be an integer from 1 to 65535, got 65536/],
      [-1, /from 1 to 65535/],
      [8443.5, /expected an integer, got a number \(8443\.5\)/],
      ['8443', /expected an integer, got a string \("8443"\)/],
      [true, /expected an integer, got a boolean/],
    ],
  },
  {
    path: 'controlPlane.proxy.extraSANs',
    valid: [[], ['vcnet.example.com'], ['*.example.com', '10.0.0.1', 'fd00::1', 'localhost']],
    invalid: [
      ['vcnet.example.com', /expected a list, got a string/],
      [['ok.example.com', 'exa mple'], /^controlPlane\.proxy\.extraSANs\[1\]: "exa mple" is not a DNS name or IP address$/, 'controlPlane.proxy.extraSANs[1]'],
      [['a.*.example.com'], /wildcard must be the whole first label/, 'controlPlane.proxy.extraSANs[0]'],
      [['10.0.0.256'], /"10\.0\.0\.256" is not a DNS name or IP address/, 'controlPlane.proxy.extraSANs[0]'],
      [[42], /expected a string, got a number \(42\)/, 'controlPlane.proxy.extraSANs[0]'],
      [[null], /expected a string, got nothing/, 'controlPlane.proxy.extraSANs[0]'],
    ],
  },
  {
    path: 'controlPlane.advanced.workloadServiceAccount.name',
    valid: ['', 'vc-workload-vcluster', 'workloads', 'team.a'],
    invalid: [
      ['Workloads', /"Workloads" is not a valid DNS-1123 subdomain/],
      ['work_loads', /DNS-1123 subdomain/],
      [true, /expected a string, got a boolean/],
    ],
  },
  {
    path: 'sync.toHost.pods.enabled',
    valid: [true, false],
    invalid: [
      ['true', /^sync\.toHost\.pods\.enabled: expected a boolean \(true or false\), got a string \("true"\); write it without quotes$/],
      ['enabled', /expected a boolean \(true or false\), got a string \("enabled"\)$/],
      [1, /expected a boolean \(true or false\), got a number \(1\)/],
      [{}, /expected a boolean \(true or false\), got a mapping/],
    ],
  },
  {
    path: 'sync.toHost.pods.rewriteHosts.enabled',
    valid: [true, false],
    invalid: [['False', /got a string \("False"\); write it without quotes/], [0, /expected a boolean/]],
  },
  {
    path: 'sync.toHost.pods.rewriteHosts.initContainer.image.registry',
    valid: ['', 'mirror.gcr.io', 'registry.example.com:5000', 'localhost:5000', 'ghcr.io/org/mirror', '[fd00::1]:5000', '10.0.0.1:5000'],
    invalid: [
      ['https://mirror.gcr.io', /"https:\/\/mirror\.gcr\.io" is not an image registry: .*\(no scheme/],
      ['mirror.gcr.io/', /is not an image registry/],
      ['my registry', /is not an image registry/],
      ['-bad.example', /is not an image registry/],
    ],
  },
  {
    path: 'sync.toHost.pods.rewriteHosts.initContainer.image.repository',
    valid: ['library/alpine', 'alpine', 'org/team/busybox', 'my_image', 'my-image', 'a.b'],
    invalid: [
      ['', /^sync\.toHost\.pods\.rewriteHosts\.initContainer\.image\.repository: must name the image repository, such as library\/alpine$/],
      ['Library/Alpine', /"Library\/Alpine" is not an image repository/],
      ['library/alpine:3.20', /is not an image repository: .*\(the tag goes in the tag field\)$/],
      ['/alpine', /is not an image repository/],
      ['alpine/', /is not an image repository/],
    ],
  },
  {
    path: 'sync.toHost.pods.rewriteHosts.initContainer.image.tag',
    valid: ['', '3.20', 'latest', 'v1.2.3-rc.1', '3_20'],
    invalid: [
      ['.hidden', /"\.hidden" is not an image tag/],
      ['a:b', /is not an image tag/],
      ['x'.repeat(129), /is not an image tag/],
      [3.2, /expected a string, got a number \(3\.2\); put the value in quotes/],
    ],
  },
  ...([
    // Each request stays at most its limit (30m CPU, 64Mi memory by default); that rule has its own test.
    ['limits.cpu', ['', '30m', '1', '0.5', '2e3', '+1', '1k']],
    ['limits.memory', ['', '64Mi', '1Gi', '128M', '1e9', '0.5Gi']],
    ['requests.cpu', ['', '0', '10m', '0.01', '1e-3', '500u', '100n', '30m']],
    ['requests.memory', ['', '0', '1Mi', '64Mi', '64M', '1e6']],
  ] as const).map(([leaf, valid]) => ({
    path: `sync.toHost.pods.rewriteHosts.initContainer.resources.${leaf}`,
    valid: [...valid],
    invalid: [
      ['64MB', /"64MB" is not a Kubernetes quantity: a number with an optional suffix/],
      ['-1', /"-1" is negative; requests and limits must be 0 or more/],
      ['1.2.3', /is not a Kubernetes quantity/],
      ['30 m', /is not a Kubernetes quantity/],
      ['.', /is not a Kubernetes quantity/],
      [30, /expected a string, got a number \(30\); put the value in quotes/],
    ] as Array<[unknown, RegExp]>,
  })),
  {
    path: 'sync.toHost.pods.translateImage',
    valid: [{}, { 'nginx:1.25': 'registry.example.com/nginx:1.25' }, { busybox: 'mirror.gcr.io/library/busybox', 'a@sha256:0': 'b' }],
    invalid: [
      [['nginx'], /expected a mapping, got a list/],
      ['nginx=other', /expected a mapping, got a string/],
      [{ nginx: '' }, /^sync\.toHost\.pods\.translateImage\.nginx: must name an image$/, 'sync.toHost.pods.translateImage.nginx'],
      [{ 'nginx:1.25': ' other ' }, /" other " has leading or trailing whitespace/, 'sync.toHost.pods.translateImage["nginx:1.25"]'],
      [{ ' nginx': 'other' }, /" nginx" has leading or trailing whitespace/, 'sync.toHost.pods.translateImage[" nginx"]'],
      [{ nginx: 1.25 }, /expected a string, got a number \(1\.25\)/, 'sync.toHost.pods.translateImage.nginx'],
      [{ nginx: null }, /expected a string, got nothing/, 'sync.toHost.pods.translateImage.nginx'],
    ],
  },
  {
    path: 'sync.toHost.pods.enforceTolerations',
    valid: [[], ['*'], ['dedicated=vcluster:NoSchedule', 'gpu:NoExecute', 'team=a', 'spot', 'example.com/key=v:PreferNoSchedule', 'k=:NoSchedule']],
    invalid: [
      ['a=b:NoSchedule', /expected a list, got a string/],
      [['ok', 'key=value:NoSchedul'], /^sync\.toHost\.pods\.enforceTolerations\[1\]: "key=value:NoSchedul" is not a toleration \(effect must be NoSchedule, PreferNoSchedule or NoExecute, not "NoSchedul"\); expected key=value:Effect, key:Effect, key=value, key or \*$/, 'sync.toHost.pods.enforceTolerations[1]'],
      [['a:b:NoSchedule'], /is not a toleration \(more than one ":"\)/, 'sync.toHost.pods.enforceTolerations[0]'],
      [['a=b=c'], /is not a toleration \(more than one "="\)/, 'sync.toHost.pods.enforceTolerations[0]'],
      [['=v:NoSchedule'], /is not a toleration \("" is not a valid label key\)/, 'sync.toHost.pods.enforceTolerations[0]'],
      [['key:'], /effect must be NoSchedule, PreferNoSchedule or NoExecute, not ""/, 'sync.toHost.pods.enforceTolerations[0]'],
      [['key=bad value'], /"bad value" is not a valid label value/, 'sync.toHost.pods.enforceTolerations[0]'],
      [['**'], /"\*\*" is not a valid label key/, 'sync.toHost.pods.enforceTolerations[0]'],
      [[{ key: 'a' }], /expected a string, got a mapping/, 'sync.toHost.pods.enforceTolerations[0]'],
    ],
  },
  {
    path: 'sync.toHost.pods.useSecretsForSATokens',
    valid: [true, false],
    invalid: [['yes', /expected a boolean \(true or false\), got a string \("yes"\)$/]],
  },
  {
    path: 'sync.toHost.pods.runtimeClassName',
    valid: ['', 'gvisor', 'kata.fc'],
    invalid: [['gVisor', /"gVisor" is not a valid DNS-1123 subdomain/], [false, /expected a string/]],
  },
  {
    path: 'sync.toHost.pods.priorityClassName',
    valid: ['', 'high-priority', 'system-node-critical'],
    invalid: [['High', /is not a valid DNS-1123 subdomain/]],
  },
  {
    path: 'sync.toHost.services.enabled',
    valid: [true, false],
    invalid: [['no', /expected a boolean/]],
  },
  {
    path: 'sync.toHost.endpoints.enabled',
    valid: [true, false],
    invalid: [[1, /expected a boolean/]],
  },
  {
    path: 'sync.toHost.endpointSlices.enabled',
    valid: [true, false],
    invalid: [['false', /expected a boolean/]],
  },
  {
    path: 'sync.fromHost.nodes.enabled',
    valid: [true, false],
    invalid: [['on', /expected a boolean/]],
  },
  {
    path: 'sync.fromHost.nodes.selector.all',
    valid: [true, false],
    invalid: [['TRUE', /write it without quotes/], [[true], /expected a boolean \(true or false\), got a list/]],
  },
  {
    path: 'sync.fromHost.nodes.selector.labels',
    valid: [{}, { pool: 'vcluster' }, { 'node.example.com/pool': 'a', empty: '', 'kubernetes.io/os': 'linux' }],
    invalid: [
      [['pool=vcluster'], /expected a mapping, got a list/],
      [{ 'bad key': 'x' }, /^sync\.fromHost\.nodes\.selector\.labels\["bad key"\]: "bad key" is not a valid label key/, 'sync.fromHost.nodes.selector.labels["bad key"]'],
      [{ 'Example.com/pool': 'x' }, /"Example\.com\/pool" is not a valid label key/, 'sync.fromHost.nodes.selector.labels["Example.com/pool"]'],
      [{ ['a'.repeat(64)]: 'x' }, /is not a valid label key/, `sync.fromHost.nodes.selector.labels.${'a'.repeat(64)}`],
      [{ pool: 'bad value' }, /"bad value" is not a valid label value/, 'sync.fromHost.nodes.selector.labels.pool'],
      [{ pool: '-x' }, /"-x" is not a valid label value/, 'sync.fromHost.nodes.selector.labels.pool'],
      [{ version: 1.0 }, /expected a string, got a number \(1\); put the value in quotes/, 'sync.fromHost.nodes.selector.labels.version'],
      [{ enabled: true }, /expected a string, got a boolean \(true\); put the value in quotes/, 'sync.fromHost.nodes.selector.labels.enabled'],
    ],
  },
  {
    path: 'sync.fromHost.nodes.clearImageStatus',
    valid: [true, false],
    invalid: [['false', /write it without quotes/]],
  },
  {
    path: 'vcnet.name',
    valid: ['vcluster', 'my-vcluster', 'a', 'team-a-1'],
    invalid: [
      ['', /is not a valid DNS-1035 label/],
      ['1vcluster', /"1vcluster" is not a valid DNS-1035 label: .*starting with a letter.*; the vCluster name becomes part of host Service names/],
      ['My-VCluster', /DNS-1035 label/],
      ['vc.one', /DNS-1035 label/],
      ['a'.repeat(64), /DNS-1035 label/],
      [false, /expected a string, got a boolean \(false\); put the value in quotes to keep it as text/],
    ],
  },
  {
    path: 'vcnet.virtual.kubeconfig',
    valid: ['', '/etc/vcnet/virtual.kubeconfig', 'virtual.kubeconfig'],
    invalid: [
      ['~/.kube/config', /starts with ~, which vcnet does not expand/],
      ['a\0b', /contains a NUL character/],
      [{ path: 'x' }, /expected a string, got a mapping/],
    ],
  },
  {
    path: 'vcnet.host.kubeconfig',
    valid: ['', '/etc/vcnet/host.kubeconfig', '../host.kubeconfig'],
    invalid: [['~', /starts with ~/], [1, /expected a string/]],
  },
  {
    path: 'vcnet.host.namespace',
    valid: ['', 'vcluster-ns', 'team-a', '0abc'],
    invalid: [
      ['Team-A', /"Team-A" is not a valid DNS-1123 label/],
      ['team.a', /DNS-1123 label/],
      ['a'.repeat(64), /DNS-1123 label/],
    ],
  },
  {
    path: 'vcnet.host.service',
    valid: ['', 'vcluster', 'vcnet-proxy'],
    invalid: [
      ['1vcnet', /"1vcnet" is not a valid DNS-1035 label/],
      ['vcnet.proxy', /DNS-1035 label/],
      ['a'.repeat(64), /DNS-1035 label/],
    ],
  },
  {
    path: 'vcnet.host.dnsService',
    valid: ['', 'kube-dns-x-kube-system-x-vcluster', 'vcnet-dns'],
    invalid: [['Kube-DNS', /"Kube-DNS" is not a valid DNS-1035 label/], ['kube-dns.kube-system', /DNS-1035 label/]],
  },
  {
    path: 'vcnet.proxy.clientCAFile',
    valid: ['', '/etc/kubernetes/pki/ca.crt', 'pki/client-ca.crt'],
    invalid: [['~/ca.crt', /starts with ~/], [[], /expected a string, got a list/]],
  },
  {
    path: 'vcnet.proxy.maxRequestBodyBytes',
    valid: [1, 3145728, 64 * 1024 * 1024],
    invalid: [
      [0, /must be an integer from 1 to 67108864 \(64 MiB\), got 0/],
      [64 * 1024 * 1024 + 1, /from 1 to 67108864 \(64 MiB\), got 67108865/],
      ['3Mi', /expected an integer, got a string \("3Mi"\)/],
      [Infinity, /expected an integer/],
    ],
  },
  {
    path: 'vcnet.proxy.impersonationCacheSeconds',
    valid: [0, 10, 300],
    invalid: [[-1, /must be an integer from 0 to 300, got -1/], [301, /from 0 to 300, got 301/], [1.5, /expected an integer/]],
  },
  {
    path: 'vcnet.webhook.bindAddress',
    valid: ['127.0.0.1', '0.0.0.0', '::'],
    invalid: [['localhost', /"localhost" is not an IPv4 or IPv6 address/], ['', /is not an IPv4 or IPv6 address/]],
  },
  {
    path: 'vcnet.webhook.port',
    valid: [1, 9443, 65535],
    invalid: [[0, /must be an integer from 1 to 65535, got 0/], [65536, /from 1 to 65535/], ['9443', /expected an integer/]],
  },
  {
    path: 'vcnet.webhook.url',
    valid: ['', 'https://vcnet.vcluster-ns.svc:9443', 'https://127.0.0.1:9443', 'https://[::1]:9443', 'https://vcnet.example.com/base', 'https://vcnet.example.com/'],
    invalid: [
      ['http://127.0.0.1:9443', /"http:\/\/127\.0\.0\.1:9443" is not an https:\/\/ URL; kube-apiserver calls webhooks only over TLS/],
      ['vcnet.vcluster-ns.svc:9443', /is not an https:\/\/ URL|is not a URL/],
      ['127.0.0.1:9443', /is not a URL; write it as https:\/\/<host>:<port>/],
      ['https://user:pw@vcnet:9443', /may not carry user info, a query or a fragment/],
      ['https://vcnet:9443/?x=1', /may not carry user info, a query or a fragment/],
      ['https://vcnet:9443/#frag', /may not carry user info, a query or a fragment/],
    ],
  },
  {
    path: 'vcnet.webhook.timeoutSeconds',
    valid: [1, 10, 30],
    invalid: [[0, /must be an integer from 1 to 30, got 0/], [31, /from 1 to 30, got 31/], [1.5, /expected an integer/]],
  },
  {
    path: 'vcnet.webhook.failurePolicy',
    valid: ['Fail', 'Ignore'],
    invalid: [['fail', /"fail" is not one of Fail, Ignore; did you mean "Fail"\?/], ['Retry', /"Retry" is not one of Fail, Ignore$/]],
  },
  {
    path: 'vcnet.sync.orphanGraceSeconds',
    valid: [1, 30, 3600],
    invalid: [[0, /must be an integer at least 1, got 0/], ['30s', /expected an integer, got a string \("30s"\)/]],
  },
  {
    path: 'vcnet.sync.resyncSeconds',
    valid: [10, 300, 86400],
    invalid: [[9, /must be an integer at least 10, got 9/], [-1, /at least 10/]],
  },
  {
    path: 'vcnet.sync.leaseDurationSeconds',
    valid: [5, 15, 300],
    invalid: [[4, /must be an integer from 5 to 300, got 4/], [301, /from 5 to 300, got 301/]],
  },
  {
    path: 'vcnet.certs.dir',
    valid: ['certs', '/var/lib/vcnet/certs', './state/certs'],
    invalid: [['', /must name a directory/], ['~/certs', /starts with ~/]],
  },
  {
    path: 'vcnet.certs.validityDays',
    valid: [31, 365, 3650],
    invalid: [[0, /must be an integer from 1 to 3650, got 0/], [3651, /from 1 to 3650, got 3651/], ['365', /expected an integer/]],
  },
  {
    path: 'vcnet.certs.renewBeforeDays',
    valid: [0, 30, 364],
    invalid: [[-1, /must be an integer at least 0, got -1/], [2.5, /expected an integer/]],
  },
  {
    path: 'vcnet.observability.bindAddress',
    valid: ['127.0.0.1', '0.0.0.0', '::1'],
    invalid: [['', /is not an IPv4 or IPv6 address/], ['*', /is not an IPv4 or IPv6 address/]],
  },
  {
    path: 'vcnet.observability.port',
    valid: [1, 8080, 65535],
    invalid: [[0, /from 1 to 65535/], [70000, /from 1 to 65535, got 70000/]],
  },
  {
    path: 'vcnet.dns.enabled',
    valid: [true, false],
    invalid: [['yes', /expected a boolean/]],
  },
  {
    path: 'vcnet.dns.bindAddress',
    valid: ['0.0.0.0', '127.0.0.1', '::'],
    invalid: [['localhost', /"localhost" is not an IPv4 or IPv6 address/]],
  },
  {
    path: 'vcnet.dns.port',
    valid: [53, 1053, 65535],
    invalid: [[0, /from 1 to 65535, got 0/], ['53', /expected an integer/]],
  },
  {
    path: 'vcnet.dns.upstreams',
    valid: [[], ['10.96.0.10'], ['10.96.0.10:53', '1.1.1.1:5353', 'fd00::10', '[fd00::10]:53', '::1']],
    invalid: [
      [['dns.example.com'], /"dns\.example\.com" is not a DNS server address: write ip, ip:port or \[ipv6\]:port/, 'vcnet.dns.upstreams[0]'],
      [['10.0.0.1', '10.0.0.1:0'], /"10\.0\.0\.1:0" is not a DNS server address/, 'vcnet.dns.upstreams[1]'],
      [['10.0.0.1:70000'], /is not a DNS server address/, 'vcnet.dns.upstreams[0]'],
      [['[10.0.0.1]:53'], /is not a DNS server address/, 'vcnet.dns.upstreams[0]'],
      ['10.0.0.1', /expected a list/],
    ],
  },
  {
    path: 'vcnet.dns.hostClusterDNS',
    valid: ['', '10.96.0.10', '10.96.0.10:53', '[fd00::a]:53'],
    invalid: [['kube-dns.kube-system', /is not a DNS server address/], ['10.96.0.10:dns', /is not a DNS server address/]],
  },
  {
    path: 'vcnet.dns.upstreamTimeoutSeconds',
    valid: [1, 2, 30],
    invalid: [[0, /from 1 to 30, got 0/], [31, /from 1 to 30/]],
  },
  {
    path: 'vcnet.dns.cache.maxEntries',
    valid: [0, 1, 10000, 1000000],
    invalid: [[-1, /at least 0, got -1/], [1.5, /expected an integer/]],
  },
  {
    path: 'vcnet.dns.cache.maxTTLSeconds',
    valid: [0, 30, 86400],
    invalid: [[-1, /from 0 to 86400, got -1/], [86401, /from 0 to 86400/]],
  },
  {
    path: 'vcnet.dns.cache.negativeTTLSeconds',
    valid: [0, 5, 3600],
    invalid: [[-1, /from 0 to 3600/], [3601, /from 0 to 3600, got 3601/]],
  },
  {
    path: 'vcnet.logLevel',
    valid: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    invalid: [
      ['INFO', /"INFO" is not one of fatal, error, warn, info, debug, trace, silent; did you mean "info"\?/],
      ['verbose', /"verbose" is not one of fatal, error, warn, info, debug, trace, silent$/],
      [3, /expected a string, got a number/],
    ],
  },
];

t.test('every field in the schema has valid and invalid cases here', async (t) => {
  t.same(fieldCases.map((c) => c.path), configFields().map((f) => f.path));
});

for (const c of fieldCases) {
  t.test(c.path, async (t) => {
    for (const value of c.valid) {
      t.same(get(parseConfig(at(c.path, value)), c.path), value, `accepts ${JSON.stringify(value)}`);
    }
    for (const [value, message, errorPath = c.path] of c.invalid) {
      const found = problems(at(c.path, value));
      t.equal(found.length, 1, `refuses ${JSON.stringify(value)} with one error`);
      t.equal(found[0]?.[0], errorPath, 'naming the field');
      t.match(found[0]?.[1], message, 'saying why');
    }
  });
}

t.test('a section that is not a mapping is refused with the type it must be', async (t) => {
  const rows: Array<[unknown, string, RegExp]> = [
    [{ networking: 'none' }, 'networking', /^networking: expected a mapping of fields, got a string \("none"\)$/],
    [{ controlPlane: { proxy: [8443] } }, 'controlPlane.proxy', /expected a mapping of fields, got a list/],
    [{ vcnet: { certs: 5 } }, 'vcnet.certs', /expected a mapping of fields, got a number \(5\)/],
    [{ vcnet: { observability: true } }, 'vcnet.observability', /got a boolean \(true\)/],
    [{ vcnet: { certs: new Map() } }, 'vcnet.certs', /got a Map/],
  ];
  for (const [input, path, message] of rows) {
    const found = problems(input);
    t.equal(found.length, 1, path);
    t.equal(found[0]?.[0], path);
    t.match(found[0]?.[1], message);
  }
});

t.test('a top level that is not a mapping is refused', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [[], /got a list/],
    [['networking'], /got a list/],
    ['networking: {}', /got a string/],
    [42, /got a number \(42\)/],
    [true, /got a boolean/],
  ];
  for (const [input, message] of rows) {
    const found = problems(input);
    t.equal(found.length, 1, JSON.stringify(input));
    t.equal(found[0]?.[0], '', 'names no field');
    t.match(found[0]?.[1], /^the configuration must be a mapping of fields \(such as "networking:"\), /);
    t.match(found[0]?.[1], message);
  }
});

t.test('unknown fields are refused at every level, naming the full path', async (t) => {
  const rows: Array<{ name: string; input: unknown; path: string; message: RegExp }> = [
    { name: 'suggests a top-level key with a typo', input: { netwrking: {} }, path: 'netwrking', message: /^netwrking: unknown field; did you mean "networking"\?$/ },
    { name: 'suggests the right case', input: at('networking.podCidr', '10.0.0.0/8'), path: 'networking.podCidr', message: /did you mean "podCIDR"\?/ },
    { name: 'suggests in a nested section', input: at('networking.advanced.clusterdomain', 'x'), path: 'networking.advanced.clusterdomain', message: /did you mean "clusterDomain"\?/ },
    { name: 'suggests extraSANs', input: at('controlPlane.proxy.extraSans', []), path: 'controlPlane.proxy.extraSans', message: /did you mean "extraSANs"\?/ },
    { name: 'suggests a one-letter typo', input: at('controlPlane.proxy.bindAdress', '::'), path: 'controlPlane.proxy.bindAdress', message: /did you mean "bindAddress"\?/ },
    { name: 'suggests the full name for a prefix', input: at('vcnet.certs.validity', 10), path: 'vcnet.certs.validity', message: /did you mean "validityDays"\?/ },
    { name: 'suggests clientCAFile', input: at('vcnet.proxy.clientCaFile', 'ca.crt'), path: 'vcnet.proxy.clientCaFile', message: /did you mean "clientCAFile"\?/ },
    { name: 'suggests kubeconfig for vCluster\'s kubeConfig spelling', input: at('vcnet.host.kubeConfig', 'x'), path: 'vcnet.host.kubeConfig', message: /did you mean "kubeconfig"\?/ },
    { name: 'points a vcnet field written at the top level to its section', input: { logLevel: 'debug' }, path: 'logLevel', message: /^logLevel: unknown field here; did you mean "vcnet\.logLevel"\?$/ },
    { name: 'lists every place a field of that name lives', input: { proxy: {} }, path: 'proxy', message: /did you mean "controlPlane\.proxy" or "vcnet\.proxy"\?/ },
    { name: 'points vCluster\'s deprecated top-level serviceCIDR to networking', input: { serviceCIDR: '10.96.0.0/12' }, path: 'serviceCIDR', message: /did you mean "networking\.serviceCIDR"\?/ },
    { name: 'lists the fields of a section when nothing is close', input: at('vcnet.zzz', 1), path: 'vcnet.zzz', message: /unknown field; the fields here are name, virtual, host, proxy, webhook, sync, certs, observability, dns, logLevel$/ },
    { name: 'says a vCluster field is not supported: proxyKubelets', input: at('networking.advanced.proxyKubelets.byIP', true), path: 'networking.advanced.proxyKubelets', message: /^networking\.advanced\.proxyKubelets: unknown field: vCluster's "networking\.advanced\.proxyKubelets" is not supported by vcnet$/ },
    { name: 'says a vCluster field is not supported: replicateServices', input: at('networking.replicateServices', { toHost: [] }), path: 'networking.replicateServices', message: /vCluster's "networking\.replicateServices" is not supported/ },
    { name: 'says a vCluster field is not supported: sync.toHost.networkPolicies', input: at('sync.toHost.networkPolicies.enabled', true), path: 'sync.toHost.networkPolicies', message: /^sync\.toHost\.networkPolicies: unknown field: vCluster's "sync\.toHost\.networkPolicies" is not supported by vcnet$/ },
    { name: 'says a vCluster field is not supported: sync.toHost.ingresses', input: at('sync.toHost.ingresses.enabled', false), path: 'sync.toHost.ingresses', message: /vCluster's "sync\.toHost\.ingresses" is not supported/ },
    { name: 'says a vCluster field is not supported: sync.toHost.pods.patches', input: at('sync.toHost.pods.patches', []), path: 'sync.toHost.pods.patches', message: /vCluster's "sync\.toHost\.pods\.patches" is not supported/ },
    { name: 'says a vCluster field is not supported: sync.toHost.pods.hybridScheduling', input: at('sync.toHost.pods.hybridScheduling.enabled', true), path: 'sync.toHost.pods.hybridScheduling', message: /not supported by vcnet/ },
    { name: 'says a vCluster field is not supported: sync.fromHost.nodes.syncBackChanges', input: at('sync.fromHost.nodes.syncBackChanges', false), path: 'sync.fromHost.nodes.syncBackChanges', message: /^sync\.fromHost\.nodes\.syncBackChanges: unknown field: vCluster's "sync\.fromHost\.nodes\.syncBackChanges" is not supported by vcnet$/ },
    { name: 'says a vCluster field is not supported: sync.fromHost.ingressClasses', input: at('sync.fromHost.ingressClasses.enabled', true), path: 'sync.fromHost.ingressClasses', message: /not supported by vcnet/ },
    { name: 'says a vCluster field is not supported: controlPlane.advanced.virtualScheduler', input: at('controlPlane.advanced.virtualScheduler.enabled', true), path: 'controlPlane.advanced.virtualScheduler', message: /not supported by vcnet/ },
    { name: 'says a vCluster field is not supported: workloadServiceAccount.annotations', input: at('controlPlane.advanced.workloadServiceAccount.annotations', {}), path: 'controlPlane.advanced.workloadServiceAccount.annotations', message: /not supported by vcnet/ },
    { name: 'suggests a typo in sync as a typo, not as unsupported', input: at('sync.toHost.pod.enabled', true), path: 'sync.toHost.pod', message: /^sync\.toHost\.pod: unknown field; did you mean "pods"\?$/ },
    { name: 'suggests enabled for enable', input: at('sync.toHost.pods.rewriteHosts.enable', true), path: 'sync.toHost.pods.rewriteHosts.enable', message: /did you mean "enabled"\?/ },
    { name: 'lists the resources of the init container', input: at('sync.toHost.pods.rewriteHosts.initContainer.resources.limits.ephemeral-storage', '1Gi'), path: 'sync.toHost.pods.rewriteHosts.initContainer.resources.limits.ephemeral-storage', message: /unknown field; the fields here are cpu, memory$/ },
    { name: 'refuses vCluster\'s older string form of the image', input: at('sync.toHost.pods.rewriteHosts.initContainer.image', 'alpine:3.20'), path: 'sync.toHost.pods.rewriteHosts.initContainer.image', message: /expected a mapping of fields, got a string \("alpine:3\.20"\)$/ },
    { name: 'says a vCluster field is not supported: controlPlane.coredns', input: at('controlPlane.coredns.enabled', true), path: 'controlPlane.coredns', message: /not supported/ },
    { name: 'keeps an odd key readable in the path', input: at('networking.pod cidr', 'x'), path: 'networking["pod cidr"]', message: /^networking\["pod cidr"\]: unknown field/ },
  ];
  for (const r of rows) {
    const found = problems(r.input);
    t.equal(found.length, 1, `${r.name}: one error`);
    t.equal(found[0]?.[0], r.path, `${r.name}: path`);
    t.match(found[0]?.[1], r.message, `${r.name}: message`);
  }
});

t.test('reports every problem at once, one per line', async (t) => {
  const input = {
    networking: { podCIDR: 'banana', bogus: 1 },
    controlPlane: { proxy: { port: 0, extraSANs: ['ok.example', 'not ok', '*.*.x'] } },
    vcnet: { name: 'Bad', logLevel: 'loud' },
  };
  let error: unknown;
  try {
    parseConfig(input, { source: 'flags' });
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof ConfigErrors, 'throws ConfigErrors');
  if (!(error instanceof ConfigErrors)) return;
  t.equal(error.code, 'VCN_ERR_CONFIG_INVALID');
  t.same(error.errors.map((e) => e.path), [
    'networking.bogus', 'networking.podCIDR', 'controlPlane.proxy.port', 'controlPlane.proxy.extraSANs[1]',
    'controlPlane.proxy.extraSANs[2]', 'vcnet.name', 'vcnet.logLevel',
  ]);
  const lines = error.message.split('\n');
  t.equal(lines[0], 'invalid vcnet configuration in flags (7 problems):');
  t.equal(lines.length, 8);
  t.equal(lines[4], '  controlPlane.proxy.extraSANs[1]: "not ok" is not a DNS name or IP address');
  for (const e of error.errors) {
    t.ok(e instanceof ConfigError, `${e.path} is a ConfigError`);
    t.equal(e.code, 'VCN_ERR_CONFIG_INVALID');
    t.equal(e.message, `${e.path}: ${e.detail}`);
  }
});

t.test('renewBeforeDays must be less than validityDays', async (t) => {
  const rows: Array<{ name: string; certs: Record<string, unknown>; errors: Array<[string, RegExp]> }> = [
    { name: 'accepts renewal a day before expiry', certs: { validityDays: 365, renewBeforeDays: 364 }, errors: [] },
    { name: 'accepts renewing only on expiry', certs: { validityDays: 1, renewBeforeDays: 0 }, errors: [] },
    {
      name: 'refuses a renewal window as long as the validity',
      certs: { validityDays: 30, renewBeforeDays: 30 },
      errors: [['vcnet.certs.renewBeforeDays', /^vcnet\.certs\.renewBeforeDays: 30 must be less than vcnet\.certs\.validityDays \(30\), or every certificate would be due for renewal as soon as it is issued$/]],
    },
    {
      name: 'refuses a default renewal window longer than a short validity',
      certs: { validityDays: 7 },
      errors: [['vcnet.certs.renewBeforeDays', /30 must be less than vcnet\.certs\.validityDays \(7\)/]],
    },
    {
      name: 'does not pile a conflict on top of an invalid validityDays',
      certs: { validityDays: 0, renewBeforeDays: 30 },
      errors: [['vcnet.certs.validityDays', /from 1 to 3650/]],
    },
    {
      name: 'does not check the conflict when the certs section is not a mapping',
      certs: { validityDays: 'x' },
      errors: [['vcnet.certs.validityDays', /expected an integer/]],
    },
  ];
  for (const r of rows) {
    const found = problems({ vcnet: { certs: r.certs } });
    t.equal(found.length, r.errors.length, `${r.name}: error count`);
    r.errors.forEach(([path, message], i) => {
      t.equal(found[i]?.[0], path, `${r.name}: path`);
      t.match(found[i]?.[1], message, `${r.name}: message`);
    });
  }
});

t.test('two listeners may not share an address and port', async (t) => {
  const rows: Array<{ name: string; proxy: Record<string, unknown>; observability: Record<string, unknown>; clash: boolean }> = [
    { name: 'the same port on 0.0.0.0 and 127.0.0.1', proxy: { bindAddress: '0.0.0.0', port: 9000 }, observability: { bindAddress: '127.0.0.1', port: 9000 }, clash: true },
    { name: 'the same port on :: and 127.0.0.1', proxy: { bindAddress: '::', port: 9000 }, observability: { port: 9000 }, clash: true },
    { name: 'the same address and port', proxy: { bindAddress: '10.0.0.1', port: 9000 }, observability: { bindAddress: '10.0.0.1', port: 9000 }, clash: true },
    { name: 'the same port on two loopback addresses', proxy: { bindAddress: '127.0.0.2', port: 9000 }, observability: { port: 9000 }, clash: false },
    { name: 'the same port on ::1 and 127.0.0.1', proxy: { bindAddress: '::1', port: 9000 }, observability: { port: 9000 }, clash: false },
    { name: 'different ports on 0.0.0.0', proxy: { bindAddress: '0.0.0.0', port: 9000 }, observability: { bindAddress: '0.0.0.0', port: 9001 }, clash: false },
  ];
  for (const r of rows) {
    const found = problems({ controlPlane: { proxy: r.proxy }, vcnet: { observability: r.observability } });
    if (r.clash) {
      t.equal(found.length, 1, r.name);
      t.equal(found[0]?.[0], 'vcnet.observability.port', `${r.name}: blames the later listener`);
      t.match(found[0]?.[1], /^vcnet\.observability\.port: 9000 on .* collides with controlPlane\.proxy \(.* port 9000\); give one of them another port$/, r.name);
    } else {
      t.same(found, [], r.name);
    }
  }
});

t.test('the configuration returned cannot be changed by accident', async (t) => {
  const config = parseConfig({ controlPlane: { proxy: { extraSANs: ['a.example'] } } });
  t.equal(Reflect.set(config.vcnet, 'name', 'other'), false, 'a field');
  t.equal(Reflect.set(config, 'vcnet', {}), false, 'a section');
  t.throws(() => (config.controlPlane.proxy.extraSANs as string[]).push('b.example'), TypeError, 'a list');
  t.equal(config.vcnet.name, 'vcluster');
});

t.test('input objects are not kept or changed', async (t) => {
  const sans = ['a.example'];
  const input = { controlPlane: { proxy: { extraSANs: sans } } };
  const config = parseConfig(input);
  sans.push('b.example');
  t.same(config.controlPlane.proxy.extraSANs, ['a.example']);
  t.notOk(Object.isFrozen(sans));
});

t.test('relative file paths are resolved against baseDir when one is given', async (t) => {
  const input = {
    vcnet: {
      virtual: { kubeconfig: 'virtual.kubeconfig' },
      host: { kubeconfig: '/abs/host.kubeconfig' },
      proxy: { clientCAFile: '../pki/ca.crt' },
      certs: { dir: './state/certs' },
    },
  };
  const config = parseConfig(input, { baseDir: '/etc/vcnet' });
  t.equal(config.vcnet.virtual.kubeconfig, '/etc/vcnet/virtual.kubeconfig');
  t.equal(config.vcnet.host.kubeconfig, '/abs/host.kubeconfig');
  t.equal(config.vcnet.proxy.clientCAFile, '/etc/pki/ca.crt');
  t.equal(config.vcnet.certs.dir, '/etc/vcnet/state/certs');
  t.equal(parseConfig(input).vcnet.virtual.kubeconfig, 'virtual.kubeconfig', 'left alone without baseDir');
});

t.test('mergeConfig', async (t) => {
  const base = parseConfig({ controlPlane: { proxy: { port: 6443, extraSANs: ['a.example', 'b.example'] } }, vcnet: { name: 'vc1' } });

  t.test('lays overrides over the base and keeps the rest', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { bindAddress: '127.0.0.1' } }, vcnet: { logLevel: 'debug' } });
    t.equal(merged.controlPlane.proxy.bindAddress, '127.0.0.1');
    t.equal(merged.controlPlane.proxy.port, 6443);
    t.equal(merged.vcnet.logLevel, 'debug');
    t.equal(merged.vcnet.name, 'vc1');
    t.equal(base.controlPlane.proxy.bindAddress, '0.0.0.0', 'the base is unchanged');
  });

  t.test('leaves a field alone when its override is undefined', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { port: undefined } }, vcnet: { name: undefined } });
    t.equal(merged.controlPlane.proxy.port, 6443);
    t.equal(merged.vcnet.name, 'vc1');
  });

  t.test('replaces lists rather than appending to them', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { extraSANs: ['c.example'] } } });
    t.same(merged.controlPlane.proxy.extraSANs, ['c.example']);
  });

  t.test('puts a field back to its default with null', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { port: null as unknown as number } } });
    t.equal(merged.controlPlane.proxy.port, 8443);
  });

  t.test('re-validates the override', async (t) => {
    t.throws(() => mergeConfig(base, { controlPlane: { proxy: { port: 70000 } } }, { source: 'command-line flags' }), {
      name: 'ConfigErrors',
      message: /^invalid vcnet configuration in command-line flags \(1 problem\):\n {2}controlPlane\.proxy\.port: must be an integer from 1 to 65535, got 70000$/,
    });
  });

  t.test('re-validates the combination with the base', async (t) => {
    const longRenewal = parseConfig({ vcnet: { certs: { validityDays: 365, renewBeforeDays: 60 } } });
    t.throws(() => mergeConfig(longRenewal, { vcnet: { certs: { validityDays: 30 } } }), {
      errors: [{ path: 'vcnet.certs.renewBeforeDays', message: /60 must be less than vcnet\.certs\.validityDays \(30\)/ }],
    });
    t.throws(() => mergeConfig(base, { vcnet: { observability: { bindAddress: '0.0.0.0', port: 6443 } } }), {
      errors: [{ path: 'vcnet.observability.port', message: /collides with controlPlane\.proxy/ }],
    });
  });

  t.test('refuses an unknown override key', async (t) => {
    t.throws(() => mergeConfig(base, { vcnet: { nme: 'x' } } as never), {
      errors: [{ path: 'vcnet.nme', message: /did you mean "name"\?/ }],
    });
  });

  t.test('refuses a __proto__ key instead of following it', async (t) => {
    const overrides = JSON.parse('{"vcnet": {"__proto__": {"polluted": true}}}') as never;
    t.throws(() => mergeConfig(base, overrides), { errors: [{ path: 'vcnet.__proto__' }] });
    t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

t.test('selector.all and selector.labels of node sync exclude each other', async (t) => {
  const rows: Array<{ name: string; selector: Record<string, unknown>; errors: Array<[string, RegExp]> }> = [
    { name: 'accepts all alone', selector: { all: true }, errors: [] },
    { name: 'accepts labels alone', selector: { labels: { pool: 'vcluster' } }, errors: [] },
    { name: 'accepts all with empty labels', selector: { all: true, labels: {} }, errors: [] },
    {
      name: 'refuses all with labels, naming both fields',
      selector: { all: true, labels: { pool: 'vcluster' } },
      errors: [['sync.fromHost.nodes.selector.labels', /^sync\.fromHost\.nodes\.selector\.labels: must be empty while sync\.fromHost\.nodes\.selector\.all is true: "all" mirrors every host node, "labels" only the nodes that carry them; set one of the two$/]],
    },
    {
      name: 'does not pile the conflict on an invalid label',
      selector: { all: true, labels: { 'bad key': 'x' } },
      errors: [['sync.fromHost.nodes.selector.labels["bad key"]', /is not a valid label key/]],
    },
  ];
  for (const r of rows) {
    for (const enabled of [true, false]) {
      const found = problems({ sync: { fromHost: { nodes: { enabled, selector: r.selector } } } });
      t.equal(found.length, r.errors.length, `${r.name} (enabled: ${enabled}): error count`);
      r.errors.forEach(([path, message], i) => {
        t.equal(found[i]?.[0], path, `${r.name}: path`);
        t.match(found[i]?.[1], message, `${r.name}: message`);
      });
    }
  }
});

t.test('a request of the /etc/hosts init container may not exceed its limit', async (t) => {
  const base = 'sync.toHost.pods.rewriteHosts.initContainer.resources';
  const rows: Array<{ name: string; resources: Record<string, unknown>; errors: Array<[string, RegExp]> }> = [
    { name: 'accepts a request equal to the limit in other units', resources: { limits: { cpu: '0.03', memory: '64Mi' }, requests: { cpu: '30m', memory: '67108864' } }, errors: [] },
    { name: 'accepts no limit', resources: { limits: { cpu: '', memory: '' }, requests: { cpu: '4', memory: '8Gi' } }, errors: [] },
    { name: 'accepts no request', resources: { limits: { cpu: '10m' }, requests: { cpu: '' } }, errors: [] },
    {
      name: 'refuses a CPU request above the limit',
      resources: { limits: { cpu: '20m' } },
      errors: [[`${base}.requests.cpu`, /^sync\.toHost\.pods\.rewriteHosts\.initContainer\.resources\.requests\.cpu: 30m is more than sync\.toHost\.pods\.rewriteHosts\.initContainer\.resources\.limits\.cpu \(20m\); Kubernetes refuses a request above its limit$/]],
    },
    {
      name: 'compares binary and decimal units',
      resources: { limits: { memory: '64M' } },
      errors: [[`${base}.requests.memory`, /64Mi is more than .*limits\.memory \(64M\)/]],
    },
    {
      name: 'reports both resources',
      resources: { requests: { cpu: '1', memory: '1Gi' } },
      errors: [[`${base}.requests.cpu`, /1 is more than/], [`${base}.requests.memory`, /1Gi is more than/]],
    },
    {
      name: 'does not compare with an invalid limit',
      resources: { limits: { cpu: 'lots' } },
      errors: [[`${base}.limits.cpu`, /is not a Kubernetes quantity/]],
    },
  ];
  for (const r of rows) {
    const found = problems({ sync: { toHost: { pods: { rewriteHosts: { initContainer: { resources: r.resources } } } } } });
    t.equal(found.length, r.errors.length, `${r.name}: error count`);
    r.errors.forEach(([path, message], i) => {
      t.equal(found[i]?.[0], path, `${r.name}: path`);
      t.match(found[i]?.[1], message, `${r.name}: message`);
    });
  }
});

t.test('the webhook server is a listener, and its default URL must reach it', async (t) => {
  const rows: Array<{ name: string; input: unknown; errors: Array<[string, RegExp]> }> = [
    {
      name: 'the webhook may not share the proxy\'s port',
      input: { controlPlane: { proxy: { port: 9443 } } },
      errors: [['vcnet.webhook.port', /^vcnet\.webhook\.port: 9443 on 127\.0\.0\.1 collides with controlPlane\.proxy \(0\.0\.0\.0 port 9443\); give one of them another port$/]],
    },
    {
      name: 'nor the health port',
      input: { vcnet: { webhook: { port: 8080 } } },
      errors: [['vcnet.webhook.port', /collides with vcnet\.observability \(127\.0\.0\.1 port 8080\)/]],
    },
    { name: 'a different loopback address is another socket', input: { vcnet: { webhook: { bindAddress: '127.0.0.1', port: 8443 }, observability: { port: 8081 } }, controlPlane: { proxy: { bindAddress: '127.0.0.2' } } }, errors: [] },
    { name: 'an empty URL with 0.0.0.0 reaches 127.0.0.1', input: { vcnet: { webhook: { bindAddress: '0.0.0.0' } } }, errors: [] },
    { name: 'an empty URL with :: reaches 127.0.0.1', input: { vcnet: { webhook: { bindAddress: '::' } } }, errors: [] },
    {
      name: 'an empty URL with another address does not',
      input: { vcnet: { webhook: { bindAddress: '10.0.0.5' } } },
      errors: [['vcnet.webhook.url', /^vcnet\.webhook\.url: is empty, so the virtual kube-apiserver would call https:\/\/127\.0\.0\.1:9443, where vcnet\.webhook\.bindAddress \(10\.0\.0\.5\) does not listen; set the URL at which the webhook server is reached$/]],
    },
    { name: 'nor with ::1', input: { vcnet: { webhook: { bindAddress: '::1' } } }, errors: [['vcnet.webhook.url', /is empty/]] },
    { name: 'a URL set makes any address fine', input: { vcnet: { webhook: { bindAddress: '10.0.0.5', url: 'https://10.0.0.5:9443' } } }, errors: [] },
  ];
  for (const r of rows) {
    const found = problems(r.input);
    t.equal(found.length, r.errors.length, `${r.name}: error count`);
    r.errors.forEach(([path, message], i) => {
      t.equal(found[i]?.[0], path, `${r.name}: path`);
      t.match(found[i]?.[1], message, `${r.name}: message`);
    });
  }
});

t.test('maps in the configuration are copies that cannot be changed', async (t) => {
  const labels: Record<string, string> = { pool: 'vcluster' };
  const config = parseConfig({ sync: { fromHost: { nodes: { selector: { labels } } } } });
  labels['pool'] = 'other';
  t.same(config.sync.fromHost.nodes.selector.labels, { pool: 'vcluster' });
  t.equal(Reflect.set(config.sync.fromHost.nodes.selector.labels, 'pool', 'x'), false);
  t.equal(Reflect.set(defaultConfig().sync.toHost.pods.translateImage, 'a', 'b'), false, 'the default too');
});

t.test('a "__proto__" key in a map stays a key and is checked like any other', async (t) => {
  const input = JSON.parse('{"sync": {"toHost": {"pods": {"translateImage": {"__proto__": "evil"}}}}}') as unknown;
  const config = parseConfig(input);
  t.same(Object.keys(config.sync.toHost.pods.translateImage), ['__proto__']);
  t.equal(Object.getPrototypeOf(config.sync.toHost.pods.translateImage), Object.prototype);
  const labels = JSON.parse('{"sync": {"fromHost": {"nodes": {"selector": {"labels": {"__proto__": "x"}}}}}}') as unknown;
  t.match(problems(labels), [['sync.fromHost.nodes.selector.labels.__proto__', /is not a valid label key/]]);
});
