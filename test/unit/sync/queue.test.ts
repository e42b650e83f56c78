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

t.test('retry backs off exponentially per key, capped at 30 s; forget starts over', async (t) => {
  const q = new WorkQueue(async () => undefined, 1);
  t.teardown(() => q.stop());
  const cases: Array<{ name: string; run: () => number[]; expected: number[] }> = [
    {
      name: 'failures in a row double the delay from 200 ms up to the 30 s cap',
      run: () => Array.from({ length: 11 }, () => q.retry('a', false)),
      expected: [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000],
    },
    {
      name: 'each key counts its own failures',
      run: () => [q.retry('b', false), q.retry('c', false), q.retry('b', false)],
      expected: [200, 200, 400],
    },
    {
      name: 'a conflict counts as a failure too',
      run: () => [q.retry('d', true), q.retry('d', false)],
      expected: [200, 400],
    },
    {
      name: 'after forget the next failure backs off from the start',
      run: () => { q.retry('e', false); q.retry('e', false); q.forget('e'); return [q.retry('e', false)]; },
      expected: [200],
    },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.strictSame(c.run(), c.expected));
});

t.test('retry queues the key again after a failure, conflict or not', async (t) => {
  for (const conflict of [true, false]) {
    t.test(conflict ? 'after a conflict' : 'after another failure', async (t) => {
      const seen: string[] = [];
      let done: () => void = () => undefined;
      const processedAgain = new Promise<void>((resolve) => { done = resolve; });
      const q = new WorkQueue(async (k) => {
        seen.push(k);
        if (seen.length === 1) q.retry(k, conflict);
        else done();
      }, 1);
      t.teardown(() => q.stop());
      q.add('k');
      // The queue's timers do not hold the process open; this bounded wait does.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([processedAgain, new Promise<void>((resolve) => { bound = setTimeout(resolve, 5_000); })]);
      clearTimeout(bound);
      t.strictSame(seen, ['k', 'k']);
    });
  }
});
