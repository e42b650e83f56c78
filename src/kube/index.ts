// kube/: API access for both clusters.
//   client.ts  typed clients per cluster (kubeClients, clusterClients)
//   errors.ts  any client failure as a metav1.Status-shaped ApiStatus (+ isNotFound, isConflict, ...)
//   watch.ts   Reflector: LIST+WATCH with a store, re-list on 410, backoff on everything else
//   store.ts   the pure store bookkeeping (watch event / re-list -> deltas)
//   backoff.ts capped exponential backoff with injectable jitter
//   http.ts    the raw transport the reflector uses (no idle timeout, Status bodies kept)
export { clusterClients, kubeClients, loadKubeConfig, type ClusterClients, type KubeClients } from './client.ts';
export {
  fromHttpAnswer, isAlreadyExists, isConflict, isGone, isNotFound, isRetryable, KubeApiError, toApiStatus,
  type ApiStatus, type StatusCause, type StatusDetails,
} from './errors.ts';
export { Reflector, resourcePath, type ReflectorEvents, type ReflectorOptions, type ResourceRef } from './watch.ts';
export { applyDeltas, deltasForEvent, diffRelist, objectKey, type Delta, type DeltaType } from './store.ts';
export { Backoff, backoffDelay, BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.ts';
export { KubeTransport, type Query } from './http.ts';
