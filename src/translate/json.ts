// JSON value helpers shared by the Pod, Service and Endpoints translations (internal: not re-exported
// from index.ts). Objects here are JSON as it comes off the wire.

/** Deep equality of JSON values; object key order does not matter and undefined-valued keys do not count. */
export function sameJSON(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => sameJSON(x, (b as unknown[])[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJSON((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Go's `omitempty` view of a value: undefined values, empty lists and empty objects under object
 * keys are dropped (recursively), so `{ loadBalancer: {} }`, `{}` and a missing value compare equal.
 */
export function omitEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(omitEmpty);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = omitEmpty(x);
    if (y === undefined || (Array.isArray(y) && y.length === 0)) continue;
    if (typeof y === 'object' && y !== null && !Array.isArray(y) && Object.keys(y).length === 0) continue;
    out[k] = y;
  }
  return out;
}

/** A copy without the keys whose value is undefined (structuredClone and spreads keep them; the wire does not). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
