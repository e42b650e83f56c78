// Mutations as patches: a hook edits a copy of the object, and the patch is the diff (style item 5).
// A hand-written `add /metadata/labels/x` fails when `labels` is absent; compare() emits the parent.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fastJsonPatch from 'fast-json-patch';
import type { Operation as PatchOperation } from 'fast-json-patch';

/** The RFC 6902 operations turning `original` into `mutated`; [] when they are equal. */
export function jsonPatch(original: unknown, mutated: unknown): PatchOperation[] {
  // compare() only walks objects and arrays, and the API server's JSON Patch cannot replace the root.
  assert(isContainer(original) && isContainer(mutated), 'a mutation must turn an object into an object');
  return fastJsonPatch.compare(original, mutated);
}

/** What AdmissionResponse.patch carries: base64 of the JSON array. */
export function encodePatch(ops: readonly PatchOperation[]): string {
  return Buffer.from(JSON.stringify(ops), 'utf8').toString('base64');
}

function isContainer(value: unknown): value is object | unknown[] {
  return typeof value === 'object' && value !== null;
}
