// Pod status, host -> virtual, and the conditions that flow the other way (§2.3 of
// /work/shared/reference/vcluster-networking.md). The virtual pod shows what really runs: the
// host's phase, pod IPs, host IP and container states, with the injected parts hidden.
import type { ContainerStatus, Pod, PodCondition, PodStatus } from './pod-types.ts';

/**
 * Condition types the host kubelet and control plane own. Any other type is a custom condition
 * (typically a readiness gate) owned by whoever sets it inside the virtual cluster.
 */
const SYSTEM_CONDITIONS: ReadonlySet<string> = new Set([
  'PodScheduled', 'PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready',
  'DisruptionTarget', 'PodResizePending', 'PodResizeInProgress',
]);

export function isSystemCondition(type: string): boolean {
  return SYSTEM_CONDITIONS.has(type);
}

function onlyNamed(statuses: readonly ContainerStatus[] | undefined, names: ReadonlySet<string>): ContainerStatus[] | undefined {
  return statuses?.filter((s) => names.has(s.name));
}

function sameCondition(a: PodCondition, b: PodCondition): boolean {
  return a.status === b.status && (a.reason ?? '') === (b.reason ?? '') && (a.message ?? '') === (b.message ?? '')
    && (a.lastTransitionTime ?? null) === (b.lastTransitionTime ?? null) && (a.lastProbeTime ?? null) === (b.lastProbeTime ?? null);
}

/**
 * The virtual pod's new status, from the host pod's:
 * - everything comes from the host (phase, podIP/podIPs, hostIP, startTime, container states, ...);
 * - qosClass keeps the virtual value: the virtual API server computed it from the virtual spec, and
 *   the injected init container may change the host's;
 * - observedGeneration keeps the virtual value: the host's counts the host pod's generations, which
 *   advance independently of the virtual pod's (vCluster copies it on >= 1.34, which can claim a
 *   virtual spec change was observed when it was not);
 * - container, init-container and ephemeral-container statuses are kept only for containers of the
 *   virtual spec, hiding the /etc/hosts init container and anything a host webhook injected;
 * - system conditions come from the host; custom conditions (readiness gates) keep their virtual
 *   value, and custom conditions only the host has are left out.
 */
export function podStatusToVirtual(vPod: Pick<Pod, 'spec' | 'status'>, hPod: Pick<Pod, 'status'>): PodStatus {
  const hStatus = hPod.status ?? {};
  const vStatus = vPod.status ?? {};
  const { qosClass: _hQos, observedGeneration: _hGen, ...rest } = hStatus;
  const names = (cs: readonly { readonly name: string }[] | undefined): Set<string> => new Set((cs ?? []).map((c) => c.name));

  const out: { -readonly [K in keyof PodStatus]: PodStatus[K] } = { ...rest };
  if (vStatus.qosClass !== undefined) out.qosClass = vStatus.qosClass;
  if (vStatus.observedGeneration !== undefined) out.observedGeneration = vStatus.observedGeneration;
  if (hStatus.containerStatuses !== undefined) out.containerStatuses = onlyNamed(hStatus.containerStatuses, names(vPod.spec.containers));
  if (hStatus.initContainerStatuses !== undefined) out.initContainerStatuses = onlyNamed(hStatus.initContainerStatuses, names(vPod.spec.initContainers));
  if (hStatus.ephemeralContainerStatuses !== undefined) {
    out.ephemeralContainerStatuses = onlyNamed(hStatus.ephemeralContainerStatuses, names(vPod.spec.ephemeralContainers));
  }

  const vCustom = new Map((vStatus.conditions ?? []).filter((c) => !isSystemCondition(c.type)).map((c) => [c.type, c]));
  const conditions: PodCondition[] = [];
  for (const c of hStatus.conditions ?? []) {
    if (isSystemCondition(c.type)) conditions.push(c);
    else if (vCustom.has(c.type)) conditions.push(vCustom.get(c.type) as PodCondition);
  }
  const onHost = new Set((hStatus.conditions ?? []).map((c) => c.type));
  for (const c of vCustom.values()) if (!onHost.has(c.type)) conditions.push(c);
  if (hStatus.conditions !== undefined || conditions.length > 0) out.conditions = conditions;
  return out;
}

/**
 * The host pod's conditions with the virtual pod's custom conditions (readiness gates set inside the
 * virtual cluster) written in, so the host kubelet can count them when it computes Ready — the host
 * pod carries the same readinessGates. Returns undefined when the host already has them all; the
 * caller then skips the status write.
 */
export function podConditionsToHost(vPod: Pick<Pod, 'status'>, hPod: Pick<Pod, 'status'>): PodCondition[] | undefined {
  const hConditions = [...(hPod.status?.conditions ?? [])];
  let changed = false;
  for (const vc of vPod.status?.conditions ?? []) {
    if (isSystemCondition(vc.type)) continue;
    const i = hConditions.findIndex((hc) => hc.type === vc.type);
    if (i === -1) {
      hConditions.push(vc);
      changed = true;
    } else if (!sameCondition(hConditions[i] as PodCondition, vc)) {
      hConditions[i] = vc;
      changed = true;
    }
  }
  return changed ? hConditions : undefined;
}
