// Every failure that vcnet itself answers reaches the client as a metav1.Status with the right HTTP
// code, the way kube-apiserver answers (k8s.io/apiserver pkg/endpoints/handlers/responsewriters/status.go).
import { VcnetError, statusOf, type Status } from '../errors.ts';

export { statusOf, type Status };

/** Coded errors keep their status and reason; anything else is a bug and becomes a 500 InternalError. */
export function errorToStatus(err: unknown): { status: Status; unexpected: boolean } {
  if (err instanceof VcnetError) {
    return { status: statusOf(err.status, err.reason, err.message, err.details), unexpected: false };
  }
  const bug = new VcnetError('VCN_ERR_INTERNAL_BUG', [err instanceof Error ? err.message : String(err)]);
  return { status: statusOf(bug.status, bug.reason, bug.message), unexpected: true };
}

/** The bytes of a complete HTTP/1.1 error response, for sockets that left the HTTP server (upgrades). */
export function rawStatusResponse(status: Status): string {
  const body = JSON.stringify(status);
  const phrase = REASON_PHRASES[status.code] ?? 'Error';
  return `HTTP/1.1 ${status.code} ${phrase}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};
