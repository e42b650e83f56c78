// TcpFrames: length-prefixed DNS messages out of a TCP byte stream, however the stream is cut.
import t from 'tap';
import { TcpFrames } from '../../../src/dns/tcp-frames.ts';

const frame = (body: string): Buffer => { const b = Buffer.from(body); const len = Buffer.alloc(2); len.writeUInt16BE(b.length); return Buffer.concat([len, b]); };

t.test('whole, split and joined frames come out as whole messages, in order', async (t) => {
  const stream = Buffer.concat([frame('one'), frame(''), frame('three'), frame('x'.repeat(300))]);
  for (const cut of [1, 2, 3, 7, stream.length]) {
    const frames = new TcpFrames();
    const got: string[] = [];
    for (let i = 0; i < stream.length; i += cut) for (const m of frames.push(stream.subarray(i, i + cut))) got.push(m.toString());
    t.same(got, ['one', '', 'three', 'x'.repeat(300)], `chunks of ${cut} bytes`);
  }
  const frames = new TcpFrames();
  t.same(frames.push(frame('abc').subarray(0, 4)), [], 'a partial message waits');
  t.same(frames.push(Buffer.from('c')).map(String), ['abc'], 'and comes out when complete');
});
