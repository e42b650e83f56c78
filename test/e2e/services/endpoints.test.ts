// Endpoints and EndpointSlices (§4 of /work/shared/reference/vcluster-networking.md):
//   - a Service with a selector: nobody copies endpoints; the host's controllers compute them from
//     the translated selector, the virtual ones from the virtual pods, which carry the host pod IPs,
//     so both sides list the same addresses;
//   - a selector-less Service with Endpoints and EndpointSlices made by hand: vcnet copies them to the
//     host, in both creation orders (vCluster #2719), with the host Service's real (hashed when long)
//     name in `kubernetes.io/service-name` (vCluster #4142 and the unhashed concatenation of §4).
import t, { type Test } from 'tap';
import { kubectl, testEnv } from '../../harness/env.ts';
import { isReady, listPods, sharedTranslator as tr, waitFor } from '../../harness/pods.ts';
import {
  endpointIPs, kubectlJson, portKeys, ServiceSides, sliceIPs, virtualNamespace, type EndpointSlice, type Endpoints, type Service,
} from '../../harness/services.ts';

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const host = env.hostKubeconfig;
const sides = new ServiceSides({ virtual: proxy, host, tr });
const HNS = tr.hostNamespace;

t.test('a Service with a selector: virtual Endpoints and EndpointSlices list the same pod IPs as the host\'s', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'ep-sel');
  t.equal((await kubectl(proxy, ['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '-n', ns])).code, 0);
  const svc = await kubectlJson<Service>(proxy, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '-n', ns]);
  t.equal(svc.code, 0, svc.stderr);
  const pods = await waitFor('two Ready virtual pods', async () => {
    const p = await listPods(proxy, ns, 'app=web');
    return p.length === 2 && p.every(isReady) ? p : undefined;
  }, 60_000);
  const podIPs = pods.map((p) => p.status?.podIP ?? '').sort();
  t.ok(podIPs.every((ip) => ip !== ''), `the virtual pods carry host pod IPs: ${podIPs.join(',')}`);

  const both = await waitFor('both sides\' Endpoints to list both pods', async () => {
    const v = await sides.vEndpoints(ns, 'web');
    const h = await sides.hEndpoints(ns, 'web');
    return v !== undefined && h !== undefined && endpointIPs(v).length === 2 && endpointIPs(h).length === 2 ? { v, h } : undefined;
  }, 60_000);
  t.strictSame(endpointIPs(both.v), podIPs, 'virtual Endpoints: the pod IPs');
  t.strictSame(endpointIPs(both.h), endpointIPs(both.v), 'host Endpoints: the same IPs');
  t.strictSame(portKeys(both.h.subsets?.[0]?.ports), portKeys(both.v.subsets?.[0]?.ports), 'and the same ports');
  t.equal(both.h.metadata.annotations?.['vcluster.loft.sh/object-name'], undefined, 'the host Endpoints are the host controller\'s, not a copy');

  const slices = await waitFor('both sides\' EndpointSlices to list both pods', async () => {
    const v = await sides.vSlices(ns, 'web');
    const h = await sides.hSlices(ns, 'web');
    return sliceIPs(v).length === 2 && sliceIPs(h).length === 2 ? { v, h } : undefined;
  }, 60_000);
  t.strictSame(sliceIPs(slices.v), podIPs, 'virtual EndpointSlices: the pod IPs');
  t.strictSame(sliceIPs(slices.h), podIPs, 'host EndpointSlices: the same IPs');
  t.ok(slices.h.every((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'endpointslice-controller.k8s.io'),
    'the host slices are the host controller\'s');

  // Scaling changes both sides the same way.
  t.equal((await kubectl(proxy, ['scale', 'deployment', 'web', '--replicas=3', '-n', ns])).code, 0);
  const three = await waitFor('three addresses on both sides', async () => {
    const v = await sides.vEndpoints(ns, 'web');
    const h = await sides.hEndpoints(ns, 'web');
    return endpointIPs(v).length === 3 && endpointIPs(h).length === 3 ? { v, h } : undefined;
  }, 60_000);
  t.strictSame(endpointIPs(three.h), endpointIPs(three.v), 'after scaling, the same three IPs');
});

t.test('a selector on a key vCluster hashes on the host (release): the host Service still selects the pods', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'ep-release');
  const deploy = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'canary' },
    spec: { replicas: 2, selector: { matchLabels: { release: 'canary' } }, template: { metadata: { labels: { release: 'canary' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  };
  await apply(t, ns, deploy);
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'canary' }, spec: { selector: { release: 'canary' }, ports: [{ port: 80 }] } };
  await apply(t, ns, svc);
  const hSvc = await sides.hService(ns, 'canary');
  t.equal(hSvc?.spec?.selector?.['release'], undefined, 'the raw release key is not in the host selector (§1.2)');
  const pods = await waitFor('two Ready pods', async () => {
    const p = await listPods(proxy, ns, 'release=canary');
    return p.length === 2 && p.every(isReady) ? p : undefined;
  }, 60_000);
  const h = await waitFor('the host Endpoints with both pods', async () => {
    const e = await sides.hEndpoints(ns, 'canary');
    return endpointIPs(e).length === 2 ? e : undefined;
  }, 60_000);
  t.strictSame(endpointIPs(h), pods.map((p) => p.status?.podIP ?? '').sort(), 'the host selector matches the host pods');
});

function manualEndpoints(name: string, ips: string[], port = 8080): Endpoints {
  return {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name, labels: { source: 'manual' } },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port, protocol: 'TCP' }] }],
  };
}

t.test('manual Endpoints: a Pod targetRef is translated to the host pod; host copies edited or deleted by hand are put back', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'ep-drift');
  await apply(t, ns, selectorless('db'));
  const ep: Endpoints = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db' },
    subsets: [{ addresses: [{ ip: '10.244.81.1', hostname: 'db-0', targetRef: { kind: 'Pod', name: 'db-0', namespace: ns } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  };
  await apply(t, ns, ep);
  await apply(t, ns, manualSlice('db-1', 'db', ['10.244.81.1']));
  const copies = await hostCopies(ns, 'db', 'db-1', ['10.244.81.1']);
  const addr = copies.ep.subsets?.[0]?.addresses?.[0];
  t.equal(addr?.targetRef?.name, sides.hostName('db-0', ns), 'targetRef names the host pod');
  t.equal(addr?.targetRef?.namespace, HNS, 'in the host namespace');
  t.equal(addr?.hostname, 'db-0', 'hostname copied as is');

  const hName = sides.hostName('db', ns);
  const edit = await kubectl(host, ['patch', 'endpoints', hName, '-n', HNS, '--type=merge', '-p', JSON.stringify({ subsets: [{ addresses: [{ ip: '10.244.81.99' }], ports: [{ name: 'http', port: 8080 }] }] })]);
  t.equal(edit.code, 0, edit.stderr);
  await hostCopies(ns, 'db', 'db-1', ['10.244.81.1']);
  t.pass('an edit of the host Endpoints copy is reverted');
  const sliceEdit = await kubectl(host, ['patch', 'endpointslice', sides.hostName('db-1', ns), '-n', HNS, '--type=merge', '-p', JSON.stringify({ endpoints: [{ addresses: ['10.244.81.98'] }] })]);
  t.equal(sliceEdit.code, 0, sliceEdit.stderr);
  await hostCopies(ns, 'db', 'db-1', ['10.244.81.1']);
  t.pass('an edit of the host slice copy is reverted');

  t.equal((await kubectl(host, ['delete', 'endpoints', hName, '-n', HNS])).code, 0);
  t.equal((await kubectl(host, ['delete', 'endpointslice', sides.hostName('db-1', ns), '-n', HNS])).code, 0);
  await hostCopies(ns, 'db', 'db-1', ['10.244.81.1']);
  t.pass('host copies deleted by hand are re-created');
});

function manualSlice(name: string, service: string, ips: string[], port = 8080): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service, source: 'manual' } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

function selectorless(name: string): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

async function apply(t: Test, ns: string, obj: object & { kind?: string; metadata: { name?: string } }): Promise<void> {
  const r = await kubectl(proxy, ['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(obj) });
  t.equal(r.code, 0, `apply ${obj.kind} ${ns}/${obj.metadata.name}${r.code === 0 ? '' : `: ${r.stderr}`}`);
}

/** The host copies of a selector-less Service's manual Endpoints and slice, once they show `ips`. */
async function hostCopies(ns: string, service: string, slice: string, ips: string[]): Promise<{ ep: Endpoints; slice: EndpointSlice }> {
  return waitFor(`host copies of ${ns}/${service} with ${ips.join(',')}`, async () => {
    const ep = await sides.hEndpoints(ns, service);
    const s = await sides.hSlice(ns, slice);
    const want = [...ips].sort();
    return ep !== undefined && s !== undefined && JSON.stringify(endpointIPs(ep)) === JSON.stringify(want) && JSON.stringify(sliceIPs([s])) === JSON.stringify(want)
      ? { ep, slice: s } : undefined;
  });
}

async function checkCopies(t: Test, ns: string, service: string, sliceName: string, ips: string[]): Promise<void> {
  const hSvc = await sides.hService(ns, service);
  t.ok(hSvc, 'the host Service exists');
  t.equal(hSvc?.spec?.selector, undefined, 'the host Service has no selector either');
  const hSvcName = hSvc?.metadata.name ?? '';
  t.ok(hSvcName.length <= 63, `host Service name ${hSvcName} is a valid name`);
  const copies = await hostCopies(ns, service, sliceName, ips);
  t.equal(copies.ep.metadata.name, hSvcName, 'the host Endpoints have the host Service\'s name');
  t.strictSame(portKeys(copies.ep.subsets?.[0]?.ports), ['http:8080/TCP'], 'Endpoints ports copied');
  t.equal(copies.ep.metadata.labels?.['vcluster.loft.sh/managed-by'], tr.vcluster);
  t.equal(copies.ep.metadata.annotations?.['vcluster.loft.sh/object-name'], service);
  t.equal(copies.ep.metadata.annotations?.['vcluster.loft.sh/object-namespace'], ns);
  t.equal(copies.ep.metadata.labels?.['source'], 'manual', 'user labels copied');

  t.equal(copies.slice.metadata.name, sides.hostName(sliceName, ns), 'the host slice is named after the virtual slice');
  t.equal(copies.slice.metadata.labels?.['kubernetes.io/service-name'], hSvcName, 'kubernetes.io/service-name is the host Service\'s real name (vCluster #4142)');
  t.equal(copies.slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'vcnet.dev', 'the host slice says vcnet maintains it (the host controllers leave it alone)');
  t.equal(copies.slice.addressType, 'IPv4');
  t.strictSame(portKeys(copies.slice.ports), ['http:8080/TCP'], 'slice ports copied');
  t.equal(copies.slice.metadata.annotations?.['vcluster.loft.sh/object-name'], sliceName);
}

/** Updates of the manual objects follow; deleting them deletes the copies; deleting the Service too. */
async function followAndCollect(t: Test, ns: string, service: string, sliceName: string): Promise<void> {
  await apply(t, ns, manualEndpoints(service, ['10.244.77.1', '10.244.77.2', '10.244.77.3']));
  await apply(t, ns, manualSlice(sliceName, service, ['10.244.77.1', '10.244.77.2', '10.244.77.3']));
  await hostCopies(ns, service, sliceName, ['10.244.77.1', '10.244.77.2', '10.244.77.3']);
  t.pass('updates of the virtual Endpoints and slice reach the host copies');

  t.equal((await kubectl(proxy, ['delete', 'endpointslice', sliceName, '-n', ns])).code, 0);
  await waitFor('the host slice copy gone', async () => (await sides.hSlice(ns, sliceName)) === undefined);
  t.pass('deleting the virtual slice deletes its host copy');
  t.equal((await kubectl(proxy, ['delete', 'service', service, '-n', ns])).code, 0);
  await waitFor('the host Endpoints copy gone with the Service', async () => {
    const ep = await sides.hEndpoints(ns, service);
    return ep === undefined || ep.metadata.annotations?.['vcluster.loft.sh/object-name'] === undefined;
  });
  // (Right after the delete the reconciler may race the delete and bring the twin back for the orphan
  // grace: update.test.ts checks that; here only the endpoints matter.)
  await waitFor('the host Service gone', async () => (await sides.hService(ns, service)) === undefined);
  t.pass('the host Service is gone');
}

const LONG = 'a-selectorless-service-with-a-name-long-enough-to-hash';

for (const { label, name } of [{ label: 'short name', name: 'manual' }, { label: 'hashed host name', name: LONG }]) {
  t.test(`selector-less Service, Service first, then Endpoints and EndpointSlice (${label})`, async (t) => {
    const ns = await virtualNamespace(t, proxy, 'ep-svc1st');
    const hName = sides.hostName(name, ns);
    if (name === LONG) t.ok(`${name}-x-${ns}-x-${tr.vcluster}`.length > 63 && hName.length <= 63, `the host name is hashed: ${hName}`);
    await apply(t, ns, selectorless(name));
    const sliceName = `${name.slice(0, 40)}-manual`;
    await apply(t, ns, manualEndpoints(name, ['10.244.77.1', '10.244.77.2']));
    await apply(t, ns, manualSlice(sliceName, name, ['10.244.77.1', '10.244.77.2']));
    await checkCopies(t, ns, name, sliceName, ['10.244.77.1', '10.244.77.2']);
    await followAndCollect(t, ns, name, sliceName);
  });

  t.test(`selector-less Service, Endpoints and EndpointSlice first, Service second (${label}, vCluster #2719)`, async (t) => {
    const ns = await virtualNamespace(t, proxy, 'ep-ep1st');
    const sliceName = `${name.slice(0, 40)}-manual`;
    await apply(t, ns, manualEndpoints(name, ['10.244.78.1']));
    await apply(t, ns, manualSlice(sliceName, name, ['10.244.78.1']));
    await new Promise((r) => setTimeout(r, 1_000));
    t.equal(await sides.hEndpoints(ns, name), undefined, 'no host copy while there is no Service');
    t.equal(await sides.hSlice(ns, sliceName), undefined, 'no host slice copy while there is no Service');
    await apply(t, ns, selectorless(name));
    await checkCopies(t, ns, name, sliceName, ['10.244.78.1']);
    await followAndCollect(t, ns, name, sliceName);
  });
}

t.test('a selector added to a Service with manual endpoints: the host copies go, the host controllers take over', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'ep-addsel');
  await apply(t, ns, selectorless('flip'));
  await apply(t, ns, manualEndpoints('flip', ['10.244.79.1']));
  await apply(t, ns, manualSlice('flip-manual', 'flip', ['10.244.79.1']));
  await hostCopies(ns, 'flip', 'flip-manual', ['10.244.79.1']);
  const r = await kubectl(proxy, ['patch', 'service', 'flip', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { selector: { app: 'flip' } } })]);
  t.equal(r.code, 0, r.stderr);
  await waitFor('the host slice copy removed', async () => (await sides.hSlice(ns, 'flip-manual')) === undefined);
  const ep = await waitFor('the host Endpoints no longer vcnet\'s copy', async () => {
    const e = await sides.hEndpoints(ns, 'flip');
    return e === undefined || e.metadata.annotations?.['vcluster.loft.sh/object-name'] === undefined ? e ?? { metadata: {} } : undefined;
  });
  t.notOk(endpointIPs(ep).includes('10.244.79.1'), 'the manual address is not on the host any more');
});

t.test('host copies live in the host namespace only and are tied to this vCluster', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'ep-scope');
  await apply(t, ns, selectorless('scoped'));
  await apply(t, ns, manualSlice('scoped-1', 'scoped', ['10.244.80.1']));
  const s = await waitFor('the host slice copy', () => sides.hSlice(ns, 'scoped-1'));
  t.equal(s.metadata.namespace, HNS);
  t.equal(s.metadata.labels?.['vcluster.loft.sh/managed-by'], tr.vcluster);
  t.equal(s.metadata.labels?.['vcluster.loft.sh/namespace'], ns);
  t.equal(s.metadata.annotations?.['vcluster.loft.sh/object-kind'], 'discovery.k8s.io/v1, Kind=EndpointSlice');
});
