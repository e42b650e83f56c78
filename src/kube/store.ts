// The pure bookkeeping of a watcher: how a watch event or a fresh LIST changes the in-memory store,
// expressed as the add/update/delete deltas consumers see. Keeping it pure lets the re-list diff —
// the step that decides whether an update is lost or delivered twice — be tested as plain data.
import type { KubernetesObject } from '@kubernetes/client-node';

export type DeltaType = 'add' | 'update' | 'delete';

export interface Delta<T> {
  type: DeltaType;
  /** The new state; for a delete, the last state the server reported (or the stored one). */
  object: T;
  /** The stored state before this delta; undefined for an add. */
  old: T | undefined;
}

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

/** The deltas for one ADDED/MODIFIED/DELETED watch event. */
export function deltasForEvent<T extends KubernetesObject>(store: ReadonlyMap<string, T>, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): Delta<T>[] {
  const old = store.get(objectKey(obj));
  if (type === 'DELETED') return old === undefined ? [] : [{ type: 'delete', object: obj, old }];
  return upsert(old, obj);
}

/**
 * The deltas that turn `store` into exactly `items` (a fresh LIST): deletes first, then adds and
 * updates in list order. Objects whose resourceVersion did not change produce nothing, so a change
 * already delivered by the watch is not delivered again.
 */
export function diffRelist<T extends KubernetesObject>(store: ReadonlyMap<string, T>, items: readonly T[]): Delta<T>[] {
  const listed = new Map<string, T>();
  for (const item of items) listed.set(objectKey(item), item);
  const deltas: Delta<T>[] = [];
  for (const [key, old] of store) {
    if (!listed.has(key)) deltas.push({ type: 'delete', object: old, old });
  }
  for (const [key, item] of listed) deltas.push(...upsert(store.get(key), item));
  return deltas;
}

/** Applies deltas to a mutable store (in order). */
export function applyDeltas<T extends KubernetesObject>(store: Map<string, T>, deltas: readonly Delta<T>[]): void {
  for (const d of deltas) {
    if (d.type === 'delete') store.delete(objectKey(d.object));
    else store.set(objectKey(d.object), d.object);
  }
}

function upsert<T extends KubernetesObject>(old: T | undefined, obj: T): Delta<T>[] {
  if (old === undefined) return [{ type: 'add', object: obj, old: undefined }];
  // A different UID under the same name is a new object (deleted and re-created while we were not
  // watching): consumers that key anything by UID must see the old one go.
  if (old.metadata?.uid !== undefined && obj.metadata?.uid !== undefined && old.metadata.uid !== obj.metadata.uid) {
    return [{ type: 'delete', object: old, old }, { type: 'add', object: obj, old: undefined }];
  }
  if (old.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === obj.metadata?.resourceVersion) return [];
  return [{ type: 'update', object: obj, old }];
}
