import t from 'tap';
import { readFileSync } from 'node:fs';
import { ApiException } from '@kubernetes/client-node';
import {
  fromHttpAnswer, isAlreadyExists, isConflict, isGone, isNotFound, isRetryable, KubeApiError, toApiStatus,
} from '../../../src/kube/errors.ts';

// Status bodies captured from a real kube-apiserver 1.33 (see the file for each request).
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/statuses.json', import.meta.url), 'utf8')) as Record<string, { code: number; body: string }>;
const answer = (name: string): ApiException<string> => {
  const f = fixtures[name];
  if (f === undefined) throw new Error(`no fixture ${name}`);
  // What the generated clients throw: the HTTP code and the raw body text.
  return new ApiException(f.code, 'Unknown API Status Code!', f.body, { 'content-type': 'application/json' });
};

const statusCases = [
  { name: 'a missing object is NotFound, not retryable', fixture: 'not-found', code: 404, reason: 'NotFound', retryable: false, notFound: true, conflict: false, exists: false, detailsName: 'missing' },
  { name: 'creating an existing object is AlreadyExists and not a Conflict', fixture: 'already-exists', code: 409, reason: 'AlreadyExists', retryable: false, notFound: false, conflict: false, exists: true, detailsName: 'cm' },
  { name: 'a stale resourceVersion on update is a Conflict, not AlreadyExists', fixture: 'conflict', code: 409, reason: 'Conflict', retryable: false, notFound: false, conflict: true, exists: false, detailsName: 'cm' },
  { name: 'a validation failure keeps its 422 and field causes', fixture: 'invalid', code: 422, reason: 'Invalid', retryable: false, notFound: false, conflict: false, exists: false, detailsName: 'Bad_Name' },
  { name: 'a write into a missing namespace is NotFound for the namespace', fixture: 'namespace-not-found', code: 404, reason: 'NotFound', retryable: false, notFound: true, conflict: false, exists: false, detailsName: 'no-such-ns-x' },
  { name: 'an RBAC refusal is Forbidden and not retryable', fixture: 'forbidden', code: 403, reason: 'Forbidden', retryable: false, notFound: false, conflict: false, exists: false, detailsName: undefined },
  { name: 'a resourceVersion from the future is a retryable 504 that asks for a delay', fixture: 'too-large-resource-version', code: 504, reason: 'Timeout', retryable: true, notFound: false, conflict: false, exists: false, detailsName: undefined },
  { name: 'an unknown path answers a 404 Status with empty details', fixture: 'unknown-path', code: 404, reason: 'NotFound', retryable: false, notFound: true, conflict: false, exists: false, detailsName: undefined },
];

for (const c of statusCases) {
  t.test(c.name, async (t) => {
    const err = answer(c.fixture);
    const s = toApiStatus(err);
    const body = JSON.parse((fixtures[c.fixture] as { body: string }).body) as { message: string };
    t.equal(s.code, c.code);
    t.equal(s.reason, c.reason);
    t.equal(s.message, body.message, 'the server message is kept word for word');
    t.equal(s.retryable, c.retryable);
    t.equal(s.details?.name, c.detailsName);
    t.equal(isNotFound(err), c.notFound, 'isNotFound');
    t.equal(isConflict(err), c.conflict, 'isConflict');
    t.equal(isAlreadyExists(err), c.exists, 'isAlreadyExists');
    t.equal(isRetryable(err), c.retryable, 'isRetryable');
  });
}

t.test('the field causes of an Invalid answer survive', async (t) => {
  const s = toApiStatus(answer('invalid'));
  t.equal(s.details?.causes?.[0]?.field, 'metadata.name');
  t.equal(s.details?.causes?.[0]?.reason, 'FieldValueInvalid');
});

t.test('the retry delay the server asks for is kept', async (t) => {
  t.equal(toApiStatus(answer('too-large-resource-version')).details?.retryAfterSeconds, 1);
});

t.test('a watch ERROR event with 410 Expired is Gone', async (t) => {
  // The object of `{"type":"ERROR"}` when a watch starts from a compacted resourceVersion
  // (apimachinery errors.NewResourceExpired).
  const event = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1 (293)', reason: 'Expired', code: 410 };
  const s = toApiStatus(event);
  t.same({ code: s.code, reason: s.reason, retryable: s.retryable }, { code: 410, reason: 'Expired', retryable: false });
  t.ok(isGone(event));
  t.notOk(isGone(answer('not-found')));
});

const bareCases = [
  { name: 'an empty 401 (the generated clients drop its body) is Unauthorized', code: 401, body: undefined, reason: 'Unauthorized', retryable: false },
  { name: 'a proxy\'s HTML 502 page is a retryable InternalError quoting the page', code: 502, body: '<html>Bad Gateway</html>', reason: 'InternalError', retryable: true },
  { name: 'a plain-text 429 is TooManyRequests and retryable', code: 429, body: 'slow down', reason: 'TooManyRequests', retryable: true },
  { name: 'a plain-text 503 is ServiceUnavailable and retryable', code: 503, body: 'no endpoints', reason: 'ServiceUnavailable', retryable: true },
  { name: 'an unknown 4xx without a Status is a non-retryable BadRequest', code: 418, body: 'teapot', reason: 'BadRequest', retryable: false },
];

for (const c of bareCases) {
  t.test(c.name, async (t) => {
    const s = toApiStatus(new ApiException(c.code, 'Unknown API Status Code!', c.body, {}));
    t.equal(s.code, c.code, 'the HTTP code is kept');
    t.equal(s.reason, c.reason);
    t.equal(s.retryable, c.retryable);
    if (typeof c.body === 'string') t.match(s.message, c.body);
    else t.match(s.message, String(c.code));
  });
}

t.test('a Retry-After header makes an answer retryable and sets retryAfterSeconds', async (t) => {
  const s = fromHttpAnswer(500, '{"kind":"Status","code":500,"reason":"InternalError","message":"etcd busy"}', '3');
  t.equal(s.retryable, true);
  t.equal(s.details?.retryAfterSeconds, 3);
  t.notOk(toApiStatus(new ApiException(500, 'x', '{"kind":"Status","code":500,"reason":"InternalError","message":"etcd busy"}', {})).retryable,
    'without it a 500 is not retried blindly');
  t.ok(toApiStatus(new ApiException(500, 'x', 'busy', { 'Retry-After': '2' })).retryable, 'the header is found whatever its case');
});

t.test('the HTTP code wins over a different code inside the Status', async (t) => {
  t.equal(fromHttpAnswer(404, '{"kind":"Status","code":500,"reason":"NotFound","message":"gone"}').code, 404);
});

const sysErr = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const fetchFailed = (cause: Error): Error => new TypeError('fetch failed', { cause });

const networkCases = [
  { name: 'a refused connection behind fetch is a retryable 503 naming the socket error', err: fetchFailed(sysErr('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:45999')), code: 503, reason: 'ServiceUnavailable', retryable: true, cause: 'ECONNREFUSED' },
  { name: 'a reset connection is a retryable 503', err: sysErr('ECONNRESET', 'socket hang up'), code: 503, reason: 'ServiceUnavailable', retryable: true, cause: 'ECONNRESET' },
  { name: 'an unknown host is a retryable 503', err: sysErr('ENOTFOUND', 'getaddrinfo ENOTFOUND api.invalid'), code: 503, reason: 'ServiceUnavailable', retryable: true, cause: 'ENOTFOUND' },
  { name: 'a connect timeout is a retryable 504 Timeout', err: fetchFailed(sysErr('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error')), code: 504, reason: 'Timeout', retryable: true, cause: 'UND_ERR_CONNECT_TIMEOUT' },
  { name: 'an aborted-by-timeout request is a retryable 504', err: new DOMException('The operation was aborted due to timeout', 'TimeoutError'), code: 504, reason: 'Timeout', retryable: true, cause: 'TimeoutError' },
  { name: 'an untrusted server certificate is a 503 that is not retried', err: fetchFailed(sysErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate')), code: 503, reason: 'ServiceUnavailable', retryable: false, cause: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
];

for (const c of networkCases) {
  t.test(c.name, async (t) => {
    const s = toApiStatus(c.err);
    t.same({ code: s.code, reason: s.reason, retryable: s.retryable }, { code: c.code, reason: c.reason, retryable: c.retryable });
    t.equal(s.details?.causes?.[0]?.reason, c.cause);
    t.match(s.message, /Kubernetes API server/);
    t.equal(isRetryable(c.err), c.retryable);
  });
}

t.test('a programming error is an Unknown 500 that is not retried', async (t) => {
  const s = toApiStatus(new TypeError('x is not a function'));
  t.same({ code: s.code, reason: s.reason, retryable: s.retryable }, { code: 500, reason: 'Unknown', retryable: false });
  t.match(s.message, 'x is not a function');
});

t.test('a KubeApiError carries its Status through unchanged', async (t) => {
  const status = { code: 410, reason: 'Expired', message: 'too old', details: undefined, retryable: false };
  const err = new KubeApiError(status);
  t.equal(err.message, 'too old');
  t.equal(toApiStatus(err), status);
  t.ok(isGone(err));
});
