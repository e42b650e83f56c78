import t from 'tap';
import { splitHeaders, impersonationHeaders, responseHeaders } from '../../../src/proxy/headers.ts';

const cases: Array<{ name: string; raw: string[]; upgrade?: boolean; forward: string[]; authorization?: string; user?: string; groups?: string[]; extra?: Record<string, string[]>; remote?: boolean }> = [
  {
    name: 'forwards ordinary headers untouched and in order',
    raw: ['Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json', 'User-Agent', 'kubectl/v1.33', 'Content-Type', 'application/apply-patch+yaml'],
    forward: ['Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json', 'User-Agent', 'kubectl/v1.33', 'Content-Type', 'application/apply-patch+yaml'],
  },
  {
    name: 'lifts the Authorization header out of the forwarded list',
    raw: ['Authorization', 'Bearer abc', 'Accept', '*/*'],
    forward: ['Accept', '*/*'],
    authorization: 'Bearer abc',
  },
  {
    name: 'drops hop-by-hop headers and the Host header',
    raw: ['Host', 'proxy:8443', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'TE', 'trailers', 'Proxy-Authorization', 'Basic x', 'Accept', '*/*'],
    forward: ['Accept', '*/*'],
  },
  {
    name: 'drops every header named in Connection (RFC 7230 section 6.1)',
    raw: ['Connection', 'close, X-Secret', 'X-Secret', 'value', 'X-Kept', 'yes'],
    forward: ['X-Kept', 'yes'],
  },
  {
    name: 'keeps Connection and Upgrade on an upgrade request',
    raw: ['Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1', 'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'X-Stream-Protocol-Version', 'v5.channel.k8s.io'],
    upgrade: true,
    forward: ['Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1', 'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'X-Stream-Protocol-Version', 'v5.channel.k8s.io'],
  },
  {
    name: 'drops Upgrade on a request that is not handled as an upgrade',
    raw: ['Connection', 'Upgrade', 'Upgrade', 'websocket'],
    forward: [],
  },
  {
    name: 'keeps repeated Impersonate-Group lines as separate groups',
    raw: ['Impersonate-User', 'jane', 'Impersonate-Group', 'a', 'impersonate-group', 'b, c'],
    forward: [],
    user: 'jane',
    groups: ['a', 'b, c'],
  },
  {
    name: 'decodes Impersonate-Extra keys the way the API server does',
    raw: ['Impersonate-User', 'jane', 'Impersonate-Extra-Scopes%2Fwith%2Fslash', 'view', 'Impersonate-Extra-scopes%2Fwith%2Fslash', 'edit'],
    forward: [],
    user: 'jane',
    groups: [],
    extra: { 'scopes/with/slash': ['view', 'edit'] },
  },
  {
    name: 'drops forged X-Remote-* request-header identities',
    raw: ['X-Remote-User', 'admin', 'X-Remote-Group', 'system:masters', 'X-Remote-Extra-Foo', 'bar', 'Accept', '*/*'],
    forward: ['Accept', '*/*'],
    remote: true,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const s = splitHeaders(c.raw, c.upgrade ?? false);
    t.same(s.forward, c.forward);
    t.equal(s.authorization, c.authorization);
    t.equal(s.hadRemoteHeaders, c.remote ?? false);
    if (c.user === undefined && c.groups === undefined) {
      t.equal(s.impersonation, undefined);
    } else {
      t.equal(s.impersonation?.user, c.user);
      t.same(s.impersonation?.groups, c.groups);
      t.same(Object.fromEntries(s.impersonation?.extra ?? []), c.extra ?? {});
    }
  });
}

t.test('impersonation headers round-trip: one line per group and per extra value', async (t) => {
  const raw = ['Impersonate-User', 'jane', 'Impersonate-Uid', 'u-1', 'Impersonate-Group', 'a', 'Impersonate-Group', 'b', 'Impersonate-Extra-Scopes%2Fx', 'v1', 'Impersonate-Extra-Scopes%2Fx', 'v2'];
  const imp = splitHeaders(raw, false).impersonation;
  t.ok(imp);
  t.same(impersonationHeaders(imp!, false), ['Impersonate-User', 'jane', 'Impersonate-Uid', 'u-1', 'Impersonate-Group', 'a', 'Impersonate-Group', 'b', 'Impersonate-Extra-scopes%2Fx', 'v1', 'Impersonate-Extra-scopes%2Fx', 'v2']);
});

t.test('unknown Impersonate-* headers pass only for token callers (the API server judges those)', async (t) => {
  const imp = splitHeaders(['Impersonate-User', 'jane', 'Impersonate-Future', 'x'], false).impersonation!;
  t.same(impersonationHeaders(imp, true), ['Impersonate-User', 'jane', 'impersonate-future', 'x']);
  t.same(impersonationHeaders(imp, false), ['Impersonate-User', 'jane']);
});

t.test('response headers lose hop-by-hop fields and keep the rest', async (t) => {
  t.same(responseHeaders(['Content-Type', 'application/json', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'Audit-Id', 'x', 'Warning', '299 - "a"', 'Warning', '299 - "b"']),
    ['Content-Type', 'application/json', 'Audit-Id', 'x', 'Warning', '299 - "a"', 'Warning', '299 - "b"']);
});
