// The catalogue of every error vcnet itself can put in front of a user. Each entry has a stable code
// (`VCN_ERR_<AREA>_<WHAT>`), the HTTP status a Kubernetes client receives, and the metav1.Status
// reason that goes with that status (k8s.io/apimachinery/pkg/apis/meta/v1 StatusReason*).
// docs/errors.md documents each code; test/unit/errors.test.ts keeps the two in step.

export interface ErrorDefinition {
  readonly code: string;
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}

function define(code: string, status: number, reason: string, message: string): ErrorDefinition {
  return Object.freeze({ code, status, reason, message });
}

export const Errors = Object.freeze({
  VCN_ERR_PROXY_UNAUTHENTICATED: define('VCN_ERR_PROXY_UNAUTHENTICATED', 401, 'Unauthorized',
    'Unauthorized: the request carries no credentials vcnet accepts (a bearer token or a client certificate signed by the cluster CA)'),
  VCN_ERR_PROXY_CLIENT_CERT_INVALID: define('VCN_ERR_PROXY_CLIENT_CERT_INVALID', 401, 'Unauthorized',
    'Unauthorized: the client certificate was rejected (%s)'),
  VCN_ERR_PROXY_IMPERSONATION_FORBIDDEN: define('VCN_ERR_PROXY_IMPERSONATION_FORBIDDEN', 403, 'Forbidden',
    '%s is forbidden: User "%s" cannot impersonate %s'),
  VCN_ERR_PROXY_BODY_TOO_LARGE: define('VCN_ERR_PROXY_BODY_TOO_LARGE', 413, 'RequestEntityTooLarge',
    'Request entity too large: limit is %s bytes'),
  VCN_ERR_PROXY_BAD_REQUEST: define('VCN_ERR_PROXY_BAD_REQUEST', 400, 'BadRequest',
    'Bad request: %s'),
  VCN_ERR_PROXY_UPSTREAM_UNAVAILABLE: define('VCN_ERR_PROXY_UPSTREAM_UNAVAILABLE', 503, 'ServiceUnavailable',
    'The Kubernetes API server behind vcnet is unavailable: %s'),
  VCN_ERR_PROXY_UPSTREAM_CONNECT_TIMEOUT: define('VCN_ERR_PROXY_UPSTREAM_CONNECT_TIMEOUT', 504, 'Timeout',
    'Timed out connecting to the Kubernetes API server behind vcnet after %s ms'),
  VCN_ERR_PROXY_UPSTREAM_RESET: define('VCN_ERR_PROXY_UPSTREAM_RESET', 502, 'InternalError',
    'The Kubernetes API server behind vcnet closed the connection: %s'),
  VCN_ERR_PROXY_AUTHZ_UNAVAILABLE: define('VCN_ERR_PROXY_AUTHZ_UNAVAILABLE', 503, 'ServiceUnavailable',
    'vcnet could not authorize the request: %s'),
  VCN_ERR_PROXY_SHUTTING_DOWN: define('VCN_ERR_PROXY_SHUTTING_DOWN', 503, 'ServiceUnavailable',
    'vcnet is shutting down; retry the request'),
  VCN_ERR_CONFIG_INVALID: define('VCN_ERR_CONFIG_INVALID', 400, 'Invalid',
    'invalid configuration: %s'),
  VCN_ERR_INTERNAL_BUG: define('VCN_ERR_INTERNAL_BUG', 500, 'InternalError',
    'Internal error in vcnet: %s'),
});

export type ErrorCode = keyof typeof Errors;

/** An error vcnet understands: it carries its catalogue entry, so it renders as a precise Status. */
export class VcnetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, args: ReadonlyArray<string | number> = [], opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    const def = Errors[code];
    super(format(def.message, args), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VcnetError';
    this.code = code;
    this.status = def.status;
    this.reason = def.reason;
    this.details = opts.details;
  }
}

function format(template: string, args: ReadonlyArray<string | number>): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}

/** A metav1.Status as kube-apiserver writes it for a failure. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: Record<string, unknown>;
}

export function statusOf(code: number, reason: string, message: string, details?: Record<string, unknown>): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) s.details = details;
  return s;
}
