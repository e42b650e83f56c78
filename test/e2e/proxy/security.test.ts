// Who may use vcnet, and as whom. Every request is authenticated; identity headers from callers
// never pass unchecked; client certificates are verified by Node's TLS against the cluster CA.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { createCA, issueCert } from '../../../src/certs/index.ts';
import { testEnv, kubectl, tempDir, writeUserKubeconfig, uniqueName } from '../../harness/env.ts';
import { startTestProxy } from '../../harness/proxy.ts';
import { httpsRequest, type HttpsOptions, type HttpsReply } from '../../harness/http.ts';

const env = await testEnv();
const proxy = await startTestProxy(t);
const dir = tempDir(t);

function request(path: string, opts: Omit<HttpsOptions, 'ca'> = {}): Promise<HttpsReply> {
  return httpsRequest(`${proxy.url}${path}`, { ...opts, ca: proxy.caPem });
}

const whoamiBody = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
async function whoami(opts: Parameters<typeof request>[1]): Promise<{ status: number; username?: string; groups?: string[]; body: string }> {
  const r = await request('/apis/authentication.k8s.io/v1/selfsubjectreviews', { ...opts, method: 'POST', headers: { 'Content-Type': 'application/json', ...opts?.headers }, body: whoamiBody });
  const info = (r.json?.['status'] as { userInfo?: { username: string; groups: string[] } } | undefined)?.userInfo;
  return { status: r.status, body: r.body, ...(info !== undefined ? { username: info.username, groups: info.groups } : {}) };
}

const jane = await issueCert(env.state.virtual.ca, { commonName: 'jane', organizations: ['dev', 'qa'], usages: ['client'] });
const admin = await issueCert(env.state.virtual.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });

t.test('a request without credentials gets a 401 Status and nothing goes upstream', async (t) => {
  for (const path of ['/version', '/api/v1/namespaces', '/healthz', '/nope']) {
    const r = await request(path);
    t.equal(r.status, 401, path);
    t.equal(r.json?.['kind'], 'Status');
    t.equal(r.json?.['reason'], 'Unauthorized');
  }
  const basic = await request('/api', { headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' } });
  t.equal(basic.status, 401, 'basic auth is not a credential vcnet accepts');
});

t.test('kubectl without credentials gets nothing', async (t) => {
  const kc = writeUserKubeconfig(dir, 'nobody', proxy.url, proxy.caPem, { token: 'x' });
  // A kubeconfig user without any credential: kubectl sees the 401 and (stdin closed) gives up.
  writeFileSync(kc, readFileSync(kc, 'utf8').replace(/token: x/, '{}').replace(/user:\s*\{\}/, 'user: {}'));
  const r = await kubectl(kc, ['get', 'namespaces']);
  t.not(r.code, 0);
  t.notMatch(r.stdout, /kube-system|default/, 'no data');
});

t.test('a client certificate identifies the user by CN and the groups by O', async (t) => {
  const me = await whoami({ cert: jane });
  t.equal(me.status, 201, me.body);
  t.equal(me.username, 'jane');
  t.same(me.groups, ['dev', 'qa', 'system:authenticated']);
});

t.test('a client certificate from another CA is rejected, even one claiming system:masters', async (t) => {
  const otherCA = await createCA('evil-ca');
  const forged = await issueCert(otherCA, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  const r = await request('/api/v1/namespaces', { cert: forged });
  t.equal(r.status, 401);
  t.equal(r.json?.['reason'], 'Unauthorized');
  t.match(String(r.json?.['message']), /client certificate was rejected/);
  const kc = writeUserKubeconfig(dir, 'forged', proxy.url, proxy.caPem, forged);
  const k = await kubectl(kc, ['get', 'namespaces']);
  t.not(k.code, 0, 'kubectl fails too');
});

t.test('an expired client certificate is rejected', async (t) => {
  const expired = await issueCert(env.state.virtual.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'], validityDays: 1 }, { now: new Date(Date.now() - 3 * 86_400_000) });
  const r = await request('/api/v1/namespaces', { cert: expired });
  t.equal(r.status, 401);
});

t.test('forged X-Remote-* headers have no effect', async (t) => {
  const me = await whoami({ cert: jane, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters', 'X-Remote-Extra-Scopes': 'all' } });
  t.equal(me.username, 'jane');
  t.notOk(me.groups?.includes('system:masters'));
  const token = await whoami({ headers: { Authorization: `Bearer ${env.state.virtual.tokens.admin}`, 'X-Remote-User': 'someone-else' } });
  t.equal(token.username, 'admin', 'token callers stay who their token says');
});

t.test('a certificate user without the right to impersonate is refused with 403', async (t) => {
  const r = await whoami({ cert: jane, headers: { 'Impersonate-User': 'admin' } });
  t.equal(r.status, 403, r.body);
  t.match(r.body, /cannot impersonate/);
  const groupsOnly = await whoami({ cert: jane, headers: { 'Impersonate-Group': 'system:masters' } });
  t.equal(groupsOnly.status, 400, 'groups without a user are refused (as kube-apiserver does)');
  // kubectl reports it exactly as it does against the API server directly.
  // (Fresh discovery caches on both sides: kubectl caches per server address.)
  const viaProxy = await kubectl(writeUserKubeconfig(dir, 'jane', proxy.url, proxy.caPem, jane), ['get', 'namespaces', '--as', 'admin', `--cache-dir=${dir}/cache-proxy`]);
  const direct = await kubectl(writeUserKubeconfig(dir, 'jane-direct', env.state.virtual.url, env.state.virtual.caPem, jane), ['get', 'namespaces', '--as', 'admin', `--cache-dir=${dir}/cache-direct`]);
  const klog = (s: string): string => s.replace(/^E\d{4} [\d:.]+\s+\d+ /gm, '');
  t.not(viaProxy.code, 0);
  t.equal(viaProxy.code, direct.code);
  t.equal(klog(viaProxy.stderr), klog(direct.stderr));
  t.equal(viaProxy.stdout, '');
});

t.test('a user who may impersonate gets exactly the requested identity, groups one per header', async (t) => {
  const me = await whoami({ cert: admin, headers: { 'Impersonate-User': 'alice', 'Impersonate-Group': ['g1', 'g2'] } });
  t.equal(me.status, 201, me.body);
  t.equal(me.username, 'alice');
  t.same(me.groups, ['g1', 'g2', 'system:authenticated']);
  const kc = writeUserKubeconfig(dir, 'admin', proxy.url, proxy.caPem, admin);
  const k = await kubectl(kc, ['auth', 'whoami', '--as', 'bob', '--as-group', 'team-a', '-o', 'jsonpath={.status.userInfo.username}']);
  t.equal(k.stdout, 'bob', k.stderr);
});

t.test('RBAC granting impersonation is honoured for certificate users', async (t) => {
  const role = uniqueName('impersonate-bob');
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'clusterrole,clusterrolebinding', role, '--ignore-not-found']); });
  let r = await kubectl(env.virtualKubeconfig, ['create', 'clusterrole', role, '--verb=impersonate', '--resource=users', '--resource-name=bob']);
  t.equal(r.code, 0, r.stderr);
  r = await kubectl(env.virtualKubeconfig, ['create', 'clusterrolebinding', role, `--clusterrole=${role}`, '--user=jane']);
  t.equal(r.code, 0, r.stderr);
  // The API server's authorizer cache and vcnet's decision cache are both short; poll briefly.
  let me = await whoami({ cert: jane, headers: { 'Impersonate-User': 'bob' } });
  for (let i = 0; i < 30 && me.status !== 201; i++) {
    await new Promise((res) => setTimeout(res, 500));
    me = await whoami({ cert: jane, headers: { 'Impersonate-User': 'bob' } });
  }
  t.equal(me.status, 201, me.body);
  t.equal(me.username, 'bob');
  const other = await whoami({ cert: jane, headers: { 'Impersonate-User': 'carol' } });
  t.equal(other.status, 403, 'only the granted name');
});

t.test('bearer tokens pass through: the API server authenticates them and judges their impersonation', async (t) => {
  const ok = await whoami({ headers: { Authorization: `Bearer ${env.state.virtual.tokens.admin}` } });
  t.equal(ok.username, 'admin');
  const bad = await request('/api/v1/namespaces', { headers: { Authorization: 'Bearer not-a-token' } });
  t.equal(bad.status, 401);
  // A service-account token of an account without RBAC: it cannot impersonate.
  const ns = uniqueName('sa');
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']); });
  await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns]);
  await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'serviceaccount', 'robot']);
  const tok = await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'token', 'robot']);
  t.equal(tok.code, 0, tok.stderr);
  const robot = await whoami({ headers: { Authorization: `Bearer ${tok.stdout.trim()}` } });
  t.equal(robot.username, `system:serviceaccount:${ns}:robot`);
  const imp = await whoami({ headers: { Authorization: `Bearer ${tok.stdout.trim()}`, 'Impersonate-User': 'admin' } });
  t.equal(imp.status, 403);
  t.match(imp.body, /cannot impersonate/);
});
