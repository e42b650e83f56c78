// vcnet's DNS server answering the cluster zone from the REAL virtual control plane: a ClusterIndex
// watching the virtual kube-apiserver, a ClusterResolver, and a DnsServer on 127.0.0.1, queried
// with node:dns (c-ares, a real stub resolver) and with raw dns-packet over UDP and TCP for RCODEs
// and flags. Objects are written through vcnet's proxy like a user would, so pods get host IPs from
// the pod sync and the virtual controllers write the EndpointSlices.
//
// The lag after a change (create/delete a Service, scale a Deployment) is printed as a comment: it is
// the time from the API call returning to the first DNS answer that shows the change; no assertion
// on it (the machine's load decides it).
import dgram from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import net from 'node:net';
import t from 'tap';
import * as dnsPacket from 'dns-packet';
import { kubectl, testEnv } from '../../harness/env.ts';
import { isReady, listPods, waitFor } from '../../harness/pods.ts';
import { kubectlJson, virtualNamespace, type Service } from '../../harness/services.ts';
import { ClusterIndex, ClusterResolver, DnsServer } from '../../../src/dns/index.ts';
import { loadKubeConfig } from '../../../src/kube/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';

t.setTimeout(300_000);

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const quiet = createLogger((process.env['VCNET_TEST_LOG'] ?? 'silent') as 'silent');
const DOMAIN = 'cluster.local';

const index = new ClusterIndex({ kubeConfig: loadKubeConfig(env.virtualKubeconfig), logger: quiet });
await index.start();
const resolver = new ClusterResolver({ index, clusterDomain: DOMAIN });
const server = new DnsServer({ host: '127.0.0.1', port: 0, resolver, logger: quiet });
await server.listen();
const { port } = server.address();
t.teardown(async () => { await server.close(); await index.stop(); });

/** A fresh c-ares resolver per call: no cache can hide a change. */
function stub(): dnsPromises.Resolver {
  const r = new dnsPromises.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try { await p; return 'no error'; } catch (err) { return (err as { code?: string }).code ?? String(err); }
}

let nextId = 1;
/** One raw query over UDP (or TCP), the decoded response. */
async function query(name: string, type: dnsPacket.RecordType, opts: { tcp?: boolean; edns?: number } = {}): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const id = nextId++ & 0xffff;
  const packet: dnsPacket.Packet = {
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }],
    additionals: opts.edns === undefined ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
  const msg = dnsPacket.encode(packet);
  if (opts.tcp === true) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      socket.on('connect', () => { const len = Buffer.alloc(2); len.writeUInt16BE(msg.length); socket.write(Buffer.concat([len, msg])); });
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { socket.end(); resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)))); }
      });
      socket.on('error', reject);
    });
  }
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error(`no UDP answer for ${name}`)); }, 3000);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(dnsPacket.decode(m)); });
    sock.send(msg, port, '127.0.0.1');
  });
}

const ips = (p: dnsPacket.DecodedPacket): string[] => (p.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => (a as { data: string }).data).sort();

async function apply(ns: string, obj: unknown): Promise<void> {
  const r = await kubectl(proxy, ['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

async function clusterIPOf(ns: string, name: string): Promise<string> {
  const svc = await kubectlJson<Service>(proxy, ['get', 'service', name, '-n', ns]);
  return svc.obj?.spec?.clusterIP ?? '';
}

/** Polls raw UDP queries until `ok`, returns the elapsed ms and the last answer. */
async function lag(name: string, type: dnsPacket.RecordType, ok: (p: dnsPacket.DecodedPacket & { rcode?: string }) => boolean, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  await waitFor(`${type} ${name}`, async () => ok(await query(name, type)), timeoutMs);
  return Date.now() - started;
}

const ns = await virtualNamespace(t, proxy, 'dns');
const fqdn = (svc: string): string => `${svc}.${ns}.svc.${DOMAIN}`;

t.test('a ClusterIP Service: A, SRV, PTR, ANY; NODATA for AAAA; case-insensitive', async (t) => {
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  const ip = await clusterIPOf(ns, 'web');
  t.ok(net.isIPv4(ip), `web has a ClusterIP (${ip})`);
  const ms = await lag(fqdn('web'), 'A', (p) => ips(p).includes(ip));
  t.comment(`lag: a new Service answered ${ms} ms after the create returned`);

  t.strictSame(await stub().resolve4(fqdn('web')), [ip], 'resolve4 gives the ClusterIP');
  t.strictSame(await stub().resolve4(fqdn('web').toUpperCase()), [ip], 'in any case');
  const srv = await stub().resolveSrv(`_http._tcp.${fqdn('web')}`);
  t.equal(srv.length, 1, 'one SRV for the named port');
  t.match(srv[0], { name: fqdn('web'), port: 80, priority: 0, weight: 100 }, 'targeting the Service name and port');
  t.strictSame(await stub().reverse(ip), [fqdn('web')], 'PTR of the ClusterIP');
  const any = await stub().resolveAny(fqdn('web'));
  t.ok(any.some((r) => r.type === 'A' && 'address' in r && r.address === ip), 'ANY includes the A record');

  const aaaa = await query(fqdn('web'), 'AAAA');
  t.equal(aaaa.rcode, 'NOERROR', 'AAAA of an IPv4-only Service: NODATA');
  t.equal(aaaa.answers?.length, 0);
  t.equal(aaaa.authorities?.[0]?.type, 'SOA', 'with the zone SOA for negative caching');
  t.ok(aaaa.flag_aa, 'authoritative');

  const srvSrv = await query(`_http._tcp.${fqdn('web')}`, 'SRV');
  t.strictSame(ips(srvSrv), [], 'SRV answers hold no addresses');
  t.ok((srvSrv.additionals ?? []).some((a) => a.type === 'A' && (a as { data?: unknown }).data === ip), 'the target\'s A is in the additional section');
  t.equal((await query(`_nope._tcp.${fqdn('web')}`, 'SRV')).rcode, 'NXDOMAIN', 'an unknown port name: NXDOMAIN');
});

t.test('a headless Service with hand-written EndpointSlices: ready endpoints, hostnames, dashed IPs, SRV, publishNotReadyAddresses', async (t) => {
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hand' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
  await apply(ns, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'hand-a', labels: { 'kubernetes.io/service-name': 'hand' } },
    addressType: 'IPv4', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints: [
      { addresses: ['10.99.0.1'], hostname: 'alpha', conditions: { ready: true } },
      { addresses: ['10.99.0.2'], conditions: { ready: true } },
      { addresses: ['10.99.0.3'], conditions: { ready: false, serving: false } },
    ],
  });
  // The same address in a second slice counts once.
  await apply(ns, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'hand-b', labels: { 'kubernetes.io/service-name': 'hand' } },
    addressType: 'IPv4', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
    endpoints: [{ addresses: ['10.99.0.2'] }],
  });
  await lag(fqdn('hand'), 'A', (p) => ips(p).length === 2);
  t.strictSame((await stub().resolve4(fqdn('hand'))).sort(), ['10.99.0.1', '10.99.0.2'], 'one A per ready endpoint, deduplicated');
  t.strictSame(await stub().resolve4(`alpha.${fqdn('hand')}`), ['10.99.0.1'], 'the endpoint hostname');
  t.strictSame(await stub().resolve4(`10-99-0-2.${fqdn('hand')}`), ['10.99.0.2'], 'the dashed IP of an endpoint without hostname');
  t.equal(await errorCode(stub().resolve4(`10-99-0-3.${fqdn('hand')}`)), 'ENOTFOUND', 'a not-ready endpoint is not published');
  const srv = (await stub().resolveSrv(`_pg._tcp.${fqdn('hand')}`)).map((s) => `${s.name}:${s.port}`).sort();
  t.strictSame(srv, [`10-99-0-2.${fqdn('hand')}:5432`, `alpha.${fqdn('hand')}:5432`], 'one SRV per endpoint, targets named by hostname or dashed IP');
  t.strictSame(await stub().reverse('10.99.0.1'), [`alpha.${fqdn('hand')}`], 'PTR of an endpoint with a hostname');

  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nr' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 80 }] } });
  await apply(ns, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'nr-a', labels: { 'kubernetes.io/service-name': 'nr' } },
    addressType: 'IPv4', ports: [{ protocol: 'TCP', port: 80 }],
    endpoints: [{ addresses: ['10.99.1.1'], conditions: { ready: false, serving: true } }],
  });
  await lag(fqdn('nr'), 'A', (p) => ips(p).length === 1);
  t.strictSame(await stub().resolve4(fqdn('nr')), ['10.99.1.1'], 'publishNotReadyAddresses publishes a not-ready, serving endpoint');
});

t.test('ExternalName: CNAME plus the target\'s address when it resolves; a bare CNAME when it does not', async (t) => {
  const ip = await clusterIPOf(ns, 'web');
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: fqdn('web') } });
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext-out' }, spec: { type: 'ExternalName', externalName: 'nothing.example.invalid' } });
  await lag(fqdn('ext-out'), 'CNAME', (p) => (p.answers?.length ?? 0) === 1);
  t.strictSame(await stub().resolveCname(fqdn('ext')), [fqdn('web')], 'resolveCname gives the externalName');
  t.strictSame(await stub().resolve4(fqdn('ext')), [ip], 'resolve4 reaches the target\'s ClusterIP in one answer');
  const raw = await query(fqdn('ext'), 'A');
  t.strictSame(raw.answers?.map((a) => a.type), ['CNAME', 'A'], 'the answer holds the CNAME and the A (never a bare CNAME, loft#261)');
  t.strictSame(await stub().resolveCname(fqdn('ext-out')), ['nothing.example.invalid'], 'an outside target: the CNAME alone (no chain to follow here)');
});

t.test('pods: a StatefulSet-like pod by hostname.subdomain and PTR; pod records by dashed IP', async (t) => {
  await apply(ns, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', labels: { app: 'db' } },
    spec: { hostname: 'db-0', subdomain: 'hand', containers: [{ name: 'c', image: 'postgres' }] },
  });
  const pod = await waitFor('db-0 Ready with an IP', async () => {
    const p = (await listPods(proxy, ns, 'app=db'))[0];
    return p !== undefined && isReady(p) && (p.status?.podIP ?? '') !== '' ? p : undefined;
  }, 90_000);
  const podIP = pod.status?.podIP as string;
  const name = `db-0.${fqdn('hand')}`;
  const ms = await lag(name, 'A', (p) => ips(p).includes(podIP));
  t.comment(`lag: hostname.subdomain answered ${ms} ms after the pod became Ready`);
  t.strictSame(await stub().resolve4(name), [podIP], 'hostname.subdomain.ns.svc resolves to the pod IP (vCluster #2501)');
  t.strictSame(await stub().reverse(podIP), [name], 'PTR of the pod IP names its hostname.subdomain');
  const dashed = podIP.replaceAll('.', '-');
  t.strictSame(await stub().resolve4(`${dashed}.${ns}.pod.${DOMAIN}`), [podIP], 'a-b-c-d.ns.pod.<domain>');
  t.strictSame(await stub().resolve4(`1-2-3-4.${ns}.pod.${DOMAIN}`), ['1.2.3.4'], 'insecure pod records answer any valid IP in the name (CoreDNS `pods insecure`)');
  t.equal(await errorCode(stub().resolve4(`not-an-ip.${ns}.pod.${DOMAIN}`)), 'ENOTFOUND', 'a pod name that is no IP: NXDOMAIN');
});

t.test('a Deployment behind a headless Service: real endpoints; scaling shows in DNS', async (t) => {
  await apply(ns, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dep' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'dep' } }, template: { metadata: { labels: { app: 'dep' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dep' }, spec: { clusterIP: 'None', selector: { app: 'dep' }, ports: [{ name: 'http', port: 80 }] } });
  const pods = await waitFor('two Ready pods', async () => {
    const p = await listPods(proxy, ns, 'app=dep');
    return p.length === 2 && p.every(isReady) ? p : undefined;
  }, 90_000);
  const podIPs = pods.map((p) => p.status?.podIP ?? '').sort();
  await lag(fqdn('dep'), 'A', (p) => ips(p).length === 2, 60_000);
  t.strictSame((await stub().resolve4(fqdn('dep'))).sort(), podIPs, 'the A records are the pods\' IPs');
  const srv = await stub().resolveSrv(`_http._tcp.${fqdn('dep')}`);
  t.strictSame(srv.map((s) => s.name).sort(), podIPs.map((ip) => `${ip.replaceAll('.', '-')}.${fqdn('dep')}`).sort(), 'SRV targets by dashed IP');

  t.equal((await kubectl(proxy, ['scale', 'deployment', 'dep', '--replicas=3', '-n', ns])).code, 0);
  const ms = await lag(fqdn('dep'), 'A', (p) => ips(p).length === 3, 90_000);
  t.comment(`lag: scaling 2 -> 3 showed in DNS ${ms} ms after the scale returned (pod start and endpoint controller included)`);
  t.equal((await stub().resolve4(fqdn('dep'))).length, 3, 'three A records after scaling');
});

t.test('a deleted Service goes NXDOMAIN; negative answers and the wire details', async (t) => {
  await apply(ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gone' }, spec: { ports: [{ port: 80 }] } });
  await lag(fqdn('gone'), 'A', (p) => ips(p).length === 1);
  t.equal((await kubectl(proxy, ['delete', 'service', 'gone', '-n', ns])).code, 0);
  const ms = await lag(fqdn('gone'), 'A', (p) => p.rcode === 'NXDOMAIN');
  t.comment(`lag: a deleted Service went NXDOMAIN ${ms} ms after the delete returned`);

  for (const name of [`${fqdn('web')}.svc.${DOMAIN}`, `${fqdn('web')}.${ns}.svc.${DOMAIN}`, `example.com.${ns}.svc.${DOMAIN}`, `nope.${ns}.svc.${DOMAIN}`, `web.nosuchns-${ns}.svc.${DOMAIN}`, `x.y.${DOMAIN}`]) {
    const p = await query(name, 'A');
    t.equal(p.rcode, 'NXDOMAIN', `${name}: NXDOMAIN`);
    t.equal(p.authorities?.[0]?.type, 'SOA', `${name}: with the SOA`);
    t.equal((p.authorities?.[0] as { ttl?: number } | undefined)?.ttl, 5, 'whose TTL is the 5 s negative-caching TTL');
  }
  for (const name of [`${ns}.svc.${DOMAIN}`, `svc.${DOMAIN}`, DOMAIN]) {
    const p = await query(name, 'A');
    t.equal(p.rcode, 'NOERROR', `${name} exists: NODATA, not NXDOMAIN`);
    t.equal(p.answers?.length, 0);
  }
  t.equal((await query(DOMAIN, 'SOA')).answers?.[0]?.type, 'SOA', 'the apex answers its SOA');

  const tcp = await query(fqdn('web'), 'A', { tcp: true });
  t.equal(tcp.rcode, 'NOERROR', 'TCP answers');
  t.equal(tcp.answers?.length, 1);
  t.ok(tcp.flag_rd && tcp.flag_ra && tcp.flag_aa, 'RD echoed, RA and AA set');
  const edns = await query(fqdn('web'), 'A', { edns: 1232 });
  t.ok((edns.additionals ?? []).some((a) => a.type === 'OPT'), 'an EDNS0 query gets an OPT back');
  t.equal((await query('example.com', 'A')).rcode, 'REFUSED', 'a name outside the zone with no other resolver: REFUSED');
  t.equal((await query('1.2.0.192.in-addr.arpa', 'PTR')).rcode, 'REFUSED', 'the PTR of an unknown IP is not the cluster zone\'s (falls through to the next resolver; none here)');
});
