// LeaderElector against the real host kube-apiserver: one leader at a time, a prompt handover on
// stop(), takeover of a dead holder's lease only once it expired, and no second leader when writes
// conflict. Each test uses its own Lease in a namespace of this file.
import t, { type Test } from 'tap';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { testEnv, uniqueName } from '../../harness/env.ts';
import { kubeClients } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { LeaderElector, type LeaderElectorOptions } from '../../../src/sync/lease.ts';
import { startCutProxy } from '../kube/helpers.ts';

const env = await testEnv();
const hClients = kubeClients(env.hostKubeconfig);
const ns = uniqueName('lease');
await hClients.core.createNamespace({ body: { metadata: { name: ns } } });
t.teardown(async () => { await hClients.core.deleteNamespace({ name: ns }); });
const logger = createLogger('silent');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const readLease = (name: string): Promise<V1Lease> => hClients.coordination.readNamespacedLease({ name, namespace: ns });

/**
 * Electors on one Lease plus a timeline of who led when. `concurrent` counts the electors whose
 * onStartedLeading ran and onStoppedLeading has not: it must never exceed 1.
 */
function group(t: Test, lease: string, base: Partial<LeaderElectorOptions> = {}) {
  const timeline: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const electors = new Map<string, LeaderElector>();
  const add = (identity: string, opts: Partial<LeaderElectorOptions> = {}): LeaderElector => {
    const e = new LeaderElector({
      clients: hClients, namespace: ns, name: lease, identity, logger,
      leaseDurationMs: 2000, renewDeadlineMs: 1400, retryPeriodMs: 200, ...base, ...opts,
    });
    e.onStartedLeading(() => { concurrent++; maxConcurrent = Math.max(maxConcurrent, concurrent); timeline.push(`+${identity}`); });
    e.onStoppedLeading(() => { concurrent--; timeline.push(`-${identity}`); });
    electors.set(identity, e);
    t.teardown(() => e.stop());
    return e;
  };
  const leaders = (): string[] => [...electors].filter(([, e]) => e.isLeader).map(([id]) => id);
  return { add, leaders, timeline, maxConcurrent: () => maxConcurrent };
}

t.test('one elector leads while a second waits, and the Lease names the leader', async (t) => {
  const registry = new Registry();
  const g = group(t, 'one-leader');
  const a = g.add('replica-a', { registry });
  const b = g.add('replica-b');
  a.start();
  await waitFor('replica-a to lead', () => a.isLeader);
  b.start();
  // Several renewals and several of B's attempts: leadership must not move or double.
  await sleep(2000 * 2);
  t.same(g.leaders(), ['replica-a']);
  t.equal(b.observedHolder, 'replica-a', 'the waiting replica sees the holder');
  const lease = await readLease('one-leader');
  t.equal(lease.spec?.holderIdentity, 'replica-a');
  t.equal(lease.spec?.leaseDurationSeconds, 2);
  t.equal(lease.spec?.leaseTransitions, 0, 'creating the Lease is no transition');
  t.ok(Date.parse(String(lease.spec?.renewTime)) > Date.parse(String(lease.spec?.acquireTime)), 'renewTime moves on while acquireTime stays');
  t.match(await registry.getSingleMetricAsString('vcnet_leader'), `vcnet_leader{lease="${ns}/one-leader"} 1`);
  t.same(g.timeline, ['+replica-a']);
});

t.test('stop() releases the Lease so the waiting replica takes over without waiting for expiry', async (t) => {
  // A 60-second lease: only the release lets B in within the 20-second wait below.
  const g = group(t, 'handover', { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 200 });
  const registry = new Registry();
  const a = g.add('replica-a', { registry });
  const b = g.add('replica-b');
  let aSignal: AbortSignal | undefined;
  a.onStartedLeading((signal) => { aSignal = signal; });
  a.start();
  await waitFor('replica-a to lead', () => a.isLeader);
  b.start();
  await waitFor('replica-b to see replica-a holding', () => b.observedHolder === 'replica-a');

  await a.stop();
  t.notOk(a.isLeader);
  t.equal(aSignal?.aborted, true, 'the leader\'s signal aborted');
  t.match(await registry.getSingleMetricAsString('vcnet_leader'), `vcnet_leader{lease="${ns}/handover"} 0`);
  await waitFor('replica-b to lead', () => b.isLeader);
  const lease = await readLease('handover');
  t.equal(lease.spec?.holderIdentity, 'replica-b');
  t.equal(lease.spec?.leaseTransitions, 1, 'one transition');
  t.same(g.timeline, ['+replica-a', '-replica-a', '+replica-b'], 'A stopped before B started');
  t.equal(g.maxConcurrent(), 1);
});

t.test('stop() of the only replica leaves a free Lease behind', async (t) => {
  const g = group(t, 'release');
  const a = g.add('replica-a');
  a.start();
  await waitFor('replica-a to lead', () => a.isLeader);
  await a.stop();
  const lease = await readLease('release');
  t.equal(lease.spec?.holderIdentity ?? '', '', 'no holder');
  t.equal(lease.spec?.leaseTransitions, 0, 'releasing is no transition');
  t.throws(() => a.start(), /was stopped/, 'a stopped elector cannot be restarted');
});

t.test('a lease held by a dead holder is taken over once it expired, a renewed one never', async (t) => {
  const ago = new V1MicroTime(Date.now() - 10 * 60_000);
  await hClients.coordination.createNamespacedLease({
    namespace: ns,
    body: { metadata: { name: 'dead-holder' }, spec: { holderIdentity: 'dead-replica', leaseDurationSeconds: 2, acquireTime: ago, renewTime: ago, leaseTransitions: 4 } },
  });
  const g = group(t, 'dead-holder');
  const c = g.add('replica-c');
  c.start();
  await waitFor('replica-c to lead', () => c.isLeader);
  const lease = await readLease('dead-holder');
  t.equal(lease.spec?.holderIdentity, 'replica-c');
  t.equal(lease.spec?.leaseTransitions, 5, 'the transition is counted');
  t.ok(Date.parse(String(lease.spec?.acquireTime)) > Date.parse(ago.toISOString()), 'a new acquireTime');

  t.test('while its holder renews it, the lease is not taken', async (t) => {
    const now = new V1MicroTime(Date.now());
    let live = await hClients.coordination.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'live-holder' }, spec: { holderIdentity: 'live-replica', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
    });
    const g2 = group(t, 'live-holder');
    const d = g2.add('replica-d');
    d.start();
    // Renew by hand every 500 ms for 3 lease durations; d must stay a candidate all along.
    for (let i = 0; i < 12; i++) {
      await sleep(500);
      t.notOk(d.isLeader, `not leading while the holder renews (round ${i})`);
      live = await hClients.coordination.replaceNamespacedLease({
        name: 'live-holder', namespace: ns,
        body: { ...live, spec: { ...live.spec, renewTime: new V1MicroTime(Date.now()) } },
      });
    }
    t.equal(d.observedHolder, 'live-replica');
    await waitFor('replica-d to lead once the holder stopped renewing', () => d.isLeader);
    t.equal((await readLease('live-holder')).spec?.holderIdentity, 'replica-d');
  });
});

t.test('conflicting writes never make two leaders', async (t) => {
  t.test('five candidates racing for a new Lease: one wins', async (t) => {
    const g = group(t, 'race');
    const all = ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => g.add(id));
    for (const e of all) e.start();
    await waitFor('a leader', () => g.leaders().length > 0);
    await sleep(2000 * 2);
    t.equal(g.leaders().length, 1, `leaders: ${g.leaders().join(', ')}`);
    t.equal((await readLease('race')).spec?.holderIdentity, g.leaders()[0]);
    t.equal(g.maxConcurrent(), 1);
    t.equal(g.timeline.length, 1, `one term only: ${g.timeline.join(' ')}`);
  });

  t.test('a leader whose Lease is overwritten by another holder steps down at once', async (t) => {
    const g = group(t, 'overwritten');
    const a = g.add('replica-a');
    const b = g.add('replica-b');
    let aborted = false;
    a.onStartedLeading((signal) => { signal.addEventListener('abort', () => { aborted = true; }); });
    a.start();
    await waitFor('replica-a to lead', () => a.isLeader);
    b.start();
    // Another writer takes the Lease behind A's back (a conflicting write on A's resourceVersion).
    const lease = await readLease('overwritten');
    await hClients.coordination.replaceNamespacedLease({
      name: 'overwritten', namespace: ns,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 3, renewTime: new V1MicroTime(Date.now()) } },
    });
    await waitFor('replica-a to step down', () => !a.isLeader);
    t.ok(aborted, 'A\'s leadership signal aborted');
    t.same(g.leaders(), [], 'nobody of ours leads while the intruder\'s lease is valid');
    // The intruder never renews: after its lease expires, one of ours takes over — only one.
    await waitFor('a new leader', () => g.leaders().length > 0);
    await sleep(1000);
    t.equal(g.leaders().length, 1);
    t.equal(g.maxConcurrent(), 1);
    t.equal(g.timeline[0], '+replica-a');
    t.equal(g.timeline[1], '-replica-a');
    t.equal((await readLease('overwritten')).spec?.leaseTransitions, 1, 'the intruder wrote no transition; the takeover counted one');
  });
});

t.test('a leader that cannot renew steps down before anyone else takes over', async (t) => {
  // A reaches the API server through a relay that is then cut; B reaches it directly.
  const relay = await startCutProxy(env.hostKubeconfig);
  t.teardown(() => relay.close());
  const g = group(t, 'partitioned');
  const a = g.add('replica-a', { clients: kubeClients(relay.kubeConfig) });
  const b = g.add('replica-b');
  a.start();
  await waitFor('replica-a to lead', () => a.isLeader);
  b.start();
  await waitFor('replica-b to see replica-a holding', () => b.observedHolder === 'replica-a');
  relay.cut();
  await waitFor('replica-b to lead', () => b.isLeader);
  t.notOk(a.isLeader);
  t.same(g.timeline, ['+replica-a', '-replica-a', '+replica-b'], 'A gave up (renewDeadline) before B took over (leaseDuration)');
  t.equal(g.maxConcurrent(), 1);
  relay.restore();
  await sleep(1000);
  t.same(g.leaders(), ['replica-b'], 'A, reconnected, sees B holding and stays a candidate');
});

t.test('options that would let two leaders overlap are refused', async (t) => {
  const cases: Array<{ name: string; opts: Partial<LeaderElectorOptions>; error: RegExp }> = [
    { name: 'renewDeadline not below leaseDuration', opts: { leaseDurationMs: 2000, renewDeadlineMs: 2000 }, error: /must be greater than renewDeadlineMs/ },
    { name: 'retryPeriod too close to renewDeadline', opts: { leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 900 }, error: /1.2 × retryPeriodMs/ },
    { name: 'a lease shorter than a second', opts: { leaseDurationMs: 500, renewDeadlineMs: 300, retryPeriodMs: 100 }, error: /at least 1000/ },
    { name: 'an empty identity', opts: { identity: '' }, error: /identity must not be empty/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.throws(() => new LeaderElector({ clients: hClients, namespace: ns, name: 'x', identity: 'i', logger, leaseDurationMs: 15_000, ...c.opts }),
        { code: 'VCN_ERR_CONFIG_INVALID', message: c.error });
    });
  }
  t.test('client-go\'s defaults follow from the lease duration', async (t) => {
    t.doesNotThrow(() => new LeaderElector({ clients: hClients, namespace: ns, name: 'x', identity: 'i', logger, leaseDurationMs: 15_000 }));
  });
});
