// Services created through vcnet get their host twin host-first, and the virtual object is stored
// with what the host allocated: the ClusterIP(s) and nodePorts in the CREATE RESPONSE are the host's
// (§3.1 of /work/shared/reference/vcluster-networking.md; vCluster instead re-creates virtual
// Services whose IP differs, changing their UID). kubectl through the shared environment's proxy;
// the host read with the host admin kubeconfig.
import t, { type Test } from 'tap';
import { kubectl, testEnv } from '../../harness/env.ts';
import { sharedTranslator as tr } from '../../harness/pods.ts';
import {
  clusterIPs, kubectlJson, kubectlWrite, nodePorts, ServiceSides, virtualNamespace, type Service,
} from '../../harness/services.ts';

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const sides = new ServiceSides({ virtual: proxy, host: env.hostKubeconfig, tr });

/** The created object's allocations equal its host twin's, which exists when the create returns. */
async function sameAsHost(t: Test, created: Service | undefined, ns: string): Promise<Service | undefined> {
  const name = created?.metadata.name ?? '';
  t.ok(created, `the create answered with the object (${ns}/${name})`);
  const h = await sides.hService(ns, name);
  t.ok(h, `host twin ${tr.hostNamespace}/${sides.hostName(name, ns)} exists when kubectl returns`);
  if (created === undefined || h === undefined) return h;
  t.equal(created.spec?.clusterIP, h.spec?.clusterIP, `virtual ClusterIP ${created.spec?.clusterIP} is the host's in the create response`);
  t.strictSame(clusterIPs(created), clusterIPs(h), 'clusterIPs equal');
  t.strictSame(created.spec?.ipFamilies, h.spec?.ipFamilies, 'ipFamilies equal');
  t.equal(created.spec?.ipFamilyPolicy, h.spec?.ipFamilyPolicy, 'ipFamilyPolicy equal');
  t.strictSame(nodePorts(created), nodePorts(h), 'nodePorts equal');
  t.equal(h.metadata.annotations?.['vcluster.loft.sh/object-name'], name);
  t.equal(h.metadata.annotations?.['vcluster.loft.sh/object-namespace'], ns);
  // The mutating hook runs before the API server assigns the UID: the reconciler fills it in.
  await sides.waitHost('the host twin to name the virtual UID', ns, name, (x) => x.metadata.annotations?.['vcluster.loft.sh/object-uid'] === created.metadata.uid);
  t.equal(h.metadata.labels?.['vcluster.loft.sh/managed-by'], tr.vcluster);
  t.equal(h.metadata.labels?.['vcluster.loft.sh/namespace'], ns);
  // The stored object says the same as the response.
  const stored = await sides.vService(ns, name);
  t.equal(stored?.metadata.uid, created.metadata.uid, 'the stored virtual Service is the created one');
  t.equal(stored?.spec?.clusterIP, h.spec?.clusterIP, 'and carries the host ClusterIP');
  return h;
}

t.test('kubectl expose deployment: the virtual ClusterIP is the host\'s, the host selector is translated', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-expose');
  t.equal((await kubectl(proxy, ['create', 'deployment', 'web', '--image=nginx', '-n', ns])).code, 0);
  const r = await kubectlJson<Service>(proxy, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await sameAsHost(t, r.obj, ns);
  t.strictSame(h?.spec?.selector, { app: 'web', 'vcluster.loft.sh/managed-by': tr.vcluster, 'vcluster.loft.sh/namespace': ns },
    'the host selector picks this virtual namespace\'s pods of this vCluster only');
  t.equal(h?.spec?.ports?.[0]?.targetPort, 8080);
});

t.test('kubectl create service clusterip, multi-port: one IP, equal on both sides', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-cip');
  const r = await kubectlJson<Service>(proxy, ['create', 'service', 'clusterip', 'api', '--tcp=80:8080,443:8443', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await sameAsHost(t, r.obj, ns);
  t.equal(h?.spec?.type, 'ClusterIP');
  t.strictSame(h?.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [['80-8080', 80, 8080], ['443-8443', 443, 8443]], 'both ports reach the host');
});

t.test('kubectl create service nodeport, multi-port: every nodePort in the response is the host\'s', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-np');
  const r = await kubectlJson<Service>(proxy, ['create', 'service', 'nodeport', 'np', '--tcp=80:8080,443:8443', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  await sameAsHost(t, r.obj, ns);
  const ports = r.obj?.spec?.ports ?? [];
  t.equal(ports.length, 2);
  t.ok(ports.every((p) => (p.nodePort ?? 0) >= 30000), `nodePorts allocated: ${ports.map((p) => p.nodePort).join(',')}`);
});

t.test('kubectl create service loadbalancer: nodePorts equal, externalTrafficPolicy Local gets the host\'s healthCheckNodePort', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-lb');
  const r = await kubectlJson<Service>(proxy, ['create', 'service', 'loadbalancer', 'lb', '--tcp=80:8080', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await sameAsHost(t, r.obj, ns);
  t.equal(h?.spec?.type, 'LoadBalancer');
  t.ok((r.obj?.spec?.ports?.[0]?.nodePort ?? 0) > 0, 'a LoadBalancer allocates nodePorts by default');

  const local = {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb-local' },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'x' }, ports: [{ port: 80 }] },
  };
  const l = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(local));
  t.equal(l.code, 0, l.stderr);
  const hl = await sameAsHost(t, l.obj, ns);
  t.ok((l.obj?.spec?.healthCheckNodePort ?? 0) > 0, 'a healthCheckNodePort in the response');
  t.equal(l.obj?.spec?.healthCheckNodePort, hl?.spec?.healthCheckNodePort, 'the host\'s healthCheckNodePort');
});

t.test('kubectl create service externalname: no ClusterIP on either side', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-ext');
  const r = await kubectlJson<Service>(proxy, ['create', 'service', 'externalname', 'db', '--external-name=db.example.com', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await sides.hService(ns, 'db');
  t.equal(h?.spec?.type, 'ExternalName');
  t.equal(h?.spec?.externalName, 'db.example.com');
  t.strictSame(clusterIPs(r.obj), [], 'the virtual ExternalName has no ClusterIP');
  t.strictSame(clusterIPs(h), [], 'nor the host twin');
});

t.test('headless: clusterIP None on both sides', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-headless');
  const r = await kubectlJson<Service>(proxy, ['create', 'service', 'clusterip', 'hl', '--clusterip=None', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await sameAsHost(t, r.obj, ns);
  t.equal(r.obj?.spec?.clusterIP, 'None');
  t.equal(h?.spec?.clusterIP, 'None');
});

t.test('headless without selector: the host\'s defaults (RequireDualStack, both families, even single-stack) are the virtual ones', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-hlnosel');
  const body = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hl' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } };
  const r = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(body));
  t.equal(r.code, 0, r.stderr);
  const h = await sameAsHost(t, r.obj, ns);
  t.equal(h?.spec?.selector, undefined, 'no selector on the host');
  t.equal(r.obj?.spec?.clusterIP, 'None');
});

t.test('dual-stack on a single-stack host: RequireDualStack is refused with the host\'s reason, PreferDualStack is downgraded to one IP', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-dual');
  const require = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'need-two' }, spec: { ipFamilyPolicy: 'RequireDualStack', selector: { app: 'x' }, ports: [{ port: 80 }] } };
  const r = await kubectlWrite(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(require));
  t.not(r.code, 0, 'RequireDualStack refused');
  t.equal(r.status, 422, `HTTP 422 (Invalid) kept: ${r.message}`);
  t.match(r.message, /not configured for dual-stack services/, 'the host\'s reason');
  t.match(r.message, /"need-two"/, 'naming the virtual Service');
  t.notMatch(r.message, sides.hostName('need-two', ns), 'not the host name');
  t.equal(await sides.vService(ns, 'need-two'), undefined, 'no virtual Service');
  t.equal(await sides.hService(ns, 'need-two'), undefined, 'no host Service');

  const prefer = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'like-two' }, spec: { ipFamilyPolicy: 'PreferDualStack', selector: { app: 'x' }, ports: [{ port: 80 }] } };
  const p = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(prefer));
  t.equal(p.code, 0, p.stderr);
  await sameAsHost(t, p.obj, ns);
  t.equal(p.obj?.spec?.ipFamilyPolicy, 'PreferDualStack');
  t.equal(clusterIPs(p.obj).length, 1, 'one ClusterIP: the host has one family');
  t.strictSame(p.obj?.spec?.ipFamilies, ['IPv4']);

  const families = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'v6-too' }, spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], selector: { app: 'x' }, ports: [{ port: 80 }] } };
  const f = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(families));
  t.not(f.code, 0, 'an IPv6 family the host does not have is refused');
  t.match(f.stderr, /IPv6.*not configured on this cluster/, f.stderr);
  t.equal(await sides.hService(ns, 'v6-too'), undefined, 'no host Service');
});

t.test('kubectl apply --server-side: the IP in the apply response is the host\'s; re-applies and edits keep UID and IP', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-ssa');
  const manifest = (labels: Record<string, string>, port: number) => JSON.stringify({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'ssa', labels }, spec: { selector: { app: 'ssa' }, ports: [{ name: 'http', port, targetPort: 8080 }] },
  });
  const first = await kubectlJson<Service>(proxy, ['apply', '--server-side', '-n', ns, '-f', '-'], manifest({ v: '1' }, 80));
  t.equal(first.code, 0, first.stderr);
  const h = await sameAsHost(t, first.obj, ns);
  const uid = first.obj?.metadata.uid;
  const ip = h?.spec?.clusterIP;

  const again = await kubectlJson<Service>(proxy, ['apply', '--server-side', '-n', ns, '-f', '-'], manifest({ v: '2' }, 81));
  t.equal(again.code, 0, `re-apply without the allocated fields: ${again.stderr}`);
  t.equal(again.obj?.metadata.uid, uid, 'UID unchanged');
  t.equal(again.obj?.spec?.clusterIP, ip, 'ClusterIP unchanged');
  const h2 = await sides.waitHost('the host twin to follow the re-apply', ns, 'ssa', (x) => x.spec?.ports?.[0]?.port === 81);
  t.equal(h2.metadata.labels?.['v'], '2', 'labels follow');
  t.equal(h2.spec?.clusterIP, ip, 'the host twin keeps its IP');
  t.equal(h2.metadata.uid, h?.metadata.uid, 'and its UID (updated, not re-created)');

  const client = await kubectlJson<Service>(proxy, ['apply', '-n', ns, '-f', '-'], manifest({ v: '3' }, 81));
  t.equal(client.code, 0, `client-side apply over it: ${client.stderr}`);
  const label = await kubectlJson<Service>(proxy, ['label', 'service', 'ssa', '-n', ns, 'extra=yes']);
  t.equal(label.code, 0, label.stderr);
  t.equal(label.obj?.metadata.uid, uid, 'UID unchanged after kubectl label');
  t.equal(label.obj?.spec?.clusterIP, ip, 'ClusterIP unchanged after kubectl label');
  const h3 = await sides.waitHost('the label on the host twin', ns, 'ssa', (x) => x.metadata.labels?.['extra'] === 'yes');
  t.equal(h3.spec?.clusterIP, ip);
});

// Kubernetes answers a dry-run create with placeholder allocations (1.34's dry-run IP allocator
// hands out the range's network address, 10.96.0.0 here, and the dry-run port allocator a port past
// the range): they are not the host's to copy. Without vcnet the same command succeeds.
for (const kind of ['clusterip', 'nodeport'] as const) {
  t.test(`dry run (${kind}): kubectl create service --dry-run=server answers with an IP, nothing is created on either side`, async (t) => {
    const ns = await virtualNamespace(t, proxy, `svc-dry-${kind}`);
    const r = await kubectlJson<Service>(proxy, ['create', 'service', kind, 'dry', '--tcp=80:8080', '--dry-run=server', '-n', ns]);
    t.equal(r.code, 0, `the dry run succeeds as it does without vcnet: ${r.stderr}`);
    t.match(r.obj?.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/, `an IP from the shared service range: ${r.obj?.spec?.clusterIP}`);
    if (kind === 'nodeport') t.ok((r.obj?.spec?.ports?.[0]?.nodePort ?? 0) > 0, 'and a nodePort');
    t.equal(await sides.vService(ns, 'dry'), undefined, 'no virtual Service');
    t.equal(await sides.hService(ns, 'dry'), undefined, 'no host Service');
    const real = await kubectlJson<Service>(proxy, ['create', 'service', kind, 'dry', '--tcp=80:8080', '-n', ns]);
    t.equal(real.code, 0, `a real create afterwards: ${real.stderr}`);
    await sameAsHost(t, real.obj, ns);
  });
}

t.test('generateName: kubectl create -f with only generateName; the host twin carries the generated name', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-gen');
  const body = { apiVersion: 'v1', kind: 'Service', metadata: { generateName: 'gen-' }, spec: { selector: { app: 'g' }, ports: [{ port: 80 }] } };
  const r = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(body));
  t.equal(r.code, 0, r.stderr);
  const name = r.obj?.metadata.name ?? '';
  t.match(name, /^gen-[a-z0-9]{5}$/, `a generated name: ${name}`);
  const h = await sameAsHost(t, r.obj, ns);
  t.equal(h?.metadata.name, `${name}-x-${ns}-x-${tr.vcluster}`, 'the host name is built from the generated name');
  const second = await kubectlJson<Service>(proxy, ['create', '-n', ns, '-f', '-'], JSON.stringify(body));
  t.equal(second.code, 0, second.stderr);
  t.not(second.obj?.metadata.name, name, 'a second create gets another name');
  await sameAsHost(t, second.obj, ns);
});

t.test('a Service name already used in the namespace: 409 AlreadyExists, the existing pair untouched', async (t) => {
  const ns = await virtualNamespace(t, proxy, 'svc-dup');
  const first = await kubectlJson<Service>(proxy, ['create', 'service', 'clusterip', 'dup', '--tcp=80', '-n', ns]);
  t.equal(first.code, 0, first.stderr);
  const h = await sides.hService(ns, 'dup');
  const r = await kubectlWrite(proxy, ['create', 'service', 'nodeport', 'dup', '--tcp=81', '-n', ns]);
  t.not(r.code, 0, 'refused');
  t.equal(r.status, 409, `409 AlreadyExists, as without vcnet: ${r.message}`);
  t.match(r.message, /services "dup" already exists/, 'the message kubectl users know');
  const v = await sides.vService(ns, 'dup');
  const h2 = await sides.hService(ns, 'dup');
  t.equal(v?.metadata.uid, first.obj?.metadata.uid, 'virtual unchanged');
  t.equal(h2?.metadata.uid, h?.metadata.uid, 'host twin not replaced');
  t.equal(h2?.spec?.type, 'ClusterIP', 'host twin not updated by the refused create');
  t.equal(h2?.spec?.clusterIP, v?.spec?.clusterIP, 'IPs still equal');
});
