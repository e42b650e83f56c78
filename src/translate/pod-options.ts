// The configuration the pod translation depends on, with vCluster's defaults (§8 of
// /work/shared/reference/vcluster-networking.md). Mostly `sync.toHost.pods.*`, plus the few fields
// from other config sections that change the host pod. Built once at start-up with
// podTranslateOptions(), which also validates, so a bad value fails there rather than on a pod.
import { VcnetError } from '../errors.ts';
import type { ResourceRequirements, TaintEffect, Toleration } from './pod-types.ts';

export interface RewriteHostsOptions {
  /** `sync.toHost.pods.rewriteHosts.enabled`: inject the /etc/hosts FQDN init container for pods with a subdomain. */
  readonly enabled: boolean;
  readonly initContainer: {
    /** `sync.toHost.pods.rewriteHosts.initContainer.image` as one reference (registry/repository:tag). */
    readonly image: string;
    readonly resources: ResourceRequirements;
    /** vCluster runs it as the syncer's UID/GID, 1001 when the syncer runs as root. */
    readonly runAsUser: number;
    readonly runAsGroup: number;
  };
}

export interface PodTranslateOptions {
  readonly rewriteHosts: RewriteHostsOptions;
  /** `sync.toHost.pods.translateImage`: exact image reference -> replacement. */
  readonly translateImage: Readonly<Record<string, string>>;
  /** `sync.toHost.pods.enforceTolerations`: `key[=value][:Effect]` or `*`, appended to every host pod. */
  readonly enforceTolerations: readonly string[];
  /** `sync.toHost.pods.useSecretsForSATokens`: keep projected tokens in a host Secret, not in pod annotations. */
  readonly useSecretsForSATokens: boolean;
  /** `sync.toHost.pods.runtimeClassName`: forced on every host pod when non-empty. */
  readonly runtimeClassName: string;
  /** `sync.toHost.pods.priorityClassName`: used when the host pod would have no priority class. */
  readonly priorityClassName: string;
  /** `networking.advanced.clusterDomain`. */
  readonly clusterDomain: string;
  /** `controlPlane.advanced.workloadServiceAccount.name`; '' means `vc-workload-<VC>`. */
  readonly workloadServiceAccount: string;
  /** `sync.toHost.serviceAccounts.enabled`: host pods run as the translated virtual service account. */
  readonly syncServiceAccounts: boolean;
  /** `sync.toHost.priorityClasses.enabled` / `sync.fromHost.priorityClasses.enabled`. */
  readonly priorityClasses: { readonly toHost: boolean; readonly fromHost: boolean };
  /** `controlPlane.advanced.virtualScheduler.enabled`: the virtual cluster schedules, the host only runs. */
  readonly virtualScheduler: boolean;
  /** `sync.fromHost.nodes.selector.labels`: added to the nodeSelector of pods without a nodeName. */
  readonly nodeSelectorLabels: Readonly<Record<string, string>>;
  /** ResourceClaim / ResourceClaimTemplate sync is on: translate the pod's resourceClaims names. */
  readonly syncResourceClaims: boolean;
}

export const DEFAULT_POD_TRANSLATE_OPTIONS: PodTranslateOptions = Object.freeze({
  rewriteHosts: Object.freeze({
    enabled: true,
    initContainer: Object.freeze({
      image: 'mirror.gcr.io/library/alpine:3.20',
      resources: Object.freeze({
        limits: Object.freeze({ cpu: '30m', memory: '64Mi' }),
        requests: Object.freeze({ cpu: '30m', memory: '64Mi' }),
      }),
      runAsUser: 1001,
      runAsGroup: 1001,
    }),
  }),
  translateImage: Object.freeze({}),
  enforceTolerations: Object.freeze([]),
  useSecretsForSATokens: false,
  runtimeClassName: '',
  priorityClassName: '',
  clusterDomain: 'cluster.local',
  workloadServiceAccount: '',
  syncServiceAccounts: false,
  priorityClasses: Object.freeze({ toHost: false, fromHost: false }),
  virtualScheduler: false,
  nodeSelectorLabels: Object.freeze({}),
  syncResourceClaims: false,
});

export interface PodTranslateOptionsInput extends Partial<Omit<PodTranslateOptions, 'rewriteHosts'>> {
  readonly rewriteHosts?: {
    readonly enabled?: boolean;
    readonly initContainer?: Partial<RewriteHostsOptions['initContainer']>;
  };
}

/** Fills in the defaults and validates (every enforced toleration must parse). Call once at start-up. */
export function podTranslateOptions(input: PodTranslateOptionsInput = {}): PodTranslateOptions {
  const d = DEFAULT_POD_TRANSLATE_OPTIONS;
  const out: PodTranslateOptions = {
    ...d,
    ...defined(input),
    rewriteHosts: {
      enabled: input.rewriteHosts?.enabled ?? d.rewriteHosts.enabled,
      initContainer: { ...d.rewriteHosts.initContainer, ...defined(input.rewriteHosts?.initContainer ?? {}) },
    },
  };
  out.enforceTolerations.forEach((s, i) => parseToleration(s, `sync.toHost.pods.enforceTolerations[${i}]`));
  const init = out.rewriteHosts.initContainer;
  if (out.rewriteHosts.enabled && init.image === '') {
    throw new VcnetError('VCN_ERR_CONFIG_INVALID', ['sync.toHost.pods.rewriteHosts.initContainer.image: must not be empty while rewriteHosts is enabled']);
  }
  // The init container sets runAsNonRoot, so the kubelet refuses to start it as UID 0.
  for (const [field, id] of [['runAsUser', init.runAsUser], ['runAsGroup', init.runAsGroup]] as const) {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new VcnetError('VCN_ERR_CONFIG_INVALID', [`sync.toHost.pods.rewriteHosts.initContainer.${field}: must be a positive integer (the container runs as non-root), not ${id}`]);
    }
  }
  return out;
}

/** The fields that are set: an explicit `undefined` means "the default", as in YAML where the key is absent. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const EFFECTS: ReadonlySet<string> = new Set<TaintEffect>(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
// A label value (k8s.io/apimachinery validation.IsValidLabelValue), which is what a toleration value must be.
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
// A qualified label key: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
const LABEL_KEY = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Parses an enforced toleration in the `kubectl taint` notation: `key=value:Effect` (operator Equal),
 * `key:Effect` (Exists), `key=value` / `key` (every effect), or `*` (tolerate everything). vCluster
 * turns a bare `key` into operator Equal with an empty value, which only tolerates taints whose value
 * is empty; here a bare key tolerates the key with any value, which is what the notation reads as.
 * `field` names the config path in the error.
 */
export function parseToleration(spec: string, field = 'sync.toHost.pods.enforceTolerations'): Toleration {
  const fail = (why: string): never => {
    throw new VcnetError('VCN_ERR_CONFIG_INVALID', [`${field}: ${JSON.stringify(spec)} is not a toleration (${why}); ` +
      'expected key=value:Effect, key:Effect, key=value, key or *']);
  };
  if (spec === '*') return { operator: 'Exists' };
  const colon = spec.split(':');
  if (colon.length > 2) fail('more than one ":"');
  const [keyValue = '', effect = ''] = colon;
  if (colon.length === 2 && !EFFECTS.has(effect)) fail(`effect must be NoSchedule, PreferNoSchedule or NoExecute, not ${JSON.stringify(effect)}`);
  const eq = keyValue.split('=');
  if (eq.length > 2) fail('more than one "="');
  const [key = '', value] = eq;
  if (!LABEL_KEY.test(key)) fail(`${JSON.stringify(key)} is not a valid label key`);
  if (value !== undefined && !LABEL_VALUE.test(value)) fail(`${JSON.stringify(value)} is not a valid label value`);
  const effectField = effect === '' ? {} : { effect: effect as TaintEffect };
  return value === undefined
    ? { key, operator: 'Exists', ...effectField }
    : { key, operator: 'Equal', value, ...effectField };
}
