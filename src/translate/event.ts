// Host Events -> virtual Events. The host's kube-scheduler, kubelet (kwok) and controllers write
// core/v1 Events about the HOST twin of a virtual pod; the user runs `kubectl describe pod` in the
// virtual cluster, which lists events by `involvedObject.{name,namespace,kind,uid}` of the VIRTUAL
// pod. So each host Event gets a virtual copy about the virtual pod, in the virtual pod's namespace,
// with host names in its message put back into virtual words. vCluster does the same in its events
// syncer (pkg/controllers/resources/events), which copies host events of synced objects back.
//
// PURE: the caller resolves the host pod to its virtual pod and passes it in; "now" is never read here.
import { OBJECT_HOST_NAME, OBJECT_HOST_NAMESPACE } from './keys.ts';
import { toVirtualMessage } from './messages.ts';
import { sha256Hex } from './names.ts';
import type { ObjectMeta } from './types.ts';

// vcnet's own keys on the virtual copies (vCluster has no equivalent, so they are not in its
// vcluster.loft.sh/ space). The host event's name and namespace use OBJECT_HOST_NAME/_NAMESPACE.
/** On a virtual Event copied from the host: the host Event's UID (a re-created host Event under the same name has a new one). */
export const HOST_EVENT_UID = 'vcnet.dev/host-event-uid';
/** Label `"true"` on every virtual Event vcnet copied from the host, so they can be listed in one call. */
export const HOST_EVENT_LABEL = 'vcnet.dev/host-event';

/** Longest name of an Event (a DNS-1123 subdomain, like most objects). */
const MAX_EVENT_NAME = 253;
/** Hex characters of SHA-256 appended when a virtual event name has to be shortened. */
const NAME_HASH_CHARS = 16;

/** core/v1 ObjectReference as JSON. */
export interface ObjectReferenceJson {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  /** Which part of the object the event is about, e.g. `spec.containers{web}`. */
  readonly fieldPath?: string;
}

/** core/v1 Event as JSON (abridged from k8s.io/api/core/v1/types.go). Zero times arrive as null. */
export interface EventJson {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly involvedObject?: ObjectReferenceJson;
  /** Short, machine-understandable reason for the transition (`Scheduled`, `Pulled`, `BackOff`). */
  readonly reason?: string;
  readonly message?: string;
  /** `Normal` or `Warning`. */
  readonly type?: string;
  /** How many times this event occurred (legacy events; new ones count in series). */
  readonly count?: number;
  /** RFC 3339, seconds precision. */
  readonly firstTimestamp?: string | null;
  readonly lastTimestamp?: string | null;
  /** RFC 3339 with microseconds; set by the events.k8s.io API (new-style events). */
  readonly eventTime?: string | null;
  readonly source?: { readonly component?: string; readonly host?: string };
  readonly reportingComponent?: string;
  readonly reportingInstance?: string;
  readonly series?: { readonly count?: number; readonly lastObservedTime?: string | null } | null;
  readonly action?: string;
  /** A secondary object; on the host it names host objects, so it is never copied. */
  readonly related?: ObjectReferenceJson | null;
}

/** The virtual object a host event is about. */
export interface EventTarget {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly kind: 'Pod';
}

export interface HostEventOptions {
  /** The host namespace vcnet syncs into; events from elsewhere are not ours to copy. */
  readonly hostNamespace: string;
  /**
   * The UID of the host pod the target was resolved from, when known: an event about an earlier
   * host pod of the same name (deleted and re-created) is then not attributed to the new one.
   */
  readonly hostPodUid?: string;
}

const API_VERSIONS: Readonly<Record<EventTarget['kind'], string>> = Object.freeze({ Pod: 'v1' });

/**
 * The virtual copy of a host core/v1 Event about a synced host pod, or undefined when the event is
 * not one to copy (another kind, another namespace, an earlier host pod, no name).
 *   - namespace: the virtual pod's; involvedObject: the virtual pod (its UID, which `kubectl describe`
 *     selects on), fieldPath kept;
 *   - what happened and when is copied as is; `related` is not (it names host objects);
 *   - the message speaks of the virtual pod (toVirtualMessage: `hns/hpod` -> `vns/vpod`, `hpod` -> `vpod`);
 *   - the name is derived from the host event's name (virtualEventName), so every update of one
 *     host event updates one virtual event;
 *   - annotations record the host event (name, namespace, UID); HOST_EVENT_LABEL marks the copy.
 */
export function hostEventToVirtual(hEvent: EventJson, target: EventTarget, opts: HostEventOptions): EventJson | undefined {
  const hRef = hEvent.involvedObject;
  const hName = hEvent.metadata?.name ?? '';
  const hPodName = hRef?.name ?? '';
  if (hRef === undefined || hRef.kind !== target.kind || hName === '' || hPodName === '') return undefined;
  if (hEvent.metadata?.namespace !== opts.hostNamespace) return undefined;
  // A pod event names the pod's namespace; an empty one would be a cluster-scoped object.
  if ((hRef.namespace ?? '') !== opts.hostNamespace) return undefined;
  if (opts.hostPodUid !== undefined && opts.hostPodUid !== '' && (hRef.uid ?? '') !== '' && hRef.uid !== opts.hostPodUid) return undefined;
  if (target.name === '' || target.namespace === '' || target.uid === '') return undefined;

  const name = virtualEventName(hName, hPodName, target.name);
  const vRef: ObjectReferenceJson = {
    kind: target.kind,
    apiVersion: API_VERSIONS[target.kind],
    namespace: target.namespace,
    name: target.name,
    uid: target.uid,
    ...(hRef.fieldPath ? { fieldPath: hRef.fieldPath } : {}),
  };
  const message = hEvent.message === undefined ? undefined : toVirtualMessage(hEvent.message, [{
    host: { name: hPodName, namespace: opts.hostNamespace },
    virtual: { name: target.name, namespace: target.namespace },
  }]);
  const annotations: Record<string, string> = {
    [OBJECT_HOST_NAME]: hName,
    [OBJECT_HOST_NAMESPACE]: opts.hostNamespace,
  };
  if (hEvent.metadata?.uid) annotations[HOST_EVENT_UID] = hEvent.metadata.uid;
  return dropEmpty({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: target.namespace, labels: { [HOST_EVENT_LABEL]: 'true' }, annotations },
    involvedObject: vRef,
    reason: hEvent.reason,
    message,
    type: hEvent.type,
    count: hEvent.count,
    firstTimestamp: hEvent.firstTimestamp,
    lastTimestamp: hEvent.lastTimestamp,
    eventTime: hEvent.eventTime,
    source: hEvent.source,
    reportingComponent: hEvent.reportingComponent,
    reportingInstance: hEvent.reportingInstance,
    series: hEvent.series,
    action: hEvent.action,
  });
}

/**
 * The virtual event's name. Recorders name events `<object name>.<hex timestamp>` (client-go
 * tools/record: `fmt.Sprintf("%v.%x", ref.Name, t.UnixNano())`), so a host event named
 * `<host pod>.<suffix>` becomes `<virtual pod>.<suffix>`, and any other host event name becomes
 * `<virtual pod>.<host event name>`. Both are valid DNS-1123 subdomains when their parts are. Past
 * 253 characters the name keeps its first part and ends in `.` + 16 hex of SHA-256 of the full
 * name, so distinct host events still get distinct, stable names.
 */
export function virtualEventName(hEventName: string, hPodName: string, vPodName: string): string {
  const suffix = hPodName !== '' && hEventName.startsWith(`${hPodName}.`) ? hEventName.slice(hPodName.length + 1) : hEventName;
  const full = `${vPodName}.${suffix}`;
  if (full.length <= MAX_EVENT_NAME) return full;
  // A DNS-1123 subdomain's labels must start and end alphanumeric, so the cut drops any trailing `.`/`-`.
  const kept = full.slice(0, MAX_EVENT_NAME - NAME_HASH_CHARS - 1).replace(/[-.]+$/, '');
  return `${kept}.${sha256Hex(full).slice(0, NAME_HASH_CHARS)}`;
}

/**
 * When an event last happened, in ms since the epoch: the latest of lastTimestamp, the series'
 * lastObservedTime, eventTime and firstTimestamp, falling back to creationTimestamp. Undefined when
 * the event carries no time at all.
 */
export function eventLastSeenMs(ev: EventJson): number | undefined {
  const times = [ev.lastTimestamp, ev.series?.lastObservedTime, ev.eventTime, ev.firstTimestamp]
    .map(parseTime).filter((n): n is number => n !== undefined);
  if (times.length === 0) return parseTime(ev.metadata?.creationTimestamp);
  return Math.max(...times);
}

/** How many times an event occurred: the series' count for new-style events, else `count`. */
export function eventCount(ev: EventJson): number {
  return Math.max(ev.count ?? 0, ev.series?.count ?? 0);
}

/** What to do with a desired virtual event, given the virtual event of that name (if any). */
export type VirtualEventAction =
  /** No virtual event of that name: create it. */
  | 'create'
  /** The existing copy is behind the host (new count, time or message, or a re-created host event): replace it. */
  | 'update'
  /** The existing copy already says the same. */
  | 'current'
  /** The existing copy is newer than this host state (an old update processed late): leave it. */
  | 'stale'
  /** A virtual event of that name that vcnet did not copy: never overwrite it. */
  | 'foreign';

/** The sync decision for one host event, as a pure function of the desired copy and the existing virtual event. */
export function virtualEventAction(desired: EventJson, existing: EventJson | undefined): VirtualEventAction {
  if (existing === undefined) return 'create';
  if (existing.metadata?.labels?.[HOST_EVENT_LABEL] !== 'true') return 'foreign';
  const desiredAnn = desired.metadata?.annotations ?? {};
  const existingAnn = existing.metadata?.annotations ?? {};
  if (existingAnn[OBJECT_HOST_NAME] !== desiredAnn[OBJECT_HOST_NAME] || existingAnn[OBJECT_HOST_NAMESPACE] !== desiredAnn[OBJECT_HOST_NAMESPACE]) {
    // Two host events can only map to one virtual name through a shortened name; a hash collision
    // of that kind is not worth a fight: the first copy stays.
    return 'foreign';
  }
  if ((existingAnn[HOST_EVENT_UID] ?? '') !== (desiredAnn[HOST_EVENT_UID] ?? '')) return 'update';
  if (canonical(copiedFields(existing)) === canonical(copiedFields(desired))) return 'current';
  const existingSeen = eventLastSeenMs(existing) ?? 0;
  const desiredSeen = eventLastSeenMs(desired) ?? 0;
  if (existingSeen > desiredSeen) return 'stale';
  if (existingSeen === desiredSeen && eventCount(existing) > eventCount(desired)) return 'stale';
  return 'update';
}

/** The part of a virtual copy that comes from the host event (what virtualEventAction compares). */
function copiedFields(ev: EventJson): unknown {
  return {
    involvedObject: ev.involvedObject, reason: ev.reason, message: ev.message, type: ev.type, count: ev.count,
    firstTimestamp: ev.firstTimestamp, lastTimestamp: ev.lastTimestamp, eventTime: ev.eventTime, source: ev.source,
    reportingComponent: ev.reportingComponent, reportingInstance: ev.reportingInstance, series: ev.series, action: ev.action,
  };
}

/**
 * JSON with sorted keys, where null, '', empty arrays and empty objects count as absent: the API
 * server omits empty fields (`omitempty`), writes zero times as null and returns `source: {}` for an
 * unset source, so a copy read back must compare equal to the copy that was written.
 */
function canonical(v: unknown): string {
  return JSON.stringify(normalise(v)) ?? '';
}

function normalise(v: unknown): unknown {
  if (v === null || v === '' || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(normalise);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalise((v as Record<string, unknown>)[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v;
}

/** Drops top-level fields that are undefined, null, '' or empty objects: the copy sends only what the host event had. */
function dropEmpty(ev: Record<string, unknown>): EventJson {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev)) {
    if (normalise(v) !== undefined) out[k] = v;
  }
  return out as EventJson;
}

function parseTime(s: string | null | undefined): number | undefined {
  if (s === undefined || s === null || s === '') return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
