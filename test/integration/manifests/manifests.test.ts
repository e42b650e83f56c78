// The kustomize base in manifests/: what a user relies on when applying it, checked first on the
// objects `kubectl kustomize` renders, then by the test host's real kube-apiserver (server-side dry
// run, Pod Security admission, RBAC authorization).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import type {
  V1ClusterRole, V1ClusterRoleBinding, V1ConfigMap, V1Container, V1Deployment, V1PodDisruptionBudget,
  V1PodSpec, V1PolicyRule, V1Role, V1RoleBinding, V1Service,
} from '@kubernetes/client-node';
import t from 'tap';
import { parseAllDocuments, parseDocument, stringify } from 'yaml';
import { SERVING_CA } from '../../../src/cli/serve.ts';
import { loadConfigText, type VcnetConfig } from '../../../src/config/index.ts';
import { kubectl, tempDir, testEnv, uniqueName } from '../../harness/env.ts';
import { REPO } from '../../harness/paths.ts';

t.setTimeout(180_000);

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

const BASE = join(REPO, 'manifests');
const BASE_NAMESPACE = 'vcnet';
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
const READ_VERBS = new Set(['get', 'list', 'watch']);
const env = await testEnv();

async function render(dir: string): Promise<KObject[]> {
  const r = await kubectl(env.hostKubeconfig, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as KObject);
}

function find<T>(objs: KObject[], kind: string, name?: string): T {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, rendered ${found.length}`);
  return found[0] as T;
}

/** The config file the Deployment runs with: the rendered ConfigMap it mounts, parsed and validated. */
function podConfig(objs: KObject[]): { config: VcnetConfig; path: string } {
  const pod = podSpec(objs);
  const args = vcnetContainer(pod).args ?? [];
  const at = args.indexOf('--config');
  const path = args[at + 1];
  if (at < 0 || path === undefined) throw new Error(`the vcnet container runs without --config: ${JSON.stringify(args)}`);
  const source = sourceOf(pod, vcnetContainer(pod), path);
  if (source?.kind !== 'configMap' || source.key === undefined) throw new Error(`${path} is not mounted from a ConfigMap key`);
  const text = find<V1ConfigMap>(objs, 'ConfigMap', source.name).data?.[source.key];
  if (text === undefined) throw new Error(`ConfigMap ${source.name} has no key ${source.key}`);
  return { config: loadConfigText(text, { source: `ConfigMap ${source.name}` }), path };
}

function podSpec(objs: KObject[]): V1PodSpec {
  const spec = find<V1Deployment>(objs, 'Deployment', 'vcnet').spec?.template.spec;
  if (spec === undefined) throw new Error('Deployment vcnet has no pod template');
  return spec;
}

function vcnetContainer(pod: V1PodSpec): V1Container {
  const c = pod.containers.find((x) => x.name === 'vcnet');
  if (c === undefined) throw new Error('the pod has no container named vcnet');
  return c;
}

interface Source { volume: string; kind: 'configMap' | 'secret' | 'emptyDir' | 'other'; name?: string; key?: string; readOnly: boolean }

/** What a container sees at `path`: the volume behind the deepest mount covering it and, for a
 *  ConfigMap or Secret, the key projected there. Undefined when nothing is mounted there. */
function sourceOf(pod: V1PodSpec, container: V1Container, path: string): Source | undefined {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (mount === undefined) return undefined;
  const rel = posix.join(mount.subPath ?? '', path.slice(mount.mountPath.length).replace(/^\//, ''));
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  if (volume === undefined) throw new Error(`volumeMount ${mount.name} names no volume`);
  const base = { volume: volume.name, readOnly: mount.readOnly === true };
  const keyed = (items: Array<{ key: string; path: string }> | undefined): string | undefined =>
    items === undefined ? (rel === '.' ? undefined : rel) : items.find((i) => posix.normalize(i.path) === rel)?.key;
  if (volume.emptyDir) return { ...base, kind: 'emptyDir' };
  if (volume.configMap) return { ...base, kind: 'configMap', name: volume.configMap.name, key: keyed(volume.configMap.items) };
  if (volume.secret) return { ...base, kind: 'secret', name: volume.secret.secretName, key: keyed(volume.secret.items) };
  for (const s of volume.projected?.sources ?? []) {
    if (s.configMap) {
      const key = keyed(s.configMap.items);
      if (key !== undefined) return { ...base, kind: 'configMap', name: s.configMap.name, key };
    }
    if (s.secret) {
      const key = keyed(s.secret.items);
      if (key !== undefined) return { ...base, kind: 'secret', name: s.secret.name, key };
    }
  }
  return { ...base, kind: 'other' };
}

/** A named or numbered container port, as a number. */
function portNumber(container: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function rulesOf(objs: KObject[], kind: 'Role' | 'ClusterRole'): Array<{ owner: string; rule: V1PolicyRule }> {
  return objs.filter((o) => o.kind === kind)
    .flatMap((o) => ((o as V1Role | V1ClusterRole).rules ?? []).map((rule) => ({ owner: `${kind} ${o.metadata.name}`, rule })));
}

function bindings(objs: KObject[]): Array<V1RoleBinding | V1ClusterRoleBinding> {
  return objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') as unknown as Array<V1RoleBinding | V1ClusterRoleBinding>;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

// Everything is rendered and set up before the first subtest is declared: tap runs subtests as
// soon as the top level awaits, and ends the root test (running its teardowns) when they finish.
const base = await render(BASE);

// An overlay shaped like the one manifests/README.md tells users to write.
const namespace = uniqueName('vcnet-manifests');
const overlayDir = tempDir(t, 'vcnet-manifests-');
const image = { name: 'registry.example.com/vcnet', tag: '1.2.3' };
const clusterName = `vcnet-node-reader-${namespace}`;
{
  const vcnetYaml = parseDocument(readFileSync(join(BASE, 'vcnet.yaml'), 'utf8'));
  vcnetYaml.setIn(['vcnet', 'host', 'namespace'], namespace);
  writeFileSync(join(overlayDir, 'vcnet.yaml'), vcnetYaml.toString());
  const rename = (kind: string) => ({
    target: { kind, name: 'vcnet-node-reader' },
    patch: stringify([{ op: 'replace', path: '/metadata/name', value: clusterName }]),
  });
  writeFileSync(join(overlayDir, 'kustomization.yaml'), stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace,
    resources: [relative(overlayDir, BASE)],
    images: [{ name: 'vcnet', newName: image.name, newTag: image.tag }],
    configMapGenerator: [{ name: 'vcnet-config', behavior: 'replace', files: ['vcnet.yaml'] }],
    patches: [rename('ClusterRole'), rename('ClusterRoleBinding')],
  }));
}
const overlay = await render(overlayDir);

// From here on the real host kube-apiserver judges. The namespace exists for real (as the virtual
// cluster's would); a dry run cannot create objects inside a namespace that is itself a dry run.
// `enforce: restricted` makes Pod Security admission refuse a pod that breaks the standard.
const created = await kubectl(env.hostKubeconfig, ['create', '-f', '-'], {
  input: JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
  }),
});
if (created.code !== 0) throw new Error(`cannot create namespace ${namespace}: ${created.stderr}`);
t.teardown(async () => {
  await kubectl(env.hostKubeconfig, ['delete', 'clusterrolebinding,clusterrole', clusterName, '--ignore-not-found', '--wait=false']);
  await kubectl(env.hostKubeconfig, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
});

// Applied for real: the ServiceAccount (which pod admission looks up) and the RBAC objects (which
// the authorizer reads). No Deployment: nothing needs to run.
const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
const applied = await kubectl(env.hostKubeconfig, ['apply', '-f', '-'], {
  input: overlay.filter((o) => rbacKinds.has(o.kind)).map((o) => stringify(o)).join('---\n'),
});
if (applied.code !== 0) throw new Error(`cannot apply the overlay's ServiceAccount and RBAC: ${applied.stderr}`);

t.test('the base renders each object a user relies on, and no Secret', async (t) => {
  const kinds = base.map((o) => `${o.kind}/${o.metadata.name.replace(/^(vcnet-config)-[a-z0-9]+$/, '$1-<hash>')}`).sort();
  t.same(kinds, [
    'ClusterRole/vcnet-node-reader', 'ClusterRoleBinding/vcnet-node-reader', 'ConfigMap/vcnet-config-<hash>',
    'Deployment/vcnet', 'Namespace/vcnet', 'PodDisruptionBudget/vcnet', 'Role/vcnet', 'RoleBinding/vcnet',
    'Service/kube-dns-x-kube-system-x-vcluster', 'Service/vcnet', 'ServiceAccount/vcnet',
  ]);
  for (const o of base.filter((x) => !CLUSTER_SCOPED.has(x.kind))) {
    t.equal(o.metadata.namespace, BASE_NAMESPACE, `${o.kind} ${o.metadata.name} is in the base namespace`);
  }
  for (const o of base) t.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'vcnet', `${o.kind} ${o.metadata.name} carries the app label`);
});

t.test('the host Services the pod sync needs are in the base: the proxy\'s (kubeIP) and the DNS one (nameserver)', async (t) => {
  const { config } = podConfig(base);
  const services = new Set(base.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
  t.ok(services.has(config.vcnet.host.service), `vcnet.host.service ${config.vcnet.host.service} is a Service of the base`);
  t.ok(services.has(config.vcnet.host.dnsService), `vcnet.host.dnsService ${config.vcnet.host.dnsService} is a Service of the base`);
  t.equal(config.vcnet.webhook.url, `https://vcnet.${BASE_NAMESPACE}.svc:${config.vcnet.webhook.port}`, 'the webhook URL is the Service\'s');
});

t.test('the DNS Service reaches vcnet\'s DNS server over UDP and TCP', async (t) => {
  const { config } = podConfig(base);
  const c = vcnetContainer(podSpec(base));
  const svc = base.find((o) => o.kind === 'Service' && o.metadata.name === config.vcnet.host.dnsService) as unknown as { spec: { ports: Array<{ port: number; targetPort: number | string; protocol: string }> } };
  t.ok(config.vcnet.dns.enabled, 'the DNS server is on');
  for (const protocol of ['UDP', 'TCP']) {
    const port = svc.spec.ports.find((p) => p.protocol === protocol);
    t.equal(port?.port, 53, `${protocol} 53`);
    t.equal(port?.targetPort, config.vcnet.dns.port, `${protocol} goes to vcnet.dns.port`);
    t.ok(c.ports?.some((p) => p.containerPort === config.vcnet.dns.port && p.protocol === protocol), `the container declares ${config.vcnet.dns.port}/${protocol}`);
  }
  t.equal(config.vcnet.dns.bindAddress, '0.0.0.0', 'the DNS server listens on the pod\'s addresses');
});

t.test('the config in the ConfigMap is valid and every path in it is mounted from the right place', async (t) => {
  const { config } = podConfig(base);
  const pod = podSpec(base);
  const c = vcnetContainer(pod);
  const cases: Array<{ name: string; path: string; expected: Partial<Source> }> = [
    { name: 'the virtual kubeconfig comes from Secret vcnet-virtual, key kubeconfig', path: config.vcnet.virtual.kubeconfig, expected: { kind: 'secret', name: 'vcnet-virtual', key: 'kubeconfig', readOnly: true } },
    { name: 'the client CA comes from Secret vcnet-virtual, key client-ca.crt', path: config.vcnet.proxy.clientCAFile, expected: { kind: 'secret', name: 'vcnet-virtual', key: 'client-ca.crt', readOnly: true } },
    { name: 'the certificate directory is a writable emptyDir', path: config.vcnet.certs.dir, expected: { kind: 'emptyDir', readOnly: false } },
  ];
  for (const x of cases) {
    t.test(x.name, async (t) => {
      t.not(x.path, '', 'the config sets the path');
      t.match(sourceOf(pod, c, x.path), x.expected);
    });
  }
  t.equal(config.vcnet.host.namespace, BASE_NAMESPACE, 'vcnet.host.namespace is the namespace it is deployed to (the serving certificate names it)');
  t.equal(config.vcnet.host.kubeconfig, '', 'the host is reached with the in-cluster ServiceAccount');
  t.notOk(isLoopback(config.controlPlane.proxy.bindAddress), 'the proxy listens beyond loopback, where the Service sends traffic');
  t.notOk(isLoopback(config.vcnet.observability.bindAddress), 'health and metrics listen beyond loopback, where the kubelet probes');
  t.equal(portNumber(c, 'https'), config.controlPlane.proxy.port, 'the https container port is the proxy port');
  t.equal(portNumber(c, 'metrics'), config.vcnet.observability.port, 'the metrics container port is the health/metrics port');
});

t.test('the init container puts the shared CA where vcnet serve looks for it, and only it sees the CA key', async (t) => {
  const { config } = podConfig(base);
  const pod = podSpec(base);
  const init = pod.initContainers?.find((x) => x.name === 'copy-ca');
  if (init === undefined) throw new Error('no init container copy-ca');
  const script = [...(init.command ?? []), ...(init.args ?? [])].join(' ');
  const copies = [...script.matchAll(/install -m (\d+) (\S+) (\S+)/g)].map((m) => ({ mode: m[1], from: m[2]!, to: m[3]! }));
  const cases = [
    { name: 'the CA certificate', key: 'ca.crt', to: join(config.vcnet.certs.dir, `${SERVING_CA}.crt`), mode: '0644' },
    { name: 'the CA key, readable by vcnet alone', key: 'ca.key', to: join(config.vcnet.certs.dir, `${SERVING_CA}.key`), mode: '0600' },
  ];
  for (const x of cases) {
    const copy = copies.find((cp) => cp.to === x.to);
    t.ok(copy, `${x.name} is copied to ${x.to}`);
    if (copy === undefined) continue;
    t.equal(copy.mode, x.mode, `${x.name} gets mode ${x.mode}`);
    t.match(sourceOf(pod, init, copy.from), { kind: 'secret', name: 'vcnet-certs', key: x.key }, `${x.name} comes from Secret vcnet-certs, key ${x.key}`);
  }
  const certsVolume = sourceOf(pod, vcnetContainer(pod), config.vcnet.certs.dir)?.volume;
  t.equal(sourceOf(pod, init, config.vcnet.certs.dir)?.volume, certsVolume, 'the init container writes into the volume vcnet serve reads');
  const caVolumes = (pod.volumes ?? []).filter((v) => v.secret?.secretName === 'vcnet-certs' || v.projected?.sources?.some((s) => s.secret?.name === 'vcnet-certs'));
  const mountedInVcnet = (vcnetContainer(pod).volumeMounts ?? []).filter((m) => caVolumes.some((v) => v.name === m.name));
  t.same(mountedInVcnet, [], 'the long-running container never mounts the CA private key');
});

t.test('every container runs non-root with the restricted security settings and bounded resources', async (t) => {
  const pod = podSpec(base);
  t.equal(pod.securityContext?.runAsNonRoot, true, 'the pod runs as non-root');
  t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', 'the pod uses the RuntimeDefault seccomp profile');
  t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, 'the pod shares no host namespace');
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    t.test(`container ${c.name}`, async (t) => {
      const sc = c.securityContext ?? {};
      t.equal(sc.allowPrivilegeEscalation, false, 'cannot escalate privileges');
      t.equal(sc.readOnlyRootFilesystem, true, 'has a read-only root filesystem');
      t.not(sc.privileged, true, 'is not privileged');
      t.ok(sc.capabilities?.drop?.includes('ALL'), 'drops all capabilities');
      t.same(sc.capabilities?.add ?? [], [], 'adds none back');
      t.not(sc.runAsUser, 0, 'does not override the pod user with root');
      for (const r of ['cpu', 'memory']) {
        t.ok(c.resources?.requests?.[r], `requests ${r}`);
        t.ok(c.resources?.limits?.[r], `limits ${r}`);
      }
    });
  }
});

t.test('the probes ask the health endpoints on the health port', async (t) => {
  const { config } = podConfig(base);
  const c = vcnetContainer(podSpec(base));
  const cases = [
    { name: 'liveness', probe: c.livenessProbe, path: '/livez' },
    { name: 'readiness', probe: c.readinessProbe, path: '/readyz' },
    { name: 'startup', probe: c.startupProbe, path: '/livez' },
  ];
  for (const x of cases) {
    t.equal(x.probe?.httpGet?.path, x.path, `${x.name} asks ${x.path}`);
    t.equal(x.probe?.httpGet?.scheme ?? 'HTTP', 'HTTP', `${x.name} speaks plain HTTP`);
    t.equal(portNumber(c, x.probe?.httpGet?.port), config.vcnet.observability.port, `${x.name} goes to vcnet.observability.port`);
  }
});

t.test('the Service, the Deployment and the PodDisruptionBudget select the same pods', async (t) => {
  const { config } = podConfig(base);
  const deployment = find<V1Deployment>(base, 'Deployment', 'vcnet');
  const labels = deployment.spec?.template.metadata?.labels ?? {};
  const service = find<V1Service>(base, 'Service', 'vcnet');
  const pdb = find<V1PodDisruptionBudget>(base, 'PodDisruptionBudget', 'vcnet');
  const c = vcnetContainer(podSpec(base));
  t.equal(deployment.spec?.replicas, 2, 'two replicas');
  for (const [name, selector] of [['Deployment', deployment.spec?.selector.matchLabels], ['Service', service.spec?.selector], ['PodDisruptionBudget', pdb.spec?.selector?.matchLabels]] as const) {
    t.ok(selector !== undefined && Object.keys(selector).length > 0, `the ${name} has a selector`);
    t.match(labels, selector ?? { missing: 'selector' }, `the ${name} selects the Deployment's pods`);
  }
  t.equal(service.spec?.type, 'ClusterIP');
  const https = service.spec?.ports?.find((p) => p.name === 'https');
  t.equal(https?.port, 443, 'clients use port 443');
  t.equal(portNumber(c, https?.targetPort), config.controlPlane.proxy.port, '443 reaches the proxy');
  const metrics = service.spec?.ports?.find((p) => p.name === 'metrics');
  t.equal(portNumber(c, metrics?.targetPort), config.vcnet.observability.port, 'the metrics port reaches /metrics');
  t.equal(pdb.spec?.maxUnavailable, 1, 'a drain takes one replica at a time');
});

t.test('RBAC: writes only inside the namespace, reads Nodes and ServiceCIDRs cluster-wide, binds only vcnet', async (t) => {
  const all = [...rulesOf(base, 'Role'), ...rulesOf(base, 'ClusterRole')];
  for (const { owner, rule } of all) {
    const what = `${owner}: ${rule.verbs.join(',')} on ${(rule.resources ?? []).join(',')}`;
    t.notOk([...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])].includes('*'), `${what} uses no wildcard`);
    t.notOk(rule.verbs.some((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v)), `${what} grants no escalation or bulk delete`);
    t.notOk((rule.apiGroups ?? []).includes('rbac.authorization.k8s.io'), `${what} touches no RBAC objects`);
    t.notOk(rule.nonResourceURLs?.length, `${what} grants no non-resource URL`);
  }
  // Cluster-wide, vcnet reads the two cluster-scoped things it must know about the host: Nodes (the
  // node mirror) and ServiceCIDRs (the host's service ranges, src/sync/service-cidr.ts).
  const clusterWide = rulesOf(base, 'ClusterRole').flatMap(({ rule }) => (rule.resources ?? []).flatMap((r) => (rule.apiGroups ?? []).map((g) => `${r}.${g}`))).sort();
  t.same(clusterWide, ['nodes.', 'servicecidrs.networking.k8s.io'], 'the ClusterRole covers Nodes and ServiceCIDRs only');
  for (const { owner, rule } of rulesOf(base, 'ClusterRole')) {
    t.ok(rule.verbs.every((v) => READ_VERBS.has(v)), `${owner} only reads ${(rule.resources ?? []).join(',')} (${rule.verbs.join(',')})`);
  }
  const sa = podSpec(base).serviceAccountName;
  t.equal(sa, 'vcnet', 'the pods run as ServiceAccount vcnet');
  for (const b of bindings(base)) {
    t.same(b.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: BASE_NAMESPACE }], `${b.kind} ${b.metadata?.name} binds vcnet's ServiceAccount alone`);
  }
  t.equal(find<V1RoleBinding>(base, 'RoleBinding').roleRef.kind, 'Role', 'the RoleBinding grants a namespaced Role');
});

t.test('an overlay moves everything to its namespace, image and config', async (t) => {
  for (const o of overlay.filter((x) => !CLUSTER_SCOPED.has(x.kind))) {
    t.equal(o.metadata.namespace, namespace, `${o.kind} ${o.metadata.name} moves to the overlay's namespace`);
  }
  t.equal(find<KObject>(overlay, 'Namespace').metadata.name, namespace, 'the Namespace is renamed');
  for (const b of bindings(overlay)) {
    t.same(b.subjects?.map((s) => s.namespace), [namespace], `${b.kind} ${b.metadata?.name} binds the ServiceAccount in the new namespace`);
  }
  t.equal(find<V1ClusterRoleBinding>(overlay, 'ClusterRoleBinding').roleRef.name, clusterName, 'the renamed ClusterRoleBinding grants the renamed ClusterRole');
  const pod = podSpec(overlay);
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    t.equal(c.image, `${image.name}:${image.tag}`, `container ${c.name} runs the overlay's image`);
  }
  t.equal(podConfig(overlay).config.vcnet.host.namespace, namespace, 'the Deployment runs with the overlay\'s config');
  t.equal(overlay.filter((o) => o.kind === 'ConfigMap').length, 1, 'the base\'s config is replaced, not added to');
});

t.test('the host kube-apiserver accepts every object of the overlay (server-side dry run)', async (t) => {
  const r = await kubectl(env.hostKubeconfig, ['apply', '--dry-run=server', '-f', '-'], { input: overlay.map((o) => stringify(o)).join('---\n') });
  t.equal(r.code, 0, `kubectl apply --dry-run=server succeeds${r.code === 0 ? '' : `: ${r.stderr}`}`);
  const accepted = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
  for (const o of overlay) {
    t.ok(accepted.some((l) => l.includes(`/${o.metadata.name} `)), `${o.kind} ${o.metadata.name} is accepted`);
  }
  t.notMatch(r.stderr, /PodSecurity/, 'no Pod Security warning for the Deployment');
});

t.test('the pod template passes the restricted Pod Security Standard', async (t) => {
  const pod = (spec: V1PodSpec) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vcnet-template', namespace }, spec });
  const r = await kubectl(env.hostKubeconfig, ['create', '--dry-run=server', '-f', '-'], { input: pod(podSpec(overlay)) });
  t.equal(r.code, 0, `a pod from the template is admitted${r.code === 0 ? '' : `: ${r.stderr}`}`);
  // The control: without its security settings the same pod is refused, so the check above is live.
  const bare = structuredClone(podSpec(overlay));
  delete bare.securityContext;
  for (const c of [...(bare.initContainers ?? []), ...bare.containers]) delete c.securityContext;
  const refused = await kubectl(env.hostKubeconfig, ['create', '--dry-run=server', '-f', '-'], { input: pod(bare) });
  t.not(refused.code, 0, 'the same pod without securityContext is refused');
  t.match(refused.stderr, /violates PodSecurity "restricted/, 'refused by Pod Security admission');
});

t.test('vcnet\'s ServiceAccount may do what vcnet needs in its namespace and nothing beyond', async (t) => {
  const as = `system:serviceaccount:${namespace}:vcnet`;
  const cases: Array<{ name: string; args: string[]; allowed: boolean }> = [
    { name: 'creates pods in its namespace', args: ['create', 'pods', '-n', namespace], allowed: true },
    { name: 'deletes services in its namespace', args: ['delete', 'services', '-n', namespace], allowed: true },
    { name: 'writes secrets in its namespace', args: ['update', 'secrets', '-n', namespace], allowed: true },
    { name: 'watches endpointslices in its namespace', args: ['watch', 'endpointslices.discovery.k8s.io', '-n', namespace], allowed: true },
    { name: 'creates ingresses in its namespace', args: ['create', 'ingresses.networking.k8s.io', '-n', namespace], allowed: true },
    { name: 'reads pod logs in its namespace', args: ['get', 'pods', '--subresource=log', '-n', namespace], allowed: true },
    { name: 'execs into pods over SPDY (create) in its namespace', args: ['create', 'pods', '--subresource=exec', '-n', namespace], allowed: true },
    { name: 'port-forwards over WebSocket (get) in its namespace', args: ['get', 'pods', '--subresource=portforward', '-n', namespace], allowed: true },
    { name: 'mints no host service-account tokens (virtual pods get theirs from the virtual cluster)', args: ['create', 'serviceaccounts', '--subresource=token', '-n', namespace], allowed: false },
    { name: 'adds ephemeral containers to host pods (kubectl debug)', args: ['update', 'pods', '--subresource=ephemeralcontainers', '-n', namespace], allowed: true },
    { name: 'creates a lease in its namespace', args: ['create', 'leases.coordination.k8s.io', '-n', namespace], allowed: true },
    { name: 'renews the reconciler\'s lease', args: ['update', 'leases.coordination.k8s.io/vcnet-reconciler', '-n', namespace], allowed: true },
    { name: 'lists nodes', args: ['list', 'nodes'], allowed: true },
    { name: 'watches the host\'s ServiceCIDRs (its service ranges)', args: ['watch', 'servicecidrs.networking.k8s.io'], allowed: true },
    { name: 'does not create ServiceCIDRs on the host', args: ['create', 'servicecidrs.networking.k8s.io'], allowed: false },
    { name: 'does not delete ServiceCIDRs on the host', args: ['delete', 'servicecidrs.networking.k8s.io'], allowed: false },
    { name: 'does not create pods in another namespace', args: ['create', 'pods', '-n', 'default'], allowed: false },
    { name: 'does not read secrets in kube-system', args: ['get', 'secrets', '-n', 'kube-system'], allowed: false },
    { name: 'does not list pods cluster-wide', args: ['list', 'pods', '--all-namespaces'], allowed: false },
    { name: 'does not update another lease', args: ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', namespace], allowed: false },
    { name: 'does not change nodes', args: ['patch', 'nodes'], allowed: false },
    { name: 'does not delete nodes', args: ['delete', 'nodes'], allowed: false },
    { name: 'does not create namespaces', args: ['create', 'namespaces'], allowed: false },
    { name: 'does not create roles in its namespace', args: ['create', 'roles.rbac.authorization.k8s.io', '-n', namespace], allowed: false },
    { name: 'does not bind cluster roles', args: ['create', 'clusterrolebindings.rbac.authorization.k8s.io'], allowed: false },
    { name: 'does not write events (it reports in the virtual cluster)', args: ['create', 'events', '-n', namespace], allowed: false },
    { name: 'does not delete pods in bulk', args: ['deletecollection', 'pods', '-n', namespace], allowed: false },
    { name: 'does not impersonate users', args: ['impersonate', 'users'], allowed: false },
  ];
  for (const x of cases) {
    t.test(x.name, async (t) => {
      const r = await kubectl(env.hostKubeconfig, ['auth', 'can-i', ...x.args, '--as', as]);
      t.equal(r.stdout.trim(), x.allowed ? 'yes' : 'no', `kubectl auth can-i ${x.args.join(' ')}${r.stderr === '' ? '' : ` (${r.stderr.trim()})`}`);
    });
  }
});
