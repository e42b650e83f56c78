// Hostname, subdomain and /etc/hosts of a host pod (§2.2 "Hostname, subdomain and /etc/hosts" and
// "hostAliases" of /work/shared/reference/vcluster-networking.md).
//
// The host pod's subdomain is always cleared: the headless Service it names exists on the host only
// under its translated name, so the host kubelet would write a wrong FQDN. vcnet's DNS serves the
// pod's `<hostname>.<subdomain>.<ns>.svc.<domain>` record to other pods itself; what is left is the
// pod's view of its own name (`hostname -f`), which reads /etc/hosts. For that an init container
// rewrites the kubelet's /etc/hosts line into a shared emptyDir that every container mounts over
// /etc/hosts — vCluster's mechanism, kept as is so host pods look the same.
import { DISABLE_SUBDOMAIN_REWRITE } from './keys.ts';
import type { PodTranslateOptions } from './pod-options.ts';
import type { Container, HostAlias, Pod, Volume, VolumeMount } from './pod-types.ts';

export const HOSTS_CONTAINER_NAME = 'vcluster-rewrite-hosts';
export const HOSTS_VOLUME_NAME = 'vcluster-rewrite-hosts';

/** Longest hostname Kubernetes accepts (a DNS-1123 label). */
const MAX_HOSTNAME = 63;

/**
 * The host pod's hostname: the virtual spec.hostname, or else the virtual pod name cut to 63
 * characters with `.` replaced by `-` and trailing `-` trimmed, so that `hostname` inside the
 * container returns the virtual name and never the translated host name. (vCluster trims only one
 * trailing `-`, which leaves an invalid hostname for a cut that ends in `--`.)
 */
export function hostPodHostname(vPod: Pick<Pod, 'metadata' | 'spec'>): string {
  if (vPod.spec.hostname) return vPod.spec.hostname;
  return (vPod.metadata.name ?? '').slice(0, MAX_HOSTNAME).replaceAll('.', '-').replace(/-+$/, '');
}

/**
 * The hostAliases entry every host pod gets, so `kubernetes`, `kubernetes.default`,
 * `kubernetes.default.svc` (and `kubernetes.default.svc.<domain>`) reach the virtual API server even
 * where DNS is not used.
 */
export function kubernetesHostAlias(kubeIP: string, clusterDomain: string): HostAlias {
  const fqdn = clusterDomain === '' ? [] : [`kubernetes.default.svc.${clusterDomain}`];
  return { ip: kubeIP, hostnames: [...fqdn, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'] };
}

/**
 * Whether the /etc/hosts rewrite applies: the virtual pod has a subdomain, rewriteHosts is enabled,
 * and the pod did not opt out with `vcluster.loft.sh/disable-subdomain-rewrite: "true"`. vCluster
 * honours the opt-out only when `vcluster.loft.sh/hosts-rewritten` is also "true" on the pod, so on its
 * own the opt-out does nothing there; here it works on its own.
 */
export function rewritesHosts(vPod: Pick<Pod, 'metadata' | 'spec'>, options: Pick<PodTranslateOptions, 'rewriteHosts'>): boolean {
  return Boolean(vPod.spec.subdomain)
    && options.rewriteHosts.enabled
    && vPod.metadata.annotations?.[DISABLE_SUBDOMAIN_REWRITE] !== 'true';
}

/** The pod's FQDN in the virtual cluster, `<hostname>.<subdomain>.<ns>.svc[.<domain>]`. */
export function podFQDN(hostname: string, subdomain: string, vNamespace: string, clusterDomain: string): string {
  const svc = `${hostname}.${subdomain}.${vNamespace}.svc`;
  return clusterDomain === '' ? svc : `${svc}.${clusterDomain}`;
}

/**
 * The shell script of the init container. The kubelet writes one `<podIP>\t<hostname>` line per pod
 * IP; each becomes `<podIP>\t<fqdn> <hostname>`, the layout the kubelet itself uses for pods with a
 * subdomain. The address class also matches IPv6, which vCluster's `\d+.\d+.\d+.\d+` misses. Hostname,
 * subdomain and namespace are DNS labels, so they need no quoting in sed or sh.
 */
export function hostsRewriteScript(hostname: string, fqdn: string): string {
  return `sed -E 's/^([0-9A-Fa-f.:]+[[:space:]]+)${hostname}$/\\1${fqdn} ${hostname}/' /etc/hosts > /hosts/hosts`;
}

export function hostsRewriteContainer(options: Pick<PodTranslateOptions, 'rewriteHosts'>, hostname: string, fqdn: string): Container {
  const c = options.rewriteHosts.initContainer;
  return {
    name: HOSTS_CONTAINER_NAME,
    image: c.image,
    command: ['sh'],
    args: ['-c', hostsRewriteScript(hostname, fqdn)],
    resources: structuredClone(c.resources),
    securityContext: {
      runAsUser: c.runAsUser,
      runAsGroup: c.runAsGroup,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: HOSTS_VOLUME_NAME, mountPath: '/hosts' }],
  };
}

export function hostsRewriteVolume(): Volume {
  return { name: HOSTS_VOLUME_NAME, emptyDir: {} };
}

/**
 * A container with the rewritten /etc/hosts mounted over the kubelet's. A container that already
 * mounts something at /etc/hosts keeps its own mount (a second mount at the same path is invalid).
 */
export function withHostsMount<C extends Container>(c: C): C {
  const mounts = c.volumeMounts ?? [];
  if (mounts.some((m) => m.mountPath === '/etc/hosts')) return c;
  const hostsMount: VolumeMount = { name: HOSTS_VOLUME_NAME, mountPath: '/etc/hosts', subPath: 'hosts' };
  return { ...c, volumeMounts: [...mounts, hostsMount] };
}
