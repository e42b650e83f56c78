// Label selectors (the string form of list and watch calls, `key=value,key=value`) that find this
// virtual cluster's objects on the host. PURE. The marker rules themselves are in labels.ts (§1.2 of
// /work/shared/reference/vcluster-networking.md); these are the queries built from them.
import { ENDPOINTSLICE_MANAGED_BY, ENDPOINTSLICE_MANAGER_VCNET, MANAGED_BY } from './keys.ts';
import type { Translator } from './names.ts';

/**
 * Every namespaced host object this virtual cluster manages, from any virtual namespace:
 * `vcluster.loft.sh/managed-by=<VC>`, the marker label of hostMarkerLabels without the namespace
 * label. The label alone does not prove an object is ours (a host controller may copy it, as the
 * endpoints controller copies a Service's labels): notManagedReason decides that.
 */
export function hostMarkerSelector(tr: Translator): string {
  return `${MANAGED_BY}=${tr.markerValue()}`;
}

/**
 * The host EndpointSlices vcnet writes for this virtual cluster (copies of user-made slices, §4):
 * the marker plus `endpointslice.kubernetes.io/managed-by=vcnet.dev`, which leaves out the slices
 * the host's EndpointSlice controllers make for host Services that carry the marker.
 */
export function hostEndpointSliceSelector(tr: Translator): string {
  return `${hostMarkerSelector(tr)},${ENDPOINTSLICE_MANAGED_BY}=${ENDPOINTSLICE_MANAGER_VCNET}`;
}
