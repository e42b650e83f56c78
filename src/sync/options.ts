// What the sync engine takes from the configuration, read once at start-up: the pod translation
// options (translate/pod-options.ts) and the settings of the engine and the reconciler. Both are
// validated here, so a bad value stops `vcnet serve` before the first pod instead of failing on it.
// Defaults and meanings: docs/configuration.md; vCluster's behaviour: §2 and §8 of
// /work/shared/reference/vcluster-networking.md.
import type { VcnetConfig } from '../config/index.ts';
import { VcnetError } from '../errors.ts';
import { podTranslateOptions, safeConcatName } from '../translate/index.ts';
import type { PodTranslateOptions } from '../translate/index.ts';

/** The pod translation options the configuration asks for. Throws VCN_ERR_CONFIG_INVALID from podTranslateOptions. */
export function podTranslateOptionsFromConfig(config: VcnetConfig): PodTranslateOptions {
  const pods = config.sync.toHost.pods;
  const nodes = config.sync.fromHost.nodes;
  const init = pods.rewriteHosts.initContainer;
  return podTranslateOptions({
    rewriteHosts: {
      enabled: pods.rewriteHosts.enabled,
      initContainer: { image: imageReference(init.image), resources: resourceRequirements(init.resources) },
    },
    translateImage: pods.translateImage,
    enforceTolerations: pods.enforceTolerations,
    useSecretsForSATokens: pods.useSecretsForSATokens,
    runtimeClassName: pods.runtimeClassName,
    priorityClassName: pods.priorityClassName,
    clusterDomain: config.networking.advanced.clusterDomain,
    workloadServiceAccount: config.controlPlane.advanced.workloadServiceAccount.name,
    // The labels pin pods to the mirrored nodes. With `all`, every node is mirrored and there is
    // nothing to pin to; without node sync, the virtual cluster has no such nodes at all.
    nodeSelectorLabels: nodes.enabled && !nodes.selector.all ? nodes.selector.labels : {},
  });
}

/**
 * vCluster's Image.String() (loft-sh/vcluster config/config.go): `registry/`, then `library/` when a
 * registry is given and the repository has no `/` (Docker Hub's namespace of official images, which
 * mirrors such as mirror.gcr.io keep), the repository, and `:tag` when there is a tag.
 */
export function imageReference(image: { readonly registry: string; readonly repository: string; readonly tag: string }): string {
  let ref = '';
  if (image.registry !== '') {
    ref = `${image.registry}/`;
    if (image.repository !== '' && !image.repository.includes('/')) ref += 'library/';
  }
  ref += image.repository;
  if (image.tag !== '') ref += `:${image.tag}`;
  return ref;
}

interface QuantityPair { readonly cpu: string; readonly memory: string }

/** Requests and limits without the empty ones: empty means "not set" in the config. */
function resourceRequirements(r: { readonly limits: QuantityPair; readonly requests: QuantityPair }): {
  limits: Record<string, string>;
  requests: Record<string, string>;
} {
  const set = (q: QuantityPair): Record<string, string> => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));
  return { limits: set(r.limits), requests: set(r.requests) };
}

/** The settings of the sync engine and the reconciler, with every default resolved. */
export interface SyncSettings {
  /** `vcnet.name`: the `<vcluster>` in host names. */
  vcluster: string;
  /** `vcnet.host.namespace`: where host twins live. */
  hostNamespace: string;
  /** The host Service that stands for the virtual `default/kubernetes` (its ClusterIP is the pods' kubeIP). */
  kubeService: string;
  /** The host Service in front of vcnet's DNS (its ClusterIP is the pods' nameserver). */
  dnsService: string;
  /** A host object without a virtual twin is deleted only once it is this old. */
  orphanGraceMs: number;
  /** The period of the reconciler's full resync. */
  resyncMs: number;
  /** The duration of the reconciler's Lease. */
  leaseDurationMs: number;
  pods: { enabled: boolean };
  /** Services host first; `endpoints`/`endpointSlices`: copies for selector-less Services (only with services). */
  services: { enabled: boolean; endpoints: boolean; endpointSlices: boolean };
  nodes: { enabled: boolean; all: boolean; labels: Record<string, string>; clearImageStatus: boolean };
}

export interface SyncSettingsOptions {
  /**
   * vcnet runs in a pod and talks to the host through its in-cluster ServiceAccount, so an empty
   * `vcnet.host.kubeconfig` is not missing (manifests/vcnet.yaml leaves it empty on purpose).
   */
  readonly inCluster?: boolean;
}

/**
 * The sync settings of `vcnet serve`. Throws VCN_ERR_CONFIG_INVALID naming each field that pod or
 * node sync needs but the config leaves empty. This is not a rule of the config schema because the
 * other commands (certs, kubeconfig) and partial test configs parse the same file without syncing.
 */
export function syncSettingsFromConfig(config: VcnetConfig, opts: SyncSettingsOptions = {}): SyncSettings {
  const { host } = config.vcnet;
  const pods = config.sync.toHost.pods;
  const services = config.sync.toHost.services;
  const nodes = config.sync.fromHost.nodes;
  const missing: string[] = [];
  const toHost = pods.enabled ? 'sync.toHost.pods.enabled' : services.enabled ? 'sync.toHost.services.enabled' : undefined;
  if (toHost !== undefined && host.namespace === '') {
    missing.push(`vcnet.host.namespace: must be set while ${toHost} is true, to name the host namespace the objects are synced to`);
  }
  if ((toHost !== undefined || nodes.enabled) && host.kubeconfig === '' && opts.inCluster !== true) {
    const why = toHost ?? 'sync.fromHost.nodes.enabled';
    missing.push(`vcnet.host.kubeconfig: must be set while ${why} is true, to reach the host cluster`);
  }
  if (missing.length > 0) throw new VcnetError('VCN_ERR_CONFIG_INVALID', [missing.join('; ')]);

  const { sync } = config.vcnet;
  return {
    vcluster: config.vcnet.name,
    hostNamespace: host.namespace,
    kubeService: host.service || config.vcnet.name,
    // vCluster's host name of the virtual kube-system/kube-dns Service (§1.1, §2.2).
    dnsService: host.dnsService || safeConcatName('kube-dns', 'x', 'kube-system', 'x', config.vcnet.name),
    orphanGraceMs: sync.orphanGraceSeconds * 1000,
    resyncMs: sync.resyncSeconds * 1000,
    leaseDurationMs: sync.leaseDurationSeconds * 1000,
    pods: { enabled: pods.enabled },
    services: {
      enabled: services.enabled,
      endpoints: services.enabled && config.sync.toHost.endpoints.enabled,
      endpointSlices: services.enabled && config.sync.toHost.endpointSlices.enabled,
    },
    nodes: { enabled: nodes.enabled, all: nodes.selector.all, labels: { ...nodes.selector.labels }, clearImageStatus: nodes.clearImageStatus },
  };
}

/** The base URL the virtual kube-apiserver calls the webhooks at: `vcnet.webhook.url`, or the loopback default. */
export function webhookBaseURL(config: VcnetConfig): string {
  const { url, port } = config.vcnet.webhook;
  return url === '' ? `https://127.0.0.1:${port}` : url.replace(/\/+$/, '');
}
