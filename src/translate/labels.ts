// Label keys, label maps and selectors, virtual <-> host (§1.2 of
// /work/shared/reference/vcluster-networking.md, as vCluster >= v0.21 does it: user keys are copied
// unchanged except four special keys, which are hashed). Label values are never changed: a value
// the host refuses is refused there, as it would be anywhere.
import {
  CONTROLLED_BY, LABEL_PREFIX, MANAGED_BY, NAMESPACE_LABEL, NS_LABEL_PREFIX, TRANSLATED_LABEL_KEYS,
} from './keys.ts';
import type { Translator } from './names.ts';
import type { LabelSelector, LabelSelectorRequirement } from './types.ts';

type Labels = Readonly<Record<string, string>>;

/**
 * Host key of a virtual label key: unchanged, unless it is `release`, `vcluster.loft.sh/namespace`,
 * `vcluster.loft.sh/managed-by` or `vcluster.loft.sh/controlled-by`, which become
 * SafeConcat("vcluster.loft.sh/label", VC, "x", sha256hex(key)[0:10]) so a tenant cannot pose as the
 * vCluster control plane (`release=<VC>`) or spoof the marker labels.
 */
export function hostLabelKey(tr: Translator, vKey: string): string {
  return tr.translatedLabelKeys.get(vKey) ?? vKey;
}

/**
 * Virtual key of a host label key, or undefined when the label is never copied back: the raw special
 * keys (on the host they are vCluster's own, not the tenant's) and every key under
 * `vcluster.loft.sh/ns-label` (recomputed from the namespace on each sync).
 */
export function virtualLabelKey(tr: Translator, hKey: string): string | undefined {
  const vKey = tr.untranslatedLabelKeys.get(hKey);
  if (vKey !== undefined) return vKey;
  if (TRANSLATED_LABEL_KEYS.includes(hKey) || hKey.startsWith(NS_LABEL_PREFIX)) return undefined;
  return hKey;
}

/** Host pod label key carrying the virtual namespace label `vNsKey`: SafeConcat("vcluster.loft.sh/ns-label", VC, "x", sha256hex(key)[0:10]). */
export function namespaceLabelKey(tr: Translator, vNsKey: string): string {
  return tr.hashedLabelKey(NS_LABEL_PREFIX, vNsKey);
}

/**
 * The key vCluster <= v0.20 used on the host for ANY virtual label key (all keys were hashed then).
 * Needed to recognise and migrate host selectors written by old versions (loft-sh/vcluster#2887).
 */
export function legacyHostLabelKey(tr: Translator, vKey: string): string {
  return tr.hashedLabelKey(LABEL_PREFIX, vKey);
}

/**
 * Host key under which a virtual label is copied to the host, or undefined when it is not copied.
 * vCluster drops virtual labels whose key already is one of the four hashed keys (it would spoof
 * them). vcnet also drops virtual keys under `vcluster.loft.sh/ns-label`: vCluster copies them on pod
 * creation, which lets a tenant pod claim namespace labels its namespace lacks and so match other
 * namespaces' namespaceSelectors.
 */
export function copyableHostLabelKey(tr: Translator, vKey: string): string | undefined {
  if (tr.untranslatedLabelKeys.has(vKey) || vKey.startsWith(NS_LABEL_PREFIX)) return undefined;
  return hostLabelKey(tr, vKey);
}

/** The marker labels of a host object: managed-by (+ namespace for namespaced objects). */
export function hostMarkerLabels(tr: Translator, vNamespace: string | undefined): Record<string, string> {
  if (vNamespace === undefined || vNamespace === '') return { [MANAGED_BY]: tr.markerValue(true) };
  return { [MANAGED_BY]: tr.markerValue(false), [NAMESPACE_LABEL]: vNamespace };
}

/** The labels of a virtual namespace as host pod labels under their ns-label keys. */
export function toHostNamespaceLabels(tr: Translator, vNamespaceLabels: Labels | undefined): Record<string, string> {
  const hLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(vNamespaceLabels ?? {})) hLabels[namespaceLabelKey(tr, k)] = v;
  return hLabels;
}

/**
 * Host labels of a virtual object: its labels with translated keys, the marker labels (§1.2), the
 * labels of its virtual namespace under ns-label keys when given (pods), and CONTROLLED_BY when the
 * current host object (`hLabels`) already carries it — vCluster keeps that label as the host has it.
 * `vNamespace` undefined or '' means a cluster-scoped object.
 */
export function toHostLabels(
  tr: Translator,
  vLabels: Labels | undefined,
  vNamespace: string | undefined,
  vNamespaceLabels?: Labels,
  hLabels?: Labels,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vLabels ?? {})) {
    const hKey = copyableHostLabelKey(tr, k);
    if (hKey !== undefined) out[hKey] = v;
  }
  Object.assign(out, hostMarkerLabels(tr, vNamespace));
  if (vNamespaceLabels !== undefined) Object.assign(out, toHostNamespaceLabels(tr, vNamespaceLabels));
  const controlledBy = hLabels?.[CONTROLLED_BY];
  if (controlledBy !== undefined && controlledBy !== '') out[CONTROLLED_BY] = controlledBy;
  return out;
}

/** Virtual labels of a host object: keys translated back, vCluster's own labels and ns-labels left out. */
export function toVirtualLabels(tr: Translator, hLabels: Labels | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(hLabels ?? {})) {
    const vKey = virtualLabelKey(tr, k);
    if (vKey !== undefined) out[vKey] = v;
  }
  return out;
}

/**
 * Host form of a map-style selector (Service spec.selector). Keys are translated; with `vNamespace`
 * the marker and namespace labels are added, confining the selector to this vCluster's pods of that
 * namespace (vCluster adds them whenever the host selector is new or already has the marker).
 * An undefined selector stays undefined: a selector-less Service must stay selector-less on the host.
 */
export function toHostSelector(
  tr: Translator,
  vSelector: Labels | undefined,
  vNamespace?: string,
): Record<string, string> | undefined {
  if (vSelector === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vSelector)) out[hostLabelKey(tr, k)] = v;
  if (vNamespace !== undefined) Object.assign(out, hostMarkerLabels(tr, vNamespace));
  return out;
}

/**
 * Virtual form of a host map-style selector (when a host-side selector edit is copied back, §3).
 * Marker, namespace and ns-label keys are implicit on the virtual side and are left out.
 */
export function toVirtualSelector(tr: Translator, hSelector: Labels | undefined): Record<string, string> | undefined {
  if (hSelector === undefined) return undefined;
  return toVirtualLabels(tr, hSelector);
}

function mapRequirement(r: LabelSelectorRequirement, key: string): LabelSelectorRequirement {
  return r.values === undefined
    ? { key, operator: r.operator }
    : { key, operator: r.operator, values: [...r.values] };
}

function mapSelectorKeys(sel: LabelSelector, mapKey: (k: string) => string): LabelSelector {
  const out: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] } = {};
  if (sel.matchLabels !== undefined) {
    out.matchLabels = {};
    for (const [k, v] of Object.entries(sel.matchLabels)) out.matchLabels[mapKey(k)] = v;
  }
  if (sel.matchExpressions !== undefined && sel.matchExpressions.length > 0) {
    out.matchExpressions = sel.matchExpressions.map((r) => mapRequirement(r, mapKey(r.key)));
  }
  return out;
}

/**
 * Host form of a metav1.LabelSelector (pod affinity, topology spread, NetworkPolicy podSelector):
 * matchLabels and matchExpressions keys are translated (operators and values unchanged); with
 * `vNamespace` the marker and namespace labels are added to matchLabels ("same namespace" semantics).
 * Undefined stays undefined, because a missing selector matches nothing and an empty one everything.
 */
export function toHostLabelSelector(
  tr: Translator,
  vSel: LabelSelector | undefined,
  vNamespace?: string,
): LabelSelector | undefined {
  if (vSel === undefined) return undefined;
  const out = mapSelectorKeys(vSel, (k) => hostLabelKey(tr, k));
  if (vNamespace === undefined) return out;
  return { ...out, matchLabels: { ...out.matchLabels, ...hostMarkerLabels(tr, vNamespace) } };
}

/**
 * Host pod-label form of a virtual namespaceSelector: every key becomes its ns-label key, so the
 * selector matches host pods whose virtual namespace carries those labels. Merge the result into the
 * pod selector with mergeLabelSelectors (a host namespace cannot select other host namespaces).
 * `kubernetes.io/metadata.name` works too: the API server sets it on every namespace.
 */
export function toHostNamespaceSelector(tr: Translator, vNsSel: LabelSelector | undefined): LabelSelector | undefined {
  if (vNsSel === undefined) return undefined;
  return mapSelectorKeys(vNsSel, (k) => namespaceLabelKey(tr, k));
}

/** ANDs selectors: matchLabels merged (later wins on equal keys), matchExpressions concatenated. */
export function mergeLabelSelectors(...sels: ReadonlyArray<LabelSelector | undefined>): LabelSelector {
  let matchLabels: Record<string, string> | undefined;
  let matchExpressions: LabelSelectorRequirement[] | undefined;
  for (const sel of sels) {
    if (sel === undefined) continue;
    if (sel.matchLabels !== undefined && Object.keys(sel.matchLabels).length > 0) {
      matchLabels = { ...matchLabels, ...sel.matchLabels };
    }
    if (sel.matchExpressions !== undefined && sel.matchExpressions.length > 0) {
      matchExpressions = [...(matchExpressions ?? []), ...sel.matchExpressions];
    }
  }
  return {
    ...(matchLabels === undefined ? {} : { matchLabels }),
    ...(matchExpressions === undefined ? {} : { matchExpressions }),
  };
}

/**
 * A string as Go's encoding/json marshals it: like JSON.stringify, plus the HTML-safe escapes of
 * `<`, `>`, `&` and the escapes of U+2028 and U+2029, which Go always applies.
 */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Value of the host pod annotation `vcluster.loft.sh/labels` (target of the `metadata.labels`
 * downward API rewrite): one line `key="json-escaped value"` per virtual label, the LINES sorted
 * bytewise as vCluster sorts them (so `a.b=…` comes before `a=…`), joined by "\n".
 */
export function labelsAnnotationValue(vLabels: Labels | undefined): string {
  const lines = Object.entries(vLabels ?? {}).map(([k, v]) => `${k}=${goJsonString(v)}`);
  return lines.sort(compareBytes).join('\n');
}

/** Go's sort.Strings order (bytewise); for ASCII it equals UTF-16 code-unit order. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
