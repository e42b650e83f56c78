// The AdmissionReview plugin, in process with fastify.inject(), fed AdmissionReviews captured from a
// real kube-apiserver (test/fixtures/admission).
import t from 'tap';
import type { Test } from 'tap';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import fastJsonPatch from 'fast-json-patch';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { VcnetError } from '../../../src/errors.ts';
import {
  allow, deny, handlerBudgetMs, mutate, webhookPlugin,
  type AdmissionRequest, type Decision, type HookContext, type WebhookHook, type WebhookPluginOptions,
} from '../../../src/webhook/index.ts';
import { loadReview, type AdmissionFixture, type WireObject } from '../../fixtures/admission/index.ts';

interface Served {
  inject(body: unknown, opts?: { path?: string; query?: string; contentType?: string }): Promise<{ statusCode: number; json: Record<string, any> }>;
  registry: Registry;
  logs: Array<Record<string, unknown>>;
}

/** A fastify app serving `hooks`, with its logs collected. */
async function serve(t: Test, hooks: WebhookHook[], opts: Partial<WebhookPluginOptions> = {}): Promise<Served> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(JSON.parse(String(chunk))); done(); } });
  const registry = new Registry();
  const app = Fastify({ loggerInstance: pino({ level: 'debug' }, sink) });
  await app.register(webhookPlugin, { hooks, registry, ...opts });
  t.teardown(() => app.close());
  return {
    registry,
    logs,
    async inject(body, o = {}) {
      const res = await app.inject({
        method: 'POST',
        url: `${o.path ?? hooks[0]!.path}${o.query ?? '?timeout=10s'}`,
        headers: { 'content-type': o.contentType ?? 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { statusCode: res.statusCode, json: res.json() };
    },
  };
}

const mutating = (handler: (req: AdmissionRequest<WireObject>, ctx: HookContext) => Promise<Decision>): WebhookHook =>
  ({ type: 'mutating', name: 'test-mutate', path: '/mutate', handler: handler as (req: AdmissionRequest) => Promise<Decision> });

function decodePatch(patch: string): fastJsonPatch.Operation[] {
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as fastJsonPatch.Operation[];
}

interface DecisionCase {
  name: string;
  fixture: AdmissionFixture;
  handler: (req: AdmissionRequest<WireObject>) => Promise<Decision>;
  /** Expected `response`, matched loosely (extra fields would be flagged by `absent`). */
  response: Record<string, unknown>;
  /** Fields the response must not carry. */
  absent?: string[];
  /** The exact JSON Patch the answer carries. */
  patch?: fastJsonPatch.Operation[];
}

const cases: DecisionCase[] = [
  {
    name: 'allows, echoing the request uid',
    fixture: 'create-pod',
    handler: async () => allow(),
    response: { uid: loadReview('create-pod').request.uid, allowed: true },
    absent: ['patch', 'patchType', 'status', 'warnings'],
  },
  {
    name: 'adds a whole labels map when the object has no labels yet',
    fixture: 'dryrun-create-configmap',
    handler: async (req) => {
      const obj = req.object!;
      obj.metadata!.labels = { 'vcnet.dev/mutated': 'true' };
      return mutate(obj);
    },
    response: { allowed: true, patchType: 'JSONPatch' },
    patch: [{ op: 'add', path: '/metadata/labels', value: { 'vcnet.dev/mutated': 'true' } }],
  },
  {
    name: 'adds a nested field whose parents are absent, and escapes "/" in label keys (RFC 6901)',
    fixture: 'create-pod',
    handler: async (req) => {
      const obj = req.object as WireObject & { spec: Record<string, unknown> };
      obj.spec['dnsConfig'] = { nameservers: ['10.96.0.10'], options: [{ name: 'ndots', value: '5' }] };
      obj.metadata!.labels!['vcluster.loft.sh/managed-by'] = 'vcnet';
      return mutate(obj);
    },
    response: { allowed: true, patchType: 'JSONPatch' },
    patch: [
      { op: 'add', path: '/spec/dnsConfig', value: { nameservers: ['10.96.0.10'], options: [{ name: 'ndots', value: '5' }] } },
      { op: 'add', path: '/metadata/labels/vcluster.loft.sh~1managed-by', value: 'vcnet' },
    ],
  },
  {
    name: 'sends no patch when the returned object equals the one received',
    fixture: 'update-service',
    handler: async (req) => mutate(req.object),
    response: { allowed: true },
    absent: ['patch', 'patchType'],
  },
  {
    name: 'never sends a patch on DELETE, even when the hook returns a mutation',
    fixture: 'delete-pod',
    handler: async (req) => {
      const old = req.oldObject!;
      old.metadata!.labels = { deleted: 'yes' };
      return mutate(old);
    },
    response: { allowed: true },
    absent: ['patch', 'patchType'],
  },
  {
    name: 'denies with a 403 Forbidden Status carrying the hook message',
    fixture: 'create-service',
    handler: async () => deny('services of type LoadBalancer are not allowed in this virtual cluster'),
    response: { allowed: false, status: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'services of type LoadBalancer are not allowed in this virtual cluster' } },
    absent: ['patch', 'patchType'],
  },
  {
    name: 'denies with the code, reason and warnings the hook chose',
    fixture: 'create-service',
    handler: async () => deny('the host already has a service "api"', { code: 409, reason: 'AlreadyExists', warnings: ['host namespace is vcluster-ns'] }),
    response: { allowed: false, status: { code: 409, reason: 'AlreadyExists', message: 'the host already has a service "api"' }, warnings: ['host namespace is vcluster-ns'] },
  },
  {
    name: 'passes warnings on an allow',
    fixture: 'create-pod',
    handler: async () => allow(['hostPort is ignored by vcnet']),
    response: { allowed: true, warnings: ['hostPort is ignored by vcnet'] },
  },
  {
    name: 'answers a VcnetError thrown by the hook as a deny with its code and message, not as a crash',
    fixture: 'create-pod',
    handler: async () => { throw new VcnetError('VCN_ERR_CONFIG_INVALID', ['sync.toHost.pods.enabled is false']); },
    response: { allowed: false, status: { code: 400, reason: 'Invalid', message: 'invalid configuration: sync.toHost.pods.enabled is false' } },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const served = await serve(t, [mutating(c.handler)]);
    const sent = loadReview(c.fixture);
    const res = await served.inject(sent);
    t.equal(res.statusCode, 200);
    t.equal(res.json['apiVersion'], 'admission.k8s.io/v1', 'apiVersion exactly as the API server requires');
    t.equal(res.json['kind'], 'AdmissionReview');
    const response = res.json['response'] as Record<string, unknown>;
    t.equal(response['uid'], sent.request.uid, 'the request uid is echoed');
    t.match(response, c.response);
    for (const field of c.absent ?? []) t.notOk(field in response, `no ${field}`);
    if (c.patch !== undefined) {
      const ops = decodePatch(response['patch'] as string);
      t.same(ops, c.patch);
      const patched = fastJsonPatch.applyPatch(loadReview(c.fixture).request.object, ops, true, false).newDocument;
      const expected = await c.handler(loadReview(c.fixture).request) as { object: unknown };
      t.same(patched, expected.object, 'applying the patch to the original gives the mutated object');
    }
  });
}

t.test('the hook gets its own copy of the request as sent, dryRun included', async (t) => {
  let seen: AdmissionRequest<WireObject> | undefined;
  const served = await serve(t, [mutating(async (req) => {
    seen = structuredClone(req);
    req.object!.metadata!.name = 'edited-in-place';
    return allow();
  })]);
  const res = await served.inject(loadReview('dryrun-create-configmap'));
  t.same(seen, loadReview('dryrun-create-configmap').request, 'object and options untouched: no coercion, no stripping');
  t.equal(seen?.dryRun, true);
  t.notOk('patch' in res.json['response'], 'editing the copy without returning a mutation changes nothing');
});

t.test('keys such as __proto__ (a valid ConfigMap data key) reach the hook as plain data and stay out of the patch', async (t) => {
  let seenData: Record<string, unknown> | undefined;
  const served = await serve(t, [mutating(async (req) => {
    const obj = req.object as WireObject & { data: Record<string, unknown> };
    seenData = obj.data;
    obj.metadata!.labels = { seen: 'yes' };
    return mutate(obj);
  })]);
  const body = JSON.stringify(loadReview('dryrun-create-configmap')).replace('"data":{', '"data":{"__proto__":"x","constructor":{"prototype":{"y":1}},');
  const res = await served.inject(body);
  t.equal(res.statusCode, 200);
  t.ok(Object.hasOwn(seenData ?? {}, '__proto__'), '__proto__ is an own key');
  t.equal(Object.getPrototypeOf(seenData), Object.prototype, 'and not the prototype');
  t.same(decodePatch(res.json['response']['patch']), [{ op: 'add', path: '/metadata/labels', value: { seen: 'yes' } }]);
});

t.test('malformed envelopes get a 400 Status and never reach the hook', async (t) => {
  const review = (edit: (r: Record<string, any>) => void) => { const r = loadReview('create-pod') as unknown as Record<string, any>; edit(r); return r; };
  const envelopes: Array<[string, unknown, RegExp]> = [
    ['admission.k8s.io/v1beta1', review((r) => { r['apiVersion'] = 'admission.k8s.io/v1beta1'; }), /apiVersion must be "admission.k8s.io\/v1".*v1beta1/],
    ['kind Status', review((r) => { r['kind'] = 'Status'; }), /kind must be "AdmissionReview"/],
    ['no request', review((r) => { delete r['request']; }), /request is missing/],
    ['no uid', review((r) => { delete r['request'].uid; }), /request.uid is missing/],
    ['unknown operation', review((r) => { r['request'].operation = 'PATCH'; }), /operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/],
    ['a JSON array', [loadReview('create-pod')], /not a JSON object/],
  ];
  let calls = 0;
  const served = await serve(t, [mutating(async () => { calls++; return allow(); })]);
  for (const [name, body, message] of envelopes) {
    const res = await served.inject(body);
    t.equal(res.statusCode, 400, name);
    t.match(res.json, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message }, name);
  }
  const notJson = await served.inject('{"apiVersion": "admission.k8s.io/v1", ');
  t.match(notJson, { statusCode: 400, json: { kind: 'Status', code: 400, reason: 'BadRequest' } }, 'a body that is not JSON');
  const yaml = await served.inject('apiVersion: admission.k8s.io/v1', { contentType: 'application/yaml' });
  t.match(yaml, { statusCode: 415, json: { kind: 'Status', code: 415, reason: 'UnsupportedMediaType' } }, 'a body that is not JSON by content type');
  t.equal(calls, 0);
});

t.test('bodies up to 7 MiB are answered (an UPDATE carries two objects); larger ones get a 413 Status', async (t) => {
  const served = await serve(t, [mutating(async () => allow())]);
  const sized = (bytes: number) => {
    const r = loadReview('update-service');
    const filler = 'x'.repeat(bytes / 2);
    (r.request.object as WireObject).metadata!.annotations = { filler };
    (r.request.oldObject as WireObject).metadata!.annotations = { filler };
    return r;
  };
  t.equal((await served.inject(sized(6.5 * 1024 * 1024))).statusCode, 200, '6.5 MiB');
  const big = await served.inject(sized(7.5 * 1024 * 1024));
  t.equal(big.statusCode, 413);
  t.match(big.json, { kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
});

t.test('a hook that crashes gets a 500 Status (so failurePolicy applies) and is logged', async (t) => {
  const served = await serve(t, [mutating(async () => { throw new TypeError("Cannot read properties of undefined (reading 'spec')"); })]);
  const sent = loadReview('create-pod');
  const res = await served.inject(sent);
  t.equal(res.statusCode, 500);
  t.match(res.json, { kind: 'Status', code: 500, reason: 'InternalError', message: /vcnet webhook "test-mutate" failed: Cannot read properties of undefined/ });
  const logged = served.logs.find((l) => l['msg'] === 'admission hook crashed');
  t.match(logged, { level: 50, hook: 'test-mutate', uid: sent.request.uid, operation: 'CREATE', err: { type: 'TypeError' } });
});

t.test('a hook that throws synchronously is a crash too', async (t) => {
  const served = await serve(t, [mutating((() => { throw new Error('boom'); }) as never)]);
  t.equal((await served.inject(loadReview('create-pod'))).statusCode, 500);
});

t.test('a validating hook that returns a mutation is a bug: 500, never a patch', async (t) => {
  const hook = { type: 'validating', name: 'test-validate', path: '/validate', handler: async (req: AdmissionRequest) => mutate(req.object) } as unknown as WebhookHook;
  const served = await serve(t, [hook]);
  const res = await served.inject(loadReview('create-pod'));
  t.equal(res.statusCode, 500);
  t.match(res.json, { message: /validating hook "test-validate" returned a mutation/ });
});

t.test('a hook slower than the API server timeout is denied with 504 before the API server gives up, and aborted', async (t) => {
  let aborted: unknown;
  const served = await serve(t, [mutating((_req, ctx) => new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason; resolve(allow()); });
  }))]);
  const started = Date.now();
  const res = await served.inject(loadReview('create-pod'), { query: '?timeout=1s' });
  const took = Date.now() - started;
  t.ok(took < 1000, `answered within the 1 s the API server waits (${took} ms)`);
  t.equal(res.statusCode, 200);
  t.match(res.json['response'], { allowed: false, status: { code: 504, reason: 'Timeout', message: /vcnet webhook "test-mutate" did not decide within 500 ms/ } });
  t.match(aborted, /deadline of 500 ms passed/);
});

t.test('the hook budget keeps a margin for the rounded-up timeout, and at least half of it', async (t) => {
  const rows: Array<[number, number, number]> = [[10, 1500, 8500], [30, 1500, 28500], [2, 1500, 1000], [1, 1500, 500], [10, 0, 10_000]];
  for (const [seconds, margin, budget] of rows) t.equal(handlerBudgetMs(seconds, margin), budget, `${seconds}s with ${margin} ms margin`);
});

t.test('requests are counted by hook, operation and result, with their latency', async (t) => {
  const served = await serve(t, [mutating(async (req) => {
    if (req.operation === 'DELETE') return deny('no');
    const obj = req.object!;
    obj.metadata!.labels = { ...obj.metadata!.labels, seen: 'yes' };
    return mutate(obj);
  })]);
  await served.inject(loadReview('create-pod'));
  await served.inject(loadReview('create-service'));
  await served.inject(loadReview('delete-pod'));
  await served.inject({ kind: 'AdmissionReview' });
  const text = await served.registry.metrics();
  t.match(text, /vcnet_webhook_requests_total\{hook="test-mutate",operation="CREATE",result="patched"\} 2/);
  t.match(text, /vcnet_webhook_requests_total\{hook="test-mutate",operation="DELETE",result="denied"\} 1/);
  t.match(text, /vcnet_webhook_requests_total\{hook="test-mutate",operation="unknown",result="bad_request"\} 1/);
  t.match(text, /vcnet_webhook_request_duration_seconds_count\{hook="test-mutate",operation="CREATE"\} 2/);
});

t.test('two hooks on one server answer on their own paths, and share one registry', async (t) => {
  const registry = new Registry();
  const hooks: WebhookHook[] = [
    { type: 'mutating', name: 'a', path: '/a', handler: async () => allow() },
    { type: 'validating', name: 'b', path: '/b', handler: async () => deny('b says no') },
  ];
  const served = await serve(t, hooks, { registry });
  await serve(t, hooks, { registry });
  t.match((await served.inject(loadReview('create-pod'), { path: '/a' })).json['response'], { allowed: true });
  t.match((await served.inject(loadReview('create-pod'), { path: '/b' })).json['response'], { allowed: false, status: { message: 'b says no' } });
});

t.test('options are checked when the plugin registers', async (t) => {
  const ok: WebhookHook = { type: 'mutating', name: 'a', path: '/a', handler: async () => allow() };
  const bad: Array<[string, unknown, RegExp]> = [
    ['no hooks', { hooks: [], registry: new Registry() }, /options.hooks must list at least one hook/],
    ['no registry', { hooks: [ok] }, /options.registry must be a prom-client Registry/],
    ['a relative path', { hooks: [{ ...ok, path: 'a' }], registry: new Registry() }, /hooks\[0\].path must be an absolute path/],
    ['a path with a query', { hooks: [{ ...ok, path: '/a?x=1' }], registry: new Registry() }, /hooks\[0\].path must be an absolute path without query/],
    ['an unknown type', { hooks: [{ ...ok, type: 'audit' }], registry: new Registry() }, /hooks\[0\].type must be "mutating" or "validating", got "audit"/],
    ['no handler', { hooks: [{ ...ok, handler: undefined }], registry: new Registry() }, /hooks\[0\].handler must be a function/],
    ['a duplicate path', { hooks: [ok, { ...ok, name: 'b' }], registry: new Registry() }, /hooks\[1\].path "\/a" is used twice/],
    ['a duplicate name', { hooks: [ok, { ...ok, path: '/b' }], registry: new Registry() }, /hooks\[1\].name "a" is used twice/],
    ['a negative body limit', { hooks: [ok], registry: new Registry(), bodyLimit: -1 }, /options.bodyLimit must be a non-negative integer/],
  ];
  for (const [name, opts, message] of bad) {
    const app = Fastify();
    await t.rejects(async () => { await app.register(webhookPlugin, opts as WebhookPluginOptions); await app.ready(); }, { name: 'TypeError', message }, name);
    await app.close();
  }
});
