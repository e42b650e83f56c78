// The redirect's calls in order, with an in-memory stand-in for vcnet's virtual API calls (the
// VirtualApi seam): who is reviewed, what is cached, what is refused. The real calls against real
// control planes are in test/integration/proxy-redirect.
import t from 'tap';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { VcnetError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { ImpersonationAuthorizer } from '../../../src/proxy/impersonation.ts';
import type { ResourceAttributes, UserInfo, VirtualPod } from '../../../src/proxy/redirect.ts';
import { Redirector, type VirtualApi } from '../../../src/proxy/redirector.ts';
import { closeUpstream, upstreamFromKubeConfig } from '../../../src/proxy/upstream.ts';
import { Translator } from '../../../src/translate/names.ts';

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'host', server: 'https://127.0.0.1:1', skipTLSVerify: false }],
  users: [{ name: 'vcnet', token: 'host-token' }],
  contexts: [{ name: 'host', cluster: 'host', user: 'vcnet' }],
  currentContext: 'host',
});
const host = upstreamFromKubeConfig(kc);
t.teardown(() => closeUpstream(host));

interface Fake extends VirtualApi {
  tokens: string[];
  reviews: Array<{ user: UserInfo; attributes: ResourceAttributes }>;
  reads: string[];
}

function fakeVirtual(opts: {
  allow?: (u: UserInfo, a: ResourceAttributes) => boolean | Error;
  users?: Record<string, UserInfo | Error>;
  pods?: Record<string, VirtualPod>;
} = {}): Fake {
  const fake: Fake = {
    tokens: [], reviews: [], reads: [],
    async reviewToken(token) {
      fake.tokens.push(token);
      const u = opts.users?.[token];
      if (u instanceof Error) throw u;
      return u;
    },
    async reviewAccess(user, attributes) {
      fake.reviews.push({ user, attributes });
      const d = (opts.allow ?? (() => true))(user, attributes);
      if (d instanceof Error) throw d;
      return { allowed: d, reason: undefined };
    },
    async readPod(namespace, name) {
      fake.reads.push(`${namespace}/${name}`);
      return (opts.pods ?? { 'team/web': { metadata: { name: 'web' }, spec: { containers: [{ name: 'app' }] } } })[`${namespace}/${name}`];
    },
  };
  return fake;
}

function redirector(virtualApi: VirtualApi, more: { authzCacheSeconds?: number; impersonationAllowed?: boolean } = {}) {
  const registry = new Registry();
  const r = new Redirector({
    host,
    translator: new Translator({ vcluster: 'vc', hostNamespace: 'vc-host' }),
    virtualApi,
    ...(more.authzCacheSeconds !== undefined ? { authzCacheSeconds: more.authzCacheSeconds } : {}),
    impersonation: new ImpersonationAuthorizer(async () => more.impersonationAllowed ?? true, 10),
    registry,
    log: createLogger('silent') as unknown as FastifyBaseLogger,
  });
  return { r, registry };
}

function certSocket(cn: string, o: string[] = []): TLSSocket {
  return { getPeerCertificate: () => ({ subject: { CN: cn, O: o } }), authorized: true, remoteAddress: '10.0.0.7' } as unknown as TLSSocket;
}
const tokenSocket = { getPeerCertificate: () => ({}), authorized: false, remoteAddress: '10.0.0.8' } as unknown as TLSSocket;

async function run(r: Redirector, url: string, socket: TLSSocket, headers: string[] = [], method = 'POST') {
  const route = r.match(method, url);
  if (route === undefined) throw new Error(`no route for ${method} ${url}`);
  return r.prepare(route, socket, headers, true);
}

const refusal = (p: Promise<unknown>): Promise<VcnetError> => p.then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as VcnetError);

const EXEC = '/api/v1/namespaces/team/pods/web/exec?command=ls&container=app';

t.test('an allowed certificate caller goes to the host pod with vcnet\'s host credentials only', async (t) => {
  const v = fakeVirtual();
  const { r } = redirector(v);
  const target = await run(r, EXEC, certSocket('jane', ['dev']), [
    'Authorization', 'Bearer client-token', 'Impersonate-Extra-Foo', 'bar', 'X-Remote-User', 'root',
    'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1',
  ]).catch((e: unknown) => e);
  // Impersonate-Extra without Impersonate-User is refused before anything is reviewed.
  t.equal((target as VcnetError).status, 400);
  t.equal(v.reviews.length, 0);

  const ok = await run(r, EXEC, certSocket('jane', ['dev']), [
    'Authorization', 'Bearer client-token', 'X-Remote-User', 'root',
    'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1',
  ]);
  t.equal(ok.upstream, host);
  t.equal(ok.withIdentity, true);
  t.equal(ok.path, '/api/v1/namespaces/vc-host/pods/web-x-team-x-vc/exec?command=ls&container=app');
  t.same(ok.headers, [
    'Host', '127.0.0.1:1', 'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1',
    'X-Forwarded-For', '10.0.0.7', 'Authorization', 'Bearer host-token',
  ]);
  t.same(v.reviews.map((x) => [x.user.user, x.user.groups, x.attributes.verb, x.attributes.subresource, x.attributes.namespace, x.attributes.name]), [
    ['jane', ['dev', 'system:authenticated'], 'create', 'exec', 'team', 'web'],
  ]);
  t.same(v.reads, ['team/web']);
});

t.test('a WebSocket exec is checked for get, then create; the first denial is reported', async (t) => {
  const v = fakeVirtual({ allow: (_u, a) => a.verb === 'create' });
  const { r } = redirector(v);
  const err = await refusal(run(r, EXEC, certSocket('jane'), [], 'GET'));
  t.equal(err.status, 403);
  t.equal(err.message, 'pods "web" is forbidden: User "jane" cannot get resource "pods/exec" in API group "" in the namespace "team"');
  t.same(v.reviews.map((x) => x.attributes.verb).sort(), ['create', 'get']);
  t.same(v.reads, [], 'a denied caller learns nothing about the pod');
});

t.test('allow decisions are cached; denials and failures are not', async (t) => {
  let allowed: boolean | Error = true;
  const v = fakeVirtual({ allow: () => allowed });
  const { r } = redirector(v);
  await run(r, EXEC, certSocket('jane'));
  await run(r, EXEC, certSocket('jane'));
  t.equal(v.reviews.length, 1, 'the second request reuses the allow');
  await run(r, EXEC, certSocket('jane', ['other']));
  t.equal(v.reviews.length, 2, 'other groups are another decision');
  await run(r, '/api/v1/namespaces/team/pods/web/attach?container=app', certSocket('jane'));
  t.equal(v.reviews.length, 3, 'another subresource is another decision');

  const { r: r2 } = redirector(v);
  allowed = false;
  await refusal(run(r2, EXEC, certSocket('bob')));
  await refusal(run(r2, EXEC, certSocket('bob')));
  t.equal(v.reviews.length, 5, 'a denial is asked again');
  allowed = new Error('connect ECONNREFUSED');
  const err = await refusal(run(r2, EXEC, certSocket('bob')));
  t.equal(err.status, 503, 'a failed review refuses with 503');
  t.equal(err.code, 'VCN_ERR_PROXY_AUTHZ_UNAVAILABLE');
  allowed = true;
  await run(r2, EXEC, certSocket('bob'));
  t.equal(v.reviews.length, 7, 'after a failure the next request is reviewed again and allowed');
});

t.test('authzCacheSeconds 0 reviews every request', async (t) => {
  const v = fakeVirtual();
  const { r } = redirector(v, { authzCacheSeconds: 0 });
  await run(r, EXEC, certSocket('jane'));
  await run(r, EXEC, certSocket('jane'));
  t.equal(v.reviews.length, 2);
});

t.test('bearer tokens are authenticated by TokenReview, cached by hash; failures are not cached', async (t) => {
  const robot: UserInfo = { user: 'system:serviceaccount:team:robot', uid: 'u1', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['JTI=1'] } };
  const users: Record<string, UserInfo | Error> = { good: robot, flaky: new Error('connect ECONNREFUSED') };
  const v = fakeVirtual({ users });
  const { r } = redirector(v);
  await run(r, EXEC, tokenSocket, ['Authorization', 'Bearer good']);
  await run(r, EXEC, tokenSocket, ['Authorization', 'bearer good']);
  t.same(v.tokens, ['good'], 'one TokenReview for two requests');
  t.same(v.reviews[0]?.user, robot, 'the SubjectAccessReview carries the whole user: groups, uid and extra');

  const rejected = await refusal(run(r, EXEC, tokenSocket, ['Authorization', 'Bearer nope']));
  t.equal(rejected.status, 401);
  t.equal(rejected.message, 'Unauthorized');
  await refusal(run(r, EXEC, tokenSocket, ['Authorization', 'Bearer nope']));
  t.same(v.tokens, ['good', 'nope', 'nope'], 'a rejected token is reviewed again');

  const down = await refusal(run(r, EXEC, tokenSocket, ['Authorization', 'Bearer flaky']));
  t.equal(down.status, 503);
  t.equal(down.code, 'VCN_ERR_PROXY_AUTHN_UNAVAILABLE');
  users['flaky'] = robot;
  await run(r, EXEC, tokenSocket, ['Authorization', 'Bearer flaky']);
  t.pass('after a failed TokenReview the next request is reviewed again');

  const none = await refusal(run(r, EXEC, tokenSocket));
  t.equal(none.status, 401, 'no credentials at all');
});

t.test('impersonation: authorized first, then the impersonated user is the one reviewed', async (t) => {
  const v = fakeVirtual();
  const { r } = redirector(v);
  await run(r, EXEC, certSocket('admin', ['ops']), ['Impersonate-User', 'jane', 'Impersonate-Group', 'dev']);
  t.same(v.reviews.map((x) => [x.user.user, x.user.groups]), [['jane', ['dev', 'system:authenticated']]]);

  const v2 = fakeVirtual();
  const { r: denied } = redirector(v2, { impersonationAllowed: false });
  const err = await refusal(run(denied, EXEC, certSocket('jane'), ['Impersonate-User', 'admin']));
  t.equal(err.status, 403);
  t.equal(err.code, 'VCN_ERR_PROXY_IMPERSONATION_FORBIDDEN');
  t.equal(v2.reviews.length, 0, 'nothing else is reviewed');

  const v3 = fakeVirtual({ users: { tok: { user: 'robot', groups: [], extra: {} } } });
  const { r: byToken } = redirector(v3);
  await run(byToken, EXEC, tokenSocket, ['Authorization', 'Bearer tok', 'Impersonate-User', 'jane']);
  t.same(v3.reviews.map((x) => x.user.user), ['jane'], 'a token caller may impersonate too, once allowed');
});

t.test('the virtual pod must exist and the container must be in its virtual spec', async (t) => {
  const v = fakeVirtual();
  const { r, registry } = redirector(v);
  const missing = await refusal(run(r, '/api/v1/namespaces/team/pods/ghost/exec?container=app', certSocket('jane')));
  t.equal(missing.status, 404);
  t.equal(missing.message, 'pods "ghost" not found');
  const hidden = await refusal(run(r, '/api/v1/namespaces/team/pods/web/exec?container=vcluster-rewrite-hosts', certSocket('jane')));
  t.equal(hidden.status, 400);
  t.equal(hidden.message, 'container vcluster-rewrite-hosts is not valid for pod web');
  await run(r, '/api/v1/namespaces/team/pods/web/log?follow=true', certSocket('jane'), [], 'GET');

  const metrics = await registry.getSingleMetricAsString('vcnet_proxy_redirects_total');
  t.match(metrics, /vcnet_proxy_redirects_total\{subresource="exec",result="404"\} 1/);
  t.match(metrics, /vcnet_proxy_redirects_total\{subresource="exec",result="400"\} 1/);
  t.match(metrics, /vcnet_proxy_redirects_total\{subresource="log",result="forwarded"\} 1/);
});

t.test('a failing pod read refuses with 503', async (t) => {
  const v = fakeVirtual();
  v.readPod = async () => { throw new Error('connect ECONNREFUSED'); };
  const { r } = redirector(v);
  const err = await refusal(run(r, EXEC, certSocket('jane')));
  t.equal(err.status, 503);
});

t.test('cache times are checked when the redirector is built', async (t) => {
  t.throws(() => redirector(fakeVirtual(), { authzCacheSeconds: -1 }), RangeError);
  t.throws(() => redirector(fakeVirtual(), { authzCacheSeconds: Number.NaN }), RangeError);
});
