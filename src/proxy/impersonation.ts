// A caller authenticated by client certificate may send Impersonate-* headers of its own (kubectl --as).
// vcnet already impersonates that caller, and impersonation does not chain, so vcnet must decide:
// it asks the API server with a SubjectAccessReview per requested attribute (verb `impersonate` on
// users / groups / uids / serviceaccounts / userextras, exactly the checks kube-apiserver's
// impersonation filter makes) and forwards the requested identity only when every check allows it.
// Decisions are cached briefly (the anchors' proxies without a cache doubled API-server load).
import { AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReview } from '@kubernetes/client-node';
import { VcnetError } from '../errors.ts';
import type { Impersonation } from './headers.ts';

export interface ResourceCheck { resource: string; name: string; namespace?: string; subresource?: string }

export type ReviewFn = (user: string, groups: readonly string[], check: ResourceCheck) => Promise<boolean>;

export class ImpersonationAuthorizer {
  readonly #review: ReviewFn;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { allowed: Promise<boolean>; expires: number }>();

  constructor(review: ReviewFn, ttlSeconds: number) {
    this.#review = review;
    this.#ttlMs = ttlSeconds * 1000;
  }

  static forKubeConfig(kc: KubeConfig, ttlSeconds: number): ImpersonationAuthorizer {
    const api = kc.makeApiClient(AuthorizationV1Api);
    return new ImpersonationAuthorizer(async (user, groups, check) => {
      const body: V1SubjectAccessReview = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups: [...groups],
          resourceAttributes: { verb: 'impersonate', group: '', ...check },
        },
      };
      const res = await api.createSubjectAccessReview({ body });
      return res.status?.allowed === true;
    }, ttlSeconds);
  }

  /** Resolves when `user` may impersonate everything in `imp`; rejects with a 403 VcnetError otherwise. */
  async authorize(user: string, groups: readonly string[], imp: Impersonation): Promise<void> {
    if (imp.user === undefined) {
      // kube-apiserver refuses this too; refusing here keeps vcnet's own identity out of it.
      throw new VcnetError('VCN_ERR_PROXY_BAD_REQUEST', ['Impersonate-Group, Impersonate-Uid and Impersonate-Extra-* require Impersonate-User']);
    }
    const checks = checksFor(imp);
    const results = await Promise.all(checks.map((c) => this.#decide(user, groups, c)));
    const denied = checks.find((_, i) => results[i] !== true);
    if (denied !== undefined) {
      const what = denied.subresource !== undefined
        ? `resource "userextras/${denied.subresource}"`
        : `resource "${denied.resource}" in API group ""${denied.namespace !== undefined ? ` in the namespace "${denied.namespace}"` : ' at the cluster scope'}`;
      throw new VcnetError('VCN_ERR_PROXY_IMPERSONATION_FORBIDDEN', [`${denied.resource} "${denied.name}"`, user, what]);
    }
  }

  #decide(user: string, groups: readonly string[], check: ResourceCheck): Promise<boolean> {
    const key = JSON.stringify([user, groups, check.resource, check.namespace, check.name, check.subresource]);
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.expires > now) return hit.allowed;
    const allowed = this.#review(user, groups, check).catch((err: unknown) => {
      this.#cache.delete(key);
      throw new VcnetError('VCN_ERR_PROXY_AUTHZ_UNAVAILABLE', [err instanceof Error ? err.message : String(err)], { cause: err });
    });
    this.#cache.set(key, { allowed, expires: now + this.#ttlMs });
    if (this.#cache.size > 10_000) this.#evict(now);
    return allowed;
  }

  #evict(now: number): void {
    for (const [k, v] of this.#cache) if (v.expires <= now) this.#cache.delete(k);
    // Still too big: drop the oldest insertions (Map keeps insertion order).
    for (const k of this.#cache.keys()) {
      if (this.#cache.size <= 5_000) break;
      this.#cache.delete(k);
    }
  }
}

const SA_PREFIX = 'system:serviceaccount:';

export function checksFor(imp: Impersonation): ResourceCheck[] {
  const checks: ResourceCheck[] = [];
  if (imp.user !== undefined) {
    const parts = imp.user.startsWith(SA_PREFIX) ? imp.user.slice(SA_PREFIX.length).split(':') : [];
    if (parts.length === 2) checks.push({ resource: 'serviceaccounts', namespace: parts[0] as string, name: parts[1] as string });
    else checks.push({ resource: 'users', name: imp.user });
  }
  for (const g of imp.groups) checks.push({ resource: 'groups', name: g });
  if (imp.uid !== undefined) checks.push({ resource: 'uids', name: imp.uid });
  for (const [key, values] of imp.extra) {
    if (key.startsWith('\0')) continue;
    for (const v of values) checks.push({ resource: 'userextras', subresource: key, name: v });
  }
  return checks;
}
