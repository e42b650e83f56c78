// Changes of an existing virtual pod, applied to its host twin (§2.3 of
// /work/shared/reference/vcluster-networking.md). A pod's spec is mostly immutable; what the API
// server lets a client change after creation is what is copied: container and init-container
// images, activeDeadlineSeconds, the removal of scheduling gates, added tolerations, and labels and
// annotations (merged key by key, §1.4). Ephemeral containers arrive through their own subresource
// (ephemeralContainerToHost in pod.ts). PURE: the current host pod in, the desired host pod out.
import { POD_LABELS } from './keys.ts';
import { labelsAnnotationValue } from './labels.ts';
import { mergeLabelsBidirectional, mergeManagedAnnotations } from './meta.ts';
import type { Translator } from './names.ts';
import { POD_OWNED_ANNOTATIONS, isPodOwnedAnnotation } from './pod.ts';
import type { PodTranslateOptions } from './pod-options.ts';
import { toHostTolerations } from './pod-scheduling.ts';
import { sameJSON } from './json.ts';
import type { Container, Pod, PodSpec, Toleration } from './pod-types.ts';


/** Host containers with the images of the virtual containers of the same name (translateImage applied). */
function withImages<C extends Container>(hContainers: readonly C[] | undefined, vContainers: readonly Container[] | undefined, images: Readonly<Record<string, string>>): C[] | undefined {
  if (hContainers === undefined) return undefined;
  const byName = new Map((vContainers ?? []).map((c) => [c.name, c]));
  return hContainers.map((h) => {
    const v = byName.get(h.name);
    if (v?.image === undefined) return h; // an injected container (the /etc/hosts one): not the user's
    const image = images[v.image] ?? v.image;
    return h.image === image ? h : { ...h, image };
  });
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal')
    && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '') && a.tolerationSeconds === b.tolerationSeconds;
}

/**
 * The host pod after the virtual change `vOld -> vNew`, or undefined when the host pod already
 * matches. `vOld` undefined means "no known previous state" (a resync): labels and annotations are
 * then made equal to the virtual ones instead of merged. The host keeps its own tolerations (the
 * API server only allows adding them) and scheduling gates only go away (the API server refuses
 * new ones).
 */
export function podUpdateToHost(
  tr: Translator,
  vOld: Pod | undefined,
  vNew: Pod,
  hPod: Pod,
  options: Pick<PodTranslateOptions, 'translateImage' | 'enforceTolerations'>,
  vNamespaceLabels: Readonly<Record<string, string>>,
): Pod | undefined {
  const hMeta = hPod.metadata;
  const labels = mergeLabelsBidirectional(tr, {
    vOld: vOld === undefined ? hostSideLabels(tr, hPod) : vOld.metadata.labels,
    vNew: vNew.metadata.labels,
    hOld: hMeta.labels,
    hNew: hMeta.labels,
    vNamespace: vNew.metadata.namespace,
    vNamespaceLabels,
  }).toHost;
  const userAnnotations = Object.fromEntries(Object.entries(vNew.metadata.annotations ?? {}).filter(([k]) => !isPodOwnedAnnotation(k)));
  const annotations = mergeManagedAnnotations(userAnnotations, hMeta.annotations, POD_OWNED_ANNOTATIONS);
  annotations[POD_LABELS] = labelsAnnotationValue(vNew.metadata.labels);

  const hSpec = hPod.spec;
  const vSpec = vNew.spec;
  const tolerations = [...hSpec.tolerations ?? []];
  for (const t of toHostTolerations(vSpec.tolerations, options.enforceTolerations) ?? []) {
    if (!tolerations.some((h) => sameToleration(h, t))) tolerations.push(t);
  }
  type Gate = { readonly name: string };
  const vGates = new Set(((vSpec['schedulingGates'] ?? []) as readonly Gate[]).map((g) => g.name));
  const schedulingGates = (hSpec['schedulingGates'] as readonly Gate[] | undefined)?.filter((g) => vGates.has(g.name));

  const spec: PodSpec = {
    ...hSpec,
    containers: withImages(hSpec.containers, vSpec.containers, options.translateImage) ?? [],
    ...(hSpec.initContainers === undefined ? {} : { initContainers: withImages(hSpec.initContainers, vSpec.initContainers, options.translateImage) }),
    ...(tolerations.length === 0 ? {} : { tolerations }),
    ...(schedulingGates === undefined || schedulingGates.length === 0 ? { schedulingGates: undefined } : { schedulingGates }),
    activeDeadlineSeconds: vSpec.activeDeadlineSeconds,
  };
  const cleaned = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as unknown as PodSpec;
  const next: Pod = { ...hPod, metadata: { ...hMeta, labels, annotations }, spec: cleaned };
  if (sameJSON(next.metadata.labels, hMeta.labels) && sameJSON(next.metadata.annotations, hMeta.annotations) && sameJSON(cleaned, hSpec)) return undefined;
  return next;
}

/** The virtual labels a host pod was created from, as recorded in its labels annotation (for a resync without vOld). */
function hostSideLabels(_tr: Translator, hPod: Pod): Record<string, string> | undefined {
  const recorded = hPod.metadata.annotations?.[POD_LABELS];
  if (recorded === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const line of recorded.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[line.slice(0, eq)] = JSON.parse(line.slice(eq + 1)) as string;
    } catch {
      return undefined;
    }
  }
  return out;
}
