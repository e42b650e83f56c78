// Who may reach a host pod through a subresource redirect. vcnet's host credentials could exec into
// any pod of its host namespace, so the VIRTUAL cluster's RBAC for the caller decides, checked by
// vcnet (TokenReview, SubjectAccessReview) before a byte goes to the host; and only what the
// virtual pod has is reachable (not the injected init container, not a pod that does not exist).
import t from 'tap';
import { clientCert, kubectl } from '../../harness/env.ts';
import { httpsRequest } from '../../harness/http.ts';
import { INJECTED_INIT, READ_PODS, VCLUSTER, redirectFixture, redirects } from './fixture.ts';

const f = await redirectFixture(t);
const pod = 'web';
await f.pod(pod);

const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
const PROTOCOLS = [{ name: 'WebSocket', env: {} }, { name: 'SPDY', env: SPDY }] as const;
const forbiddenExec = (user: string) => `pods "${pod}" is forbidden: User "${user}" cannot create resource "pods/exec" in API group "" in the namespace "${f.vns}"`;

// Users of the VIRTUAL cluster. Each may read pods (kubectl reads the pod before it streams), so
// what is tested is the subresource check, not the virtual API server's GET.
const reader = await f.certUser('reader', [READ_PODS]);
const logger = await f.certUser('logger', [READ_PODS, { resources: ['pods/log'], verbs: ['get'] }]);
const operator = await f.certUser('operator', [READ_PODS, { resources: ['pods/log'], verbs: ['get'] }, { resources: ['pods/exec', 'pods/portforward'], verbs: ['get', 'create'] }]);
const robot = await f.tokenUser('robot', [READ_PODS]);
const tokenOperator = await f.tokenUser('token-operator', [READ_PODS, { resources: ['pods/exec'], verbs: ['get', 'create'] }]);

for (const p of PROTOCOLS) {
  t.test(`over ${p.name}`, async (t) => {
    t.test('a certificate user without RBAC for pods/exec is refused, in the API server\'s words', async (t) => {
      const r = await kubectl(reader, ['-n', f.vns, 'exec', pod, '--', 'echo', 'should not run'], { env: p.env });
      t.not(r.code, 0);
      t.equal(r.stdout, '', 'nothing ran');
      t.match(r.stderr, forbiddenExec('reader'));
    });

    t.test('a bearer-token user without RBAC for pods/exec is refused', async (t) => {
      const r = await kubectl(robot.kubeconfig, ['-n', f.vns, 'exec', pod, '--', 'echo', 'should not run'], { env: p.env });
      t.not(r.code, 0);
      t.equal(r.stdout, '');
      t.match(r.stderr, forbiddenExec(`system:serviceaccount:${f.vns}:robot`));
    });

    t.test('a bearer-token user WITH RBAC for pods/exec gets in (the TokenReview identified it)', async (t) => {
      const r = await kubectl(tokenOperator.kubeconfig, ['-n', f.vns, 'exec', pod, '--', 'echo', 'token ok'], { env: p.env });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'token ok\n');
    });

    t.test('a user allowed pods/log only may read logs but not exec or port-forward', async (t) => {
      const logs = await kubectl(logger, ['-n', f.vns, 'logs', pod, '--tail=1']);
      t.equal(logs.code, 0, logs.stderr);
      t.match(logs.stdout, /./);
      const exec = await kubectl(logger, ['-n', f.vns, 'exec', pod, '--', 'echo', 'should not run'], { env: p.env });
      t.not(exec.code, 0);
      t.equal(exec.stdout, '');
      t.match(exec.stderr, forbiddenExec('logger'));
    });

    t.test('a user allowed exec gets in', async (t) => {
      const r = await kubectl(operator, ['-n', f.vns, 'exec', pod, '--', 'echo', 'operator ok'], { env: p.env });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'operator ok\n');
    });

    t.test(`the injected ${INJECTED_INIT} container is not reachable`, async (t) => {
      const r = await kubectl(f.admin, ['-n', f.vns, 'exec', pod, '-c', INJECTED_INIT, '--', 'echo', 'should not run'], { env: p.env });
      t.not(r.code, 0);
      t.equal(r.stdout, '');
      t.match(r.stderr, `container ${INJECTED_INIT} is not valid for pod ${pod}`);
    });
  });
}

t.test('a user without RBAC for pods/log may not read logs', async (t) => {
  const r = await kubectl(reader, ['-n', f.vns, 'logs', pod]);
  t.not(r.code, 0);
  t.equal(r.stdout, '');
  t.match(r.stderr, `pods "${pod}" is forbidden: User "reader" cannot get resource "pods/log" in API group "" in the namespace "${f.vns}"`);
});

t.test('logs of the injected container are refused too', async (t) => {
  const r = await kubectl(f.admin, ['-n', f.vns, 'logs', pod, '-c', INJECTED_INIT]);
  t.not(r.code, 0);
  t.equal(r.stdout, '');
  t.match(r.stderr, `container ${INJECTED_INIT} is not valid for pod ${pod}`);
});

t.test('impersonation: the impersonated user is the one authorized, once impersonating is allowed', async (t) => {
  const asReader = await kubectl(f.admin, ['-n', f.vns, '--as', 'reader', 'exec', pod, '--', 'echo', 'should not run'], { env: SPDY });
  t.not(asReader.code, 0, 'admin acting as reader has reader\'s rights only');
  t.match(asReader.stderr, forbiddenExec('reader'));
  const asOperator = await kubectl(f.admin, ['-n', f.vns, '--as', 'operator', 'exec', pod, '--', 'echo', 'as operator'], { env: SPDY });
  t.equal(asOperator.code, 0, asOperator.stderr);
  t.equal(asOperator.stdout, 'as operator\n');
  const escalate = await kubectl(operator, ['-n', f.vns, '--as', 'admin', '--as-group', 'system:masters', 'logs', pod]);
  t.not(escalate.code, 0, 'a user who may not impersonate cannot borrow rights');
  t.match(escalate.stderr, /forbidden: User "operator" cannot impersonate/);
});

t.test('raw requests: exact Status answers', async (t) => {
  const admin = await clientCert('virtual', 'admin', ['system:masters']);
  const call = (path: string, opts: { token?: string; method?: string } = {}) => httpsRequest(`${f.proxy.url}${path}`, {
    ca: f.proxy.caPem, method: opts.method ?? 'GET',
    ...(opts.token === undefined ? { cert: admin } : { headers: { Authorization: `Bearer ${opts.token}` } }),
  });

  t.test('a pod that does not exist is a 404 under its virtual name', async (t) => {
    const r = await call(`/api/v1/namespaces/${f.vns}/pods/ghost/log`);
    t.equal(r.status, 404);
    t.same(r.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "ghost" not found', reason: 'NotFound', code: 404, details: { name: 'ghost', kind: 'pods' } });
    const exec = await call(`/api/v1/namespaces/${f.vns}/pods/ghost/exec?command=ls`, { method: 'POST' });
    t.equal(exec.status, 404);
    t.equal(exec.json?.['message'], 'pods "ghost" not found');
  });

  t.test('a bearer token the virtual cluster does not know is a 401', async (t) => {
    const r = await call(`/api/v1/namespaces/${f.vns}/pods/${pod}/log`, { token: 'not-a-real-token' });
    t.equal(r.status, 401);
    t.equal(r.json?.['reason'], 'Unauthorized');
    const host = await call(`/api/v1/namespaces/${f.vns}/pods/${pod}/log`, { token: f.env.state.host.tokens.admin });
    t.equal(host.status, 401, 'nor does a HOST admin token open a virtual pod');
  });

  t.test('a token user without RBAC is a 403 with the forbidden Status', async (t) => {
    const r = await call(`/api/v1/namespaces/${f.vns}/pods/${pod}/log`, { token: robot.token });
    t.equal(r.status, 403);
    t.equal(r.json?.['reason'], 'Forbidden');
    t.same(r.json?.['details'], { name: pod, kind: 'pods' });
    t.equal(r.json?.['message'], `pods "${pod}" is forbidden: User "system:serviceaccount:${f.vns}:robot" cannot get resource "pods/log" in API group "" in the namespace "${f.vns}"`);
  });

  t.test('a WebSocket GET to exec needs create as well as get (Kubernetes 1.35)', async (t) => {
    await f.certUser('get-only', [READ_PODS, { resources: ['pods/exec'], verbs: ['get'] }]);
    const cert = await clientCert('virtual', 'get-only');
    const r = await httpsRequest(`${f.proxy.url}/api/v1/namespaces/${f.vns}/pods/${pod}/exec?command=ls&stdout=true`, {
      ca: f.proxy.caPem, cert,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' },
    });
    // Node's client reports a refused upgrade as an ordinary response.
    t.equal(r.status, 403, r.body);
    t.equal(r.json?.['message'], forbiddenExec('get-only'), 'allowed get, refused for the missing create');
  });
});

t.test('a virtual pod whose host twin is missing: the host\'s answer comes back in virtual words', async (t) => {
  await f.pod('lonely', { hostTwin: false });
  const hName = f.translator.hostName('lonely', f.vns);
  t.equal(hName, `lonely-x-${f.vns}-x-${VCLUSTER}`);
  const logs = await kubectl(f.admin, ['-n', f.vns, 'logs', 'lonely']);
  t.not(logs.code, 0);
  t.match(logs.stderr, 'pods "lonely" not found');
  t.notMatch(logs.stderr, hName, 'no host name leaks');
  t.notMatch(logs.stderr, f.hns, 'no host namespace leaks');
  for (const p of PROTOCOLS) {
    const exec = await kubectl(f.admin, ['-n', f.vns, 'exec', 'lonely', '--', 'echo', 'x'], { env: p.env });
    t.not(exec.code, 0, p.name);
    t.match(exec.stderr, /"lonely" not found/, `${p.name}: the upgrade's refusal names the virtual pod`);
    t.notMatch(exec.stderr, hName, `${p.name}: no host name leaks`);
  }
});

t.test('refusals are counted by subresource and code', async (t) => {
  t.ok(await redirects(f.proxy, 'exec', '403') >= 6, 'exec refusals');
  t.ok(await redirects(f.proxy, 'log', '403') >= 2, 'log refusals');
  t.ok(await redirects(f.proxy, 'log', '401') >= 2, 'unauthenticated');
  t.ok(await redirects(f.proxy, 'log', '404') >= 1, 'missing pod');
  t.ok(await redirects(f.proxy, 'exec', '400') >= 2, 'hidden container');
  t.ok(await redirects(f.proxy, 'exec', 'forwarded') >= 4, 'allowed execs');
});
