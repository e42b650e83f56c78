import t from 'tap';
import { caRenewalTime, isDue, leafRenewalTime } from '../../../src/certs/index.ts';

const DAY = 24 * 60 * 60 * 1000;
const start = new Date('2030-01-01T00:00:00Z');
const after = (days: number) => new Date(start.getTime() + days * DAY);

const leafCases = [
  { name: 'renews a one-year cert 30 days before it expires', lifetimeDays: 365, renewBeforeDays: undefined, renewAtDay: 335 },
  { name: 'honours a custom renewBeforeDays', lifetimeDays: 365, renewBeforeDays: 60, renewAtDay: 305 },
  { name: 'renews a 90-day cert 30 days before expiry (exactly 3× the margin)', lifetimeDays: 90, renewBeforeDays: undefined, renewAtDay: 60 },
  { name: 'renews a 30-day cert at 2/3 of its lifetime instead of at once', lifetimeDays: 30, renewBeforeDays: undefined, renewAtDay: 20 },
  { name: 'renews a 1-day cert at 2/3 of its lifetime', lifetimeDays: 1, renewBeforeDays: undefined, renewAtDay: 2 / 3 },
  { name: 'renews only at expiry when renewBeforeDays is 0', lifetimeDays: 365, renewBeforeDays: 0, renewAtDay: 365 },
];

for (const c of leafCases) {
  t.test(c.name, async (t) => {
    const cert = { notBefore: start, notAfter: after(c.lifetimeDays) };
    const renewAt = leafRenewalTime(cert, c.renewBeforeDays);
    t.equal(renewAt.getTime(), Math.round(after(c.renewAtDay).getTime()));
    t.notOk(isDue(cert, renewAt, new Date(renewAt.getTime() - 1000)), 'not due a second before');
    t.ok(isDue(cert, renewAt, renewAt), 'due at the renewal time');
  });
}

t.test('renews a CA when less than a fifth of its lifetime is left', async (t) => {
  t.equal(caRenewalTime({ notBefore: start, notAfter: after(3650) }).getTime(), after(2920).getTime());
});

t.test('treats a cert that is not yet valid as due (the clock moved back)', async (t) => {
  const cert = { notBefore: start, notAfter: after(365) };
  t.ok(isDue(cert, leafRenewalTime(cert), after(-1)));
});

t.test('refuses a negative renewBeforeDays with a message naming it', async (t) => {
  t.throws(() => leafRenewalTime({ notBefore: start, notAfter: after(1) }, -1), { message: /renewBeforeDays must be a non-negative number/ });
});
