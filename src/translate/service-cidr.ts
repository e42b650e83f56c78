// The virtual ServiceCIDRs that stand for host service ranges: their names and their marker label
// (reference §3.1, §10 item 6). A virtual Service gets its host twin's ClusterIP, so the virtual
// kube-apiserver must allocate from every host range; src/sync/service-cidr.ts creates one virtual
// ServiceCIDR (networking.k8s.io/v1, cluster-scoped, KEP-1880) for each host range the virtual
// cluster lacks, and deletes it again when the host drops the range. These rules say what such an
// object is called and how vcnet tells its own from an administrator's.
//
// Pure, and free of IP code: the caller hands in the range's canonical text (RFC 5952 for IPv6,
// host bits cleared: src/sync/service-cidr-rules.ts parseRange), which makes the name one-to-one.
import { APP_MANAGED_BY, APP_MANAGED_BY_VALUE } from './keys.ts';

/** A ServiceCIDR (networking.k8s.io/v1) as it is on the wire. */
export interface ServiceCIDRObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name?: string; readonly uid?: string; readonly resourceVersion?: string; readonly creationTimestamp?: string; readonly deletionTimestamp?: string;
    readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>>; readonly [field: string]: unknown;
  };
  /** One CIDR, or two of different families (pkg/apis/networking/validation validateServiceCIDRSpec). */
  readonly spec?: { readonly cidrs?: readonly string[] };
  readonly status?: { readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string; readonly reason?: string; readonly message?: string }> };
  readonly [field: string]: unknown;
}

/** The default ServiceCIDR, made by kube-apiserver from its --service-cluster-ip-range. vcnet never touches the virtual one. */
export const DEFAULT_SERVICE_CIDR = 'kubernetes';
/** Names of the virtual ServiceCIDRs vcnet makes start with this. */
export const VIRTUAL_SERVICE_CIDR_PREFIX = 'vcnet-host-';

/**
 * The name of the virtual ServiceCIDR that stands for a host range, from its canonical text:
 * `10.97.0.0/24` -> `vcnet-host-10-97-0-0-24`, `fd00::1:0/112` -> `vcnet-host-fd00--1-0-112`.
 * Stable and one-to-one: the address with `.` and `:` as `-`, then the prefix (an IPv4 address
 * always has four parts; an IPv6 one never has four parts without a `--`, so no IPv6 name equals an
 * IPv4 one). Always a valid DNS-1123 subdomain (at most 54 characters).
 */
export function virtualServiceCIDRName(cidr: string): string {
  return `${VIRTUAL_SERVICE_CIDR_PREFIX}${cidr.replace(/[.:/]/g, '-')}`;
}

/** Whether vcnet made this virtual ServiceCIDR (its label and name prefix), so vcnet may delete it. Never `kubernetes`. */
export function isVcnetServiceCIDR(obj: ServiceCIDRObject): boolean {
  const name = obj.metadata.name ?? '';
  return name !== DEFAULT_SERVICE_CIDR && name.startsWith(VIRTUAL_SERVICE_CIDR_PREFIX) && obj.metadata.labels?.[APP_MANAGED_BY] === APP_MANAGED_BY_VALUE;
}

/** The virtual ServiceCIDR vcnet creates for a host range, from its canonical text: one range per object. */
export function virtualServiceCIDRFor(cidr: string): ServiceCIDRObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'ServiceCIDR',
    metadata: {
      name: virtualServiceCIDRName(cidr),
      labels: { [APP_MANAGED_BY]: APP_MANAGED_BY_VALUE },
    },
    spec: { cidrs: [cidr] },
  };
}
