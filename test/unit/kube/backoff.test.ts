import t from 'tap';
import { Backoff, backoffDelay } from '../../../src/kube/backoff.ts';

const noJitter = (): number => 0;
const fullJitter = (): number => 0.999999;

t.test('delays double from the initial delay up to the cap and stay there', async (t) => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, random: noJitter });
  t.same(Array.from({ length: 7 }, () => b.next()), [100, 200, 400, 800, 1000, 1000, 1000]);
});

t.test('reset starts the schedule over', async (t) => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: noJitter });
  b.next(); b.next(); b.next();
  t.equal(b.attempts, 3);
  b.reset();
  t.equal(b.next(), 100);
});

t.test('jitter only shortens a delay, by at most the jitter fraction, never past the cap', async (t) => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const max = backoffDelay(attempt, { initialMs: 100, maxMs: 5000, jitter: 0.5, random: noJitter });
    const min = backoffDelay(attempt, { initialMs: 100, maxMs: 5000, jitter: 0.5, random: fullJitter });
    t.ok(max <= 5000, `attempt ${attempt}: ${max} <= cap`);
    t.ok(min >= max / 2 - 1 && min <= max, `attempt ${attempt}: ${min} within [${max / 2}, ${max}]`);
  }
});

t.test('the injected random source decides the delay exactly', async (t) => {
  t.equal(backoffDelay(2, { initialMs: 1000, maxMs: 30_000, jitter: 0.5, random: () => 0.5 }), 3000);
  t.equal(backoffDelay(0, { initialMs: 1000, jitter: 0.2, random: () => 1 }), 800);
});

t.test('out-of-range jitter and random values are clamped', async (t) => {
  t.equal(backoffDelay(0, { initialMs: 1000, jitter: 5, random: () => 0.5 }), 500);
  t.equal(backoffDelay(0, { initialMs: 1000, jitter: 0.5, random: () => -3 }), 1000);
});

t.test('defaults are 500 ms doubling to 30 s', async (t) => {
  t.equal(backoffDelay(0, { random: noJitter }), 500);
  t.equal(backoffDelay(20, { random: noJitter }), 30_000);
});
