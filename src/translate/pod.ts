// A virtual Pod as its host twin (§2.1 and §2.2 of /work/shared/reference/vcluster-networking.md).
// PURE: the caller (src/sync) first gathers the facts — vcnet's DNS Service IP, the vCluster's API
// Service IP, the virtual Services and labels of the pod's namespace, the service-account tokens
// (see serviceAccountTokenRequests) — and podToHost turns them into the host pod, the objects it
// refers to (to sync first) and warnings (to report as events on the virtual pod).
//
// Which file does what:
//   pod.ts             podToHost, ephemeralContainerToHost, the pod's own annotations.
//   pod-types.ts       the Pod wire types.
//   pod-options.ts     PodTranslateOptions (`sync.toHost.pods.*` and friends), defaults, toleration syntax.
//   pod-refs.ts        the references (Secret, ConfigMap, PVC, ...) a pod makes, with their host names.
//   pod-env.ts         service-link and KUBERNETES_* variables, env/envFrom names, downward API paths.
//   pod-volumes.ts     volumes: names, ephemeral -> PVC, downward API, service-account tokens.
//   pod-dns.ts         dnsPolicy and dnsConfig.
//   pod-hosts.ts       hostname, subdomain, hostAliases and the /etc/hosts rewrite init container.
//   pod-scheduling.ts  affinity, topology spread, tolerations, priority.
//   pod-status.ts      status host -> virtual, custom conditions virtual -> host.
import assert from 'node:assert/strict';
import {
  DAEMONSET_POD, HOSTS_REWRITTEN, POD_LABELS, POD_NAME, POD_NAMESPACE, POD_OWNER_REFERENCES, POD_OWNER_SET_KIND,
  POD_SERVICE_ACCOUNT_NAME, POD_TOKEN_PREFIX, POD_UID, SAFE_TO_EVICT,
} from './keys.ts';
import { compact } from './json.ts';
import { labelsAnnotationValue } from './labels.ts';
import { KINDS, toHostObjectMeta } from './meta.ts';
import type { Translator } from './names.ts';
import { toHostDNS } from './pod-dns.ts';
import { serviceLinkEnv, toHostContainerEnv } from './pod-env.ts';
import {
  hostPodHostname, hostsRewriteContainer, hostsRewriteVolume, kubernetesHostAlias, podFQDN, rewritesHosts, withHostsMount,
} from './pod-hosts.ts';
import type { PodTranslateOptions } from './pod-options.ts';
import { PodReferences, type PodReference } from './pod-refs.ts';
import { toHostAffinity, toHostPriority, toHostTolerations, toHostTopologySpread } from './pod-scheduling.ts';
import type { Container, EphemeralContainer, Pod, PodSpec, ServiceLinkSource } from './pod-types.ts';
import { toHostVolumes, type TokenSecret } from './pod-volumes.ts';
import type { ObjectMeta, OwnerReference, TypeMeta } from './types.ts';

export type { HostPodReferences, PodReference, PodReferenceKind } from './pod-refs.ts';
export { hostPodReferences } from './pod-refs.ts';
export { DEFAULT_POD_TRANSLATE_OPTIONS, parseToleration, podTranslateOptions } from './pod-options.ts';
export type { PodTranslateOptions, PodTranslateOptionsInput } from './pod-options.ts';
export { serviceAccountTokenRequests, serviceAccountTokenKey, tokenSecretName, SA_TOKEN_EXPIRATION_SECONDS } from './pod-volumes.ts';
export type { ServiceAccountTokenRequest, TokenSecret } from './pod-volumes.ts';
export { usesClusterDNS } from './pod-dns.ts';
export type { Container, EphemeralContainer, Pod, PodCondition, PodSpec, PodStatus } from './pod-types.ts';
export { HOSTS_CONTAINER_NAME, HOSTS_VOLUME_NAME, rewritesHosts } from './pod-hosts.ts';
export { podStatusToVirtual, podConditionsToHost, isSystemCondition } from './pod-status.ts';

/** What podToHost needs to know beyond the virtual pod; the caller looks these up first. */
export interface PodFacts {
  /** ClusterIP of vcnet's DNS Service: the nameserver of pods that use cluster DNS. */
  readonly dnsIP: string;
  /** ClusterIP of the vCluster's own host Service `HNS/VC` (the virtual `default/kubernetes`). */
  readonly kubeIP: string;
  /** The virtual Services of the pod's namespace, for the service-link variables. */
  readonly services: readonly ServiceLinkSource[];
  /** Labels of the pod's virtual namespace, copied to the host pod under ns-label keys. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Tokens from the virtual API server by serviceAccountTokenKey (see serviceAccountTokenRequests). */
  readonly serviceAccountTokens?: Readonly<Record<string, string>>;
  /** Minor version of the host's Kubernetes (1.<minor>); below 34 pod-level resources are dropped. */
  readonly hostMinorVersion?: number;
  /** The vCluster's host Service, owner of every host object (`experimental.syncSettings.setOwner`). */
  readonly owner?: TypeMeta & { readonly name: string; readonly uid: string };
}

export interface PodToHostResult {
  readonly hPod: Pod;
  /** Objects of the virtual namespace the host pod refers to by their host names: sync them first. */
  readonly references: readonly PodReference[];
  /** Things the host pod cannot do as asked; report them on the virtual pod. */
  readonly warnings: readonly string[];
  /** With useSecretsForSATokens: the host Secret the pod's token volumes read; create it first. */
  readonly tokenSecret: TokenSecret | undefined;
}

/**
 * The host pod annotations vcnet derives from the virtual pod. A virtual pod can never set them (a
 * tenant must not be able to make the downward API lie); the token annotations, which share the
 * prefix `vcluster.loft.sh/token-`, are vcnet's as well. vCluster copies these keys from the virtual
 * pod when it carries them.
 */
export const POD_OWNED_ANNOTATIONS: readonly string[] = Object.freeze([
  POD_NAME, POD_NAMESPACE, POD_UID, POD_SERVICE_ACCOUNT_NAME, POD_LABELS, POD_OWNER_REFERENCES, POD_OWNER_SET_KIND, HOSTS_REWRITTEN,
]);

export function isPodOwnedAnnotation(key: string): boolean {
  return key.startsWith(POD_TOKEN_PREFIX) || POD_OWNED_ANNOTATIONS.includes(key);
}

/**
 * The virtual pod a host pod stands for, read from the annotations podToHost wrote, or undefined
 * when they are missing or do not translate back to the host pod's own name (edited by hand).
 */
export function virtualPodOf(tr: Translator, hPod: Pick<Pod, 'metadata'>): { name: string; namespace: string; uid: string } | undefined {
  const ann = hPod.metadata.annotations ?? {};
  const name = ann[POD_NAME] ?? '';
  const namespace = ann[POD_NAMESPACE] ?? '';
  if (name === '' || namespace === '' || tr.hostName(name, namespace) !== hPod.metadata.name) return undefined;
  return { name, namespace, uid: ann[POD_UID] ?? '' };
}

/** Owner kinds whose pods get `vcluster.loft.sh/owner-set-kind`, by apiVersion. */
const OWNER_SET_KINDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['apps/v1', new Set(['DaemonSet', 'ReplicaSet', 'StatefulSet'])],
  // vCluster lists Job but only accepts apps/v1 owners, so Job pods never get the annotation there.
  ['batch/v1', new Set(['Job'])],
]);

/** The owner references as Go's encoding/json writes them (field order, omitted empty pointers). */
function ownerReferencesJSON(refs: readonly OwnerReference[]): string {
  return JSON.stringify(refs.map((r) => ({
    apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid,
    ...(r.controller === undefined ? {} : { controller: r.controller }),
    ...(r.blockOwnerDeletion === undefined ? {} : { blockOwnerDeletion: r.blockOwnerDeletion }),
  })));
}

/** The annotations of §2.1 "Identity and metadata" that every host pod carries. */
function podAnnotations(vPod: Pod, userAnnotations: Readonly<Record<string, string>>): Record<string, string> {
  const meta = vPod.metadata;
  const owners = meta.ownerReferences ?? [];
  const out: Record<string, string> = {
    [POD_NAME]: meta.name ?? '',
    [POD_NAMESPACE]: meta.namespace ?? '',
    [POD_UID]: meta.uid ?? '',
    [POD_SERVICE_ACCOUNT_NAME]: vPod.spec.serviceAccountName || vPod.spec.serviceAccount || '',
    [POD_LABELS]: labelsAnnotationValue(meta.labels),
  };
  if (owners.length > 0) {
    out[POD_OWNER_REFERENCES] = ownerReferencesJSON(owners);
    const setOwner = owners.find((o) => OWNER_SET_KINDS.get(o.apiVersion)?.has(o.kind));
    if (setOwner !== undefined) out[POD_OWNER_SET_KIND] = setOwner.kind;
  }
  // The autoscaler hints are only defaults: a virtual pod may set them itself.
  const controller = owners.find((o) => o.controller === true);
  if (userAnnotations[SAFE_TO_EVICT] === undefined) out[SAFE_TO_EVICT] = String(controller !== undefined);
  if (controller?.kind === 'DaemonSet' && userAnnotations[DAEMONSET_POD] === undefined) out[DAEMONSET_POD] = 'true';
  return out;
}

function withoutOwnedAnnotations(annotations: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !isPodOwnedAnnotation(k)));
}

function translateImage<C extends Container>(c: C, images: Readonly<Record<string, string>>): C {
  const image = c.image === undefined ? undefined : images[c.image];
  return image === undefined ? c : { ...c, image };
}

/** The part of the translation every container goes through, ephemeral ones included. */
interface ContainerContext {
  readonly tr: Translator;
  readonly refs: PodReferences;
  readonly env: ReadonlyMap<string, string>;
  readonly images: Readonly<Record<string, string>>;
  readonly hostsMount: boolean;
  readonly warnings: string[];
}

function toHostContainer<C extends Container>(ctx: ContainerContext, vContainer: C): C {
  let h = translateImage(toHostContainerEnv(ctx.tr, ctx.refs, vContainer, ctx.env), ctx.images);
  if (ctx.hostsMount) {
    if ((vContainer.volumeMounts ?? []).some((m) => m.mountPath === '/etc/hosts')) {
      ctx.warnings.push(`container ${vContainer.name} mounts its own /etc/hosts, so it does not see the pod's FQDN there`);
    }
    h = withHostsMount(h);
  }
  return h;
}

function hostServiceAccount(tr: Translator, vPod: Pod, options: PodTranslateOptions): string {
  const vSA = vPod.spec.serviceAccountName || vPod.spec.serviceAccount || '';
  if (options.syncServiceAccounts && vSA !== '') return tr.hostName(vSA, vPod.metadata.namespace ?? '');
  return options.workloadServiceAccount || `vc-workload-${tr.vcluster}`;
}

/**
 * The host pod of a virtual pod, with the objects it refers to and the warnings to report.
 * Throws (node:assert) when a fact it needs is missing: kubeIP always, dnsIP for pods that use cluster
 * DNS, and a token for every projected service-account token. With the virtual scheduler on, sync a
 * pod only once it has a nodeName (vCluster waits for it too); the host pod then runs on that node.
 */
export function podToHost(tr: Translator, vPod: Pod, facts: PodFacts, options: PodTranslateOptions): PodToHostResult {
  const vSpec = vPod.spec;
  const vNamespace = vPod.metadata.namespace ?? '';
  assert.ok(vNamespace !== '', `podToHost: the virtual pod ${vPod.metadata.name ?? '(unnamed)'} has no namespace`);
  assert.ok(facts.kubeIP !== '', 'podToHost: facts.kubeIP (the ClusterIP of the vCluster\'s host Service) is required');

  const warnings: string[] = [];
  const refs = new PodReferences(tr, vNamespace);
  const hostsRewrite = rewritesHosts(vPod, options);
  const hostname = hostPodHostname(vPod);
  const ctx: ContainerContext = {
    tr, refs, warnings, hostsMount: hostsRewrite,
    env: serviceLinkEnv(facts.services, vSpec.enableServiceLinks, facts.kubeIP),
    images: options.translateImage,
  };

  // Metadata
  const userAnnotations = withoutOwnedAnnotations(vPod.metadata.annotations);
  const hMeta = toHostObjectMeta(tr, { ...vPod.metadata, annotations: userAnnotations }, KINDS.Pod, {
    vNamespaceLabels: facts.namespaceLabels,
    excludeAnnotations: POD_OWNED_ANNOTATIONS,
    ...(facts.owner === undefined ? {} : { owner: facts.owner }),
  });
  const volumes = toHostVolumes(tr, refs, vPod, facts.serviceAccountTokens ?? {}, options.useSecretsForSATokens);
  const annotations = { ...hMeta.annotations, ...podAnnotations(vPod, userAnnotations), ...volumes.tokenAnnotations };
  if (hostsRewrite) annotations[HOSTS_REWRITTEN] = 'true';

  if (vSpec.subdomain && vSpec.setHostnameAsFQDN === true) {
    warnings.push(`spec.setHostnameAsFQDN: the host pod has no subdomain, so its kernel hostname is ${hostname}; ` +
      'the FQDN is only in /etc/hosts (hostname -f)');
  }

  // Containers
  let initContainers = vSpec.initContainers?.map((c) => toHostContainer(ctx, c));
  if (hostsRewrite) {
    const fqdn = podFQDN(hostname, vSpec.subdomain as string, vNamespace, options.clusterDomain);
    initContainers = [hostsRewriteContainer(options, hostname, fqdn), ...(initContainers ?? [])];
  }

  // Fields rebuilt below are taken out of the pass-through copy.
  const {
    serviceAccount: _deprecatedServiceAccount, subdomain: _subdomain, priorityClassName: _pcn, priority: _prio,
    preemptionPolicy: _preemption, affinity: _affinity, topologySpreadConstraints: _tsc, nodeSelector: _nodeSelector,
    resources: _resources, dnsPolicy: _dnsPolicy, dnsConfig: _dnsConfig,
    ...passThrough
  } = vSpec;

  const dns = toHostDNS(vSpec, vNamespace, facts.dnsIP, options.clusterDomain);
  warnings.push(...dns.warnings);

  let nodeSelector = options.virtualScheduler ? undefined : vSpec.nodeSelector;
  if (!vSpec.nodeName && Object.keys(options.nodeSelectorLabels).length > 0) {
    nodeSelector = { ...nodeSelector, ...options.nodeSelectorLabels };
  }
  const podLevelResources = facts.hostMinorVersion !== undefined && facts.hostMinorVersion < 34 ? undefined : vSpec.resources;

  const hSpec: PodSpec = compact({
    ...passThrough,
    ...toHostPriority(tr, vSpec, options),
    containers: vSpec.containers.map((c) => toHostContainer(ctx, c)),
    initContainers,
    ephemeralContainers: vSpec.ephemeralContainers?.map((c) => toHostContainer(ctx, c)),
    volumes: hostsRewrite ? [...(volumes.volumes ?? []), hostsRewriteVolume()] : volumes.volumes,
    imagePullSecrets: vSpec.imagePullSecrets?.map((s) => (s.name ? { ...s, name: refs.add('Secret', s.name) } : s)),
    resourceClaims: options.syncResourceClaims
      ? vSpec.resourceClaims?.map((c) => compact({
        ...c,
        resourceClaimName: c.resourceClaimName ? refs.add('ResourceClaim', c.resourceClaimName) : undefined,
        resourceClaimTemplateName: c.resourceClaimTemplateName ? refs.add('ResourceClaimTemplate', c.resourceClaimTemplateName) : undefined,
      }))
      : vSpec.resourceClaims,
    serviceAccountName: hostServiceAccount(tr, vPod, options),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    dnsPolicy: dns.dnsPolicy,
    dnsConfig: dns.dnsConfig,
    hostAliases: [...(vSpec.hostAliases ?? []), kubernetesHostAlias(facts.kubeIP, options.clusterDomain)],
    hostname,
    affinity: options.virtualScheduler ? undefined : toHostAffinity(tr, vNamespace, vSpec.affinity, warnings),
    topologySpreadConstraints: options.virtualScheduler ? undefined : toHostTopologySpread(tr, vNamespace, vSpec.topologySpreadConstraints),
    nodeSelector,
    tolerations: toHostTolerations(vSpec.tolerations, options.enforceTolerations),
    runtimeClassName: options.runtimeClassName || vSpec.runtimeClassName,
    resources: podLevelResources,
  });

  const metadata: ObjectMeta = { ...hMeta, annotations };
  const hPod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata, spec: hSpec };
  return { hPod, references: refs.list(), warnings, tokenSecret: volumes.tokenSecret };
}

export interface EphemeralContainerToHostResult {
  readonly hContainer: EphemeralContainer;
  readonly references: readonly PodReference[];
  readonly warnings: readonly string[];
}

/**
 * An ephemeral container added to a running virtual pod (`kubectl debug`), as the host pod's
 * `ephemeralcontainers` subresource needs it: the same environment (service links, KUBERNETES_*,
 * translated names and downward API paths), image translation and /etc/hosts mount as the pod's
 * other containers got from podToHost.
 */
export function ephemeralContainerToHost(
  tr: Translator,
  vPod: Pod,
  vContainer: EphemeralContainer,
  facts: Pick<PodFacts, 'kubeIP' | 'services'>,
  options: PodTranslateOptions,
): EphemeralContainerToHostResult {
  const vNamespace = vPod.metadata.namespace ?? '';
  assert.ok(vNamespace !== '', `ephemeralContainerToHost: the virtual pod ${vPod.metadata.name ?? '(unnamed)'} has no namespace`);
  assert.ok(facts.kubeIP !== '', 'ephemeralContainerToHost: facts.kubeIP (the ClusterIP of the vCluster\'s host Service) is required');
  const warnings: string[] = [];
  const refs = new PodReferences(tr, vNamespace);
  const ctx: ContainerContext = {
    tr, refs, warnings,
    env: serviceLinkEnv(facts.services, vPod.spec.enableServiceLinks, facts.kubeIP),
    images: options.translateImage,
    hostsMount: rewritesHosts(vPod, options),
  };
  return { hContainer: toHostContainer(ctx, vContainer), references: refs.list(), warnings };
}
