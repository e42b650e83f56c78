// translate/: PURE virtual <-> host functions — no I/O, no clients, no clocks, no randomness, and no
// imports from the rest of src/. Callers gather the facts (namespace labels, service IPs, the
// current host object) and pass them in. Every rule of the mapping lives here once; section
// numbers refer to /work/shared/reference/vcluster-networking.md.
//
// Which file does what:
//   types.ts   minimal wire types (ObjectMeta, OwnerReference, LabelSelector, ...) as JSON, readonly.
//   keys.ts    every vcnet/vCluster label and annotation key as a named constant.
//   names.ts   safeConcatName and the Translator (built once from config, passed down): host names
//              of namespaced and cluster-scoped objects, the marker value, `default/kubernetes` (§1.1).
//   labels.ts  label keys both ways, host/virtual label maps, namespace labels, Service and
//              LabelSelector translation, the `vcluster.loft.sh/labels` pod annotation (§1.2).
//   selectors.ts the label selectors that list and watch this vCluster's host objects (§1.2).
//   messages.ts host Status messages and details in virtual words (host refusals).
//   meta.ts    host ObjectMeta of a virtual object, object-* and managed annotations, "is this host
//              object ours?", the trusted host -> virtual reference, the bidirectional merge (§1.3, §1.4).
//   pod.ts     the pod translation (§2); its parts (env, DNS, hosts, references, options, wire
//              types) live in pod-*.ts.
//   service.ts Services (§3): host spec and update body, host allocations back, spec and metadata
//              drift, status back, the virtual `default/kubernetes` (§3.3).
//   endpoints.ts Endpoints and EndpointSlices of selector-less Services (§4), default/kubernetes endpoints (§3.3).
//   service-cidr.ts the virtual ServiceCIDRs covering host service ranges: names, vcnet's label (§3.1, §10 item 6).
export * from './keys.ts';
export * from './names.ts';
export * from './labels.ts';
export * from './selectors.ts';
export * from './meta.ts';
export type * from './types.ts';
export * from './pod.ts';
export * from './messages.ts';
export * from './pod-update.ts';
export * from './event.ts';
export * from './node.ts';
export * from './service.ts';
export * from './endpoints.ts';
export * from './service-cidr.ts';
