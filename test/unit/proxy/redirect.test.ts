import t from 'tap';
import { VcnetError } from '../../../src/errors.ts';
import { splitHeaders } from '../../../src/proxy/headers.ts';
import {
  certificateUser, containerProblem, decisionKey, forbidden, hostStatusToVirtual, hostTarget, impersonatedUser,
  matchRedirect, podNotFound, requiredVerbs, resourceAttributes, withImplicitGroups,
  type RedirectRoute, type UserInfo, type VirtualPod,
} from '../../../src/proxy/redirect.ts';
import { errorToStatus } from '../../../src/proxy/status.ts';
import { Translator } from '../../../src/translate/names.ts';

const translator = new Translator({ vcluster: 'vc', hostNamespace: 'vc-host' });

t.test('matchRedirect', async (t) => {
  const cases: Array<{ name: string; method: string; url: string; expected: RedirectRoute | undefined }> = [
    {
      name: 'matches an exec POST (SPDY) and keeps the query string',
      method: 'POST', url: '/api/v1/namespaces/team/pods/web/exec?command=sh&container=app&stdin=true',
      expected: { method: 'POST', namespace: 'team', name: 'web', subresource: 'exec', query: '?command=sh&container=app&stdin=true' },
    },
    {
      name: 'matches an exec GET (WebSocket)',
      method: 'GET', url: '/api/v1/namespaces/team/pods/web/exec?command=ls',
      expected: { method: 'GET', namespace: 'team', name: 'web', subresource: 'exec', query: '?command=ls' },
    },
    {
      name: 'matches log without a query',
      method: 'GET', url: '/api/v1/namespaces/team/pods/web/log',
      expected: { method: 'GET', namespace: 'team', name: 'web', subresource: 'log', query: '' },
    },
    {
      name: 'matches attach and portforward',
      method: 'GET', url: '/api/v1/namespaces/team/pods/web/portforward?ports=80',
      expected: { method: 'GET', namespace: 'team', name: 'web', subresource: 'portforward', query: '?ports=80' },
    },
    {
      name: 'matches attach over POST',
      method: 'POST', url: '/api/v1/namespaces/team/pods/web/attach?stdout=true',
      expected: { method: 'POST', namespace: 'team', name: 'web', subresource: 'attach', query: '?stdout=true' },
    },
    {
      name: 'decodes percent-encoded segments as the API server does',
      method: 'GET', url: '/api/v1/namespaces/te%61m/pods/w%65b/log',
      expected: { method: 'GET', namespace: 'team', name: 'web', subresource: 'log', query: '' },
    },
    { name: 'leaves a log POST to the virtual API server (log has no POST)', method: 'POST', url: '/api/v1/namespaces/team/pods/web/log', expected: undefined },
    { name: 'leaves other methods alone', method: 'PUT', url: '/api/v1/namespaces/team/pods/web/exec', expected: undefined },
    { name: 'leaves the pod itself alone', method: 'GET', url: '/api/v1/namespaces/team/pods/web', expected: undefined },
    { name: 'leaves pods/proxy alone (the virtual API server serves it, as in vCluster)', method: 'GET', url: '/api/v1/namespaces/team/pods/web/proxy', expected: undefined },
    { name: 'leaves pods/status alone', method: 'GET', url: '/api/v1/namespaces/team/pods/web/status', expected: undefined },
    { name: 'leaves a trailing path alone', method: 'GET', url: '/api/v1/namespaces/team/pods/web/log/extra', expected: undefined },
    { name: 'leaves services alone', method: 'GET', url: '/api/v1/namespaces/team/services/web/exec', expected: undefined },
    { name: 'leaves other API groups alone', method: 'GET', url: '/apis/apps/v1/namespaces/team/pods/web/log', expected: undefined },
    { name: 'needs a namespace', method: 'GET', url: '/api/v1/namespaces//pods/web/log', expected: undefined },
    { name: 'refuses an encoded slash in a name', method: 'GET', url: '/api/v1/namespaces/team/pods/a%2Fb/log', expected: undefined },
    { name: 'refuses a malformed escape', method: 'GET', url: '/api/v1/namespaces/team/pods/%E0%A4%A/log', expected: undefined },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.same(matchRedirect(c.method, c.url), c.expected); });
});

const route = (over: Partial<RedirectRoute> = {}): RedirectRoute => ({ method: 'POST', namespace: 'team', name: 'web', subresource: 'exec', query: '', ...over });

t.test('requiredVerbs', async (t) => {
  const cases = [
    { name: 'log needs get', route: route({ method: 'GET', subresource: 'log' }), verbs: ['get'] },
    { name: 'a SPDY exec (POST) needs create', route: route({ method: 'POST', subresource: 'exec' }), verbs: ['create'] },
    { name: 'a WebSocket exec (GET) needs get and, as since Kubernetes 1.35, create', route: route({ method: 'GET', subresource: 'exec' }), verbs: ['get', 'create'] },
    { name: 'a WebSocket attach needs get and create', route: route({ method: 'GET', subresource: 'attach' }), verbs: ['get', 'create'] },
    { name: 'a WebSocket port-forward needs get and create', route: route({ method: 'GET', subresource: 'portforward' }), verbs: ['get', 'create'] },
    { name: 'a SPDY port-forward needs create', route: route({ method: 'POST', subresource: 'portforward' }), verbs: ['create'] },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.same(requiredVerbs(c.route), c.verbs); });
});

t.test('identity for authorization', async (t) => {
  const imp = (raw: string[]) => splitHeaders(raw, false).impersonation!;
  const cases: Array<{ name: string; got: () => UserInfo | string[]; expected: UserInfo | string[] }> = [
    { name: 'an authenticated user gets system:authenticated', got: () => withImplicitGroups('jane', ['dev']), expected: ['dev', 'system:authenticated'] },
    { name: 'system:authenticated is not added twice', got: () => withImplicitGroups('jane', ['system:authenticated']), expected: ['system:authenticated'] },
    { name: 'system:unauthenticated suppresses system:authenticated', got: () => withImplicitGroups('jane', ['system:unauthenticated']), expected: ['system:unauthenticated'] },
    { name: 'system:anonymous gets system:unauthenticated', got: () => withImplicitGroups('system:anonymous', []), expected: ['system:unauthenticated'] },
    {
      name: 'a certificate user is its CN and Os plus system:authenticated',
      got: () => certificateUser('jane', ['dev', 'ops']),
      expected: { user: 'jane', groups: ['dev', 'ops', 'system:authenticated'], extra: {} },
    },
    {
      name: 'an impersonated user takes only the requested groups, uid and extra',
      got: () => impersonatedUser(imp(['Impersonate-User', 'bob', 'Impersonate-Group', 'g1', 'Impersonate-Uid', 'u-1', 'Impersonate-Extra-Scopes', 'a', 'Impersonate-Extra-Scopes', 'b'])),
      expected: { user: 'bob', uid: 'u-1', groups: ['g1', 'system:authenticated'], extra: { scopes: ['a', 'b'] } },
    },
    {
      name: 'an impersonated service account without groups gets its fixed groups',
      got: () => impersonatedUser(imp(['Impersonate-User', 'system:serviceaccount:team:robot'])),
      expected: { user: 'system:serviceaccount:team:robot', uid: undefined, groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'], extra: {} },
    },
    {
      name: 'an impersonated service account with groups keeps just those',
      got: () => impersonatedUser(imp(['Impersonate-User', 'system:serviceaccount:team:robot', 'Impersonate-Group', 'g'])),
      expected: { user: 'system:serviceaccount:team:robot', uid: undefined, groups: ['g', 'system:authenticated'], extra: {} },
    },
    {
      name: 'unknown Impersonate-* headers are ignored, as the API server ignores them',
      got: () => impersonatedUser(imp(['Impersonate-User', 'bob', 'Impersonate-Whatever', 'x'])),
      expected: { user: 'bob', uid: undefined, groups: ['system:authenticated'], extra: {} },
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.same(c.got(), c.expected); });
  t.test('impersonating groups without a user is a bad request', async (t) => {
    t.throws(() => impersonatedUser(imp(['Impersonate-Group', 'g'])), { code: 'VCN_ERR_PROXY_BAD_REQUEST' });
  });
});

t.test('decisionKey', async (t) => {
  const a = resourceAttributes(route(), 'create');
  const u = (over: Partial<UserInfo>): UserInfo => ({ user: 'jane', groups: ['a', 'b'], extra: { k: ['1', '2'] }, ...over });
  t.equal(decisionKey(u({}), a), decisionKey(u({ groups: ['b', 'a'], extra: { k: ['2', '1'] } }), a), 'order of groups and extra values does not matter');
  const different: Array<[string, string]> = [
    ['another user', decisionKey(u({ user: 'bob' }), a)],
    ['another group set', decisionKey(u({ groups: ['a'] }), a)],
    ['another extra', decisionKey(u({ extra: { k: ['1'] } }), a)],
    ['another uid', decisionKey(u({ uid: 'x' }), a)],
    ['another verb', decisionKey(u({}), resourceAttributes(route(), 'get'))],
    ['another subresource', decisionKey(u({}), resourceAttributes(route({ subresource: 'attach' }), 'create'))],
    ['another pod', decisionKey(u({}), resourceAttributes(route({ name: 'db' }), 'create'))],
    ['another namespace', decisionKey(u({}), resourceAttributes(route({ namespace: 'other' }), 'create'))],
  ];
  for (const [what, key] of different) t.not(key, decisionKey(u({}), a), `${what} is another decision`);
  t.not(decisionKey(u({ user: 'a","b' }), a), decisionKey(u({ user: 'a', groups: ['b', 'a', 'b'] }), a), 'separators cannot be forged');
});

t.test('forbidden and not found are worded as kube-apiserver words them', async (t) => {
  const user = certificateUser('jane', []);
  const cases = [
    {
      name: 'a denied exec',
      err: forbidden(user, resourceAttributes(route(), 'create'), undefined),
      status: 403, reason: 'Forbidden',
      message: 'pods "web" is forbidden: User "jane" cannot create resource "pods/exec" in API group "" in the namespace "team"',
    },
    {
      name: 'a denied log, with the authorizer\'s reason',
      err: forbidden(user, resourceAttributes(route({ method: 'GET', subresource: 'log' }), 'get'), 'no RBAC policy matched'),
      status: 403, reason: 'Forbidden',
      message: 'pods "web" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the namespace "team": no RBAC policy matched',
    },
    {
      name: 'HTML in a user name is escaped as the API server escapes it',
      err: forbidden(certificateUser('<b>', []), resourceAttributes(route(), 'create'), undefined),
      status: 403, reason: 'Forbidden',
      message: 'pods "web" is forbidden: User "&lt;b&gt;" cannot create resource "pods/exec" in API group "" in the namespace "team"',
    },
    { name: 'a missing pod', err: podNotFound('web'), status: 404, reason: 'NotFound', message: 'pods "web" not found' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const { status } = errorToStatus(c.err);
      t.equal(status.code, c.status);
      t.equal(status.reason, c.reason);
      t.equal(status.message, c.message);
      t.same(status.details, { name: 'web', kind: 'pods' });
    });
  }
});

t.test('containerProblem', async (t) => {
  const pod = (containers: string[], init: string[] = [], ephemeral: string[] = []): VirtualPod => ({
    metadata: { name: 'web' },
    spec: { containers: containers.map((name) => ({ name })), initContainers: init.map((name) => ({ name })), ephemeralContainers: ephemeral.map((name) => ({ name })) },
  });
  const cases: Array<{ name: string; route: RedirectRoute; pod: VirtualPod; message?: string }> = [
    { name: 'allows a container of the virtual pod', route: route({ query: '?container=app&command=ls' }), pod: pod(['app', 'side']) },
    { name: 'allows a virtual init container', route: route({ subresource: 'log', method: 'GET', query: '?container=setup' }), pod: pod(['app'], ['setup']) },
    { name: 'allows an ephemeral (debug) container', route: route({ subresource: 'attach', query: '?container=debugger' }), pod: pod(['app'], [], ['debugger']) },
    { name: 'allows no container when the pod has exactly one (the host picks the same)', route: route({ query: '?command=ls' }), pod: pod(['app'], ['setup']) },
    { name: 'treats an empty container as none', route: route({ query: '?container=' }), pod: pod(['app']) },
    { name: 'port-forward names no container', route: route({ subresource: 'portforward', query: '?ports=80' }), pod: pod(['app', 'side']) },
    {
      name: 'refuses the injected vcluster-rewrite-hosts init container, which only the host pod has',
      route: route({ query: '?container=vcluster-rewrite-hosts&command=sh' }), pod: pod(['app']),
      message: 'container vcluster-rewrite-hosts is not valid for pod web',
    },
    {
      name: 'refuses a hidden second container value',
      route: route({ query: '?container=app&container=vcluster-rewrite-hosts' }), pod: pod(['app']),
      message: 'container vcluster-rewrite-hosts is not valid for pod web',
    },
    {
      name: 'asks for a container when the pod has several, listing the virtual ones only',
      route: route({ subresource: 'log', method: 'GET', query: '?follow=true' }), pod: pod(['app', 'side'], ['setup']),
      message: 'a container name must be specified for pod web, choose one of: [setup app side]',
    },
    {
      name: 'asks for a container when the pod has none',
      route: route(), pod: { metadata: { name: 'web' }, spec: {} },
      message: 'a container name must be specified for pod web',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const problem = containerProblem(c.route, c.pod);
      if (c.message === undefined) { t.equal(problem, undefined); return; }
      t.ok(problem instanceof VcnetError);
      const { status } = errorToStatus(problem);
      t.equal(status.code, 400);
      t.equal(status.reason, 'BadRequest');
      t.equal(status.message, c.message);
    });
  }
});

t.test('hostTarget', async (t) => {
  const cases = [
    {
      name: 'rewrites namespace and name, keeps subresource and query',
      route: route({ query: '?command=ls&container=app' }),
      expected: { namespace: 'vc-host', name: 'web-x-team-x-vc', path: '/api/v1/namespaces/vc-host/pods/web-x-team-x-vc/exec?command=ls&container=app' },
    },
    {
      name: 'uses the hashed host name past 63 characters',
      route: route({ subresource: 'log', method: 'GET', name: 'a-very-long-pod-name-that-goes-on-and-on-and-on', namespace: 'some-namespace' }),
      expected: (() => {
        const name = translator.hostName('a-very-long-pod-name-that-goes-on-and-on-and-on', 'some-namespace');
        return { namespace: 'vc-host', name, path: `/api/v1/namespaces/vc-host/pods/${name}/log` };
      })(),
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.same(hostTarget(c.route, translator), c.expected); });
  t.ok(hostTarget(cases[1]!.route, translator).name.length <= 63, 'the hashed name fits');
});

t.test('hostStatusToVirtual', async (t) => {
  const r = route({ method: 'GET', subresource: 'log' });
  const host = { namespace: 'vc-host', name: 'web-x-team-x-vc' };
  const status = (message: string, details?: Record<string, unknown>) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400, ...(details ? { details } : {}) });
  const cases = [
    {
      name: 'a waiting container names the virtual pod',
      body: status('container "app" in pod "web-x-team-x-vc" is waiting to start: ContainerCreating'),
      message: 'container "app" in pod "web" is waiting to start: ContainerCreating', details: undefined,
    },
    {
      name: 'a missing host pod is reported under its virtual name and namespace',
      body: status('pods "web-x-team-x-vc" not found', { name: 'web-x-team-x-vc', kind: 'pods' }),
      message: 'pods "web" not found', details: { name: 'web', kind: 'pods' },
    },
    {
      name: 'the host namespace becomes the virtual one',
      body: status('pods "web-x-team-x-vc" is forbidden: User "vcnet" cannot get resource "pods/log" in API group "" in the namespace "vc-host"'),
      message: 'pods "web" is forbidden: User "vcnet" cannot get resource "pods/log" in API group "" in the namespace "team"', details: undefined,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const out = JSON.parse(hostStatusToVirtual(c.body, r, host)!);
      t.equal(out.message, c.message);
      t.same(out.details, c.details);
      t.equal(out.code, 400, 'everything else is kept');
    });
  }
  t.equal(hostStatusToVirtual('not json', r, host), undefined, 'leaves a non-JSON body alone');
  t.equal(hostStatusToVirtual('{"kind":"Pod"}', r, host), undefined, 'leaves a non-Status body alone');
});
