// Every field of the vcnet config file, in one table. Everything outside `vcnet:` is a field of
// vCluster's vcluster.yaml with the same meaning (loft-sh/vcluster config/config.go), so a vcluster.yaml
// that uses only these fields is a valid vcnet config; `vcnet:` holds what vCluster has no field for.
// To add a field: add one entry here (and its row in docs/configuration.md, which a test checks).

import {
  addressesOverlap, checkCIDR, checkDNS1035Label, checkDNS1123Label, checkDNS1123Subdomain, checkImage,
  checkImageRegistry, checkImageRepository, checkImageTag, checkIP, checkLabelKey, checkLabelValue,
  checkQuantity, checkSAN, checkServiceCIDR, checkToleration, checkUpstream, checkWebhookURL, parseQuantity,
} from './checks.ts';
import { resolveDNSList } from './resolve-dns.ts';
import { boolean, integer, oneOf, section, string, stringList, stringMap } from './fields.ts';
import type { Check, Leaf, ValueOf } from './fields.ts';

const MiB = 1024 * 1024;

/** An optional value: empty, or one that passes `check`. */
function optional(check: Check<string>): Check<string> {
  return (v) => (v === '' ? undefined : check(v));
}

/** A quantity field of the `/etc/hosts` init container (vCluster's default: 30m CPU, 64Mi memory, as limit and request). */
function initContainerQuantity(kind: 'limit' | 'request', resource: 'cpu' | 'memory'): Leaf<string> {
  const what = resource === 'cpu' ? 'CPU' : 'memory';
  return string({
    default: resource === 'cpu' ? '30m' : '64Mi',
    check: optional(checkQuantity),
    doc: `The ${what} ${kind} of the \`/etc/hosts\` init container (a Kubernetes quantity); empty sets none.${kind === 'request' ? ' At most the limit.' : ''}`,
  });
}

export const schema = section('The vcnet configuration.', {
  networking: section('vCluster networking settings.', {
    serviceCIDR: string({
      default: '',
      check: checkServiceCIDR,
      doc: 'The service CIDR of the virtual cluster, which must be the host\'s: one CIDR, IPv4 or IPv6, or two separated by a comma for dual-stack (one of each family, primary first). Empty means detect it from the host cluster.',
    }),
    podCIDR: string({
      default: '10.244.0.0/16',
      check: checkCIDR,
      doc: 'The pod CIDR of the virtual cluster (one CIDR, IPv4 or IPv6). vCluster reads it only with private nodes; pods synced to the host get host pod IPs.',
    }),
    advanced: section('Advanced vCluster networking settings.', {
      clusterDomain: string({
        default: 'cluster.local',
        check: checkDNS1123Subdomain,
        doc: 'The DNS domain of the virtual cluster (a DNS-1123 subdomain): service names end in `svc.<clusterDomain>`. With another domain, vcnet\'s DNS answers `cluster.local` as well, as CoreDNS does in vCluster ([dns.md](dns.md)).',
      }),
      fallbackHostCluster: boolean({
        default: false,
        doc: 'Names under the cluster domain that the virtual cluster does not know, and every name outside it, are asked of the host cluster\'s DNS (`vcnet.dns.hostClusterDNS`) instead of the upstream resolvers, so `<service>.<host namespace>` finds host Services (vcluster-networking.md section 7.3). Off: such cluster names are NXDOMAIN and other names go to `vcnet.dns.upstreams`.',
      }),
    }),
    resolveDNS: resolveDNSList({
      doc: 'DNS rules answered before the cluster zone, first match wins: each has one source (`hostname`, with at most one `*` as first or last character; `service: namespace/name`; or `namespace`) and one `target` (`hostname`, `ip`, `hostService: namespace/name`, `hostNamespace`, or `vClusterService: hostNamespace/vcluster/namespace/service`). See the DNS section.',
    }),
  }),
  controlPlane: section('vCluster control-plane settings.', {
    proxy: section('The TLS proxy in front of the virtual kube-apiserver.', {
      bindAddress: string({
        default: '0.0.0.0',
        check: checkIP,
        doc: 'The IP address the proxy listens on; `0.0.0.0` is every IPv4 address, `::` every address.',
      }),
      port: integer({ default: 8443, min: 1, max: 65535, doc: 'The port the proxy listens on.' }),
      extraSANs: stringList({
        default: [],
        check: checkSAN,
        doc: 'Extra names for the proxy\'s serving certificate, each a DNS name (`*.example.com` allowed) or an IP address.',
      }),
    }),
    advanced: section('Advanced vCluster control-plane settings.', {
      workloadServiceAccount: section('The host service account the synced pods run as.', {
        name: string({
          default: '',
          check: optional(checkDNS1123Subdomain),
          doc: 'The host service account every host pod runs as (a DNS-1123 subdomain); empty means `vc-workload-<vcnet.name>`, as in vCluster.',
        }),
      }),
    }),
  }),
  sync: section('vCluster sync settings: which objects are synced between the virtual and the host cluster, and how.', {
    toHost: section('Objects written in the virtual cluster that get a host twin.', {
      pods: section('Pods (vcluster-networking.md section 2).', {
        enabled: boolean({
          default: true,
          doc: 'Sync virtual pods to the host namespace, where they run. `vcnet serve` then requires `vcnet.host.namespace` and `vcnet.host.kubeconfig`.',
        }),
        rewriteHosts: section('The `/etc/hosts` rewrite for pods with a subdomain.', {
          enabled: boolean({
            default: true,
            doc: 'For a pod with a `subdomain` (a StatefulSet pod behind a headless Service), add an init container that writes the pod\'s FQDN into `/etc/hosts`, as vCluster does, because the host pod cannot keep its subdomain.',
          }),
          initContainer: section('The init container that rewrites `/etc/hosts`.', {
            image: section('Its image, as vCluster\'s `{registry, repository, tag}`.', {
              registry: string({
                default: 'mirror.gcr.io',
                check: checkImageRegistry,
                doc: 'The registry of the `/etc/hosts` init container\'s image; empty means Docker Hub. As in vCluster, a one-part repository under a registry gets `library/` in front.',
              }),
              repository: string({
                default: 'library/alpine',
                check: checkImageRepository,
                doc: 'The repository of that image (required). The image needs `sh` and `sed`.',
              }),
              tag: string({
                default: '3.20',
                check: checkImageTag,
                doc: 'The tag of that image; empty means none, so the registry serves `latest`.',
              }),
            }),
            resources: section('Its resource limits and requests.', {
              limits: section('Resource limits.', {
                cpu: initContainerQuantity('limit', 'cpu'),
                memory: initContainerQuantity('limit', 'memory'),
              }),
              requests: section('Resource requests.', {
                cpu: initContainerQuantity('request', 'cpu'),
                memory: initContainerQuantity('request', 'memory'),
              }),
            }),
          }),
        }),
        translateImage: stringMap({
          default: {},
          checkKey: checkImage,
          checkValue: checkImage,
          doc: 'Images replaced in host pods: each key is an image exactly as a virtual pod names it, its value the image the host pod runs instead.',
        }),
        enforceTolerations: stringList({
          default: [],
          check: checkToleration,
          doc: 'Tolerations added to every host pod, each `key=value:Effect`, `key:Effect`, `key=value`, `key` (any value) or `*` (every taint).',
        }),
        useSecretsForSATokens: boolean({
          default: false,
          doc: 'Keep the service-account tokens of a host pod in a host Secret instead of in the pod\'s annotations.',
        }),
        runtimeClassName: string({
          default: '',
          check: optional(checkDNS1123Subdomain),
          doc: 'The runtimeClassName forced on every host pod; empty leaves the pod\'s own.',
        }),
        priorityClassName: string({
          default: '',
          check: optional(checkDNS1123Subdomain),
          doc: 'The priorityClassName given to host pods that would otherwise have none; empty gives none.',
        }),
      }),
      services: section('Services (vcluster-networking.md section 3).', {
        enabled: boolean({
          default: true,
          doc: 'Sync virtual Services to the host namespace, host first: the virtual Service is stored with the ClusterIP and nodePorts the host allocated. `vcnet serve` then requires `vcnet.host.namespace` and `vcnet.host.kubeconfig`.',
        }),
      }),
      endpoints: section('Endpoints of selector-less Services (section 4).', {
        enabled: boolean({
          default: true,
          doc: 'Copy the Endpoints of virtual Services without a selector to the host (the host\'s controllers compute the endpoints of Services with one). Only with `sync.toHost.services.enabled`.',
        }),
      }),
      endpointSlices: section('EndpointSlices of selector-less Services (section 4).', {
        enabled: boolean({
          default: true,
          doc: 'Copy user-made EndpointSlices of virtual Services without a selector to the host, labelled with the host Service\'s name (hashed when long). Only with `sync.toHost.services.enabled`.',
        }),
      }),
    }),
    fromHost: section('Host objects mirrored into the virtual cluster.', {
      nodes: section('Host nodes.', {
        enabled: boolean({
          default: false,
          doc: 'Mirror the host\'s real nodes into the virtual cluster (read-only). It also turns `selector.labels` into a nodeSelector of host pods.',
        }),
        selector: section('Which host nodes are mirrored.', {
          all: boolean({
            default: false,
            doc: 'Mirror every host node, not only the nodes that run pods of this virtual cluster.',
          }),
          labels: stringMap({
            default: {},
            checkKey: checkLabelKey,
            checkValue: checkLabelValue,
            doc: 'Mirror only the host nodes with these labels, and add them to the nodeSelector of host pods not yet bound to a node. Not together with `all`.',
          }),
        }),
        clearImageStatus: boolean({
          default: false,
          doc: 'Empty `status.images` of the mirrored nodes, so the virtual cluster does not learn which images the host nodes hold.',
        }),
      }),
    }),
  }),
  vcnet: section('Settings of vcnet itself, which vCluster has no field for.', {
    name: string({
      default: 'vcluster',
      // A DNS-1035 label, not just DNS-1123: the name starts host Service names, and Service names
      // must start with a letter (Kubernetes ValidateServiceName).
      check: (v) => {
        const reason = checkDNS1035Label(v);
        return reason === undefined ? undefined : `${reason}; the vCluster name becomes part of host Service names`;
      },
      doc: 'The vCluster name (a DNS-1035 label), the `<vcluster>` in host object names such as `<name>-x-<namespace>-x-<vcluster>`.',
    }),
    virtual: section('The virtual cluster\'s kube-apiserver.', {
      kubeconfig: string({
        default: '',
        file: true,
        doc: 'Path to the kubeconfig vcnet uses to reach the virtual kube-apiserver, with vcnet\'s own identity there. `vcnet serve` requires it.',
      }),
    }),
    host: section('The host cluster.', {
      kubeconfig: string({
        default: '',
        file: true,
        doc: 'Path to the kubeconfig for the host cluster.',
      }),
      namespace: string({
        default: '',
        check: optional(checkDNS1123Label),
        doc: 'The host namespace the virtual cluster\'s objects are synced to (a DNS-1123 label).',
      }),
      service: string({
        default: '',
        check: optional(checkDNS1035Label),
        doc: 'The host Service in front of vcnet\'s proxy, which stands for the virtual `default/kubernetes`: its ClusterIP is the API server address given to pods (a DNS-1035 label). Empty means `<vcnet.name>`, as in vCluster.',
      }),
      dnsService: string({
        default: '',
        check: optional(checkDNS1035Label),
        doc: 'The host Service in front of vcnet\'s DNS server, whose ClusterIP is the nameserver of host pods (a DNS-1035 label). Empty means vCluster\'s name for it, `kube-dns-x-kube-system-x-<vcnet.name>` (hashed beyond 63 characters).',
      }),
    }),
    proxy: section('vcnet\'s proxy settings beyond vCluster\'s `controlPlane.proxy`.', {
      clientCAFile: string({
        default: '',
        file: true,
        doc: 'Path to the PEM CA certificate that signs user client certificates (the virtual cluster\'s client CA). Empty means client certificates are not accepted.',
      }),
      maxRequestBodyBytes: integer({
        default: 3 * MiB,
        min: 1,
        max: 64 * MiB,
        unit: '(64 MiB)',
        doc: 'The largest request body the proxy accepts, in bytes; kube-apiserver\'s own limit is 3 MiB.',
      }),
      impersonationCacheSeconds: integer({
        default: 10,
        min: 0,
        max: 300,
        doc: 'How long, in seconds, the proxy caches the API server\'s answer to whether a user may impersonate the identity they ask for (`kubectl --as`); 0 asks every time.',
      }),
    }),
    webhook: section('The admission webhook server the virtual kube-apiserver calls on every write of a synced kind.', {
      bindAddress: string({
        default: '127.0.0.1',
        check: checkIP,
        doc: 'The IP address the webhook server listens on; in a pod, use `0.0.0.0` so the virtual kube-apiserver reaches it through the vcnet Service.',
      }),
      port: integer({ default: 9443, min: 1, max: 65535, doc: 'The port the webhook server listens on.' }),
      url: string({
        default: '',
        check: checkWebhookURL,
        doc: 'The https:// base URL at which the virtual kube-apiserver reaches the webhook server. Empty means `https://127.0.0.1:<port>`, for local runs; in a cluster, set the vcnet Service URL, such as `https://vcnet.<namespace>.svc:9443`.',
      }),
      timeoutSeconds: integer({
        default: 10,
        min: 1,
        max: 30,
        doc: 'How long the virtual kube-apiserver waits for a webhook answer, in seconds (Kubernetes allows 1 to 30).',
      }),
      failurePolicy: oneOf(['Fail', 'Ignore'], {
        default: 'Fail',
        doc: 'What the virtual kube-apiserver does when the webhook cannot answer: `Fail` refuses the write, so no virtual object exists without its host twin; `Ignore` lets it through and leaves the work to the reconciler.',
      }),
    }),
    sync: section('The reconciler, which repairs what the synchronous write path could not.', {
      orphanGraceSeconds: integer({
        default: 30,
        min: 1,
        doc: 'How old, in seconds, a host object without a virtual twin must be before the reconciler deletes it; a younger one may belong to an admission still in flight.',
      }),
      resyncSeconds: integer({
        default: 300,
        min: 10,
        doc: 'How often, in seconds, the reconciler compares every virtual object with its host twin in full.',
      }),
      leaseDurationSeconds: integer({
        default: 15,
        min: 5,
        max: 300,
        doc: 'The duration, in seconds, of the Lease in the host namespace that makes one vcnet replica the reconciler; another replica takes over at most this long after the leader stops renewing it.',
      }),
    }),
    certs: section('The CA and serving certificates vcnet creates.', {
      dir: string({
        default: 'certs',
        file: true,
        check: (v) => (v === '' ? 'must name a directory' : undefined),
        doc: 'The directory holding the CA and the serving certificates (private keys are written with mode 0600).',
      }),
      validityDays: integer({ default: 365, min: 1, max: 3650, doc: 'How long a new serving certificate is valid, in days.' }),
      renewBeforeDays: integer({
        default: 30,
        min: 0,
        doc: 'How many days before it expires a serving certificate is renewed; less than `validityDays`.',
      }),
    }),
    observability: section('Health, readiness and Prometheus metrics, on their own port.', {
      bindAddress: string({
        default: '127.0.0.1',
        check: checkIP,
        doc: 'The IP address for the health, readiness and metrics endpoints; in a pod, use `0.0.0.0` so the kubelet\'s probes reach it.',
      }),
      port: integer({ default: 8080, min: 1, max: 65535, doc: 'The port for the health, readiness and metrics endpoints.' }),
    }),
    dns: section('vcnet\'s DNS server (vcluster-networking.md section 7), in place of the CoreDNS vCluster deploys.', {
      enabled: boolean({
        default: true,
        doc: 'Whether `vcnet serve` serves the virtual cluster\'s DNS (docs/dns.md). Host pods are pointed at it through the host DNS Service (`vcnet.host.dnsService`) whatever this says; off is for a vcnet that only proxies, or one beside `vcnet dns`, which serves DNS whatever this says.',
      }),
      bindAddress: string({
        default: '0.0.0.0',
        check: checkIP,
        doc: 'The IP address the DNS server listens on, over UDP and TCP.',
      }),
      port: integer({
        default: 1053,
        min: 1,
        max: 65535,
        doc: 'The port the DNS server listens on; vCluster\'s CoreDNS listens on 1053 behind a Service that maps 53 to it.',
      }),
      upstreams: stringList({
        default: [],
        check: checkUpstream,
        doc: 'The resolvers names outside the cluster zone are forwarded to, each `ip`, `ip:port` or `[ipv6]:port`, asked in order (the next when one fails). Empty means the nameservers of `/etc/resolv.conf`. Not used with `networking.advanced.fallbackHostCluster`.',
      }),
      hostClusterDNS: string({
        default: '',
        check: optional(checkUpstream),
        doc: 'The host cluster\'s DNS server (`ip`, `ip:port` or `[ipv6]:port`), asked with `networking.advanced.fallbackHostCluster`. Empty means the first nameserver of `/etc/resolv.conf`, as vCluster does.',
      }),
      upstreamTimeoutSeconds: integer({
        default: 2,
        min: 1,
        max: 30,
        doc: 'How long, in seconds, vcnet waits for one upstream server before it asks the next; when all fail the answer is SERVFAIL.',
      }),
      cache: section('The cache of forwarded answers (the cluster zone and the rules are answered from memory and not cached).', {
        maxEntries: integer({
          default: 10000,
          min: 0,
          doc: 'How many answers the cache holds at most, by name and type; the least recently used goes first. 0 turns the cache off.',
        }),
        maxTTLSeconds: integer({
          default: 30,
          min: 0,
          max: 86400,
          doc: 'The longest time, in seconds, a positive answer is kept, however long its records\' TTL (CoreDNS `cache 30` in vCluster\'s Corefile).',
        }),
        negativeTTLSeconds: integer({
          default: 5,
          min: 0,
          max: 3600,
          doc: 'The longest time, in seconds, an NXDOMAIN or empty answer is kept (RFC 2308); 0 does not cache them.',
        }),
      }),
    }),
    logLevel: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      default: 'info',
      doc: 'The least severe log level written.',
    }),
  }),
});

/** The complete configuration: every field present, checked, defaults applied, read-only. */
export interface VcnetConfig extends ValueOf<typeof schema> {}

/** A rule between fields. It runs only when each field it names was valid on its own. */
export interface CrossCheck {
  readonly fields: readonly string[];
  /** Problems found, each with the path of the field to blame. */
  check(config: VcnetConfig): Array<{ path: string; detail: string }>;
}

/** Every server socket vcnet opens, so no two are configured onto the same address and port. */
const LISTENERS: ReadonlyArray<{ path: string; get(c: VcnetConfig): { bindAddress: string; port: number } }> = [
  { path: 'controlPlane.proxy', get: (c) => c.controlPlane.proxy },
  { path: 'vcnet.observability', get: (c) => c.vcnet.observability },
  { path: 'vcnet.webhook', get: (c) => c.vcnet.webhook },
  // The DNS server listens on UDP and TCP; the TCP socket collides like the others.
  { path: 'vcnet.dns', get: (c) => c.vcnet.dns },
];

const INIT_CONTAINER_RESOURCES = 'sync.toHost.pods.rewriteHosts.initContainer.resources';

export const crossChecks: readonly CrossCheck[] = [
  {
    fields: ['vcnet.certs.renewBeforeDays', 'vcnet.certs.validityDays'],
    check(c) {
      const { renewBeforeDays, validityDays } = c.vcnet.certs;
      if (renewBeforeDays < validityDays) return [];
      return [{
        path: 'vcnet.certs.renewBeforeDays',
        detail: `${renewBeforeDays} must be less than vcnet.certs.validityDays (${validityDays}), or every certificate would be due for renewal as soon as it is issued`,
      }];
    },
  },
  {
    // vCluster refuses the combination too: `all` mirrors every node, `labels` only some of them.
    fields: ['sync.fromHost.nodes.selector.all', 'sync.fromHost.nodes.selector.labels'],
    check(c) {
      const { all, labels } = c.sync.fromHost.nodes.selector;
      if (!all || Object.keys(labels).length === 0) return [];
      return [{
        path: 'sync.fromHost.nodes.selector.labels',
        detail: 'must be empty while sync.fromHost.nodes.selector.all is true: "all" mirrors every host node, "labels" only the nodes that carry them; set one of the two',
      }];
    },
  },
  {
    // Kubernetes refuses a container whose request exceeds its limit (ValidateResourceRequirements),
    // which would surface only when the first pod with a subdomain is created.
    fields: ['limits', 'requests'].flatMap((k) => ['cpu', 'memory'].map((r) => `${INIT_CONTAINER_RESOURCES}.${k}.${r}`)),
    check(c) {
      const { limits, requests } = c.sync.toHost.pods.rewriteHosts.initContainer.resources;
      const problems: Array<{ path: string; detail: string }> = [];
      for (const r of ['cpu', 'memory'] as const) {
        const limit = parseQuantity(limits[r]);
        const request = parseQuantity(requests[r]);
        if (limit !== undefined && request !== undefined && request > limit) {
          problems.push({
            path: `${INIT_CONTAINER_RESOURCES}.requests.${r}`,
            detail: `${requests[r]} is more than ${INIT_CONTAINER_RESOURCES}.limits.${r} (${limits[r]}); Kubernetes refuses a request above its limit`,
          });
        }
      }
      return problems;
    },
  },
  {
    fields: ['vcnet.webhook.url', 'vcnet.webhook.bindAddress'],
    check(c) {
      const { url, bindAddress, port } = c.vcnet.webhook;
      if (url !== '' || addressesOverlap(bindAddress, '127.0.0.1')) return [];
      return [{
        path: 'vcnet.webhook.url',
        detail: `is empty, so the virtual kube-apiserver would call https://127.0.0.1:${port}, where vcnet.webhook.bindAddress (${bindAddress}) does not listen; set the URL at which the webhook server is reached`,
      }];
    },
  },
  {
    fields: LISTENERS.flatMap((l) => [`${l.path}.bindAddress`, `${l.path}.port`]),
    check(c) {
      const problems: Array<{ path: string; detail: string }> = [];
      LISTENERS.forEach((later, i) => {
        const b = later.get(c);
        for (const earlier of LISTENERS.slice(0, i)) {
          const a = earlier.get(c);
          if (a.port === b.port && addressesOverlap(a.bindAddress, b.bindAddress)) {
            problems.push({
              path: `${later.path}.port`,
              detail: `${b.port} on ${b.bindAddress} collides with ${earlier.path} (${a.bindAddress} port ${a.port}); give one of them another port`,
            });
            break;
          }
        }
      });
      return problems;
    },
  },
];
