// Faults of the pod sync (issue 3), each on a virtual cluster of its own (test/harness/vcluster.ts):
//   - the host kube-apiserver is unreachable during creates: vcnet REFUSES the virtual create with a
//     clear 503 and leaves nothing on either side; controllers retry and converge once it is back;
//   - vcnet is killed in the middle of a rollout and restarted: every virtual pod ends with exactly
//     one host pod, and no host pod is left without a virtual one.
import t from 'tap';
import { kubectl, testEnv } from '../../harness/env.ts';
import { getJson, isReady, listPods, waitFor } from '../../harness/pods.ts';
import { startTestVcluster } from '../../harness/vcluster.ts';
import type { Pod } from '../../../src/translate/pod.ts';

const env = await testEnv();
const fast = { vcnet: { sync: { orphanGraceSeconds: 3, leaseDurationSeconds: 5 } } };

function twinsOf(hostPods: Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const h of hostPods) {
    if (h.metadata.deletionTimestamp !== undefined) continue;
    const uid = h.metadata.annotations?.['vcluster.loft.sh/uid'] ?? '';
    out.set(uid, [...out.get(uid) ?? [], h]);
  }
  return out;
}

t.test('host kube-apiserver unreachable: creates are refused cleanly, then converge', async (t) => {
  const vc = await startTestVcluster(t, { hostRelay: true, sync: fast });
  t.equal((await kubectl(vc.kubeconfig, ['create', 'namespace', 'app'])).code, 0);
  await vc.relay?.cut();

  const r = await kubectl(vc.kubeconfig, ['run', 'refused', '--image=busybox', '-n', 'app']);
  t.not(r.code, 0, 'the create is refused');
  t.match(r.stderr, /the host cluster is unavailable/, `a clear error: ${r.stderr}`);
  t.equal(await getJson(vc.virtualKubeconfig, ['pod', 'refused', '-n', 'app']), undefined, 'no virtual pod');

  t.equal((await kubectl(vc.kubeconfig, ['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '-n', 'app'])).code, 0, 'a Deployment is accepted');
  await new Promise((r) => setTimeout(r, 3000));
  t.equal((await listPods(vc.virtualKubeconfig, 'app', 'app=web')).length, 0, 'no pod exists while the host is away');

  await vc.relay?.restore();
  const pods = await waitFor('two Ready pods once the host is back', async () => {
    const p = await listPods(vc.virtualKubeconfig, 'app', 'app=web');
    return p.length === 2 && p.every(isReady) ? p : undefined;
  }, 120_000);
  const hostPods = await listPods(env.hostKubeconfig, vc.hostNamespace);
  const twins = twinsOf(hostPods);
  for (const p of pods) t.equal(twins.get(p.metadata.uid ?? '')?.length, 1, `${p.metadata.name} has one host pod`);
  t.notOk(hostPods.some((h) => h.metadata.annotations?.['vcluster.loft.sh/name'] === 'refused'), 'the refused pod left nothing on the host');
});

t.test('vcnet killed during a rollout and restarted: exactly one host pod per virtual pod, no orphans', async (t) => {
  const vc = await startTestVcluster(t, { sync: fast });
  t.equal((await kubectl(vc.kubeconfig, ['create', 'namespace', 'app'])).code, 0);
  t.equal((await kubectl(vc.kubeconfig, ['create', 'deployment', 'web', '--image=nginx', '--replicas=8', '-n', 'app'])).code, 0);
  await waitFor('the rollout to start', async () => (await listPods(vc.virtualKubeconfig, 'app', 'app=web')).length >= 1, 30_000);
  await vc.kill();
  // A second change while vcnet is down: scale and a new template (a new ReplicaSet).
  await kubectl(vc.virtualKubeconfig, ['set', 'image', 'deployment/web', 'nginx=nginx:2', '-n', 'app']);
  await new Promise((r) => setTimeout(r, 2000));
  await vc.start();

  const pods = await waitFor('eight Ready pods of the new template', async () => {
    const p = (await listPods(vc.virtualKubeconfig, 'app', 'app=web')).filter((x) => x.metadata.deletionTimestamp === undefined);
    return p.length === 8 && p.every((x) => isReady(x) && x.spec.containers[0]?.image === 'nginx:2') ? p : undefined;
  }, 180_000);
  // Old pods finish terminating and orphans are collected.
  const settled = await waitFor('host and virtual sides to agree', async () => {
    const all = await listPods(vc.virtualKubeconfig, 'app');
    const hostPods = (await listPods(env.hostKubeconfig, vc.hostNamespace)).filter((h) => h.metadata.deletionTimestamp === undefined);
    const vUids = new Set(all.map((p) => p.metadata.uid));
    const orphans = hostPods.filter((h) => !vUids.has(h.metadata.annotations?.['vcluster.loft.sh/uid']));
    return orphans.length === 0 && all.length === 8 && hostPods.length === 8 ? { all, hostPods } : undefined;
  }, 120_000);
  const twins = twinsOf(settled.hostPods);
  for (const p of pods) t.equal(twins.get(p.metadata.uid ?? '')?.length, 1, `${p.metadata.name} has exactly one host pod`);
  t.equal(settled.hostPods.length, 8, 'no orphan host pods');
});

t.test('SIGTERM while pods are being created: vcnet stops within the default grace period and hands the Lease over', async (t) => {
  const vc = await startTestVcluster(t, { sync: fast });
  t.equal((await kubectl(vc.kubeconfig, ['create', 'namespace', 'app'])).code, 0);
  t.equal((await kubectl(vc.kubeconfig, ['create', 'deployment', 'web', '--image=nginx', '--replicas=40', '-n', 'app'])).code, 0);
  await waitFor('the rollout to be under way', async () => (await listPods(vc.virtualKubeconfig, 'app', 'app=web')).length >= 5, 30_000);
  const proc = vc.vcnet();
  t.ok(proc, 'vcnet runs');
  if (proc === undefined) return;
  proc.child.kill('SIGTERM');
  // Kubernetes' default terminationGracePeriodSeconds: a vcnet slower than this would be SIGKILLed.
  const exited = await Promise.race([proc.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 30_000))]);
  t.ok(exited, 'vcnet exited after SIGTERM');
  t.equal(proc.exit?.code, 0, 'with status 0');
  const lease = await getJson<{ spec?: { holderIdentity?: string } }>(env.hostKubeconfig, ['lease', 'vcnet-reconciler', '-n', vc.hostNamespace]);
  t.equal(lease?.spec?.holderIdentity ?? '', '', 'the Lease is released, so a successor takes over at once');
});
