import t from 'tap';
import { readFileSync } from 'node:fs';
import { Errors, VcnetError, type ErrorCode } from '../../src/errors.ts';
import { errorToStatus } from '../../src/proxy/status.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

for (const [key, def] of Object.entries(Errors)) {
  t.test(key, async (t) => {
    t.equal(def.code, key, 'the key is the code');
    t.match(def.code, /^VCN_ERR_[A-Z]+_[A-Z_]+$/);
    t.ok(def.status >= 400 && def.status <= 599, 'an error status');
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    t.ok(row, 'documented in docs/errors.md');
    t.match(row ?? '', new RegExp(`\\| ${def.status} \\| ${def.reason} \\|`), 'with the same status and reason');
  });
}

t.test('every documented code exists', async (t) => {
  const documented = [...doc.matchAll(/^\| `(VCN_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  t.same(documented.sort(), Object.keys(Errors).sort());
});

t.test('a VcnetError renders as the Status of its catalogue entry, arguments filled in', async (t) => {
  const err = new VcnetError('VCN_ERR_PROXY_BODY_TOO_LARGE' satisfies ErrorCode, [3145728]);
  const { status, unexpected } = errorToStatus(err);
  t.equal(unexpected, false);
  t.same(status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Request entity too large: limit is 3145728 bytes', reason: 'RequestEntityTooLarge', code: 413 });
});

t.test('anything else renders as a 500 InternalError and is flagged as unexpected', async (t) => {
  const { status, unexpected } = errorToStatus(new TypeError('boom'));
  t.equal(unexpected, true);
  t.equal(status.code, 500);
  t.equal(status.reason, 'InternalError');
  t.match(status.message, /boom/);
});
