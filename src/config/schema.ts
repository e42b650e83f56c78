// Every field of the vcnet config file, in one table. Everything outside `vcnet:` is a field of
// vCluster's vcluster.yaml with the same meaning (loft-sh/vcluster config/config.go), so a vcluster.yaml
// that uses only these fields is a valid vcnet config; `vcnet:` holds what vCluster has no field for.
// To add a field: add one entry here (and its row in docs/configuration.md, which a test checks).

import {
  addressesOverlap, checkCIDR, checkDNS1035Label, checkDNS1123Label, checkDNS1123Subdomain, checkIP,
  checkSAN, checkServiceCIDR,
} from './checks.ts';
import { integer, oneOf, section, string, stringList } from './fields.ts';
import type { ValueOf } from './fields.ts';

const MiB = 1024 * 1024;

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
        doc: 'The DNS domain of the virtual cluster (a DNS-1123 subdomain): service names end in `svc.<clusterDomain>`.',
      }),
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
        check: (v) => (v === '' ? undefined : checkDNS1123Label(v)),
        doc: 'The host namespace the virtual cluster\'s objects are synced to (a DNS-1123 label).',
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
];

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
