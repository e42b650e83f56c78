import t from 'tap';
import { podToHost, podTranslateOptions, type Pod } from '../../../src/translate/pod.ts';
import { podUpdateToHost } from '../../../src/translate/pod-update.ts';
import { POD_LABELS } from '../../../src/translate/keys.ts';
import { deepFreeze, podFacts, tr, virtualPod } from '../../fixtures/pods/index.ts';

const options = podTranslateOptions({ translateImage: { 'nginx:1': 'mirror/nginx:1' } });
const hostOf = (v: Pod): Pod => deepFreeze(podToHost(tr, v, podFacts({ serviceAccountTokens: { 'kube-api-access-x/0': 't' } }), options).hPod);
const NS = { 'kubernetes.io/metadata.name': 'shop', team: 'payments' };
const labelKeys = (p: Pod | undefined): string[] => Object.keys(p?.metadata.labels ?? {}).sort();

t.test('nothing changed: no update', async (t) => {
  const v = deepFreeze(virtualPod());
  t.equal(podUpdateToHost(tr, v, v, hostOf(v), options, NS), undefined);
});

t.test('a resync without vOld finds nothing to do for a fresh host pod', async (t) => {
  const v = deepFreeze(virtualPod());
  t.equal(podUpdateToHost(tr, undefined, v, hostOf(v), options, NS), undefined);
});

t.test('a new virtual label reaches the host translated, and the labels annotation follows', async (t) => {
  const vOld = deepFreeze(virtualPod());
  const vNew = deepFreeze(virtualPod({ metadata: { labels: { ...vOld.metadata.labels, tier: 'front' } } }));
  const next = podUpdateToHost(tr, vOld, vNew, hostOf(vOld), options, NS);
  t.equal(next?.metadata.labels?.['tier'], 'front');
  t.match(next?.metadata.annotations?.[POD_LABELS] ?? '', /tier="front"/);
});

t.test('a removed virtual label leaves the host; a host-only label stays', async (t) => {
  const vOld = deepFreeze(virtualPod({ metadata: { labels: { app: 'web', tier: 'front' } } }));
  const vNew = deepFreeze(virtualPod({ metadata: { labels: { app: 'web' } } }));
  const h = hostOf(vOld);
  const hEdited = deepFreeze({ ...h, metadata: { ...h.metadata, labels: { ...h.metadata.labels, 'host-team': 'x' } } });
  const next = podUpdateToHost(tr, vOld, vNew, hEdited, options, NS);
  t.equal(next?.metadata.labels?.['tier'], undefined);
  t.equal(next?.metadata.labels?.['host-team'], 'x');
  t.equal(next?.metadata.labels?.['app'], 'web');
});

t.test('marker labels are restored when someone removed them on the host', async (t) => {
  const v = deepFreeze(virtualPod());
  const h = hostOf(v);
  const stripped = Object.fromEntries(Object.entries(h.metadata.labels ?? {}).filter(([k]) => k !== 'vcluster.loft.sh/managed-by'));
  const next = podUpdateToHost(tr, v, v, deepFreeze({ ...h, metadata: { ...h.metadata, labels: stripped } }), options, NS);
  t.equal(next?.metadata.labels?.['vcluster.loft.sh/managed-by'], 'my-vcluster');
  t.strictSame(labelKeys(next), labelKeys(h));
});

t.test('a new image is copied, through translateImage; the injected container keeps its own', async (t) => {
  const vOld = deepFreeze(virtualPod({ spec: { subdomain: 'sts', containers: [{ name: 'app', image: 'busybox' }] } }));
  const vNew = deepFreeze(virtualPod({ spec: { subdomain: 'sts', containers: [{ name: 'app', image: 'nginx:1' }] } }));
  const h = hostOf(vOld);
  const next = podUpdateToHost(tr, vOld, vNew, h, options, NS);
  t.equal(next?.spec.containers[0]?.image, 'mirror/nginx:1');
  t.strictSame(next?.spec.initContainers?.[0], h.spec.initContainers?.[0], 'the /etc/hosts init container is not the user\'s');
});

t.test('tolerations are only added; activeDeadlineSeconds follows; scheduling gates only go', async (t) => {
  const gate = { name: 'wait' };
  const vOld = deepFreeze(virtualPod({ spec: { schedulingGates: [gate, { name: 'other' }], tolerations: [{ key: 'a', operator: 'Exists' }] } }));
  const h = hostOf(vOld);
  const hostTol = deepFreeze({ ...h, spec: { ...h.spec, tolerations: [...h.spec.tolerations ?? [], { key: 'host-only', operator: 'Exists' as const }] } });
  const vNew = deepFreeze(virtualPod({ spec: { schedulingGates: [gate], activeDeadlineSeconds: 60, tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] } }));
  const next = podUpdateToHost(tr, vOld, vNew, hostTol, options, NS);
  t.strictSame(next?.spec.tolerations?.map((x) => x.key), ['a', 'host-only', 'b']);
  t.equal(next?.spec['activeDeadlineSeconds'], 60);
  t.strictSame(next?.spec['schedulingGates'], [gate]);
  const ungated = deepFreeze(virtualPod({ spec: { tolerations: vNew.spec.tolerations } }));
  t.equal(podUpdateToHost(tr, vNew, ungated, next as Pod, options, NS)?.spec['schedulingGates'], undefined, 'the last gate removed removes the field');
});

t.test('a changed user annotation is copied; vcnet\'s own annotations cannot be set from the virtual pod', async (t) => {
  const vOld = deepFreeze(virtualPod());
  const h = hostOf(vOld);
  const vNew = deepFreeze(virtualPod({ metadata: { annotations: { note: 'hi', 'vcluster.loft.sh/uid': 'forged' } } }));
  const next = podUpdateToHost(tr, vOld, vNew, h, options, NS);
  t.equal(next?.metadata.annotations?.['note'], 'hi');
  t.equal(next?.metadata.annotations?.['vcluster.loft.sh/uid'], h.metadata.annotations?.['vcluster.loft.sh/uid']);
});
