// Object metadata, virtual <-> host: the host ObjectMeta of a virtual object, the annotations vcnet
// owns (§1.3 of /work/shared/reference/vcluster-networking.md), the "is this host object ours?"
// check, the trusted host -> virtual reference, and the merge rules for later syncs (§1.3 managed
// annotations, §1.4 bidirectional key-by-key merge).
import {
  MANAGED_ANNOTATIONS, MANAGED_BY, NS_LABEL_PREFIX, OBJECT_ANNOTATIONS, OBJECT_HOST_NAME, OBJECT_HOST_NAMESPACE,
  OBJECT_KIND, OBJECT_NAME, OBJECT_NAMESPACE, OBJECT_UID,
} from './keys.ts';
import {
  compareBytes, copyableHostLabelKey, hostMarkerLabels, toHostLabels, toHostNamespaceLabels, virtualLabelKey,
} from './labels.ts';
import { isKubernetesService, type Translator } from './names.ts';
import type { NamespacedName, ObjectMeta, OwnerReference, TypeMeta } from './types.ts';

type StringMap = Readonly<Record<string, string>>;

/** apiVersion and kind of the objects vcnet translates. */
export const KINDS = Object.freeze({
  Pod: { apiVersion: 'v1', kind: 'Pod' },
  Service: { apiVersion: 'v1', kind: 'Service' },
  Endpoints: { apiVersion: 'v1', kind: 'Endpoints' },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap' },
  Secret: { apiVersion: 'v1', kind: 'Secret' },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount' },
  PersistentVolumeClaim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  Ingress: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  IngressClass: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass' },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
} satisfies Record<string, TypeMeta>);

/** Kinds for which `default/kubernetes` stands for the vCluster's own host Service (§1.1). */
const SERVICE_LIKE = new Set(['/v1, Kind=Service', '/v1, Kind=Endpoints', 'discovery.k8s.io/v1, Kind=EndpointSlice']);

/**
 * Go's schema.GroupVersionKind.String(): `group/version, Kind=kind`, with an empty group for the
 * core API — `/v1, Kind=Pod`, `networking.k8s.io/v1, Kind=Ingress`. This is the value of the
 * `vcluster.loft.sh/object-kind` annotation.
 */
export function gvkString(apiVersion: string, kind: string): string {
  const parts = apiVersion.split('/');
  if (apiVersion === '' || parts.length > 2 || parts.some((p) => p === '') || kind === '') {
    throw new Error(`invalid apiVersion ${JSON.stringify(apiVersion)} or kind ${JSON.stringify(kind)}: ` +
      'expected "version" or "group/version" and a non-empty kind');
  }
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  return `${group}/${version}, Kind=${kind}`;
}

/** Host name of a virtual object, refusing what must never get a host twin of its own. */
function hostNameOf(tr: Translator, vMeta: ObjectMeta, kind: TypeMeta): string {
  const vName = vMeta.name ?? '';
  const vNamespace = vMeta.namespace ?? '';
  if (vName === '') {
    const hint = vMeta.generateName ? ` (generateName "${vMeta.generateName}" is resolved by the API server: translate the object it stored)` : '';
    throw new Error(`cannot translate a ${kind.kind} without metadata.name to the host${hint}`);
  }
  if (vNamespace === '') return tr.hostClusterScopedName(vName);
  if (isKubernetesService(vName, vNamespace) && SERVICE_LIKE.has(gvkString(kind.apiVersion, kind.kind))) {
    throw new Error(`the ${kind.kind} default/kubernetes is not synced to the host: it stands for the vCluster's ` +
      `own host Service ${tr.hostNamespace}/${tr.vcluster} (see Translator.hostServiceName)`);
  }
  return tr.hostName(vName, vNamespace);
}

/**
 * The annotations vcnet writes on every synced host object: object-name, object-namespace
 * (namespaced only), object-uid (empty until the API server assigned one), object-kind, and the
 * host's own name and namespace as a consistency check.
 */
export function objectAnnotations(tr: Translator, vMeta: ObjectMeta, kind: TypeMeta): Record<string, string> {
  const hName = hostNameOf(tr, vMeta, kind);
  const out: Record<string, string> = {
    [OBJECT_NAME]: vMeta.name ?? '',
    [OBJECT_UID]: vMeta.uid ?? '',
    [OBJECT_KIND]: gvkString(kind.apiVersion, kind.kind),
    [OBJECT_HOST_NAME]: hName,
  };
  if ((vMeta.namespace ?? '') !== '') {
    out[OBJECT_NAMESPACE] = vMeta.namespace as string;
    out[OBJECT_HOST_NAMESPACE] = tr.hostNamespace;
  }
  return out;
}

/**
 * §1.3 managed annotations: the host annotations that result from applying the virtual annotations
 * to the current host annotations (`hAnnotations`, undefined on create).
 * - Every virtual annotation is copied, except vcnet's own keys and `excludeAnnotations`.
 * - Host annotations listed in the host's `vcluster.loft.sh/managed-annotations` but no longer on the
 *   virtual object are removed; any other host annotation (added by a host controller) is kept.
 * - vcnet's own keys and `excludeAnnotations` keep the host's value when it is non-empty.
 * - `vcluster.loft.sh/managed-annotations` becomes the sorted, newline-joined list of the copied keys,
 *   and is absent when nothing was copied.
 */
export function mergeManagedAnnotations(
  vAnnotations: StringMap | undefined,
  hAnnotations: StringMap | undefined,
  excludeAnnotations: readonly string[] = [],
): Record<string, string> {
  const excluded = new Set([...OBJECT_ANNOTATIONS, ...excludeAnnotations]);
  const out: Record<string, string> = {};
  const copied = new Set<string>();
  for (const [k, v] of Object.entries(vAnnotations ?? {})) {
    if (excluded.has(k)) continue;
    out[k] = v;
    copied.add(k);
  }
  const previouslyCopied = new Set((hAnnotations?.[MANAGED_ANNOTATIONS] ?? '').split('\n'));
  for (const [k, v] of Object.entries(hAnnotations ?? {})) {
    if (excluded.has(k)) {
      if (v !== '') out[k] = v;
    } else if (!copied.has(k) && !previouslyCopied.has(k)) {
      out[k] = v;
    }
  }
  if (copied.size > 0) out[MANAGED_ANNOTATIONS] = [...copied].sort(compareBytes).join('\n');
  else delete out[MANAGED_ANNOTATIONS];
  return out;
}

/** Host annotations of a virtual object: mergeManagedAnnotations, then vcnet's object annotations. */
export function toHostAnnotations(
  tr: Translator,
  vMeta: ObjectMeta,
  kind: TypeMeta,
  hAnnotations?: StringMap,
  excludeAnnotations?: readonly string[],
): Record<string, string> {
  const out = mergeManagedAnnotations(vMeta.annotations, hAnnotations, excludeAnnotations);
  if ((vMeta.namespace ?? '') === '') {
    delete out[OBJECT_NAMESPACE];
    delete out[OBJECT_HOST_NAMESPACE];
  }
  return Object.assign(out, objectAnnotations(tr, vMeta, kind));
}

/** Virtual annotations of a host object: all but vcnet's own keys and `excludeAnnotations`. */
export function toVirtualAnnotations(hAnnotations: StringMap | undefined, excludeAnnotations: readonly string[] = []): Record<string, string> {
  const excluded = new Set([...OBJECT_ANNOTATIONS, ...excludeAnnotations]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(hAnnotations ?? {})) if (!excluded.has(k)) out[k] = v;
  return out;
}

export interface ToHostObjectMetaOptions {
  /** Labels of the virtual namespace, added under ns-label keys (pods, §1.2). */
  readonly vNamespaceLabels?: StringMap;
  /**
   * Metadata of the current host object, when one exists: its controlled-by label is kept and its
   * annotations are merged by the managed-annotations rule (host-added annotations survive).
   */
  readonly hMeta?: ObjectMeta;
  /**
   * The vCluster's own host Service (`experimental.syncSettings.setOwner`, default on): namespaced
   * host objects get an ownerReference to it, so deleting that Service garbage-collects them all.
   */
  readonly owner?: TypeMeta & { readonly name: string; readonly uid: string };
  /** Annotation keys not copied from the virtual object; the host keeps its own value for them. */
  readonly excludeAnnotations?: readonly string[];
}

/**
 * Host ObjectMeta of a virtual object: translated name, namespace = HNS (none for cluster-scoped
 * objects), host labels, host annotations, and the owner reference when `opts.owner` is given.
 * Everything else is reset (§1.3): generateName, uid, resourceVersion, generation, timestamps,
 * deletionGracePeriodSeconds, finalizers, managedFields, selfLink and the virtual ownerReferences
 * (pods keep those in `vcluster.loft.sh/owner-references`) never reach the host.
 * Throws for an object without a name, and for `default/kubernetes` Services, Endpoints and
 * EndpointSlices, which have no host twin of their own.
 */
export function toHostObjectMeta(tr: Translator, vMeta: ObjectMeta, kind: TypeMeta, opts: ToHostObjectMetaOptions = {}): ObjectMeta {
  const name = hostNameOf(tr, vMeta, kind);
  const namespaced = (vMeta.namespace ?? '') !== '';
  const meta: {
    name: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string>;
    ownerReferences?: OwnerReference[];
  } = {
    name,
    ...(namespaced ? { namespace: tr.hostNamespace } : {}),
    labels: toHostLabels(tr, vMeta.labels, vMeta.namespace, opts.vNamespaceLabels, opts.hMeta?.labels),
    annotations: toHostAnnotations(tr, vMeta, kind, opts.hMeta?.annotations, opts.excludeAnnotations),
  };
  if (namespaced && opts.owner !== undefined) {
    const { apiVersion, kind: ownerKind, name: ownerName, uid } = opts.owner;
    // As vCluster does: `controller` tells whether the virtual object has a controller of its own.
    const controller = (vMeta.ownerReferences ?? []).some((r) => r.controller === true);
    meta.ownerReferences = [{ apiVersion, kind: ownerKind, name: ownerName, uid, controller }];
  }
  return meta;
}

/**
 * Why a host object is NOT one vcnet synced for this vCluster (§1.3), or undefined when it is. All of
 * these must hold: it is in HNS (namespaced objects); its managed-by label is this vCluster's marker;
 * object-name (and object-namespace for namespaced objects) is present and re-translates to its name;
 * object-kind, object-host-name and object-host-namespace, where present, match. Note that the
 * vCluster's own Service `HNS/VC` is never ours, although `default/kubernetes` stands for it.
 */
export function notManagedReason(tr: Translator, hMeta: ObjectMeta, kind: TypeMeta): string | undefined {
  const labels = hMeta.labels ?? {};
  const ann = hMeta.annotations ?? {};
  const hName = hMeta.name ?? '';
  const hNamespace = hMeta.namespace ?? '';
  const namespaced = hNamespace !== '';
  if (namespaced && hNamespace !== tr.hostNamespace) {
    return `it is in namespace "${hNamespace}", not in the host namespace "${tr.hostNamespace}"`;
  }
  const marker = tr.markerValue(!namespaced);
  if (labels[MANAGED_BY] !== marker) {
    return `its ${MANAGED_BY} label is ${JSON.stringify(labels[MANAGED_BY] ?? null)}, not "${marker}"`;
  }
  const vName = ann[OBJECT_NAME] ?? '';
  if (vName === '') return `it has no ${OBJECT_NAME} annotation`;
  const vNamespace = ann[OBJECT_NAMESPACE] ?? '';
  if (namespaced && vNamespace === '') return `it has no ${OBJECT_NAMESPACE} annotation`;
  const expected = namespaced ? tr.hostName(vName, vNamespace) : tr.hostClusterScopedName(vName);
  if (expected !== hName) {
    const from = namespaced ? `${vNamespace}/${vName}` : vName;
    return `its virtual object ${from} translates to "${expected}", not to its name "${hName}"`;
  }
  const gvk = gvkString(kind.apiVersion, kind.kind);
  const kindAnn = ann[OBJECT_KIND] ?? '';
  if (kindAnn !== '' && kindAnn !== gvk) return `its ${OBJECT_KIND} annotation is "${kindAnn}", not "${gvk}"`;
  const hostNameAnn = ann[OBJECT_HOST_NAME] ?? '';
  if (hostNameAnn !== '' && hostNameAnn !== hName) return `its ${OBJECT_HOST_NAME} annotation is "${hostNameAnn}", not "${hName}"`;
  const hostNsAnn = ann[OBJECT_HOST_NAMESPACE] ?? '';
  if (hostNsAnn !== '' && hostNsAnn !== hNamespace) {
    return `its ${OBJECT_HOST_NAMESPACE} annotation is "${hostNsAnn}", not "${hNamespace}"`;
  }
  return undefined;
}

/** "Is this host object ours?" (§1.3): see notManagedReason for the conditions. */
export function isManagedBy(tr: Translator, hMeta: ObjectMeta, kind: TypeMeta): boolean {
  return notManagedReason(tr, hMeta, kind) === undefined;
}

/**
 * The virtual object a host object was synced from, read from its annotations (§1.1, host -> virtual
 * resolution step 1), or undefined when they cannot be trusted: the marker label must be this
 * vCluster's (and a namespaced object must be in HNS), object-kind must equal `kind`, and
 * object-host-name / object-host-namespace must equal the object's actual name and namespace.
 * `namespace` is '' for cluster-scoped objects.
 */
export function virtualRefOf(tr: Translator, hMeta: ObjectMeta, kind: TypeMeta): NamespacedName | undefined {
  const labels = hMeta.labels ?? {};
  const ann = hMeta.annotations ?? {};
  const hNamespace = hMeta.namespace ?? '';
  const namespaced = hNamespace !== '';
  if (namespaced && hNamespace !== tr.hostNamespace) return undefined;
  if (labels[MANAGED_BY] !== tr.markerValue(!namespaced)) return undefined;
  if (ann[OBJECT_KIND] !== gvkString(kind.apiVersion, kind.kind)) return undefined;
  if (!hMeta.name || ann[OBJECT_HOST_NAME] !== hMeta.name) return undefined;
  if (namespaced && ann[OBJECT_HOST_NAMESPACE] !== hNamespace) return undefined;
  const name = ann[OBJECT_NAME] ?? '';
  const namespace = namespaced ? ann[OBJECT_NAMESPACE] ?? '' : '';
  if (name === '' || (namespaced && namespace === '')) return undefined;
  return { name, namespace };
}

/** Maps a key when a change is copied to the other side; undefined = the change is not copied. */
export type KeyMap = (key: string) => string | undefined;

export interface MergeResult {
  readonly toHost: Record<string, string>;
  readonly toVirtual: Record<string, string>;
}

function sameMap(a: StringMap | undefined, b: StringMap | undefined): boolean {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((k) => Object.hasOwn(b ?? {}, k) && (b ?? {})[k] === (a ?? {})[k]);
}

/** Applies the key-by-key change from `before` to `after` onto a copy of `target`. */
function applyChange(before: StringMap | undefined, after: StringMap | undefined, target: StringMap | undefined, mapKey: KeyMap): Record<string, string> {
  const out: Record<string, string> = { ...target };
  const b = before ?? {};
  const a = after ?? {};
  for (const k of Object.keys(b)) {
    if (Object.hasOwn(a, k)) continue;
    const key = mapKey(k);
    if (key !== undefined) delete out[key];
  }
  for (const [k, v] of Object.entries(a)) {
    if (Object.hasOwn(b, k) && b[k] === v) continue;
    const key = mapKey(k);
    if (key !== undefined) out[key] = v;
  }
  return out;
}

/**
 * §1.4, key by key: if the virtual map changed (vOld -> vNew), that change is applied to the host
 * map; otherwise, if the host map changed (hOld -> hNew), that change is applied to the virtual map.
 * A missing map equals an empty one. Keys pass through `toHostKey` / `toVirtualKey` (identity by
 * default); a key they map to undefined is not copied.
 */
export function mergeBidirectional(
  vOld: StringMap | undefined,
  vNew: StringMap | undefined,
  hOld: StringMap | undefined,
  hNew: StringMap | undefined,
  opts: { readonly toHostKey?: KeyMap; readonly toVirtualKey?: KeyMap } = {},
): MergeResult {
  const identity: KeyMap = (k) => k;
  if (!sameMap(vOld, vNew)) {
    return { toHost: applyChange(vOld, vNew, hNew, opts.toHostKey ?? identity), toVirtual: { ...vNew } };
  }
  if (!sameMap(hOld, hNew)) {
    return { toHost: { ...hNew }, toVirtual: applyChange(hOld, hNew, vNew, opts.toVirtualKey ?? identity) };
  }
  return { toHost: { ...hNew }, toVirtual: { ...vNew } };
}

export interface LabelMergeInput {
  readonly vOld: StringMap | undefined;
  readonly vNew: StringMap | undefined;
  readonly hOld: StringMap | undefined;
  readonly hNew: StringMap | undefined;
  /** Virtual namespace of the object ('' or undefined: cluster-scoped). */
  readonly vNamespace: string | undefined;
  /** When given (pods), all ns-labels on the host are recomputed from these namespace labels. */
  readonly vNamespaceLabels?: StringMap;
}

/**
 * Labels merged both ways (§1.4) with keys translated (§1.2). The host result always carries the
 * marker labels again, so a host-side edit cannot detach the object from vcnet; with
 * `vNamespaceLabels` the ns-labels are recomputed, as vCluster does on every pod sync.
 */
export function mergeLabelsBidirectional(tr: Translator, m: LabelMergeInput): MergeResult {
  const merged = mergeBidirectional(m.vOld, m.vNew, m.hOld, m.hNew, {
    toHostKey: (k) => copyableHostLabelKey(tr, k),
    toVirtualKey: (k) => virtualLabelKey(tr, k),
  });
  const toHost = merged.toHost;
  if (m.vNamespaceLabels !== undefined) {
    for (const k of Object.keys(toHost)) if (k.startsWith(NS_LABEL_PREFIX)) delete toHost[k];
    Object.assign(toHost, toHostNamespaceLabels(tr, m.vNamespaceLabels));
  }
  Object.assign(toHost, hostMarkerLabels(tr, m.vNamespace));
  return { toHost, toVirtual: merged.toVirtual };
}

/**
 * Annotations merged both ways (§1.4). vcnet's own keys and `excludeAnnotations` are never copied
 * in either direction; re-apply objectAnnotations(...) to `toHost` afterwards.
 */
export function mergeAnnotationsBidirectional(
  vOld: StringMap | undefined,
  vNew: StringMap | undefined,
  hOld: StringMap | undefined,
  hNew: StringMap | undefined,
  excludeAnnotations: readonly string[] = [],
): MergeResult {
  const excluded = new Set([...OBJECT_ANNOTATIONS, ...excludeAnnotations]);
  const keep: KeyMap = (k) => (excluded.has(k) ? undefined : k);
  return mergeBidirectional(vOld, vNew, hOld, hNew, { toHostKey: keep, toVirtualKey: keep });
}
