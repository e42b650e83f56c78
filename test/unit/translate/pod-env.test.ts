import t from 'tap';
import { podToHost, podTranslateOptions } from '../../../src/translate/pod.ts';
import { serviceLinkEnv, toHostFieldPath } from '../../../src/translate/pod-env.ts';
import type { Container, EnvVar, ServiceLinkSource } from '../../../src/translate/pod-types.ts';
import { H_RELEASE, podFacts, tr, virtualPod } from '../../fixtures/pods/index.ts';

const KUBE_IP = '10.96.0.1';

/** The eight variables every container gets for the virtual API server at 10.96.0.1. */
const KUBERNETES_VARS: Record<string, string> = {
  KUBERNETES_PORT: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  KUBERNETES_PORT_443_TCP_PORT: '443',
  KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
};

const svc = (name: string, clusterIP: string | undefined, ports: NonNullable<ServiceLinkSource['spec']>['ports'] = [{ port: 80 }]): ServiceLinkSource =>
  ({ metadata: { name }, spec: { ...(clusterIP === undefined ? {} : { clusterIP }), ports } });

t.test('service-link variables', async (t) => {
  const cases: Array<{
    name: string; services: ServiceLinkSource[]; enableServiceLinks?: boolean; kubeIP?: string; expected: Record<string, string>;
  }> = [
    {
      name: 'derives the Docker-link variables of a two-port service exactly as the kubelet does',
      services: [svc('redis-primary', '10.96.5.5', [{ name: 'redis', port: 6379, protocol: 'TCP' }, { name: 'metrics-udp', port: 9121, protocol: 'UDP' }])],
      expected: {
        ...KUBERNETES_VARS,
        REDIS_PRIMARY_SERVICE_HOST: '10.96.5.5',
        REDIS_PRIMARY_SERVICE_PORT: '6379',
        REDIS_PRIMARY_SERVICE_PORT_REDIS: '6379',
        REDIS_PRIMARY_SERVICE_PORT_METRICS_UDP: '9121',
        REDIS_PRIMARY_PORT: 'tcp://10.96.5.5:6379',
        REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.96.5.5:6379',
        REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
        REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
        REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.96.5.5',
        REDIS_PRIMARY_PORT_9121_UDP: 'udp://10.96.5.5:9121',
        REDIS_PRIMARY_PORT_9121_UDP_PROTO: 'udp',
        REDIS_PRIMARY_PORT_9121_UDP_PORT: '9121',
        REDIS_PRIMARY_PORT_9121_UDP_ADDR: '10.96.5.5',
      },
    },
    {
      name: 'assumes TCP for a port without protocol',
      services: [svc('web', '10.96.1.1')],
      expected: {
        ...KUBERNETES_VARS,
        WEB_SERVICE_HOST: '10.96.1.1', WEB_SERVICE_PORT: '80', WEB_PORT: 'tcp://10.96.1.1:80',
        WEB_PORT_80_TCP: 'tcp://10.96.1.1:80', WEB_PORT_80_TCP_PROTO: 'tcp', WEB_PORT_80_TCP_PORT: '80', WEB_PORT_80_TCP_ADDR: '10.96.1.1',
      },
    },
    {
      name: 'skips headless services, ExternalName services and services without ports',
      services: [svc('headless', 'None'), svc('external', undefined), svc('empty', '10.96.1.2', [])],
      expected: KUBERNETES_VARS,
    },
    {
      name: 'adds only the KUBERNETES_* variables when the virtual pod turned service links off',
      services: [svc('web', '10.96.1.1')],
      enableServiceLinks: false,
      expected: KUBERNETES_VARS,
    },
    {
      name: 'brackets an IPv6 ClusterIP in the URL variables',
      services: [svc('web', 'fd00:10:96::7')],
      kubeIP: 'fd00:10:96::1',
      expected: {
        KUBERNETES_PORT: 'tcp://[fd00:10:96::1]:443',
        KUBERNETES_PORT_443_TCP: 'tcp://[fd00:10:96::1]:443',
        KUBERNETES_PORT_443_TCP_ADDR: 'fd00:10:96::1',
        KUBERNETES_PORT_443_TCP_PORT: '443',
        KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
        KUBERNETES_SERVICE_HOST: 'fd00:10:96::1',
        KUBERNETES_SERVICE_PORT: '443',
        KUBERNETES_SERVICE_PORT_HTTPS: '443',
        WEB_SERVICE_HOST: 'fd00:10:96::7', WEB_SERVICE_PORT: '80', WEB_PORT: 'tcp://[fd00:10:96::7]:80',
        WEB_PORT_80_TCP: 'tcp://[fd00:10:96::7]:80', WEB_PORT_80_TCP_PROTO: 'tcp', WEB_PORT_80_TCP_PORT: '80', WEB_PORT_80_TCP_ADDR: 'fd00:10:96::7',
      },
    },
    {
      name: 'lets the KUBERNETES_* variables of the vCluster API Service win over the virtual default/kubernetes Service',
      services: [svc('kubernetes', '10.96.99.99', [{ name: 'https', port: 443 }])],
      expected: KUBERNETES_VARS,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const env = serviceLinkEnv(c.services, c.enableServiceLinks, c.kubeIP ?? KUBE_IP);
      t.strictSame(Object.fromEntries(env), c.expected);
    });
  }
  t.test('treats an unset enableServiceLinks as true, the Kubernetes default', async (t) => {
    t.ok(serviceLinkEnv([svc('web', '10.96.1.1')], undefined, KUBE_IP).has('WEB_SERVICE_HOST'));
  });
});

t.test('container environment on the host', async (t) => {
  const names = (env: readonly EnvVar[] | undefined): string[] => (env ?? []).map((e) => e.name);
  const cases: Array<{ name: string; container: Container; enableServiceLinks?: boolean; expected: Partial<Container> }> = [
    {
      name: 'prepends the generated variables, sorted by name, before the container\'s own',
      container: { name: 'app', env: [{ name: 'Z_LAST', value: '1' }, { name: 'A_FIRST', value: '$(API_SERVICE_HOST)' }] },
      enableServiceLinks: false,
      expected: {
        env: [
          ...Object.keys(KUBERNETES_VARS).sort().map((name) => ({ name, value: KUBERNETES_VARS[name] as string })),
          { name: 'Z_LAST', value: '1' },
          { name: 'A_FIRST', value: '$(API_SERVICE_HOST)' },
        ],
      },
    },
    {
      name: 'skips a generated variable the container defines itself',
      container: { name: 'app', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'my-proxy' }] },
      enableServiceLinks: false,
      expected: {
        env: [
          ...Object.keys(KUBERNETES_VARS).filter((n) => n !== 'KUBERNETES_SERVICE_HOST').sort()
            .map((name) => ({ name, value: KUBERNETES_VARS[name] as string })),
          { name: 'KUBERNETES_SERVICE_HOST', value: 'my-proxy' },
        ],
      },
    },
    {
      name: 'translates the ConfigMap and Secret names of env and envFrom',
      container: {
        name: 'app',
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'settings', key: 'a' } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 'creds', key: 'b', optional: true } } },
        ],
        envFrom: [{ configMapRef: { name: 'all-settings' } }, { prefix: 'S_', secretRef: { name: 'all-creds', optional: false } }],
      },
      enableServiceLinks: false,
      expected: {
        env: [
          ...Object.keys(KUBERNETES_VARS).sort().map((name) => ({ name, value: KUBERNETES_VARS[name] as string })),
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'settings-x-shop-x-my-vcluster', key: 'a' } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 'creds-x-shop-x-my-vcluster', key: 'b', optional: true } } },
        ],
        envFrom: [
          { configMapRef: { name: 'all-settings-x-shop-x-my-vcluster' } },
          { prefix: 'S_', secretRef: { name: 'all-creds-x-shop-x-my-vcluster', optional: false } },
        ],
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const r = podToHost(tr, virtualPod({ spec: { containers: [c.container], enableServiceLinks: c.enableServiceLinks ?? true } }), podFacts(), podTranslateOptions());
      const h = r.hPod.spec.containers[0] as Container;
      for (const [k, v] of Object.entries(c.expected)) t.strictSame(h[k], v, k);
    });
  }

  t.test('gives init containers the same variables as containers', async (t) => {
    const r = podToHost(tr, virtualPod({ spec: { initContainers: [{ name: 'init' }] } }), podFacts(), podTranslateOptions());
    t.strictSame(r.hPod.spec.initContainers?.[0]?.env, r.hPod.spec.containers[0]?.env);
    t.ok(names(r.hPod.spec.initContainers?.[0]?.env).includes('API_SERVICE_HOST'));
  });

  t.test('reports the ConfigMaps and Secrets the environment reads', async (t) => {
    const r = podToHost(tr, virtualPod({
      spec: { containers: [{ name: 'a', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'x' } } }], envFrom: [{ secretRef: { name: 'creds' } }] }] },
    }), podFacts(), podTranslateOptions());
    t.strictSame(r.references.map((x) => `${x.kind}/${x.virtual.name}`), ['ConfigMap/settings', 'Secret/creds']);
  });

  t.test('leaves a key reference without a name as it is', async (t) => {
    const e: EnvVar = { name: 'X', valueFrom: { configMapKeyRef: { key: 'x' } } };
    const r = podToHost(tr, virtualPod({ spec: { containers: [{ name: 'a', env: [e] }] } }), podFacts(), podTranslateOptions());
    t.strictSame(r.hPod.spec.containers[0]?.env?.at(-1), e);
    t.equal(r.references.length, 0);
  });
});

t.test('downward API field paths', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['reads metadata.name from the virtual name annotation', 'metadata.name', "metadata.annotations['vcluster.loft.sh/name']"],
    ['reads metadata.namespace from the virtual namespace annotation', 'metadata.namespace', "metadata.annotations['vcluster.loft.sh/namespace']"],
    ['reads metadata.uid from the virtual uid annotation', 'metadata.uid', "metadata.annotations['vcluster.loft.sh/uid']"],
    ['reads spec.serviceAccountName from the virtual service account annotation', 'spec.serviceAccountName', "metadata.annotations['vcluster.loft.sh/service-account-name']"],
    ['reads all labels from the virtual labels annotation', 'metadata.labels', "metadata.annotations['vcluster.loft.sh/labels']"],
    ['reads an ordinary label under its own key', "metadata.labels['app.kubernetes.io/name']", "metadata.labels['app.kubernetes.io/name']"],
    ['reads the release label under its hashed key', "metadata.labels['release']", `metadata.labels['${H_RELEASE}']`],
    ['keeps the real pod IP', 'status.podIP', 'status.podIP'],
    ['keeps the real host IP', 'status.hostIP', 'status.hostIP'],
    ['keeps the real node name', 'spec.nodeName', 'spec.nodeName'],
    ['keeps an annotation path', "metadata.annotations['team']", "metadata.annotations['team']"],
  ];
  for (const [name, virtual, host] of cases) t.test(name, async (t) => t.equal(toHostFieldPath(tr, virtual), host));
});
