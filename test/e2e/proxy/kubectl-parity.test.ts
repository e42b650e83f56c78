// kubectl through vcnet must behave exactly as kubectl against the virtual kube-apiserver itself:
// the same command sequence runs in two namespaces, one through the proxy and one direct, and the
// outputs must be identical once the namespace name, UIDs, resourceVersions and times are masked.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv, kubectl, tempDir, uniqueName, type Run } from '../../harness/env.ts';

const env = await testEnv();
const dir = tempDir(t);

function normalize(text: string, ns: string): string {
  return text
    .replaceAll(ns, 'NS')
    .replace(/\/tmp\/(LIVE|MERGED)-\d+/g, '/tmp/$1')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}/g, 'DATE')
    .replace(/"?(uid|resourceVersion|creationTimestamp|time|generation)"?: ?"?[^",\n]*"?/g, '$1: X')
    .replace(/\b\d+(?:\.\d+)?(?:ms|s|m|h|d)(?:\d+s)?\b/g, 'AGE')
    .replace(/[ \t]+/g, ' ');
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const cm = (ns: string, data: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: ${ns}
  labels: {app: demo}
data:
${data}
`;
const deploy = (ns: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example.invalid/web:1, env: [{name: A, value: "1"}]}]
`;

/** The steps a user types, in order; each returns the kubectl arguments for namespace `ns`. */
const steps: Array<{ name: string; args: (ns: string) => string[]; input?: (ns: string) => string }> = [
  { name: 'create namespace', args: (ns) => ['create', 'namespace', ns] },
  { name: 'apply (client-side)', args: (ns) => ['apply', '-f', file(`cm-${ns}.yaml`, cm(ns, '  a: "1"'))] },
  { name: 'apply again is unchanged', args: (ns) => ['apply', '-f', join(dir, `cm-${ns}.yaml`)] },
  { name: 'diff shows a change', args: (ns) => ['diff', '-f', file(`cm2-${ns}.yaml`, cm(ns, '  a: "2"'))] },
  { name: 'apply --server-side', args: (ns) => ['apply', '--server-side', '--force-conflicts', '-f', file(`cm3-${ns}.yaml`, cm(ns, '  a: "3"\n  b: "x"'))] },
  { name: 'apply from stdin', args: () => ['apply', '-f', '-'], input: (ns) => deploy(ns) },
  { name: 'replace', args: (ns) => ['replace', '-f', file(`cm4-${ns}.yaml`, cm(ns, '  a: "4"'))] },
  { name: 'patch --type=json', args: (ns) => ['-n', ns, 'patch', 'configmap', 'demo', '--type=json', '-p', '[{"op":"add","path":"/data/j","value":"json"}]'] },
  { name: 'patch --type=merge', args: (ns) => ['-n', ns, 'patch', 'configmap', 'demo', '--type=merge', '-p', '{"data":{"m":"merge"}}'] },
  { name: 'patch (strategic) of a list by key', args: (ns) => ['-n', ns, 'patch', 'deployment', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}'] },
  { name: 'get (table)', args: (ns) => ['-n', ns, 'get', 'configmap', 'demo'] },
  { name: 'get -o yaml', args: (ns) => ['-n', ns, 'get', 'configmap', 'demo', '-o', 'yaml'] },
  // (Deployment status depends on controller timing, so the spec is compared, as JSON.)
  { name: 'get -o json of a deployment spec', args: (ns) => ['-n', ns, 'get', 'deployment', 'web', '-o', 'jsonpath={.spec}'] },
  { name: 'get -o json of a config map', args: (ns) => ['-n', ns, 'get', 'configmap', 'demo', '-o', 'json'] },
  { name: 'get -o jsonpath', args: (ns) => ['-n', ns, 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].env}'] },
  { name: 'create five more', args: (ns) => ['-n', ns, 'create', 'configmap', 'c1', '--from-literal=k=v'] },
  { name: 'create generates', args: (ns) => ['-n', ns, 'create', 'configmap', 'c2', '--from-literal=k=v', '--dry-run=server', '-o', 'yaml'] },
  { name: 'list with --chunk-size=1', args: (ns) => ['-n', ns, 'get', 'configmaps', '--chunk-size=1', '-l', 'app=demo', '-o', 'name'] },
  { name: 'list everything with --chunk-size=1', args: (ns) => ['-n', ns, 'get', 'configmaps', '--chunk-size=1', '-o', 'name'] },
  { name: 'get a missing object', args: (ns) => ['-n', ns, 'get', 'configmap', 'nope'] },
  { name: 'auth can-i (yes)', args: (ns) => ['-n', ns, 'auth', 'can-i', 'create', 'pods'] },
  { name: 'auth can-i --list', args: (ns) => ['-n', ns, 'auth', 'can-i', '--list'] },
  { name: 'delete', args: (ns) => ['-n', ns, 'delete', 'configmap', 'demo', 'c1'] },
  { name: 'get after delete', args: (ns) => ['-n', ns, 'get', 'configmap', 'demo', '--ignore-not-found', '-o', 'name'] },
];

const nsProxy = uniqueName('parity-p');
const nsDirect = uniqueName('parity-d');
t.teardown(async () => {
  await kubectl(env.virtualKubeconfig, ['delete', 'namespace', nsProxy, nsDirect, '--wait=false', '--ignore-not-found']);
});

for (const step of steps) {
  t.test(step.name, async (t) => {
    const run = (kc: string, ns: string): Promise<Run> => kubectl(kc, step.args(ns), step.input === undefined ? {} : { input: step.input(ns) });
    const [viaProxy, direct] = await Promise.all([run(env.proxyKubeconfig, nsProxy), run(env.virtualKubeconfig, nsDirect)]);
    t.equal(viaProxy.code, direct.code, 'same exit code');
    t.equal(normalize(viaProxy.stdout, nsProxy), normalize(direct.stdout, nsDirect), 'same output');
    t.equal(normalize(viaProxy.stderr, nsProxy), normalize(direct.stderr, nsDirect), 'same errors and warnings');
  });
}

t.test('read-only commands print the same bytes', async (t) => {
  for (const args of [['get', '--raw', '/version'], ['api-resources'], ['api-versions'], ['get', '--raw', '/api/v1'], ['version', '-o', 'json']]) {
    const [viaProxy, direct] = await Promise.all([kubectl(env.proxyKubeconfig, args), kubectl(env.virtualKubeconfig, args)]);
    t.equal(viaProxy.code, 0, `${args.join(' ')} succeeds through vcnet`);
    t.equal(viaProxy.stdout, direct.stdout, `${args.join(' ')}: same output`);
  }
});

t.test('reading the same object both ways gives identical output', async (t) => {
  const [viaProxy, direct] = await Promise.all([
    kubectl(env.proxyKubeconfig, ['-n', nsDirect, 'get', 'deployment', 'web', '-o', 'yaml']),
    kubectl(env.virtualKubeconfig, ['-n', nsDirect, 'get', 'deployment', 'web', '-o', 'yaml']),
  ]);
  t.equal(viaProxy.code, 0);
  t.equal(viaProxy.stdout, direct.stdout);
});
