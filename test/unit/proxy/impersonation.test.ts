import t from 'tap';
import { ImpersonationAuthorizer, checksFor, type ResourceCheck } from '../../../src/proxy/impersonation.ts';
import { splitHeaders } from '../../../src/proxy/headers.ts';
import { VcnetError } from '../../../src/errors.ts';

const imp = (raw: string[]) => splitHeaders(raw, false).impersonation!;

const cases: Array<{ name: string; raw: string[]; checks: ResourceCheck[] }> = [
  { name: 'a user is checked as resource users', raw: ['Impersonate-User', 'jane'], checks: [{ resource: 'users', name: 'jane' }] },
  {
    name: 'a service account user is checked as serviceaccounts in its namespace',
    raw: ['Impersonate-User', 'system:serviceaccount:team-a:robot'],
    checks: [{ resource: 'serviceaccounts', namespace: 'team-a', name: 'robot' }],
  },
  {
    name: 'a malformed service account name is checked as a plain user',
    raw: ['Impersonate-User', 'system:serviceaccount:only-one-part'],
    checks: [{ resource: 'users', name: 'system:serviceaccount:only-one-part' }],
  },
  {
    name: 'every group, the uid and every extra value are checked',
    raw: ['Impersonate-User', 'jane', 'Impersonate-Group', 'a', 'Impersonate-Group', 'b', 'Impersonate-Uid', 'u1', 'Impersonate-Extra-Scopes', 's1', 'Impersonate-Extra-Scopes', 's2'],
    checks: [
      { resource: 'users', name: 'jane' }, { resource: 'groups', name: 'a' }, { resource: 'groups', name: 'b' },
      { resource: 'uids', name: 'u1' }, { resource: 'userextras', subresource: 'scopes', name: 's1' }, { resource: 'userextras', subresource: 'scopes', name: 's2' },
    ],
  },
];
for (const c of cases) {
  t.test(c.name, async (t) => { t.same(checksFor(imp(c.raw)), c.checks); });
}

function recorder(allowed: (c: ResourceCheck) => boolean) {
  const calls: Array<{ user: string; groups: readonly string[]; check: ResourceCheck }> = [];
  return {
    calls,
    review: async (user: string, groups: readonly string[], check: ResourceCheck) => { calls.push({ user, groups, check }); return allowed(check); },
  };
}

t.test('allowed when every check is allowed; the reviewer sees the caller', async (t) => {
  const r = recorder(() => true);
  await new ImpersonationAuthorizer(r.review, 10).authorize('admin', ['ops'], imp(['Impersonate-User', 'jane', 'Impersonate-Group', 'g']));
  t.same(r.calls.map((c) => [c.user, c.groups, c.check.resource]), [['admin', ['ops'], 'users'], ['admin', ['ops'], 'groups']]);
});

t.test('refused with 403 naming the first denied attribute, in kube-apiserver\'s words', async (t) => {
  const r = recorder((c) => c.resource !== 'groups');
  const err = await new ImpersonationAuthorizer(r.review, 10).authorize('jane', [], imp(['Impersonate-User', 'bob', 'Impersonate-Group', 'system:masters'])).catch((e: unknown) => e);
  t.ok(err instanceof VcnetError);
  t.equal((err as VcnetError).status, 403);
  t.equal((err as VcnetError).message, 'groups "system:masters" is forbidden: User "jane" cannot impersonate resource "groups" in API group "" at the cluster scope');
});

t.test('a denied service account names its namespace', async (t) => {
  const r = recorder(() => false);
  const err = await new ImpersonationAuthorizer(r.review, 10).authorize('jane', [], imp(['Impersonate-User', 'system:serviceaccount:ns1:sa'])).catch((e: unknown) => e) as VcnetError;
  t.match(err.message, /cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1"/);
});

t.test('groups without a user are refused before any review', async (t) => {
  const r = recorder(() => true);
  const err = await new ImpersonationAuthorizer(r.review, 10).authorize('admin', [], imp(['Impersonate-Group', 'g'])).catch((e: unknown) => e) as VcnetError;
  t.equal(err.status, 400);
  t.equal(r.calls.length, 0);
});

t.test('decisions are cached per caller and attribute for the configured time', async (t) => {
  let now = 1_000_000;
  t.teardown(() => { Date.now = realNow; });
  const realNow = Date.now;
  Date.now = () => now;
  const r = recorder(() => true);
  const a = new ImpersonationAuthorizer(r.review, 10);
  const jane = imp(['Impersonate-User', 'jane']);
  await a.authorize('admin', [], jane);
  await a.authorize('admin', [], jane);
  t.equal(r.calls.length, 1, 'the second request reuses the decision');
  await a.authorize('other-admin', [], jane);
  t.equal(r.calls.length, 2, 'another caller is reviewed on its own');
  await a.authorize('admin', ['extra-group'], jane);
  t.equal(r.calls.length, 3, 'the same user with other groups is reviewed on its own');
  now += 10_001;
  await a.authorize('admin', [], jane);
  t.equal(r.calls.length, 4, 'after the TTL the decision is made again');
});

t.test('a failed review refuses with 503, is not cached, and never lets the request through', async (t) => {
  let fail = true;
  const a = new ImpersonationAuthorizer(async () => { if (fail) throw new Error('connection refused'); return true; }, 10);
  const jane = imp(['Impersonate-User', 'jane']);
  const err = await a.authorize('admin', [], jane).catch((e: unknown) => e) as VcnetError;
  t.equal(err.status, 503);
  t.match(err.message, /connection refused/);
  fail = false;
  await a.authorize('admin', [], jane);
  t.pass('the next request is reviewed again and allowed');
});

t.test('concurrent requests for the same decision share one review', async (t) => {
  const r = recorder(() => true);
  const a = new ImpersonationAuthorizer(r.review, 10);
  const jane = imp(['Impersonate-User', 'jane']);
  await Promise.all(Array.from({ length: 20 }, () => a.authorize('admin', [], jane)));
  t.equal(r.calls.length, 1);
});
