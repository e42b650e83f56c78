import { canonicalIP, isIPLiteral } from './ip.ts';

/**
 * The SANs of the proxy's serving certificate: loopback (localhost, 127.0.0.1, ::1) so local kubeconfigs
 * work, the in-cluster Service names (`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<clusterDomain>`,
 * the names a pod can resolve), and `controlPlane.proxy.extraSANs`, each sorted into IP or DNS the way
 * vCluster does (an entry that parses as an IP is an IP SAN; anything else, wildcards included, is DNS).
 * Duplicates are dropped; blank entries are skipped (config validation reports them, not this function).
 */
export function servingSANs(opts: {
  serviceName?: string;
  namespace?: string;
  clusterDomain?: string;
  extraSANs?: string[];
}): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>(['localhost']);
  const ipAddresses = new Set<string>(['127.0.0.1', '::1']);
  const service = opts.serviceName?.trim().toLowerCase();
  if (service) {
    dnsNames.add(service);
    const namespace = opts.namespace?.trim().toLowerCase();
    if (namespace) {
      const clusterDomain = (opts.clusterDomain?.trim() || 'cluster.local').toLowerCase().replace(/^\.|\.$/g, '');
      for (const name of [`${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`]) {
        dnsNames.add(name);
      }
    }
  }
  for (const raw of opts.extraSANs ?? []) {
    const san = raw.trim();
    if (san === '') continue;
    if (isIPLiteral(san)) ipAddresses.add(canonicalIP(san));
    else dnsNames.add(san.toLowerCase().replace(/\.$/, ''));
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}
