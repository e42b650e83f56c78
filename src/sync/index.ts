// The sync engine and the reconcilers: the only code that writes to the host (DESIGN.md).
//   options.ts     settings and pod translation options from the config
//   informers.ts   the watch-fed caches the engine reads
//   facts.ts       what the pod translation needs to know (host Service IPs, namespace labels, tokens)
//   refs.ts        ConfigMaps and Secrets that pods refer to
//   pods.ts        PodSync: create / update / delete / ephemeral containers, applied to the host
//   reconciler.ts  PodReconciler: status back, binding, deletion both ways, drift, garbage, resync
//   queue.ts       the work queue the reconcilers run on
//   services.ts    ServiceSync: host-first create / update / delete of Services
//   service-reconciler.ts  ServiceReconciler: LB status, drift, garbage, endpoints, default/kubernetes
//   nodes.ts       NodeMirror: host nodes in the virtual cluster
//   events.ts      EventSync: host events about synced pods, in the virtual cluster
//   lease.ts       LeaderElector: one reconciling replica
//   service-cidr.ts  ServiceCIDRs: the host's service ranges, and the virtual ServiceCIDRs covering them (+ -rules.ts, -probe.ts)
export * from './options.ts';
export { Informer, type WireObject } from './informers.ts';
export { PodFactsSource, BOOTSTRAP_TOKEN_SECONDS } from './facts.ts';
export { ReferenceSync, type RefKind } from './refs.ts';
export { PodSync, HostRefusal, TOKENS_ANNOTATION, type SyncOutcome, type WriteOptions } from './pods.ts';
export { PodReconciler, SYSTEM_NAMESPACES, type NodeBinder } from './reconciler.ts';
export { WorkQueue } from './queue.ts';
export { SyncMetrics } from './metrics.ts';
export { LeaderElector, type LeaderElectorOptions, type StartedLeadingFn, type StoppedLeadingFn } from './lease.ts';
export { EventSync, type EventSyncOptions, type VirtualPodRef, type SkipReason, type EventSyncEvents } from './events.ts';
export { NodeMirror, HostNodeNotFoundError, type NodeMirrorOptions, type NodeMirrorDeps } from './nodes.ts';
export { ServiceSync, type ServiceSyncOptions, type ServiceWriteOutcome } from './services.ts';
export { ServiceReconciler, type ServiceReconcilerOptions } from './service-reconciler.ts';
export { ServiceCIDRs, type ServiceCIDRsOptions, type HostRangeSource } from './service-cidr.ts';
