// Subresource redirects, the calls (the decisions are in redirect.ts). For `pods/log|exec|attach|
// portforward` of a virtual pod, vcnet itself must stand in for the virtual API server's checks,
// because the request then goes to the HOST with vcnet's host credentials, which could reach any
// pod of the host namespace:
//   1. authenticate: client certificates as everywhere in the proxy; bearer tokens with a
//      TokenReview against the virtual cluster (they cannot simply pass through: the host does not
//      know them); inbound Impersonate-* only after impersonation.ts allowed them;
//   2. authorize: SubjectAccessReview(s) against the virtual cluster for that identity, allow
//      decisions cached briefly (vCluster's delegating authorizer caches 5 s), failures never;
//   3. the virtual pod must exist, and the container asked for must be in its virtual spec;
//   4. the request goes to the host pod with vcnet's host credentials, client identity dropped.
// An API call that fails refuses the request (503); nothing is ever let through on a failure.
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { VcnetError } from '../errors.ts';
import { isNotFound, toApiStatus } from '../kube/errors.ts';
import type { Translator } from '../translate/names.ts';
import { splitHeaders } from './headers.ts';
import { authenticate } from './identity.ts';
import type { ImpersonationAuthorizer } from './impersonation.ts';
import { appendForwardedFor } from './prepare.ts';
import {
  certificateUser, containerProblem, decisionKey, forbidden, hostStatusToVirtual, hostTarget, impersonatedUser,
  matchRedirect, podNotFound, requiredVerbs, resourceAttributes, withImplicitGroups,
  type RedirectRoute, type ResourceAttributes, type UserInfo, type VirtualPod,
} from './redirect.ts';
import type { Target } from './target.ts';
import { closeUpstream, upstreamFromKubeconfig, type Upstream } from './upstream.ts';

/** The virtual cluster as the redirect needs it, called with vcnet's own virtual identity. */
export interface VirtualApi {
  /** TokenReview: the token's user, or undefined when the virtual cluster does not authenticate it. */
  reviewToken(token: string): Promise<UserInfo | undefined>;
  /** SubjectAccessReview for `user` on `attributes`. */
  reviewAccess(user: UserInfo, attributes: ResourceAttributes): Promise<{ allowed: boolean; reason: string | undefined }>;
  /** The virtual pod, or undefined when it does not exist. */
  readPod(namespace: string, name: string): Promise<VirtualPod | undefined>;
}

export interface RedirectOptions {
  /** The HOST API server and vcnet's credentials there: an Upstream, or the path of a kubeconfig. */
  host: Upstream | string;
  /** Virtual → host names (vCluster name and host namespace). */
  translator: Translator;
  /** Default: built from the proxy's own upstream kubeconfig (vcnet's virtual identity). */
  virtualApi?: VirtualApi;
  /** How long an ALLOW decision is reused; default 5 (vCluster's). 0 asks every time. */
  authzCacheSeconds?: number;
  /** How long an authenticated bearer token is reused, keyed by its SHA-256; default 10. 0 asks every time. */
  tokenCacheSeconds?: number;
}

export const REDIRECT_DEFAULTS = Object.freeze({ authzCacheSeconds: 5, tokenCacheSeconds: 10, apiTimeoutMs: 10_000 });

/** Caches stay bounded; past this many entries the expired ones, then the oldest, are dropped. */
const MAX_CACHE_ENTRIES = 10_000;

export class Redirector {
  readonly host: Upstream;
  readonly translator: Translator;
  readonly #ownsHost: boolean;
  readonly #virtual: VirtualApi;
  readonly #impersonation: ImpersonationAuthorizer;
  readonly #authz: TtlCache<true>;
  readonly #tokens: TtlCache<UserInfo>;
  readonly #counter: Counter<'subresource' | 'result'>;
  readonly #log: FastifyBaseLogger;

  constructor(opts: RedirectOptions & {
    virtualApi: VirtualApi; impersonation: ImpersonationAuthorizer; registry: Registry; log: FastifyBaseLogger;
  }) {
    const authzSeconds = opts.authzCacheSeconds ?? REDIRECT_DEFAULTS.authzCacheSeconds;
    const tokenSeconds = opts.tokenCacheSeconds ?? REDIRECT_DEFAULTS.tokenCacheSeconds;
    for (const [name, v] of [['authzCacheSeconds', authzSeconds], ['tokenCacheSeconds', tokenSeconds]] as const) {
      if (!Number.isFinite(v) || v < 0 || v > 300) throw new RangeError(`redirect.${name} must be between 0 and 300 seconds, got ${String(v)}`);
    }
    this.#ownsHost = typeof opts.host === 'string';
    this.host = typeof opts.host === 'string' ? upstreamFromKubeconfig(opts.host) : opts.host;
    this.translator = opts.translator;
    this.#virtual = opts.virtualApi;
    this.#impersonation = opts.impersonation;
    this.#authz = new TtlCache(authzSeconds * 1000);
    this.#tokens = new TtlCache(tokenSeconds * 1000);
    this.#counter = redirectCounter(opts.registry);
    this.#log = opts.log.child({ component: 'redirect' });
  }

  match(method: string, url: string): RedirectRoute | undefined {
    return matchRedirect(method, url);
  }

  /** Authenticates and authorizes the caller, checks the pod, and builds the host request; counts the outcome. */
  async prepare(route: RedirectRoute, socket: TLSSocket, rawHeaders: readonly string[], upgrade: boolean): Promise<Target> {
    try {
      const target = await this.#prepare(route, socket, rawHeaders, upgrade);
      this.#counter.inc({ subresource: route.subresource, result: 'forwarded' });
      return target;
    } catch (err) {
      this.#counter.inc({ subresource: route.subresource, result: err instanceof VcnetError ? String(err.status) : '500' });
      throw err;
    }
  }

  close(): void {
    if (this.#ownsHost) closeUpstream(this.host);
  }

  async #prepare(route: RedirectRoute, socket: TLSSocket, rawHeaders: readonly string[], upgrade: boolean): Promise<Target> {
    const split = splitHeaders(rawHeaders, upgrade);
    const caller = authenticate(socket, split.authorization);
    const authenticated = caller.kind === 'certificate'
      ? certificateUser(caller.user, caller.groups)
      : await this.#authenticateToken(caller.authorization);
    let user = authenticated;
    if (split.impersonation !== undefined) {
      await this.#impersonation.authorize(authenticated.user, authenticated.groups, split.impersonation);
      user = impersonatedUser(split.impersonation);
    }
    // One check per verb, in the API server's order; the first denial is the one reported.
    const checks = requiredVerbs(route).map((verb) => resourceAttributes(route, verb));
    const decisions = await Promise.all(checks.map((a) => this.#authorize(user, a)));
    const denied = decisions.findIndex((d) => !d.allowed);
    if (denied !== -1) {
      this.#log.debug({ user: user.user, verb: checks[denied]?.verb, subresource: route.subresource, namespace: route.namespace, pod: route.name }, 'redirect denied');
      throw forbidden(user, checks[denied] as ResourceAttributes, decisions[denied]?.reason);
    }

    const vPod = await this.#readPod(route);
    const problem = containerProblem(route, vPod);
    if (problem !== undefined) throw problem;

    const host = hostTarget(route, this.translator);
    const headers = ['Host', this.host.authority, ...split.forward];
    if (socket.remoteAddress !== undefined) appendForwardedFor(headers, socket.remoteAddress);
    if (this.host.token !== undefined) headers.push('Authorization', `Bearer ${this.host.token}`);
    this.#log.info({
      user: user.user, subresource: route.subresource, method: route.method,
      virtual: { namespace: route.namespace, name: route.name }, host: { namespace: host.namespace, name: host.name },
    }, 'redirecting to the host pod');
    return {
      upstream: this.host,
      withIdentity: true,
      path: host.path,
      headers,
      rewriteError: (body) => hostStatusToVirtual(body, route, host),
    };
  }

  #authenticateToken(authorization: string): Promise<UserInfo> {
    const token = authorization.replace(/^bearer\s+/i, '').trim();
    const key = createHash('sha256').update(token).digest('hex');
    return this.#tokens.get(key, async () => {
      let user: UserInfo | undefined;
      try {
        user = await withTimeout(this.#virtual.reviewToken(token), 'TokenReview');
      } catch (err) {
        throw new VcnetError('VCN_ERR_PROXY_AUTHN_UNAVAILABLE', [toApiStatus(err).message], { cause: err });
      }
      if (user === undefined) throw new VcnetError('VCN_ERR_PROXY_TOKEN_REJECTED');
      return { ...user, groups: withImplicitGroups(user.user, user.groups) };
    });
  }

  async #authorize(user: UserInfo, a: ResourceAttributes): Promise<{ allowed: boolean; reason: string | undefined }> {
    try {
      // Only ALLOW is cached: a denial is thrown from the loader, and TtlCache forgets what throws.
      await this.#authz.get(decisionKey(user, a), async () => {
        let d: { allowed: boolean; reason: string | undefined };
        try {
          d = await withTimeout(this.#virtual.reviewAccess(user, a), 'SubjectAccessReview');
        } catch (err) {
          throw new VcnetError('VCN_ERR_PROXY_AUTHZ_UNAVAILABLE', [toApiStatus(err).message], { cause: err });
        }
        if (!d.allowed) throw new Denial(d.reason);
        return true;
      });
      return { allowed: true, reason: undefined };
    } catch (err) {
      if (err instanceof Denial) return { allowed: false, reason: err.reason };
      throw err;
    }
  }

  async #readPod(route: RedirectRoute): Promise<VirtualPod> {
    let vPod: VirtualPod | undefined;
    try {
      vPod = await withTimeout(this.#virtual.readPod(route.namespace, route.name), 'reading the virtual pod');
    } catch (err) {
      throw new VcnetError('VCN_ERR_PROXY_UPSTREAM_UNAVAILABLE', [toApiStatus(err).message], { cause: err });
    }
    if (vPod === undefined) throw podNotFound(route.name);
    return vPod;
  }
}

/** A denial travelling through the cache's loader (which keeps nothing that throws). */
class Denial {
  readonly reason: string | undefined;
  constructor(reason: string | undefined) { this.reason = reason; }
}

/** The virtual cluster's API with vcnet's identity from `kc`, through @kubernetes/client-node. */
export function virtualApiFromKubeConfig(kc: KubeConfig): VirtualApi {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async reviewToken(token) {
      const res = await authn.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const u = res.status?.user;
      if (res.status?.authenticated !== true || u?.username === undefined || u.username === '') return undefined;
      return { user: u.username, uid: u.uid, groups: u.groups ?? [], extra: u.extra ?? {} };
    },
    async reviewAccess(user, attributes) {
      const extra: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(user.extra)) extra[k] = [...v];
      const res = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.user,
            groups: [...user.groups],
            extra,
            ...(user.uid !== undefined && user.uid !== '' ? { uid: user.uid } : {}),
            resourceAttributes: { ...attributes },
          },
        },
      });
      return { allowed: res.status?.allowed === true && res.status.denied !== true, reason: res.status?.reason };
    },
    async readPod(namespace, name) {
      try {
        return await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}

function withTimeout<T>(p: Promise<T>, what: string, ms = REDIRECT_DEFAULTS.apiTimeoutMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `vcnet_proxy_redirects_total`, registered once per registry (several proxies may share one). */
function redirectCounter(registry: Registry): Counter<'subresource' | 'result'> {
  const name = 'vcnet_proxy_redirects_total';
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<'subresource' | 'result'>;
  return new Counter({
    name,
    help: 'Subresource redirects (pods/log, exec, attach, portforward of virtual pods, served by their host pods) by subresource and result: forwarded to the host, or the HTTP code vcnet refused with.',
    labelNames: ['subresource', 'result'],
    registers: [registry],
  });
}

/**
 * Values by key for a while. Concurrent lookups of a missing key share one load; a load that
 * throws is forgotten at once, so failures and denials are never cached.
 */
class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { value: Promise<V>; expires: number }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.expires > now) return hit.value;
    const value = load();
    if (this.#ttlMs === 0) return value;
    // Expiry counts from the load's start: a decision is never reused longer than the TTL after it was asked.
    const entry = { value, expires: now + this.#ttlMs };
    this.#entries.set(key, entry);
    value.catch(() => { if (this.#entries.get(key) === entry) this.#entries.delete(key); });
    if (this.#entries.size > MAX_CACHE_ENTRIES) this.#evict(now);
    return value;
  }

  #evict(now: number): void {
    for (const [k, v] of this.#entries) if (v.expires <= now) this.#entries.delete(k);
    for (const k of this.#entries.keys()) {
      if (this.#entries.size <= MAX_CACHE_ENTRIES / 2) break;
      this.#entries.delete(k);
    }
  }
}
