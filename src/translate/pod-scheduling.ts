// Scheduling fields of a host pod (§2.1 "Fields forced or stripped" of
// /work/shared/reference/vcluster-networking.md). All virtual pods share one host namespace, so
// every pod selector is confined to this vCluster (marker label) and to the virtual namespace(s) it
// meant (namespace label, or ns-labels for namespaceSelectors).
import { MANAGED_BY, NAMESPACE_LABEL } from './keys.ts';
import { hostLabelKey, mergeLabelSelectors, toHostLabelSelector, toHostNamespaceSelector } from './labels.ts';
import type { Translator } from './names.ts';
import type { PodTranslateOptions } from './pod-options.ts';
import { parseToleration } from './pod-options.ts';
import type {
  Affinity, PodAffinity, PodAffinityTerm, PodSpec, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
} from './pod-types.ts';
import type { LabelSelector } from './types.ts';

/** Highest priority a host pod may get from a synced priority class; above are system-reserved values. */
export const MAX_SYNCED_PRIORITY = 1_000_000_000;

function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return sel !== undefined && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/**
 * Host form of one pod (anti-)affinity term. Kubernetes reads the term's namespaces as: `namespaces`
 * and/or `namespaceSelector` (their union), all namespaces for an empty namespaceSelector, and the
 * pod's own namespace when both are absent. A term without labelSelector matches no pod and is only
 * key-translated, as vCluster does.
 * matchLabelKeys / mismatchLabelKeys are not carried over: the virtual API server already merged them
 * into labelSelector when it admitted the pod (KEP-3633), and the host would merge them a second time.
 */
function toHostAffinityTerm(tr: Translator, vNamespace: string, term: PodAffinityTerm, warnings: string[]): PodAffinityTerm {
  const labelSelector = toHostLabelSelector(tr, term.labelSelector);
  const hTerm = { topologyKey: term.topologyKey };
  if (labelSelector === undefined) return hTerm;

  let namespaceSel: LabelSelector | undefined;
  const namespaces = term.namespaces ?? [];
  if (namespaces.length > 0) {
    if (term.namespaceSelector !== undefined && !isEmptySelector(term.namespaceSelector)) {
      // A union of two selectors cannot be written as one label selector (requirements are ANDed).
      warnings.push('spec.affinity: a pod affinity term that uses both namespaces and namespaceSelector is not supported; ' +
        `its namespaceSelector is ignored and only the namespaces ${namespaces.join(', ')} are matched`);
    }
    if (!isEmptySelector(term.namespaceSelector)) {
      namespaceSel = { matchExpressions: [{ key: NAMESPACE_LABEL, operator: 'In', values: [...namespaces] }] };
    }
  } else if (term.namespaceSelector !== undefined) {
    namespaceSel = toHostNamespaceSelector(tr, term.namespaceSelector);
  } else {
    namespaceSel = { matchLabels: { [NAMESPACE_LABEL]: vNamespace } };
  }
  return {
    ...hTerm,
    labelSelector: mergeLabelSelectors(labelSelector, namespaceSel, { matchLabels: { [MANAGED_BY]: tr.vcluster } }),
  };
}

function toHostPodAffinity(tr: Translator, vNamespace: string, a: PodAffinity | undefined, warnings: string[]): PodAffinity | undefined {
  if (a === undefined) return undefined;
  const out: { -readonly [K in keyof PodAffinity]: PodAffinity[K] } = { ...a };
  if (a.requiredDuringSchedulingIgnoredDuringExecution !== undefined) {
    out.requiredDuringSchedulingIgnoredDuringExecution = a.requiredDuringSchedulingIgnoredDuringExecution
      .map((t) => toHostAffinityTerm(tr, vNamespace, t, warnings));
  }
  if (a.preferredDuringSchedulingIgnoredDuringExecution !== undefined) {
    out.preferredDuringSchedulingIgnoredDuringExecution = a.preferredDuringSchedulingIgnoredDuringExecution
      .map((w): WeightedPodAffinityTerm => ({ ...w, podAffinityTerm: toHostAffinityTerm(tr, vNamespace, w.podAffinityTerm, warnings) }));
  }
  return out;
}

/** Host affinity: node affinity unchanged (host and virtual node names and labels are the same), pod terms translated. */
export function toHostAffinity(tr: Translator, vNamespace: string, a: Affinity | undefined, warnings: string[]): Affinity | undefined {
  if (a === undefined) return undefined;
  const out: { -readonly [K in keyof Affinity]: Affinity[K] } = { ...a };
  if (a.podAffinity !== undefined) out.podAffinity = toHostPodAffinity(tr, vNamespace, a.podAffinity, warnings);
  if (a.podAntiAffinity !== undefined) out.podAntiAffinity = toHostPodAffinity(tr, vNamespace, a.podAntiAffinity, warnings);
  return out;
}

/**
 * Host topology spread constraints: the selector is key-translated and confined to the pod's virtual
 * namespace and this vCluster (Kubernetes counts only pods of the pod's own namespace); matchLabelKeys
 * are label keys of the pod itself, so they are key-translated too.
 */
export function toHostTopologySpread(
  tr: Translator,
  vNamespace: string,
  constraints: readonly TopologySpreadConstraint[] | undefined,
): TopologySpreadConstraint[] | undefined {
  return constraints?.map((c) => {
    const out: { -readonly [K in keyof TopologySpreadConstraint]: TopologySpreadConstraint[K] } = { ...c };
    if (c.labelSelector !== undefined) out.labelSelector = toHostLabelSelector(tr, c.labelSelector, vNamespace);
    if (c.matchLabelKeys !== undefined) out.matchLabelKeys = c.matchLabelKeys.map((k) => hostLabelKey(tr, k));
    return out;
  });
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal')
    && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '')
    && a.tolerationSeconds === b.tolerationSeconds;
}

/** The virtual tolerations plus the enforced ones (`sync.toHost.pods.enforceTolerations`) not already present. */
export function toHostTolerations(vTolerations: readonly Toleration[] | undefined, enforce: readonly string[]): Toleration[] | undefined {
  if (enforce.length === 0) return vTolerations === undefined ? undefined : [...vTolerations];
  const out = [...(vTolerations ?? [])];
  enforce.forEach((s, i) => {
    const t = parseToleration(s, `sync.toHost.pods.enforceTolerations[${i}]`);
    if (!out.some((o) => sameToleration(o, t))) out.push(t);
  });
  return out;
}

type PriorityFields = Pick<PodSpec, 'priorityClassName' | 'priority' | 'preemptionPolicy'>;

/**
 * Priority of the host pod:
 * - with priority classes synced to the host, the class name is translated like any cluster-scoped
 *   object and the priority capped at 1e9 (the synced class is capped the same way);
 * - with classes imported from the host, names and values are the host's already;
 * - otherwise the virtual class means nothing on the host and is dropped, and
 *   `sync.toHost.pods.priorityClassName` (if set) fills the empty field.
 * Whenever the class changes, priority and preemptionPolicy are dropped too: the host's Priority
 * admission plugin computes them from the host class and refuses a pod whose values differ.
 */
export function toHostPriority(tr: Translator, vSpec: PriorityFields, options: Pick<PodTranslateOptions, 'priorityClasses' | 'priorityClassName'>): PriorityFields {
  const vClass = vSpec.priorityClassName ?? '';
  const keep = (): PriorityFields => ({
    ...(vSpec.priorityClassName === undefined ? {} : { priorityClassName: vSpec.priorityClassName }),
    ...(vSpec.priority === undefined ? {} : { priority: vSpec.priority }),
    ...(vSpec.preemptionPolicy === undefined ? {} : { preemptionPolicy: vSpec.preemptionPolicy }),
  });
  if (vClass !== '' && options.priorityClasses.toHost) {
    return {
      ...keep(),
      priorityClassName: tr.hostClusterScopedName(vClass),
      ...(vSpec.priority === undefined ? {} : { priority: Math.min(vSpec.priority, MAX_SYNCED_PRIORITY) }),
    };
  }
  if (vClass !== '' && options.priorityClasses.fromHost) return keep();
  if (options.priorityClassName !== '') return { priorityClassName: options.priorityClassName };
  return {};
}
