// Pods written through vcnet become host pods synchronously, and their real state comes back
// (issue 3). kubectl through the proxy of the shared environment; host side read with the host
// admin kubeconfig; kwok runs the host pods.
import t, { type Test } from 'tap';
import { kubectl, testEnv, uniqueName } from '../../harness/env.ts';
import { getJson, hostPodsOf, isReady, listPods, sharedTranslator as tr, waitFor } from '../../harness/pods.ts';
import type { Pod } from '../../../src/translate/pod.ts';

const env = await testEnv();
const proxy = env.proxyKubeconfig;
const host = env.hostKubeconfig;
const HNS = tr.hostNamespace;

async function namespace(t: Test, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  const r = await kubectl(proxy, ['create', 'namespace', ns]);
  t.equal(r.code, 0, r.stderr);
  t.teardown(async () => { await kubectl(proxy, ['delete', 'namespace', ns, '--wait=false']); });
  return ns;
}

async function hostPod(vNamespace: string, vName: string): Promise<Pod | undefined> {
  return getJson<Pod>(host, ['pod', '-n', HNS, tr.hostName(vName, vNamespace)]);
}

t.test('kubectl create deployment --replicas=3: three host pods, virtual pods Running with the host IPs and nodes', async (t) => {
  const ns = await namespace(t, 'deploy');
  const r = await kubectl(proxy, ['create', 'deployment', 'web', '--image=nginx', '--replicas=3', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const vPods = await waitFor('three Ready virtual pods', async () => {
    const pods = await listPods(proxy, ns, 'app=web');
    return pods.length === 3 && pods.every(isReady) ? pods : undefined;
  }, 60_000);
  const hPods = await hostPodsOf(host, ns);
  t.equal(hPods.length, 3, 'one host pod per virtual pod');
  for (const v of vPods) {
    const name = v.metadata.name ?? '';
    const h = hPods.find((p) => p.metadata.name === tr.hostName(name, ns));
    t.ok(h, `host pod ${tr.hostName(name, ns)} exists`);
    if (h === undefined) continue;
    t.equal(h.metadata.name, `${name}-x-${ns}-x-${tr.vcluster}`, 'vCluster name scheme');
    t.equal(h.metadata.labels?.['vcluster.loft.sh/managed-by'], tr.vcluster);
    t.equal(h.metadata.labels?.['vcluster.loft.sh/namespace'], ns);
    t.equal(h.metadata.labels?.['app'], 'web', 'user labels are copied');
    t.equal(h.metadata.annotations?.['vcluster.loft.sh/name'], name);
    t.equal(h.metadata.annotations?.['vcluster.loft.sh/namespace'], ns);
    t.equal(h.metadata.annotations?.['vcluster.loft.sh/uid'], v.metadata.uid);
    t.equal(h.metadata.annotations?.['vcluster.loft.sh/owner-set-kind'], 'ReplicaSet');
    t.equal(h.spec.dnsPolicy, 'None');
    t.ok((h.status?.podIP ?? '') !== '', 'the host pod has an IP');
    t.equal(v.status?.podIP, h.status?.podIP, 'the virtual pod shows the host pod IP');
    t.equal(v.spec.nodeName, h.spec.nodeName, 'the virtual pod is bound to the host pod\'s node');
  }
  const wide = await kubectl(proxy, ['get', 'pods', '-n', ns, '-o', 'wide']);
  t.equal(wide.code, 0, wide.stderr);
  for (const v of vPods) {
    t.match(wide.stdout, new RegExp(`${v.metadata.name}\\s+1/1\\s+Running\\s+\\d+\\s+\\S+\\s+${(v.status?.podIP ?? '').replace(/\./g, '\\.')}\\s+${v.spec.nodeName}`), 'get -o wide shows IP and node');
  }
  const nodes = await kubectl(proxy, ['get', 'nodes', '-o', 'name']);
  for (const v of vPods) t.match(nodes.stdout, `node/${v.spec.nodeName}`, 'the node is mirrored into the virtual cluster');
  const rs = await kubectl(proxy, ['rollout', 'status', `deployment/web`, '-n', ns, '--timeout=60s']);
  t.equal(rs.code, 0, `the deployment completes: ${rs.stdout}${rs.stderr}`);
});

t.test('the host pod exists when kubectl create returns', async (t) => {
  const ns = await namespace(t, 'sync');
  const r = await kubectl(proxy, ['run', 'now', '--image=busybox', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const h = await hostPod(ns, 'now');
  t.ok(h, 'host pod present right after the create');
  t.equal(h?.metadata.annotations?.['vcluster.loft.sh/name'], 'now');
});

t.test('a name at the 63-character limit hashes its host name', async (t) => {
  const ns = await namespace(t, 'long');
  const name = `p${'a'.repeat(62)}`;
  t.equal(name.length, 63);
  const r = await kubectl(proxy, ['run', name, '--image=busybox', '-n', ns]);
  t.equal(r.code, 0, r.stderr);
  const hName = tr.hostName(name, ns);
  t.ok(hName.length <= 63, `host name ${hName} fits`);
  t.not(hName, `${name}-x-${ns}-x-${tr.vcluster}`);
  const h = await hostPod(ns, name);
  t.equal(h?.metadata.annotations?.['vcluster.loft.sh/name'], name, 'the full virtual name is kept in the annotation');
  t.equal(h?.spec.hostname, name, 'hostname is the virtual name');
});

t.test('generateName: the host pod is named after the name the API server generated', async (t) => {
  const ns = await namespace(t, 'gen');
  const r = await kubectl(proxy, ['create', '-n', ns, '-o', 'jsonpath={.metadata.name}', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'job-' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }),
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^job-[a-z0-9]{5}$/);
  const h = await hostPod(ns, r.stdout);
  t.ok(h, 'host pod exists under the generated name');
});

t.test('ConfigMap, Secret and projected token references are synced with the pod, kept in sync, and collected', async (t) => {
  const ns = await namespace(t, 'refs');
  t.equal((await kubectl(proxy, ['create', 'configmap', 'cfg', '--from-literal=mode=blue', '-n', ns])).code, 0);
  t.equal((await kubectl(proxy, ['create', 'secret', 'generic', 'pw', '--from-literal=password=s3cret', '-n', ns])).code, 0);
  t.equal((await kubectl(proxy, ['create', 'secret', 'generic', 'unused', '--from-literal=x=y', '-n', ns])).code, 0);
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'consumer' },
    spec: {
      containers: [{
        name: 'app', image: 'busybox',
        env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }],
        envFrom: [{ secretRef: { name: 'pw' } }],
        volumeMounts: [{ name: 'token', mountPath: '/var/run/token' }],
      }],
      volumes: [{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault' } }] } }],
    },
  };
  const r = await kubectl(proxy, ['create', '-n', ns, '-f', '-'], { input: JSON.stringify(pod) });
  t.equal(r.code, 0, r.stderr);
  const cfg = await getJson<{ data?: Record<string, string>; metadata: { labels?: Record<string, string> } }>(host, ['configmap', '-n', HNS, tr.hostName('cfg', ns)]);
  t.equal(cfg?.data?.['mode'], 'blue', 'the ConfigMap is on the host before the pod');
  const pw = await getJson<{ data?: Record<string, string> }>(host, ['secret', '-n', HNS, tr.hostName('pw', ns)]);
  t.equal(Buffer.from(pw?.data?.['password'] ?? '', 'base64').toString(), 's3cret');
  t.equal(await getJson(host, ['secret', '-n', HNS, tr.hostName('unused', ns)]), undefined, 'an unreferenced Secret is not synced');
  const h = await hostPod(ns, 'consumer');
  t.equal(h?.spec.containers[0]?.env?.find((e) => e.name === 'MODE')?.valueFrom?.configMapKeyRef?.name, tr.hostName('cfg', ns));
  const tokenItem = h?.spec.volumes?.find((v) => v.name === 'token')?.projected?.sources?.[0]?.downwardAPI?.items?.[0];
  const tokenAnnotation = /metadata\.annotations\['(.+)'\]/.exec(tokenItem?.fieldRef?.fieldPath ?? '')?.[1] ?? '';
  t.ok(tokenAnnotation.startsWith('vcluster.loft.sh/token-'), 'the token projection reads a host pod annotation');

  // The token becomes bound to the virtual pod once it exists, for the requested audience.
  const bound = await waitFor('a pod-bound token', async () => {
    const p = await hostPod(ns, 'consumer');
    return p?.metadata.annotations?.['vcnet.dev/service-account-tokens'] === 'bound' ? p : undefined;
  });
  const payload = JSON.parse(Buffer.from((bound.metadata.annotations?.[tokenAnnotation] ?? '').split('.')[1] ?? '', 'base64url').toString()) as { aud: string[]; 'kubernetes.io': { pod?: { name: string } } };
  t.strictSame(payload.aud, ['vault']);
  t.equal(payload['kubernetes.io'].pod?.name, 'consumer');

  // Kept in sync.
  t.equal((await kubectl(proxy, ['patch', 'configmap', 'cfg', '-n', ns, '--type=merge', '-p', '{"data":{"mode":"green"}}'])).code, 0);
  await waitFor('the host copy to follow', async () => (await getJson<{ data?: Record<string, string> }>(host, ['configmap', '-n', HNS, tr.hostName('cfg', ns)]))?.data?.['mode'] === 'green');
  t.pass('a change of the virtual ConfigMap reaches the host copy');

  // Collected once nothing refers to them.
  t.equal((await kubectl(proxy, ['delete', 'pod', 'consumer', '-n', ns, '--grace-period=0', '--force'])).code, 0);
  await waitFor('the host copies to go', async () =>
    (await getJson(host, ['configmap', '-n', HNS, tr.hostName('cfg', ns)])) === undefined
    && (await getJson(host, ['secret', '-n', HNS, tr.hostName('pw', ns)])) === undefined, 60_000);
  t.pass('unreferenced host copies are deleted');
});

t.test('a StatefulSet pod with a subdomain: FQDN in /etc/hosts through the init container, no host subdomain', async (t) => {
  const ns = await namespace(t, 'sts');
  const manifest = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx' }, spec: { clusterIP: 'None', selector: { app: 'nginx' }, ports: [{ port: 80 }] } },
    {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' },
      spec: { serviceName: 'nginx', replicas: 1, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
    },
  ];
  const r = await kubectl(proxy, ['apply', '-n', ns, '-f', '-'], { input: manifest.map((m) => JSON.stringify(m)).join('\n') });
  t.equal(r.code, 0, r.stderr);
  const h = await waitFor('the host pod of web-0', () => hostPod(ns, 'web-0'), 60_000);
  t.equal(h.spec.hostname, 'web-0');
  t.equal(h.spec['subdomain'], undefined, 'the host pod has no subdomain (the headless Service has another name there)');
  t.equal(h.spec.initContainers?.[0]?.name, 'vcluster-rewrite-hosts');
  t.match(JSON.stringify([h.spec.initContainers?.[0]?.command, h.spec.initContainers?.[0]?.args]), `web-0.nginx.${ns}.svc.cluster.local`);
  t.equal(h.metadata.annotations?.['vcluster.loft.sh/hosts-rewritten'], 'true');
  await waitFor('web-0 Ready', async () => {
    const v = await getJson<Pod>(proxy, ['pod', 'web-0', '-n', ns]);
    return v !== undefined && isReady(v);
  }, 60_000);
  const v = await getJson<Pod>(proxy, ['pod', 'web-0', '-n', ns]);
  t.equal(v?.status?.initContainerStatuses?.length ?? 0, 0, 'the injected init container is hidden from the virtual status');
});

t.test('a pod with its own dnsConfig keeps its options and nameservers after the cluster DNS', async (t) => {
  const ns = await namespace(t, 'dns');
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'resolver' },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    },
  };
  t.equal((await kubectl(proxy, ['create', '-n', ns, '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
  const h = await hostPod(ns, 'resolver');
  const dnsIP = (await getJson<{ spec: { clusterIP: string } }>(host, ['service', '-n', HNS, `kube-dns-x-kube-system-x-${tr.vcluster}`]))?.spec.clusterIP;
  t.equal(h?.spec.dnsPolicy, 'None');
  t.strictSame(h?.spec.dnsConfig?.nameservers, [dnsIP, '1.1.1.1']);
  t.strictSame(h?.spec.dnsConfig?.searches, [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local', 'corp.example']);
  t.strictSame(h?.spec.dnsConfig?.options, [{ name: 'ndots', value: '2' }, { name: 'edns0' }], 'the user\'s options are kept (vCluster drops them)');
});

t.test('kubectl debug adds the ephemeral container to the host pod', async (t) => {
  const ns = await namespace(t, 'debug');
  t.equal((await kubectl(proxy, ['run', 'target', '--image=busybox', '-n', ns])).code, 0);
  await waitFor('target Running', async () => (await getJson<Pod>(proxy, ['pod', 'target', '-n', ns]))?.status?.phase === 'Running', 60_000);
  const r = await kubectl(proxy, ['debug', 'target', '-n', ns, '--image=busybox', '-c', 'dbg', '--', 'sleep', '3600']);
  t.equal(r.code, 0, r.stderr);
  const h = await hostPod(ns, 'target');
  const dbg = h?.spec.ephemeralContainers?.find((c) => c.name === 'dbg');
  t.ok(dbg, 'the host pod has the debug container');
  t.ok(dbg?.env?.some((e) => e.name === 'KUBERNETES_SERVICE_HOST'), 'translated like the pod\'s other containers');
});

t.test('a host pod deleted by hand: the virtual pod goes and its ReplicaSet replaces it', async (t) => {
  const ns = await namespace(t, 'handdel');
  t.equal((await kubectl(proxy, ['create', 'deployment', 'app', '--image=nginx', '-n', ns])).code, 0);
  const first = await waitFor('a Ready pod', async () => (await listPods(proxy, ns, 'app=app')).find(isReady), 60_000);
  const hName = tr.hostName(first.metadata.name ?? '', ns);
  t.equal((await kubectl(host, ['delete', 'pod', hName, '-n', HNS, '--wait=false'])).code, 0);
  const replacement = await waitFor('a replacement pod Ready', async () => (await listPods(proxy, ns, 'app=app')).find((p) => p.metadata.name !== first.metadata.name && isReady(p)), 90_000);
  await waitFor('the first virtual pod gone', async () => (await getJson(proxy, ['pod', first.metadata.name ?? '', '-n', ns])) === undefined, 60_000);
  t.ok(await hostPod(ns, replacement.metadata.name ?? ''), 'the replacement has its host pod');
  const hostPods = await hostPodsOf(host, ns);
  t.equal(hostPods.filter((p) => p.metadata.deletionTimestamp === undefined).length, 1, 'exactly one host pod remains');
});

t.test('deleting a virtual pod deletes its host pod; the virtual pod finishes when the host pod is gone', async (t) => {
  const ns = await namespace(t, 'del');
  t.equal((await kubectl(proxy, ['run', 'gone', '--image=busybox', '-n', ns])).code, 0);
  await waitFor('bound to a node', async () => (await getJson<Pod>(proxy, ['pod', 'gone', '-n', ns]))?.spec.nodeName);
  const r = await kubectl(proxy, ['delete', 'pod', 'gone', '-n', ns, '--timeout=60s']);
  t.equal(r.code, 0, r.stderr);
  t.equal(await hostPod(ns, 'gone'), undefined, 'the host pod is gone when kubectl delete returns');
});

t.test('a pod the host refuses (over quota): the virtual create is refused with the host\'s reason in virtual names, nothing is left', async (t) => {
  const ns = await namespace(t, 'quota');
  // Terminating scope: only pods with activeDeadlineSeconds count, so no other test is affected.
  const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: `no-deadline-pods-${ns}`, namespace: HNS }, spec: { hard: { pods: '0' }, scopes: ['Terminating'] } };
  t.equal((await kubectl(host, ['create', '-f', '-'], { input: JSON.stringify(quota) })).code, 0);
  t.teardown(async () => { await kubectl(host, ['delete', 'resourcequota', quota.metadata.name, '-n', HNS]); });
  await waitFor('the quota to be counted', async () => (await getJson<{ status?: { hard?: Record<string, string> } }>(host, ['resourcequota', quota.metadata.name, '-n', HNS]))?.status?.hard?.['pods'] === '0');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'deadline' }, spec: { activeDeadlineSeconds: 60, containers: [{ name: 'c', image: 'busybox' }] } };
  const r = await kubectl(proxy, ['create', '-n', ns, '-f', '-'], { input: JSON.stringify(pod) });
  t.not(r.code, 0, 'refused');
  t.match(r.stderr, /forbidden: exceeded quota/);
  t.match(r.stderr, 'pods "deadline"', 'the message names the virtual pod');
  t.notMatch(r.stderr, tr.hostName('deadline', ns), 'and not the host name');
  t.equal(await getJson(proxy, ['pod', 'deadline', '-n', ns]), undefined, 'no virtual pod');
  t.equal(await hostPod(ns, 'deadline'), undefined, 'no host pod');
});

t.test('dry run: nothing is created on either side', async (t) => {
  const ns = await namespace(t, 'dry');
  const r = await kubectl(proxy, ['run', 'dry', '--image=busybox', '-n', ns, '--dry-run=server']);
  t.equal(r.code, 0, r.stderr);
  t.equal(await getJson(proxy, ['pod', 'dry', '-n', ns]), undefined);
  t.equal(await hostPod(ns, 'dry'), undefined);
});

t.test('a readiness gate set inside the virtual cluster reaches the host pod', async (t) => {
  const ns = await namespace(t, 'gate');
  const gate = 'example.com/feature-ready';
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gated' }, spec: { readinessGates: [{ conditionType: gate }], containers: [{ name: 'c', image: 'busybox' }] } };
  t.equal((await kubectl(proxy, ['create', '-n', ns, '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
  await waitFor('the pod Running', async () => (await getJson<Pod>(proxy, ['pod', 'gated', '-n', ns]))?.status?.phase === 'Running', 60_000);
  const patch = { status: { conditions: [{ type: gate, status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } };
  const r = await kubectl(proxy, ['patch', 'pod', 'gated', '-n', ns, '--subresource=status', '--type=strategic', '-p', JSON.stringify(patch)]);
  t.equal(r.code, 0, r.stderr);
  const h = await waitFor('the condition on the host pod', async () => {
    const p = await hostPod(ns, 'gated');
    return p?.status?.conditions?.some((c) => c.type === gate && c.status === 'True') ? p : undefined;
  });
  t.ok(h.status?.conditions?.some((c) => c.type === 'Ready'), 'the host keeps its own conditions');
  const v = await getJson<Pod>(proxy, ['pod', 'gated', '-n', ns]);
  t.ok(v?.status?.conditions?.some((c) => c.type === gate && c.status === 'True'), 'and the virtual pod keeps the gate');
});
