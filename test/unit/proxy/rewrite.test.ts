import t from 'tap';
import { parseResponseHead, upgradeAnswerStep } from '../../../src/proxy/rewrite.ts';

const upper = (body: string): string | undefined => {
  const s = JSON.parse(body) as { message: string };
  return JSON.stringify({ ...s, message: s.message.toUpperCase() });
};

const response = (head: string[], body = ''): Buffer => Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'latin1');

t.test('parseResponseHead', async (t) => {
  t.same(parseResponseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade'), {
    statusLine: 'HTTP/1.1 101 Switching Protocols', status: 101, headers: ['Upgrade', 'websocket', 'Connection', 'Upgrade'],
  });
  t.same(parseResponseHead('HTTP/1.1 400'), { statusLine: 'HTTP/1.1 400', status: 400, headers: [] }, 'a status line without a phrase');
  t.equal(parseResponseHead('SSH-2.0-OpenSSH'), undefined, 'not HTTP');
  t.equal(parseResponseHead('HTTP/1.1 200 OK\r\nno colon here'), undefined, 'a malformed header line');
});

t.test('upgradeAnswerStep', async (t) => {
  const body = '{"kind":"Status","message":"pods \\"x\\" not found","code":404}';
  const errorHead = ['HTTP/1.1 404 Not Found', 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Date: today'];
  const cases = [
    { name: 'waits for the rest of a head', received: Buffer.from('HTTP/1.1 101 Switching'), kind: 'more' },
    { name: 'passes a 101 through (the tunnel opens)', received: response(['HTTP/1.1 101 Switching Protocols', 'Upgrade: SPDY/3.1', 'Connection: Upgrade'], '\x80\x03'), kind: 'pass' },
    { name: 'waits for the whole body of an error', received: response(errorHead, body.slice(0, 10)), kind: 'more' },
    { name: 'passes an error that is not JSON', received: response(['HTTP/1.1 500 Internal Server Error', 'Content-Type: text/plain', 'Content-Length: 4'], 'oops'), kind: 'pass' },
    { name: 'passes a chunked error (its end is unknown here)', received: response(['HTTP/1.1 400 Bad Request', 'Content-Type: application/json', 'Transfer-Encoding: chunked'], '5\r\n'), kind: 'pass' },
    { name: 'passes a compressed error', received: response([...errorHead, 'Content-Encoding: gzip'], body), kind: 'pass' },
    { name: 'passes a head that is not HTTP', received: response(['garbage']), kind: 'pass' },
    { name: 'gives up waiting for a head past 16 KiB', received: Buffer.alloc(17 * 1024, 'a'), kind: 'pass' },
  ];
  for (const c of cases) t.test(c.name, async (t) => { t.equal(upgradeAnswerStep(c.received, upper).kind, c.kind); });

  t.test('answers a complete JSON error rewritten, with its new length, and closes', async (t) => {
    const step = upgradeAnswerStep(response(errorHead, body), upper);
    t.equal(step.kind, 'answer');
    if (step.kind !== 'answer') return;
    const text = step.bytes.toString('utf8');
    const [head, out] = text.split('\r\n\r\n') as [string, string];
    t.match(head, /^HTTP\/1\.1 404 Not Found\r\n/);
    t.match(head, /\r\nDate: today/);
    t.match(head, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(out)}(\\r\\n|$)`));
    t.match(head, /\r\nConnection: close/);
    t.equal(head.match(/Content-Length/g)?.length, 1, 'one Content-Length');
    t.equal(JSON.parse(out).message, 'PODS "X" NOT FOUND');
  });

  t.test('passes an error the rewriter declines', async (t) => {
    t.equal(upgradeAnswerStep(response(errorHead, body), () => undefined).kind, 'pass');
  });
});
