import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from '../../../src/sync/queue.ts';

t.test('a key added many times while it waits is processed once', async (t) => {
  const seen: string[] = [];
  const q = new WorkQueue(async (k) => { seen.push(k); await sleep(10); }, 1);
  q.add('busy');
  for (let i = 0; i < 5; i++) q.add('a');
  q.add('b');
  await q.idle();
  t.strictSame(seen.sort(), ['a', 'b', 'busy']);
});

t.test('an add while the key is processed runs it again afterwards, never concurrently', async (t) => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const q = new WorkQueue(async () => {
    running++; maxRunning = Math.max(maxRunning, running); runs++;
    await sleep(20);
    running--;
  }, 4);
  q.add('k');
  await sleep(5);
  q.add('k');
  q.add('k');
  await sleep(60);
  await q.idle();
  t.equal(maxRunning, 1);
  t.equal(runs, 2);
});

t.test('concurrency is bounded and a failing worker does not stop the queue', async (t) => {
  let running = 0;
  let max = 0;
  const done: string[] = [];
  const q = new WorkQueue(async (k) => {
    running++; max = Math.max(max, running);
    await sleep(5);
    running--;
    if (k === 'bad') throw new Error('boom');
    done.push(k);
  }, 3);
  for (const k of ['a', 'b', 'bad', 'c', 'd', 'e']) q.add(k);
  await q.idle();
  t.equal(max, 3);
  t.strictSame(done.sort(), ['a', 'b', 'c', 'd', 'e']);
});

t.test('addAfter delays; the earlier pending delay wins; stop drops pending work', async (t) => {
  const seen: number[] = [];
  const started = Date.now();
  const q = new WorkQueue(async () => { seen.push(Date.now() - started); }, 1);
  q.addAfter('k', 30);
  q.addAfter('k', 500);
  await sleep(80);
  t.equal(seen.length, 1);
  t.ok((seen[0] ?? 0) >= 25);
  q.addAfter('k', 20);
  q.stop();
  await sleep(50);
  t.equal(seen.length, 1);
  q.add('x');
  t.equal(q.length, 0, 'a stopped queue takes nothing');
});
