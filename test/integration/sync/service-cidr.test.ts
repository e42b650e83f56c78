// ServiceCIDRs against the real host and virtual planes (Kubernetes 1.34, both started with the same
// --service-cluster-ip-range). Each test builds its own ServiceCIDRs against a host namespace of
// this file, with the host's admin identity or with one that may only use that namespace.
//
// ServiceCIDRs are cluster-scoped and the planes are shared by every test file of this run, so the
// extra host ranges come from 10.200.0.0/16 and 10.201.0.0/16 (no other test uses them), are /28s
// derived from the process id, and are deleted when their test ends, with the virtual ServiceCIDRs
// made for them and the Services pinned in them.
//
// The tests run in order: the cache test reads the annotation the first test wrote. The probe test
// finds a newly added host range by repeated dry runs, each of which names it with odds of about 1
// in 8 (src/sync/service-cidr-probe.ts); 64 of them miss it with odds of about 1 in 5,000.
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { clientCert, testEnv, tempDir, uniqueName, writeUserKubeconfig } from '../../harness/env.ts';
import { defaultConfig, mergeConfig } from '../../../src/config/index.ts';
import { VcnetError } from '../../../src/errors.ts';
import { isNotFound, KubeTransport, loadKubeConfig, toApiStatus } from '../../../src/kube/index.ts';
import type { Logger } from '../../../src/observability/logger.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { syncSettingsFromConfig } from '../../../src/sync/options.ts';
import { ServiceCIDRs } from '../../../src/sync/service-cidr.ts';
import { parseRange } from '../../../src/sync/service-cidr-rules.ts';
import { SERVICE_CIDR } from '../../../src/translate/keys.ts';
import { virtualServiceCIDRName, type ServiceCIDRObject } from '../../../src/translate/service-cidr.ts';
import { waitFor } from '../kube/helpers.ts';

t.setTimeout(300_000);

const env = await testEnv();
const hostKc = loadKubeConfig(env.hostKubeconfig);
const virtualKc = loadKubeConfig(env.virtualKubeconfig);
const ht = new KubeTransport(hostKc);
const vt = new KubeTransport(virtualKc);
t.teardown(() => { ht.close(); vt.close(); });
const quiet = createLogger((process.env['VCNET_TEST_LOG'] ?? 'silent') as 'silent');

const SERVICECIDRS = '/apis/networking.k8s.io/v1/servicecidrs';
const HOST_RANGE = env.state.host.serviceCIDR;
const KUBE_SERVICE = 'vc-scidr';
// Unique per run: a /28 of 10.200.0.0/16 (and of 10.201.0.0/16) chosen by the process id.
const slot = process.pid % 4096;
const EXTRA = `10.200.${slot >> 4}.${(slot & 15) << 4}/28`;
const EXTRA_PROBED = `10.201.${slot >> 4}.${(slot & 15) << 4}/28`;
/** TEST-NET-1 (RFC 5737): in no service range of these planes. */
const OUTSIDE = '192.0.2.10';

/** The n-th address of a range. */
function nth(cidr: string, n: number): string {
  const [a, b, c, d] = cidr.split('/')[0]!.split('.').map(Number) as [number, number, number, number];
  return `${a}.${b}.${c}.${d + n}`;
}

// The host namespace of this file, with the Service whose annotation caches the range (the one a
// vCluster installation puts there), and a virtual namespace for pinned Services.
const hns = uniqueName('scidr-h');
const vns = uniqueName('scidr-v');
await ht.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: hns } } });
await vt.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: vns } } });
t.teardown(async () => {
  await ht.request('DELETE', `/api/v1/namespaces/${hns}`).catch(() => undefined);
  await vt.request('DELETE', `/api/v1/namespaces/${vns}`).catch(() => undefined);
});
await ht.request('POST', `/api/v1/namespaces/${hns}/services`, {
  body: { apiVersion: 'v1', kind: 'Service', metadata: { name: KUBE_SERVICE }, spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } },
});

const settings = syncSettingsFromConfig(mergeConfig(defaultConfig(), {
  vcnet: { name: 'scidr', host: { namespace: hns, kubeconfig: env.hostKubeconfig, service: KUBE_SERVICE } },
}));

/** A started ServiceCIDRs, stopped when the test ends. */
async function serviceCIDRs(tt: Test, opts: { hostKubeconfig?: string; configured?: string; logger?: Logger } = {}): Promise<ServiceCIDRs> {
  const hKc = opts.hostKubeconfig === undefined ? hostKc : loadKubeConfig(opts.hostKubeconfig);
  const hTransport = opts.hostKubeconfig === undefined ? ht : new KubeTransport(hKc);
  const cidrs = new ServiceCIDRs({
    virtual: { kubeConfig: virtualKc, transport: vt },
    host: { kubeConfig: hKc, transport: hTransport },
    settings, configured: opts.configured ?? '', logger: opts.logger ?? quiet,
  });
  tt.teardown(async () => {
    await cidrs.stop();
    if (hTransport !== ht) hTransport.close();
  });
  await cidrs.start();
  return cidrs;
}

async function get<T>(tr: KubeTransport, path: string): Promise<T | undefined> {
  try {
    return await tr.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function remove(tr: KubeTransport, path: string): Promise<void> {
  await tr.request('DELETE', path).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
}

/** A host ServiceCIDR of this test; deleted (and waited for) when the test ends. */
async function hostServiceCIDR(tt: Test, cidr: string): Promise<string> {
  const name = uniqueName('vcnet-test-scidr');
  await ht.request('POST', SERVICECIDRS, { body: { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs: [cidr] } } });
  tt.teardown(() => remove(ht, `${SERVICECIDRS}/${name}`));
  return name;
}

/** Cleans up the virtual side of a range when the test ends: pinned Services first, so the ServiceCIDR can go. */
function cleanVirtual(tt: Test, cidr: string, services: string[]): void {
  tt.teardown(async () => {
    for (const s of services) await remove(vt, `/api/v1/namespaces/${vns}/services/${s}`);
    const range = parseRange(cidr);
    if (range !== undefined) await remove(vt, `${SERVICECIDRS}/${virtualServiceCIDRName(range.text)}`);
  });
}

/** Creates a Service pinned to `ip` directly on the virtual kube-apiserver; resolves with the IP it got. */
async function pinnedService(name: string, ip: string): Promise<string | undefined> {
  const svc = await vt.request<{ spec?: { clusterIP?: string } }>('POST', `/api/v1/namespaces/${vns}/services`, {
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP: ip, ports: [{ port: 80 }] } },
  });
  return svc.spec?.clusterIP;
}

/** A kubeconfig for a new host user that may only do `verbs` on Services in hns (no ClusterRole). */
async function hostUser(tt: Test, verbs: string[]): Promise<string> {
  const user = uniqueName('vcnet-scidr-user');
  await ht.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${hns}/roles`, {
    body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: user }, rules: [{ apiGroups: [''], resources: ['services'], verbs }] },
  });
  await ht.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${hns}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  return writeUserKubeconfig(tempDir(tt, 'vcnet-scidr-'), user, env.state.host.url, env.state.host.caPem, await clientCert('host', user));
}

/** The HTTP code a request failed with; 0 when it succeeded. */
async function failureCode(p: Promise<unknown>): Promise<number> {
  return p.then(() => 0, (err: unknown) => toApiStatus(err).code);
}

function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; [k: string]: unknown }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as { level: number; msg: string });
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

t.test('detects the host range from its ServiceCIDRs and caches it on the vCluster Service', async (t) => {
  const cidrs = await serviceCIDRs(t);
  t.same(cidrs.hostRanges(), { ranges: [HOST_RANGE], source: 'servicecidrs' }, 'the host\'s range, from its ServiceCIDRs');
  t.equal(cidrs.ranges()[0], HOST_RANGE, 'the host\'s range comes first');
  t.ok(cidrs.virtualRanges().includes(HOST_RANGE), 'the virtual cluster already covers it (its flag is the same)');
  await waitFor('the cache annotation', async () => {
    const svc = await get<{ metadata: { annotations?: Record<string, string> } }>(ht, `/api/v1/namespaces/${hns}/services/${KUBE_SERVICE}`);
    return svc?.metadata.annotations?.[SERVICE_CIDR] === HOST_RANGE;
  });
  t.pass(`${hns}/${KUBE_SERVICE} carries ${SERVICE_CIDR}: ${HOST_RANGE}`);
  await cidrs.ensureCovers([nth(HOST_RANGE, 10), 'None', '']);
  t.pass('ensureCovers resolves for an address of the host range (and skips None and empty ones)');
});

t.test('without the right to list ServiceCIDRs, dry-run probes find the host ranges and leave nothing behind', async (t) => {
  // vcnet's host rights without the ClusterRole: the Service rules of manifests/role.yaml, in hns only.
  const restricted = await hostUser(t, ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']);
  const restrictedT = new KubeTransport(loadKubeConfig(restricted));
  t.teardown(() => restrictedT.close());
  t.equal(await failureCode(restrictedT.request('GET', SERVICECIDRS)), 403, 'the identity may not list ServiceCIDRs (the control)');

  const before = await ht.request<{ items: Array<{ metadata: { name: string } }> }>('GET', `/api/v1/namespaces/${hns}/services`);
  const { logger, lines } = capturingLogger();
  const cidrs = await serviceCIDRs(t, { hostKubeconfig: restricted, logger });
  t.same(cidrs.hostRanges(), { ranges: [HOST_RANGE], source: 'probe' }, 'the host\'s range, from the probe');
  t.ok(lines.some((l) => /may not list the host's ServiceCIDRs/.test(l.msg)), 'it says why it probes');
  const after = await ht.request<{ items: Array<{ metadata: { name: string } }> }>('GET', `/api/v1/namespaces/${hns}/services`);
  t.same(after.items.map((s) => s.metadata.name).sort(), before.items.map((s) => s.metadata.name).sort(), 'no probe Service was left in the host namespace');

  // The host is extended: vcnet cannot watch that, so ensureCovers probes for the new address.
  await hostServiceCIDR(t, EXTRA_PROBED);
  const ip = nth(EXTRA_PROBED, 3);
  cleanVirtual(t, EXTRA_PROBED, ['probed']);
  // If a vcnet serve of this environment keeps ServiceCIDRs too, it may cover the range first; then
  // nothing needs probing, and only the outcome below is checked.
  const name = virtualServiceCIDRName(parseRange(EXTRA_PROBED)!.text);
  const coveredAlready = (await get(vt, `${SERVICECIDRS}/${name}`)) !== undefined;
  await cidrs.ensureCovers([ip]);
  if (!coveredAlready) t.ok(cidrs.ranges().includes(EXTRA_PROBED), `the probe found ${EXTRA_PROBED}: ${cidrs.ranges().join(', ')}`);
  const vCIDR = await get<ServiceCIDRObject>(vt, `${SERVICECIDRS}/${name}`);
  t.same(vCIDR?.spec?.cidrs, [EXTRA_PROBED], `the virtual ServiceCIDR ${name} holds the new range`);
  t.equal(await pinnedService('probed', ip), ip, 'a Service pinned in the new range is accepted by the virtual kube-apiserver');
});

t.test('an identity that may neither list ServiceCIDRs nor create Services reads the cache annotation', async (t) => {
  // The first test cached the host's range on hns/vc-scidr; this one may only read Services there.
  const readOnly = await hostUser(t, ['get']);
  const { logger, lines } = capturingLogger();
  const cidrs = await serviceCIDRs(t, { hostKubeconfig: readOnly, logger });
  t.same(cidrs.hostRanges(), { ranges: [HOST_RANGE], source: 'cache' }, `the range from ${SERVICE_CIDR}`);
  t.ok(lines.some((l) => /cannot probe the host's service ranges/.test(l.msg)), 'it says why it cannot probe');
});

t.test('a host range added later is covered in the virtual cluster, and goes when the host drops it', async (t) => {
  const cidrs = await serviceCIDRs(t);
  const name = virtualServiceCIDRName(parseRange(EXTRA)!.text);
  const ip = nth(EXTRA, 5);
  cleanVirtual(t, EXTRA, ['pinned', 'pinned-before']);
  t.equal(await failureCode(pinnedService('pinned-before', ip)), 422, 'before: the virtual kube-apiserver refuses an address of the new range (the control)');

  const hostName = await hostServiceCIDR(t, EXTRA);
  await waitFor('the virtual ServiceCIDR for the new host range', async () => (await get(vt, `${SERVICECIDRS}/${name}`)) !== undefined);
  const vCIDR = await get<ServiceCIDRObject>(vt, `${SERVICECIDRS}/${name}`);
  t.same(vCIDR?.spec?.cidrs, [EXTRA], `${name} holds ${EXTRA}`);
  t.equal(vCIDR?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vcnet', 'labelled as vcnet\'s');
  t.ok(cidrs.ranges().includes(EXTRA), 'the watch of the host\'s ServiceCIDRs saw the new range');

  await cidrs.ensureCovers([ip]);
  t.ok(cidrs.virtualRanges().includes(EXTRA), 'ensureCovers resolved once the virtual range was usable');
  t.equal(await pinnedService('pinned', ip), ip, 'a Service pinned in the new range is accepted by the virtual kube-apiserver');

  // The host drops the range: the virtual one goes too, once the Service using it is gone
  // (kube-controller-manager keeps a ServiceCIDR whose addresses are in use).
  await remove(vt, `/api/v1/namespaces/${vns}/services/pinned`);
  await remove(ht, `${SERVICECIDRS}/${hostName}`);
  await waitFor('the host range to leave the ranges', async () => !cidrs.ranges().includes(EXTRA));
  t.pass('the host range left the ranges');
  await waitFor('the virtual ServiceCIDR to be deleted', async () => (await get(vt, `${SERVICECIDRS}/${name}`)) === undefined, 60_000);
  t.pass(`${name} is gone`);
  const vKubernetes = await get<ServiceCIDRObject>(vt, `${SERVICECIDRS}/kubernetes`);
  t.same(vKubernetes?.spec?.cidrs, [HOST_RANGE], 'the virtual kubernetes ServiceCIDR is untouched');
  t.equal(vKubernetes?.metadata.deletionTimestamp, undefined, 'and not being deleted');
});

t.test('ensureCovers refuses an address outside every range, naming it and the virtual ranges', async (t) => {
  const cidrs = await serviceCIDRs(t);
  const err = await cidrs.ensureCovers([nth(HOST_RANGE, 7), OUTSIDE]).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof VcnetError, 'a VcnetError');
  if (!(err instanceof VcnetError)) return;
  t.equal(err.code, 'VCN_ERR_SYNC_SERVICE_CIDR', 'with the code VCN_ERR_SYNC_SERVICE_CIDR');
  t.equal(err.status, 500, 'HTTP 500: the clusters are misconfigured, not the request');
  t.match(err.message, OUTSIDE, 'names the address');
  t.match(err.message, HOST_RANGE, 'names the virtual range');
});

t.test('networking.serviceCIDR comes first; one that misses the host\'s primary range is warned about, not refused', async (t) => {
  // The first /24 of the host's range: inside it, so it cannot contain it.
  const configured = `${HOST_RANGE.split('/')[0]}/24`;
  const { logger, lines } = capturingLogger();
  const cidrs = await serviceCIDRs(t, { configured, logger });
  t.equal(cidrs.ranges()[0], configured, 'the configured range first');
  t.ok(cidrs.ranges().includes(HOST_RANGE), 'the host\'s range after it');
  const warning = lines.find((l) => l.level === 40 && /does not contain the host cluster's primary service range/.test(l.msg));
  t.ok(warning, 'a warning');
  t.match(warning?.msg ?? '', configured, 'naming the configured range');
  t.match(warning?.msg ?? '', HOST_RANGE, 'and the host\'s');

  const { logger: quietLogger, lines: none } = capturingLogger();
  const matching = await serviceCIDRs(t, { configured: HOST_RANGE, logger: quietLogger });
  t.same(matching.ranges(), [HOST_RANGE], 'a configured range equal to the host\'s');
  t.notOk(none.some((l) => l.level >= 40), 'gives no warning');
});
