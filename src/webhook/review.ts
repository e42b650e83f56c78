// The AdmissionReview envelope: what a hook decides, how a request is checked, how an answer is built.
// Only the envelope is validated; `object`, `oldObject` and `options` are passed on exactly as sent.
import type { Operation as PatchOperation } from 'fast-json-patch';
import { encodePatch, jsonPatch } from './mutate.ts';
import {
  ADMISSION_API_VERSION, ADMISSION_KIND, OPERATIONS,
  type AdmissionRequest, type AdmissionResponse, type AdmissionReview, type AdmissionStatus,
} from './types.ts';

export interface DenyStatus {
  /** HTTP code the client receives (403 unless said otherwise). */
  readonly code?: number;
  /** metav1.Status reason (`Forbidden`, `Invalid`, `Conflict`, ...). */
  readonly reason?: string;
  /** What kubectl prints after `admission webhook "<name>" denied the request:`. */
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Decision =
  | { readonly kind: 'allow'; readonly warnings?: readonly string[] }
  | { readonly kind: 'mutate'; readonly object: unknown; readonly warnings?: readonly string[] }
  | { readonly kind: 'deny'; readonly status: DenyStatus; readonly warnings?: readonly string[] };

export type ValidatingDecision = Exclude<Decision, { kind: 'mutate' }>;

export function allow(warnings?: readonly string[]): Decision & ValidatingDecision {
  return warnings === undefined ? { kind: 'allow' } : { kind: 'allow', warnings };
}

/** Allow, storing `object` instead: the hook edited a copy of `request.object`. */
export function mutate(object: unknown, warnings?: readonly string[]): Decision {
  return warnings === undefined ? { kind: 'mutate', object } : { kind: 'mutate', object, warnings };
}

export function deny(message: string, opts: Omit<DenyStatus, 'message'> & { warnings?: readonly string[] } = {}): Decision & ValidatingDecision {
  const { warnings, ...status } = opts;
  const d = { kind: 'deny' as const, status: { ...status, message } };
  return warnings === undefined ? d : { ...d, warnings };
}

/** Why a body is not an AdmissionReview this server answers; undefined when it is one. */
export function envelopeProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const review = body as Record<string, unknown>;
  if (review['apiVersion'] !== ADMISSION_API_VERSION) {
    return `apiVersion must be "${ADMISSION_API_VERSION}" (list only v1 in admissionReviewVersions), got ${JSON.stringify(review['apiVersion'])}`;
  }
  if (review['kind'] !== ADMISSION_KIND) return `kind must be "${ADMISSION_KIND}", got ${JSON.stringify(review['kind'])}`;
  const request = review['request'];
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return 'request is missing';
  const r = request as Record<string, unknown>;
  if (typeof r['uid'] !== 'string' || r['uid'] === '') return 'request.uid is missing';
  if (!OPERATIONS.includes(r['operation'] as never)) {
    return `request.operation must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(r['operation'])}`;
  }
  return undefined;
}

/** The answer to `request` for `decision`. `original` is the object as received, before the hook saw it. */
export function reviewResponse(request: AdmissionRequest, original: unknown, decision: Decision): AdmissionReview {
  const base: { uid: string; warnings?: readonly string[] } = { uid: request.uid };
  if (decision.warnings !== undefined && decision.warnings.length > 0) base.warnings = decision.warnings;
  let response: AdmissionResponse;
  if (decision.kind === 'deny') {
    response = { ...base, allowed: false, status: toAdmissionStatus(decision.status) };
  } else {
    const ops = decision.kind === 'mutate' ? patchFor(request, original, decision.object) : [];
    // An empty patch is left out: the API server would otherwise count a no-op mutation.
    response = ops.length === 0 ? { ...base, allowed: true } : { ...base, allowed: true, patchType: 'JSONPatch', patch: encodePatch(ops) };
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

function patchFor(request: AdmissionRequest, original: unknown, mutated: unknown): PatchOperation[] {
  // The API server rejects any non-empty patch on DELETE ("DELETE requests cannot be mutated"), and
  // there is no object to patch on DELETE or CONNECT anyway.
  if (request.operation === 'DELETE' || request.operation === 'CONNECT') return [];
  return jsonPatch(original, mutated);
}

function toAdmissionStatus(s: DenyStatus): AdmissionStatus {
  const code = s.code ?? 403;
  const out: AdmissionStatus = { status: 'Failure', code, reason: s.reason ?? reasonFor(code), message: s.message };
  return s.details === undefined ? out : { ...out, details: s.details };
}

// k8s.io/apimachinery pkg/api/errors NewGenericServerResponse: the reason a bare code stands for.
function reasonFor(code: number): string {
  return ({ 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 422: 'Invalid', 429: 'TooManyRequests', 503: 'ServiceUnavailable', 504: 'Timeout' } as Record<number, string>)[code]
    ?? (code >= 500 ? 'InternalError' : 'BadRequest');
}

/** A metav1.Status body for answers outside the AdmissionReview protocol (a malformed envelope, a crash). */
