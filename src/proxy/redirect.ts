// Subresource redirects, the decisions (pure: no I/O, no clocks). `pods/log`, `pods/exec`,
// `pods/attach` and `pods/portforward` of a virtual pod cannot be served by the virtual
// kube-apiserver (it has no kubelets); vcnet authorizes them against the virtual cluster for the
// caller and streams them from the host pod with its own host credentials, as vCluster's redirect
// filter does (reference/vcluster-networking.md §9.2; loft-sh/vcluster pkg/server/filters/redirect.go).
// What is decided here: which requests are redirected, who the caller is for authorization (the
// identity kube-apiserver would derive), which verbs it needs, which containers it may reach, and
// the host path. redirector.ts does the calls.
import { VcnetError } from '../errors.ts';
import { toVirtualMessage } from '../translate/messages.ts';
import type { Translator } from '../translate/names.ts';
import type { Impersonation } from './headers.ts';

export const REDIRECT_SUBRESOURCES = ['log', 'exec', 'attach', 'portforward'] as const;
export type RedirectSubresource = typeof REDIRECT_SUBRESOURCES[number];

/** A request for a subresource of a virtual pod that is served by its host pod. */
export interface RedirectRoute {
  readonly method: 'GET' | 'POST';
  readonly namespace: string;
  readonly name: string;
  readonly subresource: RedirectSubresource;
  /** The query string with its `?`, or ''; sent to the host unchanged (container, command, ports, follow...). */
  readonly query: string;
}

const SUBRESOURCES: ReadonlySet<string> = new Set(REDIRECT_SUBRESOURCES);

/**
 * The route when `method url` is `GET|POST /api/v1/namespaces/{ns}/pods/{name}/{sub}`, sub one of
 * the four; anything else (other methods, other paths, trailing segments) stays with the virtual
 * API server, which answers it as it would without vcnet (405 for a PUT on exec, for instance).
 * `log` is GET only: it has no other method. Path segments are percent-decoded as the API server
 * decodes them, so an encoded name cannot slip past the match to the virtual API server.
 */
export function matchRedirect(method: string, url: string): RedirectRoute | undefined {
  if (method !== 'GET' && method !== 'POST') return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith('/api/v1/namespaces/')) return undefined;
  const parts = path.split('/');
  // ['', 'api', 'v1', 'namespaces', ns, 'pods', name, sub]
  if (parts.length !== 8 || parts[5] !== 'pods') return undefined;
  const subresource = parts[7] as string;
  if (!SUBRESOURCES.has(subresource)) return undefined;
  if (subresource === 'log' && method !== 'GET') return undefined;
  const namespace = decodeSegment(parts[4] as string);
  const name = decodeSegment(parts[6] as string);
  if (namespace === undefined || name === undefined) return undefined;
  return { method, namespace, name, subresource: subresource as RedirectSubresource, query: q === -1 ? '' : url.slice(q) };
}

function decodeSegment(s: string): string | undefined {
  let out: string;
  try { out = decodeURIComponent(s); } catch { return undefined; }
  return out === '' || out.includes('/') ? undefined : out;
}

/**
 * The verbs the caller must hold on the subresource. kube-apiserver derives the verb from the HTTP
 * method (GET → get, POST → create); since Kubernetes 1.35 a WebSocket GET to exec, attach or
 * portforward must ALSO be allowed `create` (feature gate AuthorizePodWebsocketUpgradeCreatePermission,
 * beta and on by default; kubernetes/kubernetes#134577), so that `get` alone never opens a shell.
 * vcnet applies that rule whatever the version behind it: it forwards with its own host identity,
 * so it must hold callers to the strict rule itself. The order is the API server's: the request's
 * own verb (its authorization filter) first, the extra `create` (the registry's check) second.
 */
export function requiredVerbs(route: RedirectRoute): string[] {
  if (route.subresource === 'log') return ['get'];
  return route.method === 'GET' ? ['get', 'create'] : ['create'];
}

/** A user as the authorizer sees it (k8s.io/apiserver pkg/authentication/user.Info). */
export interface UserInfo {
  readonly user: string;
  readonly uid?: string | undefined;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

const AUTHENTICATED = 'system:authenticated';
const UNAUTHENTICATED = 'system:unauthenticated';
const ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';

/**
 * `system:authenticated` added as kube-apiserver adds it — to every authenticated user
 * (AuthenticatedGroupAdder) and to every impersonated one — unless it or `system:unauthenticated`
 * is already there; `system:anonymous` gets `system:unauthenticated` instead. A SubjectAccessReview
 * evaluates exactly the groups it is given, so vcnet must add them itself or RBAC bindings to
 * `system:authenticated` would not apply.
 */
export function withImplicitGroups(user: string, groups: readonly string[]): string[] {
  const out = [...groups];
  if (user === ANONYMOUS) {
    if (!out.includes(UNAUTHENTICATED)) out.push(UNAUTHENTICATED);
  } else if (!out.includes(AUTHENTICATED) && !out.includes(UNAUTHENTICATED)) {
    out.push(AUTHENTICATED);
  }
  return out;
}

/** A caller authenticated by client certificate: CN is the user, each O a group. */
export function certificateUser(user: string, groups: readonly string[]): UserInfo {
  return { user, groups: withImplicitGroups(user, groups), extra: {} };
}

/**
 * The identity a request carrying Impersonate-* headers acts as, once the impersonation itself has
 * been authorized (impersonation.ts): exactly what kube-apiserver's impersonation filter builds
 * (k8s.io/apiserver pkg/endpoints/filters/impersonation.go) — the requested user, uid, groups and
 * extra; a service account without requested groups gets its fixed groups; then the implicit group.
 * Unknown Impersonate-* headers are ignored, as the API server ignores them.
 */
export function impersonatedUser(imp: Impersonation): UserInfo {
  if (imp.user === undefined) throw new VcnetError('VCN_ERR_PROXY_BAD_REQUEST', ['Impersonate-Group, Impersonate-Uid and Impersonate-Extra-* require Impersonate-User']);
  let groups = [...imp.groups];
  if (groups.length === 0 && imp.user.startsWith(SA_PREFIX)) {
    const parts = imp.user.slice(SA_PREFIX.length).split(':');
    if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') groups = ['system:serviceaccounts', `system:serviceaccounts:${parts[0] as string}`];
  }
  const extra: Record<string, string[]> = {};
  for (const [key, values] of imp.extra) if (!key.startsWith('\0')) extra[key] = [...values];
  return { user: imp.user, uid: imp.uid, groups: withImplicitGroups(imp.user, groups), extra };
}

/** authorization.k8s.io/v1 ResourceAttributes of one check. */
export interface ResourceAttributes {
  readonly namespace: string;
  readonly verb: string;
  readonly group: '';
  readonly version: 'v1';
  readonly resource: 'pods';
  readonly subresource: RedirectSubresource;
  readonly name: string;
}

export function resourceAttributes(route: RedirectRoute, verb: string): ResourceAttributes {
  return { namespace: route.namespace, verb, group: '', version: 'v1', resource: 'pods', subresource: route.subresource, name: route.name };
}

/**
 * Cache key of one decision: the whole user (groups and extra order-insensitive, as the authorizer
 * treats them) and the whole attribute set. JSON keeps separators unambiguous.
 */
export function decisionKey(u: UserInfo, a: ResourceAttributes): string {
  const extra = Object.keys(u.extra).sort().map((k) => [k, [...(u.extra[k] ?? [])].sort()]);
  return JSON.stringify([u.user, u.uid ?? '', [...u.groups].sort(), extra, a.verb, a.namespace, a.name, a.subresource]);
}

/**
 * The 403 kube-apiserver writes for a denied request (k8s.io/apiserver pkg/endpoints/handlers/
 * responsewriters/errors.go forbiddenMessage + apierrors.NewForbidden), with the authorizer's
 * reason appended when it gave one, and the same HTML sanitizing of the message.
 */
export function forbidden(u: UserInfo, a: ResourceAttributes, reason: string | undefined): VcnetError {
  const why = reason === undefined || reason === '' ? '' : `: ${reason}`;
  const args = [a.name, u.user, a.verb, a.subresource, a.namespace, why].map(sanitize);
  return new VcnetError('VCN_ERR_PROXY_REDIRECT_FORBIDDEN', args, { details: { name: a.name, kind: 'pods' } });
}

function sanitize(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function podNotFound(name: string): VcnetError {
  return new VcnetError('VCN_ERR_PROXY_POD_NOT_FOUND', [name], { details: { name, kind: 'pods' } });
}

/** Just the fields of a virtual Pod the redirect reads. */
export interface VirtualPod {
  readonly metadata?: { readonly name?: string | undefined } | undefined;
  readonly spec?: {
    readonly containers?: ReadonlyArray<{ readonly name: string }> | undefined;
    readonly initContainers?: ReadonlyArray<{ readonly name: string }> | undefined;
    readonly ephemeralContainers?: ReadonlyArray<{ readonly name: string }> | undefined;
  } | undefined;
}

/**
 * Refuses a `container` the virtual pod does not have, with the API server's own checks and words
 * (pkg/registry/core/pod/strategy.go validateContainer). The host pod has the same containers plus
 * what vcnet injected (the `vcluster-rewrite-hosts` init container); checking against the VIRTUAL
 * spec keeps those unreachable, and keeps host-only names out of the "choose one of" list.
 * With no container named and one container in the pod, the host picks that same container.
 * Every `container` value is checked: Go reads the first, but nothing else may hide behind it.
 */
export function containerProblem(route: RedirectRoute, vPod: VirtualPod): VcnetError | undefined {
  if (route.subresource === 'portforward') return undefined;
  const spec = vPod.spec ?? {};
  const containers = (spec.containers ?? []).map((c) => c.name);
  // podutil.VisitContainers order: init containers, containers, ephemeral containers.
  const all = [...(spec.initContainers ?? []).map((c) => c.name), ...containers, ...(spec.ephemeralContainers ?? []).map((c) => c.name)];
  const requested = new URLSearchParams(route.query).getAll('container');
  for (const c of requested) {
    if (c !== '' && !all.includes(c)) return new VcnetError('VCN_ERR_PROXY_CONTAINER_NOT_VALID', [c, route.name]);
  }
  if ((requested[0] ?? '') !== '') return undefined;
  if (containers.length === 1) return undefined;
  return new VcnetError('VCN_ERR_PROXY_CONTAINER_REQUIRED', [route.name, containers.length === 0 ? '' : `, choose one of: [${all.join(' ')}]`]);
}

/** The host pod's namespace, name, and the request path on the host API server. */
export function hostTarget(route: RedirectRoute, translator: Translator): { namespace: string; name: string; path: string } {
  const namespace = translator.hostNamespace;
  const name = translator.hostName(route.name, route.namespace);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/${route.subresource}${route.query}`;
  return { namespace, name, path };
}

/**
 * A host error Status (JSON text) in virtual words: the host pod's name and namespace in the
 * message and details become the virtual ones (`container "c" in pod "web" is waiting to start`).
 * Undefined when the body is not a Status, so the caller relays it unchanged.
 */
export function hostStatusToVirtual(body: string, route: RedirectRoute, host: { namespace: string; name: string }): string | undefined {
  let status: unknown;
  try { status = JSON.parse(body); } catch { return undefined; }
  if (typeof status !== 'object' || status === null || (status as { kind?: unknown }).kind !== 'Status') return undefined;
  const s = status as { message?: unknown; details?: { name?: unknown } };
  const mapping = [{ host, virtual: { name: route.name, namespace: route.namespace } }];
  if (typeof s.message === 'string') s.message = toVirtualMessage(s.message, mapping);
  if (s.details !== undefined && s.details !== null && s.details.name === host.name) s.details.name = route.name;
  return JSON.stringify(status);
}
