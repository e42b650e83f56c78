// What goes wrong around synced Services, and how vcnet holds the pair together
// (§3 of /work/shared/reference/vcluster-networking.md and DESIGN "The write path"):
//   - refusals: a nodePort or ClusterIP the host has taken, host quota — the virtual write is refused
//     with the host's reason (HTTP code kept) and nothing is left on either side;
//   - a virtual refusal after admission (virtual quota): the host twin made for it is collected, a
//     host update made for it is reverted;
//   - drift: a host twin deleted or edited by hand is put back as the virtual Service says, with the
//     SAME ClusterIP (vCluster re-creates the virtual Service instead, changing its UID);
//   - garbage: a host Service that claims a virtual twin that does not exist is removed after the grace;
//   - `default/kubernetes` (§3.3): the ClusterIP of vcnet's host Service, and its endpoints;
//   - vcnet killed: writes are refused while it is away (failurePolicy Fail), and what happened on
//     the host meanwhile is repaired when it is back.
import t, { type Test } from 'tap';
import { kubectl, testEnv } from '../../harness/env.ts';
import { sharedTranslator, waitFor } from '../../harness/pods.ts';
import {
  AFTER_GRACE_MS, clusterIPs, hostNamespace, hostQuota, kubectlJson, kubectlWrite, nodePorts, ServiceSides, settle, takeOnHost, virtualNamespace,
  type EndpointSlice, type Endpoints, type Refusal, type Service,
} from '../../harness/services.ts';
import { startTestVcluster, type TestVcluster } from '../../harness/vcluster.ts';
import { Translator } from '../../../src/translate/names.ts';

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const host = env.hostKubeconfig;
const shared = new ServiceSides({ virtual: proxy, host, tr: sharedTranslator });
const fast = { vcnet: { sync: { orphanGraceSeconds: 3, leaseDurationSeconds: 5 } } };

function sidesOf(vc: TestVcluster): ServiceSides {
  return new ServiceSides({ virtual: vc.kubeconfig, host, tr: new Translator({ vcluster: vc.name, hostNamespace: vc.hostNamespace }) });
}

/** Refused writes left nothing: no virtual Service, no host Service, now and after the orphan grace. */
async function nothingLeft(t: Test, sides: ServiceSides, ns: string, ...names: string[]): Promise<void> {
  for (const name of names) {
    t.equal(await sides.vService(ns, name), undefined, `no virtual Service ${name}`);
    t.equal(await sides.hService(ns, name), undefined, `no host Service for ${name}`);
  }
  await settle(AFTER_GRACE_MS);
  for (const name of names) {
    t.equal(await sides.hService(ns, name), undefined, `still no host Service for ${name} after the orphan grace`);
    t.equal(await sides.vService(ns, name), undefined, `still no virtual Service ${name}`);
  }
}

function refusedInVirtualNames(t: Test, sides: ServiceSides, r: Refusal, ns: string, name: string, status: number, why: RegExp): void {
  t.not(r.code, 0, 'kubectl fails');
  t.equal(r.status, status, `the host's HTTP status ${status} is kept: ${r.message}`);
  t.match(r.message, why, 'the host\'s reason');
  t.match(r.message, `"${name}"`, 'naming the virtual Service');
  t.notMatch(r.message, sides.hostName(name, ns), 'not the host name');
}

t.test('refusals on the shared host: a taken nodePort, a taken ClusterIP', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-taken');
  const hns = await hostNamespace(t, host, 'flt-taken-host');
  const taken = await takeOnHost(t, host, hns, 'blocker');

  const np = await kubectlWrite(proxy, ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', `--node-port=${taken.nodePort}`, '-n', ns]);
  t.comment('a nodePort the host gave away is refused');
  refusedInVirtualNames(t, shared, np, ns, 'np', 422, /provided port is already allocated/);

  const ip = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'pinned' }, spec: { clusterIP: taken.clusterIP, selector: { app: 'x' }, ports: [{ port: 80 }] } };
  const r = await kubectlWrite(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(ip));
  t.comment(`a ClusterIP the host gave away (${taken.clusterIP}) is refused`);
  refusedInVirtualNames(t, shared, r, ns, 'pinned', 422, /already allocated/);
  await nothingLeft(t, shared, ns, 'np', 'pinned');

  // A free ClusterIP picked by the user is what both sides get.
  const free = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify({ ...ip, metadata: { name: 'pinned-free' }, spec: { ...ip.spec, clusterIP: undefined } }));
  t.equal(free.code, 0, free.stderr);
  const h = await shared.hService(ns, 'pinned-free');
  t.equal(free.obj?.spec?.clusterIP, h?.spec?.clusterIP);
});

t.test('the host name of a new Service is taken by a host Service vcnet does not manage: refused with a clear conflict, the host object untouched', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-foreign');
  const hName = shared.hostName('mine', ns);
  const foreign = { apiVersion: 'v1', kind: 'Service', metadata: { name: hName, namespace: shared.hostNamespace, labels: { team: 'host' } }, spec: { ports: [{ port: 80 }] } };
  t.equal((await kubectl(host, ['create', '-f', '-'], { input: JSON.stringify(foreign) })).code, 0);
  t.teardown(async () => { await kubectl(host, ['delete', 'service', hName, '-n', shared.hostNamespace, '--ignore-not-found']); });
  const before = await shared.hService(ns, 'mine');
  const r = await kubectlWrite(proxy, ['create', 'service', 'clusterip', 'mine', '--tcp=80', '-n', ns]);
  t.not(r.code, 0, 'refused');
  t.equal(r.status, 409, `409: ${r.message}`);
  t.match(r.message, /does not manage/, 'says the host object is not vcnet\'s');
  t.equal(await shared.vService(ns, 'mine'), undefined, 'no virtual Service');
  await settle(AFTER_GRACE_MS);
  const after = await shared.hService(ns, 'mine');
  t.equal(after?.metadata.uid, before?.metadata.uid, 'the host Service is still there');
  t.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'and untouched');
});

t.test('a virtual refusal after admission (virtual quota): the host twin made for it is collected, a host update made for it reverted', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-vquota');
  t.equal((await kubectl(proxy, ['create', 'service', 'clusterip', 'before', '--tcp=80', '-n', ns])).code, 0);
  const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'svc' }, spec: { hard: { 'services.nodeports': '0', services: '1' } } };
  t.equal((await kubectl(proxy, ['create', '-n', ns, '-f', '-'], { input: JSON.stringify(quota) })).code, 0);
  await waitFor('the virtual quota counted', async () => {
    const q = await kubectlJson<{ status?: { used?: Record<string, string> } }>(proxy, ['get', 'resourcequota', 'svc', '-n', ns]);
    return q.obj?.status?.used?.['services'] === '1';
  });

  // Create: the webhook makes the host twin, then the virtual quota refuses the create.
  const r = await kubectl(proxy, ['create', 'service', 'clusterip', 'over', '--tcp=80', '-n', ns]);
  t.not(r.code, 0, 'refused by the virtual quota');
  t.match(r.stderr, /exceeded quota/, r.stderr);
  t.equal(await shared.vService(ns, 'over'), undefined, 'no virtual Service');
  await waitFor('the host twin of the refused create to be collected', async () => (await shared.hService(ns, 'over')) === undefined, 30_000);
  t.pass('no host Service is left');

  // The user raises the quota and retries at once: the leftover of the refused create must not block it.
  const again = await kubectl(proxy, ['create', 'service', 'clusterip', 'again', '--tcp=80', '-n', ns]);
  t.not(again.code, 0, 'refused by the virtual quota');
  t.equal((await kubectl(proxy, ['patch', 'resourcequota', 'svc', '-n', ns, '--type=merge', '-p', '{"spec":{"hard":{"services":"2"}}}'])).code, 0);
  await waitFor('the raised quota counted', async () => {
    const q = await kubectlJson<{ status?: { hard?: Record<string, string> } }>(proxy, ['get', 'resourcequota', 'svc', '-n', ns]);
    return q.obj?.status?.hard?.['services'] === '2';
  });
  const retry = await kubectlJson<Service>(proxy, ['create', 'service', 'clusterip', 'again', '--tcp=80', '-n', ns]);
  t.equal(retry.code, 0, `the retry right after raising the quota succeeds: ${retry.stderr}`);
  if (retry.code === 0) t.equal(retry.obj?.spec?.clusterIP, (await shared.hService(ns, 'again'))?.spec?.clusterIP, 'with equal IPs');
  t.equal((await kubectl(proxy, ['patch', 'resourcequota', 'svc', '-n', ns, '--type=merge', '-p', '{"spec":{"hard":{"services":"1"}}}'])).code, 0);
  t.equal((await kubectl(proxy, ['delete', 'service', 'again', '-n', ns, '--ignore-not-found'])).code, 0);
  await waitFor('the quota back at one service', async () => {
    const q = await kubectlJson<{ status?: { hard?: Record<string, string>; used?: Record<string, string> } }>(proxy, ['get', 'resourcequota', 'svc', '-n', ns]);
    return q.obj?.status?.hard?.['services'] === '1' && q.obj.status.used?.['services'] === '1';
  });

  // Update: the webhook turns the host twin into a NodePort, then the virtual quota refuses the update.
  const before = await shared.vService(ns, 'before');
  const u = await kubectl(proxy, ['patch', 'service', 'before', '-n', ns, '--type=merge', '-p', '{"spec":{"type":"NodePort"}}']);
  t.not(u.code, 0, 'refused by the virtual quota');
  t.match(u.stderr, /exceeded quota/, u.stderr);
  const h = await shared.waitHost('the host twin back to ClusterIP', ns, 'before', (x) => x.spec?.type === 'ClusterIP' && (x.spec.ports ?? []).every((p) => p.nodePort === undefined));
  t.equal(h.spec?.clusterIP, before?.spec?.clusterIP, 'with the virtual ClusterIP');
  const v = await shared.vService(ns, 'before');
  t.equal(v?.spec?.type, 'ClusterIP', 'the virtual Service is unchanged');
  t.equal(v?.metadata.uid, before?.metadata.uid);
});

t.test('drift: a host twin deleted by hand comes back with the same ClusterIP and nodePorts; the virtual UID is unchanged', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-drift-del');
  const c = await kubectlJson<Service>(proxy, ['create', 'service', 'nodeport', 'web', '--tcp=80:8080,443:8443', '-n', ns]);
  t.equal(c.code, 0, c.stderr);
  const h0 = await shared.hService(ns, 'web');
  const r = await kubectl(host, ['delete', 'service', shared.hostName('web', ns), '-n', shared.hostNamespace]);
  t.equal(r.code, 0, r.stderr);
  const h1 = await shared.waitHost('the host twin re-created', ns, 'web', (x) => x.metadata.uid !== h0?.metadata.uid);
  t.equal(h1.spec?.clusterIP, c.obj?.spec?.clusterIP, 'the same ClusterIP');
  t.strictSame(nodePorts(h1), nodePorts(c.obj), 'the same nodePorts');
  t.equal(h1.metadata.annotations?.['vcluster.loft.sh/object-uid'], c.obj?.metadata.uid);
  const v = await shared.vService(ns, 'web');
  t.equal(v?.metadata.uid, c.obj?.metadata.uid, 'the virtual Service was not re-created');
  t.equal(v?.spec?.clusterIP, h1.spec?.clusterIP);
});

t.test('drift: edits of the host twin\'s spec and metadata are reverted', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-drift-edit');
  const c = await kubectlJson<Service>(proxy, ['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', ns]);
  t.equal(c.code, 0, c.stderr);
  const hName = shared.hostName('web', ns);
  const edit = { spec: { sessionAffinity: 'ClientIP', selector: { app: 'web', stolen: 'yes' }, ports: [{ name: '80-8080', port: 80, targetPort: 9999 }] } };
  const r = await kubectl(host, ['patch', 'service', hName, '-n', shared.hostNamespace, '--type=merge', '-p', JSON.stringify(edit)]);
  t.equal(r.code, 0, r.stderr);
  const h = await shared.waitHost('the host spec reverted', ns, 'web', (x) =>
    x.spec?.sessionAffinity === 'None' && x.spec.selector?.['stolen'] === undefined && x.spec.ports?.[0]?.targetPort === 8080);
  t.equal(h.spec?.clusterIP, c.obj?.spec?.clusterIP, 'same ClusterIP');
  t.equal(h.spec?.selector?.['vcluster.loft.sh/managed-by'], sharedTranslator.vcluster, 'the marker selector is back');

  const l = await kubectl(host, ['label', 'service', hName, '-n', shared.hostNamespace, 'vcluster.loft.sh/namespace-']);
  t.equal(l.code, 0, l.stderr);
  await shared.waitHost('the namespace label restored', ns, 'web', (x) => x.metadata.labels?.['vcluster.loft.sh/namespace'] === ns);
  t.pass('a removed marker label comes back');
  t.equal((await shared.vService(ns, 'web'))?.metadata.uid, c.obj?.metadata.uid, 'virtual UID unchanged');
});

/** A host Service made by hand with the labels and annotations of a real twin, but for a virtual name that has no Service. */
function ghostOf(twin: Service, tr: Translator, vNamespace: string, vName: string): Service {
  const hName = tr.hostName(vName, vNamespace);
  const annotations = { ...twin.metadata.annotations, 'vcluster.loft.sh/object-name': vName, 'vcluster.loft.sh/object-host-name': hName, 'vcluster.loft.sh/object-uid': '0d9b5a64-8a6c-4b39-9d0f-000000000000' };
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: hName, namespace: tr.hostNamespace, labels: { ...twin.metadata.labels }, annotations },
    spec: { ports: [{ port: 80 }] },
  };
}

t.test('drift: a nodePort changed by hand on the host twin is put back to the virtual one', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-drift-np');
  const c = await kubectlJson<Service>(proxy, ['create', 'service', 'nodeport', 'web', '--tcp=80:8080', '-n', ns]);
  t.equal(c.code, 0, c.stderr);
  const want = c.obj?.spec?.ports?.[0]?.nodePort ?? 0;
  const hName = shared.hostName('web', ns);
  // Any other free port will do; try a few near the allocated one.
  let moved = false;
  for (let candidate = want + 1; candidate < want + 20 && candidate <= 32767 && !moved; candidate++) {
    const r = await kubectl(host, ['patch', 'service', hName, '-n', shared.hostNamespace, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/nodePort', value: candidate }])]);
    moved = r.code === 0;
  }
  t.ok(moved, 'the host twin\'s nodePort was changed by hand');
  const h = await shared.waitHost('the virtual nodePort back on the host', ns, 'web', (x) => x.spec?.ports?.[0]?.nodePort === want);
  t.equal(h.spec?.clusterIP, c.obj?.spec?.clusterIP);
  const v = await shared.vService(ns, 'web');
  t.equal(v?.spec?.ports?.[0]?.nodePort, want, 'the virtual Service kept its nodePort');
  t.equal(v?.metadata.uid, c.obj?.metadata.uid);
});

t.test('garbage: a host Service claiming a virtual Service that does not exist is removed after the grace', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'flt-gc');
  t.equal((await kubectl(proxy, ['create', 'service', 'clusterip', 'real', '--tcp=80', '-n', ns])).code, 0);
  const twin = await shared.hService(ns, 'real');
  t.ok(twin, 'a real twin to copy from');
  if (twin === undefined) return;
  const ghost = ghostOf(twin, sharedTranslator, ns, 'ghost');
  const r = await kubectl(host, ['create', '-f', '-'], { input: JSON.stringify(ghost) });
  t.equal(r.code, 0, r.stderr);
  await waitFor('the ghost host Service removed', async () => (await shared.hService(ns, 'ghost')) === undefined, 30_000);
  t.pass('the orphan is deleted');
  t.ok(await shared.hService(ns, 'real'), 'the real twin stays');

  // A look-alike that is not ours (another vCluster's marker) is left alone.
  const lookalike = ghostOf(twin, sharedTranslator, ns, 'foreign');
  const foreign = { ...lookalike, metadata: { ...lookalike.metadata, labels: { ...lookalike.metadata.labels, 'vcluster.loft.sh/managed-by': 'someone-else' } } };
  t.equal((await kubectl(host, ['create', '-f', '-'], { input: JSON.stringify(foreign) })).code, 0);
  t.teardown(async () => { await kubectl(host, ['delete', 'service', foreign.metadata.name ?? '', '-n', sharedTranslator.hostNamespace, '--ignore-not-found']); });
  await settle(AFTER_GRACE_MS);
  t.ok(await shared.hService(ns, 'foreign'), 'a host Service of another vCluster is not collected');
});

t.test('default/kubernetes has the ClusterIP of vcnet\'s host Service', async (t) => {
  const hSvc = await kubectlJson<Service>(host, ['get', 'service', sharedTranslator.vcluster, '-n', sharedTranslator.hostNamespace]);
  t.equal(hSvc.code, 0, hSvc.stderr);
  const want = hSvc.obj?.spec?.clusterIP ?? '';
  t.ok(want !== '', `host Service ${sharedTranslator.hostNamespace}/${sharedTranslator.vcluster} has ClusterIP ${want}`);
  const v = await shared.waitVirtual('default/kubernetes with the host Service\'s IP', 'default', 'kubernetes', (x) => x.spec?.clusterIP === want);
  t.strictSame(clusterIPs(v), clusterIPs(hSvc.obj), 'clusterIPs equal');
  t.ok((v.spec?.ports ?? []).some((p) => p.name === 'https'), 'it keeps its https port');
});

t.test('a test vCluster of its own: host quota refusals; default/kubernetes follows the host endpoints of vcnet\'s Service', async (t) => {
  const vc = await startTestVcluster(t, { sync: fast });
  const sides = sidesOf(vc);
  t.equal((await kubectl(vc.kubeconfig, ['create', 'namespace', 'app'])).code, 0);

  await t.test('default/kubernetes: the ClusterIP, Endpoints and EndpointSlice of the host Service', async (t) => {
    const hSvc = await kubectlJson<Service>(host, ['get', 'service', vc.name, '-n', vc.hostNamespace]);
    t.equal(hSvc.code, 0, `prepareHost made ${vc.hostNamespace}/${vc.name}: ${hSvc.stderr}`);
    await sides.waitVirtual('default/kubernetes with the host IP', 'default', 'kubernetes', (x) => x.spec?.clusterIP === hSvc.obj?.spec?.clusterIP);
    const ep: Endpoints = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: vc.name, namespace: vc.hostNamespace },
      subsets: [{ addresses: [{ ip: '10.244.99.7', nodeName: 'kwok-node-0', targetRef: { kind: 'Pod', name: 'vcnet-0', namespace: vc.hostNamespace } }], ports: [{ name: 'https', port: 8443, protocol: 'TCP' }] }],
    };
    const r = await kubectl(host, ['apply', '-f', '-'], { input: JSON.stringify(ep) });
    t.equal(r.code, 0, r.stderr);
    const vEp = await waitFor('the virtual default/kubernetes Endpoints', async () => {
      const e = await sides.vEndpoints('default', 'kubernetes');
      return e?.subsets?.[0]?.addresses?.[0]?.ip === '10.244.99.7' ? e : undefined;
    });
    t.strictSame(vEp.subsets?.[0]?.addresses?.map((a) => a.ip), ['10.244.99.7']);
    t.strictSame(vEp.subsets?.[0]?.ports?.map((p) => [p.name, p.port]), [['https', 8443]], 'port https 8443');
    t.equal(vEp.subsets?.[0]?.addresses?.[0]?.nodeName, undefined, 'nodeName stripped (§3.3)');
    t.equal(vEp.subsets?.[0]?.addresses?.[0]?.targetRef, undefined, 'targetRef stripped (§3.3)');
    const slice = await waitFor('the virtual default/kubernetes EndpointSlice', async () => {
      const s = await kubectlJson<EndpointSlice>(vc.kubeconfig, ['get', 'endpointslice', 'kubernetes', '-n', 'default']);
      return s.obj?.endpoints?.[0]?.addresses?.[0] === '10.244.99.7' ? s.obj : undefined;
    });
    t.strictSame(slice.endpoints?.flatMap((e) => e.addresses), ['10.244.99.7']);
    t.strictSame(slice.ports?.map((p) => [p.name, p.port]), [['https', 8443]]);
    t.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'kubernetes');
    t.equal(vEp.metadata.labels?.['endpointslice.kubernetes.io/skip-mirror'], 'true', 'the virtual mirroring controller is told to leave the Endpoints alone');
    await settle(1_000);
    t.strictSame((await sides.vSlices('default', 'kubernetes')).map((s) => s.metadata.name), ['kubernetes'], 'one slice: vcnet\'s, no mirrored or API-server copy');

    // A new address on the host: both follow.
    const ep2 = { ...ep, subsets: [{ addresses: [{ ip: '10.244.99.8' }], ports: [{ name: 'https', port: 8443, protocol: 'TCP' }] }] };
    t.equal((await kubectl(host, ['apply', '-f', '-'], { input: JSON.stringify(ep2) })).code, 0);
    await waitFor('the virtual Endpoints to follow', async () => (await sides.vEndpoints('default', 'kubernetes'))?.subsets?.[0]?.addresses?.[0]?.ip === '10.244.99.8');
    await waitFor('the virtual EndpointSlice to follow', async () => {
      const s = await kubectlJson<EndpointSlice>(vc.kubeconfig, ['get', 'endpointslice', 'kubernetes', '-n', 'default']);
      return JSON.stringify(s.obj?.endpoints?.flatMap((e) => e.addresses)) === '["10.244.99.8"]';
    });
    t.pass('the virtual Endpoints and EndpointSlice follow a change of the host endpoints');
  });

  await t.test('host quota on services.nodeports, then on services: refused with the host\'s reason, nothing left', async (t) => {
    await hostQuota(t, host, vc.hostNamespace, 'nodeports', { 'services.nodeports': '0' });
    const np = await kubectlWrite(vc.kubeconfig, ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '-n', 'app']);
    t.comment('a NodePort Service over the host\'s nodeport quota is refused');
    refusedInVirtualNames(t, sides, np, 'app', 'np', 403, /exceeded quota: nodeports/);
    await nothingLeft(t, sides, 'app', 'np');

    const cip = await kubectlJson<Service>(vc.kubeconfig, ['create', 'service', 'clusterip', 'cip', '--tcp=80', '-n', 'app']);
    t.equal(cip.code, 0, `a ClusterIP Service is fine: ${cip.stderr}`);
    const u = await kubectlWrite(vc.kubeconfig, ['patch', 'service', 'cip', '-n', 'app', '--type=merge', '-p', '{"spec":{"type":"NodePort"}}']);
    t.comment('turning it into a NodePort is refused by the host quota');
    refusedInVirtualNames(t, sides, u, 'app', 'cip', 403, /exceeded quota: nodeports/);
    t.equal((await sides.vService('app', 'cip'))?.spec?.type, 'ClusterIP', 'the virtual Service stays ClusterIP');
    t.equal((await sides.hService('app', 'cip'))?.spec?.type, 'ClusterIP', 'the host twin stays ClusterIP');

    await hostQuota(t, host, vc.hostNamespace, 'count', { services: '0' });
    const over = await kubectlWrite(vc.kubeconfig, ['create', 'service', 'clusterip', 'over', '--tcp=80', '-n', 'app']);
    t.comment('any Service over the host\'s services quota is refused');
    refusedInVirtualNames(t, sides, over, 'app', 'over', 403, /exceeded quota: count/);
    await nothingLeft(t, sides, 'app', 'over');
    t.equal((await sides.vService('app', 'cip'))?.spec?.clusterIP, (await sides.hService('app', 'cip'))?.spec?.clusterIP, 'the existing pair is untouched');
  });
});

t.test('vcnet killed: Service writes are refused while it is away; drift and garbage made meanwhile are repaired when it is back', async (t) => {
  const vc = await startTestVcluster(t, { sync: fast });
  const sides = sidesOf(vc);
  const tr = sides.tr;
  t.equal((await kubectl(vc.kubeconfig, ['create', 'namespace', 'app'])).code, 0);
  const gone = await kubectlJson<Service>(vc.kubeconfig, ['create', 'service', 'nodeport', 'gone', '--tcp=80:8080', '-n', 'app']);
  const edited = await kubectlJson<Service>(vc.kubeconfig, ['create', 'service', 'clusterip', 'edited', '--tcp=80:8080', '-n', 'app']);
  t.equal(gone.code + edited.code, 0, `${gone.stderr}${edited.stderr}`);
  const twin = await sides.hService('app', 'edited');

  await vc.kill();
  const refused = await kubectl(vc.virtualKubeconfig, ['create', 'service', 'clusterip', 'while-down', '--tcp=80', '-n', 'app']);
  t.not(refused.code, 0, 'a Service write with vcnet away is refused (failurePolicy Fail), so no virtual Service lacks its twin');
  t.match(refused.stderr, /services\.sync\.vcnet\.dev/, refused.stderr);
  t.equal(await sides.vService('app', 'while-down'), undefined);

  t.equal((await kubectl(host, ['delete', 'service', tr.hostName('gone', 'app'), '-n', vc.hostNamespace])).code, 0);
  t.equal((await kubectl(host, ['patch', 'service', tr.hostName('edited', 'app'), '-n', vc.hostNamespace, '--type=merge', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}'])).code, 0);
  if (twin !== undefined) t.equal((await kubectl(host, ['create', '-f', '-'], { input: JSON.stringify(ghostOf(twin, tr, 'app', 'ghost')) })).code, 0);
  t.ok(await sides.hService('app', 'ghost'), 'a ghost on the host');

  await vc.start();
  const back = await sides.waitHost('the deleted twin re-created', 'app', 'gone', () => true, 60_000);
  t.equal(back.spec?.clusterIP, gone.obj?.spec?.clusterIP, 'with the same ClusterIP');
  t.strictSame(nodePorts(back), nodePorts(gone.obj), 'and the same nodePort');
  t.equal((await sides.vService('app', 'gone'))?.metadata.uid, gone.obj?.metadata.uid, 'the virtual Service was not re-created');
  await sides.waitHost('the edit reverted', 'app', 'edited', (x) => x.spec?.sessionAffinity === 'None', 60_000);
  t.pass('the edit made while vcnet was away is reverted');
  await waitFor('the ghost removed', async () => (await sides.hService('app', 'ghost')) === undefined, 60_000);
  t.pass('the ghost made while vcnet was away is collected');
  const now = await kubectlJson<Service>(vc.kubeconfig, ['create', 'service', 'clusterip', 'while-down', '--tcp=80', '-n', 'app']);
  t.equal(now.code, 0, `writes work again: ${now.stderr}`);
  t.equal(now.obj?.spec?.clusterIP, (await sides.hService('app', 'while-down'))?.spec?.clusterIP);
});
