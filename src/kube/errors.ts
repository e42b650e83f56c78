// One shape for every failure of a call to a Kubernetes API server: the metav1.Status it answered
// with (HTTP code kept), or — when no answer came — a Status-like classification of the network
// failure, so callers decide "retry, re-read, re-list or give up" in one place.
// Reasons and codes follow k8s.io/apimachinery pkg/apis/meta/v1/types.go (StatusReason*) and
// pkg/api/errors/errors.go (NewGenericServerResponse, IsNotFound, SuggestsClientDelay, ...).
import { ApiException } from '@kubernetes/client-node';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface ApiStatus {
  /** The HTTP status code (for network failures: 503, or 504 for timeouts). */
  code: number;
  /** The metav1.Status reason (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, ...). */
  reason: string;
  message: string;
  details: StatusDetails | undefined;
  /** True when the same request may simply be sent again later (after `details.retryAfterSeconds` if set). */
  retryable: boolean;
}

/** An API failure with its Status: what vcnet's own transport (http.ts) throws. */
export class KubeApiError extends Error {
  readonly status: ApiStatus;

  constructor(status: ApiStatus, opts: { cause?: unknown } = {}) {
    super(status.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KubeApiError';
    this.status = status;
  }
}

// apimachinery's NewGenericServerResponse: the reason a bare HTTP code stands for when the body is
// not a Status (a proxy's HTML page, "404 page not found" from an unknown path, an empty 401).
const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 502: 'InternalError', 503: 'ServiceUnavailable',
  504: 'Timeout',
};

const RETRYABLE_REASONS = new Set(['ServerTimeout', 'Timeout', 'TooManyRequests', 'ServiceUnavailable']);
const RETRYABLE_CODES = new Set([429, 502, 503, 504]);

// Socket-level failures: the request may never have reached the server, or its answer was lost.
// Both are worth retrying; TLS verification failures are not (the configuration is wrong).
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/** Classifies anything a Kubernetes call can throw (or a watch ERROR event's object) as an ApiStatus. */
export function toApiStatus(err: unknown): ApiStatus {
  if (err instanceof KubeApiError) return err.status;
  if (err instanceof ApiException) return fromHttpAnswer(err.code, err.body, headerOf(err.headers, 'retry-after'));
  if (isStatusObject(err)) return fromStatus(err, err.code ?? 500);
  const network = networkFailure(err);
  if (network !== undefined) return network;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 500, reason: 'Unknown', message: `unexpected error calling the Kubernetes API: ${message}`, details: undefined, retryable: false };
}

/** The Status for an HTTP answer outside 2xx; `body` is the raw text or the parsed JSON. */
export function fromHttpAnswer(code: number, body: unknown, retryAfter?: string): ApiStatus {
  const parsed = typeof body === 'string' ? parseJson(body) : body;
  let status: ApiStatus;
  if (isStatusObject(parsed)) {
    status = fromStatus(parsed, code);
  } else {
    const text = typeof body === 'string' ? body.trim().slice(0, 200) : '';
    const reason = REASON_BY_CODE[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
    status = { code, reason, message: text === '' ? `the server answered HTTP ${code} (${reason})` : `the server answered HTTP ${code}: ${text}`, details: undefined, retryable: false };
    status.retryable = isRetryableStatus(status);
  }
  const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
  if (Number.isInteger(seconds) && seconds > 0 && status.details?.retryAfterSeconds === undefined) {
    status.details = { ...status.details, retryAfterSeconds: seconds };
    status.retryable = true;
  }
  return status;
}

function fromStatus(s: StatusObject, httpCode: number): ApiStatus {
  // "A Reason clarifies an HTTP status code but does not override it": the HTTP code wins; the
  // Status's own code only fills in where there was no HTTP answer (a watch ERROR event).
  const code = httpCode > 0 ? httpCode : (s.code ?? 500);
  const reason = typeof s.reason === 'string' && s.reason !== '' ? s.reason : (REASON_BY_CODE[code] ?? 'Unknown');
  const message = typeof s.message === 'string' && s.message !== '' ? s.message : `the server answered HTTP ${code} (${reason})`;
  const details = s.details !== undefined && s.details !== null && typeof s.details === 'object' ? s.details : undefined;
  const status: ApiStatus = { code, reason, message, details, retryable: false };
  status.retryable = isRetryableStatus(status);
  return status;
}

function isRetryableStatus(s: ApiStatus): boolean {
  return RETRYABLE_CODES.has(s.code) || RETRYABLE_REASONS.has(s.reason) || (s.details?.retryAfterSeconds ?? 0) > 0;
}

function networkFailure(err: unknown): ApiStatus | undefined {
  // fetch (undici) wraps the socket error as `TypeError: fetch failed` with the real one as `cause`.
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') break;
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    const message = (e as { message?: unknown }).message;
    const text = typeof message === 'string' ? message : String(code ?? name);
    if (typeof code === 'string' && TLS_CODE.test(code)) {
      return network(503, 'ServiceUnavailable', `TLS connection to the Kubernetes API server failed: ${text}`, code, false);
    }
    if ((typeof code === 'string' && TIMEOUT_CODES.has(code)) || name === 'TimeoutError') {
      return network(504, 'Timeout', `timed out talking to the Kubernetes API server: ${text}`, typeof code === 'string' ? code : String(name), true);
    }
    if (typeof code === 'string' && NETWORK_CODES.has(code)) {
      return network(503, 'ServiceUnavailable', `the Kubernetes API server is unreachable: ${text}`, code, true);
    }
    if (name === 'AbortError') {
      return network(503, 'ServiceUnavailable', `the request to the Kubernetes API server was aborted: ${text}`, 'AbortError', true);
    }
  }
  return undefined;
}

function network(code: number, reason: string, message: string, cause: string, retryable: boolean): ApiStatus {
  return { code, reason, message, details: { causes: [{ reason: cause, message }] }, retryable };
}

interface StatusObject {
  kind: 'Status';
  code?: number;
  reason?: unknown;
  message?: unknown;
  details?: StatusDetails | null;
}

function isStatusObject(v: unknown): v is StatusObject {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

function parseJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}

const statusOf = (err: unknown): ApiStatus => toApiStatus(err);

export const isNotFound = (err: unknown): boolean => statusOf(err).code === 404;
export const isConflict = (err: unknown): boolean => { const s = statusOf(err); return s.code === 409 && s.reason !== 'AlreadyExists'; };
export const isAlreadyExists = (err: unknown): boolean => statusOf(err).reason === 'AlreadyExists';
/** 410: the resourceVersion (or continue token) is too old; re-list instead of retrying. */
export const isGone = (err: unknown): boolean => statusOf(err).code === 410;
export const isRetryable = (err: unknown): boolean => statusOf(err).retryable;
