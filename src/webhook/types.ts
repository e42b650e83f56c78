// Wire types of admission.k8s.io/v1, as kube-apiserver sends and reads them. Field docs follow
// k8s.io/api admission/v1/types.go@v0.34.4. Objects are JSON from the wire: `metadata.creationTimestamp`
// is a string there, not the Date that @kubernetes/client-node's model types declare.

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
export const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** metav1.GroupVersionKind. */
export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** metav1.GroupVersionResource. */
export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** authenticationv1.UserInfo: who made the request. */
export interface UserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export interface AdmissionRequest<T = unknown> {
  /**
   * An identifier for the individual request/response. It allows us to distinguish instances of
   * requests which are otherwise identical (parallel requests, requests when earlier requests did not
   * modify etc). The UID is meant to track the round trip between KAS and the WebHook, not the user
   * request. It is suitable for correlating log entries between the webhook and apiserver.
   */
  readonly uid: string;
  /** The fully-qualified type of object being submitted (for example, v1.Pod or autoscaling.v1.Scale). */
  readonly kind: GroupVersionKind;
  /** The fully-qualified resource being requested (for example, v1.pods). */
  readonly resource: GroupVersionResource;
  /** The subresource being requested, if any (for example, "status" or "scale"). */
  readonly subResource?: string;
  /**
   * The fully-qualified type of the original API request (for example, v1.Pod or autoscaling.v1.Scale).
   * If this is specified and differs from the value in "kind", an equivalent match and conversion was
   * performed (matchPolicy: Equivalent).
   */
  readonly requestKind?: GroupVersionKind;
  /** The fully-qualified resource of the original API request (for example, v1.pods). */
  readonly requestResource?: GroupVersionResource;
  /** The name of the subresource of the original API request, if any. */
  readonly requestSubResource?: string;
  /**
   * The name of the object as presented in the request. On a CREATE operation, the client may omit name
   * and rely on the server to generate the name (`generateName`); then this is the empty string.
   */
  readonly name?: string;
  /** The namespace associated with the request (if any). */
  readonly namespace?: string;
  /** The operation being performed. This may be different than the operation requested, e.g. a patch can result in either a CREATE or UPDATE. */
  readonly operation: Operation;
  /** Information about the requesting user. */
  readonly userInfo: UserInfo;
  /** The object from the incoming request. Null for DELETE. */
  readonly object: T | null;
  /** The existing object. Only populated for DELETE and UPDATE requests. */
  readonly oldObject: T | null;
  /**
   * When true, modifications will definitely not be persisted for this request. A webhook declared with
   * `sideEffects: NoneOnDryRun` must then make no changes anywhere.
   */
  readonly dryRun?: boolean;
  /**
   * The operation option structure of the operation being performed: meta.k8s.io/v1 CreateOptions,
   * UpdateOptions or DeleteOptions. May differ from the options the caller provided (a patch request's
   * options become CreateOptions or UpdateOptions).
   */
  readonly options?: Readonly<Record<string, unknown>> | null;
}

/** metav1.Status as an admission response carries it; `message` is what kubectl shows the user. */
export interface AdmissionStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
  readonly status?: 'Failure';
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AdmissionResponse {
  /** Must equal the request's uid (VerifyAdmissionResponse rejects anything else). */
  readonly uid: string;
  /** Whether or not the admission request was permitted. */
  readonly allowed: boolean;
  /** The result contains extra details into why an admission request was denied. Ignored when allowed. */
  readonly status?: AdmissionStatus;
  /** The patch body: base64 of an RFC 6902 JSON Patch array. Mutating webhooks only. */
  readonly patch?: string;
  /** The type of patch. Currently only "JSONPatch" is supported. */
  readonly patchType?: 'JSONPatch';
  /** Set by the remote admission controller; the apiserver prefixes keys with the webhook's name and adds them to the audit event. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  /** Warning messages returned to the requesting API client (at most 120 characters each is recommended). */
  readonly warnings?: readonly string[];
}

/** The envelope, both ways: the request holds `request`, the answer holds `response`. */
export interface AdmissionReview<T = unknown> {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_KIND;
  readonly request?: AdmissionRequest<T>;
  readonly response?: AdmissionResponse;
}
