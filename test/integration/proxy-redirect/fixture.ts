// What pod sync will do, done by hand until it exists in the shared environment: a virtual pod in
// a unique virtual namespace, its host twin under the translated name in a unique host namespace
// (kwok runs it on a fake node, so the host kube-apiserver serves its logs, exec, attach and
// port-forward), and the twin's status copied back as far as kubectl looks (phase Running).
// In front: an in-process vcnet with subresource redirects on, whose host credentials are a
// namespaced Role in the host namespace, like the one manifests/role.yaml grants.
import { kubectl, testEnv, tempDir, uniqueName, writeUserKubeconfig, clientCert, type TestEnv } from '../../harness/env.ts';
import { startTestProxy, type TestProxy } from '../../harness/proxy.ts';
import { httpCall } from '../../../src/local/net.ts';
import { Translator } from '../../../src/translate/names.ts';

export const VCLUSTER = 'vcluster';
/** The init container vCluster injects into every host pod; only the host pod has it. */
export const INJECTED_INIT = 'vcluster-rewrite-hosts';

export interface RedirectFixture {
  env: TestEnv;
  proxy: TestProxy;
  translator: Translator;
  /** Virtual and host namespaces, unique to this test file. */
  vns: string;
  hns: string;
  /** Admin (system:masters) through the proxy. */
  admin: string;
  /** A virtual pod with one container `app`; with `hostTwin` (default) its running host pod too. */
  pod(name: string, opts?: { hostTwin?: boolean }): Promise<void>;
  /** A certificate user through the proxy, bound in the virtual namespace to a Role with these rules. */
  certUser(name: string, rules: Rule[]): Promise<string>;
  /** A virtual ServiceAccount's bearer token through the proxy, bound to a Role with these rules. */
  tokenUser(name: string, rules: Rule[]): Promise<{ kubeconfig: string; token: string }>;
}

export interface Rule { resources: string[]; verbs: string[] }

/** Enough to pass kubectl's own GET of the pod, and nothing on its subresources. */
export const READ_PODS: Rule = { resources: ['pods'], verbs: ['get', 'list'] };

async function must(kc: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kc, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function roleYaml(name: string, namespace: string, rules: Rule[], subject: { kind: 'User' | 'ServiceAccount'; name: string }): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules: rules.map((r) => ({ apiGroups: [''], ...r })) },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [subject.kind === 'User' ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: subject.name } : { kind: 'ServiceAccount', name: subject.name, namespace }],
      },
    ],
  });
}

export async function redirectFixture(t: { teardown(fn: () => void | Promise<void>): void }): Promise<RedirectFixture> {
  const env = await testEnv();
  const dir = tempDir(t, 'vcnet-redirect-');
  const vns = uniqueName('redir-v');
  const hns = uniqueName('redir-h');
  await must(env.virtualKubeconfig, ['create', 'namespace', vns]);
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', vns, '--wait=false']); });
  await must(env.hostKubeconfig, ['create', 'namespace', hns]);
  t.teardown(async () => { await kubectl(env.hostKubeconfig, ['delete', 'namespace', hns, '--wait=false']); });

  // vcnet's host identity may reach pods in ITS host namespace only (manifests/role.yaml's rules).
  const hostIdentity = await clientCert('host', 'vcnet-redirect');
  const hostKubeconfig = writeUserKubeconfig(dir, 'vcnet-host', env.state.host.url, env.state.host.caPem, hostIdentity);
  await must(env.hostKubeconfig, ['apply', '-f', '-'], roleYaml('vcnet', hns, [
    { resources: ['pods/log'], verbs: ['get'] },
    { resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['get', 'create'] },
  ], { kind: 'User', name: 'vcnet-redirect' }));

  const translator = new Translator({ vcluster: VCLUSTER, hostNamespace: hns });
  const proxy = await startTestProxy(t, { redirect: { host: hostKubeconfig, translator } });
  const admin = await proxy.kubeconfig('admin', { groups: ['system:masters'] });

  return {
    env, proxy, translator, vns, hns, admin,
    async pod(name, opts = {}) {
      const vPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: vns }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } };
      await must(env.virtualKubeconfig, ['apply', '-f', '-'], JSON.stringify(vPod));
      // kubectl port-forward and attach refuse pods that are not Running; the reconciler will copy this from the host.
      await must(env.virtualKubeconfig, ['-n', vns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      })]);
      if (opts.hostTwin === false) return;
      const hName = translator.hostName(name, vns);
      const hPod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: hName, namespace: hns },
        spec: {
          initContainers: [{ name: INJECTED_INIT, image: 'example.invalid/busybox:1' }],
          containers: [{ name: 'app', image: 'example.invalid/app:1' }],
        },
      };
      await must(env.hostKubeconfig, ['apply', '-f', '-'], JSON.stringify(hPod));
      await must(env.hostKubeconfig, ['-n', hns, 'wait', '--for=condition=Ready', `pod/${hName}`, '--timeout=60s']);
    },
    async certUser(name, rules) {
      await must(env.virtualKubeconfig, ['apply', '-f', '-'], roleYaml(name, vns, rules, { kind: 'User', name }));
      return proxy.kubeconfig(name, { groups: [] });
    },
    async tokenUser(name, rules) {
      await must(env.virtualKubeconfig, ['-n', vns, 'create', 'serviceaccount', name]);
      await must(env.virtualKubeconfig, ['apply', '-f', '-'], roleYaml(name, vns, rules, { kind: 'ServiceAccount', name }));
      const token = (await must(env.virtualKubeconfig, ['-n', vns, 'create', 'token', name])).trim();
      return { kubeconfig: writeUserKubeconfig(dir, `sa-${name}`, proxy.url, proxy.caPem, { token }), token };
    },
  };
}

/** The redirect counter from the proxy's metrics endpoint. */
export async function redirects(proxy: TestProxy, subresource: string, result: string): Promise<number> {
  const text = (await httpCall(proxy.healthUrl.replace(/\/?$/, '/metrics'))).body;
  const m = new RegExp(`vcnet_proxy_redirects_total\\{subresource="${subresource}",result="${result}"\\} (\\d+)`).exec(text);
  return m === null ? 0 : Number(m[1]);
}
