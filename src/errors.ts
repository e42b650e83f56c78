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
  // Subresource redirects (pods/log|exec|attach|portforward of a virtual pod, streamed from its host
  // pod): the wording of the first four is kube-apiserver's own, so clients read what they would
  // read without vcnet in between.
  VCN_ERR_PROXY_TOKEN_REJECTED: define('VCN_ERR_PROXY_TOKEN_REJECTED', 401, 'Unauthorized',
    'Unauthorized'),
  VCN_ERR_PROXY_REDIRECT_FORBIDDEN: define('VCN_ERR_PROXY_REDIRECT_FORBIDDEN', 403, 'Forbidden',
    'pods "%s" is forbidden: User "%s" cannot %s resource "pods/%s" in API group "" in the namespace "%s"%s'),
  VCN_ERR_PROXY_POD_NOT_FOUND: define('VCN_ERR_PROXY_POD_NOT_FOUND', 404, 'NotFound',
    'pods "%s" not found'),
  VCN_ERR_PROXY_CONTAINER_NOT_VALID: define('VCN_ERR_PROXY_CONTAINER_NOT_VALID', 400, 'BadRequest',
    'container %s is not valid for pod %s'),
  VCN_ERR_PROXY_CONTAINER_REQUIRED: define('VCN_ERR_PROXY_CONTAINER_REQUIRED', 400, 'BadRequest',
    'a container name must be specified for pod %s%s'),
  VCN_ERR_PROXY_AUTHN_UNAVAILABLE: define('VCN_ERR_PROXY_AUTHN_UNAVAILABLE', 503, 'ServiceUnavailable',
    'vcnet could not authenticate the bearer token: %s'),
  VCN_ERR_CONFIG_INVALID: define('VCN_ERR_CONFIG_INVALID', 400, 'Invalid',
    'invalid configuration: %s'),
  VCN_ERR_SYNC_NOT_READY: define('VCN_ERR_SYNC_NOT_READY', 503, 'ServiceUnavailable',
    'vcnet cannot sync %s to the host yet: %s'),
  VCN_ERR_SYNC_HOST_UNAVAILABLE: define('VCN_ERR_SYNC_HOST_UNAVAILABLE', 503, 'ServiceUnavailable',
    'the host cluster is unavailable, so the write of %s could not be applied there and is refused; nothing was changed (%s)'),
  VCN_ERR_SYNC_HOST_CONFLICT: define('VCN_ERR_SYNC_HOST_CONFLICT', 409, 'AlreadyExists',
    'the host namespace already holds %s, which vcnet does not manage for this virtual cluster (%s); vcnet leaves it alone'),
  VCN_ERR_SYNC_HOST_TERMINATING: define('VCN_ERR_SYNC_HOST_TERMINATING', 409, 'Conflict',
    'the host twin of an earlier %s of this name is still being deleted; retry in a few seconds'),
  // 500, not 4xx: the user asked for nothing wrong. The host gave the Service an address the virtual
  // kube-apiserver would refuse, which is a mismatch between the two clusters' service ranges that
  // vcnet could not repair (docs/configuration.md, "The service CIDR").
  VCN_ERR_SYNC_SERVICE_CIDR: define('VCN_ERR_SYNC_SERVICE_CIDR', 500, 'InternalError',
    'the host cluster gave this Service the IP %s, which is outside every service range of the virtual cluster (%s) and of the host cluster as vcnet sees it (%s), so the virtual kube-apiserver would refuse it; check networking.serviceCIDR and the virtual kube-apiserver\'s --service-cluster-ip-range'),
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
