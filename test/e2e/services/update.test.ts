// Updates of synced Services reach the host first, and the virtual object is stored with what the
// host allocated (§3.1, §3.2 of /work/shared/reference/vcluster-networking.md): type changes in every
// direction with the host's nodePorts and ClusterIP in the patch response, a nodePort the host has
// given away refused at once (vCluster #3171), load-balancer status flowing back and cleared when the
// Service leaves LoadBalancer (vCluster #2728/#2248), the fields vCluster only copies at creation
// reaching the host on update, and deletion. Shared environment, kubectl through the proxy.
import t, { type Test } from 'tap';
import { kubectl, testEnv } from '../../harness/env.ts';
import { sharedTranslator as tr, waitFor } from '../../harness/pods.ts';
import {
  clusterIPs, hostNamespace, kubectlJson, nodePorts, ServiceSides, kubectlWrite, settle, takeOnHost, virtualNamespace, watchEvents, type Service,
} from '../../harness/services.ts';

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const host = env.hostKubeconfig;
const sides = new ServiceSides({ virtual: proxy, host, tr });

async function create(t: Test, ns: string, spec: Record<string, unknown>, name = 'svc'): Promise<Service> {
  const body = { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ...spec } };
  const r = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(body));
  t.equal(r.code, 0, `create ${ns}/${name}: ${r.stderr}`);
  return r.obj ?? { metadata: {} };
}

async function patch(ns: string, name: string, p: unknown, type: 'merge' | 'json' | 'strategic' = 'merge'): Promise<{ code: number; stderr: string; obj: Service | undefined }> {
  return kubectlJson<Service>(proxy, ['patch', 'service', name, '-n', ns, `--type=${type}`, '-p', JSON.stringify(p)]);
}

/** The patch response carries the host's allocations; returns the host twin. */
async function responseIsHost(t: Test, ns: string, name: string, obj: Service | undefined, uid: string | undefined): Promise<Service | undefined> {
  const h = await sides.hService(ns, name);
  t.ok(h, 'the host twin exists');
  t.equal(obj?.metadata.uid, uid, 'the virtual UID is unchanged');
  t.strictSame(clusterIPs(obj), clusterIPs(h), `ClusterIPs in the response are the host's (${clusterIPs(h).join(',') || 'none'})`);
  t.strictSame(nodePorts(obj), nodePorts(h), 'nodePorts in the response are the host\'s');
  t.equal(obj?.spec?.type, h?.spec?.type, 'type equal');
  return h;
}

t.test('ClusterIP -> NodePort -> LoadBalancer -> ClusterIP: the host follows each change, allocations in every response', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-types');
  const created = await create(t, ns, { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https', port: 443, targetPort: 8443 }] });
  const uid = created.metadata.uid;
  const ip = created.spec?.clusterIP;

  const np = await patch(ns, 'svc', { spec: { type: 'NodePort' } });
  t.equal(np.code, 0, np.stderr);
  const h1 = await responseIsHost(t, ns, 'svc', np.obj, uid);
  t.equal(h1?.spec?.type, 'NodePort', 'the host twin is a NodePort when kubectl patch returns');
  t.ok((np.obj?.spec?.ports ?? []).every((p) => (p.nodePort ?? 0) > 0), `nodePorts in the patch response: ${JSON.stringify(nodePorts(np.obj))}`);
  t.equal(np.obj?.spec?.clusterIP, ip, 'the ClusterIP stays');

  const lb = await patch(ns, 'svc', { spec: { type: 'LoadBalancer' } });
  t.equal(lb.code, 0, lb.stderr);
  const h2 = await responseIsHost(t, ns, 'svc', lb.obj, uid);
  t.equal(h2?.spec?.type, 'LoadBalancer');
  t.strictSame(nodePorts(lb.obj), nodePorts(np.obj), 'the nodePorts stay');

  // A cloud controller on the host gives the load balancer an address: it flows to the virtual Service.
  const hName = sides.hostName('svc', ns);
  const st = await kubectl(host, ['patch', 'service', hName, '-n', tr.hostNamespace, '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } })]);
  t.equal(st.code, 0, st.stderr);
  const withStatus = await sides.waitVirtual('the load-balancer ingress on the virtual Service', ns, 'svc',
    (v) => v.status?.loadBalancer?.ingress?.[0]?.ip === '192.0.2.10');
  t.equal(withStatus.metadata.uid, uid);

  // LoadBalancer -> ClusterIP: no load-balancer status may be left on the virtual side (vCluster #2728/#2248).
  const back = await patch(ns, 'svc', { spec: { type: 'ClusterIP' } });
  t.equal(back.code, 0, back.stderr);
  const h3 = await responseIsHost(t, ns, 'svc', back.obj, uid);
  t.equal(h3?.spec?.type, 'ClusterIP', 'the host twin is a ClusterIP Service again');
  t.ok((h3?.spec?.ports ?? []).every((p) => p.nodePort === undefined), 'the host released its nodePorts');
  t.equal(back.obj?.spec?.clusterIP, ip, 'the ClusterIP never changed');
  const cleared = await sides.waitVirtual('the virtual load-balancer status cleared', ns, 'svc', (v) => (v.status?.loadBalancer?.ingress ?? []).length === 0);
  t.equal(cleared.spec?.type, 'ClusterIP');
  await settle(2_000);
  const later = await sides.vService(ns, 'svc');
  t.equal((later?.status?.loadBalancer?.ingress ?? []).length, 0, 'and it stays cleared (the reconciler does not copy a stale status back)');
  t.equal(later?.metadata.uid, uid);
});

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const TYPE_CHANGES = TYPES.flatMap((from) => TYPES.filter((to) => to !== from).map((to) => ({ from, to })));

t.test('every type change, one patch each: the patch response carries the host\'s allocations', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-alltypes');
  for (const { from, to } of TYPE_CHANGES) {
    await t.test(`${from} -> ${to}`, async (t) => {
      const name = `${from}-${to}`.toLowerCase();
      const created = await create(t, ns, { type: from, ports: [{ port: 80 }], ...(from === 'ExternalName' ? { externalName: 'old.example.com' } : {}) }, name);
      const spec: Record<string, unknown> = { type: to };
      if (to === 'ExternalName') spec['externalName'] = 'new.example.com';
      if (from === 'ExternalName') spec['externalName'] = null;
      const r = await patch(ns, name, { spec });
      t.equal(r.code, 0, `patch: ${r.stderr}`);
      const h = await responseIsHost(t, ns, name, r.obj, created.metadata.uid);
      t.equal(h?.spec?.type, to, `the host twin is ${to} when kubectl patch returns`);
      const ports = r.obj?.spec?.ports ?? [];
      if (to === 'NodePort' || to === 'LoadBalancer') t.ok(ports.every((p) => (p.nodePort ?? 0) > 0), 'nodePorts allocated');
      else t.ok(ports.every((p) => p.nodePort === undefined), 'no nodePorts');
      if (to === 'ExternalName') t.strictSame(clusterIPs(r.obj), [], 'no ClusterIP');
      else t.match(r.obj?.spec?.clusterIP ?? '', /^10\.96\./, 'a ClusterIP');
      if (from !== 'ExternalName' && to !== 'ExternalName') t.equal(r.obj?.spec?.clusterIP, created.spec?.clusterIP, 'the ClusterIP never changes between IP-carrying types');
    });
  }
});

t.test('ClusterIP -> ExternalName -> ClusterIP: the host twin follows; both sides hold the same new IP afterwards', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-extname');
  const created = await create(t, ns, { ports: [{ port: 80 }] });
  const uid = created.metadata.uid;

  const ext = await patch(ns, 'svc', { spec: { type: 'ExternalName', externalName: 'db.example.com' } });
  t.equal(ext.code, 0, ext.stderr);
  const h1 = await responseIsHost(t, ns, 'svc', ext.obj, uid);
  t.equal(h1?.spec?.type, 'ExternalName');
  t.equal(h1?.spec?.externalName, 'db.example.com');
  t.strictSame(clusterIPs(ext.obj), [], 'no ClusterIP on the virtual ExternalName');

  const cip = await patch(ns, 'svc', { spec: { type: 'ClusterIP', externalName: null } });
  t.equal(cip.code, 0, cip.stderr);
  const h2 = await responseIsHost(t, ns, 'svc', cip.obj, uid);
  t.equal(h2?.spec?.type, 'ClusterIP');
  t.match(cip.obj?.spec?.clusterIP ?? '', /^10\.96\./, `a new ClusterIP in the response: ${cip.obj?.spec?.clusterIP}`);
  const v = await sides.vService(ns, 'svc');
  t.equal(v?.spec?.clusterIP, h2?.spec?.clusterIP, 'virtual and host IPs are equal after the round trip');
});

t.test('a nodePort the host has given to another Service: the change is refused with the host\'s reason, nothing changes (vCluster #3171)', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-npclash');
  const hns = await hostNamespace(t, host, 'svc-npclash-host');
  const taken = await takeOnHost(t, host, hns, 'blocker');
  const created = await create(t, ns, { type: 'NodePort', ports: [{ port: 80 }] });
  const before = await sides.hService(ns, 'svc');

  const r = await kubectlWrite(proxy, ['patch', 'service', 'svc', '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/nodePort', value: taken.nodePort }])]);
  t.not(r.code, 0, 'refused');
  t.equal(r.status, 422, `HTTP 422 (Invalid) kept: ${r.message}`);
  t.match(r.message, /provided port is already allocated/, 'the host\'s reason');
  t.notMatch(r.message, sides.hostName('svc', ns), 'in virtual names');
  const v = await sides.vService(ns, 'svc');
  const h = await sides.hService(ns, 'svc');
  t.equal(v?.spec?.ports?.[0]?.nodePort, created.spec?.ports?.[0]?.nodePort, 'the virtual nodePort is unchanged');
  t.equal(h?.spec?.ports?.[0]?.nodePort, before?.spec?.ports?.[0]?.nodePort, 'the host nodePort is unchanged');
  t.equal(h?.metadata.resourceVersion, before?.metadata.resourceVersion, 'the host twin was not written');

  // The same from ClusterIP: a type change that asks for the taken port.
  const cip = await create(t, ns, { ports: [{ port: 80 }] }, 'cip');
  const r2 = await patch(ns, 'cip', { spec: { type: 'NodePort', ports: [{ port: 80, nodePort: taken.nodePort }] } });
  t.not(r2.code, 0, 'ClusterIP -> NodePort with a taken nodePort refused');
  t.match(r2.stderr, /provided port is already allocated/, r2.stderr);
  t.equal((await sides.vService(ns, 'cip'))?.spec?.type, 'ClusterIP', 'virtual still ClusterIP');
  t.equal((await sides.hService(ns, 'cip'))?.spec?.type, 'ClusterIP', 'host still ClusterIP');
  t.equal((await sides.vService(ns, 'cip'))?.metadata.uid, cip.metadata.uid);

  // And a free one picked by the user is taken by the host and kept on both sides.
  const free = await patch(ns, 'cip', { spec: { type: 'NodePort' } });
  t.equal(free.code, 0, free.stderr);
  await responseIsHost(t, ns, 'cip', free.obj, cip.metadata.uid);
});

t.test('fields vCluster copies only at creation reach the host on update', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-fields');

  // internalTrafficPolicy and trafficDistribution (GA in 1.33; PreferSameZone is beta and on in 1.34).
  const svc = await create(t, ns, { ports: [{ port: 80 }] });
  const itp = await patch(ns, 'svc', { spec: { internalTrafficPolicy: 'Local' } });
  t.equal(itp.code, 0, itp.stderr);
  t.equal(itp.obj?.spec?.internalTrafficPolicy, 'Local');
  t.equal((await sides.hService(ns, 'svc'))?.spec?.internalTrafficPolicy, 'Local', 'internalTrafficPolicy on the host');
  for (const value of ['PreferClose', 'PreferSameZone']) {
    const td = await patch(ns, 'svc', { spec: { trafficDistribution: value } });
    t.equal(td.code, 0, `trafficDistribution ${value} accepted by the 1.34 API: ${td.stderr}`);
    t.equal(td.obj?.spec?.trafficDistribution, value);
    t.equal((await sides.hService(ns, 'svc'))?.spec?.trafficDistribution, value, `trafficDistribution ${value} on the host`);
  }
  t.equal((await sides.vService(ns, 'svc'))?.metadata.uid, svc.metadata.uid);

  // loadBalancerClass: settable when a Service becomes a LoadBalancer (not only at creation), then
  // immutable (ValidateServiceUpdate); the host must take it with the type change.
  const lbc = await create(t, ns, { ports: [{ port: 80 }] }, 'lbc');
  const toLB = await patch(ns, 'lbc', { spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/internal' } });
  t.equal(toLB.code, 0, toLB.stderr);
  await responseIsHost(t, ns, 'lbc', toLB.obj, lbc.metadata.uid);
  t.equal((await sides.hService(ns, 'lbc'))?.spec?.loadBalancerClass, 'example.com/internal', 'loadBalancerClass on the host');
  const change = await patch(ns, 'lbc', { spec: { loadBalancerClass: 'example.com/other' } });
  t.not(change.code, 0, 'changing it afterwards is refused');
  t.match(change.stderr, /loadBalancerClass/, change.stderr);
  t.equal((await sides.hService(ns, 'lbc'))?.spec?.loadBalancerClass, 'example.com/internal', 'the host keeps the class');
  t.equal((await sides.vService(ns, 'lbc'))?.spec?.loadBalancerClass, 'example.com/internal', 'and so does the virtual Service');

  // allocateLoadBalancerNodePorts false -> true: the host allocates nodePorts, the response carries them.
  const alloc = await create(t, ns, { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] }, 'alloc');
  t.equal(alloc.spec?.ports?.[0]?.nodePort, undefined, 'no nodePort while allocation is off');
  t.equal((await sides.hService(ns, 'alloc'))?.spec?.allocateLoadBalancerNodePorts, false);
  const on = await patch(ns, 'alloc', { spec: { allocateLoadBalancerNodePorts: true } });
  t.equal(on.code, 0, on.stderr);
  const h = await responseIsHost(t, ns, 'alloc', on.obj, alloc.metadata.uid);
  t.equal(h?.spec?.allocateLoadBalancerNodePorts, true, 'allocateLoadBalancerNodePorts on the host');
  t.ok((on.obj?.spec?.ports?.[0]?.nodePort ?? 0) > 0, 'the host allocated a nodePort, and the response shows it');
});

t.test('edits that are not type changes: ports, selector, sessionAffinity, labels, annotations reach the host; UID and IP stay', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-edit');
  const svc = await create(t, ns, { type: 'NodePort', ports: [{ name: 'http', port: 80 }] });
  const r = await patch(ns, 'svc', {
    metadata: { labels: { tier: 'web' }, annotations: { 'example.com/note': 'hi' } },
    spec: { selector: { app: 'other' }, sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80, nodePort: svc.spec?.ports?.[0]?.nodePort }, { name: 'metrics', port: 9090 }] },
  });
  t.equal(r.code, 0, r.stderr);
  const h = await responseIsHost(t, ns, 'svc', r.obj, svc.metadata.uid);
  t.equal(h?.spec?.clusterIP, svc.spec?.clusterIP);
  t.equal(h?.spec?.selector?.['app'], 'other', 'selector translated on the host');
  t.equal(h?.spec?.selector?.['vcluster.loft.sh/namespace'], ns);
  t.equal(h?.spec?.sessionAffinity, 'ClientIP');
  t.equal(h?.spec?.ports?.length, 2);
  t.equal(h?.metadata.labels?.['tier'], 'web');
  t.equal(h?.metadata.annotations?.['example.com/note'], 'hi');
  t.equal(nodePorts(r.obj)['80/TCP'], svc.spec?.ports?.[0]?.nodePort, 'the first nodePort stays');
  t.ok((nodePorts(r.obj)['9090/TCP'] ?? 0) > 0, 'the new port got the host\'s nodePort');
});

t.test('kubectl delete svc removes the host Service, and it stays gone', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-del');
  await create(t, ns, { type: 'NodePort', ports: [{ port: 80 }] });
  t.ok(await sides.hService(ns, 'svc'), 'host twin before');
  const r = await kubectl(proxy, ['delete', 'service', 'svc', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  t.equal(await sides.hService(ns, 'svc'), undefined, 'the host twin is gone when kubectl delete returns');
  t.equal(await sides.vService(ns, 'svc'), undefined, 'and the virtual Service');
  // Well within the orphan grace: nothing may bring the twin back (an orphan would hold its IP and nodePort).
  await settle(1_000);
  t.equal(await sides.hService(ns, 'svc'), undefined, 'no host twin comes back after the delete');
  // The name can be used again at once, and gets a working pair.
  const again = await create(t, ns, { ports: [{ port: 80 }] });
  const h = await sides.hService(ns, 'svc');
  t.equal(again.spec?.clusterIP, h?.spec?.clusterIP, 'a re-created Service gets a fresh host twin with the same IP on both sides');
});

t.test('during updates the host twin goes straight to each new state: no flip back, no re-creation (host watch)', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-flap');
  const created = await create(t, ns, { ports: [{ port: 80 }] });
  const hName = sides.hostName('svc', ns);
  const watch = watchEvents<Service>(env.kubectl, host, ['service', hName, '-n', tr.hostNamespace]);
  await settle(500);
  const steps: Array<{ type: string; patch: unknown }> = [
    { type: 'NodePort', patch: { spec: { type: 'NodePort' } } },
    { type: 'ClusterIP', patch: { spec: { type: 'ClusterIP' } } },
    { type: 'LoadBalancer', patch: { spec: { type: 'LoadBalancer' } } },
    { type: 'ExternalName', patch: { spec: { type: 'ExternalName', externalName: 'db.example.com' } } },
    { type: 'ClusterIP', patch: { spec: { type: 'ClusterIP', externalName: null } } },
  ];
  for (const step of steps) {
    const r = await patch(ns, 'svc', step.patch);
    t.equal(r.code, 0, `to ${step.type}: ${r.stderr}`);
  }
  await settle(2_000);
  const events = await watch.stop();
  t.notOk(events.some((e) => e.type === 'DELETED'), 'the host twin was never deleted');
  const types: string[] = [];
  for (const e of events) {
    const type = e.object.spec?.type ?? '';
    if (types[types.length - 1] !== type) types.push(type);
  }
  t.strictSame(types, ['ClusterIP', ...steps.map((s) => s.type)], `the host went through exactly the virtual types: ${types.join(' -> ')}`);
  const v = await sides.vService(ns, 'svc');
  const h = await sides.hService(ns, 'svc');
  t.equal(v?.metadata.uid, created.metadata.uid);
  t.equal(v?.spec?.clusterIP, h?.spec?.clusterIP, 'IPs equal at the end');
});

t.test('a nodePort freed by kubectl delete can be used by the next Service at once', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-reuse');
  for (let round = 0; round < 3; round++) {
    const first = await create(t, ns, { type: 'NodePort', ports: [{ port: 80 }] }, `first-${round}`);
    const port = first.spec?.ports?.[0]?.nodePort ?? 0;
    t.equal((await kubectl(proxy, ['delete', 'service', `first-${round}`, '-n', ns])).code, 0);
    const next = await kubectlWrite(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: `next-${round}` }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, nodePort: port }] },
    }));
    t.equal(next.code, 0, `round ${round}: nodePort ${port} of the deleted Service is free again: ${next.message}`);
  }
});

t.test('kubectl replace with a manifest that leaves the allocations out: same UID, IP and nodePorts on both sides', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-replace');
  const svc = await create(t, ns, { type: 'NodePort', ports: [{ name: 'http', port: 80 }] });
  const manifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', labels: { replaced: 'yes' } }, spec: { type: 'NodePort', selector: { app: 'svc' }, ports: [{ name: 'http', port: 80, targetPort: 8081 }] } };
  const r = await kubectlJson<Service>(proxy, ['replace', '-n', ns, '-f', '-'], JSON.stringify(manifest));
  t.equal(r.code, 0, r.stderr);
  const h = await responseIsHost(t, ns, 'svc', r.obj, svc.metadata.uid);
  t.equal(r.obj?.spec?.clusterIP, svc.spec?.clusterIP, 'the ClusterIP is kept');
  t.strictSame(nodePorts(r.obj), nodePorts(svc), 'the nodePort is kept');
  t.equal(h?.spec?.ports?.[0]?.targetPort, 8081, 'the change reached the host');
  t.equal(h?.metadata.labels?.['replaced'], 'yes');
});

t.test('deleting a virtual namespace removes every host twin of its Services', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-nsdel');
  for (const name of ['a', 'b', 'c']) await create(t, ns, { type: 'NodePort', ports: [{ port: 80 }] }, name);
  const twins = async (): Promise<string[]> => {
    const list = await kubectlJson<{ items: Service[] }>(host, ['get', 'services', '-n', tr.hostNamespace, '-l', `vcluster.loft.sh/namespace=${ns}`]);
    return (list.obj?.items ?? []).map((s) => s.metadata.name ?? '');
  };
  t.equal((await twins()).length, 3, 'three host twins');
  t.equal((await kubectl(proxy, ['delete', 'namespace', ns, '--timeout=60s'])).code, 0);
  await waitFor('no host twin left', async () => (await twins()).length === 0, 30_000);
  t.pass('the host twins are gone');
});
